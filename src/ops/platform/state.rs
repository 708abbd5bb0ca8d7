//! What a platform run knows of the target before it builds, and what it leaves for the next
//! run: each partner's last publication (from the state index, `deploy::index`, and from the
//! partner's own `_releases.json` for those the index lacks), the index entries of this run's
//! partners, and the platform's own files (`/_sopixi/`), stored once per version under
//! `PREFIX/_platform/` instead of in every partner's releases.
//!
//! In: the platform target, the partner ids, the policy. Out: [`Remote`] per partner, index
//! changes, the platform files' objects. Must never take an index entry for more than a cache:
//! a partner without one is read from its own state.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use crate::deploy::index::{self, Entry};
use crate::deploy::plan::{HeaderRules, IMMUTABLE};
use crate::deploy::releases;
use crate::deploy::{DeployError, Target};
use crate::policy::compliance;
use crate::policy::Policy;

/// The folder of the platform's own files under the platform prefix: `_platform/V/_sopixi/NAME`,
/// V the version a page's URL names (`?v=`), so that a page of any kept release finds its bytes.
pub(crate) const SHARED: &str = "_platform";

/// What the target says of a partner's last publication.
#[derive(Debug, Default, Clone)]
pub(crate) struct Remote {
    /// The inputs fingerprint it was made from.
    pub inputs: Option<String>,
    /// Files and bytes published.
    pub files: usize,
    pub bytes: u64,
    /// The release that holds them.
    pub release: Option<String>,
    /// Bytes of every kept release.
    pub stored: u64,
    /// Whether this came from the index (else from the partner's own state).
    pub indexed: bool,
    /// The generation of the partner's state it stands for.
    pub generation: u64,
}

impl Remote {
    /// The index entry this stands for (`None`: nothing live to record).
    pub(crate) fn entry(&self) -> Option<Entry> {
        Some(Entry {
            inputs: self.inputs.clone()?,
            release: self.release.clone()?,
            files: self.files,
            bytes: self.bytes,
            stored: self.stored,
            generation: self.generation,
        })
    }
}

/// Each partner's last publication: the live release (or, with `preview`, the preview of that
/// name). Live releases come from the index, one read per bucket; partners it lacks (and every
/// partner for a preview, which the index does not hold) from their `_releases.json`, all at once.
pub(crate) async fn remote(
    target: &Target,
    ids: &[String],
    preview: Option<&str>,
) -> Result<BTreeMap<String, Remote>, DeployError> {
    let mut out = BTreeMap::new();
    if preview.is_none() {
        let (found, _) = index::read(target, ids).await?;
        for (id, e) in found {
            let r = Remote {
                inputs: Some(e.inputs),
                files: e.files,
                bytes: e.bytes,
                release: Some(e.release),
                stored: e.stored,
                indexed: true,
                generation: e.generation,
            };
            out.insert(id, r);
        }
    }
    let missing: Vec<String> = ids.iter().filter(|id| !out.contains_key(*id)).cloned().collect();
    let read: Vec<(String, Remote)> = futures::stream::iter(missing)
        .map(|id| async move {
            let sub = target.sub(&id);
            let state = releases::read_state(&sub).await.ok().map(|(s, _)| s).unwrap_or_default();
            let found = match preview {
                Some(name) => state.releases.iter().find(|r| r.preview.as_deref() == Some(name)),
                None => state.live.as_deref().and_then(|l| state.find(l)),
            };
            let stored = state.releases.iter().map(|r| r.bytes).sum();
            let remote = match found {
                Some(r) => Remote {
                    files: r.files,
                    bytes: r.bytes,
                    inputs: r.inputs.clone(),
                    release: Some(r.id.clone()),
                    stored,
                    indexed: false,
                    generation: state.generation,
                },
                None => Remote { stored, generation: state.generation, ..Remote::default() },
            };
            (id, remote)
        })
        .buffer_unordered(32)
        .collect()
        .await;
    out.extend(read);
    Ok(out)
}

/// What this run changes in the index: the entry of each partner published live, of each
/// skipped partner read from its own state (so that the next run needs no read), and no entry
/// for a partner whose publication failed (its state may have changed or not).
pub(crate) fn index_changes(
    published: &BTreeMap<String, Entry>,
    failed: &BTreeSet<String>,
    remote: &BTreeMap<String, Remote>,
    skipped: &BTreeSet<String>,
) -> BTreeMap<String, Option<Entry>> {
    let mut changes: BTreeMap<String, Option<Entry>> = BTreeMap::new();
    for id in skipped {
        if let Some(r) = remote.get(id).filter(|r| !r.indexed) {
            if let Some(e) = r.entry() {
                changes.insert(id.clone(), Some(e));
            }
        }
    }
    for (id, e) in published {
        changes.insert(id.clone(), Some(e.clone()));
    }
    for id in failed {
        changes.insert(id.clone(), None);
    }
    changes
}

/// The object key of a platform file under [`SHARED`]: `_platform/V/_sopixi/NAME`.
fn shared_key(path: &str, bytes: &[u8]) -> String {
    format!("{SHARED}/{}/{path}", compliance::file_version(bytes))
}

/// Stores the platform's files of `policy` once under `PREFIX/_platform/` (those already there
/// are not sent again: one listing): the number of files written.
pub(crate) async fn publish_platform_files(target: &Target, policy: &Policy) -> Result<usize, DeployError> {
    let have: BTreeSet<String> = target.list_under(SHARED).await?.into_iter().collect();
    let mut written = 0;
    for (path, bytes) in compliance::assets(policy) {
        let key = shared_key(&path, &bytes);
        if have.contains(&key) {
            continue;
        }
        let (content_type, _, _) = HeaderRules::default().headers(&path);
        target.put_file(&key, bytes.into_owned(), &content_type, IMMUTABLE).await?;
        written += 1;
    }
    Ok(written)
}

/// Whether a built file is one of the platform's own (published once under [`SHARED`], not with
/// each partner).
pub(crate) fn is_platform_file(path: &str) -> bool {
    path.strip_prefix(compliance::ASSET_DIR).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_partner_read_from_its_state_enters_the_index_and_a_failed_one_leaves_it() {
        let r = |inputs: &str, indexed| Remote {
            inputs: Some(inputs.into()),
            release: Some("r1".into()),
            files: 3,
            bytes: 10,
            stored: 20,
            indexed,
            generation: 1,
        };
        let remote: BTreeMap<String, Remote> =
            [("a".into(), r("x", false)), ("b".into(), r("y", true)), ("c".into(), r("z", false))].into();
        let skipped: BTreeSet<String> = ["a".into(), "b".into()].into();
        let failed: BTreeSet<String> = ["c".into()].into();
        let published: BTreeMap<String, Entry> = [(
            "d".into(),
            Entry { inputs: "w".into(), release: "r2".into(), files: 1, bytes: 1, stored: 1, generation: 2 },
        )]
        .into();
        let ch = index_changes(&published, &failed, &remote, &skipped);
        assert_eq!(ch.get("a").cloned().flatten().map(|e| e.inputs), Some("x".to_string()));
        assert!(!ch.contains_key("b"), "already indexed: no write");
        assert_eq!(ch.get("c"), Some(&None));
        assert_eq!(ch.get("d").cloned().flatten().map(|e| e.release), Some("r2".to_string()));
    }

    #[test]
    fn only_the_reserved_folder_is_the_platform_s() {
        assert!(is_platform_file("_sopixi/platform.js"));
        assert!(!is_platform_file("_sopixifoo/x.js"));
        assert!(!is_platform_file("blog/_sopixi/x.js"));
    }
}
