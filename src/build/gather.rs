//! The read stage: everything a build reads, gathered before any work — `site.yaml` resolved,
//! the theme found, `content/`, `static/`, `templates/` and the theme's folder walked, every
//! Markdown text read — and the fingerprint of it all.
//!
//! In: the site folder and [`BuildOptions`]. Out: [`Inputs`]. Links are followed only inside
//! the site (or theme) folder; nothing is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::build::engine::Engine;
use crate::site::config::{BuildOptions, Config, SITE_FILE};
use crate::site::content;
use crate::theme::{Data, Place, ResolveError, Theme};
use crate::util::diag::{did_you_mean, BuildFailed, Diagnostic};
use crate::util::spill::{Span, Spill};
use crate::util::yaml::key_line;

/// Most files one rayon task reads or parses in a row (see `files::LEAF_PAGES`).
pub(crate) const LEAF_FILES: usize = 64;

/// A build that fails with one problem.
pub(crate) fn fail(d: Diagnostic) -> BuildFailed {
    BuildFailed::new(vec![d])
}

/// A file found under a site folder: path relative to that folder, and on disk.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// Path relative to the folder walked, `/`-separated.
    pub rel: String,
    /// The file on disk.
    pub(crate) abs: PathBuf,
}

pub(crate) fn skip_name(name: &str) -> bool {
    (name.starts_with('.') && name != ".well-known")
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".tmp")
}

/// Files under `dir`, sorted, with paths relative to it; a missing folder has none. Entries that
/// cannot be read (a dangling link, no permission) are reported against `label/…` and skipped.
pub(crate) fn walk(dir: &Path, label: &str, errors: &mut Vec<Diagnostic>) -> Vec<Found> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return out;
    }
    // Links are followed, but only to places inside the folder's parent (the site, or the theme
    // folder): a site must not publish, or read, files from elsewhere on the machine.
    // (Resolved only when a link is met: most sites have none, and resolving costs a system
    // call per path component.)
    let allowed = std::cell::OnceCell::new();
    let allowed = || allowed.get_or_init(|| dir.canonicalize().ok().and_then(|d| d.parent().map(Path::to_path_buf)));
    let rel_label = |path: &Path| {
        path.strip_prefix(dir)
            .map(|r| format!("{label}/{}", r.display()))
            .unwrap_or_else(|_| path.display().to_string())
    };
    let mut walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_str().is_some_and(skip_name));
    while let Some(entry) = walker.next() {
        match entry {
            Ok(entry) => {
                if entry.path_is_symlink() {
                    let target = entry.path().canonicalize().ok();
                    let inside = matches!((&target, allowed()), (Some(t), Some(a)) if t.starts_with(a));
                    if !inside {
                        errors.push(
                            Diagnostic::new(rel_label(entry.path()), "this link points outside the site folder")
                                .hint("copy the file into the site instead of linking to it"),
                        );
                        if entry.file_type().is_dir() {
                            walker.skip_current_dir();
                        }
                        continue;
                    }
                }
                if entry.file_type().is_file() {
                    let rel =
                        entry.path().strip_prefix(dir).unwrap_or(entry.path()).to_string_lossy().replace('\\', "/");
                    out.push(Found { rel, abs: entry.path().to_path_buf() });
                }
            }
            Err(e) => {
                let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| dir.to_path_buf());
                let why = e.io_error().map_or_else(|| e.to_string(), |io| io.to_string());
                errors.push(
                    Diagnostic::new(rel_label(&path), format!("cannot read: {why}"))
                        .hint("check that the file exists (links must not dangle) and is readable"),
                );
            }
        }
    }
    out
}

/// A Markdown file of `content/` and its text (shared: `serve` keeps the texts it read).
#[derive(Clone)]
pub(crate) struct MdFile {
    /// The file.
    pub f: Found,
    /// Its text.
    pub text: Arc<String>,
    /// The text's hash, when asked for (fingerprints, `serve`).
    pub(crate) hash: Option<blake3::Hash>,
    /// Where the body waits when it was moved out of memory: `text` is then the front matter.
    pub(crate) deferred: Option<Span>,
}

