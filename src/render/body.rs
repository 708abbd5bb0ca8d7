//! One page's body: shortcodes out, Markdown to HTML, shortcodes rendered back in.
//!
//! In: a parsed content file and the Markdown context. Out: its `Rendered` body, or every
//! problem with file, line and column. Never reads the disk.

use crate::render::markdown::{self, MdContext};
use crate::render::shortcodes;
use crate::site::body::Rendered;
use crate::site::content::{diag_path, Parsed};
use crate::util::diag::Diagnostic;

/// The deepest Markdown block nesting (block quotes, list levels) a page may have, as in
/// markdown-it (`maxNesting: 100`): deeper pages are hostile or broken, and their HTML would be
/// nested too deep for the rest of the pipeline.
pub(crate) const MAX_BLOCK_NESTING: usize = 100;

/// The first line (1-based, within `body`) whose block nesting exceeds [`MAX_BLOCK_NESTING`], and
/// that nesting. A line's nesting counts its `>` markers, its list markers and every two columns
/// of indentation before its text (an upper bound); lines inside fenced code are skipped.
fn too_deep(body: &str) -> Option<(usize, usize)> {
    let mut fence: Option<(u8, usize)> = None;
    for (i, line) in body.lines().enumerate() {
        let trimmed = line.trim_start();
        for marker in [b'`', b'~'] {
            let run = trimmed.bytes().take_while(|&c| c == marker).count();
            if run >= 3 {
                fence = match fence {
                    None => Some((marker, run)),
                    Some((m, n)) if m == marker && run >= n => None,
                    open => open,
                };
            }
        }
        if fence.is_some() {
            continue;
        }
        let (mut depth, mut columns) = (0usize, 0usize);
        let b = line.as_bytes();
        let mut j = 0;
        while j < b.len() {
            match b[j] {
                b' ' => columns += 1,
                b'\t' => columns += 4,
                b'>' => {
                    depth += 1;
                    // The one space after a `>` belongs to the marker, not to indentation.
                    if b.get(j + 1) == Some(&b' ') {
                        j += 1;
                    }
                }
                b'-' | b'*' | b'+' if b.get(j + 1).is_none_or(|c| *c == b' ' || *c == b'\t') => depth += 1,
                b'0'..=b'9' => {
                    let k = j + b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
                    if matches!(b.get(k), Some(b'.' | b')')) && b.get(k + 1).is_none_or(|c| *c == b' ') {
                        depth += 1;
                        j = k;
                    } else {
                        break;
                    }
                }
                _ => break,
            }
            j += 1;
        }
        let nesting = depth + columns / 2;
        if nesting > MAX_BLOCK_NESTING {
            return Some((i + 1, nesting));
        }
    }
    None
}

/// Elements that may not sit inside a `<p>` (a `<p>` is closed by them): a shortcode whose
/// output starts with one, called in the middle of a paragraph, would make invalid HTML.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "dialog",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
];

fn starts_with_block(html: &str) -> bool {
    let Some(rest) = html.trim_start().strip_prefix('<') else { return false };
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    BLOCKS.contains(&name.as_str())
}

/// A block-level shortcode output called inside a paragraph: the paragraph is closed before it
/// and opened again after it (empty halves dropped), as a browser would read it, so that the
/// HTML stays valid. `None` when the call is not directly inside a `<p>` (inside `<em>`, say).
fn split_paragraph(html: &str, ph: &str, out: &str) -> Option<String> {
    if !starts_with_block(out) {
        return None;
    }
    let at = html.find(ph)?;
    let open = html[..at].rfind("<p>").or_else(|| html[..at].rfind("<p "))?;
    let open_end = open + html[open..].find('>')? + 1;
    let close = at + ph.len() + html[at + ph.len()..].find("</p>")?;
    let (before, after) = (&html[open_end..at], &html[at + ph.len()..close]);
    // Directly inside the paragraph: no element open around the call.
    let plain = |s: &str| !s.contains('<') || s.matches('<').count() == s.matches("</").count() * 2;
    if !plain(before) || !plain(after) || before.contains("</p>") {
        return None;
    }
    let mut s = String::with_capacity(html.len() + out.len() + 8);
    s.push_str(&html[..open]);
    if !before.trim().is_empty() {
        s.push_str(&html[open..at]);
        s.push_str("</p>");
    }
    s.push_str(out);
    if !after.trim().is_empty() {
        s.push_str("<p>");
        s.push_str(after);
        s.push_str("</p>");
    }
    s.push_str(&html[close + 4..]);
    Some(s)
}

