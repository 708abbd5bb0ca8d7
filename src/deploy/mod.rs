//! Deploy: publishing a built site to an object store (S3 and S3-compatible stores, Google Cloud
//! Storage, Azure Blob Storage) or a local folder, incrementally and in an order that never
//! leaves a served page pointing at a missing file.
//!
//! In: a folder of built files (what `build` wrote), the header rules of `site.yaml` and a target
//! URL. Out: the target holding exactly those files, with `Content-Type` and `Cache-Control` set,
//! and a manifest object (`MANIFEST`: path → content hash, size, headers) that the next deploy
//! diffs against, so unchanged files are never touched and a no-change deploy is one read.
//! Uploads go in phases — other files, then HTML pages (pages linking to new pages after them,
//! deepest first, home last), then feeds, sitemap and `robots.txt` —, each phase complete before
//! the next; then the manifest; then deletions.
//!
//! It must never: delete an object the previous manifest does not list (foreign objects stay),
//! delete more than the allowed count, write the manifest before every upload succeeded, print or
//! return credentials, or publish output that fails the platform compliance check.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use object_store::path::Path as ObjPath;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    RetryConfig, WriteMultipart,
};
use serde::Serialize;

pub mod index;
pub mod plan;
pub mod releases;

use self::plan::*;

/// The manifest object, at the root of the target prefix.
pub(crate) const MANIFEST: &str = ".sopixi-deploy.json";

/// Files above this size are sent as multipart uploads.
const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
const MULTIPART_CHUNK: usize = 8 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Local files

/// A file of the built site on disk, with what the manifest will say of it.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// Site path.
    pub path: String,
    /// Where it is.
    pub(crate) abs: PathBuf,
    /// Hash, size, headers.
    pub entry: Entry,
}

/// Why a deploy failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Stopped on purpose after `exit_after_uploads` uploads (tests of an interrupted deploy):
    /// the target is left as a killed process would leave it.
    #[error("stopped after {uploaded} uploads, as asked (SOPIXI_TEST_DEPLOY_EXIT_AFTER)")]
    Interrupted {
        /// Uploads completed.
        uploaded: usize,
    },
    /// The target URL or options are wrong.
    #[error("{0}")]
    Target(String),
    /// The store refused the credentials (or they lack a permission).
    #[error("{target} refused the credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the provider's equivalent), and that they may read, list, write and delete in this bucket")]
    Credentials {
        /// The target, without credentials.
        target: String,
    },
    /// A local file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Local {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The target's manifest is not one sopixi can read.
    #[error("the deploy manifest {object} cannot be read ({reason}): delete it and deploy again (files are then compared with a listing)")]
    BadManifest {
        /// The manifest object.
        object: String,
        /// Why.
        reason: String,
    },
    /// More deletions than allowed.
    #[error("this deploy would delete {count} objects from {target}, more than the limit of {max}; nothing was changed: if that is intended, run again with --max-deletes {count}")]
    TooManyDeletes {
        /// Deletions planned.
        count: usize,
        /// The limit.
        max: usize,
        /// The target.
        target: String,
    },
    /// Files fail the platform compliance check.
    #[error("{} file{} fail the platform compliance check; nothing was deployed:\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.join("\n"))]
    Compliance(Vec<String>),
    /// Another deploy holds the target (its lease has not run out) and did not finish in time.
    #[error("another deploy (on {host}) is publishing to {target} and did not finish within {waited} s; nothing was changed: run again later (its lease runs out at unix time {until})")]
    Busy {
        /// The target.
        target: String,
        /// The other deploy's machine.
        host: String,
        /// How long this one waited.
        waited: u64,
        /// When its lease runs out.
        until: u64,
    },
    /// Another deploy took the target over while this one was uploading (its lease ran out).
    #[error("another deploy took over {target} while this one was uploading (this deploy's lease of {seconds} s ran out); its manifest was left alone: run again to publish this version")]
    TakenOver {
        /// The target.
        target: String,
        /// The lease this deploy had.
        seconds: u64,
    },
    /// A conditional write of the manifest lost: another deploy wrote it since this one read
    /// it. `deploy_async` reads it again and plans anew; after uploads began, it means this
    /// deploy's lease was taken over ([`DeployError::TakenOver`]).
    #[error("the deploy manifest of {target} changed while this deploy was planning; run again")]
    Conflict {
        /// The target.
        target: String,
    },
    /// One or more store operations failed.
    #[error("{} operation{} on {target} failed; the previous deploy's manifest was kept, so running the deploy again finishes the job:\n{}", .errors.len(), if .errors.len() == 1 { "" } else { "s" }, .errors.join("\n"))]
    Store {
        /// The target.
        target: String,
        /// One line per failed object.
        errors: Vec<String>,
    },
}

fn skip_local(name: &str) -> bool {
    name == crate::output::MANIFEST || name == MANIFEST || (name.starts_with('.') && name != ".well-known")
}

/// Lists and hashes the files of a built site folder (`.sopixi-output.json` and dot-files other
/// than `.well-known` are left out), sorted by path. Files that `sopixi build` wrote and that are
/// untouched since (same size and mtime as its manifest records) are not read again: the build's
/// hash is used.
pub fn scan_dir(
    dir: &Path,
    rules: &HeaderRules,
    built: Option<&crate::output::Manifest>,
) -> Result<Vec<LocalFile>, DeployError> {
    if !dir.is_dir() {
        return Err(DeployError::Target(format!(
            "{} is not a folder: build the site first or give another --output",
            dir.display()
        )));
    }
    let found = walk_parallel(dir)?;
    // Sizes, dates and (for files the build did not vouch for) hashes, on every core: on a
    // 10,000-file site this is most of a no-change deploy, and nearly all of it system calls.
    use rayon::prelude::*;
    let mut out = found
        .into_par_iter()
        .map(|abs| {
            let local = |source: std::io::Error| DeployError::Local { path: abs.clone(), source };
            let rel = abs.strip_prefix(dir).unwrap_or(&abs);
            let path = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            let md = std::fs::metadata(&abs).map_err(local)?;
            let (hash, size) = match built.and_then(|m| m.intact_hash(&path, &md)) {
                Some(h) => (h.to_string(), md.len()),
                None => {
                    let bytes = std::fs::read(&abs).map_err(local)?;
                    (blake3::hash(&bytes).to_hex().to_string(), bytes.len() as u64)
                }
            };
            let (content_type, cache_control, gz) = rules.headers(&path);
            let entry =
                Entry { hash, size, content_type, cache_control, content_encoding: gz.then(|| "gzip".to_string()) };
            Ok(LocalFile { path, abs, entry })
        })
        .collect::<Result<Vec<_>, DeployError>>()?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Every file under `dir` (dot-files and the manifests left out), folders read in parallel: a
/// built site is one folder per page, and reading 10,000 folders one after the other is most of a
/// no-change deploy. Symbolic links are not followed.
fn walk_parallel(dir: &Path) -> Result<Vec<PathBuf>, DeployError> {
    use rayon::prelude::*;
    let local = |path: &Path, source: std::io::Error| DeployError::Local { path: path.to_path_buf(), source };
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| local(dir, e))? {
        let e = e.map_err(|e| local(dir, e))?;
        if e.file_name().to_str().is_some_and(skip_local) {
            continue;
        }
        let t = e.file_type().map_err(|err| local(&e.path(), err))?;
        if t.is_dir() {
            dirs.push(e.path());
        } else if t.is_file() {
            files.push(e.path());
        }
    }
    let below: Vec<Vec<PathBuf>> = dirs.par_iter().map(|d| walk_parallel(d)).collect::<Result<_, _>>()?;
    files.extend(below.into_iter().flatten());
    Ok(files)
}

