//! `sopixi serve`: the real binary on a free port. Edits are served and announced to connected
//! pages, errors reach the page and clear by themselves, stylesheets are swapped, an editor's
//! save is one build, nothing outside the site is served; and in a real browser, an edit shows
//! without any action.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::{bin, SiteTest};

/// The longest any wait in these tests may take (a debug binary on a busy machine).
const PATIENCE: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `sopixi serve`, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    /// The server's stdout and stderr lines.
    log: mpsc::Receiver<String>,
}

impl Server {
    fn start(t: &SiteTest, extra: &[&str]) -> Server {
        let root = t.root.to_string_lossy().into_owned();
        let mut args = vec![root.as_str()];
        args.extend_from_slice(extra);
        Server::start_args(&args)
    }

    /// `sopixi serve ARGS --port P`.
    fn start_args(args: &[&str]) -> Server {
        let port = free_port();
        let mut child = bin()
            .arg("serve")
            .args(args)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).for_each(|l| drop(tx.send(l))));
        std::thread::spawn(move || BufReader::new(err).lines().map_while(Result::ok).for_each(|l| drop(tx2.send(l))));
        let s = Server { child, port, log };
        s.wait_line("Serving at");
        s
    }

    /// Waits for an output line containing `needle`; returns it.
    fn wait_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(l) => seen.push(l),
                Err(_) => panic!("no line with {needle:?} from sopixi serve; it printed:\n{}", seen.join("\n")),
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// (status, body) of a GET.
    fn get(&self, path: &str) -> (u16, String) {
        match ureq::get(&self.url(path)).timeout(PATIENCE).call() {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    /// The raw response to a request line sent as is (no client-side normalisation of `..`).
    fn raw(&self, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.get("/_sopixi/dev/status").1).unwrap()
    }

    /// A live-reload client, as the injected script is.
    fn events(&self) -> Events {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(s, "GET /_sopixi/dev/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n").unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut event = String::new();
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    if tx.send((event.clone(), serde_json::from_str(d.trim()).unwrap_or(Value::Null))).is_err() {
                        return;
                    }
                }
            }
        });
        let e = Events(rx);
        e.expect("hello");
        e
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Events(mpsc::Receiver<(String, Value)>);

impl Events {
    /// Waits for the next event, which must be `name`; returns its data.
    fn expect(&self, name: &str) -> Value {
        match self.0.recv_timeout(PATIENCE) {
            Ok((n, d)) => {
                assert_eq!(n, name, "expected a `{name}` event, got `{n}`: {d}");
                d
            }
            Err(_) => panic!("no `{name}` event within {PATIENCE:?}"),
        }
    }
}

#[test]
fn an_edit_is_served_and_announced_after_the_build() {
    let t = SiteTest::new("blog");
    let s = Server::start(&t, &[]);
    let (code, about) = s.get("/about/");
    assert_eq!(code, 200);
    assert!(about.contains("We write"), "{about}");
    // Exactly like production (platform elements), plus the live script; links are local.
    assert!(about.contains("data-sopixi-badge"), "the badge is in the preview");
    assert!(about.contains("/_sopixi/dev/live.js"), "the live script is added");
    assert!(about.contains(&format!("http://127.0.0.1:{}/", s.port)), "links use the local address");
    assert!(!about.contains("https://fixture.example/"), "no link to base_url");
    assert!(!t.path("public").exists(), "serve never writes public/");
    let ev = s.events();

    t.write(
        "content/about.md",
        &std::fs::read_to_string(t.path("content/about.md")).unwrap().replace("We write", "We now write"),
    );
    ev.expect("reload");
    // The reload is sent once the new build is served.
    let (_, about) = s.get("/about/");
    assert!(about.contains("We now write"), "{about}");

    // A new page, then the page deleted.
    t.write("content/new-page.md", "---\ntitle: Brand new\n---\nFresh text.\n");
    ev.expect("reload");
    let (code, page) = s.get("/new-page/");
    assert_eq!(code, 200);
    assert!(page.contains("Fresh text."), "{page}");
    t.remove("content/new-page.md");
    ev.expect("reload");
    let (code, page) = s.get("/new-page/");
    assert_eq!(code, 404, "a deleted page is gone");
    assert!(page.contains("/_sopixi/dev/live.js"), "the site's 404 page, live too: {page}");

    // Content types and directory indexes.
    let r = ureq::get(&s.url("/css/extra.css")).call().unwrap();
    assert!(r.content_type().starts_with("text/css"), "{}", r.content_type());
    let r = ureq::get(&s.url("/blog/")).call().unwrap();
    assert_eq!(r.content_type(), "text/html");
    assert!(s.raw("/blog").starts_with("HTTP/1.1 301"), "/blog redirects to /blog/");
}

