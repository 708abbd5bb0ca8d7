//! The inbox: partners' CI jobs hand in their sources, never their built sites (`sopixi submit`),
//! and `platform build s3://inbox/…` builds from what they handed in. Only what the platform
//! built and checked is ever served.
//!
//! Layout under a partner's inbox prefix (`inbox/ID/`): `blobs/HASH` (each source file once,
//! named by the blake3 hash of its bytes: never overwritten) and `submission.json` (site path
//! → hash and size), written after every blob it names. A submission is whole or absent: the
//! platform never sees half of one, and an interrupted `submit` leaves the previous one as it
//! was. Blobs no submission names go after the new one is written.
//!
//! The platform's side mirrors each partner's submission into a local folder (`OUT/.inbox/ID/`),
//! fetching only the blobs it does not have, checking every hash, refusing paths out of the
//! site and submissions over the quota. A partner whose submission cannot be read keeps its last
//! good mirror (a warning), and no other partner is touched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::deploy::{DeployError, Target};
use crate::policy::valid_partner_id;

/// The object that lists a submission.
pub const SUBMISSION: &str = "submission.json";
const BLOBS: &str = "blobs";
/// Most files a submission may hold.
const MAX_FILES: usize = 100_000;

/// One file of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedFile {
    /// blake3 of its bytes, hex.
    pub hash: String,
    /// Its size.
    pub size: u64,
}

/// `submission.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// Format version.
    pub version: u32,
    /// Site path (`content/blog/a.md`) → file.
    pub files: BTreeMap<String, SubmittedFile>,
}

/// What `submit` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Submitted {
    /// Files in the submission.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Files whose bytes were sent (the others were there already).
    pub uploaded: usize,
    /// Bytes sent.
    pub uploaded_bytes: u64,
    /// Blobs of the previous submission removed.
    pub removed: usize,
}

/// Whether `rel` may be a file of a submitted site: a relative path of plain names, none
/// hidden (but `.well-known`), not under `public/` (the built output never travels).
fn valid_path(rel: &str) -> bool {
    !rel.is_empty()
        && rel.len() <= 512
        && !rel.starts_with('/')
        && !rel.contains('\\')
        && rel.split('/').all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'))
        && !crate::ops::port::export::skipped(rel)
}

fn is_hash(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The source files of the site at `root`, as `export` takes them (no built output, no caches,
/// no hidden files): site path → absolute path.
fn sources(root: &Path) -> Result<BTreeMap<String, PathBuf>, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.map_err(|e| format!("cannot read {}: {e}", root.display()))?;
        if !e.file_type().is_file() {
            continue;
        }
        let Ok(rel) = e.path().strip_prefix(root) else { continue };
        let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        if valid_path(&rel) {
            out.insert(rel, e.path().to_path_buf());
        }
    }
    if !out.contains_key(crate::site::config::SITE_FILE) {
        return Err(format!("{} is not a site folder: it has no site.yaml", root.display()));
    }
    Ok(out)
}

async fn read_submission(target: &Target) -> Result<Option<Submission>, String> {
    match target.get_small(SUBMISSION).await.map_err(|e| e.to_string())? {
        Some((b, _)) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| format!("{} is not a submission sopixi can read: {e}", target.display)),
        None => Ok(None),
    }
}

