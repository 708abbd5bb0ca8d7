//! The `Output`: every file of the built site, in memory or as a reference to a source file, keyed
//! by site path; and writing it to a folder.
//!
//! In: files added by `build`. Out: a folder on disk where only changed files are rewritten (the
//! mtime of an unchanged file stays), files no longer produced are removed, and a manifest
//! (`.sopixi-output.json`) records what was written. Writing happens only for a complete build;
//! a folder that sopixi did not write is never emptied.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::util::diag::{Diagnostic, Origin};

/// The content of one output file.
#[derive(Debug, Clone)]
pub enum Body {
    /// Produced by the build.
    Bytes(Vec<u8>),
    /// Produced by the build, LZ4-compressed while the rest of the site renders (a 10,000-page
    /// site holds 85 MB of HTML until it is written; compressed it is a fifth of that). Shared, so
    /// that `serve` reuses a finished file in the next build without copying it.
    Packed(std::sync::Arc<Vec<u8>>),
    /// Compiled into the binary (bundled theme files).
    Static(&'static [u8]),
    /// Copied from a source file as is (static files, bundle files).
    File(PathBuf),
    /// Produced by the build and already written, with this length, into the staging folder of
    /// a `Spool` (a fresh build does not hold its pages in memory).
    Spooled(PathBuf, u64),
}

/// One output file and what produced it (for collision messages).
#[derive(Debug, Clone)]
pub struct OutFile {
    /// The bytes.
    pub body: Body,
    /// The source that produced it (`content/blog/hello.md`, `static/logo.svg` …, or a generated
    /// output such as the sitemap).
    pub origin: Origin,
}

/// The built site.
#[derive(Debug, Default)]
pub struct Output {
    /// Site path without leading slash (`blog/hello/index.html`) → file.
    pub files: BTreeMap<String, OutFile>,
    /// Paths of the HTML pages that carry adult content (and so must keep their age gate).
    pub adult: std::collections::BTreeSet<String>,
    /// Each template that rendered an HTML page → the pages it rendered, in path order (the
    /// pages `sopixi check --browser` opens: one of each template).
    pub templates: BTreeMap<String, Vec<String>>,
    /// A multilingual site whose default language has its own folder: each language and the
    /// path of its home, the default first (`/` then sends visitors to their language).
    pub(crate) language_roots: Vec<(String, String)>,
    /// The `base_url` the pages were built for (their absolute links start with it).
    pub base_url: String,
}

impl Output {
    /// Adds a file; a path already produced by something else is a collision naming both.
    pub fn add(&mut self, path: String, body: Body, origin: impl Into<Origin>) -> Result<(), Diagnostic> {
        let origin = origin.into();
        if let Some(existing) = self.files.get(&path) {
            return Err(Diagnostic::new(
                &origin,
                format!("output file /{path} is also produced by {}", existing.origin),
            )
            .hint("rename one of them, or give the page another `slug`"));
        }
        self.files.insert(path, OutFile { body, origin });
        Ok(())
    }

    /// Adds a file, replacing one of the same path (a site file overriding a theme file).
    pub fn put(&mut self, path: String, body: Body, origin: impl Into<Origin>) {
        self.files.insert(path, OutFile { body, origin: origin.into() });
    }

