//! What a small business's site must say about itself: the `legal:` block of `site.yaml` (the
//! publisher of a professional site, as French law asks: name, address, registration, share
//! capital, publication director) and the `business:` block (kind, address, position, phone,
//! opening hours, price range) that becomes schema.org `LocalBusiness` data and the themes'
//! opening-hours table and address card.
//!
//! In: the two blocks as `site.yaml` holds them, and its text (for lines). Out: diagnostics
//! naming `site.yaml`, the line and what to write; the template values (`site.legal` is made by
//! `build`, `site.business` here), localised day names (French, English; other languages get
//! English). Pure: no IO.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::site::config::SITE_FILE;
use crate::util::diag::Diagnostic;

/// `legal:`: who publishes the site. The host's part of the notice comes from the platform
/// policy (`host:`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct Legal {
    /// The publisher: a person's name, or a company's name.
    pub publisher: String,
    /// The company's legal form (`SARL`, `SAS`, `EI`, association …).
    #[serde(default)]
    pub legal_form: Option<String>,
    /// The publisher's postal address.
    pub address: String,
    /// Registration: `RCS Lyon 123 456 789`, `RM 123 456 789`, `SIRET …`, `RNA W…`.
    #[serde(default)]
    pub registration: Option<String>,
    /// Share capital, as it should be printed (`10 000 €`).
    #[serde(default)]
    pub share_capital: Option<String>,
    /// Intra-community VAT number.
    #[serde(default)]
    pub vat: Option<String>,
    /// The director of publication (a person).
    pub director: String,
    /// How to reach the publisher (at least one of `email` and `phone`).
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
}

/// `business:`: the shop or workshop a visitor can go to.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Business {
    /// The schema.org type: `Bakery`, `Restaurant`, `Store` … (see [`KINDS`]).
    #[serde(default = "local_business")]
    pub kind: String,
    /// The business's name (the site's title when not given).
    #[serde(default)]
    pub name: Option<String>,
    /// Where it is.
    pub address: Address,
    /// Its position, for maps and search engines.
    #[serde(default)]
    pub geo: Option<Geo>,
    /// Phone number, as it is printed.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// `€`, `€€`, `10-20 €` …
    #[serde(default)]
    pub price_range: Option<String>,
    /// Opening hours: days and times.
    #[serde(default)]
    pub hours: Vec<Hours>,
}

fn local_business() -> String {
    "LocalBusiness".into()
}

/// A postal address.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// Town or city.
    pub city: String,
    /// Region, when it matters.
    #[serde(default)]
    pub region: Option<String>,
    /// ISO 3166 country code (`FR`).
    #[serde(default = "france")]
    pub country: String,
}

fn france() -> String {
    "FR".into()
}

/// Latitude and longitude, in degrees.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Geo {
    /// Latitude, −90 to 90.
    pub lat: f64,
    /// Longitude, −180 to 180.
    pub lon: f64,
}

/// One line of opening hours: `{ days: tu-sa, opens: "06:00", closes: "19:30" }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// `mo`, `tu-sa`, `mo, we, fr` or a list of them.
    pub days: DaySpec,
    /// Opening time, `HH:MM`.
    pub opens: String,
    /// Closing time, `HH:MM` (`24:00` for midnight; earlier than `opens` for past midnight).
    pub closes: String,
}

/// Days as written: one string (`tu-sa`, `mo, we`) or a list.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum DaySpec {
    /// `tu-sa`, `mo, we, fr`.
    One(String),
    /// `[mo, we, fr]`.
    List(Vec<String>),
}

impl Default for DaySpec {
    fn default() -> Self {
        DaySpec::List(Vec::new())
    }
}

