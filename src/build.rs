//! Build orchestration: load → render → finish, producing one [`Output`].
//!
//! In: the site folder and [`BuildOptions`]. Out: an [`Output`] (or every problem found), and
//! optionally that output written to a folder — only when the whole site rendered without error,
//! and skipped entirely when nothing the build reads has changed since the last write.
//! This module and `output` are the IO edge: other modules get values, not paths to read.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde_json::{json, Value};
use tera::Context;

use crate::config::{key_line, BuildOptions, Config, SITE_FILE};
use crate::content::{self, Content, Parsed};
use crate::diag::{did_you_mean, BuildFailed, Diagnostic};
use crate::highlight::Highlighter;
use crate::markdown::MdContext;
use crate::output::{self, Body, Output, WriteError, WriteStats};
use crate::templates::{self, Lookup, TemplateSource, Templates, Values};

/// The theme used when `site.yaml` names none.
pub const DEFAULT_THEME: &str = "default";

/// Figures of a build, for the summary line and `--json`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BuildStats {
    /// Content pages rendered.
    pub pages: usize,
    /// Sections rendered (home included).
    pub sections: usize,
    /// Files in the output, all kinds.
    pub files: usize,
    /// Image variants made by this build (decoded, resized, encoded).
    #[serde(default)]
    pub images_made: usize,
    /// Image variants this build took from the cache.
    #[serde(default)]
    pub images_cached: usize,
}

/// A successful build.
pub struct Built {
    /// Every file of the site.
    pub output: Output,
    /// Counts.
    pub stats: BuildStats,
    /// Time per stage, in order.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Why a build to disk did not complete.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The site has errors; nothing was written.
    #[error(transparent)]
    Failed(#[from] BuildFailed),
    /// Writing the output failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The output folder may not be written.
    #[error("{0}")]
    OutputFolder(String),
}

fn fail(d: Diagnostic) -> BuildFailed {
    BuildFailed::new(vec![d])
}

/// Runs `f` on a pool of `jobs` threads (all cores when `None`).
pub fn with_jobs<R: Send>(jobs: Option<usize>, f: impl FnOnce() -> R + Send) -> R {
    match jobs {
        Some(n) if n > 0 => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(pool) => pool.install(f),
            Err(_) => f(),
        },
        _ => f(),
    }
}

/// Where theme files come from.
#[derive(Clone)]
enum ThemeFiles {
    Dir { dir: PathBuf, label: String },
    Bundled(String, Vec<(&'static str, &'static [u8])>),
}

/// A file found under a site folder: path relative to that folder, and on disk.
#[derive(Debug, Clone)]
struct Found {
    rel: String,
    abs: PathBuf,
}

fn skip_name(name: &str) -> bool {
    (name.starts_with('.') && name != ".well-known")
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".tmp")
}

/// Files under `dir`, sorted, with paths relative to it; a missing folder has none. Entries that
/// cannot be read (a dangling link, no permission) are reported against `label/…` and skipped.
fn walk(dir: &Path, label: &str, errors: &mut Vec<Diagnostic>) -> Vec<Found> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return out;
    }
    // Links are followed, but only to places inside the folder's parent (the site, or the theme
    // folder): a site must not publish, or read, files from elsewhere on the machine.
    let allowed = dir.canonicalize().ok().and_then(|d| d.parent().map(Path::to_path_buf));
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
                    let inside = matches!((&target, &allowed), (Some(t), Some(a)) if t.starts_with(a));
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
struct MdFile {
    f: Found,
    text: Arc<String>,
    /// The text's hash, when asked for (fingerprints, `serve`).
    hash: Option<blake3::Hash>,
}

impl MdFile {
    fn new(f: Found, text: String, hash: bool) -> MdFile {
        let hash = hash.then(|| blake3::hash(text.as_bytes()));
        MdFile { f, text: Arc::new(text), hash }
    }
}

/// Everything a build reads, gathered before any work.
#[derive(Clone)]
struct Inputs {
    config_text: String,
    config: Config,
    theme: ThemeFiles,
    markdown: Vec<MdFile>,
    content_other: Vec<Found>,
    static_files: Vec<Found>,
    site_templates: Vec<Found>,
    theme_dir_files: Vec<Found>,
    /// Files that could not be read; the build goes on to find every other problem, then fails.
    errors: Vec<Diagnostic>,
}

fn read_text(f: &Found, label: &str) -> Result<String, Diagnostic> {
    let bytes = std::fs::read(&f.abs).map_err(|e| {
        Diagnostic::new(label, format!("cannot read: {e}")).hint("check that the file exists and is readable")
    })?;
    String::from_utf8(bytes).map_err(|e| {
        Diagnostic::new(label, format!("is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
            .hint("save the file with the UTF-8 encoding")
    })
}

/// Reads what a build reads; `hash`: the hash of each Markdown text too.
fn gather(root: &Path, opts: &BuildOptions, hash: bool) -> Result<Inputs, BuildFailed> {
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
    let theme = resolve_theme(root, &config, &config_text)?;
    let mut errors = Vec::new();
    let theme_yaml = match &theme {
        ThemeFiles::Dir { dir, label } => {
            std::fs::read_to_string(dir.join("theme.yaml")).ok().map(|t| (format!("{label}/theme.yaml"), t))
        }
        ThemeFiles::Bundled(name, files) => files
            .iter()
            .find(|(p, _)| *p == "theme.yaml")
            .map(|(_, b)| (format!("(bundled theme {name}) theme.yaml"), String::from_utf8_lossy(b).into_owned())),
    };
    if let Some((label, text)) = theme_yaml {
        if let Err(d) = crate::config::ThemeMeta::parse(&label, &text) {
            errors.extend(d);
        }
    }
    let content_all = walk(&root.join("content"), "content", &mut errors);
    let static_files = walk(&root.join("static"), "static", &mut errors);
    let site_templates = walk(&root.join("templates"), "templates", &mut errors);
    let theme_dir_files = match &theme {
        ThemeFiles::Dir { dir, label } => walk(dir, label, &mut errors),
        ThemeFiles::Bundled(..) => Vec::new(),
    };
    let (md, content_other): (Vec<Found>, Vec<Found>) = content_all.into_iter().partition(|f| f.rel.ends_with(".md"));
    let read: Vec<Result<MdFile, Diagnostic>> = md
        .into_par_iter()
        .with_max_len(LEAF_FILES)
        .map(|f| read_text(&f, &content::diag_path(&f.rel)).map(|t| MdFile::new(f, t, hash)))
        .collect();
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
        theme_dir_files,
        errors,
    })
}

