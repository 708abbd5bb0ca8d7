//! Small text helpers shared by content, templates and output: slugs, escaping, line numbers.
//! Pure functions, no IO.

/// A URL-safe slug: lower case ASCII, words joined by `-` (`Café crème` → `cafe-creme`).
pub fn slugify(s: &str) -> String {
    let s = slug::slugify(s);
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
    (line, col)
}

/// Title-cases a file or folder name for implicit titles (`my-trip` → `My trip`).
pub fn humanize(name: &str) -> String {
    let s = name.replace(['-', '_'], " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Café crème & Co"), "cafe-creme-co");
        assert_eq!(slugify("Hello World"), "hello-world");
        assert_eq!(slugify("!!!"), "_");
    }

    #[test]
    fn lines() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
