//! The platform check of a built site (`sopixi check`, and `deploy` before it uploads): every HTML
//! file carries the badge, the cookie notice and, where the page is adult, the age gate.
//!
//! In: an [`Output`] in memory, or a folder any tool built. Out: a [`CheckReport`]. Reads the
//! folder it is given only; links are not followed.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::output::{self, OutFile, Output};
use crate::policy::compliance;
use crate::policy::Policy;

/// What a platform check of a whole output found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    /// HTML files checked.
    pub checked: usize,
    /// The files that break a rule, in path order.
    pub failures: Vec<compliance::FileReport>,
}

fn check_one(
    path: &str,
    html: Result<Vec<u8>, String>,
    adult: bool,
    policy: &Policy,
) -> Option<compliance::FileReport> {
    use compliance::{check, FileReport, Violation};
    let violations = match html {
        Ok(bytes) => check(&String::from_utf8_lossy(&bytes), adult, policy),
        Err(e) => vec![Violation::Unreadable(e)],
    };
    (!violations.is_empty())
        .then(|| FileReport { file: path.to_string(), problems: violations.iter().map(|v| v.to_string()).collect() })
}

/// Checks every HTML file of a built [`Output`] against the platform rules.
pub fn check_output(output: &Output, policy: &Policy) -> CheckReport {
    let html: Vec<(&String, &OutFile)> = output.files.iter().filter(|(p, _)| compliance::is_html_path(p)).collect();
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
pub fn check_dir(dir: &Path, policy: &Policy) -> Result<CheckReport, String> {
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
        if compliance::is_html_path(&rel) {
            paths.push((rel, entry.path().to_path_buf()));
        }
    }
    Ok(CheckReport { checked: paths.len(), failures: check_files(&paths, &adult, policy) })
}

/// Checks HTML files on disk, given as (output path, file), against the platform rules; the
/// pages in `adult` (and any page declaring `rating=adult`) must have their age gate. Files that
/// are not HTML are skipped. The failures, in the order given.
pub(crate) fn check_files(
    files: &[(String, PathBuf)],
    adult: &std::collections::BTreeSet<String>,
    policy: &Policy,
) -> Vec<compliance::FileReport> {
    files
        .par_iter()
        .filter(|(rel, _)| compliance::is_html_path(rel))
        .filter_map(|(rel, abs)| {
            let bytes = std::fs::read(abs).map_err(|e| e.to_string());
            check_one(rel, bytes, adult.contains(rel), policy)
        })
        .collect()
}