fn resolve_theme(root: &Path, config: &Config, config_text: &str) -> Result<ThemeFiles, BuildFailed> {
    if let Some(dir) = &config.theme_dir {
        if !dir.join("templates").is_dir() {
            return Err(fail(
                Diagnostic::new(dir, "this theme folder has no templates/ folder")
                    .hint("a theme holds theme.yaml, templates/ and static/"),
            ));
        }
        return Ok(ThemeFiles::Dir { dir: dir.clone(), label: dir.display().to_string() });
    }
    let name = config.site.theme.clone().unwrap_or_else(|| DEFAULT_THEME.to_string());
    let local = root.join("themes").join(&name);
    if local.is_dir() {
        return Ok(ThemeFiles::Dir { dir: local, label: format!("themes/{name}") });
    }
    match crate::embedded::theme(&name) {
        Some(files) => Ok(ThemeFiles::Bundled(name, files)),
        None => {
            let bundled = crate::embedded::theme_names();
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
/// templates, static files, theme, the sopixi binary itself): equal fingerprints mean equal output.
fn fingerprint(inputs: &Inputs, opts: &BuildOptions) -> String {
    let mut h = blake3::Hasher::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    if let Some(md) = std::env::current_exe().ok().and_then(|p| std::fs::metadata(p).ok()) {
        h.update(&md.len().to_le_bytes());
        let t =
            md.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        h.update(&t.to_le_bytes());
    }
    h.update(format!("{:?}|{:?}|{}|{:?}", opts.drafts, opts.base_url, opts.no_minify, opts.theme_dir).as_bytes());
    h.update(format!("{:?}", opts.policy).as_bytes());
    h.update(inputs.config_text.as_bytes());
    if let ThemeFiles::Bundled(name, _) = &inputs.theme {
        h.update(name.as_bytes());
    }
    let text_hashes: Vec<blake3::Hash> =
        inputs.markdown.par_iter().map(|m| m.hash.unwrap_or_else(|| blake3::hash(m.text.as_bytes()))).collect();
    for (m, th) in inputs.markdown.iter().zip(text_hashes) {
        h.update(m.f.rel.as_bytes());
        h.update(th.as_bytes());
    }
    let groups: [(&str, &Vec<Found>); 4] = [
        ("c", &inputs.content_other),
        ("s", &inputs.static_files),
        ("t", &inputs.site_templates),
        ("T", &inputs.theme_dir_files),
    ];
    for (tag, files) in groups {
        let hashes: Vec<[u8; 32]> = files
            .par_iter()
            .map(|f| match std::fs::read(&f.abs) {
                Ok(b) => *blake3::hash(&b).as_bytes(),
                Err(_) => [0; 32],
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

/// Reads the platform operator's `policy.yaml` (and the logo it names, beside it).
pub fn load_policy(path: &Path) -> Result<crate::config::Policy, BuildFailed> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        fail(
            Diagnostic::new(&label, format!("cannot read the policy file: {e}"))
                .hint("check the path given to --policy"),
        )
    })?;
    let (mut policy, logo) = crate::config::Policy::parse(&label, &text).map_err(BuildFailed::new)?;
    if let Some(logo) = logo {
        let file = path.parent().unwrap_or(Path::new(".")).join(&logo);
        let bytes = std::fs::read(&file).map_err(|e| {
            fail(
                Diagnostic::new(&label, format!("cannot read the badge logo {}: {e}", file.display()))
                    .hint("`badge.logo` is a path relative to the policy file"),
            )
        })?;
        const MAX_LOGO: usize = 64 * 1024;
        if bytes.len() > MAX_LOGO {
            return Err(fail(
                Diagnostic::new(
                    &label,
                    format!("the badge logo {} is {} bytes, more than 64 KiB", file.display(), bytes.len()),
                )
                .hint("the badge is 72×20 pixels: use a small SVG or PNG"),
            ));
        }
        let ext = logo.rsplit('.').next().unwrap_or("svg").to_ascii_lowercase();
        policy.logo = Some((ext, bytes));
    }
    Ok(policy)
}

/// Builds the site in memory.
pub fn build(root: &Path, opts: &BuildOptions) -> Result<Built, BuildFailed> {
    let inputs = gather(root, opts, false)?;
    build_from(root, inputs, opts, None, None)
}

/// What `serve` keeps from one build to the next: each Markdown file parsed, each body's HTML and
/// each finished file, with the key of what it was made of. A build reuses an entry only when its key is the
/// same, so its output is byte-identical to a fresh [`build`] (tested).
#[derive(Default)]
pub struct Cache {
    parsed: HashMap<String, (blake3::Hash, Arc<Parsed>)>,
    highlighter: Arc<Highlighter>,
    templates: Option<(blake3::Hash, Templates)>,
    markdown: HashMap<String, (blake3::Hash, Arc<crate::markdown::Rendered>)>,
    files: HashMap<String, (blake3::Hash, Body)>,
    /// Finished files the last build reused instead of rendering them again.
    pub reused: usize,
}

/// A site being previewed: the inputs last read and the [`Cache`], so that after an edit only the
/// changed files are read again and only the files whose context changed are rendered again.
pub struct Session {
    root: PathBuf,
    opts: BuildOptions,
    inputs: Option<Inputs>,
    cache: Cache,
}

/// The order [`walk`] lists files in: by path component, each compared by name.
fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Whether a file name is one the build ignores (dot-files, editor backups and swap files).
pub fn ignored_name(name: &str) -> bool {
    skip_name(name)
}

impl Session {
    /// A session over the site at `root` (give it canonical, as the watcher reports such paths).
    pub fn new(root: &Path, opts: BuildOptions) -> Session {
        Session { root: root.to_path_buf(), opts, inputs: None, cache: Cache::default() }
    }

    /// The options every build of this session uses.
    pub fn options(&self) -> &BuildOptions {
        &self.opts
    }

    /// Finished files the last build reused.
    pub fn reused(&self) -> usize {
        self.cache.reused
    }

    /// Builds again after the files `changed` (absolute paths) changed; an empty list means
    /// "anything may have changed". Markdown files under `content/` are read again one by one,
    /// edits of known templates and static files need no reading here; any other change (a new
    /// or removed file that is not Markdown, a folder, `site.yaml`) reads the whole site again
    /// (the caches still apply).
    pub fn rebuild(&mut self, changed: &[PathBuf]) -> Result<Built, BuildFailed> {
        let t = Instant::now();
        let patched = match self.inputs.take() {
            Some(inputs) if !changed.is_empty() => self.patch(inputs, changed),
            _ => None,
        };
        let inputs = match patched {
            Some(i) => i,
            None => gather(&self.root, &self.opts, true)?,
        };
        self.inputs = Some(inputs.clone());
        let read = t.elapsed();
        let mut built = build_from(&self.root, inputs, &self.opts, Some(&mut self.cache), None)?;
        built.timings.insert(0, ("read", read));
        Ok(built)
    }

    /// The last inputs with the changed Markdown files read again, or `None` when a change is not
    /// one a patch can follow (another kind of file, a folder, a link, a file that cannot be read).
    fn patch(&self, mut inputs: Inputs, changed: &[PathBuf]) -> Option<Inputs> {
        if !inputs.errors.is_empty() {
            return None;
        }
        let content_dir = self.root.join("content");
        for path in changed {
            // Templates, static and bundle files are read by the build itself, from the paths
            // listed: an edit of a listed file (but `theme.yaml`, checked when gathering) changes
            // nothing here.
            let listed = |files: &[Found]| files.iter().any(|f| f.abs == *path);
            let is_theme_yaml = path.file_name().is_some_and(|n| n == "theme.yaml");
            if path.is_file()
                && !is_theme_yaml
                && (listed(&inputs.static_files)
                    || listed(&inputs.site_templates)
                    || listed(&inputs.theme_dir_files)
                    || listed(&inputs.content_other))
            {
                continue;
            }
            let rel = path.strip_prefix(&content_dir).ok()?.to_str()?.replace('\\', "/");
            if rel.split('/').any(skip_name) {
                continue;
            }
            if !rel.ends_with(".md") {
                return None;
            }
            let pos = inputs.markdown.binary_search_by(|m| walk_order(&m.f.rel, &rel));
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_file() => {
                    let f = Found { rel, abs: path.clone() };
                    let text = read_text(&f, &content::diag_path(&f.rel)).ok()?;
                    let m = MdFile::new(f, text, true);
                    match pos {
                        Ok(i) => inputs.markdown[i] = m,
                        Err(i) => inputs.markdown.insert(i, m),
                    }
                }
                Ok(_) => return None,
                Err(_) => {
                    if let Ok(i) = pos {
                        inputs.markdown.remove(i);
                    }
                }
            }
        }
        Some(inputs)
    }
}

/// What [`build_to_dir`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiskBuild {
    /// Counts.
    pub stats: BuildStats,
    /// Files written, unchanged and removed.
    pub write: WriteStats,
    /// Nothing the build reads had changed: no rendering was done.
    pub up_to_date: bool,
    /// Time per stage, in milliseconds.
    pub timings: Vec<(&'static str, f64)>,
}

/// Builds the site and writes it to `out_dir` — only if the build succeeded. When the inputs are
/// the same as for the output already there, and that output is intact, nothing is rendered.
pub fn build_to_dir(root: &Path, opts: &BuildOptions, out_dir: &Path) -> Result<DiskBuild, BuildError> {
    output::check_writable(out_dir).map_err(BuildError::OutputFolder)?;
    let t = Instant::now();
    let inputs = gather(root, opts, true)?;
    let hash = fingerprint(&inputs, opts);
    if let Some(m) = output::current_manifest(out_dir, &hash).filter(|_| inputs.errors.is_empty()) {
        let stats: BuildStats = serde_json::from_value(m.summary.clone()).unwrap_or_default();
        let write = WriteStats { unchanged: stats.files, ..Default::default() };
        return Ok(DiskBuild { stats, write, up_to_date: true, timings: vec![("check inputs", ms(t.elapsed()))] });
    }
    let gather_time = t.elapsed();
    // Into a missing or empty folder, pages are written as they are finished, into a staging
    // folder that becomes the output folder when the build succeeded (and is removed when not).
    let spool = output::Spool::fresh(out_dir);
    let built = build_from(root, inputs, opts, None, spool.as_ref())?;
    let t = Instant::now();
    let write = match spool {
        Some(spool) => spool.commit(&built.output, &hash, json!(built.stats))?,
        None => output::write(&built.output, out_dir, &hash, json!(built.stats))?,
    };
    let mut timings: Vec<(&'static str, f64)> = vec![("read", ms(gather_time))];
    timings.extend(built.timings.iter().map(|(n, d)| (*n, ms(*d))));
    timings.push(("write", ms(t.elapsed())));
    let stats = built.stats;
    drop_in_background(built.output);
    Ok(DiskBuild { stats, write, up_to_date: false, timings })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

fn theme_templates(inputs: &Inputs) -> Result<Vec<TemplateSource>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    match &inputs.theme {
        ThemeFiles::Dir { label, .. } => {
            for f in &inputs.theme_dir_files {
                if let Some(name) = f.rel.strip_prefix("templates/") {
                    let origin = format!("{label}/{}", f.rel);
                    match read_text(f, &origin) {
                        Ok(text) => out.push(TemplateSource { name: name.to_string(), text, origin }),
                        Err(d) => errors.push(d),
                    }
                }
            }
        }
        ThemeFiles::Bundled(name, files) => {
            for (rel, bytes) in files {
                if let Some(tname) = rel.strip_prefix("templates/") {
                    out.push(TemplateSource {
                        name: tname.to_string(),
                        text: String::from_utf8_lossy(bytes).into_owned(),
                        origin: format!("(bundled theme {name}) templates/{tname}"),
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// One rendered and finished file (site path, body), or why it could not be rendered.
type Rendered = Result<(String, Body), Diagnostic>;

/// The finish stage of every rendered file: platform injection (once it lands), then minification.
struct Finish<'a> {
    minify: bool,
    policy: crate::compliance::Policy,
    injector: crate::compliance::Injector,
    /// The injector's block, minified.
    block_min: Vec<u8>,
    /// Output paths of the pages rendered with the age gate.
    adult: std::sync::Mutex<Vec<String>>,
    /// `serve` only: the previous build's finished files, reused when their key is the same.
    reuse: Option<Reuse<'a>>,
    /// The build's images (`<img data-responsive>` becomes a `<picture>` here).
    images: &'a crate::images::Images,
    /// A fresh build into an empty folder: finished files go straight to disk.
    spool: Option<&'a output::Spool>,
}

/// Finished files of the previous build and the ones of this build, keyed by what they are made
/// of (the render environment, template, path, age gate and the whole context value).
struct Reuse<'a> {
    env: blake3::Hash,
    old: &'a HashMap<String, (blake3::Hash, Body)>,
    new: std::sync::Mutex<Vec<(String, blake3::Hash, Body)>>,
    hits: std::sync::atomic::AtomicUsize,
}

/// A finished file that breaks the platform's rules.
fn platform_violation(origin: &str, path: &str, violations: &[crate::compliance::Violation]) -> Diagnostic {
    let list: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    Diagnostic::new(origin, format!("/{path} fails the platform check: {}", list.join("; "))).hint(
        "the Sopixi badge, cookie notice and age gate must stay on every page: remove the inline style, `hidden` \
         attribute or fake `data-sopixi-*` markup that hides or replaces them (see \"Platform elements\" in the book)",
    )
}

impl Finish<'_> {
    /// Platform elements into every HTML file (before minification), then minification, then
    /// the platform check of the finished bytes: a theme or file that defeats the elements fails
    /// the build.
    fn html(&self, path: &str, text: &str, adult: bool, origin: &str) -> Result<Vec<u8>, Diagnostic> {
        let rewritten;
        let text = if text.contains("data-responsive") {
            rewritten = self.images.rewrite(text, None, path, true).map_err(|e| {
                let hint = crate::images::hint_for(&e[0]);
                Diagnostic::new(origin, format!("/{path}: {}", e.join("; "))).hint(hint)
            })?;
            rewritten.as_str()
        } else {
            text
        };
        if cfg!(feature = "bench-without-compliance") {
            return Ok(if self.minify { crate::minify::html(text.as_bytes()) } else { text.as_bytes().to_vec() });
        }
        if self.minify && !adult {
            // The usual page: minified, then the minified block appended, when the end of the
            // page is certainly inside <body> (see `append_if_certain`).
            let min = crate::minify::html(text.as_bytes());
            if let Some(out) = crate::compliance::append_if_certain(min, &self.block_min) {
                debug_assert_eq!(
                    crate::compliance::check(&String::from_utf8_lossy(&out), false, &self.policy),
                    Vec::new(),
                    "{origin}"
                );
                return Ok(out);
            }
        }
        let injected = self
            .injector
            .inject(text, adult)
            .map_err(|e| Diagnostic::new(origin, format!("cannot add the platform elements: {e}")))?;
        let bytes =
            if self.minify { crate::minify::html(injected.html.as_bytes()) } else { injected.html.into_bytes() };
        // The injection pass proves a page without platform markup of its own compliant (but for
        // a hidden <html>/<body>, which it reports); any other page gets the full check of its
        // finished bytes. Debug builds (the tests) check every page fully, to hold the shortcut
        // to the same verdict.
        let violations = match injected.verdict {
            Some(v) => {
                debug_assert_eq!(
                    v,
                    crate::compliance::check(&String::from_utf8_lossy(&bytes), adult, &self.policy),
                    "{origin}"
                );
                v
            }
            None => crate::compliance::check(&String::from_utf8_lossy(&bytes), adult, &self.policy),
        };
        if !violations.is_empty() {
            return Err(platform_violation(origin, path, &violations));
        }
        if adult {
            self.adult.lock().unwrap_or_else(|e| e.into_inner()).push(path.to_string());
        }
        Ok(bytes)
    }

    fn apply(&self, path: &str, text: String, adult: bool, origin: &str) -> Result<Body, Diagnostic> {
        let bytes = if path.ends_with(".html") { self.html(path, &text, adult, origin)? } else { text.into_bytes() };
        match self.spool {
            // A fresh build writes each file as soon as it is finished.
            Some(spool) => spool.put(path, &bytes).map_err(|e| {
                Diagnostic::new(origin, e.to_string())
                    .hint("free some disk space, or choose another output folder with -o")
            }),
            None => Ok(Body::packed(&bytes)),
        }
    }

    /// Renders `template` into the file at `path`, finished.
    fn render(&self, tpl: &Templates, template: &str, ctx: Value, origin: &str, path: String) -> Rendered {
        self.render_page(tpl, template, ctx, origin, path, false)
    }

    /// Renders `template` into the file at `path`, finished; `adult` pages get the age gate. In
    /// `serve`, the previous build's file is reused when the whole context value is the same.
    fn render_page(
        &self,
        tpl: &Templates,
        template: &str,
        ctx: Value,
        origin: &str,
        path: String,
        adult: bool,
    ) -> Rendered {
        let key = self.key(template, adult, &path, |h| {
            h.update(b"value");
            templates::hash_value(h, &ctx);
        });
        self.render_keyed(tpl, template, key, || ctx, origin, path, adult)
    }

    /// The key of the file at `path` (`None` when nothing is reused): the render environment,
    /// template, age gate and path, and what `parts` feeds in, which must stand for the whole
    /// context value but for `site` (in the environment).
    fn key(
        &self,
        template: &str,
        adult: bool,
        path: &str,
        parts: impl FnOnce(&mut blake3::Hasher),
    ) -> Option<blake3::Hash> {
        let r = self.reuse.as_ref()?;
        let mut h = blake3::Hasher::new();
        h.update(r.env.as_bytes());
        h.update(&(template.len() as u64).to_le_bytes());
        h.update(template.as_bytes());
        h.update(&[0, u8::from(adult)]);
        h.update(&(path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        parts(&mut h);
        Some(h.finalize())
    }

    /// The previous build's file at `path`, when its key is `key`.
    fn reused(&self, path: &str, key: Option<blake3::Hash>, adult: bool) -> Option<Body> {
        let (r, key) = (self.reuse.as_ref()?, key?);
        let (k, body) = r.old.get(path)?;
        if *k != key {
            return None;
        }
        if adult && path.ends_with(".html") {
            self.adult.lock().unwrap_or_else(|e| e.into_inner()).push(path.to_string());
        }
        r.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        r.new.lock().unwrap_or_else(|e| e.into_inner()).push((path.to_string(), key, body.clone()));
        Some(body.clone())
    }

    /// Renders `template` with the context `ctx` makes (called only when the file of that `key`
    /// cannot be reused).
    #[allow(clippy::too_many_arguments)]
    fn render_keyed(
        &self,
        tpl: &Templates,
        template: &str,
        key: Option<blake3::Hash>,
        ctx: impl FnOnce() -> Value,
        origin: &str,
        path: String,
        adult: bool,
    ) -> Rendered {
        if let Some(body) = self.reused(&path, key, adult) {
            return Ok((path, body));
        }
        let ctx = Context::from_value(ctx()).unwrap_or_default();
        let (text, used_images) = crate::images::scoped(origin, || tpl.render(template, &ctx, origin));
        let text = text?;
        // A file made with images depends on image files too: it is made again every time.
        let used_images = self.reuse.is_some() && (used_images || text.contains("data-responsive"));
        let body = self.apply(&path, text, adult, origin)?;
        if let (Some(r), Some(key), false) = (&self.reuse, key, used_images) {
            r.new.lock().unwrap_or_else(|e| e.into_inner()).push((path.clone(), key, body.clone()));
        }
        Ok((path, body))
    }
}

/// One listing (section or term): its value holds the listed `pages`.
struct Listing<'a> {
    template: &'a str,
    path: &'a str,
    origin: &'a str,
    per_page: usize,
    key: &'a str,
    /// How many pages the value lists.
    count: usize,
    /// Makes the value (only when a file of the listing must be rendered).
    value: Box<dyn FnOnce() -> Value + 'a>,
    /// `serve`: stands for the value and `extra` (see [`templates::ValueKeys`]).
    parts: Option<blake3::Hash>,
    extra: Option<(&'a str, Value)>,
    adult: bool,
}

/// Renders a listing, paginated when its template uses `paginator`.
fn render_listing(l: Listing, tpl: &Templates, values: &Values, config: &Config, finish: &Finish) -> Vec<Rendered> {
    let paginate = l.per_page > 0 && tpl.mentions(l.template, "paginator");
    let n_pages = if paginate { l.count.div_ceil(l.per_page).max(1) } else { 1 };
    let base = config.permalink(l.path);
    let mut make = Some(l.value);
    let mut value: Option<Value> = None;
    let mut extra = l.extra;
    let mut items: Vec<Value> = Vec::new();
    let mut out = Vec::with_capacity(n_pages);
    for n in 1..=n_pages {
        let last = n == n_pages;
        let path = if n == 1 { l.path.to_string() } else { format!("{}{}/{n}/", l.path, config.site.pagination.path) };
        let file = format!("{}index.html", path.trim_start_matches('/'));
        let key = l.parts.and_then(|parts| {
            finish.key(l.template, l.adult, &file, |h| {
                h.update(b"listing");
                h.update(&(l.key.len() as u64).to_le_bytes());
                h.update(l.key.as_bytes());
                h.update(parts.as_bytes());
                h.update(&(path.len() as u64).to_le_bytes());
                h.update(path.as_bytes());
                h.update(&[u8::from(paginate)]);
                h.update(&(l.per_page as u64).to_le_bytes());
                h.update(&(n as u64).to_le_bytes());
            })
        });
        if let Some(body) = finish.reused(&file, key, l.adult) {
            out.push(Ok((file, body)));
            continue;
        }
        if value.is_none() {
            value = make.take().map(|f| f());
            if paginate {
                // As in Zola, a paginated listing's pages are in `paginator.pages` only: a copy
                // of all of them in every listing page would make a 2,000-post blog with 10 per
                // page copy 400,000 pages into its 200 contexts.
                if let Some(pages) = value.as_mut().and_then(|v| v.get_mut("pages")) {
                    if let Value::Array(all) = std::mem::replace(pages, Value::Array(Vec::new())) {
                        items = all;
                    }
                }
            }
        }
        let paginator =
            paginate.then(|| templates::paginator(&items, l.per_page, n, &base, &config.site.pagination.path));
        // The last page takes the values; earlier ones get copies.
        let v = if last { value.take().unwrap_or_default() } else { value.clone().unwrap_or_default() };
        let mut entries = vec![(l.key, v)];
        if let Some((k, e)) = if last { extra.take() } else { extra.clone() } {
            entries.push((k, e));
        }
        if let Some(p) = paginator {
            entries.push(("paginator", p));
        }
        let ctx = || templates::context_value(values, config, &path, entries);
        out.push(finish.render_keyed(tpl, l.template, key, ctx, l.origin, file, l.adult));
    }
    out
}

fn build_from(
    root: &Path,
    mut inputs: Inputs,
    opts: &BuildOptions,
    mut cache: Option<&mut Cache>,
    spool: Option<&output::Spool>,
) -> Result<Built, BuildFailed> {
    let mut timings = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, Duration)>| {
        timings.push((name, t.elapsed()));
        t = Instant::now();
    };
    let config = &inputs.config;
    let mut errors: Vec<Diagnostic> = inputs.errors.clone();

    // Syntaxes take tens of milliseconds to load: `serve` keeps them for all its builds; a build
    // with fenced code loads them on a thread of its own while front matter is parsed (unless it
    // was asked to use one thread).
    let highlighter = cache.as_deref().map_or_else(|| Arc::new(Highlighter::default()), |c| c.highlighter.clone());
    if rayon::current_num_threads() > 1
        && !highlighter.loaded()
        && inputs.markdown.par_iter().any(|m| Highlighter::may_need(&m.text))
    {
        let h = highlighter.clone();
        std::thread::spawn(move || h.preload());
    }

    // Parse front matter, in parallel. Broken front matter is reported and replaced by defaults,
    // so that every other problem of the site is found in the same run.
    let markdown = std::mem::take(&mut inputs.markdown);
    // `serve`: a file whose text (and the configuration) did not change is not parsed again.
    let parse_env = cache.is_some().then(|| {
        let mut h = blake3::Hasher::new();
        h.update(format!("{:?}|{:?}|{:?}", opts.drafts, opts.base_url, opts.theme_dir).as_bytes());
        h.update(inputs.config_text.as_bytes());
        h.finalize()
    });
    let parse_old = cache.as_deref().filter(|_| parse_env.is_some()).map(|c| &c.parsed);
    let parsed: Vec<(Parsed, Vec<Diagnostic>, Option<blake3::Hash>)> = markdown
        .into_par_iter()
        .with_max_len(LEAF_FILES)
        .map(|MdFile { f, text, hash }| {
            let key = parse_env.map(|env| {
                let mut h = blake3::Hasher::new();
                h.update(env.as_bytes());
                h.update(hash.unwrap_or_else(|| blake3::hash(text.as_bytes())).as_bytes());
                h.finalize()
            });
            match parse_old.and_then(|m| m.get(&f.rel)).filter(|(k, _)| Some(*k) == key) {
                // The copy shares the body with the cached one.
                Some((_, p)) => (Parsed::clone(p), Vec::new(), key),
                None => {
                    // `build` holds the only reference: the text is not copied.
                    let text = Arc::try_unwrap(text).unwrap_or_else(|t| String::clone(&t));
                    let (p, d) = content::parse(&f.rel, text, config);
                    (p, d, key)
                }
            }
        })
        .collect();
    let mut ok = Vec::with_capacity(parsed.len());
    let mut parsed_new = HashMap::new();
    for (p, d, key) in parsed {
        if let (Some(key), true) = (key, d.is_empty()) {
            parsed_new.insert(p.rel.clone(), (key, Arc::new(p.clone())));
        }
        ok.push(p);
        errors.extend(d);
    }
    if let Some(c) = cache.as_deref_mut() {
        c.parsed = parsed_new;
    }

    // Templates: built-ins, then theme, then the site's overrides.
    let mut site_sources = Vec::new();
    for f in &inputs.site_templates {
        let origin = format!("templates/{}", f.rel);
        match read_text(f, &origin) {
            Ok(text) => site_sources.push(TemplateSource { name: f.rel.clone(), text, origin }),
            Err(d) => errors.push(d),
        }
    }
    let theme_sources = theme_templates(&inputs).unwrap_or_else(|d| {
        errors.extend(d);
        Vec::new()
    });
    // `serve` reuses Markdown and finished files from the previous build when everything they are
    // made of is the same; this hashes what is common to all of them. Functions that read beyond
    // the values hashed (`load_data` reads files; `get_page`/`get_section` any page) turn reuse off.
    let env = cache.is_some().then(|| {
        let uses = |w: &str| theme_sources.iter().chain(&site_sources).any(|s| s.text.contains(w));
        let mut h = blake3::Hasher::new();
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(format!("{:?}|{:?}|{}|{:?}", opts.drafts, opts.base_url, opts.no_minify, opts.theme_dir).as_bytes());
        h.update(format!("{:?}", opts.policy).as_bytes());
        h.update(inputs.config_text.as_bytes());
        for s in theme_sources.iter().chain(&site_sources) {
            h.update(s.name.as_bytes());
            h.update(&[0]);
            h.update(s.origin.as_bytes());
            h.update(&[0]);
            h.update(s.text.as_bytes());
            h.update(&[0]);
        }
        (h, !uses("load_data"), !uses("load_data") && !uses("get_page") && !uses("get_section"))
    });
    // `serve`: unchanged templates are not parsed again (every function and filter is registered
    // anew below, so a copy is as good as a fresh load).
    let tpl_key = env.as_ref().map(|(h, ..)| h.finalize());
    let reused_tpl = cache.as_deref().and_then(|c| c.templates.as_ref()).filter(|(k, _)| Some(*k) == tpl_key);
    let loaded = match reused_tpl {
        Some((_, t)) => Ok(t.clone()),
        None => Templates::load(vec![theme_sources, site_sources]),
    };
    let mut tpl = match loaded {
        Ok(t) => t,
        Err(d) => {
            errors.extend(d);
            return Err(BuildFailed::new(errors));
        }
    };
    if let (Some(c), Some(k)) = (cache.as_deref_mut(), tpl_key) {
        if c.templates.as_ref().is_none_or(|(old, _)| *old != k) {
            c.templates = Some((k, tpl.clone()));
        }
    }
    for required in ["index.html", "section.html", "page.html"] {
        if !tpl.has(required) {
            errors.push(
                Diagnostic::new("templates", format!("missing template `{required}`"))
                    .hint("the theme must provide it, or add it to templates/ in the site"),
            );
        }
    }
    let other_files: Vec<String> = inputs.content_other.iter().map(|f| f.rel.clone()).collect();
    let mut content = match Content::assemble(config, ok, other_files) {
        Ok(c) => c,
        Err(d) => {
            errors.extend(d);
            return Err(BuildFailed::new(errors));
        }
    };
    lap("load", &mut timings);

    // Images: found and measured while rendering, made after it.
    let images = Arc::new(crate::images::Images::new(
        root,
        theme_static(&inputs),
        content.assets.iter().map(|a| (a.out.clone(), a.rel.clone())).collect(),
        &config.site.base_url,
        image_settings(root, config),
    ));
    tpl.register_image_functions(images.clone());

    // Markdown bodies, in parallel; shortcodes and internal links resolved here.
    tpl.register_base(config, root);
    let url_lookup = {
        let mut l = templates::Lookup { base_url: config.site.base_url.clone(), ..Default::default() };
        for (rel, r) in &content.by_file {
            let path = match r {
                content::Ref::Page(i) => &content.pages[*i].path,
                content::Ref::Section(i) => &content.sections[*i].path,
            };
            l.urls.insert(rel.clone(), config.permalink(path));
        }
        Arc::new(l)
    };
    tpl.register_site_functions(url_lookup.clone());
    let site_value = templates::site_value(config, &content);
    let shortcode_names = tpl.shortcode_names();
    let resolve = |rel: &str| url_lookup.urls.get(rel).cloned();
    let md_cx = MdContext {
        config: &config.site.markdown,
        resolve: &resolve,
        highlighter: &highlighter,
        responsive_images: true,
    };
    let tpl_ref = &tpl;
    let shortcode = |call: &crate::shortcodes::Call| -> Result<String, String> {
        let name = format!("shortcodes/{}.html", call.name);
        if !tpl_ref.has(&name) {
            let hint = did_you_mean(&call.name, shortcode_names.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(format!("unknown shortcode `{}`; {hint}available: {}", call.name, shortcode_names.join(", ")));
        }
        let mut ctx = Context::new();
        for (k, v) in &call.args {
            ctx.insert(k.as_str(), v);
        }
        if let Some(b) = &call.body {
            ctx.insert("body", b);
        }
        ctx.insert("site", &site_value);
        tpl_ref
            .render(&name, &ctx, "shortcode")
            .map_err(|d| format!("shortcode `{}` failed: {}: {}", call.name, d.location(), d.message))
    };
    // A body's HTML depends on its text and on the environment: every URL (internal links),
    // templates (shortcodes), the `site` value and the configuration.
    let md_env = env.as_ref().filter(|e| e.1).map(|(h, ..)| {
        let mut h = h.clone();
        let mut urls: Vec<_> = url_lookup.urls.iter().collect();
        urls.sort();
        for (rel, url) in urls {
            h.update(rel.as_bytes());
            h.update(&[0]);
            h.update(url.as_bytes());
            h.update(&[0]);
        }
        h.update(site_value.to_string().as_bytes());
        h.finalize()
    });
    let md_old = cache.as_deref().filter(|_| md_env.is_some()).map(|c| &c.markdown);
    let parsed_keys = cache.as_deref().map(|c| &c.parsed);
    let md_new = std::sync::Mutex::new(Vec::new());
    // Each source is freed as soon as it is rendered, so the HTML of later pages reuses its memory.
    let render_one = |src: &mut Parsed, rendered: &mut Arc<crate::markdown::Rendered>| {
        let key = md_env.map(|env| {
            let mut h = blake3::Hasher::new();
            h.update(env.as_bytes());
            // The body of a file parsed from a known text stands for by that text's key, saving
            // a hash of every body at each build; any other (an implicit section's) by itself.
            match parsed_keys.and_then(|m| m.get(&src.rel)).filter(|(_, p)| Arc::ptr_eq(&p.body, &src.body)) {
                Some((k, _)) => {
                    h.update(b"k");
                    h.update(k.as_bytes());
                }
                None => {
                    h.update(b"b");
                    h.update(&src.body_line.to_le_bytes());
                    h.update(src.body.as_bytes());
                }
            }
            h.finalize()
        });
        let old = md_old.and_then(|m| m.get(&src.rel)).filter(|(k, _)| Some(*k) == key);
        let origin = content::diag_path(&src.rel);
        let (r, mut used_images) = match old {
            Some((_, r)) => (Ok(r.clone()), false),
            None => crate::images::scoped(&origin, || content::render_body(src, &md_cx, &shortcode).map(Arc::new)),
        };
        // Images of the body: `<picture>`s with absolute URLs, so that the body can be shown
        // on any page (listings, feeds).
        let r = r.and_then(|r| {
            if !r.html.contains("data-responsive") {
                return Ok(r);
            }
            let mut r = Arc::unwrap_or_clone(r);
            used_images = true;
            let fail = |errors: Vec<String>| -> Vec<Diagnostic> {
                errors.into_iter().map(|e| image_diagnostic(&origin, src, e)).collect()
            };
            r.html = images.rewrite(&r.html, Some(&origin), "", true).map_err(fail)?;
            if let Some(s) = &r.summary {
                r.summary = Some(images.rewrite(s, Some(&origin), "", false).map_err(fail)?);
            }
            Ok(Arc::new(r))
        });
        src.body = Arc::default();
        match r {
            Ok(r) => {
                // A body with images depends on image files: no key stands for it (it is
                // hashed as it is), and it is made again at every build.
                let key = key.filter(|_| !used_images);
                if let Some(key) = key {
                    md_new.lock().unwrap_or_else(|e| e.into_inner()).push((src.rel.clone(), (key, r.clone())));
                }
                *rendered = r;
                (Vec::new(), key)
            }
            Err(d) => (d, None),
        }
    };
    let (page_errors, body_keys): (Vec<Vec<Diagnostic>>, Vec<Option<blake3::Hash>>) =
        content.pages.par_iter_mut().with_max_len(LEAF_PAGES).map(|p| render_one(&mut p.src, &mut p.rendered)).unzip();
    let section_errors: Vec<Vec<Diagnostic>> =
        content.sections.par_iter_mut().with_max_len(1).map(|s| render_one(&mut s.src, &mut s.rendered).0).collect();
    errors.extend(page_errors.into_iter().chain(section_errors).flatten());
    if let Some(c) = cache.as_deref_mut() {
        c.markdown = md_new.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().collect();
    }
    lap("markdown", &mut timings);
    if !errors.is_empty() {
        // Templates would only add noise about pages already known to be broken. The images
        // the bodies asked for are made all the same, so that the next build finds them ready.
        let (_, failed) = images.process(false);
        errors.extend(failed);
        return Err(BuildFailed::new(errors));
    }

    // Template values and functions that need rendered content.
    let (values, lookup) = rayon::join(|| Arc::new(Values::new(config, &content)), || Lookup::new(config, &content));
    let lookup = Arc::new(Lookup { values: Some(values.clone()), ..lookup });
    tpl.register_site_functions(lookup.clone());
    lap("context", &mut timings);

    // Render every page and finish each one as soon as it is rendered, so that only finished
    // bytes are held in memory.
    let minify = config.minify;
    let injector = crate::compliance::Injector::new(&config.policy, &config.site.language);
    // Template functions look up URLs and terms: part of every finished file's key.
    let render_env = env.as_ref().filter(|e| e.2).map(|(h, ..)| {
        let mut h = h.clone();
        let mut urls: Vec<_> = lookup.urls.iter().collect();
        urls.sort();
        let mut terms: Vec<_> = lookup.terms.iter().collect();
        terms.sort();
        h.update(format!("{urls:?}{terms:?}").as_bytes());
        h.finalize()
    });
    // What each page and section value is made of, hashed once: a file's key is assembled from
    // these instead of hashing its whole context.
    let keys = render_env.map(|_| values.keys(&content, &body_keys));
    let render_env = render_env.zip(keys.as_ref()).map(|(env, k)| {
        let mut h = blake3::Hasher::new();
        h.update(env.as_bytes());
        h.update(k.site.as_bytes());
        h.finalize()
    });
    let old_files = cache.as_deref_mut().map(|c| std::mem::take(&mut c.files)).unwrap_or_default();
    let finish = Finish {
        minify,
        policy: config.policy.clone(),
        block_min: crate::minify::html(injector.block().as_bytes()),
        injector,
        adult: Default::default(),
        images: &images,
        reuse: render_env.map(|env| Reuse { env, old: &old_files, new: Default::default(), hits: Default::default() }),
        spool,
    };
    let rendered = render_all(&tpl, &values, keys.as_ref(), config, &content, opts, &finish, &mut errors);
    let content_ref = &content;
    let mut output = Output::default();
    for (path, body, origin) in rendered {
        if let Err(d) = output.add(path, body, origin) {
            errors.push(d);
        }
    }
    lap("render", &mut timings);

    // Static files: the theme's, replaced by the site's of the same path; then bundle files.
    let mut statics: BTreeMap<String, (Body, String)> = BTreeMap::new();
    match &inputs.theme {
        ThemeFiles::Dir { label, .. } => {
            for f in &inputs.theme_dir_files {
                if let Some(rel) = f.rel.strip_prefix("static/") {
                    statics.insert(rel.to_string(), (Body::File(f.abs.clone()), format!("{label}/{}", f.rel)));
                }
            }
        }
        ThemeFiles::Bundled(name, files) => {
            for (rel, bytes) in files {
                if let Some(r) = rel.strip_prefix("static/") {
                    statics.insert(r.to_string(), (Body::Static(bytes), format!("(bundled theme {name}) {rel}")));
                }
            }
        }
    }
    for f in &inputs.static_files {
        statics.insert(f.rel.clone(), (Body::File(f.abs.clone()), format!("static/{}", f.rel)));
    }
    let content_dir = root.join("content");
    for a in &content_ref.assets {
        if output.files.contains_key(&a.out) || statics.contains_key(&a.out) {
            let other = output
                .files
                .get(&a.out)
                .map(|f| f.origin.clone())
                .or_else(|| statics.get(&a.out).map(|s| s.1.clone()))
                .unwrap_or_default();
            errors.push(
                Diagnostic::new(
                    content::diag_path(&a.rel),
                    format!("output file /{} is also produced by {other}", a.out),
                )
                .hint("rename one of them"),
            );
            continue;
        }
        statics.insert(a.out.clone(), (Body::File(content_dir.join(&a.rel)), content::diag_path(&a.rel)));
    }
    let finished: Vec<(String, Result<Body, Diagnostic>, String)> = statics
        .into_par_iter()
        .map(|(path, (body, origin))| {
            let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            if let (Body::File(abs), "jpg" | "jpeg" | "png" | "webp") = (&body, ext.as_str()) {
                // Published photos lose their metadata (GPS position, camera, XMP) too.
                return match images.published_original(&origin, abs) {
                    Ok(Some(clean)) => (path, Ok(Body::File(clean)), origin),
                    Ok(None) => (path, Ok(body), origin),
                    Err(e) => {
                        let d = Diagnostic::new(&origin, e).hint("replace the file with a valid JPEG or PNG image");
                        (path, Err(d), origin)
                    }
                };
            }
            let is_html = matches!(ext.as_str(), "html" | "htm");
            let needs = is_html || (minify && matches!(ext.as_str(), "css" | "js"));
            if !needs {
                return (path, Ok(body), origin);
            }
            let bytes = match body.bytes() {
                Ok(b) => b.into_owned(),
                Err(e) => return (path, Err(Diagnostic::new(&origin, format!("cannot read: {e}"))), origin),
            };
            if is_html {
                // Raw HTML files get the platform elements too.
                let text = String::from_utf8_lossy(&bytes);
                let r = finish.html(&path, &text, false, &origin).map(Body::Bytes);
                return (path, r, origin);
            }
            let min = crate::minify::asset(&ext, &bytes);
            (path, Ok(Body::Bytes(min.unwrap_or(bytes))), origin)
        })
        .collect();
    for (path, body, origin) in finished {
        match body {
            Ok(b) => {
                if let Err(d) = output.add(path, b, origin) {
                    errors.push(d);
                }
            }
            Err(d) => errors.push(d),
        }
    }
    // The platform's own files; the whole /_sopixi/ folder is reserved.
    let reserved = format!("{}/", crate::compliance::ASSET_DIR);
    for (path, f) in output.files.iter().filter(|(p, _)| p.starts_with(&reserved)) {
        errors.push(
            Diagnostic::new(&f.origin, format!("/{path}: the folder /{reserved} is reserved for the platform"))
                .hint("move the file to another folder"),
        );
    }
    for (path, bytes) in crate::compliance::assets(&config.policy) {
        let body = match bytes {
            std::borrow::Cow::Borrowed(b) => Body::Static(b),
            std::borrow::Cow::Owned(v) => Body::Bytes(v),
        };
        output.put(path, body, "(platform)");
    }
    output.adult = finish.adult.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().collect();
    lap("static", &mut timings);

    // Every variant the pages and templates asked for; the cache holds those made before. Made
    // even when other files failed, so that the next build finds them ready.
    {
        let (made, failed) = images.process(opts.progress);
        errors.extend(failed);
        for (path, file, origin) in made {
            if let Err(d) = output.add(path, Body::File(file), origin) {
                errors.push(d);
            }
        }
        lap("images", &mut timings);
    }
    errors.extend(quota_errors(&output, &config.policy.quotas));

    if let Some(c) = cache {
        c.files = match finish.reuse {
            Some(r) if errors.is_empty() => {
                c.reused = r.hits.into_inner();
                r.new.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().map(|(p, k, b)| (p, (k, b))).collect()
            }
            // A failed build keeps the last good build's files for the next try.
            _ => {
                c.reused = 0;
                if errors.is_empty() {
                    HashMap::new()
                } else {
                    old_files
                }
            }
        };
    }
    if !errors.is_empty() {
        return Err(BuildFailed::new(group_template_errors(errors)));
    }
    let (images_made, images_cached) = images.counts();
    let stats = BuildStats {
        pages: content.pages.len(),
        sections: content.sections.len(),
        files: output.len(),
        images_made,
        images_cached,
    };
    // Freeing a 10,000-page site's values is a million small frees: do it off the critical path.
    drop_in_background((content, values, tpl));
    Ok(Built { output, stats, timings })
}

/// The theme's static files, where images are looked up last.
fn theme_static(inputs: &Inputs) -> crate::images::ThemeStatic {
    match &inputs.theme {
        ThemeFiles::Dir { dir, label } => {
            crate::images::ThemeStatic::Dir(dir.join("static"), format!("{label}/static"))
        }
        ThemeFiles::Bundled(name, files) => crate::images::ThemeStatic::Bundled(
            name.clone(),
            files.iter().filter_map(|(rel, b)| Some((rel.strip_prefix("static/")?.to_string(), *b))).collect(),
        ),
    }
}

/// The `images:` settings, resolved against the site folder.
fn image_settings(root: &Path, config: &Config) -> crate::images::Settings {
    let c = &config.site.images;
    crate::images::Settings {
        widths: c.widths.clone(),
        quality: c.quality,
        webp: c.webp,
        sizes: c.sizes.clone(),
        max_pixels: u64::from(c.max_megapixels) * 1_000_000,
        cache_dir: root.join(&c.cache_dir),
    }
}

/// An image problem of a content file, at the line that names the image when it can be found.
fn image_diagnostic(origin: &str, src: &Parsed, message: String) -> Diagnostic {
    let named = message.split('`').nth(1).unwrap_or("");
    let line = (!named.is_empty())
        .then(|| src.body.lines().position(|l| l.contains(named)))
        .flatten()
        .map(|i| i + src.body_line);
    let hint = crate::images::hint_for(&message);
    Diagnostic::new(origin, message).at(line, None).hint(hint)
}

/// The platform's disk quotas: every video at most `video_bytes`, every file at most
/// `file_bytes`, the whole site at most `site_bytes`. Each file over its limit is named.
fn quota_errors(output: &Output, q: &crate::config::Quotas) -> Vec<Diagnostic> {
    use crate::config::{human_bytes, VIDEO_EXTENSIONS};
    let sizes: Vec<(&String, &output::OutFile, u64)> =
        output.files.par_iter().map(|(p, f)| (p, f, f.body.len().unwrap_or(0))).collect();
    let mut errors = Vec::new();
    for (path, f, size) in &sizes {
        let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        if VIDEO_EXTENSIONS.contains(&ext.as_str()) && *size > q.video_bytes {
            errors.push(
                Diagnostic::new(
                    &f.origin,
                    format!("this video is {}, over the platform's limit of {} per video", human_bytes(*size), human_bytes(q.video_bytes)),
                )
                .hint("compress it (for example 720p H.264 at a lower bit rate) or publish it on a video host and link to it"),
            );
        } else if *size > q.file_bytes {
            errors.push(
                Diagnostic::new(
                    &f.origin,
                    format!(
                        "this file is {}, over the platform's limit of {} per file",
                        human_bytes(*size),
                        human_bytes(q.file_bytes)
                    ),
                )
                .hint("make it smaller or host it elsewhere and link to it"),
            );
        }
    }
    let total: u64 = sizes.iter().map(|s| s.2).sum();
    if total > q.site_bytes {
        let mut largest: Vec<_> = sizes.iter().map(|(p, _, n)| (*n, p.as_str())).collect();
        largest.sort_by(|a, b| b.cmp(a));
        let top: Vec<String> = largest.iter().take(5).map(|(n, p)| format!("/{p} ({})", human_bytes(*n))).collect();
        errors.push(
            Diagnostic::new(
                SITE_FILE,
                format!(
                    "the built site is {}, over the platform's quota of {}",
                    human_bytes(total),
                    human_bytes(q.site_bytes)
                ),
            )
            .hint(format!("the largest files: {}", top.join(", "))),
        );
    }
    errors
}

/// What a platform check of a whole output found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    /// HTML files checked.
    pub checked: usize,
    /// The files that break a rule, in path order.
    pub failures: Vec<crate::compliance::FileReport>,
}

fn check_one(
    path: &str,
    html: Result<Vec<u8>, String>,
    adult: bool,
    policy: &crate::config::Policy,
) -> Option<crate::compliance::FileReport> {
    use crate::compliance::{check, FileReport, Violation};
    let violations = match html {
        Ok(bytes) => check(&String::from_utf8_lossy(&bytes), adult, policy),
        Err(e) => vec![Violation::Unreadable(e)],
    };
    (!violations.is_empty())
        .then(|| FileReport { file: path.to_string(), problems: violations.iter().map(|v| v.to_string()).collect() })
}

/// Checks every HTML file of a built [`Output`] against the platform rules.
pub fn check_output(output: &Output, policy: &crate::config::Policy) -> CheckReport {
    let html: Vec<(&String, &output::OutFile)> =
        output.files.iter().filter(|(p, _)| crate::compliance::is_html_path(p)).collect();
    let failures: Vec<_> = html
        .par_iter()
        .filter_map(|(path, f)| {
            let bytes = f.body.bytes().map(|b| b.into_owned()).map_err(|e| e.to_string());
            check_one(path, bytes, output.adult.contains(*path), policy)
        })
        .collect();
    CheckReport { checked: html.len(), failures }
}

/// Checks every HTML file under a folder (any built site, by sopixi or not) against the platform
/// rules. Pages the folder's sopixi manifest lists as adult must have their age gate; so must any
/// page that declares `rating=adult`. Dot-files and dot-folders are skipped; links are not followed.
pub fn check_dir(dir: &Path, policy: &crate::config::Policy) -> Result<CheckReport, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder; pass the folder a site was built into", dir.display()));
    }
    let adult: std::collections::BTreeSet<String> =
        output::read_manifest(dir).map(|m| m.adult.into_iter().collect()).unwrap_or_default();
    let mut paths = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(dir) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if crate::compliance::is_html_path(&rel) {
            paths.push((rel, entry.path().to_path_buf()));
        }
    }
    Ok(CheckReport { checked: paths.len(), failures: check_files(&paths, &adult, policy) })
}

/// Checks HTML files on disk, given as (output path, file), against the platform rules; the
/// pages in `adult` (and any page declaring `rating=adult`) must have their age gate. Files that
/// are not HTML are skipped. The failures, in the order given.
pub fn check_files(
    files: &[(String, PathBuf)],
    adult: &std::collections::BTreeSet<String>,
    policy: &crate::config::Policy,
) -> Vec<crate::compliance::FileReport> {
    files
        .par_iter()
        .filter(|(rel, _)| crate::compliance::is_html_path(rel))
        .filter_map(|(rel, abs)| {
            let bytes = std::fs::read(abs).map_err(|e| e.to_string());
            check_one(rel, bytes, adult.contains(rel), policy)
        })
        .collect()
}

/// Drops `value` on another thread (a CLI process may exit before it is done, which is fine).
fn drop_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new().name("sopixi-drop".into()).spawn(move || drop(value));
}

/// One template mistake breaks every page using it: report it once, with a count.
fn group_template_errors(errors: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut grouped: BTreeMap<(PathBuf, Option<usize>, String), (Diagnostic, usize)> = BTreeMap::new();
    let mut out = Vec::new();
    for d in errors {
        if d.hint.as_deref().is_some_and(|h| h.starts_with("while rendering ")) {
            grouped.entry((d.file.clone(), d.line, d.message.clone())).and_modify(|e| e.1 += 1).or_insert((d, 0));
        } else {
            out.push(d);
        }
    }
    for (_, (mut d, more)) in grouped {
        if more > 0 {
            d.hint = d.hint.map(|h| format!("{h} (and {more} other file{})", if more == 1 { "" } else { "s" }));
        }
        out.push(d);
    }
    out
}

/// Renders every HTML page and generated file: (site path, finished bytes, origin).
#[allow(clippy::too_many_arguments)]
fn render_all(
    tpl: &Templates,
    values: &Values,
    keys: Option<&templates::ValueKeys>,
    config: &Config,
    content: &Content,
    opts: &BuildOptions,
    finish: &Finish,
    errors: &mut Vec<Diagnostic>,
) -> Vec<(String, Body, String)> {
    let bar = if opts.progress && content.pages.len() >= 2000 {
        let b = indicatif::ProgressBar::new(content.pages.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} pages")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    // The site-wide files (taxonomies, aliases, 404, robots.txt, sitemap, feeds) are rendered
    // by one thread while the others render sections and pages: most of them are single files,
    // which rendered last would leave the other cores idle.
    let ((sections, pages), (site_files, alias_errors)) = rayon::join(
        || render_pages(tpl, values, keys, config, content, finish, &bar),
        || render_site_files(tpl, values, keys, config, content, finish),
    );
    bar.finish_and_clear();
    let mut out: Vec<(String, Body, String)> = Vec::new();
    let mut push = |r: Rendered, origin: &str, out: &mut Vec<(String, Body, String)>| match r {
        Ok((p, h)) => out.push((p, h, origin.to_string())),
        Err(d) => errors.push(d),
    };
    for (rs, origin) in sections {
        for r in rs {
            push(r, &origin, &mut out);
        }
    }
    for (r, origin) in pages {
        push(r, &origin, &mut out);
    }
    for (r, origin) in site_files {
        push(r, &origin, &mut out);
    }
    errors.extend(alias_errors);
    out
}

/// Most pages one rayon task renders in a row. Rayon splits a loop into a few long runs and
/// splits further only when a thread steals: the last run of a loop can then keep one core busy
/// alone for a tenth of the stage while the other waits. Short runs keep both busy to the end.
const LEAF_PAGES: usize = 8;

/// The same for the cheap per-file work of reading and front matter.
const LEAF_FILES: usize = 64;

/// A rendered file, or why not, and what it was rendered from.
type FromOrigin = (Rendered, String);

/// Sections (paginated when their template uses `paginator`) and pages.
#[allow(clippy::too_many_arguments)]
fn render_pages(
    tpl: &Templates,
    values: &Values,
    keys: Option<&templates::ValueKeys>,
    config: &Config,
    content: &Content,
    finish: &Finish,
    bar: &indicatif::ProgressBar,
) -> (Vec<(Vec<Rendered>, String)>, Vec<FromOrigin>) {
    // Sections first: the home page's listing of every page is the biggest transient value,
    // best made while little output is held yet.
    let sections: Vec<(Vec<Rendered>, String)> = content
        .sections
        .par_iter()
        .with_max_len(1)
        .enumerate()
        .map(|(i, s)| {
            let origin = content::diag_path(&s.src.rel);
            let default = if s.parent.is_none() { "index.html" } else { "section.html" };
            let name = s.src.front.template.as_deref().unwrap_or(default);
            if !tpl.has(name) {
                return (vec![Err(missing_template(name, &origin))], origin);
            }
            let listing = Listing {
                template: name,
                path: &s.path,
                origin: &origin,
                per_page: s.src.front.paginate_by.unwrap_or(config.site.pagination.per_page),
                key: "section",
                count: s.pages.len(),
                value: Box::new(move || values.section_full(content, i)),
                parts: keys.map(|k| k.section_full[i]),
                extra: None,
                adult: s.adult,
            };
            (render_listing(listing, tpl, values, config, finish), origin)
        })
        .collect();
    let pages: Vec<FromOrigin> = content
        .pages
        .par_iter()
        .with_max_len(LEAF_PAGES)
        .enumerate()
        .map(|(i, p)| {
            let origin = content::diag_path(&p.src.rel);
            let name = p.src.front.template.as_deref().unwrap_or("page.html");
            let r = if !tpl.has(name) {
                Err(missing_template(name, &origin))
            } else {
                let ctx = || templates::context_value(values, config, &p.path, vec![("page", values.page_full(i))]);
                let file = format!("{}index.html", p.path.trim_start_matches('/'));
                let key = keys.and_then(|k| {
                    finish.key(name, p.adult, &file, |h| {
                        h.update(b"page");
                        h.update(&(p.path.len() as u64).to_le_bytes());
                        h.update(p.path.as_bytes());
                        h.update(k.full[i].as_bytes());
                    })
                });
                finish.render_keyed(tpl, name, key, ctx, &origin, file, p.adult)
            };
            bar.inc(1);
            (r, origin)
        })
        .collect();
    (sections, pages)
}

/// Taxonomy list and term pages, aliases, the 404 page, robots.txt, the sitemap and feeds; and
/// the problems with aliases.
fn render_site_files(
    tpl: &Templates,
    values: &Values,
    keys: Option<&templates::ValueKeys>,
    config: &Config,
    content: &Content,
    finish: &Finish,
) -> (Vec<FromOrigin>, Vec<Diagnostic>) {
    let mut out: Vec<FromOrigin> = Vec::new();
    let push = |r: Rendered, origin: &str, out: &mut Vec<FromOrigin>| out.push((r, origin.to_string()));
    // Taxonomies: a list page and a page per term.
    let mut sitemap_extra: Vec<Value> = Vec::new();
    for tax in &content.taxonomies {
        let tax_path = format!("/{}/", tax.name);
        let origin = format!("taxonomy `{}`", tax.name);
        // The list page names the terms; each term's page lists its pages.
        let term_info = |t: &content::Term| {
            let path = format!("{tax_path}{}/", t.slug);
            let permalink = config.permalink(&path);
            json!({"name": t.name, "slug": t.slug, "path": path, "permalink": permalink, "count": t.pages.len()})
        };
        let terms: Vec<Value> = tax.terms.iter().map(term_info).collect();
        let tax_value = json!({"name": tax.name, "path": tax_path, "permalink": config.permalink(&tax_path)});
        let mut list_value = tax_value.clone();
        list_value["terms"] = Value::Array(terms.clone());
        let ctx = templates::context_value(values, config, &tax_path, vec![("taxonomy", list_value)]);
        push(finish.render(tpl, "taxonomy.html", ctx, &origin, format!("{}/index.html", tax.name)), &origin, &mut out);
        sitemap_extra.push(json!({"permalink": config.permalink(&tax_path)}));
        let rendered: Vec<Vec<Rendered>> = tax
            .terms
            .par_iter()
            .with_max_len(1)
            .map(|t| {
                let info = term_info(t);
                let parts = keys.map(|k| {
                    let mut h = blake3::Hasher::new();
                    templates::hash_value(&mut h, &info);
                    h.update(&(t.pages.len() as u64).to_le_bytes());
                    for &p in &t.pages {
                        h.update(k.light[p].as_bytes());
                    }
                    templates::hash_value(&mut h, &tax_value);
                    h.finalize()
                });
                let value = move || {
                    let mut value = info;
                    value["pages"] = Value::Array(t.pages.iter().map(|&p| values.pages_light[p].clone()).collect());
                    value
                };
                let path = format!("{tax_path}{}/", t.slug);
                let listing = Listing {
                    template: "term.html",
                    path: &path,
                    origin: &origin,
                    per_page: config.site.pagination.per_page,
                    key: "term",
                    count: t.pages.len(),
                    value: Box::new(value),
                    parts,
                    extra: Some(("taxonomy", tax_value.clone())),
                    adult: false,
                };
                render_listing(listing, tpl, values, config, finish)
            })
            .collect();
        for rs in rendered {
            for r in rs {
                push(r, &origin, &mut out);
            }
        }
        for term in &terms {
            sitemap_extra.push(json!({"permalink": term["permalink"]}));
        }
    }

    // Aliases: redirect pages at old URLs.
    let mut alias_errors = Vec::new();
    let alias_sources =
        content.pages.iter().map(|p| (&p.src, &p.path)).chain(content.sections.iter().map(|s| (&s.src, &s.path)));
    for (src, target_path) in alias_sources {
        for alias in &src.front.aliases {
            let origin = content::diag_path(&src.rel);
            let a = alias.trim_start_matches('/');
            if a.is_empty() || a.split('/').any(|seg| seg == ".." || seg == ".") || alias.contains("://") {
                alias_errors.push(
                    Diagnostic::new(&origin, format!("alias `{alias}` is not a path of this site"))
                        .at(Some(2), None)
                        .hint("aliases are old paths of the site, e.g. /old-page/ or /old.html"),
                );
                continue;
            }
            let file = if a.ends_with(".html") || a.ends_with(".htm") {
                a.to_string()
            } else {
                format!("{}/index.html", a.trim_end_matches('/'))
            };
            let target = Value::String(config.permalink(target_path));
            let ctx = templates::context_value(values, config, &format!("/{a}"), vec![("target", target)]);
            push(finish.render(tpl, "alias.html", ctx, &origin, file), &origin, &mut out);
        }
    }

    // 404, robots.txt, sitemap, feeds.
    let ctx = templates::context_value(values, config, "/404.html", vec![]);
    push(finish.render(tpl, "404.html", ctx, "404 page", "404.html".into()), "404 page", &mut out);
    let ctx = templates::context_value(values, config, "/robots.txt", vec![]);
    push(finish.render(tpl, "robots.txt", ctx, "robots.txt", "robots.txt".into()), "robots.txt", &mut out);

    let lastmod = |f: &content::FrontMatter| {
        f.updated.as_ref().or(f.date.as_ref()).map(|d| d.instant.format("%Y-%m-%d").to_string())
    };
    let mut entries: Vec<Value> = content
        .sections
        .iter()
        .map(|s| json!({"permalink": config.permalink(&s.path), "lastmod": lastmod(&s.src.front)}))
        .chain(
            content
                .pages
                .iter()
                .map(|p| json!({"permalink": config.permalink(&p.path), "lastmod": lastmod(&p.src.front)})),
        )
        .chain(sitemap_extra)
        .collect();
    entries.sort_by(|a, b| a["permalink"].as_str().cmp(&b["permalink"].as_str()));
    let ctx = templates::context_value(values, config, "/sitemap.xml", vec![("entries", Value::Array(entries))]);
    push(finish.render(tpl, "sitemap.xml", ctx, "sitemap", "sitemap.xml".into()), "sitemap", &mut out);

    let mut dated: Vec<usize> =
        (0..content.pages.len()).filter(|&i| content.pages[i].src.front.date.is_some()).collect();
    dated.sort_by(|&a, &b| {
        let d = |i: usize| content.pages[i].src.front.date.as_ref().map(|d| d.instant);
        d(b).cmp(&d(a)).then_with(|| content.pages[a].src.rel.cmp(&content.pages[b].src.rel))
    });
    dated.truncate(config.site.feeds.limit);
    let mut feed_pages: Option<Vec<Value>> = None;
    let last_updated = dated
        .iter()
        .filter_map(|&i| {
            let f = &content.pages[i].src.front;
            f.updated.as_ref().or(f.date.as_ref()).map(|d| d.instant)
        })
        .max()
        .map_or_else(|| "1970-01-01T00:00:00+00:00".to_string(), |d| d.to_rfc3339());
    for (enabled, name) in [(config.site.feeds.atom, "atom.xml"), (config.site.feeds.rss, "rss.xml")] {
        if enabled {
            let feed_url = config.permalink(name);
            let current = format!("/{name}");
            let key = keys.and_then(|k| {
                finish.key(name, false, name, |h| {
                    h.update(b"feed");
                    h.update(&(current.len() as u64).to_le_bytes());
                    h.update(current.as_bytes());
                    h.update(&(dated.len() as u64).to_le_bytes());
                    for &i in &dated {
                        h.update(k.full[i].as_bytes());
                    }
                    h.update(&(feed_url.len() as u64).to_le_bytes());
                    h.update(feed_url.as_bytes());
                    h.update(last_updated.as_bytes());
                })
            });
            let ctx = || {
                let pages = feed_pages.get_or_insert_with(|| dated.iter().map(|&i| values.page_full(i)).collect());
                let entries = vec![
                    ("pages", Value::Array(pages.clone())),
                    ("feed_url", Value::String(feed_url)),
                    ("last_updated", Value::String(last_updated.clone())),
                ];
                templates::context_value(values, config, &current, entries)
            };
            push(finish.render_keyed(tpl, name, key, ctx, "feed", name.to_string(), false), "feed", &mut out);
        }
    }
    (out, alias_errors)
}

fn missing_template(name: &str, origin: &str) -> Diagnostic {
    Diagnostic::new(origin, format!("missing template `{name}`"))
        .hint("add it to templates/ in the site or to the theme, or fix the `template` front matter key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap().join(name);
        for e in walkdir::WalkDir::new(&from) {
            let e = e.unwrap();
            let to = root.join(e.path().strip_prefix(&from).unwrap());
            if e.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else {
                std::fs::copy(e.path(), &to).unwrap();
            }
        }
        (dir, root)
    }

    fn assert_same(served: &Output, fresh: &Output, step: &str) {
        let a: Vec<&String> = served.files.keys().collect();
        let b: Vec<&String> = fresh.files.keys().collect();
        assert_eq!(a, b, "{step}: not the same files");
        for (path, f) in &fresh.files {
            let x = served.files[path].body.bytes().unwrap();
            let y = f.body.bytes().unwrap();
            assert!(x == y, "{step}: /{path} differs from a fresh build");
        }
        assert_eq!(served.adult, fresh.adult, "{step}");
    }

    #[test]
    fn serve_rebuilds_are_byte_identical_to_fresh_builds() {
        let (_dir, root) = fixture("blog");
        let opts = BuildOptions { base_url: Some("http://127.0.0.1:1111/".into()), ..Default::default() };
        let mut s = Session::new(&root, opts.clone());
        let step = |s: &mut Session, name: &str, changed: &[&str]| {
            let changed: Vec<PathBuf> = changed.iter().map(|c| root.join(c)).collect();
            let served = s.rebuild(&changed).unwrap_or_else(|e| panic!("{name}: {:?}", e.0));
            let fresh = build(&root, &opts).unwrap();
            assert_same(&served.output, &fresh.output, name);
            s.reused()
        };
        assert_eq!(step(&mut s, "first build", &[]), 0, "nothing to reuse at first");
        let edit = |rel: &str, from: &str, to: &str| {
            let p = root.join(rel);
            let t = std::fs::read_to_string(&p).unwrap();
            assert!(t.contains(from), "{rel} lacks {from}");
            std::fs::write(&p, t.replacen(from, to, 1)).unwrap();
        };
        edit("content/about.md", "We write", "We now write");
        let reused = step(&mut s, "body edit", &["content/about.md"]);
        assert!(reused > 0, "a body edit reuses the pages it does not affect");
        edit("content/blog/second.md", "title:", "title: Renamed");
        step(&mut s, "title edit (listings, feeds)", &["content/blog/second.md"]);
        std::fs::write(
            root.join("content/blog/fourth.md"),
            "---\ntitle: Fourth\ndate: 2024-05-01\ntags: [new-tag]\n---\nHello.\n",
        )
        .unwrap();
        step(&mut s, "new page with a new tag", &["content/blog/fourth.md"]);
        std::fs::rename(root.join("content/blog/fourth.md"), root.join("content/blog/fifth.md")).unwrap();
        step(&mut s, "renamed page", &["content/blog/fourth.md", "content/blog/fifth.md"]);
        std::fs::remove_file(root.join("content/blog/fifth.md")).unwrap();
        step(&mut s, "deleted page", &["content/blog/fifth.md"]);
        edit("content/blog/first.md", "The summary part.", "The summary, edited.");
        step(&mut s, "summary edit (listings, feeds)", &["content/blog/first.md"]);
        edit("content/blog/second.md", "tags: [rust]", "tags: [rust, go]");
        step(&mut s, "tags edit (terms)", &["content/blog/second.md"]);
        edit("content/blog/third.md", "date: 2024-03-10", "date: 2023-12-01");
        step(&mut s, "date edit (order, neighbours, feeds)", &["content/blog/third.md"]);
        edit("content/blog/_index.md", "All posts.", "Every post.");
        step(&mut s, "section body edit", &["content/blog/_index.md"]);
        edit("content/blog/_index.md", "title: Blog", "title: Weblog");
        step(&mut s, "section title edit (home, subsections)", &["content/blog/_index.md"]);
        edit("content/blog/second.md", "title:", "adult: true\ntitle:");
        step(&mut s, "page rated adult", &["content/blog/second.md"]);
        edit("content/blog/second.md", "adult: true\n", "");
        step(&mut s, "page no longer adult", &["content/blog/second.md"]);
        edit("content/blog/first.md", "## Intro", "## Introduction");
        step(&mut s, "heading edit (toc, anchors in links)", &["content/blog/first.md"]);
        edit("content/blog/trip/index.md", "---\n", "---\nweight: 1\n");
        step(&mut s, "bundle page edit", &["content/blog/trip/index.md"]);
        // A new version of a photo (another size): new variant names in the page, its listings.
        let photo = image::RgbImage::from_pixel(80, 40, image::Rgb([10, 200, 30]));
        photo.save(root.join("content/blog/trip/photo.jpg")).unwrap();
        step(&mut s, "photo replaced", &["content/blog/trip/photo.jpg"]);
        std::fs::write(root.join("content/blog/sixth.md"), "---\ntitle: Sixth\ndate: 2024-06-01\n---\nSix.\n").unwrap();
        std::fs::write(root.join("content/blog/seventh.md"), "---\ntitle: Seventh\ndate: 2024-07-01\n---\nSeven.\n")
            .unwrap();
        step(&mut s, "two new pages (another listing page)", &["content/blog/sixth.md", "content/blog/seventh.md"]);
        std::fs::remove_file(root.join("content/blog/seventh.md")).unwrap();
        step(&mut s, "a listing page fewer", &["content/blog/seventh.md"]);
        let page = "themes/plain/templates/page.html";
        let t = std::fs::read_to_string(root.join(page)).unwrap();
        std::fs::write(root.join(page), t.replacen("</", "<!-- edited --></", 1)).unwrap();
        step(&mut s, "template edit", &[page]);
        std::fs::write(root.join("templates/page.html"), "{% extends \"base.html\" %}{% block main %}<h1>{{ page.title }}</h1>{{ page.content | safe }}{% endblock main %}").unwrap();
        step(&mut s, "new site template overriding the theme's", &["templates/page.html"]);
        std::fs::remove_file(root.join("templates/page.html")).unwrap();
        step(&mut s, "site template removed", &["templates/page.html"]);
        let reused = step(&mut s, "nothing changed", &["content/about.md"]);
        assert!(reused > 10, "an unchanged site reuses every page ({reused})");
        std::fs::write(root.join("static/css/extra.css"), "body { color: red }\n").unwrap();
        step(&mut s, "stylesheet edit", &["static/css/extra.css"]);
        edit("site.yaml", "Fixture Blog", "Fixture Blog 2");
        step(&mut s, "site.yaml edit", &["site.yaml"]);
        // A page that fails, then is fixed: the failure leaves the cache usable.
        edit("content/about.md", "title:", "title: [unclosed");
        assert!(s.rebuild(&[root.join("content/about.md")]).is_err());
        edit("content/about.md", "title: [unclosed", "title:");
        step(&mut s, "fixed page", &["content/about.md"]);
    }
}
