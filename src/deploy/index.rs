//! The state index of a platform target: what each partner's live publication was made from,
//! in a few small objects (`PREFIX/_index/HH.json`, [`BUCKETS`] buckets by a hash of the partner
//! id), so that a run from a fresh worker knows which partners changed with one read per bucket
//! instead of one per partner.
//!
//! In: the platform target and partner ids. Out: each indexed partner's [`Entry`] (inputs
//! fingerprint, live release, its files and bytes, the bytes of every kept release).
//!
//! An entry is a cache of the partner's `_releases.json`, never the truth: a platform run writes
//! the entries of the partners it published (conditional writes, merged with other workers'),
//! and every other change to a partner's releases — `sopixi releases rollback`, `promote`,
//! `prune`, `sopixi deploy --releases` into a partner's prefix, `platform delete` — first removes
//! its entry ([`forget`]), before it changes anything: a run finds no entry and reads the
//! partner's own state. A killed tool leaves at worst a missing entry (one more read), never a
//! stale one. It must never be read as the source of what is live (the edge reads the states).

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{DeployError, Target};

/// The folder of the index under the platform prefix.
pub(crate) const DIR: &str = "_index";
/// Buckets: a fresh worker reads at most this many objects, whatever the number of partners.
pub const BUCKETS: usize = 16;

/// What the index says of one partner's live publication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The inputs fingerprint of the live release.
    pub inputs: String,
    /// The live release.
    pub release: String,
    /// Its files and bytes.
    pub files: usize,
    pub bytes: u64,
    /// Bytes of every kept release (the partner's stored size).
    pub stored: u64,
    /// The generation of the partner's state this was read from or written with: an entry never
    /// replaces one of a higher generation (two workers publishing one partner at once: the
    /// later switch wins, whichever worker writes the index last).
    #[serde(default)]
    pub generation: u64,
}

/// One bucket object.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Bucket {
    /// Partner → entry.
    partners: BTreeMap<String, Entry>,
}

/// The bucket of partner `id`.
pub fn bucket_of(id: &str) -> usize {
    blake3::hash(id.as_bytes()).as_bytes()[0] as usize % BUCKETS
}

fn name(bucket: usize) -> String {
    format!("{DIR}/{bucket:02x}.json")
}

async fn read_bucket(target: &Target, bucket: usize) -> Result<(Bucket, Option<super::Version>), DeployError> {
    match target.get_small(&name(bucket)).await? {
        // An unreadable bucket (a newer format, a torn write by hand) counts as empty: every
        // partner in it is read from its own state, and the next write replaces it.
        Some((bytes, v)) => Ok((serde_json::from_slice(&bytes).unwrap_or_default(), Some(v))),
        None => Ok((Bucket::default(), None)),
    }
}

/// The entries of `ids` (those the index has), reading only the buckets that hold them, all at
/// once: (entries, requests made).
pub async fn read(target: &Target, ids: &[String]) -> Result<(BTreeMap<String, Entry>, usize), DeployError> {
    let mut wanted: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
    for id in ids {
        wanted.entry(bucket_of(id)).or_default().push(id);
    }
    let requests = wanted.len();
    let found: Vec<Vec<(String, Entry)>> = stream::iter(wanted)
        .map(|(b, ids)| async move {
            let (mut bucket, _) = read_bucket(target, b).await?;
            Ok::<_, DeployError>(
                ids.into_iter().filter_map(|id| bucket.partners.remove(id).map(|e| (id.clone(), e))).collect(),
            )
        })
        .buffer_unordered(BUCKETS)
        .try_collect()
        .await?;
    Ok((found.into_iter().flatten().collect(), requests))
}

/// Applies `changes` (partner → new entry, or `None`: remove it) to the index, one conditional
/// write per bucket that changes, merged with what other workers wrote meanwhile: requests made.
pub async fn update(target: &Target, changes: BTreeMap<String, Option<Entry>>) -> Result<usize, DeployError> {
    let mut by_bucket: BTreeMap<usize, Vec<(String, Option<Entry>)>> = BTreeMap::new();
    for (id, e) in changes {
        by_bucket.entry(bucket_of(&id)).or_default().push((id, e));
    }
    let counts: Vec<usize> = stream::iter(by_bucket)
        .map(|(b, changes)| async move { update_bucket(target, b, &changes).await })
        .buffer_unordered(BUCKETS)
        .try_collect()
        .await?;
    Ok(counts.into_iter().sum())
}

async fn update_bucket(target: &Target, b: usize, changes: &[(String, Option<Entry>)]) -> Result<usize, DeployError> {
    let mut requests = 0;
    for attempt in 0..32u64 {
        let (mut bucket, read) = read_bucket(target, b).await?;
        requests += 1;
        let mut changed = false;
        for (id, e) in changes {
            changed |= match e {
                Some(e) if bucket.partners.get(id).is_some_and(|old| old.generation > e.generation) => false,
                Some(e) => bucket.partners.insert(id.clone(), e.clone()).as_ref() != Some(e),
                None => bucket.partners.remove(id).is_some(),
            };
        }
        if !changed {
            return Ok(requests);
        }
        let bytes = serde_json::to_vec(&bucket).unwrap_or_default();
        requests += 1;
        if target.put_small_if(&name(b), bytes, "application/json", read).await? {
            return Ok(requests);
        }
        // Another worker wrote the bucket: read it again, after a short wait that differs
        // between workers so that they do not collide again.
        let spread = blake3::hash(format!("{}{attempt}", std::process::id()).as_bytes()).as_bytes()[0] as u64;
        tokio::time::sleep(std::time::Duration::from_millis(5 + spread % 50)).await;
    }
    Err(super::conflict(target))
}

/// Removes the entry of the partner whose prefix is `partner` from the index of the prefix
/// above it, when there is one: called before anything else changes that partner's releases.
/// A site's own target (no platform above it) costs one read that finds nothing.
pub async fn forget(partner: &Target) -> Result<(), DeployError> {
    let Some((platform, id)) = partner.parent() else { return Ok(()) };
    let b = bucket_of(&id);
    let (bucket, _) = read_bucket(&platform, b).await?;
    if !bucket.partners.contains_key(&id) {
        return Ok(());
    }
    update_bucket(&platform, b, &[(id, None)]).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_never_replaces_one_of_a_later_generation_and_forgetting_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        let t = crate::deploy::open(&crate::deploy::TargetSpec { url, ..Default::default() }).unwrap();
        let rt = crate::util::runtime::new().unwrap();
        let e = |r: &str, generation| Entry {
            inputs: "x".into(),
            release: r.into(),
            files: 1,
            bytes: 1,
            stored: 1,
            generation,
        };
        let ids = ["acme".to_string()];
        let release = |t: &Target| rt.block_on(read(t, &ids)).unwrap().0.get("acme").map(|e| e.release.clone());
        rt.block_on(update(&t, [("acme".to_string(), Some(e("r2", 5)))].into())).unwrap();
        rt.block_on(update(&t, [("acme".to_string(), Some(e("r1", 3)))].into())).unwrap();
        assert_eq!(release(&t).as_deref(), Some("r2"), "an earlier switch written last does not win");
        rt.block_on(update(&t, [("acme".to_string(), Some(e("r3", 6)))].into())).unwrap();
        assert_eq!(release(&t).as_deref(), Some("r3"));
        rt.block_on(forget(&t.sub("acme"))).unwrap();
        assert_eq!(release(&t), None);
    }
}
