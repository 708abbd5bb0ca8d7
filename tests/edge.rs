//! `sopixi platform edge --nginx`: Debian's nginx, run unprivileged on loopback with the
//! configuration sopixi writes, in front of a real S3 server (SeaweedFS, public-read): partners
//! served by host name, from their live release or their prefix; a suspended partner, a withheld
//! page, a missing page and an unknown host answered as they should; a rollback served after a
//! reload.

use std::io::{Read, Write};

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::ObjectStoreExt;

use crate::support::s3::{free_ports, with_credentials, S3Server, BUCKET};
use crate::support::{bin, copy_dir, fixtures, Run};

fn nginx_binary() -> PathBuf {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("nginx is not installed: scripts/test installs Debian's nginx-light");
}

/// nginx running the configuration in `dir` (stopped on drop).
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(dir: &Path, port: u16) -> Nginx {
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir)
            .args(["-c", "nginx.conf", "-e"])
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "nginx did not start: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, dir: dir.to_path_buf() }
    }

    fn reload(&self) {
        let s = Command::new(nginx_binary())
            .arg("-p")
            .arg(&self.dir)
            .args(["-c", "nginx.conf", "-e"])
            .arg(self.dir.join("error.log"))
            .args(["-s", "reload"])
            .status()
            .unwrap();
        assert!(s.success());
        // The new workers take over within a moment.
        std::thread::sleep(Duration::from_millis(700));
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `path` with `Host: host`: (status, headers in lower case, body).
fn get(port: u16, host: &str, path: &str) -> (u16, String, String) {
    let (status, head, body) = get_raw(port, host, path);
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// [`get`] with the body's bytes; status 0 when the connection failed.
fn get_raw(port: u16, host: &str, path: &str) -> (u16, String, Vec<u8>) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return (0, String::new(), Vec::new()) };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut raw = Vec::new();
    let sent = write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if sent.is_err() || s.read_to_end(&mut raw).is_err() {
        return (0, String::new(), Vec::new());
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = raw.get(split + 4..).unwrap_or_default().to_vec();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head, body)
}

fn release_header(head: &str) -> String {
    head.lines().find_map(|l| l.strip_prefix("x-sopixi-release: ")).unwrap_or("").trim().to_string()
}

fn run(s3: &S3Server, args: &[&str]) -> Run {
    let mut c = bin();
    c.args(args);
    with_credentials(&mut c, s3);
    let out = c.output().unwrap();
    let r = Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(r.status, 0, "{args:?}:\n{}\n{}", r.stdout, r.stderr);
    r
}

/// The platform fixture in a temporary folder, with the commands of the test.
struct Platform {
    dir: tempfile::TempDir,
    to: String,
}

impl Platform {
    fn new() -> Platform {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixtures().join("partners"), dir.path());
        Platform { dir, to: format!("s3://{BUCKET}/sites") }
    }

    fn p(&self, rel: &str) -> String {
        self.dir.path().join(rel).to_string_lossy().into_owned()
    }

    /// `platform build` of `ids` into the bucket, with `extra` arguments: the JSON summary.
    fn build(&self, s3: &S3Server, ids: &[&str], extra: &[&str]) -> serde_json::Value {
        let (sites, policy, themes, out) = (self.p("sites"), self.p("policy.yaml"), self.p("themes"), self.p("out"));
        let mut args = vec!["platform", "build", &sites, "--policy", &policy, "--themes", &themes, "--out", &out];
        args.extend(["--to", &self.to, "--json"]);
        for id in ids {
            args.extend(["--only", id]);
        }
        args.extend_from_slice(extra);
        run(s3, &args).json()
    }

    /// `platform edge --nginx` into `edge/`, listening on `port`.
    fn edge(&self, s3: &S3Server, port: u16) -> serde_json::Value {
        self.edge_with(s3, port, &[])
    }

    fn edge_with(&self, s3: &S3Server, port: u16, extra: &[&str]) -> serde_json::Value {
        let (listen, endpoint, out, policy) =
            (format!("127.0.0.1:{port}"), s3.endpoint(), self.p("edge"), self.p("policy.yaml"));
        let args = ["platform", "edge", "--nginx", "--to", &self.to, "--endpoint", &endpoint];
        let more = ["--listen", &listen, "-o", &out, "--policy", &policy, "--json"];
        run(s3, &[&args[..], &more, extra].concat()).json()
    }

    fn edit(&self, rel: &str, f: impl FnOnce(String) -> String) {
        let path = self.dir.path().join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, f(text)).unwrap();
    }
}