/// The bytes of a file as uploaded (gzip-compressed, deterministically, when its entry says so).
fn upload_bytes(f: &LocalFile) -> Result<Vec<u8>, DeployError> {
    let raw = std::fs::read(&f.abs).map_err(|source| DeployError::Local { path: f.abs.clone(), source })?;
    if f.entry.content_encoding.as_deref() == Some("gzip") {
        let mut enc = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
        enc.write_all(&raw)
            .and_then(|_| enc.flush())
            .map_err(|source| DeployError::Local { path: f.abs.clone(), source })?;
        enc.finish().map_err(|source| DeployError::Local { path: f.abs.clone(), source })
    } else {
        Ok(raw)
    }
}

/// The compliance gate: one line per HTML file that fails the platform check under `policy`
/// (`policy::check::check_files`). A page is held to the age gate when the build recorded it as adult
/// (`adult`, from the output folder's manifest) or when it carries the adult rating.
pub(crate) fn compliance_violations(
    files: &[&LocalFile],
    policy: &crate::policy::Policy,
    adult: &std::collections::BTreeSet<String>,
) -> Vec<String> {
    let list: Vec<(String, PathBuf)> = files.iter().map(|f| (f.path.clone(), f.abs.clone())).collect();
    crate::policy::check::check_files(&list, adult, policy)
        .into_iter()
        .map(|r| format!("  {}: {}", r.file, r.problems.join("; ")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Targets

/// Where to publish, as given on the command line or in `site.yaml`.
#[derive(Debug, Clone, Default)]
pub struct TargetSpec {
    /// `s3://bucket/prefix`, `gs://…`, `az://…`, `file:///folder`.
    pub url: String,
    /// S3-compatible endpoint, e.g. `http://127.0.0.1:8333`.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
}

/// An opened target.
pub struct Target {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// The URL, for messages (never holds credentials).
    pub display: String,
    /// Whether the store keeps Content-Type and Cache-Control (a folder does not).
    attributes: bool,
    /// The folder of a `file://` target.
    folder: Option<PathBuf>,
    /// Requests made through this target's own helpers (state, index, routing file, listings),
    /// shared by every `sub` of it; a deploy counts its uploads in its report.
    requests: Arc<AtomicU64>,
}

impl Target {
    /// The same store under `prefix/sub/` (one connection pool for every partner of a platform
    /// run).
    pub(crate) fn sub(&self, sub: &str) -> Target {
        let sub = sub.trim_matches('/');
        let prefix = if self.prefix.is_empty() { sub.to_string() } else { format!("{}/{sub}", self.prefix) };
        Target {
            store: self.store.clone(),
            prefix,
            display: format!("{}/{sub}/", self.display.trim_end_matches('/')),
            attributes: self.attributes,
            folder: self.folder.as_ref().map(|f| f.join(sub)),
            requests: self.requests.clone(),
        }
    }

    /// The prefix above this one and this one's last name (`sites/acme` → `sites`, `acme`);
    /// `None` at the root of the store.
    pub(crate) fn parent(&self) -> Option<(Target, String)> {
        if self.prefix.is_empty() {
            return None;
        }
        let (up, name) = self.prefix.rsplit_once('/').unwrap_or(("", self.prefix.as_str()));
        let display = self.display.trim_end_matches('/');
        let display = display.strip_suffix(name).unwrap_or(display).to_string();
        let folder = self.folder.as_ref().and_then(|f| f.parent().map(Path::to_path_buf));
        if self.folder.is_some() && folder.is_none() {
            return None;
        }
        let parent = Target {
            store: self.store.clone(),
            prefix: up.to_string(),
            display,
            attributes: self.attributes,
            folder,
            requests: self.requests.clone(),
        };
        Some((parent, name.to_string()))
    }

    /// Writes `bytes` at `path` with these headers, whatever is there (a content-addressed file:
    /// the same path always holds the same bytes).
    pub(crate) async fn put_file(
        &self,
        path: &str,
        bytes: Vec<u8>,
        content_type: &str,
        cache_control: &str,
    ) -> Result<(), DeployError> {
        let key = self.key(path)?;
        let e = Entry {
            hash: String::new(),
            size: bytes.len() as u64,
            content_type: content_type.into(),
            cache_control: cache_control.into(),
            content_encoding: None,
        };
        let opts = PutOptions { attributes: attributes(self, &e), ..Default::default() };
        self.count(1);
        self.store
            .put_opts(&key, PutPayload::from(bytes), opts)
            .await
            .map(|_| ())
            .map_err(|e| store_error(self, path, "write", e))
    }

    /// The paths of every object under `sub/` (relative to this prefix), in one listing.
    pub(crate) async fn list_under(&self, sub: &str) -> Result<Vec<String>, DeployError> {
        let full = if self.prefix.is_empty() { sub.to_string() } else { format!("{}/{sub}", self.prefix) };
        let at = ObjPath::from(full.as_str());
        let metas: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&at)).try_collect().await.map_err(|e| store_error(self, sub, "list", e))?;
        self.count(1 + metas.len() as u64 / 1000);
        let skip = if self.prefix.is_empty() { 0 } else { self.prefix.len() + 1 };
        Ok(metas.iter().map(|m| m.location.as_ref().get(skip..).unwrap_or_default().to_string()).collect())
    }

    /// The object prefix inside the bucket (`sites/acme`), without slashes at its ends.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Requests made so far through this target's helpers (and every `sub` of it).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn count(&self, n: u64) {
        self.requests.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a small object at `path` under the prefix, with its version (`None`: no such object).
    pub(crate) async fn get_small(&self, path: &str) -> Result<Option<(Vec<u8>, Version)>, DeployError> {
        let key = self.key(path)?;
        self.count(1);
        match self.store.get(&key).await {
            Ok(r) => {
                let v = object_store::UpdateVersion { e_tag: r.meta.e_tag.clone(), version: r.meta.version.clone() };
                let bytes = r.bytes().await.map_err(|e| store_error(self, path, "read", e))?;
                Ok(Some((bytes.to_vec(), Some(v))))
            }
            // A missing bucket answers like a missing object; the run must not go on into it.
            Err(e @ object_store::Error::NotFound { .. }) if e.to_string().contains("NoSuchBucket") => {
                Err(DeployError::Target(format!(
                    "the bucket of {} does not exist: create it, or check the name in --to",
                    self.display
                )))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(self, path, "read", e)),
        }
    }

    /// Writes a small object at `path`, only if it is still at version `read` (`None`: only if
    /// there is none). `Ok(false)`: another writer came first (read it again and retry). A
    /// folder target writes unconditionally.
    pub(crate) async fn put_small_if(
        &self,
        path: &str,
        bytes: Vec<u8>,
        content_type: &str,
        read: Option<Version>,
    ) -> Result<bool, DeployError> {
        let key = self.key(path)?;
        let mode = match (self.folder.is_some(), read) {
            (true, _) => object_store::PutMode::Overwrite,
            (false, Some(Some(v))) => object_store::PutMode::Update(v),
            (false, Some(None)) => object_store::PutMode::Overwrite,
            (false, None) => object_store::PutMode::Create,
        };
        let e = Entry {
            hash: String::new(),
            size: 0,
            content_type: content_type.into(),
            cache_control: "no-cache".into(),
            content_encoding: None,
        };
        let opts = PutOptions { attributes: attributes(self, &e), mode, ..Default::default() };
        self.count(1);
        match self.store.put_opts(&key, PutPayload::from(bytes), opts).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(store_error(self, path, "write", e)),
        }
    }

    /// Writes `bytes` at `path` under the prefix, whatever is there.
    pub(crate) async fn put_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<(), DeployError> {
        let key = self.key(path)?;
        self.count(1);
        self.store.put(&key, PutPayload::from(bytes)).await.map(|_| ()).map_err(|e| store_error(self, path, "write", e))
    }

    /// Deletes the object at `path` under the prefix (none there is not an error).
    pub(crate) async fn delete_one(&self, path: &str) -> Result<(), DeployError> {
        let key = self.key(path)?;
        self.count(1);
        match self.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(self, path, "delete", e)),
        }
    }

    /// The names of the folders right under the prefix.
    pub(crate) async fn folders(&self) -> Result<Vec<String>, DeployError> {
        let prefix = if self.prefix.is_empty() { None } else { Some(ObjPath::from(self.prefix.as_str())) };
        self.count(1);
        let listed =
            self.store.list_with_delimiter(prefix.as_ref()).await.map_err(|e| store_error(self, "", "list", e))?;
        Ok(listed.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_string)).collect())
    }

    /// Deletes every object under the prefix: (objects, bytes).
    pub(crate) async fn delete_all(&self) -> Result<(usize, u64), DeployError> {
        let prefix = ObjPath::from(self.prefix.as_str());
        let metas: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&prefix)).try_collect().await.map_err(|e| store_error(self, "", "list", e))?;
        let bytes = metas.iter().map(|m| m.size).sum();
        let n = metas.len();
        stream::iter(metas)
            .map(|m| async move {
                match self.store.delete(&m.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(store_error(self, m.location.as_ref(), "delete", e)),
                }
            })
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        Ok((n, bytes))
    }

    fn key(&self, path: &str) -> Result<ObjPath, DeployError> {
        let full = if self.prefix.is_empty() { path.to_string() } else { format!("{}/{path}", self.prefix) };
        ObjPath::parse(&full).map_err(|e| {
            DeployError::Target(format!("cannot name the object for /{path} on {}: {e}; rename the file", self.display))
        })
    }

    fn describe(&self, path: &str) -> String {
        format!("{}/{path}", self.display.trim_end_matches('/'))
    }
}

fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 6,
        retry_timeout: Duration::from_secs(120),
        backoff: object_store::BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            base: 2.0,
        },
    }
}

fn client() -> ClientOptions {
    ClientOptions::new().with_timeout(Duration::from_secs(120)).with_connect_timeout(Duration::from_secs(10))
}

/// `[profile]` credentials from `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`), for
/// `AWS_PROFILE` (default `default`), when the environment has none.
fn profile_credentials() -> Option<(String, String, Option<String>)> {
    let file = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".aws/credentials")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let want = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let mut section = String::new();
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.trim().trim_start_matches("profile ").to_string();
        } else if section == want {
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim().to_string();
                match k.trim() {
                    "aws_access_key_id" => id = Some(v),
                    "aws_secret_access_key" => secret = Some(v),
                    "aws_session_token" => token = Some(v),
                    _ => {}
                }
            }
        }
    }
    Some((id?, secret?, token))
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Opens a target. Credentials come from the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE` …, `GOOGLE_SERVICE_ACCOUNT`,
/// `AZURE_STORAGE_ACCOUNT_NAME` …) and never appear in messages.
pub fn open(spec: &TargetSpec) -> Result<Target, DeployError> {
    let url = spec.url.trim();
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        DeployError::Target(format!(
            "`{url}` is not a target URL: write s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or file:///folder (or name a target of site.yaml's deploy.targets)"
        ))
    })?;
    if scheme == "file" {
        let dir = PathBuf::from(rest);
        std::fs::create_dir_all(&dir)
            .map_err(|e| DeployError::Target(format!("cannot create the target folder {}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| DeployError::Target(format!("cannot use the target folder {}: {e}", dir.display())))?
            .with_automatic_cleanup(true);
        return Ok(Target {
            store: Arc::new(store),
            prefix: String::new(),
            display: url.to_string(),
            attributes: false,
            folder: Some(dir),
            requests: Arc::default(),
        });
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(DeployError::Target(format!("`{url}` names no bucket: write {scheme}://bucket/prefix")));
    }
    let prefix = prefix.trim_matches('/').to_string();
    let bad = |e: object_store::Error| DeployError::Target(format!("cannot use {url}: {e}"));
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" | "s3a" => {
            let mut b = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_retry(retry())
                .with_client_options(client());
            if env_nonempty("AWS_ACCESS_KEY_ID").is_none() {
                if let Some((id, secret, token)) = profile_credentials() {
                    b = b.with_access_key_id(id).with_secret_access_key(secret);
                    if let Some(t) = token {
                        b = b.with_token(t);
                    }
                }
            }
            let region = spec
                .region
                .clone()
                .or_else(|| env_nonempty("AWS_REGION"))
                .or_else(|| env_nonempty("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into());
            b = b.with_region(region);
            let endpoint = spec
                .endpoint
                .clone()
                .or_else(|| env_nonempty("AWS_ENDPOINT_URL_S3"))
                .or_else(|| env_nonempty("AWS_ENDPOINT_URL"));
            if let Some(ep) = endpoint {
                // Providers other than AWS (and local servers) take path-style requests.
                b = b
                    .with_allow_http(ep.starts_with("http://"))
                    .with_endpoint(ep.trim_end_matches('/'))
                    .with_virtual_hosted_style_request(false);
            }
            Arc::new(b.build().map_err(bad)?)
        }
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .with_retry(retry())
                .with_client_options(client())
                .build()
                .map_err(bad)?,
        ),
        "az" | "azure" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_container_name(bucket)
                .with_retry(retry())
                .with_client_options(client())
                .build()
                .map_err(bad)?,
        ),
        other => {
            return Err(DeployError::Target(format!(
                "unknown target scheme `{other}://`: use s3://, gs://, az:// or file://"
            )))
        }
    };
    Ok(Target {
        store,
        prefix,
        display: format!("{scheme}://{bucket}/{}", rest.split_once('/').map_or("", |r| r.1)),
        attributes: true,
        folder: None,
        requests: Arc::default(),
    })
}

fn refused(e: &object_store::Error) -> bool {
    if matches!(e, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }) {
        return true;
    }
    let s = e.to_string();
    ["SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403 Forbidden", "401 Unauthorized"]
        .iter()
        .any(|m| s.contains(m))
}

fn store_error(target: &Target, object: &str, what: &str, e: object_store::Error) -> DeployError {
    if refused(&e) {
        return DeployError::Credentials { target: target.display.clone() };
    }
    DeployError::Store {
        target: target.display.clone(),
        errors: vec![format!("  cannot {what} {}: {e}", target.describe(object))],
    }
}

