//! Platform compliance: the Sopixi badge, the cookie notice and, on adult pages, the age gate,
//! injected into every HTML file; and the check that an HTML file carries them.
//!
//! In: an HTML document, what the page is (language, adult) and the platform [`Policy`]. Out: the
//! document with the platform block appended to its `<body>` (or to the document when it has
//! none), the gate prepended on adult pages, a `rating` meta tag in `<head>`. Injection is
//! idempotent and goes through a streaming HTML parser (lol_html), so comments, `<script>` and
//! `<template>` contents are never mistaken for the end of the body. Pure: no IO.
//!
//! `build` gives every HTML file of the output the elements — the pre-minified block appended to
//! the minified page when [`append_if_certain`] proves that safe, else [`Injector::inject`]
//! before minification and [`check`] after it — and publishes `assets`. `sopixi check` and
//! `deploy` run [`check`] on finished files.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use lol_html::html_content::ContentType;
use lol_html::{element, end, rewrite_str, RewriteStrSettings};

/// Where the platform's own files are published in every site.
pub(crate) const ASSET_DIR: &str = "_sopixi";

/// The attribute that marks the platform block; its presence makes injection a no-op.
pub(crate) const MARKER: &str = "data-sopixi-platform";

use crate::policy::tree::{placement, Culprit, Placement};
use crate::policy::NoticeText;
pub use crate::policy::Policy;

/// The platform's own files, published under `/_sopixi/` in every site: (site path, bytes). The
/// stylesheet carries the policy's colours; the logo is the policy's when it names one.
pub(crate) fn assets(policy: &Policy) -> Vec<(String, std::borrow::Cow<'static, [u8]>)> {
    made(policy).files.clone()
}

/// The platform files of one policy and their URLs, with what they were made from.
struct Made {
    /// The policy they were made under (its other fields ignored: see [`Made::fits`]).
    under: Policy,
    files: Vec<(String, std::borrow::Cow<'static, [u8]>)>,
    urls: [String; 3],
}

impl Made {
    /// Whether these files are the ones `policy` makes: the fields [`make_assets`] reads are equal.
    fn fits(&self, policy: &Policy) -> bool {
        let u = &self.under;
        u.badge_url == policy.badge_url
            && u.badge_label == policy.badge_label
            && u.logo == policy.logo
            && u.colors == policy.colors
            && u.texts == policy.texts
    }
}

/// The platform files of `policy`, made once: every partner of a platform run has the same
/// policy, and making them for each (the script's configuration, three hashes) was a tenth of a
/// small partner's build.
fn made(policy: &Policy) -> Arc<Made> {
    static LAST: std::sync::Mutex<Option<Arc<Made>>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = last.as_ref().filter(|m| m.fits(policy)) {
        return m.clone();
    }
    let files = make_assets(policy);
    let url = |i: usize| format!("/{}?v={}", files[i].0, file_version(&files[i].1));
    let urls = [url(0), url(1), url(2)];
    let under = Policy {
        badge_url: policy.badge_url.clone(),
        badge_label: policy.badge_label.clone(),
        logo: policy.logo.clone(),
        colors: policy.colors.clone(),
        texts: policy.texts.clone(),
        ..Policy::default()
    };
    let m = Arc::new(Made { under, files, urls });
    *last = Some(m.clone());
    m
}

fn make_assets(policy: &Policy) -> Vec<(String, std::borrow::Cow<'static, [u8]>)> {
    use std::borrow::Cow;
    let c = &policy.colors;
    let mut css = format!(
        "#sopixi-platform,#sopixi-age-gate{{--sopixi-text:{};--sopixi-bg:{};--sopixi-accent:{}}}\n",
        c.text, c.background, c.accent
    )
    .into_bytes();
    css.extend_from_slice(include_bytes!("assets/platform.css"));
    let logo = match &policy.logo {
        Some((ext, bytes)) => (format!("{ASSET_DIR}/logo.{ext}"), Cow::Owned(bytes.clone())),
        None => (format!("{ASSET_DIR}/logo.svg"), Cow::Borrowed(&include_bytes!("assets/logo.svg")[..])),
    };
    let js = platform_js(policy, &logo.1);
    vec![
        logo,
        (format!("{ASSET_DIR}/platform.css"), Cow::Owned(css)),
        (format!("{ASSET_DIR}/platform.js"), Cow::Owned(js)),
    ]
}

/// The platform script with the policy's badge link, logo, colours and texts filled in: the
/// script can rebuild every element from them, even on a page that removed their markup.
fn platform_js(policy: &Policy, logo: &[u8]) -> Vec<u8> {
    let c = &policy.colors;
    let texts: serde_json::Map<String, serde_json::Value> = policy
        .texts
        .iter()
        .map(|(lang, t)| {
            let t = serde_json::json!({
                "message": t.message, "accept": t.accept, "refuse": t.refuse, "settings": t.settings,
                "age_warning": t.age_warning, "age_confirm": t.age_confirm, "label": t.badge_label,
                "providers": t.providers,
            });
            (lang.clone(), t)
        })
        .collect();
    let config = serde_json::json!({
        "url": policy.badge_url,
        "label": policy.badge_label,
        "logo": format!("{}?v={}", logo_path(policy), file_version(logo)),
        "colors": {"text": c.text, "background": c.background, "accent": c.accent},
        "texts": texts,
    });
    // JSON is a JavaScript expression; `<` is escaped so that no text can close a script.
    let config = config.to_string().replace('<', "\\u003c");
    String::from_utf8_lossy(include_bytes!("assets/platform.js")).replace("/*config*/", &config).into_bytes()
}

/// The version a file's URL carries (`?v=…`): the first 10 hex digits of the blake3 hash of its
/// bytes, as the deploy manifest records them. The file may then be cached for a year, a new
/// version reaches every browser, and the edge can serve each page the version it names.
pub fn file_version(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..10].to_string()
}

