//! The finish stage of every file: responsive images, the platform elements (badge, cookie
//! notice, age gate), minification and the platform check; and, in `serve`, the reuse of the
//! previous build's finished files by key.
//!
//! In: rendered text. Out: finished bytes (in memory, or written to the staging folder of a fresh
//! build). Every HTML file passes through here: a file that defeats the platform elements is an
//! error, never published.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tera::Context;

use crate::build::engine::Engine;
use crate::images::{FirstImage, Images, Within};
use crate::output::{self, Body};
use crate::policy::compliance::{Injected, Injector, Violation};
use crate::policy::tree::{placement, Cause, Culprit, Placement};
use crate::policy::Policy;
use crate::render::templates::{self, Templates};
use crate::site::config::Config;
use crate::util::diag::{Diagnostic, Kind, Origin};

/// One file to render: its template, reuse key, origin, output path and age gate.
pub(crate) struct Job<'a> {
    /// The template.
    pub template: &'a str,
    /// `serve`: the key standing for everything the file is made of.
    pub key: Option<blake3::Hash>,
    /// What the file is made from, for messages.
    pub origin: &'a Origin,
    /// The output path.
    pub path: String,
    /// Whether the page gets the age gate.
    pub adult: bool,
    /// The page's language: its UI strings, dates and platform elements.
    pub lang: &'a str,
    /// Tags for `<head>` (the `hreflang` alternates), added unless the page has its own.
    pub head: Option<String>,
}

/// Warnings of the finish stage, one per (file, line, message).
pub(crate) type Notes = std::collections::BTreeMap<(Origin, Option<u32>, String), Diagnostic>;

/// One rendered and finished file (site path, body), or why it could not be rendered.
pub(crate) type Rendered = Result<(String, Body), Diagnostic>;

/// The finish stage of every rendered file: responsive images, the platform elements, minification.
pub(crate) struct Finish<'a> {
    pub minify: bool,
    pub policy: Arc<Policy>,
    /// The platform elements in each language of the site (the default first), and their block
    /// minified.
    pub(crate) injectors: Vec<(String, Injector, Vec<u8>)>,
    /// Output paths of the pages rendered with the age gate.
    pub adult: Mutex<Vec<String>>,
    /// Warnings about markup made harmless (see [`Maker::made_harmless`]), one per place.
    pub notes: Mutex<Notes>,
    /// For `sopixi check --browser`: each HTML page's template (template, page path).
    pub templates: Mutex<Vec<(String, String)>>,
    /// `serve` only: the previous build's finished files, reused when their key is the same.
    pub(crate) reuse: Option<Reuse<'a>>,
    /// The build's images (`<img data-responsive>` becomes a `<picture>` here).
    pub images: &'a Images,
    /// A fresh build into an empty folder: finished files go straight to disk.
    pub(crate) spool: Option<&'a output::Spool>,
    /// The platform rates the whole site adult: every HTML file gets the age gate.
    pub(crate) all_adult: bool,
    /// The build's time limit (see [`crate::site::config::BuildOptions::deadline`]).
    pub deadline: Option<std::time::Instant>,
}

/// The error of a file not rendered because the build's time limit passed.
pub(crate) fn too_slow(origin: &Origin) -> Diagnostic {
    Diagnostic::new(origin, "the build was stopped: it passed the platform's time limit")
        .kind(Kind::Stopped)
        .hint("look for a template loop over far more than the site holds, or a page far larger than the others")
}

/// Runs `f` with renders on this thread failing after `deadline` (restored after, also on a panic).
pub(crate) fn with_deadline<R>(deadline: Option<std::time::Instant>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<std::time::Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            tera::set_deadline(self.0);
        }
    }
    let _restore = Restore(tera::set_deadline(deadline));
    f()
}

/// Finished files of the previous build and the ones of this build, keyed by what they are made
/// of (the render environment, template, path, age gate and the whole context value).
pub(crate) struct Reuse<'a> {
    /// Stands for what every file's context shares.
    pub env: blake3::Hash,
    /// The previous build's files.
    pub old: &'a HashMap<String, (blake3::Hash, Body)>,
    /// This build's files, with their keys.
    pub new: Mutex<Vec<(String, blake3::Hash, Body)>>,
    /// Files reused.
    pub(crate) hits: AtomicUsize,
    /// The share cards each of the previous build's files names.
    pub old_cards: &'a HashMap<String, Vec<String>>,
    /// The share cards each of this build's files names.
    pub new_cards: Mutex<Vec<(String, Vec<String>)>>,
}

