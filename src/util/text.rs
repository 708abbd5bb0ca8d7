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

std::thread_local! {
    /// Long texts escaped inside [`with_escape_memo`] on this thread: (text, escaped).
    static MEMO: std::cell::RefCell<Option<Vec<(String, String)>>> = const { std::cell::RefCell::new(None) };
}

/// Texts shorter than this are escaped again rather than looked for in the memo.
const MEMO_MIN: usize = 256;
/// At most this many texts are kept in a memo (a feed lists 20 pages by default)…
const MEMO_MAX: usize = 256;
/// …and at most this many bytes of them, escaped or not (a theme's feed template may print
/// ever longer texts in a loop: the memo must not grow with it).
const MEMO_BYTES: usize = 16 << 20;

/// Runs `f` with [`escape_html`] keeping, on this thread, the escaped form of the long texts it
/// meets, for the rest of `f`: the RSS and Atom feeds escape the same pages' whole content, one
/// after the other (escaping was 6 % of a platform run of 20-page sites before).
pub(crate) fn with_escape_memo<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Vec<(String, String)>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            MEMO.with(|m| *m.borrow_mut() = previous);
        }
    }
    let _restore = Restore(MEMO.with(|m| m.borrow_mut().replace(Vec::new())));
    f()
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    if s.len() < MEMO_MIN {
        return escape_html_now(s);
    }
    let found = MEMO.with(|m| {
        m.borrow().as_ref().map(|memo| memo.iter().find(|(text, _)| text == s).map(|(_, escaped)| escaped.clone()))
    });
    match found {
        Some(Some(escaped)) => escaped,
        Some(None) => {
            let escaped = escape_html_now(s);
            MEMO.with(|m| {
                if let Some(memo) = m.borrow_mut().as_mut() {
                    let held: usize = memo.iter().map(|(t, e)| t.len() + e.len()).sum();
                    if memo.len() < MEMO_MAX && held + s.len() + escaped.len() <= MEMO_BYTES {
                        memo.push((s.to_string(), escaped.clone()));
                    }
                }
            });
            escaped
        }
        None => escape_html_now(s),
    }
}

fn escape_html_now(s: &str) -> String {
    // Runs of ordinary text are copied whole (feeds escape every page's HTML: this is hot); a
    // table lookup per byte finds the special ones (a fifth faster than a `match` on HTML text).
    const fn table() -> [u8; 256] {
        let mut t = [0u8; 256];
        t[b'&' as usize] = 1;
        t[b'<' as usize] = 2;
        t[b'>' as usize] = 3;
        t[b'"' as usize] = 4;
        t[b'\'' as usize] = 5;
        t
    }
    static SPECIAL: [u8; 256] = table();
    const WITH: [&[u8]; 6] = [b"", b"&amp;", b"&lt;", b"&gt;", b"&quot;", b"&#39;"];
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(s.len() + s.len() / 8 + 8);
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let k = SPECIAL[b as usize];
        if k != 0 {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(WITH[k as usize]);
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    // Only ASCII bytes were replaced, by ASCII: the text is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// 1-based line and column of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
    (line, col)
}

/// Title-cases a file or folder name for implicit titles (`my-trip` → `My trip`).
pub(crate) fn humanize(name: &str) -> String {
    let s = name.replace(['-', '_'], " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// `*` matches within a folder, `**` across folders, `?` one character.
pub(crate) fn glob(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                if p.get(2) == Some(&b'/') {
                    (0..=s.len()).filter(|&i| i == 0 || s[i - 1] == b'/').any(|i| go(&p[3..], &s[i..]))
                } else {
                    (0..=s.len()).any(|i| go(&p[2..], &s[i..]))
                }
            }
            Some(b'*') => (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != b'/').any(|i| go(&p[1..], &s[i..])),
            Some(b'?') => s.first().is_some_and(|c| *c != b'/') && go(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

/// `#rgb` / `#rrggbb` → (r, g, b).
pub(crate) fn hex_rgb(s: &str) -> Option<(u8, u8, u8)> {
    let h = s.strip_prefix('#')?;
    if !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = |i: usize, n: usize| u8::from_str_radix(&h[i..i + n], 16).ok();
    match h.len() {
        3 => Some((v(0, 1)? * 17, v(1, 1)? * 17, v(2, 1)? * 17)),
        6 => Some((v(0, 2)?, v(2, 2)?, v(4, 2)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character_and_keeps_the_rest() {
        assert_eq!(escape_html("a<b>&\"c'd"), "a&lt;b&gt;&amp;&quot;c&#39;d");
        assert_eq!(escape_html("café — <é>"), "café — &lt;é&gt;");
        assert_eq!(escape_html(""), "");
        assert_eq!(escape_html("plain"), "plain");
        assert_eq!(escape_html("&"), "&amp;");
    }

    #[test]
    fn escaping_in_a_memo_gives_the_same_text_and_leaves_no_memo_behind() {
        let long = format!("<p class=\"x\">{}</p>", "l'été & <b>".repeat(100));
        let other = format!("{long}!");
        let plain = escape_html(&long);
        let (a, b, c) = with_escape_memo(|| (escape_html(&long), escape_html(&other), escape_html(&long)));
        assert_eq!(a, plain);
        assert_eq!(c, plain);
        assert_eq!(b, format!("{plain}!"));
        assert!(MEMO.with(|m| m.borrow().is_none()));
        // Bounded in bytes: texts past the limit are escaped, not kept.
        let big = "<".repeat(MEMO_BYTES / 4);
        with_escape_memo(|| {
            assert_eq!(escape_html(&big).len(), big.len() * 4);
            assert_eq!(escape_html(&big).len(), big.len() * 4);
            assert_eq!(MEMO.with(|m| m.borrow().as_ref().map(Vec::len)), Some(0));
        });
        // Nested: the inner memo is dropped and the outer one is back.
        with_escape_memo(|| {
            escape_html(&long);
            with_escape_memo(|| assert_eq!(escape_html(&other), format!("{plain}!")));
            assert_eq!(MEMO.with(|m| m.borrow().as_ref().map(Vec::len)), Some(1));
        });
    }

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

/// What [`percent_decode`] does with a `%` not followed by two hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Keep it as it is (a file name may hold a `%`).
    Keep,
    /// Refuse the whole text (`None`): a URL path with a broken escape names no file.
    Refuse,
}

/// `%XX` escapes decoded into bytes.
pub fn percent_decode(s: &str, malformed: Malformed) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while i < b.len() {
        match (b[i], b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'%', ..) if malformed == Malformed::Refuse => return None,
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// A byte count for people, in SI units: `7.3 MB` (the units of the platform's quotas).
pub fn human_bytes(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{:.1} GB", n as f64 / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{:.1} kB", n as f64 / 1e3)
    } else {
        format!("{n} bytes")
    }
}

/// `a/./b/../c` → `a/c`; `None` when `..` climbs above the start.
pub fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split(['/', '\\']) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Whether a configured relative path leads outside the site (absolute, or climbing out).
pub fn escapes(path: &str) -> bool {
    path.starts_with('/') || path.contains(':') || normalize(path).is_none_or(|p| p.is_empty())
}
