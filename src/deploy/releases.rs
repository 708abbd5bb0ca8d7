//! Releases: each publish of a site is an immutable, complete copy of it under
//! `PREFIX/_releases/ID/`, and which one is live is one small object, `PREFIX/_releases.json`,
//! written conditionally. Going live, rolling back and promoting a preview rewrite that object
//! only: no upload, whatever the site's size.
//!
//! A new release starts as a server-side copy of the live one (no bytes sent), then the usual
//! incremental deploy runs into its prefix: only what changed is uploaded, what went is deleted,
//! with every check, lease and kill-safety of an in-place deploy. Objects are copied rather than
//! content-addressed because the edge (a stock web server) must map a URL path to an object by
//! its path alone: one prefix per release is what nginx can serve without a lookup table.
//!
//! A publish killed before the switch leaves the live release as it was; its unfinished prefix
//! is not in the state and goes at the next prune.

use std::time::{SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt, TryStreamExt};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::{deploy_async, store_error, DeployError, DeployOptions, LocalFile, Report, Target};

/// The object that says which release is live.
pub(crate) const STATE: &str = "_releases.json";
/// The folder of the releases.
pub(crate) const DIR: &str = "_releases";

/// One release of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// `r` + UTC date and time + a few characters: sortable, unique.
    pub id: String,
    /// Seconds since the epoch.
    pub created: u64,
    /// Files in it.
    pub files: usize,
    /// Bytes in it (as built).
    pub bytes: u64,
    /// A preview's name (not live unless promoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// When a preview expires (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// What it was built from (a platform run's input fingerprint): a run whose inputs are the
    /// same has nothing to publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
}

/// What `_releases.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The live release.
    pub live: Option<String>,
    /// Every kept release, oldest first.
    pub releases: Vec<Release>,
    /// Counts every write of the state: of two records of it (the platform's state index), the
    /// one with the higher generation is the later.
    #[serde(default)]
    pub generation: u64,
}

impl State {
    /// The kept release `id`.
    pub fn find(&self, id: &str) -> Option<&Release> {
        self.releases.iter().find(|r| r.id == id)
    }
}

/// What a release publish did.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The new release.
    pub release: Release,
    /// Whether it went live (not a preview).
    pub live: bool,
    /// The release it replaced as live, if any.
    pub previous: Option<String>,
    /// Objects copied server-side from the previous live release (no bytes sent).
    pub copied: usize,
    /// The incremental deploy into the release's prefix.
    pub deploy: Report,
    /// Releases deleted by the retention rule.
    pub pruned: Vec<String>,
    /// Bytes of every kept release after the publish (each a full copy): what the target
    /// stores for the site.
    pub stored: u64,
    /// The state's generation this publish's switch wrote.
    pub generation: u64,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A new release id: sortable by time, unique across machines.
fn new_id() -> String {
    let t = chrono::Utc::now();
    let salt = blake3::hash(format!("{:?}{}{}", t, std::process::id(), super::host_name()).as_bytes()).to_hex();
    format!("r{}-{}", t.format("%Y%m%d-%H%M%S"), &salt[..6])
}

/// Reads the state and its version (`None`: there is no state yet).
pub(crate) async fn read_state(target: &Target) -> Result<(State, Option<super::Version>), DeployError> {
    match target.get_small(STATE).await? {
        Some((bytes, v)) => {
            let s = serde_json::from_slice(&bytes).map_err(|e| {
                DeployError::Target(format!("{} is not a release state sopixi can read: {e}", target.describe(STATE)))
            })?;
            Ok((s, Some(v)))
        }
        None => Ok((State::default(), None)),
    }
}

/// Rewrites the state with `change`, retrying on a concurrent writer; returns the new state.
async fn update_state(
    target: &Target,
    change: impl FnMut(&mut State) -> Result<(), DeployError>,
) -> Result<State, DeployError> {
    update_state_from(target, None, change).await
}