/// Runs one file's work; a panic in it (a bug, or a library's, on some input) becomes an error
/// against that file instead of ending the build, so that every other file is still made and
/// checked.
pub(crate) fn guarded<T>(origin: &Origin, f: impl FnOnce() -> Result<T, Diagnostic>) -> Result<T, Diagnostic> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Diagnostic::new(origin, format!("internal error while building this file: {what}")).hint(
                "this is a bug of sopixi, not of your site: please report it with this file; every other file was built and checked",
            ))
        }
    }
}

/// A page nested too deep to minify safely.
fn too_deep(origin: &Origin, path: &str, e: crate::render::minify::TooDeep) -> Diagnostic {
    Diagnostic::new(origin, format!("/{path}: {e}"))
        .hint("no real page nests elements this deep: look for a template loop or a Markdown or HTML block that opens elements without closing them")
}

/// What made a finished HTML file, for the errors and warnings about its platform elements: a
/// rendered page names its template, any other file itself.
#[derive(Clone, Copy)]
pub(crate) struct Maker<'t> {
    pub origin: &'t Origin,
    pub path: &'t str,
    /// The templates and the page's template, for a rendered page.
    pub template: Option<(&'t Templates, &'t str)>,
}

impl Maker<'_> {
    /// The file at fault for what the page's markup does: the template writing `<html>` (a
    /// page's content cannot reach the `<html>` and `<body>` tags, nor what follows it), or the
    /// file itself; and for a rendered page, where it was seen first.
    fn at_fault(&self) -> (Origin, String) {
        let (origin, path) = (self.origin, self.path);
        match self.template {
            Some((tpl, template)) => match tpl.origin_of(tpl.root_of(template)) {
                Some(file) => (Origin::from(file), format!("first on /{path} ({origin}, made with {template}): ")),
                None => (origin.clone(), String::new()),
            },
            None => (origin.clone(), String::new()),
        }
    }

    /// The template file and line (for a rendered page; the file's own line otherwise) of
    /// markup at `line` of `page`.
    fn locate(&self, page: &str, culprit: &Culprit) -> (Origin, Option<usize>) {
        match (self.template, culprit.line) {
            (Some((tpl, template)), Some(line)) => match tpl.locate(template, page, line, &culprit.name) {
                Some((file, line)) => (Origin::from(file.as_str()), Some(line)),
                None => (self.at_fault().0, None),
            },
            (Some(_), None) => (self.at_fault().0, None),
            (None, line) => (self.origin.clone(), line.and_then(|l| usize::try_from(l).ok())),
        }
    }

    /// A finished page that fails the platform check: once for all the pages of a template
    /// (see `group_template_errors`), with the first page and what to look for.
    fn violated(&self, violations: &[Violation]) -> Diagnostic {
        let list: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
        let Some(_) = self.template else { return platform_violation(self.origin, self.path, violations) };
        let (file, first) = self.at_fault();
        Diagnostic::new(file, format!("the pages made with this template fail the platform check: {}", list.join("; ")))
            .kind(Kind::Platform)
            .hint(format!(
                "{first}look at the <html> and <body> tags (a `hidden`, `inert` or `style` attribute), and close every element the templates open (a <template>, <textarea>, <svg>, comment …) before </body>"
            ))
    }

    /// A page whose markup keeps the platform elements out of the page a browser builds, at
    /// the template line (or the file's) where that markup starts.
    fn lost(&self, culprit: &Culprit, page: &str) -> Diagnostic {
        let (file, line) = self.locate(page, culprit);
        let (_, first) = self.at_fault();
        let n = &culprit.name;
        let what = match culprit.cause {
            Cause::Comment => "end the comment with `-->`".to_string(),
            Cause::RawText | Cause::Template | Cause::Foreign | Cause::Hiding => format!("close it with </{n}>"),
            Cause::Tag => format!("finish the <{n}> tag: close the quote of its attribute and end it with `>`"),
            Cause::Root => format!("remove the `hidden`, `inert` or `style` attribute of <{n}>"),
            Cause::Dropped => "write the page's content in <body> (no <frameset>)".to_string(),
        };
        let whose = if self.template.is_some() { "the pages made with this template" } else { "this page" };
        Diagnostic::new(file, format!("the platform elements would not be on {whose}: {culprit}"))
            .at(line, None)
            .kind(Kind::Platform)
            .hint(format!("{first}{what} before </body>, so that the Sopixi badge and cookie notice at the end of <body> are part of the page"))
    }

    /// A warning for markup made harmless: an element left open around the platform elements
    /// closed before them, or what hid the root element taken away.
    fn made_harmless(&self, injected: &Injected) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let whose = if self.template.is_some() { "the pages made with this template" } else { "this page" };
        let (_, first) = self.at_fault();
        if let Some(c) = &injected.closed {
            let (file, line) = self.locate(&injected.html, c);
            out.push(
                Diagnostic::new(file, format!("a <{}> left open before </body> on {whose} would hide the platform elements: it is closed before them", c.name))
                    .at(line, None)
                    .kind(Kind::Platform)
                    .hint(format!("{first}close it yourself where it should end")),
            );
        }
        if injected.unhidden_root {
            out.push(
                Diagnostic::new(self.at_fault().0, format!("<html> or <body> on {whose} carries `hidden`, `inert` or a `style` that hides the page: taken away, since the platform elements must show"))
                    .kind(Kind::Platform)
                    .hint(format!("{first}remove it from the template")),
            );
        }
        out
    }
}

