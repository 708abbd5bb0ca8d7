//! The one door to the YAML crate.
//!
//! In: YAML text. Out: typed values, or an error carrying line and column. `serde_yaml` is archived
//! upstream; every other module goes through here so that swapping it for a maintained fork is a
//! one-line change in `Cargo.toml` and this file.

pub(crate) use serde_yaml::Value;

use crate::util::diag::{did_you_mean, Diagnostic};

/// A YAML error with its 1-based position inside the parsed text, when known.
#[derive(Debug, Clone)]
pub(crate) struct YamlError {
    /// What went wrong, as serde_yaml phrased it, without its position suffix.
    pub message: String,
    /// 1-based line inside the parsed text.
    pub line: Option<usize>,
    /// 1-based column inside the parsed text.
    pub(crate) column: Option<usize>,
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
pub(crate) fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(convert)
}

/// Writes a value as YAML text (maps in the value's own key order).
pub(crate) fn to_string<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

/// Converts a YAML value into JSON, the currency of templates.
pub(crate) fn to_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The 1-based line of the first `key:` at any depth of YAML text (for messages about nested
/// keys, where the first occurrence is the best guess there is).
pub(crate) fn any_key_line(text: &str, key: &str) -> Option<usize> {
    let needle = format!("{key}:");
    text.lines().position(|l| l.trim_start().starts_with(&needle)).map(|i| i + 1)
}

/// The 1-based line where a top-level `key:` is written in YAML text, if it is.
pub(crate) fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines().position(|l| l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':'))).map(|i| i + 1)
}

/// Turns a YAML error into a diagnostic for `file`, whose YAML starts after `line_offset` lines.
/// Unknown keys become "unknown key `x`" with a "did you mean" and the list of valid keys.
pub(crate) fn yaml_diagnostic(file: &str, e: YamlError, line_offset: usize) -> Diagnostic {
    let line = e.line.map(|l| l + line_offset);
    if let Some(rest) = e.message.split_once("unknown field `").map(|(_, r)| r) {
        if let Some((field, tail)) = rest.split_once('`') {
            let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            let path_prefix = e.message.split(": unknown field").next().filter(|p| *p != e.message).unwrap_or("");
            let mut hint = match did_you_mean(field, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            hint.push_str(&format!("valid keys here: {}", expected.join(", ")));
            let place = if path_prefix.is_empty() { String::new() } else { format!(" in `{path_prefix}`") };
            return Diagnostic::new(file, format!("unknown key `{field}`{place}")).at(line, e.column).hint(hint);
        }
    }
    // serde_yaml refuses values nested over 128 levels with this message (its only way to say so).
    let hint = if e.message.contains("recursion limit exceeded") {
        "this value nests too deep (more than 128 lists or mappings inside each other): no site needs that"
    } else {
        "check the indentation and the quoting of values"
    };
    Diagnostic::new(file, format!("invalid YAML: {}", e.message)).at(line, e.column).hint(hint)
}