impl MdFile {
    pub(crate) fn new(f: Found, text: String, hashes: TextHashes) -> MdFile {
        let hash = (hashes == TextHashes::Keep).then(|| blake3::hash(text.as_bytes()));
        MdFile { f, text: Arc::new(text), hash, deferred: None }
    }

    /// As [`MdFile::new`], keeping only the front matter in memory: the body is written to
    /// `spill` (read back when it is converted) and what it uses is added to `scan`.
    fn deferring(f: Found, mut text: String, hashes: TextHashes, spill: &Arc<Spill>, scan: &mut BodyScan) -> MdFile {
        let hash = (hashes == TextHashes::Keep).then(|| blake3::hash(text.as_bytes()));
        let start = content::body_start(&text).filter(|&s| s < text.len());
        let Some((start, span)) = start.and_then(|s| Some((s, spill.put(&text.as_bytes()[s..]).ok()?))) else {
            return MdFile { f, text: Arc::new(text), hash, deferred: None };
        };
        scan.add(&text[start..]);
        text.truncate(start);
        text.shrink_to_fit();
        MdFile { f, text: Arc::new(text), hash, deferred: Some(span) }
    }
}

/// A plain build to a folder of a site with at least this many Markdown files moves each body
/// out of memory from reading to converting: to a spill file beside the output folder
/// (`util::spill`, unlinked at once), read back when the body is converted. At 100,000 pages
/// that is ~500 MB less for the first half of the build, for a write and a read of each body
/// in the kernel's page cache. Smaller sites hold their bodies (the spill would cost more time
/// than their memory is worth). `SOPIXI_DEFER_FROM_FILES` sets another number (tests use 1).
pub(crate) const DEFER_FROM_FILES: usize = 20_000;