/// A finished file that breaks the platform's rules.
pub(crate) fn platform_violation(origin: &Origin, path: &str, violations: &[Violation]) -> Diagnostic {
    let list: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    Diagnostic::new(origin, format!("/{path} fails the platform check: {}", list.join("; "))).kind(Kind::Platform).hint(
        "the Sopixi badge, cookie notice and age gate must stay on every page: remove the inline style, `hidden` \
         attribute or fake `data-sopixi-*` markup that hides or replaces them (see \"Platform elements\" in the book)",
    )
}

impl<'a> Finish<'a> {
    /// The finish stage of one build, under the engine's policy, in the site's language.
    pub(crate) fn new(
        engine: &Engine,
        config: &Config,
        images: &'a Images,
        reuse: Option<Reuse<'a>>,
        spool: Option<&'a output::Spool>,
        opts: &crate::site::config::BuildOptions,
    ) -> Finish<'a> {
        let default = config.site.language.as_str();
        let injectors = config
            .languages()
            .into_iter()
            .map(|lang| {
                let injector = Injector::new(&engine.policy, lang, default);
                let min = crate::render::minify::html(injector.block().as_bytes())
                    .unwrap_or_else(|_| injector.block().as_bytes().to_vec());
                (lang.to_string(), injector, min)
            })
            .collect();
        Finish {
            minify: config.minify,
            policy: engine.policy.clone(),
            injectors,
            adult: Default::default(),
            notes: Default::default(),
            templates: Default::default(),
            images,
            reuse,
            spool,
            all_adult: opts.adult_site,
            deadline: opts.deadline,
        }
    }

    /// Platform elements into every HTML file (before minification), then minification, then
    /// the platform check of the finished bytes: a theme or file that defeats the elements fails
    /// the build.
    /// The platform elements in `lang` (the default language's when the site has no such one).
    fn injector(&self, lang: &str) -> (&Injector, &[u8]) {
        let (_, i, b) = self.injectors.iter().find(|(l, _, _)| l == lang).unwrap_or(&self.injectors[0]);
        (i, b)
    }

    /// The language of a file by its path: the language whose folder it is in, else the default.
    pub(crate) fn lang_of_path(&self, path: &str) -> &str {
        self.injectors[1..]
            .iter()
            .map(|(l, _, _)| l.as_str())
            .find(|l| path.strip_prefix(*l).is_some_and(|rest| rest.starts_with('/')))
            .unwrap_or(&self.injectors[0].0)
    }

    pub(crate) fn html(
        &self,
        path: &str,
        text: &str,
        adult: bool,
        lang: &str,
        origin: &Origin,
    ) -> Result<Vec<u8>, Diagnostic> {
        self.html_or(text, adult, lang, Maker { origin, path, template: None })
    }

    /// [`Finish::html`] of a file made by `maker` (a rendered page's errors name its template).
    fn html_or(&self, text: &str, adult: bool, lang: &str, maker: Maker) -> Result<Vec<u8>, Diagnostic> {
        let (path, origin) = (maker.path, maker.origin);
        let adult = adult || self.all_adult;
        let (injector, block_min) = self.injector(lang);
        let rewritten;
        let text = if text.contains("data-responsive") {
            rewritten = self.images.rewrite(text, Within::Output(path), FirstImage::Eager).map_err(|e| {
                let list: Vec<&str> = e.iter().map(|e| e.message.as_str()).collect();
                Diagnostic::new(origin, format!("/{path}: {}", list.join("; ")))
                    .kind(Kind::Image)
                    .hint(e[0].problem.hint())
            })?;
            rewritten.as_str()
        } else {
            text
        };
        if cfg!(feature = "bench-without-compliance") {
            return Ok(if self.minify {
                crate::render::minify::html(text.as_bytes()).map_err(|e| too_deep(origin, path, e))?
            } else {
                text.as_bytes().to_vec()
            });
        }
        if self.minify && !adult {
            // The usual page: minified, then the minified block appended, when the end of the
            // page is certainly inside <body> (see `append_if_certain`).
            let min = crate::render::minify::html(text.as_bytes()).map_err(|e| too_deep(origin, path, e))?;
            if let Some(out) = crate::policy::compliance::append_if_certain(min, block_min) {
                debug_assert_eq!(
                    crate::policy::compliance::check(&String::from_utf8_lossy(&out), false, &self.policy),
                    Vec::new(),
                    "{origin}"
                );
                return Ok(out);
            }
        }
        let injected = injector
            .inject(text, adult)
            .map_err(|e| Diagnostic::new(origin, format!("cannot add the platform elements: {e}")))?;
        if let Some(lost) = &injected.lost {
            return Err(maker.lost(lost, &injected.html));
        }
        if injected.unhidden_root || injected.closed.is_some() {
            let made = maker.made_harmless(&injected);
            let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
            for d in made {
                notes.entry((d.origin.clone(), d.line, d.message.clone())).or_insert(d);
            }
        }
        let bytes = if self.minify {
            let min = crate::render::minify::html(injected.html.as_bytes()).map_err(|e| too_deep(origin, path, e))?;
            // The minifier does not know every rule of the tree builder (an end tag inside
            // MathML …): the minified page is checked again, and published unminified when
            // minifying moved the platform elements.
            if placement(&String::from_utf8_lossy(&min), adult) == Placement::Sound {
                min
            } else {
                injected.html.into_bytes()
            }
        } else {
            injected.html.into_bytes()
        };
        // The injection pass proves a page without platform markup of its own compliant (but for
        // a hidden <html>/<body>, which it reports); any other page gets the full check of its
        // finished bytes. Debug builds (the tests) check every page fully, to hold the shortcut
        // to the same verdict.
        let violations = match injected.verdict {
            Some(v) => {
                debug_assert_eq!(
                    v,
                    crate::policy::compliance::check(&String::from_utf8_lossy(&bytes), adult, &self.policy),
                    "{origin}"
                );
                v
            }
            None => {
                // Platform markup of the page's own: the full check, then where a browser puts it.
                let page = String::from_utf8_lossy(&bytes);
                let v = crate::policy::compliance::check(&page, adult, &self.policy);
                if v.is_empty() {
                    if let Placement::Lost(c) | Placement::Enclosed { culprit: c, .. } = placement(&page, adult) {
                        return Err(maker.lost(&c, &page));
                    }
                }
                v
            }
        };
        if !violations.is_empty() {
            return Err(maker.violated(&violations));
        }
        if adult {
            self.adult.lock().unwrap_or_else(|e| e.into_inner()).push(path.to_string());
        }
        Ok(bytes)
    }

    /// A rendered file finished: HTML through [`Finish::html_or`], then spooled to disk or packed.
    fn apply(&self, text: String, adult: bool, lang: &str, maker: Maker) -> Result<Body, Diagnostic> {
        let (path, origin) = (maker.path, maker.origin);
        let bytes = if crate::policy::compliance::is_html_path(path) {
            self.html_or(&text, adult, lang, maker)?
        } else {
            text.into_bytes()
        };
        match self.spool {
            // A fresh build writes each file as soon as it is finished.
            Some(spool) => spool.put(path, &bytes).map_err(|e| {
                Diagnostic::new(origin, e.to_string())
                    .hint("free some disk space, or choose another output folder with -o")
            }),
            None => Ok(Body::packed(&bytes)),
        }
    }

    /// Renders `template` into the file at `path`, finished. In `serve`, the previous build's
    /// file is reused when the whole context value is the same.
    pub(crate) fn render(
        &self,
        tpl: &Templates,
        template: &str,
        ctx: Value,
        origin: &Origin,
        path: String,
        lang: &str,
    ) -> Rendered {
        let key = self.key(template, false, &path, |h| {
            h.update(b"value");
            templates::hash_value(h, &ctx);
        });
        self.render_keyed(tpl, Job { template, key, origin, path, adult: false, lang, head: None }, || ctx)
    }

    /// The key of the file at `path` (`None` when nothing is reused): the render environment,
    /// template, age gate and path, and what `parts` feeds in, which must stand for the whole
    /// context value but for `site` (in the environment).
    pub(crate) fn key(
        &self,
        template: &str,
        adult: bool,
        path: &str,
        parts: impl FnOnce(&mut blake3::Hasher),
    ) -> Option<blake3::Hash> {
        let r = self.reuse.as_ref()?;
        let mut h = blake3::Hasher::new();
        h.update(r.env.as_bytes());
        h.update(&(template.len() as u64).to_le_bytes());
        h.update(template.as_bytes());
        h.update(&[0, u8::from(adult)]);
        h.update(&(path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        parts(&mut h);
        Some(h.finalize())
    }

    /// The previous build's file at `path`, when its key is `key`.
    pub(crate) fn reused(&self, path: &str, key: Option<blake3::Hash>, adult: bool) -> Option<Body> {
        let (r, key) = (self.reuse.as_ref()?, key?);
        let (k, body) = r.old.get(path)?;
        if *k != key {
            return None;
        }
        if adult && crate::policy::compliance::is_html_path(path) {
            self.adult.lock().unwrap_or_else(|e| e.into_inner()).push(path.to_string());
        }
        r.hits.fetch_add(1, Ordering::Relaxed);
        // The share cards the page names are published again (from the cache).
        if let Some(cards) = r.old_cards.get(path) {
            self.images.cached_cards(cards);
            r.new_cards.lock().unwrap_or_else(|e| e.into_inner()).push((path.to_string(), cards.clone()));
        }
        r.new.lock().unwrap_or_else(|e| e.into_inner()).push((path.to_string(), key, body.clone()));
        Some(body.clone())
    }

    /// Renders the file of `job` with the context `ctx` makes (called only when the file of
    /// that key cannot be reused).
    pub(crate) fn render_keyed(&self, tpl: &Templates, job: Job, ctx: impl FnOnce() -> Value) -> Rendered {
        let origin = job.origin;
        guarded(origin, || self.render_unguarded(tpl, job, ctx))
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| std::time::Instant::now() >= d)
    }

    fn render_unguarded(&self, tpl: &Templates, job: Job, ctx: impl FnOnce() -> Value) -> Rendered {
        let Job { template, key, origin, path, adult, lang, head } = job;
        if crate::policy::compliance::is_html_path(&path) {
            self.templates.lock().unwrap_or_else(|e| e.into_inner()).push((template.to_string(), path.clone()));
        }
        if let Some(body) = self.reused(&path, key, adult) {
            return Ok((path, body));
        }
        if self.past_deadline() {
            return Err(too_slow(origin));
        }
        let ctx = Context::from_value(ctx()).unwrap_or_default();
        let (text, used_images) = self.images.scoped(origin, || {
            with_deadline(self.deadline, || crate::render::i18n::with_lang(lang, || tpl.render(template, &ctx, origin)))
        });
        // A render that fails once the time limit has passed was stopped by it (the vendored
        // Tera's loop check): its error is the time limit's, with the loop's template and line.
        let mut text = text.map_err(|d| if self.past_deadline() { d.kind(Kind::TimeLimit) } else { d })?;
        if let Some(head) = head {
            add_to_head(&mut text, &head);
        }
        // A file made with images depends on image files too: it is made again every time.
        let used_images = self.reuse.is_some() && (used_images || text.contains("data-responsive"));
        let cards = if self.reuse.is_some() { crate::images::card_paths(text.as_bytes()) } else { Vec::new() };
        let maker = Maker { origin, path: &path, template: Some((tpl, template)) };
        let body = self.apply(text, adult, lang, maker)?;
        if let (Some(r), Some(key), false) = (&self.reuse, key, used_images) {
            r.new.lock().unwrap_or_else(|e| e.into_inner()).push((path.clone(), key, body.clone()));
            if !cards.is_empty() {
                r.new_cards.lock().unwrap_or_else(|e| e.into_inner()).push((path.clone(), cards));
            }
        }
        Ok((path, body))
    }
}

