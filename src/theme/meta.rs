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
    /// Price on the platform (0 for free themes).
    #[serde(default)]
    pub price: f64,
    /// Version of the theme.
    #[serde(default)]
    pub version: String,
}

impl ThemeMeta {
    /// Parses `theme.yaml` (named `file` in messages). A key that tries to turn off a platform
    /// element is an error, as is any unknown key.
    pub fn parse(file: &str, text: &str) -> Result<ThemeMeta, Vec<Diagnostic>> {
        parse_without_switches(file, text)
    }
}
