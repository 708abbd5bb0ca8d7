//! `sopixi build`: builds a site into its output folder.

use std::path::PathBuf;
use std::time::Instant;

use sopixi::build;
use sopixi::build::engine::Engine;
use sopixi::site::config::BuildOptions;

use crate::console;

/// Build the website into a folder (SITE/public by default).
///
/// Every page is rendered in memory first: if anything in the site is wrong, every problem is
/// listed (file, line, what to do) and the previous output is left untouched. Files whose bytes
/// did not change are not rewritten, and files the site no longer produces are removed. When
/// nothing changed since the last build, nothing is rendered at all.
///
/// Exit status: 0 on success, 1 when the site has errors or the output cannot be written.
#[derive(clap::Args)]
pub struct Args {
    /// The site folder (holding site.yaml).
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Output folder [default: SITE/public].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Include pages marked `draft: true`.
    #[arg(long)]
    pub drafts: bool,
    /// Publish for another address than site.yaml's base_url (e.g. a preview URL).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Number of threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Build with this theme (a folder, or a bundled theme's name) instead of the one site.yaml names.
    #[arg(long, value_name = "DIR|NAME")]
    pub theme: Option<PathBuf>,
    /// Do not minify HTML, CSS and JS (easier to read, bigger files).
    #[arg(long)]
    pub no_minify: bool,
    /// The platform operator's policy file (badge link, logo, colours, notice texts).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// Print a JSON summary on stdout (for CI) instead of the human one.
    #[arg(long)]
    pub json: bool,
}

/// Runs `sopixi build`.
pub fn execute(args: Args, verbose: bool) -> i32 {
    let start = Instant::now();
    let Some(policy) = super::policy(args.policy.as_deref(), args.json) else { return 1 };
    let out_dir = args.output.clone().unwrap_or_else(|| args.site.join("public"));
    let opts = BuildOptions {
        drafts: args.drafts,
        base_url: args.base_url.clone(),
        no_minify: args.no_minify,
        theme_dir: args.theme.clone(),
        progress: !args.json && console::interactive(),
        ..Default::default()
    };
    if verbose || args.json {
        sopixi::util::heap::enable();
    }
    let engine = Engine::new(policy);
    let result = build::with_jobs(args.jobs, || build::build_to_dir(&engine, &args.site, &opts, &out_dir));
    let secs = start.elapsed().as_secs_f64();
    // The memory at the end of each stage (a one-build process: the figures are this build's).
    let heap = sopixi::util::heap::take();
    let memory = |stage: &str| heap.iter().rev().find(|h| h.0 == stage).map(|h| (h.1 as f64 / 1e6, h.2 as f64 / 1e6));
    match result {
        Ok(done) => {
            if !args.json {
                for w in &done.warnings {
                    console::diagnostic_warning(w);
                }
            }
            if args.json {
                let v = serde_json::json!({
                    "status": "ok",
                    "output": out_dir,
                    "pages": done.stats.pages,
                    "sections": done.stats.sections,
                    "files": done.stats.files,
                    "images_made": done.stats.images_made,
                    "images_cached": done.stats.images_cached,
                    "written": done.write.written,
                    "unchanged": done.write.unchanged,
                    "removed": done.write.removed,
                    "up_to_date": done.up_to_date,
                    "duration_ms": (secs * 1000.0).round(),
                    "bodies_spilled_bytes": done.spilled,
                    "bodies_deferred": done.deferred,
                    "stages_ms": done.timings.iter().map(|(n, t)| {
                        let (heap, peak) = memory(n).unzip();
                        serde_json::json!({"stage": n, "ms": t, "heap_mb": heap, "peak_mb": peak})
                    }).collect::<Vec<_>>(),
                    "warnings": done.warnings,
                });
                println!("{v}");
            } else {
                let s = done.stats;
                let detail = if done.up_to_date {
                    "nothing changed".to_string()
                } else {
                    format!(
                        "{} written, {} unchanged, {} removed",
                        done.write.written, done.write.unchanged, done.write.removed
                    )
                };
                let images = if s.images_made + s.images_cached > 0 {
                    format!(" ({} images made, {} from the cache)", s.images_made, s.images_cached)
                } else {
                    String::new()
                };
                println!(
                    "Built {} page{}, {} section{}, {} files{images} in {secs:.2} s ({detail}) → {}",
                    s.pages,
                    if s.pages == 1 { "" } else { "s" },
                    s.sections,
                    if s.sections == 1 { "" } else { "s" },
                    s.files,
                    out_dir.display()
                );
                if verbose {
                    for (name, ms) in &done.timings {
                        match memory(name) {
                            // The live heap is known only with `--features heap-stats` (else about 0).
                            Some((live, peak)) if live >= 0.1 => {
                                eprintln!("  {name:<12} {ms:>8.1} ms   heap {live:>7.1} MB   peak {peak:>7.1} MB")
                            }
                            Some((_, peak)) => eprintln!("  {name:<12} {ms:>8.1} ms   peak {peak:>7.1} MB"),
                            None => eprintln!("  {name:<12} {ms:>8.1} ms"),
                        }
                    }
                    if done.spilled > 0 {
                        eprintln!("  page bodies waited on disk, not in memory: {:.1} MB", done.spilled as f64 / 1e6);
                    }
                }
            }
            0
        }
        Err(e) => {
            super::report_build_error(&e, args.json, Some(&out_dir));
            1
        }
    }
}