fn release_of(summary: &serde_json::Value, id: &str) -> String {
    let line = summary["results"].as_array().unwrap().iter().find(|r| r["partner"] == id).unwrap();
    line["release"].as_str().unwrap_or_else(|| panic!("no release for {id}: {summary}")).to_string()
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or("").trim()
}

#[test]
fn nginx_serves_each_partner_by_host_with_notices_404s_redirects_previews_and_rollback() {
    let s3 = S3Server::start();
    let pf = Platform::new();
    pf.edit("sites/acme/content/about.md", |t| {
        t.replacen("title: About\n", "title: About\naliases: [/old-about/]\n", 1)
    });
    let first = pf.build(&s3, &["acme", "bakery", "closed", "news"], &[]);
    let r1 = release_of(&first, "acme");
    assert_eq!(first["results"][0]["status"], "published", "{first}");

    let port = free_ports(1)[0];
    let edge_dir = pf.dir.path().join("edge");
    let e = pf.edge(&s3, port);
    assert_eq!((e["report"]["partners"].as_u64(), e["report"]["redirects"].as_u64()), (Some(4), Some(1)), "{e}");
    let nginx = Nginx::start(&edge_dir, port);

    let (status, head, body) = get(port, "acme.sites.test", "/");
    assert_eq!(status, 200, "{head}{body}");
    assert_eq!(release_header(&head), r1);
    assert!(body.contains("data-sopixi-badge"), "the published page: {body}");
    assert_eq!(header(&head, "cache-control"), "public, max-age=0, must-revalidate", "pages are revalidated");
    let (status, head, _) = get(port, "www.bakery-martin.test", "/");
    assert_eq!((status, release_header(&head)), (200, release_of(&first, "bakery")), "{head}");
    let (status, _, body) = get(port, "closed.sites.test", "/anything/");
    assert_eq!(status, 503);
    assert!(body.contains("suspended") && body.contains("unpaid invoice"), "{body}");
    let (status, _, body) = get(port, "news.sites.test", "/blog/other-story/");
    assert_eq!(status, 451);
    assert!(body.contains("court order"), "{body}");
    let (status, head, body) = get(port, "acme.sites.test", "/no-such-page/");
    assert_eq!(status, 404, "{head}");
    assert!(body.contains("data-sopixi-badge"), "the site's own 404 page: {body}");
    let (status, head, body) = get(port, "nobody.example", "/");
    assert_eq!((status, release_header(&head).as_str()), (404, "none"));
    assert!(body.contains("No site here") && !body.contains("data-sopixi-badge"), "{body}");
    // An alias is a real redirect, with and without its slash; `_redirects` itself is not served.
    for from in ["/old-about/", "/old-about"] {
        let (status, head, _) = get(port, "acme.sites.test", from);
        assert_eq!(status, 301, "{from}: {head}");
        assert!(header(&head, "location").ends_with("/about/"), "{from}: {head}");
    }
    assert_eq!(get(port, "acme.sites.test", "/_redirects").0, 404);
    // A versioned file is immutable.
    let css1 = asset_urls(&body_of(port, "acme.sites.test", "/"), "acme")
        .into_iter()
        .find(|u| u.starts_with("/basic.css?v="))
        .expect("the theme's stylesheet, versioned");
    let (status, head, _) = get(port, "acme.sites.test", &css1);
    assert_eq!(status, 200);
    assert_eq!(header(&head, "cache-control"), "public, max-age=31536000, immutable", "{head}");
    // The platform's files come from the one shared copy of their version, not from the release.
    let home = body_of(port, "acme.sites.test", "/");
    let js = asset_urls(&home, "acme").into_iter().find(|u| u.starts_with("/_sopixi/platform.js?v="));
    let js = js.unwrap_or_else(|| panic!("no platform script in {home}"));
    let (status, head, body) = get(port, "acme.sites.test", &js);
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "cache-control"), "public, max-age=31536000, immutable", "{head}");
    assert!(body.contains("sopixi"), "{body}");
    assert!(s3.objects_under(&format!("sites/acme/_releases/{r1}/_sopixi/")).is_empty(), "not in the release");
    let v = js.rsplit("v=").next().unwrap();
    assert_eq!(s3.objects_under(&format!("sites/_platform/{v}/")).len(), 1, "stored once");
    let (status, _, _) = get(port, "acme.sites.test", "/_sopixi/platform.js?v=0000000000");
    assert_eq!(status, 404, "a version nobody has");

    // A preview of a change: at its own host, noindex, the live site untouched.
    pf.edit("sites/acme/content/_index.md", |t| format!("{t}\nA preview line.\n"));
    let preview = pf.build(&s3, &["acme"], &["--preview", "pr-7"]);
    let url = preview["results"][0]["preview_url"].as_str().unwrap();
    assert_eq!(url, "https://pr-7--acme.preview.sites.test/", "{preview}");
    pf.edge(&s3, port);
    nginx.reload();
    let (status, head, body) = get(port, "pr-7--acme.preview.sites.test", "/");
    assert_eq!((status, header(&head, "x-robots-tag")), (200, "noindex"), "{head}");
    assert!(body.contains("A preview line"), "{body}");
    let (_, head, body) = get(port, "acme.sites.test", "/");
    assert!(!body.contains("A preview line") && release_header(&head) == r1, "the preview is not live: {head}");

    // A new release, then a rollback: each served after writing the configuration again and a
    // reload, the partner's files untouched.
    pf.edit("themes/basic/static/basic.css", |t| format!("{t}main {{ color: #00a; }}\n"));
    let second = pf.build(&s3, &["acme"], &[]);
    let r2 = release_of(&second, "acme");
    // Without --reload, a release nginx never heard of takes two rounds of "write, reload".
    let e = pf.edge(&s3, port);
    assert_eq!(e["report"]["pending"].as_u64(), Some(1), "{e}");
    nginx.reload();
    assert_eq!(release_header(&get(port, "acme.sites.test", "/").1), r1, "first its files are known");
    let e = pf.edge(&s3, port);
    assert_eq!(e["report"]["pending"].as_u64(), Some(0), "{e}");
    nginx.reload();
    let (_, head, body) = get(port, "acme.sites.test", "/");
    assert_eq!(release_header(&head), r2);
    assert!(body.contains("A preview line"));
    let css2 = asset_urls(&body, "acme").into_iter().find(|u| u.starts_with("/basic.css?v=")).unwrap();
    assert_ne!(css1, css2, "a changed stylesheet has a new version");
    // The pages of the release before still get their own stylesheet.
    let (_, head, old) = get(port, "acme.sites.test", &css1);
    assert_eq!(release_header(&head), r1, "{head}");
    assert!(!old.contains("#00a"));
    let (_, head, new) = get(port, "acme.sites.test", &css2);
    assert_eq!(release_header(&head), r2, "{head}");
    assert!(new.contains("#00a"), "{new}");
    run(&s3, &["releases", "rollback", "--to", &format!("{}/acme", pf.to), "--json"]);
    pf.edge(&s3, port);
    nginx.reload();
    let (_, head, body) = get(port, "acme.sites.test", "/");
    assert_eq!(release_header(&head), r1);
    assert!(!body.contains("A preview line"));
    let (_, head, _) = get(port, "acme.sites.test", &css2);
    assert_eq!(release_header(&head), r2, "after a rollback the newer pages' files still answer: {head}");

    // A partner leaves: its route and every object go, and its host serves nothing any more.
    let gone = run(&s3, &["platform", "delete", "acme", "--to", &pf.to, "--json"]).json();
    let d = &gone["deleted"];
    assert_eq!((d["route"].as_bool(), d["releases"].as_u64()), (Some(true), Some(3)), "{gone}");
    assert!(d["objects"].as_u64().unwrap() > 20, "{gone}");
    let left = s3.objects_under("sites/acme/");
    assert!(left.is_empty(), "objects left: {left:?}");
    assert!(!s3.objects_under("sites/bakery/").is_empty(), "other partners stay");
    pf.edge(&s3, port);
    nginx.reload();
    let (status, head, body) = get(port, "acme.sites.test", "/");
    assert_eq!((status, release_header(&head).as_str()), (404, "none"));
    assert!(body.contains("No site here"));
}

