//! The pure half of a deploy: the manifest, the plan (old manifest or listing + new files →
//! ordered upload phases and deletions), the links between pages that order them, and the
//! header rules (`Content-Type`, `Cache-Control`).
//!
//! In: values. Out: values. Must never touch the disk or the network: `deploy` does the IO.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::site::config::{DeployConfig, DeployMatcher};

/// HTML pages are uploaded in at most this many dependency waves (then deepest first).
pub(crate) const MAX_HTML_WAVES: usize = 8;

/// `Cache-Control` of pages, feeds and the sitemap: caches must ask again every time.
pub(crate) const REVALIDATE: &str = "public, max-age=0, must-revalidate";
/// `Cache-Control` of content-addressed files (and the platform's `/_sopixi/` files).
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of other files (images, PDFs, unhashed CSS/JS): an hour.
pub(crate) const MODERATE: &str = "public, max-age=3600";

/// What the target holds for one file, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// blake3 of the file's bytes as built (before any compression).
    pub(crate) hash: String,
    /// Size as built.
    pub size: u64,
    /// `Content-Type` sent.
    pub content_type: String,
    /// `Cache-Control` sent.
    pub cache_control: String,
    /// `Content-Encoding` sent (`gzip`), if the object is compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
}

/// The manifest object: what the last deploy left on the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// The sopixi version that wrote it.
    #[serde(default)]
    pub generator: String,
    /// Site path → entry.
    pub files: BTreeMap<String, Entry>,
    /// Objects the deploy that wrote this manifest was about to delete (kept so that a deploy
    /// killed while deleting finishes the job next time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) pending_deletes: Vec<String>,
    /// What the published files were made from (a platform run's input fingerprint): a run whose
    /// inputs are the same has nothing to publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    /// A deploy in progress holds the target until it is done (or until the lease runs out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Objects new to the target that the deploy holding the lease may upload: when that deploy
    /// is killed, the next one removes those its own files do not use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploading: Vec<String>,
}

/// Who is deploying to a target, and until when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Unique to one deploy.
    pub(crate) token: String,
    /// The machine (host name) of the deploying process.
    pub host: String,
    /// Its process id.
    pub(crate) pid: u32,
    /// Unix time (seconds) after which the lease may be taken over.
    pub until: u64,
}

/// What the target is compared against.
#[derive(Debug, Clone)]
pub enum Remote {
    /// The manifest of the previous deploy.
    Manifest(Manifest),
    /// No manifest: a listing of the prefix (path → size, ETag).
    Listing(BTreeMap<String, (u64, Option<String>)>),
    /// Nothing known (`--force`, or a new release's prefix): everything is uploaded.
    Nothing,
}

/// One file of the site to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Site path.
    pub path: String,
    /// What the manifest will record.
    pub entry: Entry,
    /// Size and MD5 (hex) of the bytes as uploaded, when known (compared with listing ETags).
    pub(crate) uploaded_md5: Option<(u64, String)>,
}

/// Why a file is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// The target does not have it.
    New,
    /// The target has other bytes or other headers.
    Changed,
}

/// A group of uploads that completes before the next starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phase {
    /// `files`, `pages`, `home` or `feeds`.
    pub name: &'static str,
    /// Site paths with why, in start order.
    pub uploads: Vec<(String, Reason)>,
}

/// The ordered plan of a deploy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Upload phases, in order.
    pub phases: Vec<Phase>,
    /// Files left as they are.
    pub unchanged: usize,
    /// Objects to delete after the manifest is written (HTML first).
    pub deletes: Vec<String>,
    /// The manifest to write once every upload succeeded.
    #[serde(skip)]
    pub manifest: Manifest,
    /// Whether the manifest differs from the target's.
    pub(crate) manifest_changed: bool,
}

impl Plan {
    /// Number of uploads.
    pub fn upload_count(&self) -> usize {
        self.phases.iter().map(|p| p.uploads.len()).sum()
    }
}

