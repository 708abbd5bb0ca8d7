//! Reserved names: a site or theme file whose CSS, JavaScript or markup names the platform's
//! elements (`sopixi-…`, `sopixi_…`, `data-sopixi…`, in any letter case) is an error at its line
//! and column. These names exist only to be the platform's: a file that writes one targets the
//! badge, the notice or the gate, so the verdict is certain.
//!
//! In: a file's text and its kind. Out: where each reserved name is. Pure: no IO.
//!
//! What is looked at: in CSS, everything but comments; in JavaScript, everything but comments
//! (strings are kept: that is where selectors are); in HTML (templates, static pages, SVG), the
//! inside of tags (names and attribute values) and the contents of `<style>` and `<script>`,
//! not the text a page shows. A name built at run time (`'sopi' + 'xi-'`) is not found here:
//! the shadow roots, the top layer and the repairs of `platform.js` hold against it, and
//! `sopixi check --browser` sees the result.

use crate::util::diag::{Diagnostic, Kind};

/// The kind of text a file holds, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Css,
    Js,
    Html,
}

impl Lang {
    /// The kind of a file by its name; `None` for files that cannot style or script a page.
    pub(crate) fn of(path: &str) -> Option<Lang> {
        let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "css" => Some(Lang::Css),
            "js" | "mjs" | "cjs" => Some(Lang::Js),
            "html" | "htm" | "svg" | "xhtml" => Some(Lang::Html),
            _ => None,
        }
    }
}

/// One reserved name found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (bytes from the start of the line).
    pub(crate) column: u32,
    /// The name as written (`#sopixi-platform`, `data-sopixi-badge` …), up to its end.
    pub name: String,
}

/// Every reserved name in `text`, read as `lang`.
pub(crate) fn scan(lang: Lang, text: &str) -> Vec<Hit> {
    // Nothing to do for the (almost every) file that does not hold the word.
    if !contains_word(text.as_bytes()) {
        return Vec::new();
    }
    let mut live = vec![false; text.len()];
    match lang {
        Lang::Css => mark_code(text, 0, text.len(), false, &mut live),
        Lang::Js => mark_code(text, 0, text.len(), true, &mut live),
        Lang::Html => mark_html(text, &mut live),
    }
    find(text, &live)
}

/// The reserved names of one file as errors at their places, for the build.
pub(crate) fn diagnostics(origin: &str, lang: Lang, text: &str) -> Vec<Diagnostic> {
    scan(lang, text)
        .into_iter()
        .map(|h| {
            Diagnostic::new(origin, format!("`{}` names a platform element: the name is reserved", h.name))
                .at(Some(h.line as usize), Some(h.column as usize))
                .kind(Kind::Platform)
                .hint("the Sopixi badge, cookie notice and age gate may not be styled, scripted or imitated by a site or theme; remove this rule or rename it")
        })
        .collect()
}

fn contains_word(b: &[u8]) -> bool {
    memchr::memchr2_iter(b'x', b'X', b).any(|i| i >= 4 && b[i - 4..i].eq_ignore_ascii_case(b"sopi"))
}

/// Reserved names in the bytes marked live.
fn find(text: &str, live: &[bool]) -> Vec<Hit> {
    let b = text.as_bytes();
    let mut hits = Vec::new();
    let mut i = 0;
    while i + 6 <= b.len() {
        if !(live[i] && b[i..i + 6].eq_ignore_ascii_case(b"sopixi")) {
            i += 1;
            continue;
        }
        let after = b.get(i + 6).copied();
        let data = i >= 5 && b[i - 5..i].eq_ignore_ascii_case(b"data-");
        if data || matches!(after, Some(b'-' | b'_')) {
            let start = if data { i - 5 } else { i };
            let start = if start > 0 && matches!(b[start - 1], b'#' | b'.') { start - 1 } else { start };
            let end =
                i + 6 + b[i + 6..].iter().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')).count();
            let (line, column) = crate::util::text::line_col(text, start);
            hits.push(Hit { line: line as u32, column: column as u32, name: text[start..end].to_string() });
            i = end;
        } else {
            i += 6;
        }
    }
    hits
}