/// The schema.org types `kind` may name: `LocalBusiness` and the subtypes small businesses use.
pub const KINDS: &[&str] = &[
    "LocalBusiness",
    "Bakery",
    "BarOrPub",
    "BeautySalon",
    "BookStore",
    "Butcher",
    "CafeOrCoffeeShop",
    "ChildCare",
    "ClothingStore",
    "Dentist",
    "Electrician",
    "Florist",
    "FoodEstablishment",
    "GeneralContractor",
    "HairSalon",
    "HardwareStore",
    "HomeAndConstructionBusiness",
    "Hotel",
    "HousePainter",
    "JewelryStore",
    "LegalService",
    "Locksmith",
    "MedicalBusiness",
    "MovingCompany",
    "Optician",
    "Pharmacy",
    "Physician",
    "Plumber",
    "ProfessionalService",
    "RealEstateAgent",
    "Restaurant",
    "RoofingContractor",
    "SportsActivityLocation",
    "Store",
    "TravelAgency",
    "Winery",
];

/// Day codes, Monday first, with their schema.org names.
const DAYS: [(&str, &str); 7] = [
    ("mo", "Monday"),
    ("tu", "Tuesday"),
    ("we", "Wednesday"),
    ("th", "Thursday"),
    ("fr", "Friday"),
    ("sa", "Saturday"),
    ("su", "Sunday"),
];

const DAYS_FR: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];

/// The day indexes (0 = Monday) a spec names, or what is wrong with it.
pub(crate) fn days(spec: &DaySpec) -> Result<Vec<usize>, String> {
    let parts: Vec<String> = match spec {
        DaySpec::One(s) => s.split(',').map(|p| p.trim().to_ascii_lowercase()).collect(),
        DaySpec::List(l) => l.iter().map(|p| p.trim().to_ascii_lowercase()).collect(),
    };
    let day = |s: &str| {
        DAYS.iter()
            .position(|(c, name)| *c == s || name.eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("`{s}` is not a day: write mo, tu, we, th, fr, sa or su"))
    };
    let mut out = Vec::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        match p.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a.trim())?, day(b.trim())?);
                if b < a {
                    return Err(format!("`{p}` runs backwards: write the first day first (Monday is first)"));
                }
                out.extend(a..=b);
            }
            None => out.push(day(p)?),
        }
    }
    if out.is_empty() {
        return Err("no day given".into());
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Minutes after midnight of `HH:MM` (`24:00` allowed), or `None`.
fn minutes(t: &str) -> Option<u32> {
    let (h, m) = t.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

/// The 1-based line of the `nth` (0-based) `key:` written after the top-level `block:` line.
fn line_in(text: &str, block: &str, key: &str, nth: usize) -> Option<usize> {
    let start = crate::util::yaml::key_line(text, block)?;
    let needle = format!("{key}:");
    let mut seen = 0;
    for (i, l) in text.lines().enumerate().skip(start - 1) {
        if i + 1 > start && !l.starts_with([' ', '\t']) && !l.trim().is_empty() && !l.trim_start().starts_with('#') {
            break;
        }
        let mut rest = l;
        while let Some(at) = rest.find(&needle) {
            let before = rest[..at].chars().next_back();
            if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                if seen == nth {
                    return Some(i + 1);
                }
                seen += 1;
            }
            rest = &rest[at + needle.len()..];
        }
    }
    Some(start)
}

/// Problems of the `legal:` block.
pub(crate) fn check_legal(legal: &Legal, text: &str) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut need = |value: &str, key: &str, what: &str| {
        if value.trim().is_empty() {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("`legal.{key}` is empty"))
                    .at(line_in(text, "legal", key, 0), None)
                    .hint(format!("the legal notice must give {what}")),
            );
        }
    };
    need(&legal.publisher, "publisher", "the publisher's name or company name");
    need(&legal.address, "address", "the publisher's postal address");
    need(&legal.director, "director", "the name of the director of publication");
    let blank = |o: &Option<String>| o.as_deref().is_none_or(|s| s.trim().is_empty());
    if blank(&legal.email) && blank(&legal.phone) {
        errors.push(
            Diagnostic::new(SITE_FILE, "`legal` gives no way to reach the publisher")
                .at(crate::util::yaml::key_line(text, "legal"), None)
                .hint("add `email:` or `phone:` under `legal:`"),
        );
    }
    if legal.share_capital.is_some() && blank(&legal.registration) {
        errors.push(
            Diagnostic::new(SITE_FILE, "`legal.share_capital` is given without `legal.registration`")
                .at(line_in(text, "legal", "share_capital", 0), None)
                .hint("a company with a share capital is registered: add `registration: RCS City 123 456 789`"),
        );
    }
    errors
}

