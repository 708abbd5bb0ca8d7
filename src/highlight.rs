//! Build-time syntax highlighting of fenced code: CSS classes, no JavaScript in the page.
//!
//! In: a language token and code. Out: HTML with `hl-*` classes (themes style them), or `None`
//! for an unknown language. The syntax set is loaded once, on first use, and shared by threads.

use std::sync::OnceLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// The class prefix of highlighted tokens, so theme CSS cannot collide with it by accident.
pub const CLASS_PREFIX: &str = "hl-";

/// A lazily loaded highlighter; cheap to create, loads syntaxes on the first code block.
#[derive(Default)]
pub struct Highlighter {
    syntaxes: OnceLock<SyntaxSet>,
}

impl Highlighter {
    /// Highlights `code` written in `lang`; `None` when the language is unknown.
    pub fn highlight(&self, lang: &str, code: &str) -> Option<String> {
        let ss = self.syntaxes.get_or_init(SyntaxSet::load_defaults_newlines);
        let syntax = ss.find_syntax_by_token(lang)?;
        let mut gen =
            ClassedHTMLGenerator::new_with_class_style(syntax, ss, ClassStyle::SpacedPrefixed { prefix: CLASS_PREFIX });
        for line in LinesWithEndings::from(code) {
            gen.parse_html_for_line_which_includes_newline(line).ok()?;
        }
        Some(gen.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_known_languages_only() {
        let h = Highlighter::default();
        let out = h.highlight("rust", "fn main() {}\n").unwrap();
        assert!(out.contains("hl-"), "{out}");
        assert!(out.contains("main"));
        assert!(h.highlight("no-such-language", "x").is_none());
    }
}