/// What a site path is to a deploy, which uploads each kind in its own phase: the files pages
/// use first, then the pages, then what points at pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Stylesheets, scripts, images, documents: what pages reference.
    Asset,
    /// An HTML page.
    Page,
    /// Feeds, the sitemap and robots.txt: what lists pages.
    Listing,
}

/// The [`Class`] of a site path.
pub(crate) fn class(path: &str) -> Class {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".html") || lower.ends_with(".htm") {
        Class::Page
    } else if lower.ends_with(".xml") || lower == "robots.txt" {
        Class::Listing
    } else {
        Class::Asset
    }
}

pub(crate) fn is_home(path: &str) -> bool {
    path == "index.html"
}

pub(crate) fn depth(path: &str) -> usize {
    path.matches('/').count()
}

/// Plans a deploy: which files to upload, in which order, and what to delete.
///
/// `refs_of` gives the site paths an HTML page references (see `local_refs`); it is only asked
/// about pages that are uploaded. Pure: no IO.
pub fn plan(remote: &Remote, new: &[NewFile], refs_of: impl Fn(&str) -> Vec<String>) -> Plan {
    let mut uploads: Vec<(String, Reason)> = Vec::new();
    let mut unchanged = 0;
    for f in new {
        let reason = match remote {
            Remote::Manifest(m) => match m.files.get(&f.path) {
                None => Some(Reason::New),
                Some(e) if *e != f.entry => Some(Reason::Changed),
                Some(_) => None,
            },
            Remote::Listing(l) => match (l.get(&f.path), &f.uploaded_md5) {
                (None, _) => Some(Reason::New),
                (Some((size, Some(etag))), Some((usize_, md5)))
                    if size == usize_ && etag.trim_matches('"').eq_ignore_ascii_case(md5) =>
                {
                    None
                }
                (Some(_), _) => Some(Reason::Changed),
            },
            Remote::Nothing => Some(Reason::New),
        };
        match reason {
            Some(r) => uploads.push((f.path.clone(), r)),
            None => unchanged += 1,
        }
    }
    uploads.sort_by(|a, b| a.0.cmp(&b.0));
    let mut phases = Vec::new();
    let files: Vec<_> = uploads.iter().filter(|(p, _)| class(p) == Class::Asset).cloned().collect();
    if !files.is_empty() {
        phases.push(Phase { name: "files", uploads: files });
    }
    phases.extend(html_waves(uploads.iter().filter(|(p, _)| class(p) == Class::Page).cloned().collect(), refs_of));
    let feeds: Vec<_> = uploads.iter().filter(|(p, _)| class(p) == Class::Listing).cloned().collect();
    if !feeds.is_empty() {
        phases.push(Phase { name: "feeds", uploads: feeds });
    }

    let new_paths: BTreeSet<&str> = new.iter().map(|f| f.path.as_str()).collect();
    let mut deletes: Vec<String> = match remote {
        Remote::Manifest(m) => m
            .files
            .keys()
            .chain(m.pending_deletes.iter())
            .filter(|p| !new_paths.contains(p.as_str()))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    // Pages go before the files they may reference.
    deletes.sort_by_key(|p| (class(p) != Class::Page, p.clone()));

    let manifest = Manifest {
        version: 1,
        generator: format!("sopixi {}", env!("CARGO_PKG_VERSION")),
        files: new.iter().map(|f| (f.path.clone(), f.entry.clone())).collect(),
        ..Default::default()
    };
    let manifest_changed = match remote {
        Remote::Manifest(m) => m.files != manifest.files || !m.pending_deletes.is_empty(),
        _ => true,
    };
    Plan { phases, unchanged, deletes, manifest, manifest_changed }
}

/// Orders the HTML uploads: a page that links to another page being uploaded goes in a later
/// wave (so a served page does not link to a page not there yet), at most [`MAX_HTML_WAVES`]
/// waves; deepest first inside a wave; the home page alone, last.
pub(crate) fn html_waves(pages: Vec<(String, Reason)>, refs_of: impl Fn(&str) -> Vec<String>) -> Vec<Phase> {
    if pages.is_empty() {
        return Vec::new();
    }
    let pending: BTreeSet<&str> = pages.iter().map(|(p, _)| p.as_str()).collect();
    let deps: HashMap<&str, Vec<&str>> = pages
        .iter()
        .map(|(p, _)| {
            let d: Vec<&str> = refs_of(p)
                .iter()
                .filter_map(|r| pending.get(r.as_str()).copied())
                .filter(|r| *r != p && !is_home(r))
                .collect();
            (p.as_str(), d)
        })
        .collect();
    // level = 1 + the highest level of the pending pages it links to; a cycle is cut where found.
    fn level<'a>(
        p: &'a str,
        deps: &HashMap<&'a str, Vec<&'a str>>,
        memo: &mut HashMap<&'a str, usize>,
        visiting: &mut BTreeSet<&'a str>,
    ) -> usize {
        if let Some(l) = memo.get(p) {
            return *l;
        }
        if !visiting.insert(p) {
            return 0;
        }
        let mut l = 0;
        for d in deps.get(p).map(Vec::as_slice).unwrap_or(&[]) {
            l = l.max(1 + level(d, deps, memo, visiting));
        }
        visiting.remove(p);
        let l = l.min(MAX_HTML_WAVES - 1);
        memo.insert(p, l);
        l
    }
    let mut memo = HashMap::new();
    let mut waves: Vec<Vec<(String, Reason)>> = vec![Vec::new(); MAX_HTML_WAVES];
    let mut home = Vec::new();
    for (p, r) in &pages {
        if is_home(p) {
            home.push((p.clone(), *r));
        } else {
            let l = level(p, &deps, &mut memo, &mut BTreeSet::new());
            waves[l].push((p.clone(), *r));
        }
    }
    let mut out: Vec<Phase> = waves
        .into_iter()
        .filter(|w| !w.is_empty())
        .map(|mut w| {
            w.sort_by(|a, b| depth(&b.0).cmp(&depth(&a.0)).then_with(|| a.0.cmp(&b.0)));
            Phase { name: "pages", uploads: w }
        })
        .collect();
    if !home.is_empty() {
        out.push(Phase { name: "home", uploads: home });
    }
    out
}