/// Problems of the `business:` block.
pub(crate) fn check_business(b: &Business, text: &str) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let at = |key: &str, nth: usize| line_in(text, "business", key, nth);
    if !KINDS.contains(&b.kind.as_str()) {
        let hint = match crate::util::diag::did_you_mean(&b.kind, KINDS.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? The kinds are schema.org types: {}", KINDS.join(", ")),
            None => format!("write one of the schema.org types: {}", KINDS.join(", ")),
        };
        errors.push(
            Diagnostic::new(SITE_FILE, format!("`business.kind` `{}` is not a kind of business", b.kind))
                .at(at("kind", 0), None)
                .hint(hint),
        );
    }
    let a = &b.address;
    for (value, key) in [(&a.street, "street"), (&a.postal_code, "postal_code"), (&a.city, "city")] {
        if value.trim().is_empty() {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("`business.address.{key}` is empty"))
                    .at(at(key, 0), None)
                    .hint("search engines show the whole address: street, postal_code and city"),
            );
        }
    }
    if a.country.len() != 2 || !a.country.chars().all(|c| c.is_ascii_alphabetic()) {
        errors.push(
            Diagnostic::new(SITE_FILE, format!("`business.address.country` `{}` is not a country code", a.country))
                .at(at("country", 0), None)
                .hint("write the two-letter ISO code, e.g. FR, BE, CH"),
        );
    }
    if let Some(g) = b.geo {
        if !(-90.0..=90.0).contains(&g.lat) || !(-180.0..=180.0).contains(&g.lon) {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("`business.geo` {}, {} is not a position on Earth", g.lat, g.lon))
                    .at(at("geo", 0), None)
                    .hint(
                        "latitude is between -90 and 90, longitude between -180 and 180 (e.g. lat: 45.764, lon: 4.836)",
                    ),
            );
        }
    }
    for (i, h) in b.hours.iter().enumerate() {
        if let Err(e) = days(&h.days) {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("`business.hours` line {}: {e}", i + 1))
                    .at(at("days", i), None)
                    .hint("for example `days: tu-sa` or `days: [mo, we, fr]`"),
            );
        }
        for (t, key) in [(&h.opens, "opens"), (&h.closes, "closes")] {
            if minutes(t).is_none() {
                errors.push(
                    Diagnostic::new(SITE_FILE, format!("`business.hours` line {}: `{key}` `{t}` is not a time", i + 1))
                        .at(at(key, i), None)
                        .hint("write hours and minutes on 24 hours, in quotes: \"06:00\", \"19:30\""),
                );
            }
        }
        if minutes(&h.opens).is_some() && minutes(&h.opens) == minutes(&h.closes) {
            errors.push(
                Diagnostic::new(
                    SITE_FILE,
                    format!("`business.hours` line {}: opens and closes at the same time", i + 1),
                )
                .at(at("closes", i), None)
                .hint("open all day is opens: \"00:00\", closes: \"24:00\""),
            );
        }
    }
    errors
}

/// Day names in `lang` (French, else English).
fn day_names(lang: &str) -> [&'static str; 7] {
    if lang.starts_with("fr") {
        DAYS_FR
    } else {
        DAYS.map(|(_, n)| n)
    }
}

/// `tu-sa` → "Tuesday to Saturday", `[mo, we]` → "Monday, Wednesday", in `lang`.
fn days_label(ds: &[usize], lang: &str) -> String {
    let names = day_names(lang);
    let fr = lang.starts_with("fr");
    let contiguous = ds.len() > 2 && ds.windows(2).all(|w| w[1] == w[0] + 1);
    let label = if contiguous {
        let (a, b) = (names[ds[0]], names[ds[ds.len() - 1]]);
        if fr {
            format!("du {a} au {b}")
        } else {
            format!("{a} to {b}")
        }
    } else {
        let sep = if fr { " et " } else { " and " };
        let all: Vec<&str> = ds.iter().map(|&d| names[d]).collect();
        match all.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{}{sep}{last}", rest.join(", ")),
            _ => all.join(""),
        }
    };
    let mut c = label.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `06:00` → "6 h" (French) or "6:00 am" (English).
