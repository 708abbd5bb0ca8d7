//! The build: the stages load → bodies → context → render → statics → images, producing one
//! [`Output`](crate::output::Output), and the ways to run them — in memory ([`build`]), into a folder ([`build_to_dir`],
//! skipped when nothing changed), or again and again for a preview (`session::Session`).
//!
//! In: the site folder, [`BuildOptions`] and a shared [`engine::Engine`]. Out: an [`Output`](crate::output::Output) (or
//! every problem found), written to a folder only when the whole site rendered without error.
//! With `output`, `serve` and `deploy`, this is the IO edge: other modules get values.

pub(crate) mod bust;
pub mod engine;
pub(crate) mod files;
pub(crate) mod finish;
pub(crate) mod gather;
pub(crate) mod legal;
pub(crate) mod memo;
pub(crate) mod search_index;
pub(crate) mod session;
pub(crate) mod stages;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::build::engine::Engine;
use crate::build::gather::{fingerprint, gather, Bodies, TextHashes};
use crate::build::memo::Memo;
pub use crate::build::stages::Built;
use crate::build::stages::{build_from, BuildCx};
pub(crate) use crate::build::stages::{drop_in_background, group_template_errors, REDIRECTS};
use crate::output::{self, BuildStats, Summary, WriteError, WriteStats};
use crate::site::config::BuildOptions;
use crate::util::diag::{BuildFailed, Diagnostic};

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

/// Builds the site in memory.
pub fn build(engine: &Engine, root: &Path, opts: &BuildOptions) -> Result<Built, BuildFailed> {
    let inputs = gather(root, opts, TextHashes::Skip, Bodies::Hold)?;
    let cx = BuildCx { root, opts, engine, spool: None, out_dir: None };
    build_from(&cx, inputs, &mut Memo::off())
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
    /// Problems that do not fail the build (none when nothing was rendered).
    pub warnings: Vec<Diagnostic>,
    /// Pages the platform withholds: (URL path, reason).
    pub withheld: Vec<(String, String)>,
    /// Bytes of page bodies that waited on disk between conversion and rendering (a large
    /// site's; 0 for most).
    pub spilled: u64,
    /// Markdown files whose bodies stayed in their files until converted (a very large site's).
    pub deferred: usize,
}

/// A site read from disk and fingerprinted, not yet built (see [`prepare`]).
pub(crate) struct Prepared {
    inputs: gather::Inputs,
    /// Stands for everything the build reads (see [`gather::fingerprint`]).
    pub(crate) fingerprint: String,
    /// When the site was read.
    started: Instant,
}

impl Prepared {
    /// Whether reading found no problem (a fingerprint of a site with unreadable files is not
    /// one to trust for skipping).
    pub(crate) fn readable(&self) -> bool {
        self.inputs.errors.is_empty()
    }
}

/// Reads the site (walks, reads, resolves the theme) and fingerprints it, without building.
/// A big site's bodies wait beside `out_dir`, when given, until they are converted.
pub(crate) fn prepare(
    engine: &Engine,
    root: &Path,
    opts: &BuildOptions,
    out_dir: Option<&Path>,
) -> Result<Prepared, BuildFailed> {
    let started = Instant::now();
    let bodies = out_dir.map_or(Bodies::Hold, Bodies::SpillBeside);
    let inputs = gather(root, opts, TextHashes::Keep, bodies)?;
    let fingerprint = fingerprint(&inputs, opts, engine);
    Ok(Prepared { inputs, fingerprint, started })
}

/// Builds the site and writes it to `out_dir` — only if the build succeeded. When the inputs are
/// the same as for the output already there, and that output is intact, nothing is rendered.
pub fn build_to_dir(
    engine: &Engine,
    root: &Path,
    opts: &BuildOptions,
    out_dir: &Path,
) -> Result<DiskBuild, BuildError> {
    output::check_writable(out_dir).map_err(BuildError::OutputFolder)?;
    let prepared = prepare(engine, root, opts, Some(out_dir))?;
    build_prepared_to_dir(engine, root, opts, prepared, out_dir)
}