    /// The bytes of a file (reads it from disk for [`Body::File`]).
    pub fn bytes(&self, path: &str) -> Option<io::Result<Cow<'_, [u8]>>> {
        self.files.get(path).map(|f| body_bytes(&f.body))
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl Body {
    /// Compresses bytes produced by the build.
    pub(crate) fn packed(bytes: &[u8]) -> Body {
        Body::Packed(std::sync::Arc::new(lz4_flex::compress_prepend_size(bytes)))
    }

    /// The size in bytes (a file system lookup for [`Body::File`]).
    pub fn len(&self) -> io::Result<u64> {
        Ok(match self {
            Body::Bytes(v) => v.len() as u64,
            Body::Packed(v) => {
                let n: [u8; 4] = v.get(..4).and_then(|b| b.try_into().ok()).unwrap_or_default();
                u64::from(u32::from_le_bytes(n))
            }
            Body::Static(s) => s.len() as u64,
            Body::File(p) => std::fs::metadata(p)?.len(),
            Body::Spooled(_, n) => *n,
        })
    }

    /// Whether the body holds no bytes.
    pub fn is_empty(&self) -> io::Result<bool> {
        self.len().map(|n| n == 0)
    }

    /// The bytes (read from disk for [`Body::File`], decompressed for [`Body::Packed`]).
    pub fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        body_bytes(self)
    }
}

fn body_bytes(b: &Body) -> io::Result<Cow<'_, [u8]>> {
    Ok(match b {
        Body::Bytes(v) => Cow::Borrowed(v.as_slice()),
        Body::Packed(v) => Cow::Owned(
            lz4_flex::decompress_size_prepended(v.as_slice())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
        ),
        Body::Static(s) => Cow::Borrowed(s),
        Body::File(p) | Body::Spooled(p, _) => Cow::Owned(std::fs::read(p)?),
    })
}

/// The manifest's file name, at the root of the output folder.
pub(crate) const MANIFEST: &str = ".sopixi-output.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime_ns: u128,
    hash: String,
}

/// Figures of a build, for the summary line and `--json`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BuildStats {
    /// Content pages rendered.
    pub pages: usize,
    /// Sections rendered (home included).
    pub sections: usize,
    /// Files in the output, all kinds.
    pub files: usize,
    /// Image variants made by this build (decoded, resized, encoded).
    pub images_made: usize,
    /// Image variants this build took from the cache.
    pub images_cached: usize,
}

/// What a build leaves in its output manifest, and a later build that finds nothing to do
/// reports again: its figures and the pages the platform withholds. Written and read as one
/// value (an empty object reads as nothing built).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    /// The build's figures.
    #[serde(flatten)]
    pub stats: BuildStats,
    /// Pages the platform withholds: (URL path, reason).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<(String, String)>,
}

/// What the last write left in an output folder.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Manifest {
    /// Fingerprint of everything the build read, as computed by `build`.
    pub(crate) input_hash: String,
    /// The build's figures and withheld pages, reported again when nothing changed.
    #[serde(default)]
    pub summary: Summary,
    files: BTreeMap<String, Stamp>,
    /// Pages with adult content, which `sopixi check --output` holds to the age gate.
    #[serde(default)]
    pub adult: Vec<String>,
    /// (template, page): the pages `sopixi check --browser --output` opens, one of each template
    /// (and one adult page of each).
    #[serde(default)]
    pub template_pages: Vec<(String, String)>,
    /// The `base_url` the pages were built for (`check --browser --output` serves them locally).
    #[serde(default)]
    pub base_url: String,
}

impl Manifest {
    /// Files written and their total size in bytes.
    pub fn totals(&self) -> (usize, u64) {
        (self.files.len(), self.files.values().map(|s| s.size).sum())
    }

    /// The blake3 hash (hex) recorded for `path` if the file still has the size and mtime it was
    /// written with (`md`), so that a reader (deploy) need not read and hash it again.
    pub(crate) fn intact_hash(&self, path: &str, md: &std::fs::Metadata) -> Option<&str> {
        self.files.get(path).filter(|s| s.size == md.len() && s.mtime_ns == mtime_ns(md)).map(|s| s.hash.as_str())
    }
}

/// An error while writing the output folder.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", .path.display())]
pub struct WriteError {
    /// The file or folder at fault.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

fn werr(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError { path: path.to_path_buf(), source }
}

/// What a write did.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct WriteStats {
    /// Files created or rewritten.
    pub written: usize,
    /// Files left as they were.
    pub unchanged: usize,
    /// Files removed because the build no longer produces them.
    pub removed: usize,
}

fn mtime_ns(m: &std::fs::Metadata) -> u128 {
    m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
}

/// One page of each template, and one adult page of each: (template, page path), in template
/// order.
pub fn template_pages(output: &Output) -> Vec<(String, String)> {
    let mut picked = Vec::new();
    for (template, pages) in &output.templates {
        for adult in [false, true] {
            if let Some(p) = pages.iter().find(|p| output.adult.contains(*p) == adult) {
                picked.push((template.clone(), p.clone()));
            }
        }
    }
    picked
}