// ---------------------------------------------------------------------------------------------
// Deploy

/// How to deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Abort before deleting more objects than this.
    pub max_deletes: usize,
    /// Plan only: read the target, change nothing.
    pub dry_run: bool,
    /// Upload every file whatever the target holds (the manifest still decides deletions).
    pub force: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// The site's `base_url`, to recognise absolute links to its own pages.
    pub base_url: String,
    /// Test hook: stop after this many uploads, as a kill would ([`DeployError::Interrupted`];
    /// the command line then exits with status 137).
    #[doc(hidden)]
    pub exit_after_uploads: Option<usize>,
    /// The platform policy the pages are checked against (shared: a platform run publishes
    /// every partner with the one policy, whose partner rules grow with the partners).
    pub policy: std::sync::Arc<crate::policy::Policy>,
    /// Pages the build recorded as adult (from the output folder's manifest).
    pub adult: std::collections::BTreeSet<String>,
    /// What the files were made from (a platform run's input fingerprint), kept in the manifest.
    pub inputs: Option<String>,
    /// How long this deploy's lease on the target lasts (a killed deploy's lease runs out).
    pub lease_seconds: u64,
    /// How long to wait for another deploy's lease to be released before giving up.
    pub lease_wait: Duration,
    /// The caller keeps the platform's state index (a platform run writes each partner's entry
    /// after its publish): a release publish does not first remove the partner's entry.
    pub indexed: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            concurrency: 16,
            max_deletes: 256,
            dry_run: false,
            force: false,
            progress: false,
            base_url: "/".into(),
            exit_after_uploads: None,
            policy: Default::default(),
            adult: Default::default(),
            inputs: None,
            lease_seconds: 900,
            lease_wait: Duration::from_secs(120),
            indexed: false,
        }
    }
}

/// What a deploy did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The target.
    pub target: String,
    /// The plan followed.
    pub plan: Plan,
    /// Objects uploaded (manifest not counted).
    pub uploaded: usize,
    /// Objects deleted.
    pub deleted: usize,
    /// Files left as they were.
    pub unchanged: usize,
    /// Bytes uploaded (as sent, manifest not counted).
    pub bytes: u64,
    /// Requests sent to the store (without retries).
    pub requests: u64,
    /// Whether the target had a manifest from a previous deploy.
    pub had_manifest: bool,
    /// Wall time.
    pub duration_ms: u128,
}

/// Deploys `files` to `target`: reads the target's manifest (or lists it), plans, uploads in
/// phases, writes the manifest, deletes. Creates its own tokio runtime; call from sync code.
pub fn deploy(target: &Target, files: &[LocalFile], opts: &DeployOptions) -> Result<Report, DeployError> {
    let rt = crate::util::runtime::new()
        .map_err(|e| DeployError::Target(format!("cannot start the network runtime: {e}")))?;
    let result = rt.block_on(deploy_async(target, files, opts, false));
    // Idle connections and blocking threads need not be waited for.
    rt.shutdown_background();
    result
}

/// Deploys of this process still running, by lease token: a lease of this process whose deploy
/// ended without releasing it (an interrupted deploy) may be taken over at once.
static ACTIVE: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());
static LEASES: AtomicU64 = AtomicU64::new(0);

/// This machine's name, as leases record it.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|f| std::fs::read_to_string(f).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()))
        .or_else(|| env_nonempty("HOSTNAME"))
        .unwrap_or_else(|| "unknown".into())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Whether another deploy's lease may be taken over: it ran out, or its process is gone (same
/// machine: no such process, or this process and no deploy of it holds the token).
fn lease_is_stale(l: &Lease) -> bool {
    if l.until <= now_secs() {
        return true;
    }
    if l.host != host_name() {
        return false;
    }
    if l.pid == std::process::id() {
        return !ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).contains(&l.token);
    }
    cfg!(target_os = "linux") && !Path::new(&format!("/proc/{}", l.pid)).exists()
}

/// This deploy's lease, registered as running until dropped.
struct Held(Lease);

impl Held {
    fn new(seconds: u64) -> Held {
        let n = LEASES.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let lease = Lease {
            token: format!("{}-{}-{nanos:x}-{n}", host_name(), std::process::id()),
            host: host_name(),
            pid: std::process::id(),
            until: now_secs() + seconds.max(1),
        };
        ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).insert(lease.token.clone());
        Held(lease)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.0.token);
    }
}

/// The version of the manifest read, for a conditional write (`None`: there was none).
pub type Version = Option<object_store::UpdateVersion>;

async fn read_remote(target: &Target, force: bool, requests: &AtomicU64) -> Result<(Remote, Version), DeployError> {
    let key = target.key(MANIFEST)?;
    requests.fetch_add(1, Ordering::Relaxed);
    match target.store.get(&key).await {
        Ok(r) => {
            let version = object_store::UpdateVersion { e_tag: r.meta.e_tag.clone(), version: r.meta.version.clone() };
            let bytes = r.bytes().await.map_err(|e| store_error(target, MANIFEST, "read", e))?;
            let m: Manifest = decode_manifest(&bytes)
                .map_err(|e| DeployError::BadManifest { object: target.describe(MANIFEST), reason: e.to_string() })?;
            Ok((Remote::Manifest(m), Some(version)))
        }
        Err(object_store::Error::NotFound { .. }) if force => Ok((Remote::Nothing, None)),
        Err(object_store::Error::NotFound { .. }) => {
            let prefix = if target.prefix.is_empty() { None } else { Some(target.key("")?) };
            let prefix = prefix.map(|p| ObjPath::parse(p.as_ref().trim_end_matches('/')).unwrap_or(p));
            requests.fetch_add(1, Ordering::Relaxed);
            let metas: Vec<_> = target
                .store
                .list(prefix.as_ref())
                .try_collect()
                .await
                .map_err(|e| store_error(target, "", "list", e))?;
            requests.fetch_add((metas.len() / 1000) as u64, Ordering::Relaxed);
            let strip = if target.prefix.is_empty() { String::new() } else { format!("{}/", target.prefix) };
            let listing = metas
                .into_iter()
                .filter_map(|m| {
                    let k = m.location.as_ref().strip_prefix(&strip)?.to_string();
                    Some((k, (m.size, m.e_tag)))
                })
                .collect();
            Ok((Remote::Listing(listing), None))
        }
        Err(e) => Err(store_error(target, MANIFEST, "read", e)),
    }
}

/// Reads the manifest a deploy of `target` left (`None` when there is none): what a platform run
/// compares its inputs with.
pub fn read_manifest(target: &Target) -> Result<Option<Manifest>, DeployError> {
    let rt = crate::util::runtime::new()
        .map_err(|e| DeployError::Target(format!("cannot start the network runtime: {e}")))?;
    let r = rt.block_on(read_manifest_async(target));
    rt.shutdown_background();
    r
}

/// [`read_manifest`] on the caller's runtime.
pub(crate) async fn read_manifest_async(target: &Target) -> Result<Option<Manifest>, DeployError> {
    let key = target.key(MANIFEST)?;
    match target.store.get(&key).await {
        Ok(r) => {
            let bytes = r.bytes().await.map_err(|e| store_error(target, MANIFEST, "read", e))?;
            decode_manifest(&bytes)
                .map(Some)
                .map_err(|e| DeployError::BadManifest { object: target.describe(MANIFEST), reason: e.to_string() })
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_error(target, MANIFEST, "read", e)),
    }
}

