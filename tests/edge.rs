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
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
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

#[test]
fn nginx_serves_each_partner_by_host_with_notices_404s_and_rollback() {
    let s3 = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("partners"), dir.path());
    let p = |rel: &str| dir.path().join(rel).to_string_lossy().into_owned();
    let to = format!("s3://{BUCKET}/sites");
    let policy = p("policy.yaml");
    let mut args = ["platform", "build", &p("sites")[..]].iter().map(|s| s.to_string()).collect::<Vec<_>>();
    args.extend(
        ["--policy", &policy, "--themes", &p("themes"), "--out", &p("out"), "--to", &to, "--json"].map(String::from),
    );
    for id in ["acme", "bakery", "closed", "news"] {
        args.extend(["--only".to_string(), id.to_string()]);
    }
    run(&s3, &args.iter().map(String::as_str).collect::<Vec<_>>());
    // acme publishes releases from now on (its catalog theme beside it, for `sopixi deploy`).
    copy_dir(&dir.path().join("themes/basic"), &dir.path().join("sites/acme/themes/basic"));
    let acme_to = format!("{to}/acme");
    let first =
        run(&s3, &["deploy", &p("sites/acme"), "--to", &acme_to, "--releases", "--policy", &policy, "--json"]).json();
    let r1 = first["release"]["id"].as_str().unwrap().to_string();

    let port = free_ports(1)[0];
    let edge_dir = dir.path().join("edge");
    let edge = |extra: &[&str]| {
        let listen = format!("127.0.0.1:{port}");
        let mut a = vec!["platform", "edge", "--nginx", "--to", &to, "--endpoint"];
        let endpoint = s3.endpoint();
        a.push(&endpoint);
        let e = edge_dir.to_string_lossy().into_owned();
        a.extend(["--listen", &listen, "-o", &e, "--policy", &policy]);
        a.extend_from_slice(extra);
        run(&s3, &a);
    };
    edge(&[]);
    let nginx = Nginx::start(&edge_dir, port);

    let (status, head, body) = get(port, "acme.sites.test", "/");
    assert_eq!(status, 200, "{head}{body}");
    assert_eq!(release_header(&head), r1);
    assert!(body.contains("data-sopixi-badge"), "the published page: {body}");
    let (status, head, _) = get(port, "www.bakery-martin.test", "/");
    assert_eq!((status, release_header(&head).as_str()), (200, "in-place"), "{head}");
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

    // A new release, then a rollback: each served after writing the configuration again and a
    // reload, the partner's files untouched.
    let about = dir.path().join("sites/acme/content/_index.md");
    let text = std::fs::read_to_string(&about).unwrap();
    std::fs::write(&about, format!("{text}\nA brand new line.\n")).unwrap();
    let second =
        run(&s3, &["deploy", &p("sites/acme"), "--to", &acme_to, "--releases", "--policy", &policy, "--json"]).json();
    let r2 = second["release"]["id"].as_str().unwrap().to_string();
    edge(&[]);
    nginx.reload();
    let (_, head, body) = get(port, "acme.sites.test", "/");
    assert_eq!(release_header(&head), r2);
    assert!(body.contains("A brand new line"));
    run(&s3, &["releases", "rollback", "--to", &acme_to, "--json"]);
    edge(&[]);
    nginx.reload();
    let (_, head, body) = get(port, "acme.sites.test", "/");
    assert_eq!(release_header(&head), r1);
    assert!(!body.contains("A brand new line"));

    // A partner leaves: its route and every object go, and its host serves nothing any more.
    let gone = run(&s3, &["platform", "delete", "acme", "--to", &to, "--json"]).json();
    let d = &gone["deleted"];
    assert_eq!((d["route"].as_bool(), d["releases"].as_u64()), (Some(true), Some(2)), "{gone}");
    assert!(d["objects"].as_u64().unwrap() > 20, "{gone}");
    let left = s3.objects_under("sites/acme/");
    assert!(left.is_empty(), "objects left: {left:?}");
    assert!(!s3.objects_under("sites/bakery/").is_empty(), "other partners stay");
    edge(&[]);
    nginx.reload();
    let (status, head, body) = get(port, "acme.sites.test", "/");
    assert_eq!((status, release_header(&head).as_str()), (404, "none"));
    assert!(body.contains("No site here"));
}
