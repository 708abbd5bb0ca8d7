//! The browser gate of the platform run: a partner whose own templates, stylesheets or scripts
//! (its `templates/`, its local `themes/`, the CSS and JavaScript of its `static/`) no `theme
//! check` has passed is opened in headless Chromium, as `sopixi check --browser` does, before it
//! is published. Markup or a script can defeat the platform elements in ways only a browser
//! shows (a script that stops the page loading before the badge is parsed, styles on the root
//! element); partners on a bundled or catalog theme, without files of their own, are not opened.
//!
//! In: the partner's folder, its built folder and the policy. Out: a verdict, kept in
//! `OUT/.cache/browser/KEY.json` by the hash of those files, of the policy and of this binary,
//! so that partners sharing the same files, and later runs, open Chromium once. Without Chromium
//! on the machine, such a partner is refused with an error saying what to install: never
//! published unchecked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::ops::browser::{self, BrowserReport, Site, Tools};
use crate::output;
use crate::policy::Policy;
use crate::util::diag::{Diagnostic, Kind};

/// What the gate decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Opened in Chromium now: the platform elements hold.
    Passed,
    /// Passed earlier with the same files (the verdict was kept).
    PassedBefore,
}

/// A verdict kept on disk.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    passed: bool,
    /// (template, page, width, problems) of each failing page.
    failures: Vec<(String, String, u32, Vec<String>)>,
}

/// The hash of the partner's own templates, stylesheets and scripts; `None` when it has none.
pub fn own_files(root: &Path) -> Option<String> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    // Templates, and stylesheets and scripts (a local theme's images and demo content are not
    // what can defeat the platform elements, and are not read).
    for dir in ["templates", "themes", "static"] {
        for e in walkdir::WalkDir::new(root.join(dir)).follow_links(false).sort_by_file_name().into_iter().flatten() {
            let rel = e.path().strip_prefix(root).unwrap_or(e.path()).to_string_lossy().replace('\\', "/");
            let name = rel.to_ascii_lowercase();
            let template = dir == "templates" || (dir == "themes" && name.contains("/templates/"));
            let ours = template || [".css", ".js", ".mjs"].iter().any(|x| name.ends_with(x));
            if e.file_type().is_file() && ours && !name.split('/').any(|s| s.starts_with('.') || s == "public") {
                files.push((rel, e.path().to_path_buf()));
            }
        }
    }
    if files.is_empty() {
        return None;
    }
    let mut h = blake3::Hasher::new();
    for (rel, abs) in files {
        h.update(rel.as_bytes());
        h.update(&[0]);
        h.update(&std::fs::read(&abs).unwrap_or_default());
        h.update(&[0]);
    }
    Some(h.finalize().to_hex().to_string())
}

/// The gate: `built` (a partner's built folder, with its manifest) opened in Chromium unless a
/// verdict for `own` (see [`own_files`]) is kept in `cache`. `lock` keeps to one browser at a
/// time. The error is the reason and the problems, each naming the template's file.
pub(crate) fn check(
    root: &Path,
    built: &Path,
    own: &str,
    policy: &Policy,
    policy_key: &str,
    cache: &Path,
    lock: &Mutex<()>,
) -> Result<Verdict, (String, Vec<Diagnostic>)> {
    let file = verdict_file(own, policy_key, cache);
    if let Some(verdict) = kept_verdict(root, &file) {
        return verdict;
    }
    let tools = Tools::find().map_err(|e| {
        let d = Diagnostic::new(
            "templates/",
            format!("this site has its own templates, stylesheets or scripts, which are opened in Chromium before they are published, and Chromium cannot be started here: {e}"),
        )
        .kind(Kind::Platform)
        .hint("install chromium and chromium-driver on the machine that runs the platform; the partner was not published");
        ("its own templates need the browser check, and Chromium is not on this machine".to_string(), vec![d])
    })?;
    let m = output::read_manifest(built).ok_or_else(|| {
        let d = Diagnostic::new("(output)", format!("{} has no manifest", built.display()));
        ("the built site cannot be checked".to_string(), vec![d])
    })?;
    let adult: BTreeSet<String> = m.adult.iter().cloned().collect();
    // One browser at a time; a partner that waited finds the verdict of one with the same files.
    let _one = lock.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(verdict) = kept_verdict(root, &file) {
        return verdict;
    }
    let report = browser::check(
        Site::Dir(built.to_path_buf()),
        &m.template_pages,
        &adult,
        policy,
        &browser::WIDTHS,
        &tools,
        None,
    )
    .map_err(|e| {
        let d = Diagnostic::new("(browser)", format!("the browser check could not run: {e}")).kind(Kind::Platform);
        ("the browser check could not run".to_string(), vec![d])
    })?;
    let kept = kept(&report);
    let _ = std::fs::create_dir_all(cache)
        .and_then(|_| std::fs::write(&file, serde_json::to_vec(&kept).unwrap_or_default()));
    if kept.passed {
        Ok(Verdict::Passed)
    } else {
        Err(refusal(root, &kept.failures))
    }
}

