//! Money (the theme marketplace's prices, margins, VAT and statements): integer cents everywhere, percentages in basis points
//! (hundredths of a percent), one rounding — half up — per total, two decimals when shown.
//!
//! In: decimal strings (`"49.00"`, `"20"`, `"5.5"`) and cents. Out: cents, and price breakdowns
//! whose parts add up to their total. Pure: no floating point anywhere.

/// An amount of money in cents (euros × 100).
pub(crate) type Cents = i64;

/// A percentage in basis points: `20%` is 2000, `5.5%` is 550.
pub(crate) type BasisPoints = i64;

/// Parses a decimal amount of euros (`"49"`, `"49.9"`, `"49.00"`, at most two decimals, no sign)
/// into cents: a price.
pub(crate) fn parse_cents(s: &str) -> Result<Cents, String> {
    cents(s, Sign::Refused)
}

/// [`parse_cents`] that also takes a leading `-` (a refund in a sales file).
pub(crate) fn parse_signed_cents(s: &str) -> Result<Cents, String> {
    cents(s, Sign::Allowed)
}

/// Whether an amount may be negative.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Refused,
    Allowed,
}

fn cents(s: &str, sign: Sign) -> Result<Cents, String> {
    let signed = sign == Sign::Allowed;
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        Some(_) => return Err(format!("`{s}` is negative")),
        None => (false, t),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not an amount: write it as 49.00"));
    }
    if frac.len() > 2 {
        return Err(format!("`{s}` has more than two decimals: amounts are in whole cents"));
    }
    if whole.len() > 12 {
        return Err(format!("`{s}` is too large"));
    }
    let w: i64 = whole.parse().map_err(|_| format!("`{s}` is not an amount"))?;
    let f: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
    let c = w * 100 + f;
    Ok(if neg { -c } else { c })
}

/// Parses a percentage (`"20"`, `"5.5"`, `"12.25"`, at most two decimals, 0 to 1000) into basis
/// points.
pub(crate) fn parse_percent(s: &str) -> Result<BasisPoints, String> {
    let bp = parse_cents(s)
        .map_err(|e| e.replace("an amount", "a percentage").replace("whole cents", "hundredths of a percent"))?;
    if bp > 100_000 {
        return Err(format!("`{s}`% is more than 1000%"));
    }
    Ok(bp)
}

/// Cents shown with two decimals: `4900` → `49.00`, `-5` → `-0.05`.
pub fn format_cents(c: Cents) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// `n / d` rounded half up (away from zero at exactly one half), `d > 0`.
fn div_round(n: i128, d: i128) -> i128 {
    if n >= 0 {
        (2 * n + d) / (2 * d)
    } else {
        -((-2 * n + d) / (2 * d))
    }
}

/// A theme's public price and its parts (each in cents; `designer + margin + vat == total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Price {
    /// The designer's price.
    pub designer: Cents,
    /// The platform's margin.
    pub margin: Cents,
    /// VAT on the designer's price and the margin.
    pub vat: Cents,
    /// What a partner pays, VAT included.
    pub total: Cents,
}

/// The public price: the designer's price, plus the platform's margin (a percentage of it), plus
/// VAT on the sum. The total is computed exactly and rounded half up once; the margin is rounded
/// half up on its own, and VAT is what is left, so the parts always add up to the total.
pub(crate) fn public_price(designer: Cents, margin: BasisPoints, vat: BasisPoints) -> Price {
    let d = i128::from(designer);
    let (m, v) = (i128::from(margin), i128::from(vat));
    let total = div_round(d * (10_000 + m) * (10_000 + v), 100_000_000);
    let margin_c = div_round(d * m, 10_000);
    let total = total as i64;
    let margin_c = margin_c as i64;
    Price { designer, margin: margin_c, vat: total - designer - margin_c, total }
}

/// The designer's share of sales that partners paid `paid` (VAT included), in cents: each
/// payment less VAT, less the margin, summed exactly and rounded half up once.
pub fn designer_share(paid: &[Cents], margin: BasisPoints, vat: BasisPoints) -> Cents {
    let den = (10_000 + i128::from(margin)) * (10_000 + i128::from(vat));
    let num: i128 = paid.iter().map(|&p| i128::from(p) * 100_000_000).sum();
    div_round(num, den) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_percentages_parse_in_whole_units() {
        assert_eq!(parse_cents("49.00"), Ok(4900));
        assert_eq!(parse_cents("49.9"), Ok(4990));
        assert_eq!(parse_cents("49"), Ok(4900));
        assert_eq!(parse_cents("0.05"), Ok(5));
        assert_eq!(parse_signed_cents("-3.10"), Ok(-310));
        for bad in ["", "4,90", "49.001", "1e3", "-1", ".5", "abc"] {
            assert!(parse_cents(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_percent("20"), Ok(2000));
        assert_eq!(parse_percent("5.5"), Ok(550));
        assert_eq!(format_cents(4900), "49.00");
        assert_eq!(format_cents(-5), "-0.05");
    }

    #[test]
    fn public_prices_round_half_up_once_and_add_up() {
        // 49.00 + 30 % = 63.70; + 20 % VAT = 76.44 exactly.
        assert_eq!(public_price(4900, 3000, 2000), Price { designer: 4900, margin: 1470, vat: 1274, total: 7644 });
        // 9.99 + 15 % = 11.4885; + 20 % = 13.7862 → 13.79 (once), margin 1.50 (1.4985 half up).
        let p = public_price(999, 1500, 2000);
        assert_eq!((p.total, p.margin), (1379, 150));
        assert_eq!(p.designer + p.margin + p.vat, p.total);
        // 10.00 + 12.5 % = 11.25, + 5.5 % VAT = 11.86875 → 11.87.
        assert_eq!(public_price(1000, 1250, 550).total, 1187);
        // 0.01 + 50 % = 0.015, no VAT → 0.02 (half up).
        assert_eq!(public_price(1, 5000, 0).total, 2);
    }

    #[test]
    fn designer_shares_are_rounded_once_on_the_total() {
        // Three sales of 76.44 (49.00 after 30 % margin and 20 % VAT each): 147.00.
        assert_eq!(designer_share(&[7644, 7644, 7644], 3000, 2000), 14700);
        // Rounding each sale (0.01 → 0.0064 → 0.01) would give 0.03; once on the total, 0.02.
        assert_eq!(designer_share(&[1, 1, 1], 3000, 2000), 2);
    }
}
