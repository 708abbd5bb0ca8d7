//! Real-browser testing: a static file server on 127.0.0.1 and a headless Debian Chromium driven
//! over WebDriver (chromedriver), both started by the test and stopped when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One headless Chromium with its own profile, driven through its own chromedriver.
pub struct Browser {
    driver: Child,
    base: String,
    _profile: tempfile::TempDir,
}

/// Where the browser and its driver are (Debian's packages; `scripts/test` installs them).
fn executable(var: &str, default: &str) -> PathBuf {
    let p = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
    assert!(
        p.exists(),
        "{} not found: install Debian's chromium and chromium-driver (scripts/test does), or set {var}",
        p.display()
    );
    p
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a viewport of `width`×`height`.
    pub fn start(width: u32, height: u32) -> Browser {
        let chromium = executable("SOPIXI_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = executable("SOPIXI_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     format!("--user-data-dir={}", profile.path().display()),
                     format!("--window-size={width},{height}")]
        }}}});
        let mut b = Browser { driver, base, _profile: profile };
        let session = b.post_raw("/session", caps);
        let id = session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}"));
        b.base = format!("{}/session/{id}", b.base);
        // The exact viewport, whatever the window decorations.
        b.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
        b
    }

    fn post_raw(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        match ureq::post(&url).timeout(Duration::from_secs(60)).send_json(body) {
            Ok(r) => r.into_json().unwrap(),
            Err(ureq::Error::Status(code, r)) => {
                panic!("WebDriver {path} failed ({code}): {}", r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("WebDriver {path}: {e}"),
        }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.post_raw(path, body)["value"].take()
    }

    /// A DevTools protocol command, through chromedriver.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.post("/goog/cdp/execute", json!({"cmd": cmd, "params": params}))
    }

    /// Opens `url` and waits for it to load (scripts with `defer` included).
    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
        self.wait_ready();
    }

    pub fn reload(&self) {
        self.post("/refresh", json!({}));
        self.wait_ready();
    }

    /// Waits until the page has loaded and the platform script has set the notice and gate up
    /// (it marks the platform block `data-sopixi-ready`). The navigation command can return a
    /// moment before that on a loaded machine, and a state read then (a notice still hidden by
    /// the stylesheet) would not be the page's.
    fn wait_ready(&self) {
        const READY: &str = "const p = document.getElementById('sopixi-platform'); \
            return document.readyState === 'complete' && (!p || p.hasAttribute('data-sopixi-ready'));";
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.js(READY) != Value::Bool(true) {
            assert!(Instant::now() < deadline, "the page and its platform script did not load within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `script` (a function body; `arguments` are not used) and returns its value.
    pub fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
    }

    /// Clicks the element matching `css` as a user would (pointer at its centre, after scrolling it
    /// into view); fails if another element covers it.
    pub fn click(&self, css: &str) {
        let found = self.post("/element", json!({"using": "css selector", "value": css}));
        let id = found.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap_or_else(|| {
            panic!("no element matches {css}: {found}");
        });
        self.post(&format!("/element/{id}/click"), json!({}));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.base).timeout(Duration::from_secs(10)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