fn body_of(port: u16, host: &str, path: &str) -> String {
    get(port, host, path).2
}

/// The site files a page names (`href`, `src`), as paths with their query, on `id`'s hosts:
/// stylesheets, scripts, images — not pages.
fn asset_urls(html: &str, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=", "src="] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
                _ => rest.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or(""),
            };
            let path = ["https://", "http://"]
                .iter()
                .find_map(|s| value.strip_prefix(s))
                .and_then(|v| v.split_once('/').filter(|(h, _)| h.contains(id) || h.ends_with(".test")))
                .map(|(_, p)| format!("/{p}"))
                .unwrap_or_else(|| value.to_string());
            let file = path.split('?').next().unwrap_or("");
            let last = file.rsplit('/').next().unwrap_or("");
            if path.starts_with('/') && !path.starts_with("//") && last.contains('.') && !last.ends_with(".html") {
                out.push(path.replace("&amp;", "&"));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// What the load generator saw.
#[derive(Default, Debug)]
struct Crawl {
    requests: usize,
    failed: Vec<String>,
    /// (release of the page, file path with query, hash of the bytes received).
    files: Vec<(String, String, blake3::Hash)>,
    releases: std::collections::BTreeSet<String>,
}

/// Visitors of `host` for `secs` seconds, `rate` requests a second in all (on loopback only):
/// each opens a page, then every file it names.
fn crawl(port: u16, host: &str, id: &str, pages: &[&str], rate: u32, secs: u64) -> Crawl {
    let threads = 4u32;
    let gap = Duration::from_secs_f64(f64::from(threads) / f64::from(rate));
    let end = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (host, id) = (host.to_string(), id.to_string());
            let pages: Vec<String> = pages.iter().map(|p| p.to_string()).collect();
            std::thread::spawn(move || {
                let mut c = Crawl::default();
                let mut next = Instant::now();
                let mut i = t as usize;
                let mut pace = || {
                    next += gap;
                    if let Some(d) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(d);
                    }
                };
                while Instant::now() < end {
                    let page = &pages[i % pages.len()];
                    i += 1;
                    pace();
                    c.requests += 1;
                    let (status, head, body) = get(port, &host, page);
                    if status != 200 {
                        c.failed.push(format!("{page}: {status}"));
                        continue;
                    }
                    let rel = release_header(&head);
                    c.releases.insert(rel.clone());
                    for file in asset_urls(&body, &id) {
                        pace();
                        c.requests += 1;
                        let (status, _, bytes) = get_raw(port, &host, &file);
                        if status != 200 {
                            c.failed.push(format!("{file} (from {page}): {status}"));
                            continue;
                        }
                        c.files.push((rel.clone(), file, blake3::hash(&bytes)));
                    }
                }
                c
            })
        })
        .collect();
    let mut all = Crawl::default();
    for h in handles {
        let c = h.join().unwrap();
        all.requests += c.requests;
        all.failed.extend(c.failed);
        all.files.extend(c.files);
        all.releases.extend(c.releases);
    }
    all
}

