//! `sopixi check --browser`: the platform elements as a visitor sees them, after every script of
//! the page ran, in a real headless Chromium at phone, tablet and desktop widths.
//!
//! In: a built site (an [`Output`] in memory, or a folder), the pages to open (one of each
//! template, see [`crate::output::template_pages`]) and the policy. Out: a [`BrowserReport`].
//! IO: serves the site on 127.0.0.1 (a port of its own, only for the check), starts chromedriver
//! and Chromium (Debian's `chromium` and `chromium-driver`; `SOPIXI_CHROMIUM` and
//! `SOPIXI_CHROMEDRIVER` name others) with a new empty profile, and drives it over WebDriver.
//!
//! On each page and width, on a first visit and again on a second one (after what the page
//! stored, its service worker and late scripts had their chance): the badge is rendered, at least 16 px tall, links to the platform,
//! its logo loaded, nothing covers its centre, and it is inside the viewport at the top of the
//! page and scrolled to the bottom; the cookie notice is shown on a first visit and a real click
//! on "refuse" closes it (nothing covers the button); an adult page is covered by the age gate,
//! everywhere but where the badge and notice are.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::output::Output;
use crate::policy::Policy;

/// The widths every page is opened at (a small phone, a phone, a tablet, a desktop).
pub const WIDTHS: [u32; 4] = [320, 375, 768, 1280];

/// The smallest height, in CSS pixels, the badge may have.
pub(crate) const MIN_BADGE_PX: f64 = 16.0;

/// How long a page's scripts get, after it loaded, before it is judged: a page that hides the
/// badge a moment later is caught too.
pub(crate) const SETTLE: Duration = Duration::from_millis(600);

/// How many failing pages of one width are checked a second time in a new Chromium (see
/// [`check`]): enough for a crash or a loaded moment, not so many that a theme failing on
/// every page takes twice as long to say so.
const RETRIES_PER_WIDTH: usize = 4;

/// What a browser check found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BrowserReport {
    /// Pages opened, each at every width.
    pub pages: Vec<PageCheck>,
    /// The widths used.
    pub widths: Vec<u32>,
    /// Templates with no page to open (aliases redirect, so they are not opened).
    pub skipped: Vec<String>,
}

impl BrowserReport {
    /// The page checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &PageCheck> {
        self.pages.iter().filter(|p| !p.problems.is_empty())
    }
}

/// One page at one width.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageCheck {
    /// The page's file in the output (`blog/index.html`).
    pub file: String,
    /// The template that made it.
    pub template: String,
    /// The viewport width, in CSS pixels.
    pub width: u32,
    /// Whether the page is adult (and so must be gated).
    pub adult: bool,
    /// What is wrong, in words; empty when the page passes.
    pub problems: Vec<String>,
    /// How far the page is wider than the viewport, in CSS pixels (0: no horizontal scrolling).
    pub(crate) overflow_px: u64,
    /// axe-core's serious and critical violations, when it was asked for (see [`check`]).
    pub(crate) accessibility: Vec<Violation>,
}

/// One accessibility rule axe-core found broken on a page.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// The rule (`color-contrast`).
    pub id: String,
    /// `serious` or `critical`.
    pub(crate) impact: String,
    /// What the rule asks, in words.
    pub help: String,
    /// The first elements that break it: CSS selector, and what to fix.
    pub(crate) nodes: Vec<ViolationNode>,
    /// Whether the cookie notice was open when the page was checked.
    #[serde(default)]
    pub(crate) notice_open: bool,
    /// Whether the page was shown in its dark scheme (`prefers-color-scheme: dark`).
    #[serde(default)]
    pub dark: bool,
}

/// An element breaking an accessibility rule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ViolationNode {
    /// Its CSS selector (shadow roots joined by ` >> `).
    pub target: String,
    /// The start of its HTML.
    pub html: String,
    /// What to fix.
    pub summary: String,
}

/// Where the site comes from.
pub enum Site {
    /// Built in memory.
    Memory(Arc<Output>),
    /// A built folder.
    Dir(PathBuf),
}