/// The wait before trying a held target again: 0.2 s, doubling, at most 2 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((200u64 << attempt.min(4)).min(2000))
}

/// Deploys on the caller's tokio runtime (see [`deploy`]). `new_prefix`: nobody has written to
/// the target's prefix (a new release's): nothing is read before the claim, which is written
/// only if there is still no manifest (a lost race reads the target as usual). That saves a
/// read and a listing per publish, two of ~65 requests of a small site.
pub(crate) async fn deploy_async(
    target: &Target,
    files: &[LocalFile],
    opts: &DeployOptions,
    mut new_prefix: bool,
) -> Result<Report, DeployError> {
    let start = Instant::now();
    let requests = AtomicU64::new(0);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let (remote, version) = if std::mem::take(&mut new_prefix) {
            (Remote::Nothing, None)
        } else {
            read_remote(target, opts.force, &requests).await?
        };
        // Another deploy holds the target: wait for it, then plan against what it left.
        let mut orphans = Vec::new();
        if let Remote::Manifest(m) = &remote {
            if let Some(l) = &m.lease {
                if !lease_is_stale(l) && !opts.dry_run {
                    if start.elapsed() < opts.lease_wait && attempt < 10_000 {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    return Err(DeployError::Busy {
                        target: target.display.clone(),
                        host: l.host.clone(),
                        waited: start.elapsed().as_secs(),
                        until: l.until,
                    });
                }
                // A deploy that never finished: the new objects it announced are removed below,
                // unless this deploy's files use them.
                orphans = m.uploading.clone();
            }
        }
        match Attempt::new(target, files, opts, &requests, start).run(Read { remote, version, orphans }).await {
            Err(DeployError::Conflict { .. }) if attempt < 20 => {
                // The manifest changed between reading it and claiming it: another deploy won
                // the race. Read it again.
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            other => return other,
        }
    }
}

/// A conditional write lost: the manifest is no longer the version read.
pub(crate) fn conflict(target: &Target) -> DeployError {
    DeployError::Conflict { target: target.display.clone() }
}

/// What the target held when a deploy attempt read it.
struct Read {
    /// The manifest (or a listing, or nothing with `--force`).
    remote: Remote,
    /// The manifest's version, for the claim's conditional write.
    version: Version,
    /// Objects a killed deploy announced: removed unless a manifest lists them.
    orphans: Vec<String>,
}

/// One attempt at a deploy, from the target as read to the manifest written: one method per
/// step (compare, the compliance gate, the claim, the phased uploads, the manifest and the
/// deletions). A lost race ([`DeployError::Conflict`] before any upload) makes
/// [`deploy_async`] read the target again and make a new attempt.
struct Attempt<'a> {
    target: &'a Target,
    files: &'a [LocalFile],
    by_path: HashMap<&'a str, &'a LocalFile>,
    opts: &'a DeployOptions,
    requests: &'a AtomicU64,
    start: Instant,
}