/// Reads the manifest of `dir`, if sopixi wrote it.
pub fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read(dir.join(MANIFEST)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// If `dir` holds the output of a build with this `input_hash`, untouched since, its manifest.
pub(crate) fn current_manifest(dir: &Path, input_hash: &str) -> Option<Manifest> {
    let m = read_manifest(dir)?;
    if m.input_hash != input_hash {
        return None;
    }
    let intact = m.files.par_iter().all(|(path, stamp)| {
        std::fs::metadata(dir.join(path)).is_ok_and(|md| md.len() == stamp.size && mtime_ns(&md) == stamp.mtime_ns)
    });
    intact.then_some(m)
}

/// Checks that `dir` may be written: missing, empty, or written by sopixi before.
pub(crate) fn check_writable(dir: &Path) -> Result<(), String> {
    match std::fs::read_dir(dir) {
        Err(_) => Ok(()),
        Ok(mut entries) => {
            if entries.next().is_none() || dir.join(MANIFEST).exists() {
                Ok(())
            } else {
                Err(format!(
                    "the output folder {} is not empty and was not written by sopixi; sopixi removes stale files from its output folder, so it will not touch this one: remove it or choose another with -o",
                    dir.display()
                ))
            }
        }
    }
}

/// The bytes of `file`, to be written at `dest`; a read failure names the file that was read.
fn file_bytes<'a>(file: &'a OutFile, dest: &Path) -> Result<Cow<'a, [u8]>, WriteError> {
    body_bytes(&file.body).map_err(werr(match &file.body {
        Body::File(p) | Body::Spooled(p, _) => p.as_path(),
        _ => dest,
    }))
}

/// The record of a file just written.
fn stamp(md: &std::fs::Metadata, bytes: &[u8]) -> Stamp {
    Stamp { size: md.len(), mtime_ns: mtime_ns(md), hash: blake3::hash(bytes).to_hex().to_string() }
}

/// Writes `output` into `dir`: changed files only, files of the previous write that are no longer
/// produced removed, manifest last. Files sopixi did not write (such as `.git`) are left alone.
pub fn write(output: &Output, dir: &Path, input_hash: &str, summary: Summary) -> Result<WriteStats, WriteError> {
    std::fs::create_dir_all(dir).map_err(werr(dir))?;
    let old = read_manifest(dir).unwrap_or_default();
    let results: Vec<Result<(String, Stamp, bool), WriteError>> = output
        .files
        .par_iter()
        .map(|(path, file)| {
            let dest = dir.join(path);
            let bytes = file_bytes(file, &dest)?;
            let hash = blake3::hash(&bytes).to_hex().to_string();
            if !old.files.contains_key(path) {
                // Most likely a new file: create it without looking first (two system calls
                // fewer per file on a fresh build).
                let mut attempt = create_new(&dest, &bytes);
                if attempt.as_ref().is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
                    if let Some(parent) = dest.parent() {
                        create_dir_replacing_files(dir, parent)?;
                    }
                    attempt = create_new(&dest, &bytes);
                }
                match attempt {
                    Ok(md) => return Ok((path.clone(), Stamp { size: md.len(), mtime_ns: mtime_ns(&md), hash }, true)),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(WriteError { path: dest, source: e }),
                }
            }
            let existing = std::fs::metadata(&dest).ok();
            if let Some(md) = &existing {
                if md.is_file() && md.len() == bytes.len() as u64 {
                    let known = old
                        .files
                        .get(path)
                        .is_some_and(|s| s.hash == hash && s.size == md.len() && s.mtime_ns == mtime_ns(md));
                    if known || std::fs::read(&dest).is_ok_and(|b| b == *bytes) {
                        return Ok((path.clone(), Stamp { size: md.len(), mtime_ns: mtime_ns(md), hash }, false));
                    }
                }
                if md.is_dir() {
                    std::fs::remove_dir_all(&dest).map_err(werr(&dest))?;
                }
            }
            if let Some(parent) = dest.parent() {
                create_dir_replacing_files(dir, parent)?;
            }
            if existing.is_some() {
                // Replace atomically: a server reading the folder sees the old file or the new one.
                let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("f");
                let tmp = dest.with_file_name(format!(".{name}.sopixi-tmp"));
                std::fs::write(&tmp, &bytes).map_err(werr(&tmp))?;
                std::fs::rename(&tmp, &dest).map_err(werr(&dest))?;
            } else {
                std::fs::write(&dest, &bytes).map_err(werr(&dest))?;
            }
            let md = std::fs::metadata(&dest).map_err(werr(&dest))?;
            Ok((path.clone(), Stamp { size: md.len(), mtime_ns: mtime_ns(&md), hash }, true))
        })
        .collect();
    let mut stats = WriteStats::default();
    let mut files = BTreeMap::new();
    for r in results {
        let (path, stamp, written) = r?;
        if written {
            stats.written += 1;
        } else {
            stats.unchanged += 1;
        }
        files.insert(path, stamp);
    }
    stats.removed = remove_stale(dir, output, &old)?;
    let adult = output.adult.iter().cloned().collect();
    let template_pages = template_pages(output);
    let manifest = Manifest {
        input_hash: input_hash.to_string(),
        summary,
        files,
        adult,
        template_pages,
        base_url: output.base_url.clone(),
    };
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec(&manifest).unwrap_or_default()).map_err(werr(&tmp))?;
    std::fs::rename(&tmp, dir.join(MANIFEST)).map_err(werr(dir))?;
    Ok(stats)
}

