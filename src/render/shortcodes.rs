//! Shortcodes: Tera templates under `templates/shortcodes/` called from Markdown.
//!
//! Inline: `{{ video(src="clip.mp4", caption="Our shop") }}`.
//! With a body: `{% button(href="https://…") %}Book a table{% end %}`.
//! In: Markdown text. Out: the text with each call replaced by a placeholder that survives Markdown
//! rendering, the parsed calls, and a map back to the original lines. Calls inside code (fenced
//! blocks, backtick spans) are left alone. Rendering the calls is the caller's business.

use serde_json::{Map, Number, Value};

/// One shortcode call found in Markdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Shortcode name (`figure` → `shortcodes/figure.html`).
    pub name: String,
    /// Named arguments.
    pub args: Map<String, Value>,
    /// The text between `{% name() %}` and `{% end %}`, for block calls.
    pub body: Option<String>,
    /// 1-based line of the call inside the original text.
    pub line: usize,
    /// 1-based column of the call.
    pub(crate) column: usize,
}

/// A syntax error in a call, with its position in the original text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub(crate) column: usize,
    /// What is wrong.
    pub message: String,
}

/// Markdown with shortcodes taken out.
#[derive(Debug, Default)]
pub struct Extracted {
    /// The text with placeholders.
    pub text: String,
    /// The calls, in order; call `i` is behind `placeholder``(i)`.
    pub calls: Vec<Call>,
    /// `(offset in text, newlines removed before it)`: maps offsets back to original lines.
    pub(crate) line_shifts: Vec<(usize, usize)>,
}

impl Extracted {
    /// Original 1-based line of byte `offset` of the extracted text.
    pub(crate) fn original_line(&self, offset: usize) -> usize {
        let (line, _) = crate::util::text::line_col(&self.text, offset);
        let shift = self.line_shifts.iter().take_while(|(o, _)| *o <= offset).last().map_or(0, |(_, s)| *s);
        line + shift
    }
}

/// The placeholder standing for call `i`: letters and digits only, so Markdown leaves it whole.
pub(crate) fn placeholder(i: usize) -> String {
    format!("SOPIXISHORTCODE{i}X")
}