/// [`update_state`] starting from a state already read (and its version), if given.
async fn update_state_from(
    target: &Target,
    mut first: Option<(State, Option<super::Version>)>,
    mut change: impl FnMut(&mut State) -> Result<(), DeployError>,
) -> Result<State, DeployError> {
    for _ in 0..8 {
        let (mut state, read) = match first.take() {
            Some(read) => read,
            None => read_state(target).await?,
        };
        change(&mut state)?;
        state.generation += 1;
        let bytes = serde_json::to_vec_pretty(&state).unwrap_or_default();
        if target.put_small_if(STATE, bytes, "application/json", read).await? {
            return Ok(state);
        }
    }
    Err(super::conflict(target))
}

/// Copies every object of release `from` into release `to`, server-side; returns how many.
async fn copy_release(target: &Target, from: &str, to: &str, concurrency: usize) -> Result<usize, DeployError> {
    let src = target.sub(&format!("{DIR}/{from}"));
    let prefix = ObjPath::from(src.prefix());
    let objects: Vec<ObjPath> = target
        .store
        .list(Some(&prefix))
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .map_err(|e| store_error(target, &format!("{DIR}/{from}/"), "list", e))?;
    let dst_prefix = target.sub(&format!("{DIR}/{to}")).prefix().to_string();
    let n = objects.len();
    stream::iter(objects)
        .map(|obj| {
            let rel =
                obj.as_ref().strip_prefix(src.prefix()).unwrap_or(obj.as_ref()).trim_start_matches('/').to_string();
            let to = ObjPath::from(format!("{dst_prefix}/{rel}"));
            async move { target.store.copy(&obj, &to).await.map_err(|e| store_error(target, &rel, "copy", e)) }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(n)
}

/// Deletes every object of release `id`; returns how many.
async fn delete_release(target: &Target, id: &str) -> Result<usize, DeployError> {
    target.sub(&format!("{DIR}/{id}")).delete_all().await.map(|(n, _)| n)
}

/// Release ids that have objects under `_releases/` (kept or not).
async fn stored_ids(target: &Target) -> Result<Vec<String>, DeployError> {
    let prefix = ObjPath::from(target.sub(DIR).prefix());
    let listed = target
        .store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|e| store_error(target, &format!("{DIR}/"), "list", e))?;
    Ok(listed.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_string)).collect())
}

/// Checks a preview's name: it becomes the first part of a host name (`NAME--ID.` + the
/// preview domain), so lowercase letters, digits and single hyphens, at most 40.
pub fn check_preview_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "preview name `{name}`: use lowercase letters, digits and single hyphens (at most 40), e.g. pr-42; it becomes part of a host name"
        ))
    }
}

/// How releases are kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Releases kept (the live one always is).
    pub keep: usize,
    /// Days a preview lives.
    pub preview_days: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { keep: 10, preview_days: 7 }
    }
}

/// Publishes `files` as a new release of `target`: live at once, or a preview named `preview`.
pub async fn publish(
    target: &Target,
    files: &[LocalFile],
    opts: &DeployOptions,
    preview: Option<&str>,
    retention: Retention,
) -> Result<Published, DeployError> {
    if !opts.indexed && !opts.dry_run {
        super::index::forget(target).await?;
    }
    let (state, version) = read_state(target).await?;
    let id = new_id();
    let previous = state.live.clone();
    let copied = match &previous {
        Some(live) => copy_release(target, live, &id, opts.concurrency * 2).await?,
        None => 0,
    };
    let into = target.sub(&format!("{DIR}/{id}"));
    // Not copied from a live release: the id is new, nothing is there to read or compare with.
    let deploy = deploy_async(&into, files, opts, copied == 0).await?;
    if opts.dry_run {
        return Ok(Published {
            release: Release {
                id,
                created: now(),
                files: files.len(),
                bytes: 0,
                preview: None,
                expires: None,
                inputs: opts.inputs.clone(),
            },
            live: false,
            previous,
            copied,
            deploy,
            pruned: Vec::new(),
            stored: 0,
            generation: 0,
        });
    }
    let release = Release {
        id: id.clone(),
        created: now(),
        files: files.len(),
        bytes: files.iter().map(|f| f.entry.size).sum(),
        preview: preview.map(str::to_string),
        expires: preview.map(|_| now() + retention.preview_days * 86_400),
        inputs: opts.inputs.clone(),
    };
    let live = preview.is_none();
    let r = release.clone();
    // The switch and the retention rule in one conditional write, starting from the state read
    // above (read again only if another writer changed it meanwhile). A folder has no
    // conditional writes: there the state is read again just before it is written, as before.
    let first = target.folder.is_none().then_some((state, version));
    let mut dropped = Vec::new();
    let state = update_state_from(target, first, |s| {
        s.releases.retain(|x| x.id != r.id && (x.preview.is_none() || x.preview != r.preview));
        s.releases.push(r.clone());
        if live {
            s.live = Some(r.id.clone());
        }
        dropped = retain(s, retention, now());
        Ok(())
    })
    .await?;
    let generation = state.generation;
    let stored = state.releases.iter().map(|r| r.bytes).sum();
    // Unfinished releases younger than a lease may be another worker's publish in progress
    // (releases of one site are not serialised by a lease: each has its own manifest): kept.
    let pruned = delete_unkept(target, &state, &dropped, Some(opts.lease_seconds)).await.unwrap_or_default();
    Ok(Published { release, live, previous, copied, deploy, pruned, stored, generation })
}

