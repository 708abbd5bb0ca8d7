//! Minification of HTML (with its inline CSS and JS), CSS and JS files, with minify-html.
//!
//! In: bytes of a file and its extension. Out: smaller bytes that mean the same. Runs last, after
//! compliance injection. Pages go through minify-html's one-pass minifier (2.3× faster than the
//! DOM-based one on our pages, same size); a page it refuses (mismatched tags) goes through the
//! DOM-based minifier, which accepts anything. Optional closing tags (`</li>`, `</body>` …) are
//! omitted, as HTML allows.

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

/// Minifies an HTML document.
pub fn html(input: &[u8]) -> Vec<u8> {
    let fast = minify_html_onepass::Cfg { minify_css: true, minify_js: true };
    match minify_html_onepass::copy(input, &fast) {
        Ok(out) => out,
        Err(_) => minify_html::minify(input, &cfg()),
    }
}

/// Minifies a stand-alone CSS or JS file by running it through the same minifier as inline code;
/// returns the input unchanged for other extensions or when wrapping would be ambiguous.
pub fn asset(ext: &str, input: &[u8]) -> Option<Vec<u8>> {
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
    use super::*;

    #[test]
    fn html_css_js() {
        let out =
            html(b"<html><head><title>x</title></head><body>\n\n  <p>hello   world</p>\n<!-- c --></body></html>");
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("<p>hello world"), "{s}");
        assert!(!s.contains("<!--"));
        // Malformed HTML is still minified (by the DOM-based minifier).
        let s = String::from_utf8(html(b"<div>\n  <p>unclosed <b>bold</p>\n</div>")).unwrap();
        assert!(s.contains("<p>unclosed <b>bold"), "{s}");
        assert!(!s.contains('\n'), "{s}");
        let css = asset("css", b"body {  color : red ;  }\n").unwrap();
        assert_eq!(String::from_utf8(css).unwrap(), "body{color:red}");
        let js = asset("js", b"function  f ( a ) {\n  return a + 1 ;\n}\n").unwrap();
        assert!(js.len() < 30, "{}", String::from_utf8_lossy(&js));
        assert!(asset("txt", b"x").is_none());
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
                &minify_html_onepass::Cfg { minify_css: true, minify_js: true },
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