/// Renders one body: shortcodes out, Markdown to HTML, shortcodes back in.
/// `shortcode` renders one call (its name, arguments and body) to HTML, or says what is wrong.
pub fn render_body(
    src: &Parsed,
    cx: &MdContext,
    shortcode: &(dyn Fn(&shortcodes::Call) -> Result<String, String> + Sync),
) -> Result<Rendered, Vec<Diagnostic>> {
    let file = diag_path(&src.rel);
    let line_in_file = |l: usize| l + src.body_line - 1;
    if let Some((line, depth)) = too_deep(&src.body) {
        return Err(vec![Diagnostic::new(
            &file,
            format!("quotes and lists nest {depth} deep here, more than the limit of {MAX_BLOCK_NESTING}"),
        )
        .at(Some(line_in_file(line)), None)
        .hint("no page needs blocks nested this deep: remove the extra `>` or the extra indentation")]);
    }
    let extracted = shortcodes::extract(&src.body).map_err(|e| {
        vec![Diagnostic::new(&file, format!("malformed shortcode: {}", e.message))
            .at(Some(line_in_file(e.line)), Some(e.column))
            .hint("shortcodes are written {{ name(key=\"value\") }} or {% name(key=\"value\") %}…{% end %}")]
    })?;
    let mut rendered = markdown::render(&extracted.text, cx);
    let mut errors: Vec<Diagnostic> = rendered
        .problems
        .drain(..)
        .map(|p| {
            let line = extracted.original_line(p.offset);
            let (_, col) = crate::util::text::line_col(&extracted.text, p.offset);
            Diagnostic::new(&file, p.message).at(Some(line_in_file(line)), Some(col)).hint(p.hint)
        })
        .collect();
    if !extracted.calls.is_empty() {
        let mut outputs = Vec::with_capacity(extracted.calls.len());
        for call in &extracted.calls {
            match shortcode(call) {
                Ok(html) => outputs.push(html),
                Err(msg) => {
                    errors.push(Diagnostic::new(&file, msg).at(Some(line_in_file(call.line)), Some(call.column)));
                    outputs.push(String::new());
                }
            }
        }
        let put_back = |html: &mut String| {
            for (i, out) in outputs.iter().enumerate().rev() {
                let ph = shortcodes::placeholder(i);
                let block = format!("<p>{ph}</p>");
                if html.contains(&block) {
                    *html = html.replacen(&block, out, 1);
                } else if let Some(split) = split_paragraph(html, &ph, out) {
                    *html = split;
                } else {
                    *html = html.replacen(&ph, out, 1);
                }
            }
        };
        put_back(&mut rendered.html_in_memory);
        if let Some(s) = &mut rendered.summary {
            put_back(s);
        }
        rendered.word_count = rendered.word_count.saturating_sub(extracted.calls.len());
    }
    if errors.is_empty() {
        Ok(rendered)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod split_tests {
    use super::split_paragraph;

    #[test]
    fn a_block_shortcode_in_a_paragraph_splits_it() {
        let ph = "PH0";
        let fig = "<figure>f</figure>";
        assert_eq!(split_paragraph("<p>Look at PH0</p>\n", ph, fig).unwrap(), "<p>Look at </p><figure>f</figure>\n");
        assert_eq!(
            split_paragraph("<p>A <em>b</em> PH0.</p>", ph, fig).unwrap(),
            "<p>A <em>b</em> </p><figure>f</figure><p>.</p>"
        );
        // Inside an inline element, or an inline output: left as it is.
        assert_eq!(split_paragraph("<p>A <em>PH0</em></p>", ph, fig), None);
        assert_eq!(split_paragraph("<p>A PH0</p>", ph, "<a href=x>b</a>"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_nesting_is_bounded_with_its_line() {
        assert_eq!(too_deep("text\n> quote\n> > nested\n- a\n  - b\n"), None);
        let quotes = format!("ok\n\n{} deep\n", ">".repeat(MAX_BLOCK_NESTING + 1));
        assert_eq!(too_deep(&quotes), Some((3, MAX_BLOCK_NESTING + 1)));
        let spaced = format!("{}x\n", "> ".repeat(MAX_BLOCK_NESTING + 1));
        assert_eq!(too_deep(&spaced), Some((1, MAX_BLOCK_NESTING + 1)));
        assert_eq!(too_deep(&format!("{}x\n", "> ".repeat(MAX_BLOCK_NESTING))), None);
        let lists: String = (0..150).map(|i| format!("{}- item\n", "  ".repeat(i))).collect();
        assert_eq!(too_deep(&lists).map(|(l, _)| l), Some(101));
        // Indented code inside a fence is code, not nesting.
        let code = format!("```\n{}x\n```\n", " ".repeat(400));
        assert_eq!(too_deep(&code), None);
        assert_eq!(too_deep("1. one\n   2. two\n"), None);
    }
}