/// The staging folder of a fresh build: when the output folder is missing or empty, each page
/// is written there as soon as it is finished, instead of being held in memory until the whole
/// site has rendered. The folder sits beside the output folder and takes its place only when the
/// build succeeded ([`Spool::commit`]); a failed or interrupted build leaves no output folder
/// behind (dropping the spool removes it; a leftover of a killed process is removed by the next
/// process that builds into the same folder).
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    target: PathBuf,
    stamps: std::sync::Mutex<Vec<(String, Stamp)>>,
    committed: bool,
}

const STAGING: &str = ".sopixi-staging-";

impl Spool {
    /// A spool for `target` when it is missing or an empty folder; `None` otherwise (a rebuild
    /// compares with the files already there) or when the staging folder cannot be made.
    pub(crate) fn fresh(target: &Path) -> Option<Spool> {
        let name = target.file_name()?.to_str()?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Only a plain empty folder gives way: not a symbolic link, not a mount point, not one
        // with something in it.
        let existing = match std::fs::symlink_metadata(target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(_) => return None,
            Ok(md) if !md.is_dir() || std::fs::read_dir(target).ok()?.next().is_some() => return None,
            Ok(md) => Some(md),
        };
        std::fs::create_dir_all(&parent).ok()?;
        #[cfg(unix)]
        if let Some(md) = &existing {
            use std::os::unix::fs::MetadataExt;
            if std::fs::metadata(&parent).ok()?.dev() != md.dev() {
                return None;
            }
        }
        remove_abandoned(&parent);
        let dir = parent.join(format!(".{name}{STAGING}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).ok()?;
        if let Some(md) = existing {
            // The folder that gives way keeps its permissions.
            let _ = std::fs::set_permissions(&dir, md.permissions());
        }
        Some(Spool { dir, target: target.to_path_buf(), stamps: Default::default(), committed: false })
    }

    /// Writes the file at site path `path`. A path written twice keeps its first bytes: the
    /// build reports the collision and fails.
    pub(crate) fn put(&self, path: &str, bytes: &[u8]) -> Result<Body, WriteError> {
        let dest = self.dir.join(path);
        // Pretty URLs put most pages alone in a new folder: make it first rather than fail to
        // create the file, then make it.
        if let Some(parent) = dest.parent().filter(|_| path.contains('/')) {
            if let Err(e) = std::fs::create_dir(parent) {
                if e.kind() != io::ErrorKind::AlreadyExists {
                    std::fs::create_dir_all(parent).map_err(werr(parent))?;
                }
            }
        }
        let attempt = create_new(&dest, bytes);
        let len = bytes.len() as u64;
        match attempt {
            Ok(md) => {
                self.stamps.lock().unwrap_or_else(|e| e.into_inner()).push((path.to_string(), stamp(&md, bytes)));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(WriteError { path: dest, source: e }),
        }
        Ok(Body::Spooled(dest, len))
    }

    /// Writes the rest of `output` (static files, images) into the staging folder, then the
    /// manifest, then puts the folder in the output folder's place.
    pub(crate) fn commit(
        mut self,
        output: &Output,
        input_hash: &str,
        summary: Summary,
    ) -> Result<WriteStats, WriteError> {
        let mut stamps: std::collections::HashMap<String, Stamp> =
            std::mem::take(&mut *self.stamps.lock().unwrap_or_else(|e| e.into_inner())).into_iter().collect();
        let dir = self.dir.clone();
        let rest: Vec<Result<(String, Stamp), WriteError>> = output
            .files
            .par_iter()
            .filter(|(path, f)| !(matches!(f.body, Body::Spooled(..)) && stamps.contains_key(*path)))
            .map(|(path, file)| {
                let dest = dir.join(path);
                let bytes = file_bytes(file, &dest)?;
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(werr(parent))?;
                }
                let md = create_new(&dest, &bytes).map_err(werr(&dest))?;
                Ok((path.clone(), stamp(&md, &bytes)))
            })
            .collect();
        for r in rest {
            let (path, stamp) = r?;
            stamps.insert(path, stamp);
        }
        // Only what the output lists: nothing else was written into the folder.
        let files: BTreeMap<String, Stamp> =
            output.files.keys().filter_map(|p| stamps.remove(p).map(|s| (p.clone(), s))).collect();
        let stats = WriteStats { written: files.len(), unchanged: 0, removed: 0 };
        let adult = output.adult.iter().cloned().collect();
        let template_pages = template_pages(output);
        let manifest = Manifest {
            input_hash: input_hash.to_string(),
            summary,
            files,
            adult,
            template_pages,
            base_url: output.base_url.clone(),
        };
        let m = dir.join(MANIFEST);
        std::fs::write(&m, serde_json::to_vec(&manifest).unwrap_or_default()).map_err(werr(&m))?;
        // An empty output folder gives way; one that is not empty any more (something wrote into
        // it during the build) stays, and the build fails.
        if std::fs::symlink_metadata(&self.target).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir(&self.target).map_err(werr(&self.target))?;
        }
        std::fs::rename(&dir, &self.target).map_err(werr(&self.target))?;
        self.committed = true;
        Ok(stats)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Removes the staging folders left in `parent` by builds that were killed (their process is
/// gone), whatever output they were for. Each folder is looked through once per process: a
/// platform run makes one spool per partner in the same folder, and listing its 100,000 entries
/// for each of them would be quadratic (a killed build's leftover in a folder already looked
/// through is removed by the next process).
fn remove_abandoned(parent: &Path) {
    static SWEPT: std::sync::Mutex<BTreeSet<PathBuf>> = std::sync::Mutex::new(BTreeSet::new());
    if !SWEPT.lock().unwrap_or_else(|e| e.into_inner()).insert(parent.to_path_buf()) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.rsplit_once(STAGING))
            .filter(|(head, _)| head.len() > 1 && head.starts_with('.'))
            .map(|(_, pid)| pid)
        else {
            continue;
        };
        let alive = pid.parse::<u32>().is_ok_and(|pid| {
            pid == std::process::id()
                || !Path::new("/proc/self").exists()
                || Path::new(&format!("/proc/{pid}")).exists()
        });
        if !alive {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Writes a file that must not exist yet; returns its metadata.
fn create_new(dest: &Path, bytes: &[u8]) -> io::Result<std::fs::Metadata> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(dest)?;
    f.write_all(bytes)?;
    f.metadata()
}

/// Creates `parent` and its ancestors below `root`, replacing any plain file in the way (a path
/// that was a file in the previous build and is a folder now).
fn create_dir_replacing_files(root: &Path, parent: &Path) -> Result<(), WriteError> {
    if std::fs::create_dir_all(parent).is_ok() {
        return Ok(());
    }
    let mut p = parent;
    let mut blockers = Vec::new();
    while p != root {
        if p.is_file() {
            blockers.push(p.to_path_buf());
        }
        match p.parent() {
            Some(q) => p = q,
            None => break,
        }
    }
    for b in blockers {
        let _ = std::fs::remove_file(&b);
    }
    std::fs::create_dir_all(parent).map_err(werr(parent))
}

/// Removes the files the previous write produced that this output no longer has. Only files
/// listed in the previous manifest are touched: what someone else put in the folder stays.
fn remove_stale(dir: &Path, output: &Output, old: &Manifest) -> Result<usize, WriteError> {
    let mut removed = 0;
    let mut parents = BTreeSet::new();
    for path in old.files.keys().filter(|p| !output.files.contains_key(*p)) {
        let full = dir.join(path);
        match std::fs::remove_file(&full) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(WriteError { path: full, source: e }),
        }
        let mut p = full.parent();
        while let Some(d) = p.filter(|d| *d != dir && d.starts_with(dir)) {
            parents.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    // Deepest first, so emptied parents go too.
    for d in parents.iter().rev() {
        if std::fs::read_dir(d).is_ok_and(|mut r| r.next().is_none()) {
            let _ = std::fs::remove_dir(d);
        }
    }
    Ok(removed)
}

/// The MIME type of a site path, with `charset=utf-8` for text.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_staging_folders_are_looked_for_once_per_folder() {
        let d = tempfile::tempdir().unwrap();
        let dead = |name: &str| {
            let p = d.path().join(format!(".{name}{STAGING}4000000000"));
            std::fs::create_dir_all(p.join("blog")).unwrap();
            p
        };
        let (a, b) = (dead("a"), dead("b"));
        let ours = d.path().join(format!(".c{STAGING}{}", std::process::id()));
        std::fs::create_dir(&ours).unwrap();
        let spool = Spool::fresh(&d.path().join("a")).unwrap();
        // Every dead build's leftover goes, whichever output it was for; a live one stays.
        assert!(!a.exists() && !b.exists() && ours.exists());
        drop(spool);
        // The folder is not listed again by this process (one spool per partner in a platform
        // run would make that quadratic): a leftover appearing now waits for the next process.
        let later = dead("e");
        let spool = Spool::fresh(&d.path().join("e")).unwrap();
        assert!(later.exists());
        drop(spool);
    }

    #[test]
    fn collisions_name_both_origins() {
        let mut o = Output::default();
        o.add("a/index.html".into(), Body::Bytes(b"1".to_vec()), "content/a.md").unwrap();
        let e = o.add("a/index.html".into(), Body::Bytes(b"2".to_vec()), "static/a/index.html").unwrap_err();
        assert!(e.to_string().contains("content/a.md") && e.to_string().contains("static/a/index.html"), "{e}");
    }

    #[test]
    fn rewrites_only_changes_and_removes_stale() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let mut o = Output::default();
        o.add("a.txt".into(), Body::Bytes(b"a".to_vec()), "x").unwrap();
        o.add("b/c.txt".into(), Body::Bytes(b"c".to_vec()), "x").unwrap();
        let s = write(&o, &out, "h1", Summary::default()).unwrap();
        assert_eq!(s, WriteStats { written: 2, unchanged: 0, removed: 0 });
        assert!(current_manifest(&out, "h1").is_some());
        assert!(current_manifest(&out, "h2").is_none());
        let mut o2 = Output::default();
        o2.add("a.txt".into(), Body::Bytes(b"a".to_vec()), "x").unwrap();
        o2.add("d.txt".into(), Body::Bytes(b"d".to_vec()), "x").unwrap();
        let s = write(&o2, &out, "h2", Summary::default()).unwrap();
        assert_eq!(s, WriteStats { written: 1, unchanged: 1, removed: 1 });
        assert!(!out.join("b").exists(), "emptied folder removed");
    }

    #[test]
    fn refuses_foreign_folders() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("precious.txt"), "x").unwrap();
        assert!(check_writable(d.path()).is_err());
        assert!(check_writable(&d.path().join("missing")).is_ok());
    }
}
