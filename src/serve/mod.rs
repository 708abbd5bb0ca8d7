//! The preview server of `sopixi serve`: HTTP from memory, a file watcher, live reload, errors in
//! the browser.
//!
//! In: a site folder, [`BuildOptions`] and where to listen. Out: an HTTP server on that address
//! serving the [`Output`] of the last good build (with the platform elements, exactly as `build`
//! makes it), a small script added to HTML responses (never to the `Output`) that reloads the page
//! when a new build is complete, swaps stylesheets when only CSS changed, and shows build errors
//! over the page. Changes are watched with `notify`, debounced, and rebuilt through
//! `crate::build::session::Session`, which renders again only what a change affects.
//!
//! It must never write into the site folder, never serve a path that is not in the `Output` (the
//! request path is a key into it, never joined to a folder), and never print: what happens is
//! reported through [`Notice`]s to the caller.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use notify::Watcher;
use serde_json::json;
use tokio::sync::broadcast;

use crate::build::engine::Engine;
use crate::build::gather::ignored_name;
use crate::build::session::Session;
use crate::output::{self, Body, Output};
use crate::site::config::BuildOptions;
use crate::util::diag::{BuildFailed, Diagnostic};

/// How long the watcher waits for quiet after a change before building: editors save in several
/// steps (a temporary file then a rename, a truncation then a write, a swap file) within a few
/// milliseconds, and one save must give one build of the final content.
pub(crate) const QUIET: Duration = Duration::from_millis(20);

/// The reserved folder of the preview's own files (inside the platform's reserved `/_sopixi/`, so
/// no site file can collide with them).
pub(crate) const DEV_DIR: &str = "_sopixi/dev";

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The site folder.
    pub root: PathBuf,
    /// Build options (`base_url` is replaced by the local address).
    pub build: BuildOptions,
    /// What the builds share (the policy among it).
    pub engine: Engine,
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port to listen on.
    pub port: u16,
    /// The port was chosen by the user: fail when it is taken instead of trying the next ones.
    pub port_explicit: bool,
}

