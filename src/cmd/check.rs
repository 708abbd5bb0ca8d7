//! `sopixi check`: verifies that every HTML page carries the platform elements.

use std::path::PathBuf;

use sopixi::build::engine::Engine;
use sopixi::build::{self, BuildError};
use sopixi::platform::check::{self, CheckReport};
use sopixi::platform::policy::Policy;
use sopixi::site::config::BuildOptions;

use crate::console;

/// Check that every page carries the Sopixi badge, the cookie notice and, on adult pages, the
/// age gate.
///
/// Without --output, the site is built in memory (nothing is written) and every HTML file it
/// produces is checked. With --output DIR, the HTML files of an already built folder are checked,
/// whoever built it. A file fails when it lacks the badge link to the platform, hides the badge
/// (inline style or `hidden` attribute), lacks the cookie notice, or is an adult page without its
/// age gate.
///
/// Prints one line per failing file (`--json` for CI). Exit status: 0 when every file passes,
/// 1 when a file fails or the site has errors.
#[derive(clap::Args)]
pub struct Args {
    /// The site folder (holding site.yaml).
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Check this built folder instead of building the site.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// The platform operator's policy file (badge link, logo, colours, notice texts).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// Include pages marked `draft: true` (when building the site).
    #[arg(long)]
    pub drafts: bool,
    /// Print a JSON report on stdout (for CI).
    #[arg(long)]
    pub json: bool,
}

/// Runs `sopixi check`.
pub fn execute(args: Args) -> i32 {
    let policy = match super::policy(args.policy.as_deref(), args.json) {
        Some(p) => p,
        None => return 1,
    };
    let (report, what) = match &args.output {
        Some(dir) => match check::check_dir(dir, &policy) {
            Ok(r) => (r, dir.display().to_string()),
            Err(e) => {
                fail(args.json, &e);
                return 1;
            }
        },
        None => match built_report(&args, policy) {
            Ok(r) => (r, args.site.display().to_string()),
            Err(code) => return code,
        },
    };
    print_report(&report, &what, args.json);
    if report.failures.is_empty() {
        0
    } else {
        1
    }
}

fn built_report(args: &Args, policy: Policy) -> Result<CheckReport, i32> {
    let opts = BuildOptions { drafts: args.drafts, ..Default::default() };
    let engine = Engine::new(policy);
    match build::build(&engine, &args.site, &opts) {
        Ok(built) => Ok(check::check_output(&built.output, &engine.policy)),
        Err(f) => {
            super::report_build_error(&BuildError::Failed(f), args.json, None);
            Err(1)
        }
    }
}

fn fail(json: bool, message: &str) {
    if json {
        println!("{}", serde_json::json!({"status": "error", "errors": [{"message": message}]}));
    } else {
        console::error(message);
    }
}

fn print_report(report: &CheckReport, what: &str, json: bool) {
    if json {
        let status = if report.failures.is_empty() { "ok" } else { "failed" };
        println!("{}", serde_json::json!({"status": status, "checked": report.checked, "failures": report.failures}));
        return;
    }
    for f in &report.failures {
        println!("{}: {}", f.file, f.problems.join("; "));
    }
    if report.failures.is_empty() {
        println!("Checked {} HTML files in {what}: all carry the platform elements", report.checked);
    } else {
        console::error(&format!(
            "{} of {} HTML files in {what} break the platform rules (badge, cookie notice, age gate)",
            report.failures.len(),
            report.checked
        ));
    }
}