impl<'a> Attempt<'a> {
    fn new(
        target: &'a Target,
        files: &'a [LocalFile],
        opts: &'a DeployOptions,
        requests: &'a AtomicU64,
        start: Instant,
    ) -> Attempt<'a> {
        let by_path = files.iter().map(|f| (f.path.as_str(), f)).collect();
        Attempt { target, files, by_path, opts, requests, start }
    }

    async fn run(&self, read: Read) -> Result<Report, DeployError> {
        let Read { mut remote, version, orphans } = read;
        let had_manifest = matches!(remote, Remote::Manifest(_));
        let old = match &remote {
            Remote::Manifest(m) => Some(m.clone()),
            _ => None,
        };
        if let (true, Remote::Manifest(m)) = (self.opts.force, &mut remote) {
            // Everything goes up again; the manifest still says what may be deleted.
            m.files.values_mut().for_each(|e| e.hash.clear());
        }
        let plan = self.compare(&remote, old.as_ref(), orphans)?;
        self.gate(&plan, had_manifest)?;
        let mut report = Report {
            target: self.target.display.clone(),
            unchanged: plan.unchanged,
            had_manifest,
            ..Default::default()
        };
        let nothing = plan.upload_count() == 0 && plan.deletes.is_empty() && !plan.manifest_changed;
        if self.opts.dry_run || nothing {
            return Ok(self.report(report, plan));
        }
        let held = Held::new(self.opts.lease_seconds);
        let (claim, v1) = self.claim(&plan, old, &held, version).await?;
        if let Some(dir) = self.target.folder.as_ref().filter(|_| plan.upload_count() + plan.deletes.len() > 0) {
            remove_staging_files(dir);
        }
        let bar = crate::util::progress::bar(
            self.opts.progress,
            (plan.upload_count() + plan.deletes.len()) as u64,
            "{spinner} deploying [{bar:30}] {pos}/{len} ({per_sec})",
        );
        let uploads = self.upload(&plan, &bar, &claim, v1.clone()).await;
        let published = match uploads {
            Ok((uploaded, bytes)) => {
                (report.uploaded, report.bytes) = (uploaded, bytes);
                self.publish(&plan, &held, &bar, v1).await
            }
            Err(e) => Err(e),
        };
        bar.finish_and_clear();
        report.deleted = published?;
        drop(held);
        Ok(self.report(report, plan))
    }

    /// The report's last figures, with the plan followed.
    fn report(&self, mut report: Report, plan: Plan) -> Report {
        report.requests = self.requests.load(Ordering::Relaxed);
        report.plan = plan;
        report.duration_ms = self.start.elapsed().as_millis();
        report
    }

    /// The plan: this deploy's files against what the target holds, with the objects a killed
    /// deploy left and this deploy's inputs.
    fn compare(&self, remote: &Remote, old: Option<&Manifest>, orphans: Vec<String>) -> Result<Plan, DeployError> {
        let opts = self.opts;
        // Against a listing, files whose size matches are compared by MD5 (the ETag of a
        // single-part upload); multipart ETags (`…-N`) never match, so those are uploaded again.
        let mut new = Vec::with_capacity(self.files.len());
        for f in self.files {
            let uploaded_md5 = match remote {
                Remote::Listing(l)
                    if l.get(&f.path).is_some_and(|(_, e)| e.as_deref().is_some_and(|e| !e.contains('-'))) =>
                {
                    use md5::Digest;
                    let bytes = upload_bytes(f)?;
                    let digest = md5::Md5::digest(&bytes);
                    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                    Some((bytes.len() as u64, hex))
                }
                _ => None,
            };
            new.push(NewFile { path: f.path.clone(), entry: f.entry.clone(), uploaded_md5 });
        }
        let refs_of = |p: &str| {
            self.by_path
                .get(p)
                .and_then(|f| std::fs::read(&f.abs).ok())
                .map(|b| local_refs(&String::from_utf8_lossy(&b), p, &opts.base_url))
                .unwrap_or_default()
        };
        let mut plan = plan(remote, &new, refs_of);
        if plan.deletes.len() > opts.max_deletes {
            return Err(DeployError::TooManyDeletes {
                count: plan.deletes.len(),
                max: opts.max_deletes,
                target: self.target.display.clone(),
            });
        }
        // What a killed deploy uploaded and no manifest lists goes too (not counted in the
        // limit: nothing published used it).
        let listed = |p: &str| plan.manifest.files.contains_key(p) || old.is_some_and(|m| m.files.contains_key(p));
        let orphans: Vec<String> = orphans.into_iter().filter(|p| !listed(p)).collect();
        if !orphans.is_empty() {
            plan.deletes.extend(orphans);
            plan.deletes.sort_by_key(|p| (class(p) != Class::Page, p.clone()));
            plan.deletes.dedup();
        }
        plan.manifest.inputs = opts.inputs.clone();
        if let Some(m) = old {
            if m.lease.is_some() || !m.uploading.is_empty() || (opts.inputs.is_some() && m.inputs != opts.inputs) {
                plan.manifest_changed = true;
            }
        }
        Ok(plan)
    }

    /// The compliance gate, before anything is written: every page to upload; every page when
    /// the target has no manifest of ours (pages matched by a listing were never checked).
    fn gate(&self, plan: &Plan, had_manifest: bool) -> Result<(), DeployError> {
        let to_check: Vec<&LocalFile> = if had_manifest {
            plan.phases.iter().flat_map(|p| &p.uploads).map(|(path, _)| self.by_path[path.as_str()]).collect()
        } else {
            self.files.iter().collect()
        };
        let violations = compliance_violations(&to_check, &self.opts.policy, &self.opts.adult);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(DeployError::Compliance(violations))
        }
    }

    /// The claim: the manifest read, with this deploy's lease and the new objects it may
    /// upload, written only if nobody wrote it since it was read. Returns it and its version.
    async fn claim(
        &self,
        plan: &Plan,
        old: Option<Manifest>,
        held: &Held,
        version: Version,
    ) -> Result<(Manifest, Version), DeployError> {
        let mut claim = old.unwrap_or_else(|| Manifest {
            version: 1,
            generator: plan.manifest.generator.clone(),
            ..Default::default()
        });
        claim.lease = Some(held.0.clone());
        let mut announced: Vec<String> = plan
            .phases
            .iter()
            .flat_map(|p| &p.uploads)
            .filter(|(_, r)| *r == Reason::New)
            .map(|(p, _)| p.clone())
            .collect();
        announced.extend(claim.uploading.iter().filter(|p| !plan.deletes.contains(p)).cloned());
        announced.sort();
        announced.dedup();
        claim.uploading = announced;
        let mode = match &version {
            Some(v) => object_store::PutMode::Update(v.clone()),
            None => object_store::PutMode::Create,
        };
        let v1 = put_manifest(self.target, &claim, self.requests, mode).await?;
        Ok((claim, v1))
    }

    /// The uploads, phase by phase (each completes before the next). On a failure the lease is
    /// given back (the announced objects stay listed for the next deploy). Returns the objects
    /// and bytes sent.
    async fn upload(
        &self,
        plan: &Plan,
        bar: &indicatif::ProgressBar,
        claim: &Manifest,
        v1: Version,
    ) -> Result<(usize, u64), DeployError> {
        let (target, opts, requests) = (self.target, self.opts, self.requests);
        let uploaded = AtomicUsize::new(0);
        let bytes_sent = AtomicU64::new(0);
        for phase in &plan.phases {
            // Owned paths: a closure over borrowed items makes the future not `Send` for every
            // lifetime, which a spawned deploy (a platform run) needs.
            let paths: Vec<String> = phase.uploads.iter().map(|(p, _)| p.clone()).collect();
            let results: Vec<Result<(), DeployError>> = stream::iter(paths)
                .map(|path: String| {
                    let f = self.by_path[path.as_str()];
                    let (uploaded, bytes_sent) = (&uploaded, &bytes_sent);
                    async move {
                        // Tests stop a deploy after N uploads, as a kill would: nothing more is sent.
                        let limit = opts.exit_after_uploads;
                        if limit.is_some_and(|max| uploaded.load(Ordering::SeqCst) >= max) {
                            return Err(DeployError::Interrupted { uploaded: uploaded.load(Ordering::SeqCst) });
                        }
                        let n = upload(target, f, requests).await?;
                        bytes_sent.fetch_add(n, Ordering::Relaxed);
                        let done = uploaded.fetch_add(1, Ordering::SeqCst) + 1;
                        bar.inc(1);
                        if limit.is_some_and(|max| done >= max) {
                            return Err(DeployError::Interrupted { uploaded: done });
                        }
                        Ok(())
                    }
                })
                .buffer_unordered(opts.concurrency.max(1))
                .collect()
                .await;
            let errors: Vec<DeployError> = results.into_iter().filter_map(Result::err).collect();
            if let Some(i) = errors.iter().position(|e| matches!(e, DeployError::Interrupted { .. })) {
                return Err(errors.into_iter().nth(i).expect("found above"));
            }
            if !errors.is_empty() {
                release(target, claim, requests, v1).await;
                return Err(merge_errors(target, errors));
            }
        }
        Ok((uploaded.load(Ordering::SeqCst), bytes_sent.load(Ordering::Relaxed)))
    }

    /// Publishes: the new manifest (still leased, with the deletions pending, when there are
    /// any), the deletions (pages first), then the manifest without them. A lost condition here
    /// means another deploy took the target over. Returns the objects deleted.
    async fn publish(
        &self,
        plan: &Plan,
        held: &Held,
        bar: &indicatif::ProgressBar,
        v1: Version,
    ) -> Result<usize, DeployError> {
        let (target, requests) = (self.target, self.requests);
        let taken = |e: DeployError| match e {
            DeployError::Conflict { .. } => {
                DeployError::TakenOver { target: target.display.clone(), seconds: self.opts.lease_seconds }
            }
            other => other,
        };
        let mut m = plan.manifest.clone();
        m.pending_deletes = plan.deletes.clone();
        m.lease = (!plan.deletes.is_empty()).then(|| held.0.clone());
        let v2 = put_manifest(target, &m, requests, update(v1)).await.map_err(taken)?;
        if plan.deletes.is_empty() {
            return Ok(0);
        }
        let mut deleted = 0;
        let (pages, others): (Vec<&String>, Vec<&String>) = plan.deletes.iter().partition(|p| class(p) == Class::Page);
        for batch in [pages, others] {
            if batch.is_empty() {
                continue;
            }
            let keys: Vec<ObjPath> = batch.iter().map(|p| target.key(p)).collect::<Result<_, _>>()?;
            requests.fetch_add(keys.len().div_ceil(1000) as u64, Ordering::Relaxed);
            let results: Vec<_> =
                target.store.delete_stream(stream::iter(keys.into_iter().map(Ok)).boxed()).collect().await;
            let mut errors = Vec::new();
            for r in results {
                match r {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {
                        deleted += 1;
                        bar.inc(1);
                    }
                    Err(e) => errors.push(store_error(target, "", "delete", e)),
                }
            }
            if !errors.is_empty() {
                return Err(merge_errors(target, errors));
            }
        }
        put_manifest(target, &plan.manifest, requests, update(v2)).await.map_err(taken)?;
        Ok(deleted)
    }
}

/// Writes the claim back without the lease, if nobody wrote the manifest since (best effort).
async fn release(target: &Target, claim: &Manifest, requests: &AtomicU64, v: Version) {
    let mut back = claim.clone();
    back.lease = None;
    if let Some(v) = v {
        let _ = put_manifest(target, &back, requests, object_store::PutMode::Update(v)).await;
    }
}