/// The URL of each platform file under `policy`, with its version: (logo, stylesheet, script).
fn asset_urls(policy: &Policy) -> [String; 3] {
    made(policy).urls.clone()
}

/// The site path of the badge's logo under `policy`.
pub(crate) fn logo_path(policy: &Policy) -> String {
    let ext = policy.logo.as_ref().map_or("svg", |(e, _)| e.as_str());
    format!("/{ASSET_DIR}/logo.{ext}")
}

/// A way an HTML file breaks the platform's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// No badge link to the platform.
    MissingBadge,
    /// The badge (or the block holding it) is hidden by an inline style or the `hidden` attribute.
    HiddenBadge,
    /// No cookie notice.
    MissingNotice,
    /// An adult page without the age gate or the `rating` meta tag.
    MissingAgeGate,
    /// The file could not be read as text.
    Unreadable(String),
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Violation::MissingBadge => "the Sopixi badge link is missing",
            Violation::HiddenBadge => "the Sopixi badge is hidden",
            Violation::MissingNotice => "the cookie notice is missing",
            Violation::MissingAgeGate => "this adult page has no age gate",
            Violation::Unreadable(e) => return write!(f, "cannot be read: {e}"),
        })
    }
}

/// Whether an inline `style` certainly hides its element (or takes it out of sight): `display:
/// none`, `visibility: hidden`, zero opacity or size, `content-visibility: hidden`, a transform
/// scaling to zero, a filter to zero opacity.
pub(crate) fn hides(style: &str) -> bool {
    let style = style.to_ascii_lowercase();
    style.split(';').any(|decl| {
        let Some((prop, value)) = decl.split_once(':') else { return false };
        let value = value.replace("!important", "");
        let value = value.trim();
        let zero = || value.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%').parse::<f64>() == Ok(0.0);
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        match prop.trim() {
            "display" => value == "none",
            "visibility" => value == "hidden" || value == "collapse",
            "content-visibility" => value == "hidden",
            "opacity" | "width" | "height" | "max-width" | "max-height" | "font-size" => zero(),
            "transform" => {
                ["scale(0)", "scale(0,", "scalex(0)", "scaley(0)", "scale3d(0,"].iter().any(|z| compact.contains(z))
            }
            "filter" => compact.contains("opacity(0)") || compact.contains("opacity(0%)"),
            _ => false,
        }
    })
}