/// Marks `text[from..to]` live except comments (`/* */`, and `//` in JavaScript); strings are
/// live. JavaScript's regular expression literals are read as code, which at worst finds a name
/// written in one.
fn mark_code(text: &str, from: usize, to: usize, js: bool, live: &mut [bool]) {
    let b = text.as_bytes();
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < to {
        let c = b[i];
        if let Some(q) = quote {
            live[i] = true;
            if c == b'\\' {
                if i + 1 < to {
                    live[i + 1] = true;
                }
                i += 2;
                continue;
            }
            if c == q || (c == b'\n' && q != b'`') {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') && i + 1 < to {
            let end = memchr::memmem::find(&b[i + 2..to], b"*/").map_or(to, |e| i + 2 + e + 2);
            i = end;
            continue;
        }
        if js && c == b'/' && b.get(i + 1) == Some(&b'/') && i + 1 < to {
            i = memchr::memchr(b'\n', &b[i..to]).map_or(to, |e| i + e);
            continue;
        }
        if c == b'"' || c == b'\'' || (js && c == b'`') {
            quote = Some(c);
        }
        live[i] = true;
        i += 1;
    }
}

/// Marks the inside of tags live, and the contents of `<style>` (as CSS) and `<script>` (as
/// JavaScript); text and comments stay dead.
fn mark_html(text: &str, live: &mut [bool]) {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(lt) = memchr::memchr(b'<', &b[i..]).map(|e| i + e) {
        if b[lt..].starts_with(b"<!--") {
            i = memchr::memmem::find(&b[lt + 4..], b"-->").map_or(b.len(), |e| lt + 4 + e + 3);
            continue;
        }
        // The tag runs to the first `>` outside a quoted attribute value.
        let mut j = lt + 1;
        let mut quote: Option<u8> = None;
        while j < b.len() {
            match (quote, b[j]) {
                (Some(q), c) if c == q => quote = None,
                (None, b'"' | b'\'') => quote = Some(b[j]),
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        for l in live.iter_mut().take(j.min(b.len())).skip(lt) {
            *l = true;
        }
        let name: String =
            text[lt + 1..j.min(b.len())].chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>();
        let name = name.to_ascii_lowercase();
        i = (j + 1).min(b.len());
        if name == "style" || name == "script" {
            let close = format!("</{name}");
            let end = find_ci(&b[i..], close.as_bytes()).map_or(b.len(), |e| i + e);
            mark_code(text, i, end, name == "script", live);
            i = end;
        }
    }
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(lang: Lang, text: &str) -> Vec<(u32, u32, String)> {
        scan(lang, text).into_iter().map(|h| (h.line, h.column, h.name)).collect()
    }

    #[test]
    fn css_selectors_are_found_with_their_place_comments_are_not() {
        let css = "/* #sopixi-platform in a comment */\nbody{margin:0}\n  #sopixi-platform { display:none }\n[DATA-SOPIXI-BADGE]{opacity:0}\n.Sopixi_x{}\n";
        assert_eq!(
            names(Lang::Css, css),
            vec![
                (3, 3, "#sopixi-platform".to_string()),
                (4, 2, "DATA-SOPIXI-BADGE".to_string()),
                (5, 1, ".Sopixi_x".to_string())
            ]
        );
        assert!(names(Lang::Css, "a::after{content:\"Made with Sopixi\"}").is_empty(), "the bare word is not a name");
    }

    #[test]
    fn js_strings_count_comments_do_not() {
        let js = "// document.getElementById('sopixi-platform')\nconst u = 'https://sopixi.com/';\n/* sopixi-x */ document.querySelector(\"[data-sopixi-badge]\").remove();\nlet t = `x ${1} sopixi-gate`;\n";
        assert_eq!(
            names(Lang::Js, js),
            vec![(3, 41, "data-sopixi-badge".to_string()), (4, 17, "sopixi-gate".to_string())]
        );
    }

    #[test]
    fn html_tags_styles_and_scripts_count_page_text_does_not() {
        let html = "<p>About sopixi-platform, the word in text.</p>\n<!-- <div id=\"sopixi-platform\"> -->\n<div class=\"sopixi-badge\">x</div>\n<style>\n#sopixi-age-gate{display:none}\n</style><script>/* sopixi-x */ x('sopixi-y')</script><sopixi-badge></sopixi-badge>";
        let found = names(Lang::Html, html);
        assert_eq!(
            found,
            vec![
                (3, 13, "sopixi-badge".to_string()),
                (5, 1, "#sopixi-age-gate".to_string()),
                (6, 35, "sopixi-y".to_string()),
                (6, 55, "sopixi-badge".to_string()),
                (6, 70, "sopixi-badge".to_string()),
            ]
        );
        assert!(names(Lang::Html, "<a href=\"https://sopixi.com/\">Sopixi</a>").is_empty());
    }

    #[test]
    fn kinds_come_from_extensions() {
        assert_eq!(Lang::of("css/site.CSS"), Some(Lang::Css));
        assert_eq!(Lang::of("a.mjs"), Some(Lang::Js));
        assert_eq!(Lang::of("logo.svg"), Some(Lang::Html));
        assert_eq!(Lang::of("photo.jpg"), None);
    }
}