#[test]
fn a_release_switch_and_a_rollback_under_load_fail_no_request_and_mix_no_page() {
    let s3 = S3Server::start();
    let pf = Platform::new();
    let r1 = release_of(&pf.build(&s3, &["acme"], &[]), "acme");
    let port = free_ports(1)[0];
    pf.edge(&s3, port);
    let _nginx = Nginx::start(&pf.dir.path().join("edge"), port);
    // 200 requests a second for 15 s, loopback only; a switch at about 3 s, a rollback at 9 s.
    let started = Instant::now();
    let load = std::thread::spawn(move || {
        crawl(port, "acme.sites.test", "acme", &["/", "/about/", "/blog/", "/blog/first/"], 200, 15)
    });
    std::thread::sleep(Duration::from_secs(3));
    pf.edit("themes/basic/static/basic.css", |t| format!("{t}main {{ color: #a00; }}\n"));
    pf.edit("sites/acme/content/about.md", |t| format!("{t}\nA second release.\n"));
    let r2 = release_of(&pf.build(&s3, &["acme"], &[]), "acme");
    // A release nginx never heard of: two reloads (its files first, then its pages).
    let e = pf.edge_with(&s3, port, &["--reload"]);
    assert_eq!((e["reloads"].as_u64(), e["report"]["pending"].as_u64()), (Some(2), Some(0)), "{e}");
    let switched = started.elapsed();
    assert_eq!(release_header(&get(port, "acme.sites.test", "/").1), r2);
    std::thread::sleep(Duration::from_secs(9).saturating_sub(started.elapsed()));
    run(&s3, &["releases", "rollback", "--to", &format!("{}/acme", pf.to), "--json"]);
    // Back to a release it knows: one reload.
    let e = pf.edge_with(&s3, port, &["--reload"]);
    assert_eq!(e["reloads"].as_u64(), Some(1), "{e}");
    let rolled_back = started.elapsed();
    assert_eq!(release_header(&get(port, "acme.sites.test", "/").1), r1);
    let c = load.join().unwrap();
    // What each page's release holds at each path the page named.
    let store = s3.store();
    let mut expected: std::collections::HashMap<(String, String), blake3::Hash> = Default::default();
    let mut mixed = Vec::new();
    for (rel, file, got) in &c.files {
        let path = file.split('?').next().unwrap().trim_start_matches('/').to_string();
        let want = *expected.entry((rel.clone(), path.clone())).or_insert_with(|| {
            // The platform's files are the shared copy of the version the page names.
            let key = match file.split_once("?v=").filter(|_| path.starts_with("_sopixi/")) {
                Some((_, v)) => format!("sites/_platform/{v}/{path}"),
                None => format!("sites/acme/_releases/{rel}/{path}"),
            };
            let key = object_store::path::Path::from(key);
            let bytes =
                crate::support::s3::runtime().block_on(async { store.get(&key).await.unwrap().bytes().await.unwrap() });
            blake3::hash(&bytes)
        });
        if want != *got {
            mixed.push(format!("a page of {rel} got another release's {file}"));
        }
    }
    eprintln!(
        "load: {} requests in 15 s ({} files), switch at {:.1} s, rollback at {:.1} s, releases seen {:?}, {} failed, {} mixed",
        c.requests,
        c.files.len(),
        switched.as_secs_f64(),
        rolled_back.as_secs_f64(),
        c.releases,
        c.failed.len(),
        mixed.len()
    );
    assert!(c.failed.is_empty(), "failed requests: {:?}", &c.failed[..c.failed.len().min(10)]);
    assert!(mixed.is_empty(), "mixed pages: {:?}", &mixed[..mixed.len().min(10)]);
    assert!(c.releases.contains(&r1) && c.releases.contains(&r2), "the switch happened under load: {:?}", c.releases);
    assert!(c.requests > 1500, "the load ran: {} requests", c.requests);
    assert!(c.files.iter().any(|(_, f, _)| f.starts_with("/basic.css?v=")), "the pages' files were fetched");
}