#[test]
fn a_build_error_shows_over_the_page_and_clears_when_fixed() {
    let t = SiteTest::new("blog");
    let s = Server::start(&t, &[]);
    let ev = s.events();
    let good = std::fs::read_to_string(t.path("content/about.md")).unwrap();
    t.write("content/about.md", &good.replace("description: who we are", "description: who we are\ncolour: blue"));
    let d = ev.expect("failed");
    let e = &d["errors"][0];
    assert_eq!(e["file"], "content/about.md", "{d}");
    assert_eq!(e["line"], 4, "the line of the unknown key: {d}");
    assert!(e["message"].as_str().unwrap().contains("colour"), "{d}");
    s.wait_line("still serving the last good build");
    // The last good build is still served, and a page loaded now learns of the error at once.
    let (code, about) = s.get("/about/");
    assert_eq!(code, 200);
    assert!(about.contains("We write"));
    assert_eq!(s.status()["errors"].as_array().unwrap().len(), 1);
    let late = s.events_with_hello();
    assert_eq!(late["errors"][0]["file"], "content/about.md", "{late}");

    t.write("content/about.md", &good.replace("We write", "Fixed, we write"));
    ev.expect("reload");
    assert_eq!(s.status()["errors"], Value::Array(vec![]), "the error is gone");
    assert!(s.get("/about/").1.contains("Fixed, we write"));

    // A template error too (a stray `endif`).
    let page = t.path("themes/plain/templates/page.html");
    let tpl = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, format!("{tpl}\n{{% endif %}}\n")).unwrap();
    let d = ev.expect("failed");
    assert!(d["errors"][0]["file"].as_str().unwrap().contains("page.html"), "{d}");
    std::fs::write(&page, tpl).unwrap();
    ev.expect("reload");

    // An image error: a photo replaced by a broken file, then by a real one of another size.
    let photo = t.path("content/blog/trip/photo.jpg");
    let good_photo = std::fs::read(&photo).unwrap();
    std::fs::write(&photo, b"not a photo").unwrap();
    let d = ev.expect("failed");
    assert!(d["errors"].to_string().contains("content/blog/trip/photo.jpg"), "{d}");
    image::RgbImage::from_pixel(30, 20, image::Rgb([1, 2, 3])).save(&photo).unwrap();
    ev.expect("reload");
    let trip = s.get("/blog/trip/").1;
    assert!(trip.contains(".30x20.jpg") && trip.contains(" width=30"), "the new photo's size is served: {trip}");
    std::fs::write(&photo, good_photo).unwrap();
    ev.expect("reload");
}

impl Server {
    /// Connects a new live client and returns its `hello` data.
    fn events_with_hello(&self) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(s, "GET /_sopixi/dev/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        for line in BufReader::new(s).lines().map_while(Result::ok) {
            if let Some(d) = line.strip_prefix("data:") {
                return serde_json::from_str(d.trim()).unwrap();
            }
        }
        panic!("no hello event");
    }
}

