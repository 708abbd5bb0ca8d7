//! The one door to the YAML crate.
//!
//! In: YAML text. Out: typed values, or an error carrying line and column. `serde_yaml` is archived
//! upstream; every other module goes through here so that swapping it for a maintained fork is a
//! one-line change in `Cargo.toml` and this file.

pub use serde_yaml::{Mapping, Value};

/// A YAML error with its 1-based position inside the parsed text, when known.
#[derive(Debug, Clone)]
pub struct YamlError {
    /// What went wrong, as serde_yaml phrased it, without its position suffix.
    pub message: String,
    /// 1-based line inside the parsed text.
    pub line: Option<usize>,
    /// 1-based column inside the parsed text.
    pub column: Option<usize>,
}

fn convert(e: serde_yaml::Error) -> YamlError {
    let loc = e.location();
    let mut message = e.to_string();
    // serde_yaml appends " at line L column C"; the position is reported separately.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    YamlError { message, line: loc.as_ref().map(|l| l.line()), column: loc.as_ref().map(|l| l.column()) }
}

/// Parses YAML text into `T`.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(convert)
}

/// Converts an already parsed YAML value into `T`.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, YamlError> {
    serde_yaml::from_value(value).map_err(convert)
}

/// Converts a YAML value into JSON, the currency of templates.
pub fn to_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