/// [`build_to_dir`] of a site already read by [`prepare`].
pub(crate) fn build_prepared_to_dir(
    engine: &Engine,
    root: &Path,
    opts: &BuildOptions,
    prepared: Prepared,
    out_dir: &Path,
) -> Result<DiskBuild, BuildError> {
    output::check_writable(out_dir).map_err(BuildError::OutputFolder)?;
    let Prepared { inputs, fingerprint: hash, started: t } = prepared;
    if let Some(m) = output::current_manifest(out_dir, &hash).filter(|_| inputs.errors.is_empty()) {
        let Summary { stats, withheld } = m.summary;
        let write = WriteStats { unchanged: stats.files, ..Default::default() };
        let timings = vec![("check inputs", ms(t.elapsed()))];
        return Ok(DiskBuild {
            stats,
            write,
            up_to_date: true,
            timings,
            warnings: Vec::new(),
            withheld,
            spilled: 0,
            deferred: 0,
        });
    }
    let gather_time = t.elapsed();
    crate::util::heap::note("read");
    // Into a missing or empty folder, pages are written as they are finished, into a staging
    // folder that becomes the output folder when the build succeeded (and is removed when not).
    let spool = output::Spool::fresh(out_dir);
    let cx = BuildCx { root, opts, engine, spool: spool.as_ref(), out_dir: Some(out_dir) };
    let built = build_from(&cx, inputs, &mut Memo::off())?;
    let t = Instant::now();
    let summary = Summary { stats: built.stats, withheld: built.withheld.clone() };
    let write = match spool {
        Some(spool) => spool.commit(&built.output, &hash, summary)?,
        None => output::write(&built.output, out_dir, &hash, summary)?,
    };
    let mut timings: Vec<(&'static str, f64)> = vec![("read", ms(gather_time))];
    timings.extend(built.timings.iter().map(|(n, d)| (*n, ms(*d))));
    timings.push(("write", ms(t.elapsed())));
    crate::util::heap::note("write");
    let stats = built.stats;
    drop_in_background(built.output);
    Ok(DiskBuild {
        stats,
        write,
        up_to_date: false,
        timings,
        warnings: built.warnings,
        withheld: built.withheld,
        spilled: built.spilled,
        deferred: built.deferred,
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::session::Session;
    use crate::output::Output;
    use std::path::PathBuf;

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

    /// Rebuilds the session after `changed` and holds it to a fresh build; the files it reused.
    fn replay(
        s: &mut Session,
        (engine, root, opts): (&Engine, &Path, &BuildOptions),
        name: &str,
        changed: &[&str],
    ) -> usize {
        let changed: Vec<PathBuf> = changed.iter().map(|c| root.join(c)).collect();
        let served = s.rebuild(&changed).unwrap_or_else(|e| panic!("{name}: {:?}", e.0));
        let fresh = build(engine, root, opts).unwrap();
        assert_same(&served.output, &fresh.output, name);
        s.reused()
    }

    /// Replaces the first `from` in the site file `rel` by `to`.
    fn edit_file(root: &Path, rel: &str, from: &str, to: &str) {
        let p = root.join(rel);
        let t = std::fs::read_to_string(&p).unwrap();
        assert!(t.contains(from), "{rel} lacks {from}");
        std::fs::write(&p, t.replacen(from, to, 1)).unwrap();
    }

    #[test]
    fn serve_rebuilds_of_translations_are_byte_identical_to_fresh_builds() {
        let (_dir, root) = fixture("bilingual");
        let opts = BuildOptions { base_url: Some("http://127.0.0.1:1111/".into()), ..Default::default() };
        let engine = Engine::default();
        let mut s = Session::new(&root, opts.clone(), engine.clone());
        let step = |s: &mut Session, name: &str, changed: &[&str]| replay(s, (&engine, &root, &opts), name, changed);
        let edit = |rel: &str, from: &str, to: &str| edit_file(&root, rel, from, to);
        step(&mut s, "first build", &[]);
        edit("content/blog/opening.en.md", "title: Open day", "title: Open house");
        let reused =
            step(&mut s, "translation title (its French page's switcher, listings)", &["content/blog/opening.en.md"]);
        assert!(reused > 0, "an edit of one translation reuses the pages it does not affect");
        assert_eq!(s.search_counted(), 1, "the search index counts the words of the edited page only");
        edit("content/blog/opening.en.md", "slug: open-day", "slug: open-house");
        step(&mut s, "translation slug (alternates, links to it)", &["content/blog/opening.en.md"]);
        std::fs::write(
            root.join("content/blog/only-french.en.md"),
            "---
title: Now in English
date: 2025-10-01
---
Translated.
",
        )
        .unwrap();
        step(&mut s, "new translation", &["content/blog/only-french.en.md"]);
        std::fs::remove_file(root.join("content/blog/only-french.en.md")).unwrap();
        step(&mut s, "translation removed", &["content/blog/only-french.en.md"]);
        edit("site.yaml", "title: Bilingual Workshop", "title: Two-Language Workshop");
        step(&mut s, "language title", &["site.yaml"]);
        std::fs::create_dir_all(root.join("i18n")).unwrap();
        std::fs::write(root.join("i18n/en.yaml"), "read_more: Continue →\n").unwrap();
        step(&mut s, "site UI strings", &["i18n/en.yaml"]);
        std::fs::write(root.join("i18n/en.yaml"), "read_more: Keep reading →\n").unwrap();
        step(&mut s, "site UI strings edited", &["i18n/en.yaml"]);
        edit("site.yaml", "language: fr", "translation_fallback: default_language\nlanguage: fr");
        step(&mut s, "fallback turned on", &["site.yaml"]);
        edit("content/blog/only-french.md", "n'est pas traduit", "n'est toujours pas traduit");
        step(&mut s, "a page shown in two languages edited", &["content/blog/only-french.md"]);
        let reused = step(&mut s, "nothing changed", &["content/about.md"]);
        assert!(reused > 10, "an unchanged site reuses every page ({reused})");
    }

    #[test]
    fn serve_rebuilds_are_byte_identical_to_fresh_builds() {
        let (_dir, root) = fixture("blog");
        let opts = BuildOptions { base_url: Some("http://127.0.0.1:1111/".into()), ..Default::default() };
        let engine = Engine::default();
        let mut s = Session::new(&root, opts.clone(), engine.clone());
        let step = |s: &mut Session, name: &str, changed: &[&str]| replay(s, (&engine, &root, &opts), name, changed);
        assert_eq!(step(&mut s, "first build", &[]), 0, "nothing to reuse at first");
        let edit = |rel: &str, from: &str, to: &str| edit_file(&root, rel, from, to);
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
