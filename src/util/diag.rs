//! Diagnostics: problems found in the user's site, each tied to a file and, where known, a line and
//! column, with a hint of what to do.
//!
//! In: whatever a stage found wrong. Out: values gathered through a build and printed at the end
//! (every broken page is reported, then the build fails). This module never prints.

use std::fmt;
use std::path::PathBuf;

/// One problem in the user's site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Diagnostic {
    /// The file at fault, relative to the site root where possible.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem with a file as a whole.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic { file: file.into(), line: None, column: None, message: message.into(), hint: None }
    }

    /// Sets the line (and column) of the problem.
    pub fn at(mut self, line: Option<usize>, column: Option<usize>) -> Self {
        self.line = line;
        self.column = column;
        self
    }

    /// Adds a hint of what to do.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:column`, as far as known.
    pub fn location(&self) -> String {
        let mut s = self.file.display().to_string();
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
            if let Some(c) = self.column {
                s.push_str(&format!(":{c}"));
            }
        }
        s
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

/// A build that did not produce a site: every problem found, sorted by file and line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} error{} in the site", .0.len(), if .0.len() == 1 { "" } else { "s" })]
pub struct BuildFailed(pub Vec<Diagnostic>);

impl BuildFailed {
    /// Sorts and de-duplicates the diagnostics so the report is stable.
    pub fn new(mut diags: Vec<Diagnostic>) -> Self {
        diags.sort();
        diags.dedup();
        BuildFailed(diags)
    }
}

/// The closest candidate to `word` among `candidates`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(did_you_mean("titel", ["title", "date", "tags"]), Some("title"));
        assert_eq!(did_you_mean("zzz", ["title", "date"]), None);
    }

    #[test]
    fn location_formats() {
        let d = Diagnostic::new("a.md", "bad").at(Some(3), Some(7)).hint("fix it");
        assert_eq!(d.to_string(), "a.md:3:7: bad\n  help: fix it");
    }
}