#[test]
fn requests_outside_the_site_get_404() {
    let t = SiteTest::new("blog");
    let secret = t.root.parent().unwrap().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET").unwrap();
    let s = Server::start(&t, &[]);
    for target in [
        "/../secret.txt",
        "/css/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2E%2E/secret.txt",
        "/css%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/css\\..\\..\\secret.txt",
        "/static/humans.txt",
        "/site.yaml",
        "/content/about.md",
    ] {
        let r = s.raw(target);
        assert!(r.starts_with("HTTP/1.1 404") || r.starts_with("HTTP/1.1 400"), "{target}: {r}");
        assert!(!r.contains("TOP SECRET") && !r.contains("base_url"), "{target} leaked a file: {r}");
    }
    assert!(s.raw("/humans.txt").starts_with("HTTP/1.1 200"), "the site's own files are served");
}

#[test]
fn a_stylesheet_edit_is_swapped_not_reloaded() {
    let t = SiteTest::new("blog");
    let s = Server::start(&t, &[]);
    let ev = s.events();
    t.write("static/css/extra.css", "body { margin: 7px }\n");
    let d = ev.expect("css");
    assert_eq!(d["paths"], serde_json::json!(["css/extra.css"]), "{d}");
    let css = s.get("/css/extra.css").1;
    assert!(css.contains("margin:7px") || css.contains("margin: 7px"), "{css}");
    // The theme's stylesheet too.
    t.write("themes/plain/static/theme.css", "h1 { color: teal }\n");
    let d = ev.expect("css");
    assert_eq!(d["paths"], serde_json::json!(["theme.css"]), "{d}");
    // Swapped without a pipeline run, yet byte for byte what a build makes of them.
    t.build();
    assert_eq!(s.get("/theme.css").1, t.read("theme.css"));
    assert_eq!(s.get("/css/extra.css").1, t.read("css/extra.css"));
    // A later page edit rebuilds with the new stylesheets still served.
    t.write("content/about.md", "---\ntitle: About\n---\nAfter the swap.\n");
    ev.expect("reload");
    assert!(s.get("/about/").1.contains("After the swap."));
    assert_eq!(s.get("/theme.css").1, t.read("theme.css"));
}

#[test]
fn an_editor_save_is_one_build_of_the_final_content() {
    let t = SiteTest::new("blog");
    let s = Server::start(&t, &[]);
    let ev = s.events();
    let before = s.status()["builds"].as_u64().unwrap();
    let good = std::fs::read_to_string(t.path("content/about.md")).unwrap();
    let dir = t.path("content");
    // Vim: probe file, swap file, backup by rename, write, remove the backup; then an atomic save
    // (temporary file renamed over the page) and a burst of writes, the last one being final.
    std::fs::write(dir.join("4913"), "").unwrap();
    std::fs::remove_file(dir.join("4913")).unwrap();
    std::fs::write(dir.join(".about.md.swp"), "swap").unwrap();
    std::fs::rename(dir.join("about.md"), dir.join("about.md~")).unwrap();
    std::fs::write(dir.join("about.md"), good.replace("We write", "Vim wrote")).unwrap();
    std::fs::remove_file(dir.join("about.md~")).unwrap();
    std::fs::write(dir.join(".about.md.tmp"), good.replace("We write", "Atomic wrote")).unwrap();
    std::fs::rename(dir.join(".about.md.tmp"), dir.join("about.md")).unwrap();
    for i in 0..5 {
        let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(dir.join("about.md")).unwrap();
        f.write_all(good.replace("We write", &format!("Burst {i} wrote")).as_bytes()).unwrap();
    }
    std::fs::remove_file(dir.join(".about.md.swp")).unwrap();
    ev.expect("reload");
    assert!(s.get("/about/").1.contains("Burst 4 wrote"), "the final content is served");
    // Nothing else is coming: a later, unrelated edit is the very next event.
    t.write(
        "content/blog/first.md",
        &std::fs::read_to_string(t.path("content/blog/first.md")).unwrap().replace("title:", "title: Edited"),
    );
    ev.expect("reload");
    assert_eq!(s.status()["builds"].as_u64().unwrap(), before + 2, "one build for the save, one for the edit");
}