/// [`hides`] for an element's `style` and `hidden` attributes.
fn hides_el(el: &lol_html::html_content::Element) -> bool {
    el.has_attribute("hidden") || el.has_attribute("inert") || el.get_attribute("style").is_some_and(|s| hides(&s))
}

/// Checks one HTML file: the badge links to the platform and is not hidden inline (nor is the
/// block holding it, its logo, or the page's `<body>`), the notice is there, and an adult page
/// (or a page carrying `rating=adult`) has its gate and its `rating` meta tag.
///
/// Selectors name their tag, so lol_html's fast scanner skips every other element unparsed.
pub fn check(html: &str, adult: bool, policy: &Policy) -> Vec<Violation> {
    let found = Rc::new(Cell::new(Found::default()));
    let set = |f: &Rc<Cell<Found>>, change: fn(&mut Found)| {
        let mut v = f.get();
        change(&mut v);
        f.set(v);
    };
    let (f1, f2, f3, f4, f5) = (found.clone(), found.clone(), found.clone(), found.clone(), found.clone());
    let url = policy.badge_url.clone();
    let settings = RewriteStrSettings {
        element_content_handlers: vec![
            element!("a[data-sopixi-badge]", move |el| {
                if el.get_attribute("href").as_deref() == Some(url.as_str()) {
                    set(&f1, |f| f.badge = true);
                }
                if hides_el(el) {
                    set(&f1, |f| f.hidden = true);
                }
                Ok(())
            }),
            element!("div[data-sopixi-platform], div[data-sopixi-platform] img, body, html", move |el| {
                if hides_el(el) {
                    set(&f2, |f| f.hidden = true);
                }
                Ok(())
            }),
            element!("div[data-sopixi-notice]", move |_| {
                set(&f3, |f| f.notice = true);
                Ok(())
            }),
            element!("div[data-sopixi-age-gate]", move |_| {
                set(&f4, |f| f.gate = true);
                Ok(())
            }),
            element!("meta[name=rating]", move |el| {
                if el.get_attribute("content").is_some_and(|c| c.eq_ignore_ascii_case("adult")) {
                    set(&f5, |f| f.rating = true);
                }
                Ok(())
            }),
        ],
        ..RewriteStrSettings::new()
    };
    let _ = rewrite_str(html, settings);
    let f = found.get();
    let mut v = Vec::new();
    if !f.badge {
        v.push(Violation::MissingBadge);
    } else if f.hidden {
        v.push(Violation::HiddenBadge);
    }
    if !f.notice {
        v.push(Violation::MissingNotice);
    }
    if (adult || f.rating) && !(f.gate && f.rating) {
        v.push(Violation::MissingAgeGate);
    }
    v
}

/// What [`check`] saw in a document.
#[derive(Debug, Default, Clone, Copy)]
struct Found {
    badge: bool,
    hidden: bool,
    notice: bool,
    gate: bool,
    rating: bool,
}

/// Whether a file at `path` of an output is an HTML document the platform rules apply to.
pub(crate) fn is_html_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    (lower.ends_with(".html") || lower.ends_with(".htm")) && !lower.starts_with(&format!("{ASSET_DIR}/"))
}

/// One HTML file of an output and what is wrong with it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    /// Path in the output (`blog/index.html`).
    pub file: String,
    /// Every rule it breaks, in words.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct PageInfo<'a> {
    /// The site's language.
    pub language: &'a str,
    /// The page is adult content.
    pub adult: bool,
}

fn platform_block(policy: &Policy, text: &NoticeText) -> String {
    let e = crate::util::text::escape_html;
    let [logo, css, js] = asset_urls(policy);
    format!(
        "<div {MARKER} id=\"sopixi-platform\">\
<a class=\"sopixi-badge\" data-sopixi-badge href=\"{url}\" aria-label=\"{label}\"><img src=\"{logo}\" alt=\"Sopixi\" width=\"72\" height=\"20\"></a> \
<button type=\"button\" class=\"sopixi-settings\" data-sopixi-settings>{settings}</button>\
<div class=\"sopixi-notice\" data-sopixi-notice role=\"dialog\" aria-label=\"{settings}\"><p>{message}</p>\
<button type=\"button\" data-sopixi-accept>{accept}</button> <button type=\"button\" data-sopixi-refuse>{refuse}</button></div>\
<link rel=\"stylesheet\" href=\"{css}\"><script src=\"{js}\" defer></script></div>",
        url = e(&policy.badge_url),
        label = e(&text.badge_label),
        settings = e(&text.settings),
        message = e(&text.message),
        accept = e(&text.accept),
        refuse = e(&text.refuse),
    )
}