/// A write conditional on the version this deploy wrote last (unconditional when the store
/// gave none back).
fn update(v: Version) -> object_store::PutMode {
    match v {
        Some(v) => object_store::PutMode::Update(v),
        None => object_store::PutMode::Overwrite,
    }
}

/// Removes the half-written files (`name#N`) a killed deploy to a folder left behind: the
/// folder store writes each file beside its final name, then renames it.
fn remove_staging_files(dir: &Path) {
    let staging = |name: &str| {
        name.rsplit_once('#')
            .is_some_and(|(stem, n)| !stem.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    for e in walkdir::WalkDir::new(dir).into_iter().filter_map(Result::ok) {
        if e.file_type().is_file() && e.file_name().to_str().is_some_and(staging) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn merge_errors(target: &Target, errors: Vec<DeployError>) -> DeployError {
    if let Some(i) = errors.iter().position(|e| matches!(e, DeployError::Credentials { .. })) {
        return errors.into_iter().nth(i).expect("index in range");
    }
    let mut lines = Vec::new();
    for e in errors {
        match e {
            DeployError::Store { errors, .. } => lines.extend(errors),
            other => lines.push(format!("  {other}")),
        }
    }
    DeployError::Store { target: target.display.clone(), errors: lines }
}

fn attributes(target: &Target, e: &Entry) -> Attributes {
    let mut a = Attributes::new();
    if target.attributes {
        a.insert(Attribute::ContentType, e.content_type.clone().into());
        a.insert(Attribute::CacheControl, e.cache_control.clone().into());
        if let Some(enc) = &e.content_encoding {
            a.insert(Attribute::ContentEncoding, enc.clone().into());
        }
    }
    a
}

/// Uploads one file; returns the bytes sent.
async fn upload(target: &Target, f: &LocalFile, requests: &AtomicU64) -> Result<u64, DeployError> {
    let key = target.key(&f.path)?;
    let bytes = upload_bytes(f)?;
    let n = bytes.len() as u64;
    let attrs = attributes(target, &f.entry);
    if n > MULTIPART_THRESHOLD {
        requests.fetch_add(2 + n.div_ceil(MULTIPART_CHUNK as u64), Ordering::Relaxed);
        let up = target
            .store
            .put_multipart_opts(&key, PutMultipartOptions { attributes: attrs, ..Default::default() })
            .await
            .map_err(|e| store_error(target, &f.path, "upload", e))?;
        let mut w = WriteMultipart::new_with_chunk_size(up, MULTIPART_CHUNK);
        w.put(bytes.into());
        w.finish().await.map_err(|e| store_error(target, &f.path, "upload", e))?;
    } else {
        requests.fetch_add(1, Ordering::Relaxed);
        target
            .store
            .put_opts(&key, PutPayload::from(bytes), PutOptions { attributes: attrs, ..Default::default() })
            .await
            .map_err(|e| store_error(target, &f.path, "upload", e))?;
    }
    Ok(n)
}

/// The manifest as stored: gzip-compressed JSON (a 10,000-file site's is 2 MB as JSON, a
/// quarter of that compressed, and it is read and written on every deploy).
fn encode_manifest(m: &Manifest) -> Vec<u8> {
    let json = serde_json::to_vec(m).unwrap_or_default();
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(json.len() / 3), flate2::Compression::fast());
    if enc.write_all(&json).is_err() {
        return json;
    }
    enc.finish().unwrap_or(json)
}

/// Reads a stored manifest, compressed or (as older deploys wrote it) plain JSON.
fn decode_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut json = Vec::with_capacity(bytes.len() * 4);
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut json).map_err(|e| e.to_string())?;
        serde_json::from_slice(&json).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// Writes the manifest; `mode` makes it conditional on the version read (a folder target
/// cannot do that and is written over: a folder is for one deploy at a time). A lost condition
/// is a [`DeployError::Conflict`]. Returns the version written.
async fn put_manifest(
    target: &Target,
    m: &Manifest,
    requests: &AtomicU64,
    mode: object_store::PutMode,
) -> Result<Version, DeployError> {
    let key = target.key(MANIFEST)?;
    let body = encode_manifest(m);
    let e = Entry {
        hash: String::new(),
        size: 0,
        content_type: "application/gzip".into(),
        cache_control: "no-store".into(),
        content_encoding: None,
    };
    let mode = if target.folder.is_some() { object_store::PutMode::Overwrite } else { mode };
    requests.fetch_add(1, Ordering::Relaxed);
    let opts = PutOptions { attributes: attributes(target, &e), mode, ..Default::default() };
    match target.store.put_opts(&key, PutPayload::from(body), opts).await {
        Ok(r) => Ok((r.e_tag.is_some() || r.version.is_some())
            .then_some(object_store::UpdateVersion { e_tag: r.e_tag, version: r.version })),
        Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
            Err(conflict(target))
        }
        Err(e) => Err(store_error(target, MANIFEST, "write", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::config::DeployMatcher;
    use std::collections::BTreeMap;

    fn entry(hash: &str, path: &str) -> Entry {
        let (ct, cc, _) = HeaderRules::default().headers(path);
        Entry { hash: hash.into(), size: 1, content_type: ct, cache_control: cc, content_encoding: None }
    }

    fn files(list: &[(&str, &str)]) -> Vec<NewFile> {
        list.iter().map(|(p, h)| NewFile { path: p.to_string(), entry: entry(h, p), uploaded_md5: None }).collect()
    }

    fn manifest(list: &[(&str, &str)]) -> Manifest {
        Manifest {
            version: 1,
            files: files(list).into_iter().map(|f| (f.path, f.entry)).collect(),
            ..Default::default()
        }
    }

    fn order(p: &Plan) -> Vec<(&str, Vec<&str>)> {
        p.phases.iter().map(|ph| (ph.name, ph.uploads.iter().map(|(p, _)| p.as_str()).collect())).collect()
    }

    #[test]
    fn first_deploy_orders_files_pages_home_feeds() {
        let new = files(&[
            ("index.html", "1"),
            ("about/index.html", "1"),
            ("blog/a/index.html", "1"),
            ("style.css", "1"),
            ("sitemap.xml", "1"),
            ("atom.xml", "1"),
            ("robots.txt", "1"),
            ("img/x.png", "1"),
        ]);
        let p = plan(&Remote::Nothing, &new, |_| Vec::new());
        assert_eq!(
            order(&p),
            vec![
                ("files", vec!["img/x.png", "style.css"]),
                ("pages", vec!["blog/a/index.html", "about/index.html"]),
                ("home", vec!["index.html"]),
                ("feeds", vec!["atom.xml", "robots.txt", "sitemap.xml"]),
            ]
        );
        assert!(p.deletes.is_empty());
        assert!(p.manifest_changed);
        assert_eq!(p.manifest.files.len(), 8);
    }

    #[test]
    fn no_change_plans_nothing() {
        let list = [("index.html", "1"), ("a.css", "2")];
        let p = plan(&Remote::Manifest(manifest(&list)), &files(&list), |_| Vec::new());
        assert_eq!(p.upload_count(), 0);
        assert_eq!(p.unchanged, 2);
        assert!(p.deletes.is_empty() && !p.manifest_changed);
    }

    #[test]
    fn changes_headers_and_deletions() {
        let old = manifest(&[("index.html", "1"), ("a.css", "2"), ("gone/index.html", "3"), ("gone.png", "4")]);
        let mut new = files(&[("index.html", "1"), ("a.css", "9"), ("b.js", "1")]);
        new[0].entry.cache_control = "no-cache".into();
        let p = plan(&Remote::Manifest(old), &new, |_| Vec::new());
        assert_eq!(order(&p), vec![("files", vec!["a.css", "b.js"]), ("home", vec!["index.html"])]);
        assert_eq!(p.phases[0].uploads[0].1, Reason::Changed);
        assert_eq!(p.phases[0].uploads[1].1, Reason::New);
        // Pages are deleted before the files they might use.
        assert_eq!(p.deletes, vec!["gone/index.html", "gone.png"]);
    }

    #[test]
    fn pending_deletes_of_a_killed_deploy_are_finished() {
        let mut old = manifest(&[("index.html", "1")]);
        old.pending_deletes = vec!["old.png".into(), "index.html".into()];
        let p = plan(&Remote::Manifest(old), &files(&[("index.html", "1")]), |_| Vec::new());
        assert_eq!(p.deletes, vec!["old.png"]);
        assert!(p.manifest_changed);
    }

    #[test]
    fn pages_linking_to_new_pages_wait_for_them() {
        let new = files(&[
            ("index.html", "1"),
            ("blog/index.html", "1"),
            ("blog/new/index.html", "1"),
            ("blog/page/2/index.html", "1"),
            ("tags/x/index.html", "1"),
        ]);
        let refs = |p: &str| -> Vec<String> {
            match p {
                "blog/index.html" => vec!["blog/new/index.html".into(), "blog/page/2/index.html".into()],
                "tags/x/index.html" => vec!["blog/new/index.html".into(), "index.html".into()],
                "blog/page/2/index.html" => vec!["blog/index.html".into()],
                _ => vec![],
            }
        };
        let p = plan(&Remote::Nothing, &new, refs);
        assert_eq!(
            order(&p),
            vec![
                ("pages", vec!["blog/new/index.html"]),
                // A cycle (page 2 ↔ listing) is cut; deepest first inside a wave.
                ("pages", vec!["blog/page/2/index.html", "tags/x/index.html"]),
                ("pages", vec!["blog/index.html"]),
                ("home", vec!["index.html"]),
            ]
        );
    }

    #[test]
    fn listing_compares_md5_and_size_and_never_deletes() {
        let mut new = files(&[("a.css", "1"), ("b.css", "1"), ("c.css", "1"), ("d.css", "1")]);
        new[0].uploaded_md5 = Some((3, "abc".into()));
        new[1].uploaded_md5 = Some((3, "abc".into()));
        let listing = BTreeMap::from([
            ("a.css".to_string(), (3, Some("\"ABC\"".to_string()))),
            ("b.css".to_string(), (4, Some("\"abc\"".to_string()))),
            ("c.css".to_string(), (3, Some("\"abc-2\"".to_string()))),
            ("foreign.txt".to_string(), (3, None)),
        ]);
        let p = plan(&Remote::Listing(listing), &new, |_| Vec::new());
        assert_eq!(p.unchanged, 1);
        assert_eq!(order(&p), vec![("files", vec!["b.css", "c.css", "d.css"])]);
        assert_eq!(p.phases[0].uploads[2].1, Reason::New);
        assert!(p.deletes.is_empty());
    }

    #[test]
    fn finds_local_references() {
        let html = r#"<link rel=stylesheet href=/theme.css><a href="https://x.org/blog/">b</a>
<img src='../img/p.png'><a href=https://other.org/x>o</a><a href=#top>t</a><a href="mailto:a@b">m</a>
<a data-href=/no.css>d</a><a href=//cdn.org/x.js>c</a><a href="sub/?q=1#f">s</a>"#;
        assert_eq!(
            local_refs(html, "blog/post/index.html", "https://x.org/"),
            vec!["blog/img/p.png", "blog/index.html", "blog/post/sub/index.html", "theme.css"]
        );
        // A base URL with a path: root-relative links carry it.
        assert_eq!(local_refs("<a href=/site/a/>", "index.html", "https://x.org/site/"), vec!["a/index.html"]);
    }

    #[test]
    fn default_headers() {
        let r = HeaderRules::default();
        assert_eq!(r.headers("index.html").0, "text/html; charset=utf-8");
        assert_eq!(r.headers("index.html").1, REVALIDATE);
        assert_eq!(r.headers("atom.xml").0, "application/atom+xml; charset=utf-8");
        assert_eq!(r.headers("sitemap.xml"), ("application/xml; charset=utf-8".into(), REVALIDATE.into(), false));
        assert_eq!(r.headers("_sopixi/platform.css").1, IMMUTABLE);
        assert_eq!(r.headers("assets/app.3f9a1c2b.js").1, IMMUTABLE);
        assert_eq!(r.headers("processed_images/door.1a2b3c4d5e6f7a8b.960x640.webp").1, IMMUTABLE);
        assert_eq!(r.headers("assets/app-3f9a1c2b.css").1, IMMUTABLE);
        assert_eq!(r.headers("css/extra.css").1, MODERATE);
        assert_eq!(r.headers("photos/holiday-2024.jpg").1, MODERATE);
        assert_eq!(r.headers("photo.jpg").0, "image/jpeg");
    }

    #[test]
    fn matchers_and_gzip() {
        let r = HeaderRules {
            matchers: vec![
                DeployMatcher {
                    pattern: "fonts/**".into(),
                    cache_control: Some("public, max-age=604800".into()),
                    content_type: None,
                    gzip: None,
                },
                DeployMatcher { pattern: "*.svg".into(), cache_control: None, content_type: None, gzip: Some(false) },
            ],
            gzip: true,
        };
        assert_eq!(r.headers("fonts/a/b.woff2").1, "public, max-age=604800");
        assert_eq!(r.headers("fonts.woff2").1, MODERATE);
        assert!(r.headers("index.html").2);
        assert!(!r.headers("logo.svg").2, "matcher turns gzip off");
        assert!(r.headers("img/logo.svg").2, "* stays within a folder");
        assert!(!r.headers("photo.jpg").2, "images are not compressed");
        assert!(glob("**/*.css", "a/b/c.css") && glob("**/*.css", "c.css") && !glob("*.css", "a/c.css"));
        assert!(!glob("**/x.css", "ax.css") && glob("**/x.css", "a/x.css"));
    }

    #[test]
    fn manifest_is_stored_compressed_and_plain_json_is_still_read() {
        let mut m = Manifest { version: 1, generator: "t".into(), ..Default::default() };
        for i in 0..200 {
            m.files.insert(format!("p/{i}/index.html"), entry(&format!("{i:064}"), &format!("p/{i}/index.html")));
        }
        let bytes = encode_manifest(&m);
        let json = serde_json::to_vec(&m).unwrap();
        assert!(bytes.starts_with(&[0x1f, 0x8b]) && bytes.len() * 3 < json.len(), "{} vs {}", bytes.len(), json.len());
        assert_eq!(decode_manifest(&bytes).unwrap().files.len(), 200);
        assert_eq!(decode_manifest(&json).unwrap().files.len(), 200);
        assert!(decode_manifest(b"not a manifest").is_err());
    }
}