/// Where the verdict for these own files under this policy (and this binary) is kept.
fn verdict_file(own: &str, policy_key: &str, cache: &Path) -> PathBuf {
    let key = blake3::hash(format!("{own}|{policy_key}|{}", env!("CARGO_PKG_VERSION")).as_bytes()).to_hex();
    cache.join(format!("{key}.json"))
}

/// Whether files with the hash `own` passed the browser check before (under this policy and
/// binary): such a partner is built in place, like one on a checked theme.
pub(crate) fn passed_before(own: &str, policy_key: &str, cache: &Path) -> bool {
    std::fs::read(verdict_file(own, policy_key, cache))
        .ok()
        .and_then(|b| serde_json::from_slice::<Kept>(&b).ok())
        .is_some_and(|k| k.passed)
}

/// The verdict kept in `file`, if any.
fn kept_verdict(root: &Path, file: &Path) -> Option<Result<Verdict, (String, Vec<Diagnostic>)>> {
    let kept: Kept = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    Some(if kept.passed { Ok(Verdict::PassedBefore) } else { Err(refusal(root, &kept.failures)) })
}

fn kept(report: &BrowserReport) -> Kept {
    let failures: Vec<(String, String, u32, Vec<String>)> =
        report.failures().map(|p| (p.template.clone(), p.file.clone(), p.width, p.problems.clone())).collect();
    Kept { passed: failures.is_empty(), failures }
}

/// The refusal: one problem per template, naming its file (the site's own, else its local
/// theme's, else the site's own templates that it uses), with its first failing page, the
/// widths, and each distinct problem once.
fn refusal(root: &Path, failures: &[(String, String, u32, Vec<String>)]) -> (String, Vec<Diagnostic>) {
    type Seen<'a> = (BTreeSet<u32>, Vec<&'a str>, Vec<&'a str>);
    let mut by_template: std::collections::BTreeMap<&str, Seen> = std::collections::BTreeMap::new();
    for (template, page, width, problems) in failures {
        let (widths, pages, seen) = by_template.entry(template).or_default();
        widths.insert(*width);
        if !pages.contains(&page.as_str()) {
            pages.push(page);
        }
        for p in problems {
            if !seen.contains(&p.as_str()) {
                seen.push(p);
            }
        }
    }
    let errors = by_template
        .into_iter()
        .map(|(template, (widths, pages, problems))| {
            let widths: Vec<String> = widths.iter().map(u32::to_string).collect();
            let (file, via) = template_file(root, template);
            Diagnostic::new(
                file,
                format!(
                    "in Chromium at {} px, /{}{via}: {}",
                    widths.join(", "),
                    pages[0],
                    problems.join("; ")
                ),
            )
            .kind(Kind::Platform)
            .hint("the platform elements must hold whatever the page does: remove what stops, rewrites or hides the page (window.stop, document.write, styles on <html> or <body> …) from the site's own templates, stylesheets and scripts; `sopixi check --browser` shows it on your machine")
        })
        .collect();
    ("the browser check failed: the platform elements do not hold in Chromium".to_string(), errors)
}

/// The file at fault for a page made with `template`: the site's `templates/NAME`, else its
/// local theme's; else (the template is the catalog theme's) the site's own templates, which it
/// extends or includes — with the words that say so.
fn template_file(root: &Path, template: &str) -> (String, String) {
    let own = format!("templates/{template}");
    if root.join(&own).is_file() {
        return (own, String::new());
    }
    let mut owned: Vec<String> = Vec::new();
    for base in ["templates", "themes"] {
        for e in walkdir::WalkDir::new(root.join(base)).sort_by_file_name().into_iter().flatten() {
            let rel = e.path().strip_prefix(root).unwrap_or(e.path()).to_string_lossy().replace('\\', "/");
            if e.file_type().is_file() && rel.contains("templates/") {
                if rel.ends_with(&format!("templates/{template}")) {
                    return (rel, String::new());
                }
                owned.push(rel);
            }
        }
    }
    match owned.as_slice() {
        [] => ("static/".to_string(), format!(" (made with {template}; the site's own stylesheets or scripts)")),
        [one] => (one.clone(), format!(" (made with {template}, which uses it)")),
        many => (
            "templates/".to_string(),
            format!(" (made with {template}, which uses the site's own {})", many.join(", ")),
        ),
    }
}
