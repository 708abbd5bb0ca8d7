//! Diagnostics: problems found in the user's site, each tied to a file and, where known, a line and
//! column, with a hint of what to do.
//!
//! In: whatever a stage found wrong. Out: values gathered through a build and printed at the end
//! (every broken page is reported, then the build fails). This module never prints.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a problem is: a file, or an output the build generates that has no source file of its
/// own (a taxonomy's pages, a feed, the sitemap, the 404 page).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A file of the site (relative to its root where possible), of its theme, or the policy.
    File(PathBuf),
    /// A generated output, by name (`feed`, `sitemap`, ``taxonomy `tags` ``).
    Output(String),
}

impl Origin {
    /// A generated output named `name`.
    pub fn output(name: impl Into<String>) -> Origin {
        Origin::Output(name.into())
    }

    /// The file, when the origin is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::File(p) => Some(p),
            Origin::Output(_) => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Output(name) => f.write_str(name),
        }
    }
}

impl From<&str> for Origin {
    fn from(s: &str) -> Origin {
        Origin::File(PathBuf::from(s))
    }
}

impl From<String> for Origin {
    fn from(s: String) -> Origin {
        Origin::File(PathBuf::from(s))
    }
}

impl From<&String> for Origin {
    fn from(s: &String) -> Origin {
        Origin::File(PathBuf::from(s))
    }
}

impl From<PathBuf> for Origin {
    fn from(p: PathBuf) -> Origin {
        Origin::File(p)
    }
}

impl From<&Path> for Origin {
    fn from(p: &Path) -> Origin {
        Origin::File(p.to_path_buf())
    }
}

impl From<&PathBuf> for Origin {
    fn from(p: &PathBuf) -> Origin {
        Origin::File(p.clone())
    }
}

impl From<&Origin> for Origin {
    fn from(o: &Origin) -> Origin {
        o.clone()
    }
}

/// What kind of problem a diagnostic is, for grouping and for machines reading `--json`; never
/// guessed from the message's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Something wrong in the partner's files (the default).
    Site,
    /// A template failed while rendering an output (the hint says which): the same mistake
    /// breaks every file that uses the template, so these are reported once, with a count.
    Render,
    /// An image that cannot be found, read or used.
    Image,
    /// A finished page that breaks the platform's rules.
    Platform,
    /// A file or the site over the platform's quotas.
    Quota,
    /// The render that was running when the build passed its time limit (the platform's
    /// `limits.build_seconds`), with its template and line where known.
    TimeLimit,
    /// A file left unrendered because the build had passed its time limit.
    Stopped,
}

/// One problem in the user's site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// Where: the file at fault (relative to the site root where possible), or a generated output.
    pub origin: Origin,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub(crate) column: Option<u32>,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// What kind of problem it is.
    pub kind: Kind,
    /// The partner whose site it is (platform runs; `None` for a single site), shared by all
    /// of that partner's diagnostics.
    pub partner: Option<std::sync::Arc<str>>,
}

impl Diagnostic {
    /// A problem with a file (or an output) as a whole.
    pub fn new(origin: impl Into<Origin>, message: impl Into<String>) -> Self {
        Diagnostic {
            origin: origin.into(),
            line: None,
            column: None,
            message: message.into(),
            hint: None,
            kind: Kind::Site,
            partner: None,
        }
    }

    /// Sets the line (and column) of the problem.
    pub fn at(mut self, line: Option<usize>, column: Option<usize>) -> Self {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.line = line.map(narrow);
        self.column = column.map(narrow);
        self
    }

    /// Adds a hint of what to do.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the kind of problem.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Ties the problem to a partner's site.
    pub fn partner(mut self, id: impl Into<std::sync::Arc<str>>) -> Self {
        self.partner = Some(id.into());
        self
    }

    /// `file:line:column`, as far as known (`partner: …` first on a platform run).
    pub fn location(&self) -> String {
        let mut s = match &self.partner {
            Some(p) => format!("{p}: {}", self.origin),
            None => self.origin.to_string(),
        };
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
            if let Some(c) = self.column {
                s.push_str(&format!(":{c}"));
            }
        }
        s
    }
}

/// `--json` keeps the shape it always had (`file`, `line`, `column`, `message`, `hint`), with
/// `origin` (`file` or `output`), `kind` and, on platform runs, `partner` beside it.
impl serde::Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("file", &self.origin.to_string())?;
        m.serialize_entry("origin", if self.origin.path().is_some() { "file" } else { "output" })?;
        m.serialize_entry("line", &self.line)?;
        m.serialize_entry("column", &self.column)?;
        m.serialize_entry("message", &self.message)?;
        m.serialize_entry("hint", &self.hint)?;
        let kind = match &self.kind {
            Kind::Site => "site",
            Kind::Render => "render",
            Kind::Image => "image",
            Kind::Platform => "platform",
            Kind::Quota => "quota",
            Kind::TimeLimit => "time-limit",
            Kind::Stopped => "stopped",
        };
        m.serialize_entry("kind", kind)?;
        if let Some(p) = &self.partner {
            m.serialize_entry("partner", &**p)?;
        }
        m.end()
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
        let d = Diagnostic::new(Origin::output("feed"), "bad").partner("acme");
        assert_eq!(d.location(), "acme: feed");
        let j = serde_json::to_value(&d).unwrap();
        assert_eq!(
            (j["file"].as_str(), j["origin"].as_str(), j["partner"].as_str()),
            (Some("feed"), Some("output"), Some("acme"))
        );
    }
}
