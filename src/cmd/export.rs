//! `sopixi export`: the whole site in one archive, or what it holds about people.

use std::path::PathBuf;

use sopixi::build::engine::Engine;
use sopixi::ops::port::export::{self, ExportError, ExportOptions};

use crate::console;

/// Take the site away: one archive with its sources, theme and built output.
///
/// The archive (`.tar.zst`) holds `README.md` (in the site's language: how to host the built
/// site anywhere, rebuild it, or move to Hugo or Zola), `site/` (the sources and the theme, or
/// the name of a paid catalog theme that may not be redistributed), `public/` (the built site)
/// and, when files of the platform's media library were left out, `LEFT-OUT.txt`. The same site
/// gives the same archive, byte for byte.
///
/// With --personal-data, writes instead a JSON report of what the site holds about its author and
/// the people it names or collects (author and contact fields, e-mail addresses, phone numbers,
/// form targets), with the file and line of each.
///
/// Exit status: 0 on success, 1 when the site has errors or the file cannot be written.
#[derive(clap::Args)]
pub struct Args {
    /// The site folder (holding site.yaml).
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// The file to write (FILE.tar.zst, or FILE.json with --personal-data).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Leave the built site out (no build is run).
    #[arg(long)]
    pub no_build: bool,
    /// Write the personal-data report (JSON) instead of the archive.
    #[arg(long)]
    pub personal_data: bool,
    /// The platform's theme catalog (where the site's theme may come from).
    #[arg(long, value_name = "DIR")]
    pub themes: Option<PathBuf>,
    /// The platform operator's policy (its `library_media` are left out).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `sopixi export`.
pub fn execute(args: Args) -> i32 {
    if args.personal_data {
        if !args.site.join("site.yaml").is_file() {
            console::error(&format!("{} has no site.yaml: give the site folder", args.site.display()));
            return 1;
        }
        let report = sopixi::ops::port::personal::scan(&args.site);
        let mut text = serde_json::to_vec_pretty(&report).unwrap_or_default();
        text.push(b'\n');
        if let Err(e) = std::fs::write(&args.output, text) {
            console::error(&format!("cannot write {}: {e}", args.output.display()));
            return 1;
        }
        if args.json {
            println!(
                "{}",
                serde_json::json!({"status": "ok", "file": args.output, "findings": report.findings.len(), "summary": report.summary})
            );
        } else {
            println!(
                "{} findings in {} files ({} kinds) → {}",
                report.findings.len(),
                report.files_read,
                report.summary.len(),
                args.output.display()
            );
        }
        return 0;
    }
    let Some(policy) = super::policy(args.policy.as_deref(), args.json) else { return 1 };
    let engine = Engine::new(policy);
    let opts = ExportOptions { build: !args.no_build, themes: args.themes.clone() };
    match export::export(&engine, &args.site, &args.output, &opts) {
        Ok(r) => {
            if args.json {
                println!("{}", serde_json::json!({"status": "ok", "file": args.output, "export": r}));
            } else {
                println!(
                    "Exported {} files ({}, {} of them built) into {} ({}); theme {}{}",
                    r.files,
                    sopixi::util::text::human_bytes(r.bytes),
                    r.built_files,
                    args.output.display(),
                    sopixi::util::text::human_bytes(r.archive_bytes),
                    r.theme,
                    if r.theme_included { " included" } else { " named only (a paid catalog theme)" }
                );
                if !r.left_out.is_empty() {
                    console::warning(&format!(
                        "{} file(s) of the platform's media library left out (listed in LEFT-OUT.txt)",
                        r.left_out.len()
                    ));
                }
            }
            0
        }
        Err(ExportError::Build(diags)) => {
            for d in &diags {
                console::diagnostic(d);
            }
            console::error(&ExportError::Build(diags).to_string());
            1
        }
        Err(e) => {
            if args.json {
                println!("{}", serde_json::json!({"status": "error", "message": e.to_string()}));
            } else {
                console::error(&e.to_string());
            }
            1
        }
    }
}