fn age_gate(text: &NoticeText) -> String {
    let e = crate::util::text::escape_html;
    format!(
        "<div id=\"sopixi-age-gate\" data-sopixi-age-gate role=\"dialog\" aria-modal=\"true\"><p>{}</p>\
<button type=\"button\" data-sopixi-age-confirm>{}</button></div>",
        e(&text.age_warning),
        e(&text.age_confirm)
    )
}

/// Injects the platform block (and, for adult pages, the age gate and rating) into `html`.
/// A document that already carries the block is returned unchanged.
pub fn inject(html: &str, page: PageInfo, policy: &Policy) -> Result<String, String> {
    Injector::new(policy, page.language, page.language).inject(html, page.adult).map(|i| i.html)
}

/// Appends `block` (already minified) to a minified document when the end of the document is
/// certainly directly in `<body>`, as a browser parses it (see [`crate::policy::tree::end_is_in_body`]):
/// minified pages end with `<body>` still open, or with the `</body></html>` that
/// [`crate::render::minify::html`] puts back; the block goes there (before that final
/// `</body></html>`), as the body's last child, as if injected before `</body>`. `None` when that
/// is uncertain, or the page has platform markup of its own: the caller then injects with the
/// streaming rewriter and the tree builder's check.
///
/// This costs one pass over the page's tags, against the tokenizer and tree builder passes of an
/// injection.
pub fn append_if_certain(mut doc: Vec<u8>, block: &[u8]) -> Option<Vec<u8>> {
    const END: &[u8] = b"</body></html>";
    let ended = doc.ends_with(END);
    let open = if ended { &doc[..doc.len() - END.len()] } else { &doc[..] };
    if !crate::policy::tree::end_is_in_body(open) || memchr::memmem::find(&doc, b"data-sopixi").is_some() {
        return None;
    }
    if ended {
        doc.truncate(doc.len() - END.len());
    }
    doc.extend_from_slice(block);
    if ended {
        doc.extend_from_slice(END);
    }
    Some(doc)
}

/// Takes from `<html>` or `<body>` what would hide the page and the platform elements with it
/// (`hidden`, `inert`, an inline style that hides): true when there was any.
fn unhide(el: &mut lol_html::html_content::Element) -> bool {
    let mut found = false;
    for name in ["hidden", "inert"] {
        if el.has_attribute(name) {
            el.remove_attribute(name);
            found = true;
        }
    }
    if el.get_attribute("style").is_some_and(|s| hides(&s)) {
        el.remove_attribute("style");
        found = true;
    }
    found
}

/// The platform elements of one site, rendered once, injected into each of its pages.
#[derive(Debug, Clone)]
pub struct Injector {
    block: Arc<str>,
    gate: Arc<str>,
    head_css: Arc<str>,
}

/// A page after injection.
#[derive(Debug, Clone)]
pub struct Injected {
    /// The page with the platform elements.
    pub html: String,
    /// What the injection pass already proves about the page: `Some(violations)` when the page
    /// carried no platform markup of its own (so the block in it is exactly the one injected, and
    /// the only possible violation is a hidden `<html>` or `<body>`); `None` when it did, and only
    /// a full [`check`] of the finished page can tell.
    pub(crate) verdict: Option<Vec<Violation>>,
    /// `<html>` or `<body>` carried `hidden`, `inert` or a hiding inline style, now taken away.
    pub unhidden_root: bool,
    /// Elements left open around the block that hid it, ended before it: the outermost one.
    pub closed: Option<Culprit>,
    /// What keeps a platform element out of the page as a browser builds it, if anything does:
    /// the page must not be published.
    pub lost: Option<Culprit>,
}