pub(crate) fn defer_from_files() -> usize {
    std::env::var("SOPIXI_DEFER_FROM_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFER_FROM_FILES)
}

/// Whether [`gather`] may move big sites' bodies out of memory (`serve` keeps every text to
/// compare the next build with, and a build in memory has no folder to spill beside: they hold
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bodies<'a> {
    /// From [`DEFER_FROM_FILES`] files on, to a spill file beside this output folder.
    SpillBeside(&'a Path),
    /// Always.
    Hold,
}

/// What the bodies moved out of memory use, found when they were read: the privacy page's
/// providers and forms, and whether any has a code block (syntaxes are loaded ahead then).
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyScan {
    pub(crate) uses: crate::build::legal::Uses,
    pub(crate) fences: bool,
    /// How many bodies were moved out of memory.
    pub(crate) files: usize,
}

impl BodyScan {
    fn add(&mut self, body: &str) {
        self.fences |= crate::render::highlight::Highlighter::may_need(body);
        self.uses.add_body(body);
        self.files += 1;
    }

    fn merge(mut self, other: BodyScan) -> BodyScan {
        self.fences |= other.fences;
        self.files += other.files;
        self.uses = self.uses.merge(other.uses);
        self
    }
}

/// Everything a build reads, gathered before any work.
#[derive(Clone)]
pub(crate) struct Inputs {
    pub(crate) config_text: String,
    pub config: Config,
    pub theme: Theme,
    pub markdown: Vec<MdFile>,
    pub(crate) content_other: Vec<Found>,
    pub(crate) static_files: Vec<Found>,
    pub(crate) site_templates: Vec<Found>,
    /// The site's `i18n/LANG.yaml` files (over the theme's).
    pub(crate) site_i18n: Vec<Found>,
    /// Files that could not be read; the build goes on to find every other problem, then fails.
    pub errors: Vec<Diagnostic>,
    /// What the bodies left in their files use.
    pub(crate) deferred: BodyScan,
}

pub(crate) fn read_text(f: &Found, label: &str) -> Result<String, Diagnostic> {
    let bytes = std::fs::read(&f.abs).map_err(|e| {
        Diagnostic::new(label, format!("cannot read: {e}")).hint("check that the file exists and is readable")
    })?;
    String::from_utf8(bytes).map_err(|e| {
        Diagnostic::new(label, format!("is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
            .hint("save the file with the UTF-8 encoding")
    })
}

/// Whether [`gather`] hashes each Markdown text as it reads it: what a fingerprint and `serve`'s
/// reuse compare, and a one-off build in memory does not need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextHashes {
    /// Hash each text (it is read anyway: the hash costs little then).
    Keep,
    /// Do not.
    Skip,
}

/// Reads what a build reads (with each Markdown text's hash, as `hashes` says; a big site's bodies
/// left in their files as `bodies` allows).
pub(crate) fn gather(
    root: &Path,
    opts: &BuildOptions,
    hashes: TextHashes,
    bodies: Bodies,
) -> Result<Inputs, BuildFailed> {
    let site_file = root.join(SITE_FILE);
    if !root.is_dir() {
        return Err(fail(
            Diagnostic::new(root, "no such site folder")
                .hint("run `sopixi init NAME` to create a site, or pass the path of an existing one"),
        ));
    }
    let config_text = std::fs::read_to_string(&site_file).map_err(|e| {
        fail(
            Diagnostic::new(SITE_FILE, format!("cannot read {}: {e}", site_file.display()))
                .hint("a site folder holds a site.yaml; run `sopixi init NAME` to create one"),
        )
    })?;
    let config = Config::load(&config_text, opts).map_err(BuildFailed::new)?;
    let place = resolve_theme(root, &config, &config_text)?;
    let mut errors = Vec::new();
    let content_all = walk(&root.join("content"), "content", &mut errors);
    let static_files = walk(&root.join("static"), "static", &mut errors);
    let site_templates = walk(&root.join("templates"), "templates", &mut errors);
    let site_i18n = walk(&root.join("i18n"), "i18n", &mut errors);
    let theme = match &place {
        Place::Dir { dir, label } => {
            let files = walk(dir, label, &mut errors).into_iter().map(|f| (f.rel, f.abs)).collect();
            Theme::from_dir(place.clone(), files)
        }
        Place::Bundled(name) => Theme::bundled(name),
    };
    if let Err(d) = theme.meta() {
        errors.extend(d);
    }
    let (md, content_other): (Vec<Found>, Vec<Found>) = content_all.into_iter().partition(|f| f.rel.ends_with(".md"));
    let spill = match bodies {
        Bodies::SpillBeside(out) if md.len() >= defer_from_files() => Spill::beside(out, "-sources"),
        _ => None,
    };
    let (read, deferred): (Vec<Result<MdFile, Diagnostic>>, BodyScan) = if let Some(spill) = spill {
        let read: Vec<(Result<MdFile, Diagnostic>, BodyScan)> = md
            .into_par_iter()
            .with_max_len(LEAF_FILES)
            .map(|f| {
                let mut scan = BodyScan::default();
                let r = read_text(&f, &content::diag_path(&f.rel))
                    .map(|t| MdFile::deferring(f, t, hashes, &spill, &mut scan));
                (r, scan)
            })
            .collect();
        let mut all = BodyScan::default();
        let read = read
            .into_iter()
            .map(|(r, scan)| {
                all = std::mem::take(&mut all).merge(scan);
                r
            })
            .collect();
        (read, all)
    } else {
        let read = md
            .into_par_iter()
            .with_max_len(LEAF_FILES)
            .map(|f| read_text(&f, &content::diag_path(&f.rel)).map(|t| MdFile::new(f, t, hashes)))
            .collect();
        (read, BodyScan::default())
    };
    let mut markdown = Vec::with_capacity(read.len());
    for r in read {
        match r {
            Ok(x) => markdown.push(x),
            Err(d) => errors.push(d),
        }
    }
    Ok(Inputs {
        config_text,
        config,
        theme,
        markdown,
        content_other,
        static_files,
        site_templates,
        site_i18n,
        errors,
        deferred,
    })
}

fn resolve_theme(root: &Path, config: &Config, config_text: &str) -> Result<Place, BuildFailed> {
    match Place::resolve(
        root,
        config.theme_dir.as_deref(),
        config.theme_catalog.as_deref(),
        config.site.theme.as_deref(),
    ) {
        Ok(p) => Ok(p),
        Err(ResolveError::NoTemplates(dir)) => Err(fail(
            Diagnostic::new(dir, "this theme folder has no templates/ folder")
                .hint("a theme holds theme.yaml, templates/ and static/"),
        )),
        Err(ResolveError::Unknown { name, bundled }) => {
            let hint = match did_you_mean(&name, bundled.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? bundled themes: {}", bundled.join(", ")),
                None => format!("put the theme in themes/{name}/ or use a bundled theme: {}", bundled.join(", ")),
            };
            Err(fail(
                Diagnostic::new(SITE_FILE, format!("no theme `{name}`"))
                    .at(key_line(config_text, "theme"), None)
                    .hint(hint),
            ))
        }
    }
}

/// A fingerprint of everything a build of `root` with `opts` reads (configuration, content,
/// templates, static files, theme, policy, the sopixi binary itself): equal fingerprints mean
/// equal output.
pub(crate) fn fingerprint(inputs: &Inputs, opts: &BuildOptions, engine: &Engine) -> String {
    let mut h = blake3::Hasher::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(binary_key());
    opts.hash_into(&mut h);
    h.update(engine.policy_key.as_bytes());
    h.update(inputs.config_text.as_bytes());
    if let Some(name) = inputs.theme.bundled_name() {
        h.update(name.as_bytes());
    }
    let text_hashes: Vec<blake3::Hash> =
        inputs.markdown.par_iter().map(|m| m.hash.unwrap_or_else(|| blake3::hash(m.text.as_bytes()))).collect();
    for (m, th) in inputs.markdown.iter().zip(text_hashes) {
        h.update(m.f.rel.as_bytes());
        h.update(th.as_bytes());
    }
    let theme_files: Vec<Found> = inputs
        .theme
        .files
        .iter()
        .filter_map(|f| match &f.data {
            Data::File(abs) => Some(Found { rel: f.rel.clone(), abs: abs.clone() }),
            Data::Static(_) => None,
        })
        .collect();
    let groups: [(&str, &Vec<Found>); 5] = [
        ("c", &inputs.content_other),
        ("s", &inputs.static_files),
        ("t", &inputs.site_templates),
        ("i", &inputs.site_i18n),
        ("T", &theme_files),
    ];
    for (tag, files) in groups {
        let catalog = opts.theme_catalog.as_deref().filter(|_| tag == "T");
        let hashes: Vec<[u8; 32]> = files
            .par_iter()
            .map(|f| match catalog.filter(|c| f.abs.starts_with(c)) {
                Some(_) => catalog_file_hash(&f.abs),
                None => file_hash(&f.abs),
            })
            .collect();
        for (f, fh) in files.iter().zip(hashes) {
            h.update(tag.as_bytes());
            h.update(f.rel.as_bytes());
            h.update(&fh);
        }
    }
    h.finalize().to_hex().to_string()
}

/// The sopixi binary's size and modification time, read once per process.
fn binary_key() -> &'static [u8] {
    static KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = Vec::new();
        if let Some(md) = std::env::current_exe().ok().and_then(|p| std::fs::metadata(p).ok()) {
            key.extend_from_slice(&md.len().to_le_bytes());
            let t = md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            key.extend_from_slice(&t.to_le_bytes());
        }
        key
    })
}

