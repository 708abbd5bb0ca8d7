//! Minification of HTML (with its inline CSS and JS), CSS and JS files, with minify-html.
//!
//! In: bytes of a file and its extension. Out: smaller bytes that mean the same. Runs last, after
//! compliance injection. Pages go through minify-html's one-pass minifier (2.3× faster than the
//! DOM-based one on our pages, same size); a page it refuses (mismatched tags) goes through the
//! DOM-based minifier, which accepts anything. Optional closing tags (`</li>`, `</p>` …) are
//! omitted, as HTML allows, but for `</head>` and `</body></html>`, which Pagefind and link checkers
//! look for.

use minify_html::Cfg;

fn cfg() -> Cfg {
    Cfg {
        keep_closing_tags: true,
        keep_html_and_head_opening_tags: true,
        minify_css: true,
        minify_js: true,
        keep_comments: false,
        ..Cfg::default()
    }
}

/// The deepest nesting of HTML elements a page may have (both minifiers recurse once per level:
/// a hostile page of 20,000 nested elements overflowed the stack and aborted the process; the
/// patched one-pass minifier also grows its stack on the heap when it runs low).
pub(crate) const MAX_DEPTH: usize = minify_html_onepass::MAX_DEPTH;

/// A page whose elements nest deeper than `MAX_DEPTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep;

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "its HTML elements nest more than {MAX_DEPTH} deep")
    }
}

/// Minifies an HTML document. A page the one-pass minifier refuses for its nesting is an error;
/// one it refuses for anything else (mismatched tags) goes through the DOM-based minifier, or,
/// if it may nest too deep for that one, is left as it is.
pub fn html(input: &[u8]) -> Result<Vec<u8>, TooDeep> {
    let fast = minify_html_onepass::Cfg { minify_css: true, minify_js: true, valid_html: true };
    match minify_html_onepass::copy(input, &fast) {
        Ok(out) => Ok(keep_body_end(input, out)),
        Err(e) if matches!(e.error_type, minify_html_onepass::ErrorType::TooDeep(_)) => Err(TooDeep),
        Err(_) if rough_depth(input) > MAX_DEPTH => Ok(input.to_vec()),
        // The DOM minifier panics on an attribute value that is not UTF-8 (found by fuzzing:
        // minify-html 0.18.1, `minify/attr.rs`); such a page is left as it is.
        Err(_) if std::str::from_utf8(input).is_err() => Ok(input.to_vec()),
        Err(_) => Ok(minify_html::minify(input, &cfg())),
    }
}

/// Puts back the `</head>` before `<body>` and the `</body></html>` at the end that the minifier
/// leaves out of a page that had them: HTML allows omitting them, but tools people run on static
/// sites do not all follow the rules that allow it (Pagefind indexes no page without `</head>`;
/// some link checkers look for `</body>`). 21 bytes a page.
fn keep_body_end(input: &[u8], mut out: Vec<u8>) -> Vec<u8> {
    // Every page goes through here: each look is bounded (the head's end before `<body>`, the
    // body's end in the last bytes) rather than a scan of the whole page.
    let has = |b: &[u8], tag: &[u8]| memchr::memmem::find(b, tag).is_some();
    if let Some(at) = body_tag(&out) {
        let head_in = body_tag(input).map_or(input, |i| &input[..i]);
        if !has(&out[..at], b"</head>") && has(head_in, b"</head>") {
            out.splice(at..at, b"</head>".iter().copied());
        }
    }
    if has(&out[out.len().saturating_sub(64)..], b"</body>") || memchr::memmem::rfind(input, b"</body>").is_none() {
        return out;
    }
    let tail = out.len().saturating_sub(7);
    if out[tail..].eq_ignore_ascii_case(b"</html>") {
        out.truncate(tail);
    }
    out.extend_from_slice(b"</body></html>");
    out
}

/// Where the `<body>` start tag is: the first `<body` followed by `>` or a space, after a tag,
/// outside any script or style.
fn body_tag(html: &[u8]) -> Option<usize> {
    for at in memchr::memmem::find_iter(html, b"<body") {
        let next = html.get(at + 5).copied();
        let after_tag = at == 0 || html[at - 1] == b'>';
        if !after_tag || !matches!(next, Some(b'>' | b' ')) {
            continue;
        }
        let before = &html[..at];
        let open = |t: &[u8]| memchr::memmem::find_iter(before, t).count();
        if open(b"<script") == open(b"</script") && open(b"<style") == open(b"</style") {
            return Some(at);
        }
    }
    None
}