/// What the server reports to the command line.
#[derive(Debug)]
pub enum Notice {
    /// The wanted port was taken; another one is used.
    PortTaken {
        /// The port asked for.
        wanted: u16,
        /// The port used instead.
        using: u16,
    },
    /// The server listens at this address.
    Listening(String),
    /// A build succeeded.
    Built {
        /// The build number (1 for the first).
        number: u64,
        /// Pages in the site.
        pages: usize,
        /// How long it took.
        took: Duration,
        /// Finished files reused from the previous build.
        reused: usize,
        /// Files whose bytes changed.
        changed: usize,
        /// Only stylesheets changed: swapped in the open pages without a reload.
        css_only: bool,
        /// Time per build stage.
        stages: Vec<(&'static str, Duration)>,
        /// What the build warned about (an alias losing to a page, say).
        warnings: Vec<Diagnostic>,
    },
    /// A build failed; the last good one is still served.
    Failed(Vec<Diagnostic>),
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The port (and, when it was not chosen, the next ones) are taken.
    #[error("port {port} on {bind} is already in use (another `sopixi serve`?); stop the other server or choose another port with --port")]
    PortTaken {
        /// The address.
        bind: IpAddr,
        /// The port.
        port: u16,
    },
    /// Listening failed for another reason.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The watcher could not start.
    #[error("cannot watch the site folder for changes: {0}")]
    Watch(#[from] notify::Error),
    /// The async runtime could not start.
    #[error("cannot start the server runtime: {0}")]
    Runtime(std::io::Error),
}

/// What is served right now.
struct Snapshot {
    output: Arc<Output>,
    /// Errors of the last build (empty when it succeeded).
    errors: Vec<Diagnostic>,
    /// Incremented by every build that changed what is served, or failed.
    version: u64,
    /// Builds done, successful or not.
    builds: u64,
    /// Files reused by the last build.
    reused: usize,
    /// Duration of the last build.
    last_ms: f64,
}

/// A message to connected pages.
#[derive(Debug, Clone)]
enum Message {
    Reload(u64),
    Css(u64, Vec<String>),
    Failed(u64, Vec<Diagnostic>),
}

struct Shared {
    now: RwLock<Arc<Snapshot>>,
    tx: broadcast::Sender<Message>,
    /// Differs at each start of the server, so that pages reload after a restart.
    instance: String,
}

impl Shared {
    fn snapshot(&self) -> Arc<Snapshot> {
        self.now.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Binds `opts.bind:opts.port`, or the next free port (up to 20 further) unless the port was
/// chosen explicitly.
fn listen(opts: &ServeOptions, report: &dyn Fn(Notice)) -> Result<TcpListener, ServeError> {
    let tries = if opts.port_explicit || opts.port == 0 { 1 } else { 20 };
    for i in 0..tries {
        let port = opts.port.saturating_add(i);
        let addr = SocketAddr::new(opts.bind, port);
        match TcpListener::bind(addr) {
            Ok(l) => {
                if i > 0 {
                    report(Notice::PortTaken { wanted: opts.port, using: port });
                }
                return Ok(l);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(source) => return Err(ServeError::Listen { addr, source }),
        }
    }
    Err(ServeError::PortTaken { bind: opts.bind, port: opts.port })
}

/// The address pages link to: the bound one, or loopback when bound to every interface.
fn public_base(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        }
    } else {
        addr.ip()
    };
    format!("http://{}/", SocketAddr::new(ip, addr.port()))
}

/// Runs the preview server until the process is stopped. Returns only when it cannot start.
pub fn serve(opts: ServeOptions, report: Arc<dyn Fn(Notice) + Send + Sync>) -> Result<(), ServeError> {
    let listener = listen(&opts, &*report)?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServeError::Listen { addr: SocketAddr::new(opts.bind, opts.port), source })?;
    let base = public_base(addr);
    let mut build_opts = opts.build.clone();
    build_opts.base_url = Some(base.clone());
    build_opts.progress = false;
    let root = opts.root.canonicalize().unwrap_or_else(|_| opts.root.clone());
    if let Some(t) = &build_opts.theme_dir {
        build_opts.theme_dir = Some(t.canonicalize().unwrap_or_else(|_| t.clone()));
    }
    let theme_dir = build_opts.theme_dir.clone();
    let mut session = Session::new(&root, build_opts, opts.engine.clone());

    let (tx, _) = broadcast::channel(64);
    let instance =
        format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    let first = Snapshot {
        output: Arc::new(Output::default()),
        errors: Vec::new(),
        version: 0,
        builds: 0,
        reused: 0,
        last_ms: 0.0,
    };
    let shared = Arc::new(Shared { now: RwLock::new(Arc::new(first)), tx, instance });

    // The first build, before the first request.
    rebuild(&mut session, &shared, &[], &*report);

    // Watch, then debounce and build on a thread of its own.
    let (ev_tx, ev_rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(move |e| {
        let _ = ev_tx.send(e);
    })?;
    watch_all(&mut watcher, &root, theme_dir.as_deref())?;
    {
        let shared = shared.clone();
        let report = report.clone();
        let root = root.clone();
        std::thread::Builder::new()
            .name("sopixi-watch".into())
            .spawn(move || watch_loop(watcher, ev_rx, session, &shared, &root, theme_dir.as_deref(), &*report))
            .map_err(ServeError::Runtime)?;
    }

    let rt = crate::util::runtime::new().map_err(ServeError::Runtime)?;
    rt.block_on(async move {
        listener.set_nonblocking(true).map_err(|source| ServeError::Listen { addr, source })?;
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|source| ServeError::Listen { addr, source })?;
        let app = axum::Router::new().fallback(handle).with_state(shared);
        report(Notice::Listening(base));
        axum::serve(listener, app).await.map_err(|source| ServeError::Listen { addr, source })
    })
}

/// Watches the parts of the site a build reads. The site folder itself is watched without
/// recursion (for `site.yaml` and folders created later); `public/` and the rest are not watched.
fn watch_all(w: &mut notify::RecommendedWatcher, root: &Path, theme_dir: Option<&Path>) -> notify::Result<()> {
    w.watch(root, notify::RecursiveMode::NonRecursive)?;
    for dir in ["content", "static", "templates", "i18n", "themes"] {
        let d = root.join(dir);
        if d.is_dir() {
            w.watch(&d, notify::RecursiveMode::Recursive)?;
        }
    }
    // A bundled theme (`--theme vitrine`) has no folder to watch.
    if let Some(t) = theme_dir.filter(|t| t.is_dir()) {
        w.watch(t, notify::RecursiveMode::Recursive)?;
    }
    Ok(())
}

/// Whether a changed path can change the build: under a watched folder, not an ignored name.
fn relevant(path: &Path, root: &Path, theme_dir: Option<&Path>) -> bool {
    let name_ok = |rel: &Path| rel.components().all(|c| c.as_os_str().to_str().is_some_and(|n| !editor_noise(n)));
    if let Some(t) = theme_dir {
        if let Ok(rel) = path.strip_prefix(t) {
            return name_ok(rel);
        }
    }
    let Ok(rel) = path.strip_prefix(root) else { return false };
    let mut parts = rel.components();
    let first = parts.next().and_then(|c| c.as_os_str().to_str()).unwrap_or("");
    match first {
        "site.yaml" => true,
        "content" | "static" | "templates" | "i18n" | "themes" => name_ok(rel),
        _ => false,
    }
}

/// Names editors write beside the file being saved, which the build ignores too: dot-files
/// (`.page.md.swp`, Emacs' `.#page.md`), backups (`page.md~`), swap and temporary files, and
/// Vim's `4913` probe.
fn editor_noise(name: &str) -> bool {
    ignored_name(name) || name == "4913" || name.ends_with(".swx") || (name.starts_with('#') && name.ends_with('#'))
}

fn watch_loop(
    mut watcher: notify::RecommendedWatcher,
    rx: mpsc::Receiver<notify::Result<notify::Event>>,
    mut session: Session,
    shared: &Shared,
    root: &Path,
    theme_dir: Option<&Path>,
    report: &dyn Fn(Notice),
) {
    let mut watched_dirs: BTreeSet<PathBuf> = ["content", "static", "templates", "i18n", "themes"]
        .iter()
        .map(|d| root.join(d))
        .filter(|d| d.is_dir())
        .collect();
    loop {
        // Wait for a change, then for quiet.
        let Ok(first) = rx.recv() else { return };
        let mut events = vec![first];
        while let Ok(e) = rx.recv_timeout(QUIET) {
            events.push(e);
        }
        let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
        let mut rescan = false;
        for e in events {
            match e {
                Ok(e) => {
                    if matches!(e.kind, notify::EventKind::Access(_)) {
                        continue;
                    }
                    if e.need_rescan() {
                        rescan = true;
                    }
                    changed.extend(e.paths.into_iter().filter(|p| relevant(p, root, theme_dir)));
                }
                Err(_) => rescan = true,
            }
        }
        if changed.is_empty() && !rescan {
            continue;
        }
        // A watched folder created after the start (e.g. `static/`): watch it from now on.
        for dir in ["content", "static", "templates", "i18n", "themes"] {
            let d = root.join(dir);
            if d.is_dir() && !watched_dirs.contains(&d) && watcher.watch(&d, notify::RecursiveMode::Recursive).is_ok() {
                watched_dirs.insert(d);
                rescan = true;
            }
        }
        let list: Vec<PathBuf> = if rescan { Vec::new() } else { changed.into_iter().collect() };
        if !list.is_empty() && swap_stylesheets(shared, &list, root, theme_dir, report) {
            continue;
        }
        rebuild(&mut session, shared, &list, report);
    }
}

/// The stylesheet fast path: when every changed file is a stylesheet that the served output
/// copies from that very file (a site or theme `static/` file, not shadowed by another), the new
/// bytes go straight into the served output — finished exactly as a build finishes them — and
/// pages swap the stylesheet, without a pipeline run. Returns false (nothing done) otherwise.
fn swap_stylesheets(
    shared: &Shared,
    changed: &[PathBuf],
    root: &Path,
    theme_dir: Option<&Path>,
    report: &dyn Fn(Notice),
) -> bool {
    let t = Instant::now();
    let old = shared.snapshot();
    if !old.errors.is_empty() || old.builds == 0 {
        return false;
    }
    let mut files = old.output.files.clone();
    let mut swapped = Vec::new();
    for p in changed {
        if p.extension().and_then(|e| e.to_str()) != Some("css") || !p.is_file() {
            return false;
        }
        // The output path and the origin label the build gives that file.
        let place = if let Ok(rel) = p.strip_prefix(root.join("static")) {
            Some((rel.to_path_buf(), format!("static/{}", slash(rel))))
        } else if let Some(rel) = theme_dir.and_then(|t| p.strip_prefix(t.join("static")).ok()) {
            theme_dir.map(|t| (rel.to_path_buf(), format!("{}/static/{}", t.display(), slash(rel))))
        } else if let Ok(rest) = p.strip_prefix(root.join("themes")) {
            let mut parts = rest.components();
            let name = parts.next().map(|c| c.as_os_str().to_string_lossy().into_owned());
            let rest = parts.as_path();
            match (name, rest.strip_prefix("static")) {
                (Some(name), Ok(rel)) => Some((rel.to_path_buf(), format!("themes/{name}/static/{}", slash(rel)))),
                _ => None,
            }
        } else {
            None
        };
        let Some((rel, origin)) = place else { return false };
        let out_path = slash(&rel);
        let Some(entry) = files.get_mut(&out_path) else { return false };
        if entry.origin != crate::util::diag::Origin::from(origin) {
            return false; // shadowed by another file of the same path, or produced otherwise
        }
        entry.body = match &entry.body {
            Body::File(_) => Body::File(p.clone()),
            Body::Bytes(_) => match std::fs::read(p) {
                Ok(bytes) => Body::Bytes(crate::render::minify::asset("css", &bytes).unwrap_or(bytes)),
                Err(_) => return false,
            },
            _ => return false,
        };
        swapped.push(out_path);
    }
    let version = old.version + 1;
    let output = Output {
        files,
        adult: old.output.adult.clone(),
        templates: old.output.templates.clone(),
        language_roots: old.output.language_roots.clone(),
        base_url: old.output.base_url.clone(),
    };
    let builds = old.builds + 1;
    let took = t.elapsed();
    let snap = Snapshot {
        output: Arc::new(output),
        errors: Vec::new(),
        version,
        builds,
        reused: old.reused,
        last_ms: took.as_secs_f64() * 1000.0,
    };
    *shared.now.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
    let n = swapped.len();
    let _ = shared.tx.send(Message::Css(version, swapped));
    report(Notice::Built {
        number: builds,
        pages: 0,
        took,
        reused: 0,
        changed: n,
        css_only: true,
        stages: Vec::new(),
        warnings: Vec::new(),
    });
    true
}

fn slash(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Builds, publishes the result (or the errors) and tells connected pages.
fn rebuild(session: &mut Session, shared: &Shared, changed: &[PathBuf], report: &dyn Fn(Notice)) {
    let t = Instant::now();
    let result = session.rebuild(changed);
    let took = t.elapsed();
    let old = shared.snapshot();
    let builds = old.builds + 1;
    let last_ms = took.as_secs_f64() * 1000.0;
    match result {
        Ok(built) => {
            let (n_changed, css) = diff(&old.output, &built.output, changed);
            let css_only = old.errors.is_empty() && n_changed > 0 && css.len() == n_changed && builds > 1;
            let version = if n_changed > 0 || !old.errors.is_empty() { old.version + 1 } else { old.version };
            let snap = Snapshot {
                output: Arc::new(built.output),
                errors: Vec::new(),
                version,
                builds,
                reused: session.reused(),
                last_ms,
            };
            *shared.now.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
            if version != old.version {
                let msg = if css_only { Message::Css(version, css) } else { Message::Reload(version) };
                let _ = shared.tx.send(msg);
            }
            report(Notice::Built {
                number: builds,
                pages: built.stats.pages,
                took,
                reused: session.reused(),
                changed: n_changed,
                css_only,
                stages: built.timings,
                warnings: built.warnings,
            });
        }
        Err(BuildFailed(errors)) => {
            let version = old.version + 1;
            let snap =
                Snapshot { output: old.output.clone(), errors: errors.clone(), version, builds, reused: 0, last_ms };
            *shared.now.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
            let _ = shared.tx.send(Message::Failed(version, errors.clone()));
            report(Notice::Failed(errors));
        }
    }
}

/// How many files differ between two outputs, and which of them are stylesheets. A file copied
/// from disk counts as changed when its source is among the `changed` paths (or when they are
/// unknown).
fn diff(old: &Output, new: &Output, changed: &[PathBuf]) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut css = Vec::new();
    let mut count = |path: &str| {
        n += 1;
        if path.ends_with(".css") {
            css.push(path.to_string());
        }
    };
    for (path, f) in &new.files {
        let same = match (old.files.get(path).map(|o| &o.body), &f.body) {
            // A file reused from the last build is the very same bytes.
            (Some(Body::Packed(a)), Body::Packed(b)) => Arc::ptr_eq(a, b) || a == b,
            (Some(Body::Bytes(a)), Body::Bytes(b)) => a == b,
            (Some(Body::Static(a)), Body::Static(b)) => a == b,
            // An empty `changed` means "anything may have changed" (a rescan).
            (Some(Body::File(a)), Body::File(b)) => a == b && !changed.is_empty() && !changed.iter().any(|c| c == b),
            _ => false,
        };
        if !same {
            count(path);
        }
    }
    for path in old.files.keys() {
        if !new.files.contains_key(path) {
            // A removed stylesheet needs a reload, not a swap.
            n += 1;
        }
    }
    (n, css)
}

/// The site path a request asks for, or `None` for anything that could step outside the site:
/// `..` or `.` segments (also percent-encoded), encoded slashes, backslashes, NUL.
pub(crate) fn site_path(uri_path: &str) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let trimmed = uri_path.strip_prefix('/')?;
    for seg in trimmed.split('/') {
        let bytes = crate::util::text::percent_decode(seg, crate::util::text::Malformed::Refuse)?;
        let s = String::from_utf8(bytes).ok()?;
        if s == ".." || s == "." || s.contains('/') || s.contains('\\') || s.contains('\0') {
            return None;
        }
        out.push(s);
    }
    let mut p = out.join("/");
    if p.is_empty() || p.ends_with('/') {
        p.push_str("index.html");
    }
    // `//` inside a path would be an empty segment: not a file of the site.
    if p.split('/').any(str::is_empty) {
        return None;
    }
    Some(p)
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The language home `Accept-Language` asks for among `roots` (language, home path; the
/// default first), by the order of preference the header gives (`q` weights), else the default's.
pub(crate) fn preferred_root<'a>(accept: &str, roots: &'a [(String, String)]) -> Option<&'a str> {
    let mut wanted: Vec<(f32, usize, String)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut bits = part.split(';');
            let tag = bits.next()?.trim().to_ascii_lowercase();
            let q = bits.find_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            (!tag.is_empty() && q > 0.0).then_some((q, i, tag))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, tag) in &wanted {
        let main = tag.split('-').next().unwrap_or("");
        if let Some((_, root)) = roots.iter().find(|(l, _)| l == tag || l == main) {
            return Some(root);
        }
    }
    roots.first().map(|(_, r)| r.as_str())
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    let raw = uri.path();
    match raw {
        "/_sopixi/dev/events" => return events(shared),
        "/_sopixi/dev/live.js" => {
            return no_store(([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], LIVE_JS).into_response())
        }
        "/_sopixi/dev/status" => {
            let s = shared.snapshot();
            let v = json!({"builds": s.builds, "version": s.version, "errors": s.errors, "reused": s.reused,
                           "last_ms": s.last_ms, "files": s.output.len(), "server": shared.instance});
            return no_store(([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response());
        }
        _ => {}
    }
    let snap = shared.snapshot();
    // A site whose every language has its folder: `/` sends the visitor to their language, as a
    // host that reads `Accept-Language` does.
    if raw == "/" && !snap.output.language_roots.is_empty() {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if let Some(root) = preferred_root(accept, &snap.output.language_roots) {
            let mut r = (StatusCode::FOUND, [(header::LOCATION, root.to_string())]).into_response();
            r.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Language"));
            return no_store(r);
        }
    }
    let Some(path) = site_path(raw) else { return not_found(&snap, &shared) };
    if let Some(f) = snap.output.files.get(&path) {
        return file_response(&path, &f.body, StatusCode::OK, &snap, &shared);
    }
    // `/blog` → `/blog/`, as a static host would.
    let dir_index = format!("{path}/index.html");
    if !path.ends_with("index.html") && snap.output.files.contains_key(&dir_index) {
        let location = format!("{}/", raw.trim_end_matches('/'));
        return no_store((StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response());
    }
    not_found(&snap, &shared)
}

fn not_found(snap: &Snapshot, shared: &Shared) -> Response {
    match snap.output.files.get("404.html") {
        Some(f) => file_response("404.html", &f.body, StatusCode::NOT_FOUND, snap, shared),
        None => no_store(
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                format!("<!doctype html><title>Not found</title><p>Not found.</p>{}", script_tag(snap, shared)),
            )
                .into_response(),
        ),
    }
}

fn script_tag(snap: &Snapshot, shared: &Shared) -> String {
    format!(
        "<script src=\"/{DEV_DIR}/live.js\" data-version=\"{}\" data-server=\"{}\"></script>",
        snap.version, shared.instance
    )
}

fn file_response(path: &str, body: &Body, status: StatusCode, snap: &Snapshot, shared: &Shared) -> Response {
    let bytes = match body.bytes() {
        Ok(b) => b.into_owned(),
        Err(e) => {
            return no_store(
                (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read the file of /{path}: {e}")).into_response(),
            )
        }
    };
    let ctype = output::content_type(path);
    let bytes = if ctype.starts_with("text/html") { with_live_script(bytes, &script_tag(snap, shared)) } else { bytes };
    let mut r = Response::new(HttpBody::from(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    no_store(r)
}

/// The page with the live-reload script before its last `</body>` (or at its end).
fn with_live_script(mut html: Vec<u8>, tag: &str) -> Vec<u8> {
    let needle = b"</body>";
    let at = html.windows(needle.len()).rposition(|w| w.eq_ignore_ascii_case(needle)).unwrap_or(html.len());
    html.splice(at..at, tag.bytes());
    html
}

fn event_of(m: &Message) -> Event {
    match m {
        Message::Reload(v) => Event::default().event("reload").data(json!({"version": v}).to_string()),
        Message::Css(v, paths) => Event::default().event("css").data(json!({"version": v, "paths": paths}).to_string()),
        Message::Failed(v, errors) => {
            Event::default().event("failed").data(json!({"version": v, "errors": errors}).to_string())
        }
    }
}

fn events(shared: Arc<Shared>) -> Response {
    // Subscribe before reading the state, so nothing between the two is missed.
    let rx = shared.tx.subscribe();
    let snap = shared.snapshot();
    let hello = Event::default()
        .event("hello")
        .data(json!({"server": shared.instance, "version": snap.version, "errors": snap.errors}).to_string());
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(m) => return Some((Ok::<Event, Infallible>(event_of(&m)), rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let stream = futures::stream::once(async move { Ok::<Event, Infallible>(hello) }).chain(rest);
    no_store(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// The script added to every HTML response of the preview.
const LIVE_JS: &str = include_str!("live.js");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_cannot_leave_the_site() {
        assert_eq!(site_path("/").as_deref(), Some("index.html"));
        let roots = vec![("fr".to_string(), "/fr/".to_string()), ("en".to_string(), "/en/".to_string())];
        assert_eq!(preferred_root("en-GB,en;q=0.9,fr;q=0.8", &roots), Some("/en/"));
        assert_eq!(preferred_root("de-DE, fr;q=0.5, en;q=0.7", &roots), Some("/en/"));
        assert_eq!(preferred_root("fr-BE", &roots), Some("/fr/"));
        assert_eq!(preferred_root("de", &roots), Some("/fr/"), "else the default language");
        assert_eq!(preferred_root("", &roots), Some("/fr/"));
        assert_eq!(preferred_root("en;q=0, fr", &roots), Some("/fr/"));
        assert_eq!(site_path("/blog/").as_deref(), Some("blog/index.html"));
        assert_eq!(site_path("/style.css").as_deref(), Some("style.css"));
        assert_eq!(site_path("/caf%C3%A9/").as_deref(), Some("café/index.html"));
        for bad in [
            "/../etc/passwd",
            "/blog/../../x",
            "/%2e%2e/x",
            "/%2E%2E/x",
            "/..%2fx",
            "/a%2f..%2f..%2fx",
            "/a%5c..%5cx",
            "/a\\..\\x",
            "/./x",
            "/a//b",
            "/%00",
            "/%zz",
        ] {
            assert_eq!(site_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_live_script_goes_before_the_last_body_end() {
        let out = with_live_script(b"<html><body>a</body></html>".to_vec(), "<s>");
        assert_eq!(out, b"<html><body>a<s></body></html>");
        let out = with_live_script(b"<p>no body".to_vec(), "<s>");
        assert_eq!(out, b"<p>no body<s>");
    }

    #[test]
    fn editor_files_are_not_changes() {
        let root = Path::new("/s");
        assert!(relevant(Path::new("/s/content/a.md"), root, None));
        assert!(relevant(Path::new("/s/site.yaml"), root, None));
        assert!(relevant(Path::new("/t/templates/page.html"), root, Some(Path::new("/t"))));
        for noise in [
            "/s/content/.a.md.swp",
            "/s/content/4913",
            "/s/content/a.md~",
            "/s/public/index.html",
            "/s/content/#a.md#",
            "/s/notes.txt",
        ] {
            assert!(!relevant(Path::new(noise), root, None), "{noise}");
        }
    }
}
