//! One page's body: shortcodes out, Markdown to HTML, shortcodes rendered back in.
//!
//! In: a parsed content file and the Markdown context. Out: its [`Rendered`] body, or every
//! problem with file, line and column. Never reads the disk.

use crate::render::markdown::{self, MdContext};
use crate::render::shortcodes;
use crate::site::body::Rendered;
use crate::site::content::{diag_path, Parsed};
use crate::util::diag::Diagnostic;

/// Renders one body: shortcodes out, Markdown to HTML, shortcodes back in.
/// `shortcode` renders one call (its name, arguments and body) to HTML, or says what is wrong.
pub fn render_body(
    src: &Parsed,
    cx: &MdContext,
    shortcode: &(dyn Fn(&shortcodes::Call) -> Result<String, String> + Sync),
) -> Result<Rendered, Vec<Diagnostic>> {
    let file = diag_path(&src.rel);
    let line_in_file = |l: usize| l + src.body_line - 1;
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
                } else {
                    *html = html.replacen(&ph, out, 1);
                }
            }
        };
        put_back(&mut rendered.html);
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