/// Chromium and its driver.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Tools {
    /// Debian's paths, or the ones `SOPIXI_CHROMIUM` and `SOPIXI_CHROMEDRIVER` name; an error
    /// saying what to install when one is missing.
    pub fn find() -> Result<Tools, String> {
        let find = |var: &str, default: &str, package: &str| {
            let p = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!(
                    "{} not found: install Debian's {package} package (apt-get install chromium chromium-driver), or set {var} to its path",
                    p.display()
                ))
            }
        };
        Ok(Tools {
            chromium: find("SOPIXI_CHROMIUM", "/usr/bin/chromium", "chromium")?,
            chromedriver: find("SOPIXI_CHROMEDRIVER", "/usr/bin/chromedriver", "chromium-driver")?,
        })
    }
}

/// Opens `pages` ((template, file) pairs) of `site` at every width of `widths` and checks the
/// platform elements on each. With `axe` (the source of axe-core's `axe.min.js`), each page is
/// also run through axe-core once the cookie notice is closed, in the light scheme and again in
/// the dark one (`prefers-color-scheme: dark`), and the first page of each width once more with
/// the notice open: serious and critical violations go into `PageCheck::accessibility`.
pub fn check(
    site: Site,
    pages: &[(String, String)],
    adult: &BTreeSet<String>,
    policy: &Policy,
    widths: &[u32],
    tools: &Tools,
    axe: Option<&str>,
) -> Result<BrowserReport, String> {
    let server = server::Server::start(site)?;
    let mut report = BrowserReport { widths: widths.to_vec(), ..Default::default() };
    let (open, skipped): (Vec<_>, Vec<_>) = pages.iter().partition(|(t, _)| t != "alias.html");
    report.skipped = skipped.into_iter().map(|(t, _)| t.clone()).collect();
    // One Chromium per width, all at once: a page check mostly waits (for the page's late
    // scripts, a second visit), so widths side by side take about the time of one.
    let one_page = |session: &Session, width: u32, n: usize, template: &String, file: &String| -> PageCheck {
        let is_adult = adult.contains(file.as_str());
        let url = server.url(file);
        let mut accessibility = Vec::new();
        let mut problems = Vec::new();
        if let (Some(source), 0) = (axe, n) {
            // The notice open, as on a first visit.
            match session.first_visit(&url, &server.origin()).and_then(|()| session.axe(source)) {
                Ok(v) => accessibility.extend(v.into_iter().map(|v| Violation { notice_open: true, ..v })),
                Err(e) => problems.push(format!("axe-core: {e}")),
            }
        }
        problems.extend(session.check_page(&url, &server.origin(), is_adult, policy).unwrap_or_else(|e| vec![e]));
        let overflow_px = session
            .js("return Math.max(0, document.documentElement.scrollWidth - window.innerWidth);", serde_json::json!([]))
            .ok()
            .and_then(|v| v.as_u64().or_else(|| v.get("value").and_then(Value::as_u64)))
            .unwrap_or(0);
        if let Some(source) = axe {
            match session.axe(source) {
                Ok(v) => accessibility.extend(v),
                Err(e) => problems.push(format!("axe-core: {e}")),
            }
            let dark = session.color_scheme("dark").and_then(|()| session.axe(source));
            match dark {
                Ok(v) => accessibility.extend(v.into_iter().map(|v| Violation { dark: true, ..v })),
                Err(e) => problems.push(format!("axe-core, dark scheme: {e}")),
            }
            if let Err(e) = session.color_scheme("light") {
                problems.push(format!("cannot leave the dark scheme: {e}"));
            }
        }
        PageCheck {
            file: file.clone(),
            template: template.clone(),
            width,
            adult: is_adult,
            problems,
            overflow_px,
            accessibility,
        }
    };
    let one_width = |width: u32| -> Result<Vec<PageCheck>, String> {
        let mut checks = Vec::new();
        let height = if width < 600 { 720 } else { 900 };
        let mut session = Session::start(tools, width, height)?;
        let mut retries = RETRIES_PER_WIDTH;
        for (n, (template, file)) in open.iter().enumerate() {
            let mut check = one_page(&session, width, n, template, file);
            // A page with problems is checked once more in a new Chromium before they count:
            // a browser that crashed, or a machine so loaded that a script or axe-core timed out,
            // is not the theme's fault, and whatever the theme does wrong it does again.
            if !check.problems.is_empty() && retries > 0 {
                retries -= 1;
                session = Session::start(tools, width, height)?;
                check = one_page(&session, width, n, template, file);
            }
            checks.push(check);
        }
        Ok(checks)
    };
    let per_width: Vec<Result<Vec<PageCheck>, String>> = std::thread::scope(|scope| {
        let running: Vec<_> = widths.iter().map(|&w| scope.spawn(move || one_width(w))).collect();
        running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| Err("a browser check thread panicked".into())))
            .collect()
    });
    for checks in per_width {
        report.pages.extend(checks?);
    }
    Ok(report)
}