/// A partner's identity on the S3 server: it may read and write its own inbox, nothing else.
fn partner_identity(id: &str) -> serde_json::Value {
    serde_json::json!({"name": format!("partner-{id}"),
        "credentials": [{"accessKey": format!("{id}-key"), "secretKey": format!("{id}-secret-key")}],
        "actions": [format!("Read:{BUCKET}/inbox/{id}/*"), format!("Write:{BUCKET}/inbox/{id}/*")]})
}

/// `sopixi ARGS` with partner `id`'s key.
fn as_partner(s3: &S3Server, id: &str, args: &[&str]) -> Run {
    let mut c = bin();
    c.args(args);
    with_credentials(&mut c, s3);
    c.env("AWS_ACCESS_KEY_ID", format!("{id}-key")).env("AWS_SECRET_ACCESS_KEY", format!("{id}-secret-key"));
    let out = c.output().unwrap();
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A client of the bucket with partner `id`'s key.
fn partner_store(s3: &S3Server, id: &str) -> std::sync::Arc<dyn object_store::ObjectStore> {
    std::sync::Arc::new(
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(s3.endpoint())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(format!("{id}-key"))
            .with_secret_access_key(format!("{id}-secret-key"))
            .build()
            .unwrap(),
    )
}

#[test]
fn partners_hand_in_sources_with_keys_that_write_only_their_inbox_and_only_the_platform_run_publishes() {
    let s3 = S3Server::start_with(&[partner_identity("acme"), partner_identity("bakery")]);
    let pf = Platform::new();
    let inbox = |id: &str| format!("s3://{BUCKET}/inbox/{id}");
    let submit =
        |id: &str, to: &str| as_partner(&s3, id, &["submit", &pf.p(&format!("sites/{id}")), "--to", to, "--json"]);
    let r = submit("acme", &inbox("acme"));
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    let first = r.json();
    let files = first["submitted"]["files"].as_u64().unwrap();
    assert!(files >= 4 && first["submitted"]["uploaded"].as_u64() == Some(files), "{first}");
    assert_eq!(submit("bakery", &inbox("bakery")).status, 0);
    // acme's key writes neither bakery's inbox nor anything served.
    let r = submit("acme", &inbox("bakery"));
    assert_eq!(r.status, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("refused the credentials"), "the refusal is said: {}", r.stdout);
    let store = partner_store(&s3, "acme");
    crate::support::s3::runtime().block_on(async {
        for key in
            ["sites/acme/index.html", "sites/acme/_releases.json", "inbox/bakery/submission.json", "sites/_routes.json"]
        {
            let put =
                store.put(&object_store::path::Path::from(key), object_store::PutPayload::from_static(b"x")).await;
            assert!(put.is_err(), "acme's key wrote {key}");
        }
        // Nor does anyone read an inbox without a key (the served sites are public).
        let anon = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(s3.endpoint())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_skip_signature(true)
            .build()
            .unwrap();
        assert!(anon.get(&object_store::path::Path::from("inbox/acme/submission.json")).await.is_err());
    });
    assert!(s3.objects_under("inbox/bakery/").iter().all(|k| !k.contains("acme")));

    // Nothing is served until the platform builds it.
    let port = free_ports(1)[0];
    let (sites, policy, themes, out) = (pf.p("sites"), pf.p("policy.yaml"), pf.p("themes"), pf.p("out"));
    let build = || {
        let args = ["platform", "build", &inbox(""), "--policy", &policy, "--themes", &themes, "--out", &out];
        run(&s3, &[&args[..], &["--to", &pf.to, "--json"]].concat()).json()
    };
    let _ = sites;
    let v = build();
    let st = |v: &serde_json::Value, id: &str| {
        v["results"].as_array().unwrap().iter().find(|r| r["partner"] == id).unwrap()["status"].clone()
    };
    assert_eq!((st(&v, "acme"), st(&v, "bakery")), ("published".into(), "published".into()), "{v}");
    assert_eq!(v["inbox"]["fetched"].as_u64(), Some(files + submit_count(&pf, "bakery")), "{v}");
    pf.edge(&s3, port);
    let _nginx = Nginx::start(&pf.dir.path().join("edge"), port);
    let (status, _, body) = get(port, "acme.sites.test", "/");
    assert_eq!(status, 200);
    assert!(body.contains("Acme Joinery") && body.contains("data-sopixi-badge"), "{body}");
    // No change: nothing fetched, nothing published.
    let v = build();
    assert_eq!((v["inbox"]["fetched"].as_u64(), st(&v, "acme")), (Some(0), "skipped".into()), "{v}");
    // A one-file change travels as one file, and goes live through the run.
    pf.edit("sites/acme/content/about.md", |t| format!("{t}\nSubmitted by CI.\n"));
    let again = submit("acme", &inbox("acme")).json();
    assert_eq!(again["submitted"]["uploaded"].as_u64(), Some(1), "{again}");
    let v = build();
    assert_eq!((v["inbox"]["fetched"].as_u64(), st(&v, "acme")), (Some(1), "published".into()), "{v}");
    pf.edge(&s3, port);
    _nginx.reload();
    let e = pf.edge(&s3, port);
    assert_eq!(e["report"]["pending"].as_u64(), Some(0));
    _nginx.reload();
    assert!(get(port, "acme.sites.test", "/about/").2.contains("Submitted by CI"));
    // Leaving: the served sites and the submitted sources go.
    let gone = run(&s3, &["platform", "delete", "acme", "--to", &pf.to, "--inbox", &inbox(""), "--json"]).json();
    assert!(gone["deleted"]["inbox_objects"].as_u64().unwrap() >= files, "{gone}");
    assert!(s3.objects_under("inbox/acme/").is_empty() && s3.objects_under("sites/acme/").is_empty());
    assert!(!s3.objects_under("inbox/bakery/").is_empty());
}

/// Files `submit` takes from partner `id`'s site folder of the fixture.
fn submit_count(pf: &Platform, id: &str) -> u64 {
    walk_files(&pf.dir.path().join("sites").join(id))
}

fn walk_files(dir: &Path) -> u64 {
    std::fs::read_dir(dir).unwrap().flatten().map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { 1 }).sum()
}

#[test]
fn an_edge_with_no_partner_served_from_a_release_still_starts() {
    // Every partner suspended (or the last one deleted): no server block sets the variable the
    // release pins are looked up by, and nginx refused the whole configuration.
    let s3 = S3Server::start();
    let pf = Platform::new();
    let first = pf.build(&s3, &["closed"], &[]);
    assert_eq!(first["results"][0]["status"], "suspended", "{first}");
    let port = free_ports(1)[0];
    let e = pf.edge(&s3, port);
    assert_eq!(e["report"]["partners"].as_u64(), Some(1), "{e}");
    let _nginx = Nginx::start(&pf.dir.path().join("edge"), port);
    let (status, _, body) = get(port, "closed.sites.test", "/");
    assert_eq!(status, 503);
    assert!(body.contains("unpaid invoice"), "{body}");
    assert_eq!(get(port, "nobody.example", "/").0, 404);
}
