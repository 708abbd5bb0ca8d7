//! Build-time syntax highlighting of fenced code: CSS classes, no JavaScript in the page.
//!
//! In: a language token and code. Out: HTML with `hl-*` classes (themes style them), or `None`
//! for an unknown language. The syntax set is loaded once, on first use, and shared by threads.
//!
//! Parsing a line with a TextMate grammar costs tens of microseconds, and sites repeat lines
//! (imports, braces, boilerplate) across many pages. The parse of a line depends only on the line
//! and the parser's state before it, so it is memoised on exactly that: a hit returns what the
//! parser would have returned. The memo is per thread (parser states cannot cross threads),
//! bounded, and only ever holds states of the built-in syntax set.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use syntect::html::{line_tokens_to_classed_spans, ClassStyle};
use syntect::parsing::{ParseState, ScopeStack, ScopeStackOp, SyntaxSet};
use syntect::util::LinesWithEndings;

/// The class prefix of highlighted tokens, so theme CSS cannot collide with it by accident.
pub(crate) const CLASS_PREFIX: &str = "hl-";

/// Most memoised lines kept per thread; past it, new lines are parsed but not remembered.
const MEMO_LINES: usize = 1_024;

type Ops = Vec<(usize, ScopeStackOp)>;

type Memo = HashMap<String, Vec<(ParseState, Ops, ParseState)>>;

// The one thread-local of the library, and a pure cache: what it holds changes no output (tested
// below), only how fast repeated lines are parsed. It cannot be a value of `Highlighter` shared by
// threads because syntect's `ParseState` holds oniguruma regions and is not `Send`.
thread_local! {
    /// line → (state before, operations, state after), a few states per line.
    static MEMO: RefCell<Memo> = RefCell::new(HashMap::new());
}

/// A lazily loaded highlighter; cheap to create, loads syntaxes on the first code block.
#[derive(Default)]
pub struct Highlighter {
    syntaxes: OnceLock<SyntaxSet>,
}

impl Highlighter {
    /// Loads the syntaxes now (for a thread of its own, while other work goes on), so that the
    /// first code block does not wait for them.
    pub(crate) fn preload(&self) {
        self.syntaxes.get_or_init(SyntaxSet::load_defaults_newlines);
    }

    /// Whether the syntaxes are loaded.
    pub fn loaded(&self) -> bool {
        self.syntaxes.get().is_some()
    }

    /// Whether `markdown` may hold a fenced code block, the only kind that is highlighted.
    pub(crate) fn may_need(markdown: &str) -> bool {
        memchr::memmem::find(markdown.as_bytes(), b"```").is_some()
            || memchr::memmem::find(markdown.as_bytes(), b"~~~").is_some()
    }

    /// Highlights `code` written in `lang`; `None` when the language is unknown.
    pub fn highlight(&self, lang: &str, code: &str) -> Option<String> {
        let ss = self.syntaxes.get_or_init(SyntaxSet::load_defaults_newlines);
        let syntax = ss.find_syntax_by_token(lang)?;
        let style = ClassStyle::SpacedPrefixed { prefix: CLASS_PREFIX };
        let mut state = ParseState::new(syntax);
        let mut stack = ScopeStack::new();
        let mut html = String::with_capacity(code.len() * 4);
        let mut open: isize = 0;
        for line in LinesWithEndings::from(code) {
            let ops = self.parse_line(&mut state, line, ss)?;
            let (spans, delta) = line_tokens_to_classed_spans(line, &ops, style, &mut stack).ok()?;
            html.push_str(&spans);
            open += delta;
        }
        for _ in 0..open.max(0) {
            html.push_str("</span>");
        }
        Some(html)
    }

    fn parse_line(&self, state: &mut ParseState, line: &str, ss: &SyntaxSet) -> Option<Ops> {
        let hit = MEMO.with_borrow(|memo| {
            let (_, ops, after) = memo.get(line)?.iter().find(|(before, ..)| before == state)?;
            Some((ops.clone(), after.clone()))
        });
        if let Some((ops, after)) = hit {
            *state = after;
            return Some(ops);
        }
        let before = state.clone();
        let ops = state.parse_line(line, ss).ok()?;
        MEMO.with_borrow_mut(|memo| {
            if memo.len() < MEMO_LINES || memo.contains_key(line) {
                let entries = memo.entry(line.to_string()).or_default();
                if entries.len() < 4 {
                    entries.push((before, ops.clone(), state.clone()));
                }
            }
        });
        Some(ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preloading_loads_once_and_fences_are_found() {
        let h = Highlighter::default();
        assert!(!h.loaded());
        h.preload();
        assert!(h.loaded());
        assert!(h.highlight("rust", "fn main() {}\n").is_some());
        assert!(Highlighter::may_need("text\n\n```rust\nfn x() {}\n```\n"));
        assert!(Highlighter::may_need("~~~\ncode\n~~~\n"));
        assert!(!Highlighter::may_need("    indented code is not highlighted\n`inline` neither"));
    }

    #[test]
    fn highlights_known_languages_only() {
        let h = Highlighter::default();
        let out = h.highlight("rust", "fn main() {}\n").unwrap();
        assert!(out.contains("hl-"), "{out}");
        assert!(out.contains("main"));
        assert!(h.highlight("no-such-language", "x").is_none());
    }

    #[test]
    fn memoised_lines_give_the_same_html_as_fresh_ones() {
        let code = "/* open comment\nfn main() {}\n*/\nfn main() {}\nlet s = \"str\nfn main() {}\n\";\n";
        let warm = Highlighter::default();
        let first = warm.highlight("rust", code).unwrap();
        let second = warm.highlight("rust", code).unwrap();
        let cold = Highlighter::default().highlight("rust", code).unwrap();
        assert_eq!(first, cold);
        assert_eq!(second, cold);
        // The same line inside a comment and outside it is highlighted differently.
        let lines: Vec<&str> = cold.split('\n').collect();
        assert_ne!(lines[1], lines[3], "{cold}");
    }
}
