//! Designers' monthly statements: the month's theme sales (`sales.csv`), checked row by row, and
//! for each designer every sale, their share and the total due, as CSV and HTML.
//!
//! In: the text of `sales.csv` (`date,theme,partner,amount_paid`: what the partner paid, VAT
//! included, in euros), the month, each theme's designer, the policy's margin and VAT. Out:
//! one [`Statement`] per designer, or every bad row as a diagnostic with its line (then nothing
//! is to be written). Pure: the caller reads and writes the files.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};

use crate::util::diag::{did_you_mean, Diagnostic};
use crate::util::money::{designer_share, format_cents, parse_signed_cents, BasisPoints, Cents};
use crate::util::text::escape_html;

/// One sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    /// Its line in `sales.csv`.
    pub line: usize,
    /// When.
    pub date: NaiveDate,
    /// The theme sold.
    pub theme: String,
    /// The partner who bought it.
    pub partner: String,
    /// What the partner paid, VAT included.
    pub paid: Cents,
}

/// A month, `2026-10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    /// The year.
    pub(crate) year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Result<Month, String> {
        let (y, m) = s.trim().split_once('-').ok_or_else(|| format!("`{s}` is not a month: write it as 2026-10"))?;
        let year: i32 = y.parse().map_err(|_| format!("`{s}` is not a month: write it as 2026-10"))?;
        let month: u32 = m.parse().map_err(|_| format!("`{s}` is not a month: write it as 2026-10"))?;
        if !(1..=12).contains(&month) || y.len() != 4 {
            return Err(format!("`{s}` is not a month: write it as 2026-10"));
        }
        Ok(Month { year, month })
    }

    fn contains(&self, d: NaiveDate) -> bool {
        d.year() == self.year && d.month() == self.month
    }

    /// The last day of the following month: when the statement is payable.
    pub fn payable_on(&self) -> NaiveDate {
        let (y, m) = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        let (y2, m2) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        NaiveDate::from_ymd_opt(y2, m2, 1).and_then(|d| d.pred_opt()).unwrap_or_default()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Splits one CSV line (fields may be quoted with `"`, `""` inside for a quote).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|f| f.trim().to_string()).collect()
}