impl Injector {
    /// The platform block, as injected before `</body>`.
    pub fn block(&self) -> &str {
        &self.block
    }

    /// Renders the block and the gate for pages in `language`.
    /// `default`: the site's default language, whose texts stand in for a language the policy
    /// has none for.
    pub fn new(policy: &Policy, language: &str, default: &str) -> Injector {
        let text = policy.text_or(language, default);
        Injector {
            block: platform_block(policy, text).into(),
            gate: age_gate(text).into(),
            head_css: format!("<link rel=\"stylesheet\" href=\"{}\">", asset_urls(policy)[1]).into(),
        }
    }

    /// Injects the elements into `html` in one streaming pass, noting on the way whether
    /// `<html>` or `<body>` is hidden.
    pub fn inject(&self, html: &str, adult: bool) -> Result<Injected, String> {
        // Platform markup already in the page (a real block from an earlier pass, or a fake):
        // leave a real one alone, and let the full check judge.
        let foreign = html.contains("data-sopixi");
        if foreign && is_injected(html) {
            // No verdict: the full check, then the tree builder, judge the finished page.
            return Ok(Injected {
                html: html.to_string(),
                verdict: None,
                unhidden_root: false,
                closed: None,
                lost: None,
            });
        }
        let placed = Rc::new(Cell::new(false));
        let saw_template = Rc::new(Cell::new(false));
        let hidden = Rc::new(Cell::new(false));
        let (t1, t2) = (saw_template.clone(), saw_template);
        let (p1, p2) = (placed.clone(), placed);
        let (h1, h2) = (hidden.clone(), hidden.clone());
        let (block_body, block_end) = (self.block.clone(), self.block.clone());
        let (gate_body, gate_end) = (self.gate.clone(), self.gate.clone());
        let head_css = self.head_css.clone();
        let mut handlers = vec![
            element!("template", move |_| {
                t1.set(true);
                Ok(())
            }),
            element!("html", move |el| {
                if unhide(el) {
                    h1.set(true);
                }
                Ok(())
            }),
            element!("body", move |el| {
                if unhide(el) {
                    h2.set(true);
                }
                if adult {
                    el.prepend(&gate_body, ContentType::Html);
                }
                let (placed, block) = (p1.clone(), block_body.clone());
                let saw_template = t2.clone();
                let handler: lol_html::EndTagHandler<'static> = Box::new(move |end| {
                    if !placed.get() && !saw_template.get() {
                        end.before(&block, ContentType::Html);
                        placed.set(true);
                    }
                    Ok(())
                });
                el.on_end_tag(handler)?;
                Ok(())
            }),
        ];
        if adult {
            // The stylesheet (which hides the page under the gate) and the rating, in <head>, so that
            // nothing shows before the gate does. Other pages load the stylesheet from the block.
            handlers.push(element!("head", move |el| {
                el.append(&head_css, ContentType::Html);
                el.append("<meta name=\"rating\" content=\"adult\">", ContentType::Html);
                Ok(())
            }));
        }
        let settings = lol_html::Settings {
            element_content_handlers: handlers,
            document_content_handlers: vec![end!(move |end| {
                if !p2.get() {
                    if adult {
                        end.append(&gate_end, ContentType::Html);
                    }
                    end.append(&block_end, ContentType::Html);
                }
                Ok(())
            })],
            ..lol_html::Settings::new()
        };
        // Streamed into a buffer sized for the page and the block: no regrowth on the way.
        let mut out = Vec::with_capacity(html.len() + self.block.len() + self.gate.len() + 128);
        let mut rewriter = lol_html::HtmlRewriter::new(settings, |chunk: &[u8]| out.extend_from_slice(chunk));
        rewriter.write(html.as_bytes()).map_err(|e| e.to_string())?;
        rewriter.end().map_err(|e| e.to_string())?;
        let out = String::from_utf8(out).map_err(|e| e.to_string())?;
        // Only a block placed before a real `</body>` end tag is known to be markup; one appended
        // at the end of the document could sit inside an unclosed comment or raw-text element.
        let (html, placed) = self.place(out, adult);
        // Where a browser's parser puts the block decides (see `tree`): a sound block the page
        // did not imitate is exactly the one injected, and nothing hides the root any more.
        let verdict = (!foreign && placed.is_ok()).then(Vec::new);
        let (closed, lost) = match placed {
            Ok(closed) => (closed, None),
            Err(lost) => (None, Some(lost)),
        };
        Ok(Injected { html, verdict, unhidden_root: hidden.get(), closed, lost })
    }

    /// Checks where the parser puts the platform elements of `html`; when the block is held
    /// by elements left open that hide it, ends them right before it and checks again. The
    /// page, and `Ok` with the outermost element closed (if any), or `Err` with what keeps the
    /// elements out of the page.
    fn place(&self, html: String, adult: bool) -> (String, Result<Option<Culprit>, Culprit>) {
        match placement(&html, adult) {
            Placement::Sound => (html, Ok(None)),
            Placement::Lost(c) => (html, Err(c)),
            Placement::Enclosed { close, culprit } => {
                let Some(at) = html.rfind(&*self.block) else { return (html, Err(culprit)) };
                let ends: String = close.iter().map(|n| format!("</{n}>")).collect();
                let mut fixed = String::with_capacity(html.len() + ends.len());
                fixed.push_str(&html[..at]);
                fixed.push_str(&ends);
                fixed.push_str(&html[at..]);
                match placement(&fixed, adult) {
                    Placement::Sound => (fixed, Ok(Some(culprit))),
                    _ => (html, Err(culprit)),
                }
            }
        }
    }
}