/// Hands in the sources of the site at `root` to the inbox `target` (`s3://inbox/ID`).
pub async fn submit(root: &Path, target: &Target, concurrency: usize) -> Result<Submitted, String> {
    let files = sources(root)?;
    let mut submission = Submission { version: 1, files: BTreeMap::new() };
    for (rel, abs) in &files {
        let bytes = std::fs::read(abs).map_err(|e| format!("cannot read {}: {e}", abs.display()))?;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        submission.files.insert(rel.clone(), SubmittedFile { hash, size: bytes.len() as u64 });
    }
    let before = read_submission(target).await.ok().flatten().unwrap_or_default();
    let stored: std::collections::HashSet<&str> = before.files.values().map(|f| f.hash.as_str()).collect();
    // Each missing blob once, from the first file that has it.
    let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
    for (rel, f) in &submission.files {
        if !stored.contains(f.hash.as_str()) {
            wanted.entry(f.hash.as_str()).or_insert(rel.as_str());
        }
    }
    let mut report = Submitted {
        files: submission.files.len(),
        bytes: submission.files.values().map(|f| f.size).sum(),
        uploaded: wanted.len(),
        ..Default::default()
    };
    report.uploaded_bytes = wanted.values().map(|rel| submission.files[*rel].size).sum();
    stream::iter(wanted)
        .map(|(hash, rel)| {
            let abs = &files[rel];
            async move {
                let bytes = std::fs::read(abs).map_err(|e| format!("cannot read {}: {e}", abs.display()))?;
                target.put_bytes(&format!("{BLOBS}/{hash}"), bytes).await.map_err(|e| e.to_string())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    let json = serde_json::to_vec_pretty(&submission).unwrap_or_default();
    target.put_bytes(SUBMISSION, json).await.map_err(|e| e.to_string())?;
    let kept: std::collections::HashSet<&str> = submission.files.values().map(|f| f.hash.as_str()).collect();
    let gone: std::collections::BTreeSet<&str> = stored.into_iter().filter(|h| !kept.contains(h)).collect();
    report.removed = gone.len();
    for h in gone {
        // A blob left behind costs storage, never correctness.
        let _ = target.delete_one(&format!("{BLOBS}/{h}")).await;
    }
    Ok(report)
}

/// What mirroring the inbox did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Mirrored {
    /// Partners with a submission.
    pub partners: usize,
    /// Blobs fetched (the others were in the mirror already).
    pub fetched: usize,
    /// Bytes fetched.
    pub bytes: u64,
    /// Partners whose submission could not be taken (each keeps its last good one).
    pub warnings: Vec<String>,
}

/// Mirrors every partner's submission of the inbox `target` into `dir/ID/` (the partners folder
/// the run then builds); a partner whose inbox is gone loses its folder (the run reports it).
pub async fn mirror(target: &Target, dir: &Path, max_bytes: u64, concurrency: usize) -> Result<Mirrored, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    let ids: Vec<String> = target.folders().await.map_err(|e| e.to_string())?;
    let ids: Vec<String> = ids.into_iter().filter(|id| valid_partner_id(id)).collect();
    let results: Vec<(String, Fetched)> = stream::iter(ids.iter().cloned())
        .map(|id| async move {
            let r = mirror_one(&target.sub(&id), &dir.join(&id), max_bytes, concurrency).await;
            (id, r)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut report = Mirrored { partners: ids.len(), ..Default::default() };
    for (id, r) in results {
        match r {
            Ok((n, b)) => {
                report.fetched += n;
                report.bytes += b;
            }
            Err(e) => report
                .warnings
                .push(format!("partner {id}: its submission was not taken ({e}); its last good submission is built")),
        }
    }
    report.warnings.sort();
    // A partner whose inbox went: its mirror goes, and the run reports it gone.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if valid_partner_id(&name) && !ids.contains(&name) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(report)
}

/// What mirroring one partner did: (blobs fetched, bytes), or why its submission was not taken.
type Fetched = Result<(usize, u64), String>;

/// The mirror's record of the submission it holds.
const MIRRORED: &str = ".sopixi-submission.json";

/// Brings `into` to the submission of `target`: (blobs fetched, bytes).
async fn mirror_one(target: &Target, into: &Path, max_bytes: u64, concurrency: usize) -> Fetched {
    let Some(sub) = read_submission(target).await? else { return Err("no submission.json".into()) };
    if let Some(bad) = sub.files.iter().find(|(rel, f)| !valid_path(rel) || !is_hash(&f.hash)) {
        return Err(format!("`{}` is not a file a site may hold", bad.0));
    }
    if sub.files.len() > MAX_FILES {
        return Err(format!("{} files, over the limit of {MAX_FILES}", sub.files.len()));
    }
    let total: u64 = sub.files.values().map(|f| f.size).sum();
    if total > max_bytes {
        return Err(format!(
            "{} over the platform's quota of {}",
            crate::util::text::human_bytes(total),
            crate::util::text::human_bytes(max_bytes)
        ));
    }
    let had: Submission =
        std::fs::read(into.join(MIRRORED)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    if had == sub {
        return Ok((0, 0));
    }
    // Fetched aside, checked, then put in place: a failure leaves the mirror as it was.
    let staging = into.with_extension("incoming");
    let _ = std::fs::remove_dir_all(&staging);
    let changed: Vec<(&String, &SubmittedFile)> =
        sub.files.iter().filter(|(rel, f)| had.files.get(*rel) != Some(*f) || !into.join(rel).is_file()).collect();
    let fetched: Vec<u64> = stream::iter(changed.iter().map(|(rel, f)| (staging.join(rel), (*f).clone())))
        .map(|(path, f)| async move {
            let (bytes, _) = target
                .get_small(&format!("{BLOBS}/{}", f.hash))
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the blob of {} is missing", path.display()))?;
            if blake3::hash(&bytes).to_hex().as_str() != f.hash || bytes.len() as u64 != f.size {
                return Err(format!("the blob {} does not hold what submission.json says", f.hash));
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("cannot write {}: {e}", parent.display()))?;
            }
            std::fs::write(&path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok::<u64, String>(f.size)
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
        .inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&staging);
        })?;
    let io = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
    for (rel, _) in &changed {
        let (from, to) = (staging.join(rel), into.join(rel));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::rename(&from, &to).map_err(|e| io(&to, e))?;
    }
    let _ = std::fs::remove_dir_all(&staging);
    // What the submission no longer holds goes.
    for rel in had.files.keys().filter(|r| !sub.files.contains_key(*r)) {
        let _ = std::fs::remove_file(into.join(rel));
    }
    let json = serde_json::to_vec(&sub).unwrap_or_default();
    std::fs::write(into.join(MIRRORED), json).map_err(|e| io(&into.join(MIRRORED), e))?;
    Ok((fetched.len(), fetched.iter().sum()))
}

/// [`mirror`], from sync code.
pub fn mirror_blocking(target: &Target, dir: &Path, max_bytes: u64, concurrency: usize) -> Result<Mirrored, String> {
    let rt = crate::util::runtime::new().map_err(|e| format!("cannot start the network runtime: {e}"))?;
    let r = rt.block_on(mirror(target, dir, max_bytes, concurrency));
    rt.shutdown_background();
    r
}

/// [`submit`], from sync code.
pub fn submit_blocking(root: &Path, target: &Target, concurrency: usize) -> Result<Submitted, DeployError> {
    let rt = crate::util::runtime::new()
        .map_err(|e| DeployError::Target(format!("cannot start the network runtime: {e}")))?;
    let r = rt.block_on(submit(root, target, concurrency)).map_err(DeployError::Target);
    rt.shutdown_background();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_names_only_files_a_site_may_hold() {
        for ok in ["site.yaml", "content/blog/a.md", "static/.well-known/security.txt", "themes/t/templates/base.html"]
        {
            assert!(valid_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../other/site.yaml",
            "content/../../x",
            "content//a.md",
            "public/index.html",
            ".git/config",
            "content/.hidden.md",
            "a\\b",
        ] {
            assert!(!valid_path(bad), "{bad}");
        }
        assert!(is_hash(&blake3::hash(b"x").to_hex()));
        assert!(!is_hash("../../x") && !is_hash(&"A".repeat(64)));
    }
}
