//! `sopixi check`: verifies that every HTML page carries the platform elements.

use std::path::PathBuf;

use sopixi::build::engine::Engine;
use sopixi::build::{self, BuildError};
use sopixi::ops::browser::{self, BrowserReport};
use sopixi::policy::check::{self, CheckReport};
use sopixi::policy::Policy;
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
/// With --browser, the site is also opened in headless Chromium (Debian's `chromium` and
/// `chromium-driver`) at 320, 375, 768 and 1280 px, one page of every template (and one adult
/// page of each), and each is judged after its scripts ran: the badge is visible, at least 16 px
/// tall, uncovered at its centre and in the viewport (at the top and scrolled to the bottom); the
/// cookie notice shows on a first visit and closes with a real click on "refuse"; an adult page
/// is covered by the age gate.
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
    /// Also open one page of every template in headless Chromium and check what a visitor sees.
    #[arg(long)]
    pub browser: bool,
    /// The viewport widths of --browser, in CSS pixels.
    #[arg(long, value_delimiter = ',', default_values_t = browser::WIDTHS, value_name = "PX,…", requires = "browser")]
    pub widths: Vec<u32>,
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
    let tools = if args.browser {
        match browser::Tools::find() {
            Ok(t) => Some(t),
            Err(e) => {
                fail(args.json, &e);
                return 1;
            }
        }
    } else {
        None
    };
    let (report, what, site) = match &args.output {
        Some(dir) => match check::check_dir(dir, &policy) {
            Ok(r) => (r, dir.display().to_string(), Built::Dir(dir.clone())),
            Err(e) => {
                fail(args.json, &e);
                return 1;
            }
        },
        None => match built_report(&args, &policy) {
            Ok((r, out)) => (r, args.site.display().to_string(), Built::Memory(out)),
            Err(code) => return code,
        },
    };
    let browser_report = match &tools {
        None => None,
        Some(tools) => match run_browser(site, &policy, &args.widths, tools) {
            Ok(r) => Some(r),
            Err(e) => {
                fail(args.json, &format!("the browser check could not run: {e}"));
                return 1;
            }
        },
    };
    print_report(&report, browser_report.as_ref(), &what, args.json);
    let browser_ok = browser_report.as_ref().is_none_or(|r| r.failures().next().is_none());
    if report.failures.is_empty() && browser_ok {
        0
    } else {
        1
    }
}

/// The site a check read: built in memory, or a folder.
enum Built {
    Memory(sopixi::output::Output),
    Dir(PathBuf),
}

fn run_browser(site: Built, policy: &Policy, widths: &[u32], tools: &browser::Tools) -> Result<BrowserReport, String> {
    let (pages, adult, site) = match site {
        Built::Memory(out) => {
            let pages = sopixi::output::template_pages(&out);
            let adult = out.adult.clone();
            (pages, adult, browser::Site::Memory(std::sync::Arc::new(out)))
        }
        Built::Dir(dir) => {
            let m = sopixi::output::read_manifest(&dir).ok_or_else(|| {
                format!("{} has no sopixi manifest, so its pages' templates are unknown: build it with sopixi build, or check the site folder", dir.display())
            })?;
            let adult = m.adult.iter().cloned().collect();
            (m.template_pages, adult, browser::Site::Dir(dir))
        }
    };
    if pages.is_empty() {
        return Err("no HTML page to open".into());
    }
    browser::check(site, &pages, &adult, policy, widths, tools, None)
}

fn built_report(args: &Args, policy: &Policy) -> Result<(CheckReport, sopixi::output::Output), i32> {
    let opts = BuildOptions { drafts: args.drafts, ..Default::default() };
    let engine = Engine::new(policy.clone());
    match build::build(&engine, &args.site, &opts) {
        Ok(built) => Ok((check::check_output(&built.output, &engine.policy), built.output)),
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

fn print_report(report: &CheckReport, browser: Option<&BrowserReport>, what: &str, json: bool) {
    let browser_failed = browser.is_some_and(|b| b.failures().next().is_some());
    if json {
        let status = if report.failures.is_empty() && !browser_failed { "ok" } else { "failed" };
        let mut v = serde_json::json!({"status": status, "checked": report.checked, "failures": report.failures});
        if let Some(b) = browser {
            v["browser"] = serde_json::json!({
                "status": if browser_failed { "failed" } else { "ok" },
                "widths": b.widths,
                "pages": b.pages,
                "skipped_templates": b.skipped,
            });
        }
        println!("{v}");
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
    let Some(b) = browser else { return };
    for p in b.failures() {
        for problem in &p.problems {
            println!("{} ({}, {} px): {problem}", p.file, p.template, p.width);
        }
    }
    let templates: std::collections::BTreeSet<&str> = b.pages.iter().map(|p| p.template.as_str()).collect();
    let widths: Vec<String> = b.widths.iter().map(|w| w.to_string()).collect();
    let opened = b.pages.len() / b.widths.len().max(1);
    if browser_failed {
        let failed: std::collections::BTreeSet<&str> = b.failures().map(|p| p.file.as_str()).collect();
        console::error(&format!(
            "in the browser, {} of {opened} pages fail at some width: a visitor would not see the platform elements as the rules require",
            failed.len()
        ));
    } else {
        println!(
            "Opened {opened} pages ({} templates) in headless Chromium at {} px: the badge, notice and age gate hold",
            templates.len(),
            widths.join(", ")
        );
    }
}