/// The site paths an HTML page references through `href` and `src`: root-relative URLs, relative
/// URLs and absolute URLs under `base_url`. A URL ending in `/` means its `index.html`. Other
/// hosts, fragments-only links and `mailto:`-like schemes are ignored.
pub(crate) fn local_refs(html: &str, page: &str, base_url: &str) -> Vec<String> {
    let base_path =
        base_url.split_once("://").map(|(_, rest)| rest.find('/').map_or("/", |i| &rest[i..])).unwrap_or(base_url);
    let mut out = BTreeSet::new();
    let bytes = html.as_bytes();
    for attr in ["href=", "src="] {
        let mut from = 0;
        while let Some(i) = html[from..].find(attr) {
            let start = from + i + attr.len();
            from = start;
            let prev = (from - attr.len()).checked_sub(1).map(|j| bytes[j]);
            if !matches!(prev, Some(b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'')) {
                continue;
            }
            let value = match bytes.get(start) {
                Some(q @ (b'"' | b'\'')) => {
                    let rest = &html[start + 1..];
                    &rest[..rest.find(*q as char).unwrap_or(rest.len())]
                }
                _ => {
                    let rest = &html[start..];
                    &rest[..rest.find(|c: char| c.is_ascii_whitespace() || c == '>').unwrap_or(rest.len())]
                }
            };
            if let Some(p) = resolve_url(value, page, base_url, base_path) {
                out.insert(p);
            }
        }
    }
    out.into_iter().collect()
}