/// Makes `to` live (default: the release before the live one), by rewriting the state only.
pub async fn rollback(target: &Target, to: Option<&str>) -> Result<(Option<String>, String), DeployError> {
    super::index::forget(target).await?;
    let mut result = (None, String::new());
    update_state(target, |s| {
        let live = s.live.clone();
        let lives: Vec<&Release> = s.releases.iter().filter(|r| r.preview.is_none()).collect();
        let chosen = match to {
            Some(id) => s
                .find(id)
                .ok_or_else(|| DeployError::Target(format!("no release {id} is kept: see `sopixi releases list`")))?
                .id
                .clone(),
            None => {
                let at = lives.iter().position(|r| Some(&r.id) == live.as_ref()).unwrap_or(lives.len());
                match at.checked_sub(1).and_then(|i| lives.get(i)) {
                    Some(r) => r.id.clone(),
                    None => return Err(DeployError::Target("there is no release before the live one".into())),
                }
            }
        };
        s.live = Some(chosen.clone());
        result = (live, chosen);
        Ok(())
    })
    .await?;
    Ok(result)
}

/// Makes the kept release `id` (a preview) live: it stops being a preview.
pub async fn promote(target: &Target, id: &str) -> Result<Option<String>, DeployError> {
    super::index::forget(target).await?;
    let mut before = None;
    update_state(target, |s| {
        before = s.live.clone();
        let r = s
            .releases
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| DeployError::Target(format!("no release {id} is kept: see `sopixi releases list`")))?;
        r.preview = None;
        r.expires = None;
        s.live = Some(id.to_string());
        Ok(())
    })
    .await?;
    Ok(before)
}

/// Applies the retention rule: keeps the live release and the `keep` newest others, previews
/// until they expire; deletes the rest and any unfinished release's objects, and, once a
/// release is live, the files an earlier deploy in place left at the prefix. Returns the ids
/// deleted (`in-place` for those files) and the state.
async fn prune_async(
    target: &Target,
    retention: Retention,
    spare_recent: Option<u64>,
) -> Result<(Vec<String>, State), DeployError> {
    let t = now();
    // The releases this prune takes out of the state (deleted whatever their age).
    let mut dropped: Vec<String> = Vec::new();
    let state = update_state(target, |s| {
        dropped = retain(s, retention, t);
        Ok(())
    })
    .await?;
    let deleted = delete_unkept(target, &state, &dropped, spare_recent).await?;
    Ok((deleted, state))
}