#[test]
fn a_taken_port_is_named() {
    let t = SiteTest::new("blog");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let root = t.root.to_string_lossy().into_owned();
    let r = t.run(&["serve", &root, "--port", &port]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains(&format!("port {port}")) && r.stderr.contains("already in use"), "{}", r.stderr);
}

#[test]
fn theme_mode_previews_a_theme_folder_against_the_example_site() {
    let t = SiteTest::new("blog");
    // A copy of the bundled default theme, as a designer's theme folder.
    let theme = t.root.parent().unwrap().join("my-theme");
    crate::support::copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("themes/default"), &theme);
    let s = Server::start_args(&["--theme", &theme.to_string_lossy()]);
    let (code, home) = s.get("/");
    assert_eq!(code, 200, "{home}");
    assert!(home.contains("data-sopixi-badge"), "the example site, with the platform elements: {home}");
    let ev = s.events();
    let base = theme.join("templates/base.html");
    let text = std::fs::read_to_string(&base).unwrap();
    assert!(text.contains("</head>"));
    std::fs::write(&base, text.replacen("</head>", "<meta name=\"x-theme-edit\" content=\"1\"></head>", 1)).unwrap();
    ev.expect("reload");
    assert!(s.get("/").1.contains("x-theme-edit"), "the theme folder is watched");
}

#[test]
fn in_a_browser_an_edit_shows_without_any_action() {
    let t = SiteTest::new("blog");
    let s = Server::start(&t, &[]);
    let b = Browser::start(1024, 768);
    b.goto(&s.url("/about/"));
    let text = "return document.body.innerText";
    assert!(b.js(text).as_str().unwrap().contains("We write"));
    // Mark this page load: a reload clears the mark.
    b.js("window.sopixiMark = 1; return null");
    t.write(
        "content/about.md",
        &std::fs::read_to_string(t.path("content/about.md")).unwrap().replace("We write", "The browser saw this"),
    );
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = b.js(text);
        if now.as_str().unwrap_or("").contains("The browser saw this") {
            break;
        }
        assert!(Instant::now() < deadline, "the page did not update by itself: {now}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(b.js("return window.sopixiMark || null"), Value::Null, "the page was reloaded");
    // An error shows as an overlay naming the file, and goes away when fixed.
    let good = std::fs::read_to_string(t.path("content/about.md")).unwrap();
    t.write("content/about.md", &good.replace("title:", "titel:"));
    let overlay = "const o = document.getElementById('sopixi-dev-overlay'); return o ? o.innerText : null";
    let deadline = Instant::now() + PATIENCE;
    let shown = loop {
        if let Value::String(s) = b.js(overlay) {
            break s;
        }
        assert!(Instant::now() < deadline, "no error overlay");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(shown.contains("content/about.md"), "{shown}");
    t.write("content/about.md", &good);
    let deadline = Instant::now() + PATIENCE;
    while b.js(overlay) != Value::Null {
        assert!(Instant::now() < deadline, "the overlay did not clear");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(b.js(text).as_str().unwrap().contains("The browser saw this"));
}

#[test]
fn build_warnings_are_shown_by_serve_too() {
    // An alias on the URL of a real page loses to it with a warning at its line, in the preview
    // as in `sopixi build`.
    let t = SiteTest::new("blog");
    t.write("content/moved.md", "---\ntitle: Moved\naliases:\n  - /about/\n---\nx\n");
    let s = Server::start(&t, &[]);
    // (The first build's warning came before "Serving at", which `start` waited for.) An edit
    // builds again, and warns again.
    t.write("content/moved.md", "---\ntitle: Moved again\naliases:\n  - /about/\n---\nx\n");
    let line = s.wait_line("warning:");
    assert!(line.contains("content/moved.md:4"), "{line}");
    let (code, about) = s.get("/about/");
    assert_eq!(code, 200);
    assert!(about.contains("We write"), "the real page is served: {about}");
}