/// Puts `tags` before the page's `</head>`, unless its head already has `hreflang` links (its
/// template made them).
fn add_to_head(text: &mut String, tags: &str) {
    let end = memchr::memmem::find_iter(text.as_bytes(), b"</")
        .find(|&i| text.as_bytes().get(i + 2..i + 7).is_some_and(|t| t.eq_ignore_ascii_case(b"head>")));
    if let Some(i) = end {
        if !text[..i].contains("hreflang") {
            text.insert_str(i, tags);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternates_go_before_the_end_of_head_once() {
        let mut t = "<html><head><title>x</title></HEAD><body></body></html>".to_string();
        add_to_head(&mut t, "<link hreflang=\"en\">");
        assert_eq!(t, "<html><head><title>x</title><link hreflang=\"en\"></HEAD><body></body></html>");
        let before = t.clone();
        add_to_head(&mut t, "<link hreflang=\"fr\">");
        assert_eq!(t, before, "a page with its own alternates keeps them");
        let mut t = "<head></head><body><a hreflang=\"fr\" href=\"/\">FR</a></body>".to_string();
        add_to_head(&mut t, "<link hreflang=\"en\">");
        assert!(t.starts_with("<head><link hreflang=\"en\"></head>"), "links in the body do not count: {t}");
    }

    #[test]
    fn a_panic_in_one_file_is_an_error_of_that_file() {
        let origin = Origin::from("content/x.md");
        let r: Result<(), Diagnostic> = guarded(&origin, || panic!("boom {}", 1));
        let d = r.unwrap_err();
        assert_eq!(d.origin, origin);
        assert!(d.message.contains("internal error") && d.message.contains("boom 1"), "{d}");
        assert_eq!(guarded(&origin, || Ok::<_, Diagnostic>(7)).unwrap(), 7);
    }

    #[test]
    fn a_usual_minified_page_takes_the_fast_path() {
        // The minifier puts back `</body></html>`: the fast path must still take such a page
        // (it once stopped doing so, and every page paid for a tree builder pass unseen).
        let policy = crate::policy::Policy::default();
        let block = crate::policy::compliance::Injector::new(&policy, "en", "en").block().to_string();
        let page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>T</title></head>\n<body>\n<main><h1>T</h1>\n<table><tr><td>1</td></tr></table><p>text</p></main>\n</body>\n</html>\n";
        let min = crate::render::minify::html(page.as_bytes()).unwrap();
        assert!(min.ends_with(b"</body></html>"), "{}", String::from_utf8_lossy(&min));
        let out = crate::policy::compliance::append_if_certain(min, block.as_bytes()).expect("the fast path");
        let out = String::from_utf8(out).unwrap();
        assert!(out.ends_with("</body></html>") && out.contains(&block), "{out}");
        assert_eq!(crate::policy::compliance::check(&out, false, &policy), vec![]);
    }
}