pub(crate) fn resolve_url(value: &str, page: &str, base_url: &str, base_path: &str) -> Option<String> {
    let value = value.trim();
    let value = value.split(['#', '?']).next().unwrap_or("");
    if value.is_empty() {
        return None;
    }
    let path = if let Some(rest) = value.strip_prefix(base_url) {
        rest.to_string()
    } else if value.starts_with("//") || value.split('/').next().is_some_and(|s| s.contains(':')) {
        return None;
    } else if let Some(abs) = value.strip_prefix('/') {
        let bp = base_path.trim_start_matches('/');
        abs.strip_prefix(bp).unwrap_or(abs).to_string()
    } else {
        let dir = page.rfind('/').map_or("", |i| &page[..=i]);
        format!("{dir}{value}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut p = parts.join("/");
    if p.is_empty() || p.ends_with('/') {
        p.push_str("index.html");
    }
    Some(p)
}

// ---------------------------------------------------------------------------------------------
// Headers

/// The headers every file gets: `site.yaml`'s matchers first, then the defaults.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    /// `deploy.matchers`, first match wins per header.
    pub(crate) matchers: Vec<DeployMatcher>,
    /// Gzip text files (`deploy.gzip` or `--gzip`).
    pub gzip: bool,
}

impl HeaderRules {
    /// The rules of a site's `deploy:` section (`--gzip` sets [`HeaderRules::gzip`] too).
    pub fn from_config(c: &DeployConfig) -> HeaderRules {
        HeaderRules { matchers: c.matchers.clone(), gzip: c.gzip }
    }

    /// `(Content-Type, Cache-Control, gzip)` of a site path.
    pub fn headers(&self, path: &str) -> (String, String, bool) {
        let mut ct = None;
        let mut cc = None;
        let mut gz = None;
        for m in self.matchers.iter().filter(|m| glob(m.pattern.trim_start_matches('/'), path)) {
            ct = ct.or(m.content_type.clone());
            cc = cc.or(m.cache_control.clone());
            gz = gz.or(m.gzip);
        }
        let ct = ct.unwrap_or_else(|| default_content_type(path));
        let cc = cc.unwrap_or_else(|| default_cache_control(path).to_string());
        let gz = gz.unwrap_or(self.gzip && compressible(&ct));
        (ct, cc, gz)
    }
}

/// The MIME type of a site path, with `charset=utf-8` on every text type.
pub(crate) fn default_content_type(path: &str) -> String {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with("atom.xml") {
        return "application/atom+xml; charset=utf-8".into();
    }
    if lower.ends_with("rss.xml") {
        return "application/rss+xml; charset=utf-8".into();
    }
    if lower.ends_with(".md") {
        return "text/markdown; charset=utf-8".into();
    }
    let t = crate::output::content_type(path);
    if !t.contains("charset") && (t.starts_with("text/") || matches!(t, "application/json" | "application/xml")) {
        format!("{t}; charset=utf-8")
    } else {
        t.to_string()
    }
}

/// Whether a file name carries a content hash (`app.3f9a1c2b.css`, `main-8d2f7e01ab.js`): a run
/// of at least 8 hexadecimal digits (with a digit among them) or 16 alphanumerics between
/// separators, just before the extension.
pub(crate) fn content_addressed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, _ext)) = name.rsplit_once('.') else { return false };
    let last = stem.rsplit(['.', '-', '_']).next().unwrap_or("");
    if last.len() == stem.len() {
        return false;
    }
    let hex =
        last.len() >= 8 && last.chars().all(|c| c.is_ascii_hexdigit()) && last.chars().any(|c| c.is_ascii_digit());
    let b32 = last.len() >= 16
        && last.chars().all(|c| c.is_ascii_alphanumeric())
        && last.chars().any(|c| c.is_ascii_digit())
        && last.chars().any(|c| c.is_ascii_alphabetic());
    hex || b32
}

/// The default `Cache-Control` of a site path.
pub(crate) fn default_cache_control(path: &str) -> &'static str {
    if class(path) != Class::Asset || path.ends_with(".txt") || path.ends_with(".json") {
        REVALIDATE
    } else if path.starts_with(&format!("{}/", crate::policy::compliance::ASSET_DIR))
        || path.starts_with(&format!("{}/", crate::images::OUT_DIR))
        || content_addressed(path)
    {
        IMMUTABLE
    } else {
        MODERATE
    }
}

pub(crate) fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/") || ["json", "xml", "javascript", "svg"].iter().any(|t| content_type.contains(t))
}

pub(crate) use crate::util::text::glob;