fn file_hash(path: &Path) -> [u8; 32] {
    match std::fs::read(path) {
        Ok(b) => *blake3::hash(&b).as_bytes(),
        Err(_) => [0; 32],
    }
}

/// The hash of a file of the platform's theme catalog: read once per process, then taken again
/// while its size and modification time are the same (a platform run fingerprints every partner
/// on a catalog theme; the catalog is the operator's, not changed during a run).
fn catalog_file_hash(path: &Path) -> [u8; 32] {
    type Seen = std::collections::HashMap<PathBuf, (u64, std::time::SystemTime, [u8; 32])>;
    static SEEN: std::sync::OnceLock<std::sync::Mutex<Seen>> = std::sync::OnceLock::new();
    let Some((len, modified)) = std::fs::metadata(path).ok().and_then(|m| Some((m.len(), m.modified().ok()?))) else {
        return file_hash(path);
    };
    let seen = SEEN.get_or_init(Default::default);
    if let Some((l, m, h)) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
        if (*l, *m) == (len, modified) {
            return *h;
        }
    }
    let h = file_hash(path);
    seen.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf(), (len, modified, h));
    h
}

/// The order [`walk`] lists files in: by path component, each compared by name.
pub(crate) fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Whether a file name is one the build ignores (dot-files, editor backups and swap files).
pub(crate) fn ignored_name(name: &str) -> bool {
    skip_name(name)
}