/// Applies the retention rule to `s` at time `t`: returns the releases it takes out.
fn retain(s: &mut State, retention: Retention, t: u64) -> Vec<String> {
    let before: Vec<String> = s.releases.iter().map(|r| r.id.clone()).collect();
    let live = s.live.clone();
    let mut ordinary: Vec<String> = s
        .releases
        .iter()
        .filter(|r| r.preview.is_none() && Some(&r.id) != live.as_ref())
        .map(|r| r.id.clone())
        .collect();
    let drop_n = ordinary.len().saturating_sub(retention.keep.saturating_sub(1));
    ordinary.truncate(drop_n);
    s.releases.retain(|r| {
        let expired = r.expires.is_some_and(|e| e <= t) && Some(&r.id) != live.as_ref();
        !expired && !ordinary.contains(&r.id)
    });
    before.into_iter().filter(|id| s.find(id).is_none()).collect()
}

/// Deletes the stored releases `state` does not keep (`dropped`: just taken out of it; an
/// unfinished one younger than `spare_recent` seconds is spared) and what a deploy in place left.
async fn delete_unkept(
    target: &Target,
    state: &State,
    dropped: &[String],
    spare_recent: Option<u64>,
) -> Result<Vec<String>, DeployError> {
    let mut deleted = Vec::new();
    for id in stored_ids(target).await? {
        // Never in the state: an unfinished publish, perhaps another worker's still uploading.
        let unfinished_recent =
            !dropped.contains(&id) && spare_recent.is_some_and(|secs| id_age(&id).is_none_or(|age| age < secs));
        if state.find(&id).is_none() && !unfinished_recent {
            delete_release(target, &id).await?;
            deleted.push(id);
        }
    }
    if state.live.is_some() && drop_in_place(target).await? {
        deleted.push("in-place".into());
    }
    Ok(deleted)
}

/// Seconds since release `id` was made, from its name (`rYYYYMMDD-HHMMSS-…`).
fn id_age(id: &str) -> Option<u64> {
    let stamp = id.strip_prefix('r')?.get(..15)?;
    let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S").ok()?.and_utc().timestamp();
    Some(now().saturating_sub(u64::try_from(t).ok()?))
}

/// Deletes what a deploy in place left at the prefix (the files its manifest lists, then the
/// manifest): a target served from its releases no longer uses them. `false`: there was none.
async fn drop_in_place(target: &Target) -> Result<bool, DeployError> {
    let Some(m) = super::read_manifest_async(target).await? else { return Ok(false) };
    let paths: Vec<String> = m.files.keys().chain(&m.uploading).chain(&m.pending_deletes).cloned().collect();
    stream::iter(paths)
        .map(|p| async move { target.delete_one(&p).await })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    target.delete_one(super::MANIFEST).await?;
    Ok(true)
}

/// Runs `f` on a runtime of its own (for the command line).
fn blocking<T>(f: impl std::future::Future<Output = Result<T, DeployError>>) -> Result<T, DeployError> {
    let rt = crate::util::runtime::new()
        .map_err(|e| DeployError::Target(format!("cannot start the network runtime: {e}")))?;
    let r = rt.block_on(f);
    rt.shutdown_background();
    r
}

/// [`publish`], from sync code.
pub fn publish_blocking(
    target: &Target,
    files: &[LocalFile],
    opts: &DeployOptions,
    preview: Option<&str>,
    retention: Retention,
) -> Result<Published, DeployError> {
    blocking(publish(target, files, opts, preview, retention))
}

/// The state of `target`'s releases.
pub fn list(target: &Target) -> Result<State, DeployError> {
    blocking(async { read_state(target).await.map(|(s, _)| s) })
}

/// [`rollback`], from sync code: (the release live before, the one live now).
pub fn rollback_blocking(target: &Target, to: Option<&str>) -> Result<(Option<String>, String), DeployError> {
    blocking(rollback(target, to))
}

/// [`promote`], from sync code: the release live before.
pub fn promote_blocking(target: &Target, id: &str) -> Result<Option<String>, DeployError> {
    blocking(promote(target, id))
}

/// The retention rule, from sync code: the release ids deleted.
pub fn prune(target: &Target, retention: Retention) -> Result<Vec<String>, DeployError> {
    blocking(async {
        super::index::forget(target).await?;
        prune_async(target, retention, None).await
    })
    .map(|(d, _)| d)
}