/// Reads `sales.csv` (named `file` in messages): every row of `month`, each checked. Any bad
/// row — an unknown theme, an amount that is negative or not one, a date that is not one or is
/// outside the month, a row seen before — is an error naming its line; all are reported.
pub fn parse_sales(
    file: &str,
    text: &str,
    month: Month,
    themes: &BTreeSet<String>,
) -> Result<Vec<Sale>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut sales = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, h))
            if fields(h.trim_start_matches('\u{feff}')).iter().map(|f| f.to_ascii_lowercase()).collect::<Vec<_>>()
                == ["date", "theme", "partner", "amount_paid"] => {}
        Some((i, h)) => {
            return Err(vec![Diagnostic::new(file, format!("the first line is `{h}`, not the header"))
                .at(Some(i + 1), None)
                .hint("the first line must be: date,theme,partner,amount_paid")])
        }
        None => return Ok(Vec::new()),
    }
    for (i, raw) in lines {
        let line = i + 1;
        let f = fields(raw);
        let err = |msg: String, hint: &str| Diagnostic::new(file, msg).at(Some(line), None).hint(hint.to_string());
        if f.len() != 4 {
            errors.push(err(format!("{} fields instead of 4", f.len()), "each row is date,theme,partner,amount_paid"));
            continue;
        }
        let mut bad = false;
        let date = match NaiveDate::parse_from_str(&f[0], "%Y-%m-%d") {
            Ok(d) if month.contains(d) => Some(d),
            Ok(d) => {
                errors.push(err(
                    format!("the date {d} is not in {month}"),
                    "a statement covers one month: move the row to its month's file",
                ));
                bad = true;
                None
            }
            Err(_) => {
                errors.push(err(format!("`{}` is not a date", f[0]), "write dates as 2026-10-31"));
                bad = true;
                None
            }
        };
        if !themes.contains(&f[1]) {
            let hint = match did_you_mean(&f[1], themes.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`? the themes are the folders of --themes"),
                None => "the themes are the folders of --themes".to_string(),
            };
            errors.push(err(format!("unknown theme `{}`", f[1]), &hint));
            bad = true;
        }
        if f[2].is_empty() {
            errors.push(err("no partner".into(), "give the id of the partner who bought the theme"));
            bad = true;
        }
        let paid = match parse_signed_cents(&f[3]) {
            Ok(c) if c < 0 => {
                errors.push(err(
                    format!("the amount {} is negative", f[3]),
                    "a refund is not a sale: leave it out of the sales file",
                ));
                bad = true;
                None
            }
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(err(e, "write what the partner paid, VAT included, in euros: 76.44"));
                bad = true;
                None
            }
        };
        let key = f.join(",");
        if let Some(first) = seen.get(&key) {
            errors.push(err(
                format!("this row repeats line {first}"),
                "remove the duplicate (two real sales would differ in date or partner)",
            ));
            continue;
        }
        seen.insert(key, line);
        if let (false, Some(date), Some(paid)) = (bad, date, paid) {
            sales.push(Sale { line, date, theme: f[1].clone(), partner: f[2].clone(), paid });
        }
    }
    if errors.is_empty() {
        Ok(sales)
    } else {
        Err(errors)
    }
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    /// The sale's date.
    pub date: String,
    /// The theme.
    pub theme: String,
    /// The partner.
    pub partner: String,
    /// What the partner paid (cents).
    pub paid: Cents,
    /// The designer's share of this sale, rounded for display (cents).
    pub share: Cents,
}

/// A designer's statement for a month.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    /// The designer.
    pub designer: String,
    /// `2026-10`.
    pub month: String,
    /// The last day of the following month.
    pub payable_on: String,
    /// Every sale of the month of the designer's themes, by date.
    pub lines: Vec<Line>,
    /// What partners paid in all (cents).
    pub total_paid: Cents,
    /// What the platform owes the designer: the shares summed exactly, rounded once (cents).
    pub total_due: Cents,
}

/// One statement per designer (by name), from `sales` and each theme's designer.
pub fn statements(
    sales: &[Sale],
    designers: &BTreeMap<String, String>,
    margin: BasisPoints,
    vat: BasisPoints,
    month: Month,
) -> Vec<Statement> {
    let mut by: BTreeMap<&str, Vec<&Sale>> = BTreeMap::new();
    for s in sales {
        let d = designers.get(&s.theme).map_or("(unknown designer)", String::as_str);
        by.entry(d).or_default().push(s);
    }
    by.into_iter()
        .map(|(designer, mut list)| {
            list.sort_by(|a, b| (a.date, &a.theme, &a.partner, a.line).cmp(&(b.date, &b.theme, &b.partner, b.line)));
            let paid: Vec<Cents> = list.iter().map(|s| s.paid).collect();
            Statement {
                designer: designer.to_string(),
                month: month.to_string(),
                payable_on: month.payable_on().format("%Y-%m-%d").to_string(),
                lines: list
                    .iter()
                    .map(|s| Line {
                        date: s.date.format("%Y-%m-%d").to_string(),
                        theme: s.theme.clone(),
                        partner: s.partner.clone(),
                        paid: s.paid,
                        share: designer_share(&[s.paid], margin, vat),
                    })
                    .collect(),
                total_paid: paid.iter().sum(),
                total_due: designer_share(&paid, margin, vat),
            }
        })
        .collect()
}

/// The statement as CSV (`date,theme,partner,amount_paid,designer_share`, then the total).
pub fn to_csv(s: &Statement) -> String {
    let q =
        |v: &str| if v.contains([',', '"', '\n']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v.to_string() };
    let mut out = String::from("date,theme,partner,amount_paid,designer_share\n");
    for l in &s.lines {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            l.date,
            q(&l.theme),
            q(&l.partner),
            format_cents(l.paid),
            format_cents(l.share)
        ));
    }
    out.push_str(&format!("total,,,{},{}\n", format_cents(s.total_paid), format_cents(s.total_due)));
    out
}

/// The statement as a standalone HTML page (the caller adds the platform elements).
pub fn to_html(s: &Statement, margin: BasisPoints, vat: BasisPoints) -> String {
    let mut rows = String::new();
    for l in &s.lines {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{} €</td><td class=n>{} €</td></tr>\n",
            l.date,
            escape_html(&l.theme),
            escape_html(&l.partner),
            format_cents(l.paid),
            format_cents(l.share)
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Statement {month} · {designer}</title>\
<style>body{{font:1rem/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1f2a44}}table{{border-collapse:collapse;width:100%}}td,th{{padding:.3rem .5rem;border-bottom:1px solid #ccd}}.n{{text-align:right}}</style></head>\n\
<body><main><h1>Statement for {designer}, {month}</h1>\
<p>Sales of your themes on the platform in {month}. Your share of each sale is what the partner paid less VAT ({vat} %) and less the platform's margin ({margin} % of your price). The total due is the shares summed exactly and rounded once, so it may differ by a cent from the sum of the rounded lines.</p>\
<table><thead><tr><th>Date</th><th>Theme</th><th>Partner</th><th class=n>Paid (VAT incl.)</th><th class=n>Your share</th></tr></thead><tbody>\n{rows}</tbody>\
<tfoot><tr><th colspan=3>Total</th><th class=n>{paid} €</th><th class=n>{due} €</th></tr></tfoot></table>\
<p><strong>Total due: {due} €</strong>, payable on {payable}. Send your invoice for this amount to the platform.</p></main></body></html>\n",
        month = s.month,
        designer = escape_html(&s.designer),
        vat = format_cents(vat),
        margin = format_cents(margin),
        paid = format_cents(s.total_paid),
        due = format_cents(s.total_due),
        payable = s.payable_on,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn themes() -> BTreeSet<String> {
        ["vitrine", "journal", "boutique"].map(String::from).into()
    }

    #[test]
    fn sales_are_read_and_summed_once() {
        let m = Month::parse("2026-10").unwrap();
        let text = "date,theme,partner,amount_paid\n2026-10-02,vitrine,acme,76.44\n2026-10-15,journal,bea,0.01\n2026-10-16,journal,cid,0.01\n2026-10-31,vitrine,dan,76.44\n";
        let sales = parse_sales("sales.csv", text, m, &themes()).unwrap();
        assert_eq!(sales.len(), 4);
        let designers: BTreeMap<String, String> =
            [("vitrine", "Ana"), ("journal", "Ben")].map(|(a, b)| (a.to_string(), b.to_string())).into();
        let st = statements(&sales, &designers, 3000, 2000, m);
        assert_eq!(st.len(), 2);
        let ana = &st[0];
        assert_eq!((ana.designer.as_str(), ana.total_paid, ana.total_due), ("Ana", 15288, 9800));
        assert_eq!(ana.payable_on, "2026-11-30");
        // 0.01 + 0.01 paid: 0.0128 € exactly, rounded once → 0.01 (each line shows 0.01).
        assert_eq!((st[1].total_due, st[1].lines[0].share), (1, 1));
        assert!(to_csv(ana).ends_with("total,,,152.88,98.00\n"), "{}", to_csv(ana));
        assert!(to_html(ana, 3000, 2000).contains("Total due: 98.00 €</strong>, payable on 2026-11-30"));
        assert_eq!(Month::parse("2026-12").unwrap().payable_on().to_string(), "2027-01-31");
    }

    #[test]
    fn bad_rows_are_errors_naming_their_line() {
        let m = Month::parse("2026-10").unwrap();
        let text = "date,theme,partner,amount_paid\n2026-10-02,vitrin,acme,76.44\n2026-10-03,vitrine,acme,-5\n2026-09-30,vitrine,acme,10\n2026-10-04,vitrine,acme,7,5\n2026-10-05,vitrine,acme,abc\n2026-10-06,vitrine,bea,9.99\n2026-10-06,vitrine,bea,9.99\n2026-13-01,vitrine,x,1\n";
        let e = parse_sales("sales.csv", text, m, &themes()).unwrap_err();
        let at: Vec<(u32, &str)> = e.iter().map(|d| (d.line.unwrap(), d.message.as_str())).collect();
        assert!(e[0].hint.as_deref().unwrap().contains("did you mean `vitrine`"), "{:?}", e[0]);
        let lines: Vec<u32> = at.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 8, 9], "{at:?}");
        assert!(at[5].1.contains("repeats line 7"), "{at:?}");
        assert!(parse_sales("s.csv", "day,theme\n", m, &themes()).unwrap_err()[0].message.contains("header"));
    }
}
