//! What a page's Markdown body becomes: its HTML, summary, table of contents and word count
//! (made by `render`, held by the content tree, read by templates).
//!
//! In/out: plain values. Must never render anything itself.

use serde::{Deserialize, Serialize};

/// One heading of the table of contents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Heading {
    /// 1 to 6.
    pub level: u32,
    /// The `id` attribute, unique in the page.
    pub id: String,
    /// The heading's text.
    pub title: String,
    /// Headings nested under this one.
    pub children: Vec<Heading>,
}

/// A problem in the Markdown, at a byte offset of the rendered text.
#[derive(Debug, Clone)]
pub struct MdProblem {
    /// Byte offset in the input.
    pub(crate) offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

/// Rendered Markdown.
#[derive(Debug, Default, Clone)]
pub struct Rendered {
    /// The whole body (empty once spilled: read it with [`Rendered::html`]).
    pub html_in_memory: String,
    /// Where the body went when a large site's build moved it out of memory.
    pub(crate) spilled: Option<crate::util::spill::Span>,
    /// The part before `<!-- more -->`, if the marker is present.
    pub summary: Option<String>,
    /// Table of contents (empty once spilled: read it with [`Rendered::toc`]).
    pub toc: Vec<Heading>,
    /// Where the table of contents went (as JSON) when the body was spilled.
    pub(crate) toc_spilled: Option<crate::util::spill::Span>,
    /// Words of text (code excluded).
    pub(crate) word_count: usize,
    /// Broken internal links and the like.
    pub problems: Vec<MdProblem>,
}

impl Rendered {
    /// The whole body, from memory or read back from the build's spill file.
    pub fn html(&self) -> std::borrow::Cow<'_, str> {
        match &self.spilled {
            Some(span) => std::borrow::Cow::Owned(span.text()),
            None => std::borrow::Cow::Borrowed(&self.html_in_memory),
        }
    }

    /// The table of contents, from memory or read back from the build's spill file.
    pub fn toc(&self) -> std::borrow::Cow<'_, [Heading]> {
        match &self.toc_spilled {
            Some(span) => std::borrow::Cow::Owned(serde_json::from_str(&span.text()).unwrap_or_default()),
            None => std::borrow::Cow::Borrowed(&self.toc),
        }
    }

    /// Moves the body, and its table of contents when `toc`, to `spill` (each kept in memory when
    /// its write fails): ~9 KB and ~0.9 KB a page on the benchmark corpus.
    pub(crate) fn spill_to(&mut self, spill: &std::sync::Arc<crate::util::spill::Spill>, toc: bool) {
        if self.spilled.is_none() {
            if let Ok(span) = spill.put(self.html_in_memory.as_bytes()) {
                self.spilled = Some(span);
                self.html_in_memory = String::new();
            }
        }
        if toc && self.toc_spilled.is_none() && !self.toc.is_empty() {
            if let Some(span) = serde_json::to_vec(&self.toc).ok().and_then(|json| spill.put(&json).ok()) {
                self.toc_spilled = Some(span);
                self.toc = Vec::new();
            }
        }
    }
}
