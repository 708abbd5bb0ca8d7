//! A theme's `theme.yaml`: who made it, its licence and price.
//!
//! In: the text of `theme.yaml`. Out: a [`ThemeMeta`] or diagnostics with lines. Never reads
//! the disk.

use serde::{Deserialize, Serialize};

use crate::platform::policy::parse_without_switches;
use crate::util::diag::Diagnostic;

/// A theme's `theme.yaml`: who made it and what it costs on the platform's catalogue.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeMeta {
    /// The theme's name.
    #[serde(default)]
    pub name: String,
    /// One sentence for the catalogue.
    #[serde(default)]
    pub description: String,
    /// Who made it.
    #[serde(default)]
    pub designer: String,
    /// Licence of the theme's files.
    #[serde(default)]
    pub license: String,
    /// The designer's price on the platform, in euros as a decimal string (`"49.00"`; a plain
    /// number is read too), held as cents; 0 for a free theme.
    #[serde(default)]
    pub price: Amount,
    /// Version of the theme.
    #[serde(default)]
    pub version: String,
    /// The sopixi versions it works with (`">=0.1"`).
    #[serde(default)]
    pub sopixi: Option<String>,
    /// A screenshot of the theme, relative to its folder.
    #[serde(default)]
    pub screenshot: Option<String>,
}

/// An amount of money read from a decimal string (`"49.00"`) or a number, held as cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(pub crate::util::money::Cents);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(serde::de::Error::custom("a price is a decimal string such as \"49.00\"")),
        };
        crate::util::money::parse_cents(&text, false).map(Amount).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::util::money::format_cents(self.0))
    }
}

impl ThemeMeta {
    /// Parses `theme.yaml` (named `file` in messages). A key that tries to turn off a platform
    /// element is an error, as is any unknown key.
    pub fn parse(file: &str, text: &str) -> Result<ThemeMeta, Vec<Diagnostic>> {
        parse_without_switches(file, text)
    }
}