/// An upper bound of how deep the elements of `html` nest: every start tag but void ones opens a
/// level, every end tag closes one (unclosed `<p>` and `<li>` count as open, so it only errs high).
fn rough_depth(html: &[u8]) -> usize {
    const VOID: &[&[u8]] = &[
        b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta", b"source", b"track",
        b"wbr",
    ];
    let (mut depth, mut max) = (0usize, 0usize);
    for i in memchr::memchr_iter(b'<', html) {
        match html.get(i + 1) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                let name: Vec<u8> = html[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .map(u8::to_ascii_lowercase)
                    .collect();
                if !VOID.contains(&name.as_slice()) {
                    depth += 1;
                    max = max.max(depth);
                }
            }
            _ => {}
        }
    }
    max
}

/// Minifies a stand-alone CSS or JS file by running it through the same minifier as inline code;
/// returns the input unchanged for other extensions or when wrapping would be ambiguous.
pub(crate) fn asset(ext: &str, input: &[u8]) -> Option<Vec<u8>> {
    let (open, close): (&[u8], &[u8]) = match ext {
        "css" => (b"<style>", b"</style>"),
        "js" => (b"<script>", b"</script>"),
        _ => return None,
    };
    if input.windows(close.len()).any(|w| w.eq_ignore_ascii_case(close)) {
        return None;
    }
    let mut wrapped = Vec::with_capacity(input.len() + 20);
    wrapped.extend_from_slice(open);
    wrapped.extend_from_slice(input);
    wrapped.extend_from_slice(close);
    let out = minify_html::minify(&wrapped, &cfg());
    let inner = out.strip_prefix(open)?.strip_suffix(close)?;
    Some(inner.to_vec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_keep_their_head_end_and_body_end_for_other_tools() {
        let page = b"<!DOCTYPE html><html lang=\"en\"><head><title>T</title><script>var s = '<body >';</script></head>\n<body class=\"x\"><p>Hello</p></body></html>";
        let out = String::from_utf8(html(page).unwrap()).unwrap();
        assert!(out.contains("</script></head><body class=x>"), "{out}");
        assert!(out.ends_with("</body></html>"), "{out}");
        assert_eq!(out.matches("</head>").count(), 1, "{out}");
        // A fragment without them gets none.
        let frag = String::from_utf8(html(b"<p>Hello</p>").unwrap()).unwrap();
        assert!(!frag.contains("</head>") && !frag.contains("</body>"), "{frag}");
    }

    use super::*;

    #[test]
    fn a_broken_page_with_bytes_that_are_not_utf8_in_a_style_is_left_as_it_is() {
        // Found by fuzzing (benches/fuzz, target `html`): the DOM minifier, which takes the pages
        // the one-pass one refuses (here for the stray `</span>`), panicked on this.
        let page = b"<!DOCTYPE html><html><body><div style=\"background:url('a\xa3r')\">x</div></span></body></html>";
        assert!(minify_html_onepass::copy(page, &minify_html_onepass::Cfg::default()).is_err());
        assert_eq!(html(page).unwrap(), page.to_vec());
    }

    #[test]
    fn a_style_element_whose_bytes_are_not_utf8_is_kept_as_it_is() {
        // Found by fuzzing: the one-pass minifier handed these bytes to the CSS minifier as a
        // string unchecked, which panicked (and was undefined behaviour).
        let page = b"<!DOCTYPE html><html><head><style>a{content:\"x\x8cy\"}</style></head><body>x";
        let out = html(page).unwrap();
        assert!(out.windows(12).any(|w| w == b"content:\"x\x8cy"), "{}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn html_css_js() {
        let out =
            html(b"<html><head><title>x</title></head><body>\n\n  <p>hello   world</p>\n<!-- c --></body></html>")
                .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("<p>hello world"), "{s}");
        assert!(!s.contains("<!--"));
        // Malformed HTML is still minified (by the DOM-based minifier).
        let s = String::from_utf8(html(b"<div>\n  <p>unclosed <b>bold</p>\n</div>").unwrap()).unwrap();
        assert!(s.contains("<p>unclosed <b>bold"), "{s}");
        assert!(!s.contains('\n'), "{s}");
        let css = asset("css", b"body {  color : red ;  }\n").unwrap();
        assert_eq!(String::from_utf8(css).unwrap(), "body{color:red}");
        let js = asset("js", b"function  f ( a ) {\n  return a + 1 ;\n}\n").unwrap();
        assert!(js.len() < 30, "{}", String::from_utf8_lossy(&js));
        assert!(asset("txt", b"x").is_none());
    }

    /// Both minifiers recurse once per level of nesting: a page nested deeper than the limit is
    /// refused (or, when malformed, left as it is) instead of overflowing the stack.
    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = |n: usize, close: bool| {
            let mut s = "<div>".repeat(n) + "x";
            if close {
                s += &"</div>".repeat(n);
            }
            s.into_bytes()
        };
        assert!(html(&deep(MAX_DEPTH - 2, true)).is_ok());
        assert_eq!(html(&deep(20_000, true)), Err(TooDeep));
        assert_eq!(html(&"<em>".repeat(20_000).into_bytes()), Err(TooDeep));
        // Malformed first (the one-pass minifier stops there), deep after: kept as it is.
        let mut bad = b"<p>x</b>".to_vec();
        bad.extend(deep(20_000, false));
        assert_eq!(html(&bad).unwrap(), bad);
        assert_eq!(rough_depth(b"<p><br><img src=x><b>y</b></p>"), 2);
    }

    /// Pages are written as the HTML spec (and the W3C Nu checker) wants: values with `=` or
    /// quotes stay quoted, and quoted values keep their separating space.
    #[test]
    fn pages_come_out_valid() {
        let out =
            html(b"<a href=\"/x.css?v=1\" class=\"a\" title=\"it's\" id=\"plain\">l</a><img alt=\"\" src=\"p.jpg\">")
                .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<a href=\"/x.css?v=1\" class=a title=\"it's\" id=plain>l</a><img alt src=p.jpg>"
        );
        let out = html(b"<meta name=\"description\" content=\"\"><p>x</p>").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "<meta name=description content><p>x");
    }

    /// The fast paths of the patched one-pass minifier (vendor/minify-html-onepass/SOPIXI.md):
    /// text runs with single spaces, attribute values copied in runs and left in place when
    /// nothing needs encoding. Each expected output is what upstream 0.18.1 writes for the input.
    #[test]
    fn patched_minifier_writes_what_upstream_writes() {
        let cases: [(&str, &str); 6] = [
            (
                "<p>one two  three\tfour\nfive &amp; six <b>bold</b> seven &lt;tag&gt; 1 < 2 and x</p>",
                "<p>one two three four five & six <b>bold</b> seven &LTtag> 1 < 2 and x",
            ),
            (
                "<pre>  keep   this\n  as is </pre><textarea>  a  b </textarea>",
                "<pre>  keep   this\n  as is </pre><textarea>  a  b </textarea>",
            ),
            (
                "<a href=\"x y\" title=' a  b ' class=\"k\">l</a><a href='q\"'>q</a><a href=\"plain\">p</a>",
                "<a href=\"x y\"title=\" a  b \"class=k>l</a><a href=q\">q</a><a href=plain>p</a>",
            ),
            (
                "<img alt=\"&quot;quoted&quot;\" src=x.png><input value=\"a&amp;b c\"><p title=a&quot;b>t</p>",
                "<img alt='\"quoted\"'src=x.png><input value=\"a&b c\"><p title=a\"b>t",
            ),
            (
                "<a href=\"&#34;x\">s</a><a title=\"1 > 0\">g</a><a class=\" hl-source  hl-rust \">c</a>",
                "<a href='\"x'>s</a><a title=\"1 > 0\">g</a><a class=\"hl-source hl-rust\">c</a>",
            ),
            (
                "<p>é ü<span> x </span> y</p><ul> <li> a </li> <li>b</li> </ul>",
                "<p>é ü<span> x </span> y<ul><li>a<li>b</ul>",
            ),
        ];
        for (input, expected) in cases {
            let out = minify_html_onepass::copy(
                input.as_bytes(),
                &minify_html_onepass::Cfg { minify_css: true, minify_js: true, valid_html: false },
            )
            .unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected, "input: {input:?}");
        }
    }

    /// The patched minifier skips the closing-tag omission table for tags it knows have no rule:
    /// it must answer as the table does for every pair of HTML elements (and the root).
    #[test]
    fn omission_prefilter_agrees_with_the_table() {
        let names: Vec<&[u8]> = "a abbr address area article aside audio b base bdi bdo blockquote body br button \
             canvas caption cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed \
             fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img \
             input ins kbd label legend li link main map mark menu meta meter nav noscript object ol optgroup \
             option output p param picture pre progress q rp rt ruby s samp script search section select slot \
             small source span strong style sub summary sup table tbody td template textarea tfoot th thead \
             time title tr track u ul var video wbr svg math"
            .split_whitespace()
            .map(str::as_bytes)
            .chain([&b""[..]])
            .collect();
        minify_html_onepass::sopixi_check_omission_prefilter(&names).unwrap();
    }
}