impl Injected {
    /// Whether the injection pass vouches for the page (it had no platform markup of its own);
    /// otherwise the build checks the finished page in full.
    pub fn verdict_given(&self) -> bool {
        self.verdict.is_some()
    }
}

/// Whether `html` carries the platform block as a real element (not in a comment or a script).
pub fn is_injected(html: &str) -> bool {
    let found = Rc::new(Cell::new(false));
    let f = found.clone();
    let settings = RewriteStrSettings {
        element_content_handlers: vec![element!(format!("[{MARKER}]"), move |_| {
            f.set(true);
            Ok(())
        })],
        ..RewriteStrSettings::new()
    };
    let _ = rewrite_str(html, settings);
    found.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en(adult: bool) -> PageInfo<'static> {
        PageInfo { language: "en", adult }
    }

    fn count(h: &str, needle: &str) -> usize {
        h.matches(needle).count()
    }

    #[test]
    fn block_goes_before_the_end_of_body() {
        let out = inject("<html><head></head><body><p>x</p></body></html>", en(false), &Policy::default()).unwrap();
        let block = out.find(MARKER).unwrap();
        assert!(block > out.find("<p>x</p>").unwrap() && block < out.find("</body>").unwrap(), "{out}");
        assert!(out.contains("href=\"https://sopixi.com/\""));
        assert!(out.contains("Accept") && out.contains("Refuse"));
    }

    #[test]
    fn idempotent() {
        let p = Policy::default();
        let once = inject("<body><p>x</p></body>", en(true), &p).unwrap();
        let twice = inject(&once, en(true), &p).unwrap();
        assert_eq!(once, twice);
        assert_eq!(count(&twice, MARKER), 1);
    }

    #[test]
    fn no_body_uppercase_and_comments() {
        let p = Policy::default();
        let out = inject("<p>bare fragment", en(false), &p).unwrap();
        assert_eq!(count(&out, MARKER), 1, "{out}");
        let out = inject("<HTML><BODY><!-- </body> --><P>x</P></BODY></HTML>", en(false), &p).unwrap();
        assert_eq!(count(&out, MARKER), 1, "{out}");
        assert!(out.find(MARKER).unwrap() > out.find("<P>x</P>").unwrap(), "{out}");
    }

    #[test]
    fn script_contents_are_not_the_end_of_body() {
        let p = Policy::default();
        let html = "<body><script>var s = '</body>'; var m = '<div data-sopixi-platform>';</script><p>after</p></body>";
        let out = inject(html, en(false), &p).unwrap();
        assert_eq!(count(&out, "id=\"sopixi-platform\""), 1, "{out}");
        assert!(out.find("id=\"sopixi-platform\"").unwrap() > out.find("<p>after</p>").unwrap(), "{out}");
        let html = "<body><template><p>t</p></body></template><p>after</p></body>";
        let out = inject(html, en(false), &p).unwrap();
        let block = out.rfind("id=\"sopixi-platform\"").unwrap();
        assert!(block > out.find("</template>").unwrap(), "the block must not land inside <template>: {out}");
        // A marker inside a comment or a script does not count as injected.
        assert!(!is_injected("<body><!-- <div data-sopixi-platform> --></body>"));
    }

    #[test]
    fn check_finds_what_is_missing_or_hidden() {
        let p = Policy::default();
        let ok = inject("<html><head></head><body><p>x</p></body></html>", en(true), &p).unwrap();
        assert!(check(&ok, true, &p).is_empty(), "{:?}", check(&ok, true, &p));
        assert_eq!(check("<body><p>x</p></body>", false, &p), vec![Violation::MissingBadge, Violation::MissingNotice]);
        let hidden = ok.replace("class=\"sopixi-badge\"", "class=\"sopixi-badge\" style=\"display: none\"");
        assert_eq!(check(&hidden, true, &p), vec![Violation::HiddenBadge]);
        let hidden = ok.replace("id=\"sopixi-platform\"", "id=\"sopixi-platform\" hidden");
        assert_eq!(check(&hidden, true, &p), vec![Violation::HiddenBadge]);
        let plain = inject("<body></body>", en(false), &p).unwrap();
        assert_eq!(check(&plain, true, &p), vec![Violation::MissingAgeGate]);
        // A badge pointing elsewhere is not the badge.
        let elsewhere = ok.replace("https://sopixi.com/", "https://evil.example/");
        assert_eq!(check(&elsewhere, true, &p), vec![Violation::MissingBadge]);
        assert!(!hides("opacity: 0.9"));
        assert!(hides("color:red; opacity:0"));
        assert!(hides("transform: scale( 0 )") && hides("content-visibility:hidden") && hides("filter: opacity(0)"));
        assert!(!hides("transform: scale(0.5)"));
    }

    #[test]
    fn assets_are_there_and_carry_the_policy() {
        let a = assets(&Policy::default());
        assert_eq!(a[0].0, "_sopixi/logo.svg");
        assert!(a[0].1.starts_with(b"<svg"));
        assert!(std::str::from_utf8(&a[2].1).unwrap().contains("data-consent"));
        let mut p = Policy::default();
        p.colors.background = "#fefefe".into();
        p.logo = Some(("png".into(), b"\x89PNG".to_vec()));
        let a = assets(&p);
        assert_eq!(a[0].0, "_sopixi/logo.png");
        assert!(std::str::from_utf8(&a[1].1).unwrap().contains("--sopixi-bg:#fefefe"));
        let html = inject("<body></body>", en(false), &p).unwrap();
        assert!(html.contains("src=\"/_sopixi/logo.png?v="), "{html}");
    }

    #[test]
    fn hidden_body_or_logo_counts_as_hidden_badge() {
        let p = Policy::default();
        let ok = inject("<html><body><p>x</p></body></html>", en(false), &p).unwrap();
        assert!(check(&ok, false, &p).is_empty());
        let body = ok.replace("<body>", "<body style=\"display:none\">");
        assert_eq!(check(&body, false, &p), vec![Violation::HiddenBadge]);
        let logo = ok.replace("alt=\"Sopixi\"", "alt=\"Sopixi\" hidden");
        assert_eq!(check(&logo, false, &p), vec![Violation::HiddenBadge]);
        assert!(is_html_path("blog/index.html") && is_html_path("x.HTM"));
        assert!(!is_html_path("_sopixi/frame.html") && !is_html_path("feed.xml"));
    }

    #[test]
    fn adult_pages_get_rating_and_gate_in_the_page_language() {
        let out = inject(
            "<html><head></head><body><p>x</p></body></html>",
            PageInfo { language: "fr-FR", adult: true },
            &Policy::default(),
        )
        .unwrap();
        assert!(out.contains("<meta name=\"rating\" content=\"adult\">"));
        let gate = out.find("data-sopixi-age-gate").unwrap();
        assert!(gate < out.find("<p>x</p>").unwrap());
        assert!(out.contains("Accepter") && out.contains("18 ans"));
        let out = inject("<body></body>", PageInfo { language: "xx", adult: false }, &Policy::default()).unwrap();
        assert!(out.contains("Accept") && !out.contains("data-sopixi-age-gate"), "falls back to English");
    }

    #[test]
    fn the_injection_verdict_is_only_given_when_it_is_certain() {
        let p = Policy::default();
        let inj = Injector::new(&p, "en", "en");
        let ok = inj.inject("<html><body><p>x</p></body></html>", false).unwrap();
        assert_eq!(ok.verdict, Some(vec![]));
        assert_eq!(check(&ok.html, false, &p), vec![]);
        // What hides the root is taken away, and said.
        let hidden =
            inj.inject("<html inert><body hidden style=\"display:none\"><p>x</p></body></html>", false).unwrap();
        assert_eq!(hidden.verdict, Some(vec![]));
        assert!(hidden.unhidden_root && hidden.lost.is_none());
        assert_eq!(check(&hidden.html, false, &p), vec![]);
        assert_eq!(check("<html inert><body><div data-sopixi-platform><a data-sopixi-badge href=\"https://sopixi.com/\"></a><div data-sopixi-notice></div></div></body></html>", false, &p), vec![Violation::HiddenBadge]);
        // Appended at the end of an unclosed comment: no verdict, and the full check sees why.
        let open = inj.inject("<p>x</p><!-- unclosed", false).unwrap();
        assert_eq!(open.verdict, None);
        assert_eq!(open.lost.map(|c| c.cause), Some(crate::policy::tree::Cause::Comment));
        assert_eq!(check(&open.html, false, &p), vec![Violation::MissingBadge, Violation::MissingNotice]);
        // Platform markup of the page's own: no verdict either.
        let fake = inj.inject("<body><div data-sopixi-platform hidden></div></body>", false).unwrap();
        assert_eq!(fake.verdict, None);
        assert!(!check(&fake.html, false, &p).is_empty());
    }

    #[test]
    fn the_block_is_appended_to_a_minified_page_only_when_its_end_is_certainly_in_body() {
        let p = Policy::default();
        let block = Injector::new(&p, "en", "en").block().to_string();
        let ok = |doc: &str| {
            append_if_certain(doc.as_bytes().to_vec(), block.as_bytes()).map(|v| String::from_utf8(v).unwrap())
        };
        let page = "<!doctype html><html lang=en><head><title>T</title><style>p{}</style></head><body><p>x<script>a=\"<script\"</script><ul><li>a<li>b</ul>";
        let out = ok(page).expect("a plain minified page");
        assert!(out.starts_with(page) && out.ends_with(&block));
        assert_eq!(check(&out, false, &p), vec![]);
        // The `</body></html>` the minifier puts back: the block goes before it.
        let out = ok(&format!("{page}</body></html>")).expect("a minified page with its end");
        assert_eq!(out, format!("{page}{block}</body></html>"));
        assert_eq!(check(&out, false, &p), vec![]);
        for bad in [
            "<body><p>x<script>let open = 1;",               // ends inside a script
            "<body><p>x</p><script>a</script><script>b",     // the last script is open
            "<body><title>t",                                // inside a title
            "<body><!-- a comment that never ends",          // comments are never certain
            "<body><template><p>x</template>",               // template contents are inert
            "<body><select><option>a",                       // a div is dropped inside <select>
            "<HTML><BODY STYLE=display:none><p>x",           // a hidden body
            "<html hidden><body><p>x",                       // a hidden document
            "<body><noscript><p>x</noscript>",               // raw text for browsers with scripts
            "<body><div data-sopixi-platform hidden></div>", // platform markup of its own
            "<body><p>x</p></body><p>y",                     // a closed body: the block would follow it
            "<body><p>x</p></BODY>",
            "<body><p>x</p></body></html> ",           // not the minifier's own end
            "<body><p>x</body><p>y</p></body></html>", // a body closed before the last end
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }
}
