//! Real-browser testing: a static file server on 127.0.0.1 and a headless Debian Chromium driven
//! over WebDriver (chromedriver), both started by the test and stopped when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use serde_json::{json, Value};
use sopixi::ops::browser::{Session, Tools};

/// Serves a folder over HTTP on 127.0.0.1 (GET only; `/dir/` → `dir/index.html`), never outside it.
pub struct StaticServer {
    pub port: u16,
}

impl StaticServer {
    pub fn start(root: &Path) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let root = root.canonicalize().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                std::thread::spawn(move || serve_one(stream, &root));
            }
        });
        StaticServer { port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn serve_one(mut stream: TcpStream, root: &Path) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                break;
            }
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_string();
        let mut file = root.join(path.trim_start_matches('/'));
        if path.ends_with('/') {
            file = file.join("index.html");
        }
        let inside = file.canonicalize().ok().filter(|f| f.starts_with(root) && f.is_file());
        let (status, body, ctype) = match inside {
            Some(f) => {
                let ctype = match f.extension().and_then(|e| e.to_str()) {
                    Some("html") => "text/html; charset=utf-8",
                    Some("css") => "text/css",
                    Some("js") => "text/javascript",
                    Some("svg") => "image/svg+xml",
                    _ => "application/octet-stream",
                };
                ("200 OK", std::fs::read(f).unwrap(), ctype)
            }
            None => ("404 Not Found", b"not found".to_vec(), "text/plain"),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body)).is_err() {
            return;
        }
    }
}

/// One headless Chromium with its own profile, driven through its own chromedriver: the
/// product's WebDriver session (`sopixi check --browser` uses the same), with panicking calls.
pub struct Browser {
    session: Session,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a viewport of `width`×`height`.
    pub fn start(width: u32, height: u32) -> Browser {
        let tools = Tools::find().unwrap_or_else(|e| panic!("{e} (scripts/test installs them)"));
        Browser { session: Session::start(&tools, width, height).unwrap_or_else(|e| panic!("{e}")) }
    }

    /// [`Browser::start`], logging the network requests of the pages ([`Browser::requests`]).
    pub fn start_logged(width: u32, height: u32) -> Browser {
        let tools = Tools::find().unwrap_or_else(|e| panic!("{e} (scripts/test installs them)"));
        Browser { session: Session::start_logged(&tools, width, height, true).unwrap_or_else(|e| panic!("{e}")) }
    }

    /// The URLs requested since the last call.
    pub fn requests(&self) -> Vec<String> {
        self.session.requests().unwrap_or_else(|e| panic!("the network log: {e}"))
    }

    /// A DevTools protocol command, through chromedriver.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.session.cdp(cmd, params).unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Opens `url` and waits until it loaded and the platform script set its elements up.
    pub fn goto(&self, url: &str) {
        assert!(self.session.open(url).unwrap(), "{url}: the page and its platform script did not load within 5 s");
    }

    pub fn reload(&self) {
        assert!(self.session.refresh().unwrap(), "the page and its platform script did not load again within 5 s");
    }

    /// Runs `script` (a function body; `arguments` are not used) and returns its value.
    pub fn js(&self, script: &str) -> Value {
        self.session.js(script, json!([])).unwrap_or_else(|e| panic!("{e}\n{script}"))
    }

    /// axe-core's serious and critical violations on the page as it is now, as `rule: help`
    /// (axe-core as `sopixi theme check` finds it; scripts/test installs it).
    pub fn axe(&self) -> Vec<String> {
        let tools = sopixi::ops::theme::check::Browser::find(vec![]).unwrap_or_else(|e| panic!("{e}"));
        let found = self.session.axe(&tools.axe).unwrap_or_else(|e| panic!("axe-core: {e}"));
        found.iter().map(|v| format!("{}: {}", v.id, v.help)).collect()
    }

    /// Clicks the element matching `css` — in the page, or in the shadow root of the platform's
    /// badge or gate — as a user would (pointer at its centre, after scrolling it into view);
    /// fails if another element covers it.
    pub fn click(&self, css: &str) {
        let find = "const css = arguments[0]; const roots = [document]; \
            for (const h of document.querySelectorAll('sopixi-badge[data-sopixi-host], sopixi-gate[data-sopixi-host]')) if (h.shadowRoot) roots.unshift(h.shadowRoot); \
            for (const r of roots) { const e = r.querySelector(css); if (e) return e; } return null;";
        let el = self.session.js(find, json!([css])).unwrap();
        assert!(!el.is_null(), "no element matches {css}");
        self.session.click(&el).unwrap_or_else(|e| panic!("click on {css}: {e}"));
    }
}