fn time_label(t: &str, lang: &str) -> String {
    let Some(m) = minutes(t) else { return t.to_string() };
    let (h, min) = (m / 60, m % 60);
    if lang.starts_with("fr") {
        if min == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {min:02}")
        }
    } else {
        let (h12, half) = match h % 24 {
            0 => (12, "am"),
            h @ 1..=11 => (h, "am"),
            12 => (12, "pm"),
            h => (h - 12, "pm"),
        };
        format!("{h12}:{min:02} {half}")
    }
}

impl Business {
    /// `site.business` for templates in `lang`: every field, the address in lines, `hours`
    /// with labels (`days`, `time`), the closed days, a `tel:` link and a map link.
    pub(crate) fn value(&self, site_title: &str, lang: &str) -> Value {
        let a = &self.address;
        let name = self.name.clone().unwrap_or_else(|| site_title.to_string());
        let locality = format!("{} {}", a.postal_code, a.city);
        let mut hours = Vec::new();
        let mut open_days = [false; 7];
        for h in &self.hours {
            let ds = days(&h.days).unwrap_or_default();
            for &d in &ds {
                open_days[d] = true;
            }
            hours.push(json!({
                "days": days_label(&ds, lang),
                "opens": h.opens, "closes": h.closes,
                "time": format!("{} – {}", time_label(&h.opens, lang), time_label(&h.closes, lang)),
            }));
        }
        let closed: Vec<usize> = (0..7).filter(|&d| !open_days[d]).collect();
        let closed_label = (!self.hours.is_empty() && !closed.is_empty()).then(|| days_label(&closed, lang));
        let map_url =
            self.geo.map(|g| format!("https://www.openstreetmap.org/?mlat={0}&mlon={1}#map=17/{0}/{1}", g.lat, g.lon));
        json!({
            "kind": self.kind,
            "name": name,
            "address": {
                "street": a.street, "postal_code": a.postal_code, "city": a.city,
                "region": a.region, "country": a.country,
                "lines": [a.street.clone(), locality],
            },
            "geo": self.geo.map(|g| json!({"lat": g.lat, "lon": g.lon})),
            "map_url": map_url,
            "phone": self.phone,
            "phone_href": self.phone.as_ref().map(|p| format!("tel:{}", p.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect::<String>())),
            "email": self.email,
            "price_range": self.price_range,
            "hours": hours,
            "closed": closed_label,
        })
    }