/// Runs axe-core on the document: a promise of its serious and critical violations.
const AXE_RUN: &str = r#"
axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => ({
    target: n.target.map(t => Array.isArray(t) ? t.join(' >> ') : t).join(' >> '),
    html: n.html.slice(0, 200), summary: (n.failureSummary || '').slice(0, 400) })) })))
"#;

/// The state of the platform elements, read in the page: `where` is `top` or `bottom`.
const PROBE: &str = include_str!("assets/probe.js");

/// One headless Chromium with its own empty profile, driven through its own chromedriver.
pub struct Session {
    driver: Child,
    base: String,
    profile: PathBuf,
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Session {
    /// Starts chromedriver and a headless Chromium with a viewport of exactly `width`×`height`.
    pub fn start(tools: &Tools, width: u32, height: u32) -> Result<Session, String> {
        Session::start_logged(tools, width, height, false)
    }

    /// [`Session::start`], with every network request the pages make logged when `network`
    /// (read with [`Session::requests`]).
    pub fn start_logged(tools: &Tools, width: u32, height: u32, network: bool) -> Result<Session, String> {
        let port = free_port()?;
        let driver = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", tools.chromedriver.display()))?;
        let profile = std::env::temp_dir().join(format!("sopixi-chromium-{}-{port}", std::process::id()));
        let mut s = Session { driver, base: format!("http://127.0.0.1:{port}"), profile };
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{}/status", s.base)).timeout(Duration::from_secs(2)).call().is_err() {
            if Instant::now() > deadline {
                return Err("chromedriver did not answer within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": tools.chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     "--disable-extensions", "--mute-audio",
                     format!("--user-data-dir={}", s.profile.display()),
                     format!("--window-size={width},{height}")]
        }}}});
        if network {
            caps["capabilities"]["alwaysMatch"]["goog:loggingPrefs"] = json!({"performance": "ALL"});
        }
        let session = s.post("/session", caps)?;
        let id = session["sessionId"].as_str().ok_or_else(|| format!("Chromium did not start: {session}"))?.to_string();
        s.base = format!("{}/session/{id}", s.base);
        s.post("/timeouts", json!({"script": 10_000, "pageLoad": 20_000}))?;
        // The exact viewport, whatever the window decorations; phones as phones.
        s.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        )?;
        Ok(s)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        match ureq::post(&url).timeout(Duration::from_secs(60)).send_json(body) {
            Ok(r) => r.into_json::<Value>().map(|mut v| v["value"].take()).map_err(|e| e.to_string()),
            Err(ureq::Error::Status(_, r)) => {
                let v: Value = r.into_json().unwrap_or_default();
                let msg = v["value"]["message"].as_str().unwrap_or("").lines().next().unwrap_or("").to_string();
                Err(format!("{} ({msg})", v["value"]["error"].as_str().unwrap_or("WebDriver error")))
            }
            Err(e) => Err(format!("WebDriver: {e}")),
        }
    }

    /// A DevTools protocol command, through chromedriver.
    /// The URLs the pages requested since the last call (frames, scripts, images, fetches …),
    /// in order; needs a session started with `network`.
    pub fn requests(&self) -> Result<Vec<String>, String> {
        let log = self.post("/se/log", json!({"type": "performance"}))?;
        let mut out = Vec::new();
        for entry in log.as_array().into_iter().flatten() {
            let Some(text) = entry["message"].as_str() else { continue };
            let Ok(m) = serde_json::from_str::<Value>(text) else { continue };
            if m["message"]["method"] == "Network.requestWillBeSent" {
                if let Some(u) = m["message"]["params"]["request"]["url"].as_str() {
                    out.push(u.to_string());
                }
            }
        }
        Ok(out)
    }

    pub fn cdp(&self, cmd: &str, params: Value) -> Result<Value, String> {
        self.post("/goog/cdp/execute", json!({"cmd": cmd, "params": params}))
    }

    /// Emulates the reader's colour scheme preference (`light` or `dark`) for the pages that
    /// follow, and lets the page restyle.
    pub(crate) fn color_scheme(&self, scheme: &str) -> Result<(), String> {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )?;
        std::thread::sleep(Duration::from_millis(50));
        Ok(())
    }

    /// Runs `script` (a function body) with `args`, returns its value.
    pub fn js(&self, script: &str, args: Value) -> Result<Value, String> {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    /// Opens `url` with the site's storage empty (a first visit) and waits for its scripts.
    pub(crate) fn first_visit(&self, url: &str, origin: &str) -> Result<(), String> {
        self.cdp("Storage.clearDataForOrigin", json!({"origin": origin, "storageTypes": "all"}))?;
        self.open(url)?;
        std::thread::sleep(SETTLE);
        Ok(())
    }

    /// Opens `url`, and waits (up to 5 s) until it loaded and the platform script set its elements
    /// up; `Ok(false)` when the script never did (a page that blocks or breaks it).
    pub fn open(&self, url: &str) -> Result<bool, String> {
        self.post("/url", json!({ "url": url }))?;
        self.wait_ready()
    }

    /// Reloads the page, and waits as [`Session::open`] does.
    pub fn refresh(&self) -> Result<bool, String> {
        self.post("/refresh", json!({}))?;
        self.wait_ready()
    }

    fn wait_ready(&self) -> Result<bool, String> {
        const READY: &str =
            "return document.readyState === 'complete' && document.documentElement.hasAttribute('data-sopixi-ready');";
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.js(READY, json!([]))? == Value::Bool(true) {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs axe-core (`source`, its `axe.min.js`) on the page as it is: its serious and critical
    /// violations. axe-core runs in a world of its own (DevTools' isolated world: the same
    /// document, none of the page's JavaScript), so that a theme's script cannot replace it with
    /// one that finds nothing, nor patch what it measures with.
    pub fn axe(&self, source: &str) -> Result<Vec<Violation>, String> {
        let tree = self.cdp("Page.getFrameTree", json!({}))?;
        let frame = tree["frameTree"]["frame"]["id"].as_str().ok_or("the page has no frame")?.to_string();
        let world = self.cdp("Page.createIsolatedWorld", json!({"frameId": frame, "worldName": "sopixi-axe"}))?;
        let context = world["executionContextId"].as_i64().ok_or("no isolated world for axe-core")?;
        let run = self.cdp(
            "Runtime.evaluate",
            json!({
                "expression": format!("{source}\n;{AXE_RUN}"),
                "contextId": context,
                "awaitPromise": true,
                "returnByValue": true,
            }),
        )?;
        if let Some(e) = run.get("exceptionDetails") {
            let text = e["exception"]["description"].as_str().or_else(|| e["text"].as_str()).unwrap_or("an exception");
            return Err(text.lines().next().unwrap_or("").to_string());
        }
        serde_json::from_value(run["result"]["value"].clone()).map_err(|e| format!("unexpected axe-core result: {e}"))
    }

    /// Clicks `element` (a WebDriver element reference) as a user would: an error when another
    /// element covers it.
    pub fn click(&self, element: &Value) -> Result<(), String> {
        let id = element[ELEMENT].as_str().ok_or("not an element")?;
        self.post(&format!("/element/{id}/click"), json!({})).map(|_| ())
    }

    /// The screenshot of the viewport, as an image.
    fn screenshot(&self) -> Result<image::RgbaImage, String> {
        let url = format!("{}/screenshot", self.base);
        let v: Value = ureq::get(&url)
            .timeout(Duration::from_secs(60))
            .call()
            .map_err(|e| format!("screenshot: {e}"))?
            .into_json()
            .map_err(|e| e.to_string())?;
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v["value"].as_str().unwrap_or(""))
            .map_err(|e| format!("screenshot: {e}"))?;
        image::load_from_memory(&png).map(|i| i.to_rgba8()).map_err(|e| format!("screenshot: {e}"))
    }

    /// `None` when the pixels of the logo's box (`{x, y, w, h}` in CSS pixels) show it.
    fn logo_on_screen(&self, logo: &Value) -> Result<Option<String>, String> {
        let f = |k: &str| logo[k].as_f64().unwrap_or(0.0);
        let (x, y, w, h) = (f("x"), f("y"), f("w"), f("h"));
        if w < 1.0 || h < 1.0 {
            return Ok(None); // reported by the probe
        }
        let shot = self.screenshot()?;
        let (x0, y0) = (x.max(0.0) as u32, y.max(0.0) as u32);
        let (x1, y1) = (((x + w) as u32).min(shot.width()), ((y + h) as u32).min(shot.height()));
        if x0 >= x1 || y0 >= y1 {
            return Ok(Some(format!(
                "not on the screen (box {x:.0},{y:.0} {w:.0}x{h:.0}, screen {}x{})",
                shot.width(),
                shot.height()
            )));
        }
        let (mut lo, mut hi) = (255u32, 0u32);
        for yy in y0..y1 {
            for xx in x0..x1 {
                let p = shot.get_pixel(xx, yy).0;
                let lum = (p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000;
                lo = lo.min(lum);
                hi = hi.max(lum);
            }
        }
        Ok((hi - lo < 96)
            .then(|| format!("not visible on screen (its box shows one flat colour, contrast {})", hi - lo)))
    }

    /// The problems of one page.
    fn check_page(&self, url: &str, origin: &str, adult: bool, policy: &Policy) -> Result<Vec<String>, String> {
        self.first_visit(url, origin)?;
        let mut problems = Vec::new();
        let args = json!([policy.badge_url, MIN_BADGE_PX, adult]);
        let top = self.js(PROBE, json!(["top", args[0], args[1], args[2]]))?;
        let bottom = self.js(PROBE, json!(["bottom", args[0], args[1], args[2]]))?;
        // What the screen shows where the logo is: a logo that renders has contrast (its dark
        // letters on its light ground); a hidden, transparent or covered one is one flat colour.
        if let Some(problem) = self.logo_on_screen(&bottom["logo"])? {
            problems.push(format!("badge scrolled to the bottom: {problem}"));
        }
        for (state, when) in [(&top, "at the top of the page"), (&bottom, "scrolled to the bottom")] {
            for p in state["badge"].as_array().into_iter().flatten() {
                problems.push(format!("badge {when}: {}", p.as_str().unwrap_or("")));
            }
        }
        for p in top["gate"].as_array().into_iter().flatten() {
            problems.push(format!("age gate: {}", p.as_str().unwrap_or("")));
        }
        // The notice: shown on a first visit, closed by a real click on "refuse".
        for p in top["notice"].as_array().into_iter().flatten() {
            problems.push(format!("cookie notice: {}", p.as_str().unwrap_or("")));
        }
        if top["notice"].as_array().is_some_and(|a| a.is_empty()) {
            let refuse = self.js(
                "const h = document.querySelector('sopixi-badge[data-sopixi-host]'); return h && h.shadowRoot && h.shadowRoot.querySelector('[data-sopixi-refuse]');",
                json!([]),
            )?;
            match self.click(&refuse) {
                Err(e) => problems.push(format!("cookie notice: its refuse button cannot be clicked: {e}")),
                Ok(()) => {
                    std::thread::sleep(Duration::from_millis(100));
                    let after = self.js(PROBE, json!(["top", args[0], args[1], args[2]]))?;
                    if after["noticeOpen"] != Value::Bool(false) {
                        problems.push("cookie notice: still open after clicking refuse".into());
                    }
                    for p in after["badge"].as_array().into_iter().flatten() {
                        problems.push(format!("badge after the notice closed: {}", p.as_str().unwrap_or("")));
                    }
                }
            }
        }
        problems.extend(self.second_visit(url, &args)?);
        problems.dedup();
        Ok(problems)
    }

    /// The page again, as a visitor who came before sees it: what it stored, its service worker
    /// and its late scripts have had their chance. The badge must hold, painted, at the bottom.
    fn second_visit(&self, url: &str, args: &Value) -> Result<Vec<String>, String> {
        self.open(url)?;
        std::thread::sleep(SETTLE);
        let again = self.js(PROBE, json!(["bottom", args[0], args[1], args[2]]))?;
        let mut problems: Vec<String> = again["badge"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("badge on a second visit: {}", p.as_str().unwrap_or("")))
            .collect();
        if let Some(problem) = self.logo_on_screen(&again["logo"])? {
            problems.push(format!("badge on a second visit: {problem}"));
        }
        Ok(problems)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.base).timeout(Duration::from_secs(10)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

mod server {
    //! The site on 127.0.0.1 for the browser: GET only, `/dir/` → `dir/index.html`, never
    //! outside the site. Pages built for their real `base_url` link their stylesheets, scripts
    //! and images absolutely: in the text files served, that base is replaced by the local
    //! origin, so the browser sees the page with the theme's own CSS and scripts (which must not
    //! be able to hide the platform elements), not a page whose stylesheets failed to load.

    use super::*;
    use axum::body::Body as HttpBody;
    use axum::http::{header, StatusCode, Uri};
    use axum::response::Response;

    pub(super) struct Server {
        port: u16,
        // Dropped with the server: the runtime stops serving.
        _runtime: tokio::runtime::Runtime,
    }

    impl Server {
        pub(super) fn start(site: Site) -> Result<Server, String> {
            let runtime = crate::util::runtime::new().map_err(|e| e.to_string())?;
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
            let port = listener.local_addr().map_err(|e| e.to_string())?.port();
            let base = match &site {
                Site::Memory(out) => out.base_url.clone(),
                Site::Dir(dir) => crate::output::read_manifest(dir).map(|m| m.base_url).unwrap_or_default(),
            };
            let rewrite = Arc::new((base, format!("http://127.0.0.1:{port}/")));
            let site = Arc::new(site);
            let app = axum::Router::new().fallback(move |uri: Uri| {
                let (site, rewrite) = (site.clone(), rewrite.clone());
                async move { respond(&site, &uri, &rewrite) }
            });
            runtime.spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Ok(Server { port, _runtime: runtime })
        }

        pub(super) fn origin(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }

        pub(super) fn url(&self, file: &str) -> String {
            let path = file.strip_suffix("index.html").unwrap_or(file);
            format!("{}/{path}", self.origin())
        }
    }

    fn respond(site: &Site, uri: &Uri, (base, origin): &(String, String)) -> Response {
        let path = crate::util::text::percent_decode(uri.path(), crate::util::text::Malformed::Keep)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let mut rel = path.trim_start_matches('/').to_string();
        if rel.is_empty() || rel.ends_with('/') {
            rel.push_str("index.html");
        }
        let bytes = if rel.split('/').any(|s| s == ".." || s.starts_with('.')) {
            None
        } else {
            match site {
                Site::Memory(out) => out.bytes(&rel).and_then(|r| r.ok()).map(|b| b.into_owned()),
                Site::Dir(dir) => read_inside(dir, &rel),
            }
        };
        let Some(bytes) = bytes else {
            return Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(HttpBody::from("not found"))
                .unwrap_or_default();
        };
        let ext = rel.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        let text = matches!(ext.as_str(), "html" | "htm" | "css" | "js" | "mjs" | "xml" | "json" | "svg");
        let bytes = match std::str::from_utf8(&bytes) {
            Ok(t) if text && base.len() > 1 && t.contains(base.as_str()) => {
                t.replace(base.as_str(), origin).into_bytes()
            }
            _ => bytes,
        };
        let ctype = match ext.as_str() {
            "html" | "htm" => "text/html; charset=utf-8",
            "css" => "text/css",
            "js" | "mjs" => "text/javascript",
            "svg" => "image/svg+xml",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "gif" => "image/gif",
            "json" => "application/json",
            _ => "application/octet-stream",
        };
        Response::builder()
            .header(header::CONTENT_TYPE, ctype)
            .header(header::CACHE_CONTROL, "no-store")
            .body(HttpBody::from(bytes))
            .unwrap_or_default()
    }

    fn read_inside(dir: &Path, rel: &str) -> Option<Vec<u8>> {
        let root = dir.canonicalize().ok()?;
        let file = root.join(rel).canonicalize().ok()?;
        (file.starts_with(&root) && file.is_file()).then(|| std::fs::read(file).ok()).flatten()
    }
}
