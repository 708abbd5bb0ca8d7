//! A theme's `theme.yaml`: who made it, its licence and price.
//!
//! In: the text of `theme.yaml`. Out: a [`ThemeMeta`] or diagnostics with lines. Never reads
//! the disk.

use serde::{Deserialize, Serialize};

use crate::policy::parse_without_switches;
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
    pub(crate) license: String,
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
    /// How the theme's share cards look: a font of the theme and its colours.
    #[serde(default)]
    pub card: Option<CardMeta>,
}

/// `card:` of `theme.yaml`: the font (a TrueType or OpenType file of the theme, relative to its
/// folder) and the colours of the generated share cards.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CardMeta {
    /// `fonts/MyFont-Bold.ttf`.
    pub font: String,
    /// Background colour, `#rrggbb`.
    pub background: String,
    /// The title's and site name's colour.
    pub text: String,
    /// The band and mark colour.
    pub accent: String,
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
        crate::util::money::parse_cents(&text).map(Amount).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::util::money::format_cents(self.0))
    }
}

impl ThemeMeta {
    /// Parses `theme.yaml` (named `file` in messages). A key that tries to turn off a platform
    /// element is an error, as is any unknown key, and a `sopixi` requirement that is not a
    /// version requirement or that this sopixi does not meet.
    pub fn parse(file: &str, text: &str) -> Result<ThemeMeta, Vec<Diagnostic>> {
        let meta: ThemeMeta = parse_without_switches(file, text)?;
        match meta.sopixi.as_deref().map(|req| supports(req, env!("CARGO_PKG_VERSION"))) {
            Some(Err(message)) => {
                let line = crate::util::yaml::key_line(text, "sopixi");
                Err(vec![Diagnostic::new(file, message).at(line, None).hint(
                    "`sopixi:` takes a version requirement such as \">=0.1\" or \"^1.2\"; use a version of the theme made for this sopixi, or update sopixi",
                )])
            }
            _ => Ok(meta),
        }
    }
}

/// Whether sopixi `version` meets a theme's requirement `req` (`">=0.1"`, `"^1.2, <2"`), or why not.
pub(crate) fn supports(req: &str, version: &str) -> Result<(), String> {
    let r = semver::VersionReq::parse(req.trim())
        .map_err(|e| format!("`sopixi: {req}` is not a version requirement: {e}"))?;
    let v = semver::Version::parse(version).map_err(|e| format!("sopixi's own version {version}: {e}"))?;
    if r.matches(&v) {
        Ok(())
    } else {
        Err(format!("this theme needs sopixi {req}, and this is sopixi {version}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sopixi_requirement_is_checked_against_this_version() {
        assert!(supports(">=0.1", "0.1.0").is_ok());
        assert!(supports("^0.1", "0.1.7").is_ok());
        assert!(supports(">=0.2", "0.1.0").unwrap_err().contains("needs sopixi >=0.2"));
        assert!(supports("one", "0.1.0").unwrap_err().contains("not a version requirement"));
        let e = ThemeMeta::parse("t/theme.yaml", "name: t\nversion: 1.0.0\nsopixi: \">=99\"\n").unwrap_err();
        assert_eq!(e[0].line, Some(3), "{e:?}");
        assert!(ThemeMeta::parse("t/theme.yaml", "name: t\nsopixi: \">=0.1\"\n").is_ok());
    }
}