/// Takes the shortcode calls out of `text`.
pub(crate) fn extract(text: &str) -> Result<Extracted, SyntaxError> {
    let bytes = text.as_bytes();
    let mut out = Extracted { text: String::with_capacity(text.len()), ..Default::default() };
    if !text.contains("{{") && !text.contains("{%") {
        out.text.push_str(text);
        return Ok(out);
    }
    let mut i = 0;
    let mut copied = 0;
    let mut removed_lines = 0;
    let mut at_line_start = true;
    let mut fence: Option<(u8, usize)> = None;
    let mut in_span = false;
    while i < bytes.len() {
        let b = bytes[i];
        if at_line_start {
            let line_end = text[i..].find('\n').map_or(text.len(), |n| i + n);
            let line = text[i..line_end].trim_start();
            let fc = line.bytes().next().unwrap_or(0);
            if fc == b'`' || fc == b'~' {
                let run = line.bytes().take_while(|c| *c == fc).count();
                if run >= 3 {
                    match fence {
                        None => fence = Some((fc, run)),
                        Some((c, n)) if c == fc && run >= n && line[run..].trim().is_empty() => fence = None,
                        _ => {}
                    }
                    i = line_end;
                    at_line_start = false;
                    continue;
                }
            }
            if line.is_empty() {
                in_span = false;
            }
            at_line_start = false;
        }
        if b == b'\n' {
            at_line_start = true;
            i += 1;
            continue;
        }
        if fence.is_some() {
            i += 1;
            continue;
        }
        if b == b'`' {
            let run = bytes[i..].iter().take_while(|c| **c == b'`').count();
            in_span = !in_span;
            i += run;
            continue;
        }
        if !in_span && b == b'{' && i + 1 < bytes.len() && (bytes[i + 1] == b'{' || bytes[i + 1] == b'%') {
            let block = bytes[i + 1] == b'%';
            if let Some(parsed) = parse_call(text, i, block)? {
                let (line, column) = crate::util::text::line_col(text, i);
                let (mut call, mut end) = parsed;
                call.line = line;
                call.column = column;
                if block {
                    let Some((body_end, after)) = find_end(text, end) else {
                        return Err(SyntaxError {
                            line,
                            column,
                            message: format!("shortcode `{}` has no `{{% end %}}`", call.name),
                        });
                    };
                    call.body = Some(text[end..body_end].to_string());
                    end = after;
                }
                out.text.push_str(&text[copied..i]);
                out.text.push_str(&placeholder(out.calls.len()));
                removed_lines += text[i..end].matches('\n').count();
                out.line_shifts.push((out.text.len(), removed_lines));
                out.calls.push(call);
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.text.push_str(&text[copied..]);
    Ok(out)
}

/// Finds `{% end %}` after `from`: returns (start of the tag, end of the tag).
fn find_end(text: &str, from: usize) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some(n) = text[pos..].find("{%") {
        let start = pos + n;
        let rest = &text[start + 2..];
        let inner_end = rest.find("%}")?;
        if rest[..inner_end].trim() == "end" {
            return Some((start, start + 2 + inner_end + 2));
        }
        pos = start + 2;
    }
    None
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.text[self.pos..].starts_with(|c: char| c.is_whitespace()) {
            self.pos += self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
        }
    }
    fn eat(&mut self, s: &str) -> bool {
        if self.text[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Option<&str> {
        let rest = &self.text[self.pos..];
        let n = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        if n == 0 || rest.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        self.pos += n;
        Some(&rest[..n])
    }
    fn error(&self, msg: impl Into<String>) -> SyntaxError {
        let (line, column) = crate::util::text::line_col(self.text, self.pos);
        SyntaxError { line, column, message: msg.into() }
    }
    fn value(&mut self) -> Result<Value, SyntaxError> {
        self.ws();
        let rest = &self.text[self.pos..];
        let Some(c) = rest.chars().next() else { return Err(self.error("shortcode call ends early")) };
        match c {
            '"' | '\'' => {
                let mut s = String::new();
                let mut chars = rest[1..].char_indices();
                while let Some((k, ch)) = chars.next() {
                    if ch == '\\' {
                        if let Some((_, esc)) = chars.next() {
                            s.push(match esc {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                    } else if ch == c {
                        self.pos += 1 + k + 1;
                        return Ok(Value::String(s));
                    } else {
                        s.push(ch);
                    }
                }
                Err(self.error("unclosed string in shortcode arguments"))
            }
            '[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.eat("]") {
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                    self.ws();
                    if !self.eat(",") {
                        self.ws();
                        if self.eat("]") {
                            return Ok(Value::Array(items));
                        }
                        return Err(self.error("expected `,` or `]` in a list"));
                    }
                }
            }
            _ => {
                let n = rest
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'))
                    .count();
                let word = &rest[..n];
                let v = match word {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => {
                        if let Ok(i) = word.parse::<i64>() {
                            Value::Number(i.into())
                        } else if let Some(f) = word.parse::<f64>().ok().and_then(Number::from_f64) {
                            Value::Number(f)
                        } else {
                            return Err(self.error(format!("`{word}` is not a value: quote strings, e.g. \"{word}\"")));
                        }
                    }
                };
                self.pos += n;
                Ok(v)
            }
        }
    }
}

/// Parses `{{ name(args) }}` / `{% name(args) %}` at `start`. `Ok(None)` when it is not a call.
fn parse_call(text: &str, start: usize, block: bool) -> Result<Option<(Call, usize)>, SyntaxError> {
    let mut c = Cursor { text, pos: start + 2 };
    c.ws();
    let Some(name) = c.ident().map(str::to_string) else { return Ok(None) };
    c.ws();
    if !c.eat("(") {
        return Ok(None);
    }
    if block && name == "end" {
        return Ok(None);
    }
    let mut args = Map::new();
    loop {
        c.ws();
        if c.eat(")") {
            break;
        }
        let Some(key) = c.ident().map(str::to_string) else {
            return Err(c.error(format!("expected an argument name in the call of `{name}`")));
        };
        c.ws();
        if !c.eat("=") {
            return Err(c.error(format!("expected `=` after `{key}` (arguments are named: {key}=\"…\")")));
        }
        let v = c.value()?;
        args.insert(key, v);
        c.ws();
        if !c.eat(",") {
            c.ws();
            if c.eat(")") {
                break;
            }
            return Err(c.error(format!("expected `,` or `)` in the call of `{name}`")));
        }
    }
    c.ws();
    let close = if block { "%}" } else { "}}" };
    if !c.eat(close) {
        return Err(c.error(format!("expected `{close}` to close the call of `{name}`")));
    }
    Ok(Some((Call { name, args, body: None, line: 0, column: 0 }, c.pos)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_block_calls() {
        let t = "Hi {{ video(src=\"a.mp4\", n=3, ok=true, l=[1, \"x\"]) }} there\n\n{% button(href='/x') %}Go\nnow{% end %}\nafter\n";
        let e = extract(t).unwrap();
        assert_eq!(e.calls.len(), 2);
        assert_eq!(e.calls[0].name, "video");
        assert_eq!(e.calls[0].args["src"], "a.mp4");
        assert_eq!(e.calls[0].args["n"], 3);
        assert_eq!(e.calls[1].body.as_deref(), Some("Go\nnow"));
        assert_eq!(e.calls[1].line, 3);
        assert!(e.text.contains(&placeholder(0)) && e.text.contains(&placeholder(1)));
        let after = e.text.find("after").unwrap();
        assert_eq!(e.original_line(after), 5);
    }

    #[test]
    fn code_is_left_alone() {
        let t = "```\n{{ video(src=\"a\") }}\n```\n`{{ x(a=1) }}` and {{ not a call }}\n";
        let e = extract(t).unwrap();
        assert!(e.calls.is_empty());
        assert_eq!(e.text, t);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = extract("line\n{{ video(src=a.mp4) }}").unwrap_err();
        assert_eq!(e.line, 2);
        let e = extract("{% button(href=\"x\") %}never closed").unwrap_err();
        assert!(e.message.contains("end"));
    }
}