    /// schema.org `LocalBusiness` (or the subtype `kind` names) for the home page, as JSON.
    pub(crate) fn json_ld(&self, site_title: &str, url: &str, image: Option<&str>) -> Value {
        let a = &self.address;
        let mut address = json!({
            "@type": "PostalAddress",
            "streetAddress": a.street,
            "postalCode": a.postal_code,
            "addressLocality": a.city,
            "addressCountry": a.country,
        });
        if let Some(r) = &a.region {
            address["addressRegion"] = json!(r);
        }
        let mut v = json!({
            "@context": "https://schema.org",
            "@type": self.kind,
            "name": self.name.clone().unwrap_or_else(|| site_title.to_string()),
            "url": url,
            "address": address,
        });
        if let Some(g) = self.geo {
            v["geo"] = json!({"@type": "GeoCoordinates", "latitude": g.lat, "longitude": g.lon});
        }
        if let Some(p) = &self.phone {
            v["telephone"] = json!(p);
        }
        if let Some(e) = &self.email {
            v["email"] = json!(e);
        }
        if let Some(p) = &self.price_range {
            v["priceRange"] = json!(p);
        }
        if let Some(i) = image {
            v["image"] = json!(i);
        }
        if !self.hours.is_empty() {
            let specs: Vec<Value> = self
                .hours
                .iter()
                .map(|h| {
                    let ds = days(&h.days).unwrap_or_default();
                    json!({
                        "@type": "OpeningHoursSpecification",
                        "dayOfWeek": ds.iter().map(|&d| format!("https://schema.org/{}", DAYS[d].1)).collect::<Vec<_>>(),
                        "opens": h.opens,
                        "closes": if h.closes == "24:00" { "23:59" } else { h.closes.as_str() },
                    })
                })
                .collect();
            v["openingHoursSpecification"] = json!(specs);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times_read_as_written() {
        assert_eq!(days(&DaySpec::One("tu-sa".into())).unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(days(&DaySpec::One("mo, we,Friday".into())).unwrap(), vec![0, 2, 4]);
        assert_eq!(days(&DaySpec::List(vec!["su".into()])).unwrap(), vec![6]);
        assert!(days(&DaySpec::One("sa-mo".into())).unwrap_err().contains("backwards"));
        assert!(days(&DaySpec::One("xx".into())).unwrap_err().contains("not a day"));
        assert_eq!(minutes("06:30"), Some(390));
        assert_eq!(minutes("24:00"), Some(1440));
        assert_eq!(minutes("6:30"), None);
        assert_eq!(minutes("24:30"), None);
        assert_eq!(days_label(&[1, 2, 3, 4, 5], "fr"), "Du mardi au samedi");
        assert_eq!(days_label(&[0, 2], "en"), "Monday and Wednesday");
        assert_eq!(time_label("19:30", "fr"), "19 h 30");
        assert_eq!(time_label("19:30", "en"), "7:30 pm");
        assert_eq!(time_label("00:00", "en"), "12:00 am");
    }

    #[test]
    fn errors_point_at_the_line_of_the_key() {
        let text = "title: x\nbusiness:\n  kind: Bakeri\n  address: { street: a, postal_code: '1', city: c }\n  hours:\n    - { days: tu-sa, opens: \"06:00\", closes: \"19:30\" }\n    - { days: su, opens: \"7h\", closes: \"13:00\" }\nlegal:\n  publisher: ''\n  address: a\n  director: d\n";
        let b: Business = crate::util::yaml::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| serde_json::from_value(v["business"].clone()).ok())
            .unwrap();
        let e = check_business(&b, text);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].message.contains("Bakeri")
                && e[0].line == Some(3)
                && e[0].hint.as_deref().unwrap().contains("`Bakery`")
        );
        assert!(e[1].message.contains("`7h`") && e[1].line == Some(7), "{:?}", e[1]);
        let l = Legal { address: "a".into(), director: "d".into(), ..Default::default() };
        let e = check_legal(&l, text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].line, Some(9));
        assert!(e[1].message.contains("no way to reach"));
    }

    #[test]
    fn json_ld_has_the_opening_hours() {
        let b = Business {
            kind: "Bakery".into(),
            address: Address {
                street: "1 r".into(),
                postal_code: "69001".into(),
                city: "Lyon".into(),
                region: None,
                country: "FR".into(),
            },
            geo: Some(Geo { lat: 45.7, lon: 4.8 }),
            hours: vec![Hours { days: DaySpec::One("tu-sa".into()), opens: "06:00".into(), closes: "24:00".into() }],
            ..Default::default()
        };
        let v = b.json_ld("Shop", "https://x/", None);
        assert_eq!(v["@type"], "Bakery");
        assert_eq!(v["openingHoursSpecification"][0]["dayOfWeek"][4], "https://schema.org/Saturday");
        assert_eq!(v["openingHoursSpecification"][0]["closes"], "23:59");
        let t = b.value("Shop", "fr");
        assert_eq!(t["hours"][0]["days"], "Du mardi au samedi");
        assert_eq!(t["hours"][0]["time"], "6 h – 24 h");
        assert_eq!(t["closed"], "Lundi et dimanche");
    }
}
