//! The platform run (`sopixi platform build`): every partner's site of a partners folder built
//! under the operator's policy with one shared engine, checked, and published to its own prefix
//! of a target (or folder), isolated from the others; a shard of them when many machines share
//! the work; one report per partner and a routing file.
//!
//! In: the partners folder, the [`Engine`] (policy, parsed built-ins, caches) and [`RunOptions`].
//! Out: a [`Summary`] with one [`PartnerReport`] per partner, the reports written, the routing
//! file merged. Must never let one partner's failure (an error, a panic, a build past its time
//! limit, a deploy error) stop, corrupt or publish another partner's site; never read a partner
//! folder but through the build (which keeps each to its own folder and theme).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::build::engine::Engine;
use crate::build::{self, BuildError};
use crate::deploy::plan::HeaderRules;
use crate::deploy::releases::{self, Retention};
use crate::deploy::{self, index, DeployOptions, Target, TargetSpec};
use crate::ops::platform::gate;
use crate::ops::platform::routes::{self, Route, Routes, WithheldRoute, ROUTES};
use crate::ops::platform::state::{self, Remote};
use crate::output::{self, Body, Output};
use crate::policy::compliance;
use crate::policy::notice::{self, Notice};
use crate::policy::valid_partner_id;
use crate::site::config::{BuildOptions, Config, SITE_FILE};
use crate::util::diag::{Diagnostic, Kind};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The partners folder: one site folder per partner, named by its id.
    pub partners: PathBuf,
    /// Local outputs (`OUT/ID/`) and state; without a target, also what is published.
    pub out: PathBuf,
    /// Where to publish (`PREFIX/ID/` per partner), if anywhere.
    pub target: Option<TargetSpec>,
    /// Where to write `ID.json` per partner and `summary.json`.
    pub report: Option<PathBuf>,
    /// `(I, N)`: only the partners whose index in id order is `I` modulo `N`.
    pub shard: Option<(usize, usize)>,
    /// Only these partners (after sharding).
    pub only: Vec<String>,
    /// Start no partner after one failed.
    pub fail_fast: bool,
    /// The platform's theme catalog.
    pub themes: Option<PathBuf>,
    /// Most objects one partner's deploy may delete (a suspension may delete all).
    pub max_deletes: usize,
    /// Draw a progress bar.
    pub progress: bool,
    /// How long a deploy waits for another worker publishing the same partner.
    pub lease_wait: Option<Duration>,
    /// Partners publishing at once (0: 8).
    pub deploys: usize,
    /// Uploads in flight for one partner (0: 16, as `sopixi deploy`).
    pub concurrency: usize,
    /// Publish each partner as a preview release of this name instead of going live.
    pub preview: Option<String>,
    /// How many releases each partner keeps, and how long previews live.
    pub retention: Retention,
}

/// What became of a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Built (when it had changed) and published.
    Published,
    /// Nothing changed since its last successful publish.
    Skipped,
    /// Its site is replaced by the suspension notice.
    Suspended,
    /// Its build or publication failed; what was published before stays.
    Failed,
}

/// The quota figures of one site.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QuotaUse {
    /// Bytes of the built site.
    pub site_bytes: u64,
    /// The policy's limit.
    pub site_limit: u64,
    /// Content pages.
    pub pages: usize,
    /// The policy's limit.
    pub(crate) pages_limit: u64,
    /// Bytes stored on the target for the partner: every kept release (each a full copy), as
    /// the run leaves them. At most `releases.keep` × the site's size.
    pub stored_bytes: u64,
}

/// What a partner's deploy did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeployFigures {
    /// Objects uploaded.
    pub uploaded: usize,
    /// Objects deleted.
    pub deleted: usize,
    /// Files left as they were.
    pub unchanged: usize,
    /// The release made (every publication of a platform target is one).
    pub release: String,
    /// Objects copied server-side from the live release (no bytes sent).
    pub copied: usize,
    /// The release live before, when this one went live.
    pub previous: Option<String>,
    /// Bytes sent.
    pub bytes: u64,
}

/// One partner's report (`--report DIR/ID.json`).
#[derive(Debug, Clone, Serialize)]
pub struct PartnerReport {
    /// The partner id.
    pub partner: String,
    /// The outcome.
    pub status: Status,
    /// Why it failed or is suspended, in one line.
    pub reason: Option<String>,
    /// The address it is built for.
    pub base_url: String,
    /// The hosts that serve it (canonical first).
    pub domains: Vec<String>,
    /// Content pages.
    pub pages: usize,
    /// Files of the built site.
    pub files: usize,
    /// Bytes of the built site.
    pub bytes: u64,
    /// Quota use.
    pub quota: QuotaUse,
    /// Problems that did not fail it.
    pub warnings: Vec<Diagnostic>,
    /// Problems that failed it (violations of the platform rules among them), with file and line.
    pub errors: Vec<Diagnostic>,
    /// Wall time, build and publication.
    pub time_ms: f64,
    /// What the deploy did (`None`: no target, or nothing to publish).
    pub deploy: Option<DeployFigures>,
    /// Pages withheld by the platform (URL, reason).
    pub withheld: Vec<(String, String)>,
    /// Every page rated adult by the platform.
    pub adult: bool,
    /// The inputs fingerprint recorded with the publication.
    #[serde(skip)]
    pub inputs: Option<String>,
    /// The release that holds this build on the target: made by this run, or (skipped) the one
    /// made before from the same inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Where the preview answers (`--preview NAME`, with the policy's `preview_domain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<String>,
    /// The browser gate, for a partner with templates, stylesheets or scripts of its own:
    /// `passed`, `passed before` (the verdict kept for the same files) or `refused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<&'static str>,
}

impl PartnerReport {
    fn new(id: &str) -> PartnerReport {
        PartnerReport {
            partner: id.to_string(),
            status: Status::Failed,
            reason: None,
            base_url: String::new(),
            domains: Vec::new(),
            pages: 0,
            files: 0,
            bytes: 0,
            quota: QuotaUse::default(),
            warnings: Vec::new(),
            errors: Vec::new(),
            browser: None,
            time_ms: 0.0,
            deploy: None,
            withheld: Vec::new(),
            adult: false,
            inputs: None,
            release: None,
            preview_url: None,
        }
    }

    fn fail(&mut self, reason: String, errors: Vec<Diagnostic>) {
        self.status = Status::Failed;
        self.reason = Some(reason);
        let id: Arc<str> = Arc::from(self.partner.as_str());
        self.errors.extend(errors.into_iter().map(|d| d.partner(id.clone())));
    }
}

/// One line of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryLine {
    /// The partner id.
    pub partner: String,
    /// The outcome.
    pub status: Status,
    /// Content pages.
    pub pages: usize,
    /// Bytes of the built site.
    pub bytes: u64,
    /// Wall time.
    pub time_ms: f64,
    /// Why it failed or is suspended.
    pub message: Option<String>,
    /// The release that holds it on the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Where its preview answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<String>,
}

/// The whole run (`--report DIR/summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Partners in this run (this shard).
    pub partners: usize,
    /// Published.
    pub published: usize,
    /// Skipped (unchanged).
    pub skipped: usize,
    /// Suspended.
    pub suspended: usize,
    /// Failed.
    pub failed: usize,
    /// Wall time.
    pub time_ms: f64,
    /// `I/N`, when sharded.
    pub shard: Option<String>,
    /// Folders of the partners folder that are not partner ids (left out).
    pub ignored: Vec<String>,
    /// Problems of the run itself (the routing file) that failed no partner.
    pub warnings: Vec<String>,
    /// Partners with a route on the target but no folder any more: still served, never deleted
    /// silently (`sopixi platform delete ID` removes one).
    pub gone: Vec<String>,
    /// Requests the run made to the target (its state, the index, the routing file, the
    /// platform's files and every partner's publication), with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// The inbox mirrored before the run, when the partners came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox: Option<crate::ops::platform::inbox::Mirrored>,
    /// One line per partner, in id order.
    pub results: Vec<SummaryLine>,
    /// The full reports, in id order.
    #[serde(skip)]
    pub reports: Vec<PartnerReport>,
}

/// Why a run could not start (every partner's own failure is in its report instead).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The partners folder cannot be read.
    #[error("cannot read the partners folder {}: {source}; give the folder that holds one site folder per partner", .path.display())]
    Partners {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `--only` names a partner that is not there.
    #[error("no partner `{0}` in the partners folder (or in this shard): check the id given to --only")]
    Unknown(String),
    /// The target cannot be used.
    #[error(transparent)]
    Target(#[from] deploy::DeployError),
    /// A folder cannot be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The partner ids of a partners folder, sorted, and the folder names that are not ids.
pub(crate) fn list_partners(dir: &Path) -> Result<(Vec<String>, Vec<String>), RunError> {
    let err = |source| RunError::Partners { path: dir.to_path_buf(), source };
    let mut ids = Vec::new();
    let mut ignored = Vec::new();
    for e in std::fs::read_dir(dir).map_err(err)? {
        let e = e.map_err(err)?;
        let name = e.file_name().to_string_lossy().into_owned();
        // Symbolic links are not followed: a partner is a folder of the partners folder.
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if name.starts_with('.') || !is_dir {
            continue;
        }
        if valid_partner_id(&name) {
            ids.push(name);
        } else {
            ignored.push(name);
        }
    }
    ids.sort();
    ignored.sort();
    Ok((ids, ignored))
}

/// The partners of shard `i` of `n`: those at an index `k` (in id order) with `k mod n = i`.
/// The shards partition the set exactly and differ in size by at most one; each worker needs
/// only the folder names to know its share.
pub fn shard(ids: &[String], i: usize, n: usize) -> Vec<String> {
    ids.iter().enumerate().filter(|(k, _)| n > 0 && k % n == i).map(|(_, id)| id.clone()).collect()
}

/// A partner's publication, running on the runtime.
type DeployTask = tokio::task::JoinHandle<Result<releases::Published, deploy::DeployError>>;

/// What every partner's work shares.
struct RunCx<'a> {
    engine: &'a Engine,
    opts: &'a RunOptions,
    /// Each partner's custom domain, after conflicts.
    domains: BTreeMap<String, String>,
    /// Each partner's warnings from the domain assignment.
    domain_warnings: BTreeMap<String, Vec<String>>,
    /// The target, opened once (every partner under it shares its connections).
    target: Option<Target>,
    /// The runtime deploys run on, while rayon builds the next partners.
    rt: Option<tokio::runtime::Runtime>,
    /// Inputs recorded by each partner's last publication on the target.
    remote: BTreeMap<String, Remote>,
    /// The routing file as the run found it.
    previous: Routes,
    /// Deploys started: partner → its task.
    deploys: Mutex<Vec<(String, DeployTask)>>,
    /// Deploys running at once, at most.
    slots: Arc<tokio::sync::Semaphore>,
    stop: AtomicBool,
    /// One browser check at a time (see `gate`).
    browser: Mutex<()>,
}

/// Runs the platform build.
pub fn run(engine: &Engine, opts: &RunOptions) -> Result<Summary, RunError> {
    let start = Instant::now();
    let (all, ignored) = list_partners(&opts.partners)?;
    let mut ids = match opts.shard {
        Some((i, n)) => shard(&all, i, n),
        None => all.clone(),
    };
    if !opts.only.is_empty() {
        if let Some(missing) = opts.only.iter().find(|o| !ids.contains(o)) {
            return Err(RunError::Unknown(missing.clone()));
        }
        ids.retain(|id| opts.only.contains(id));
    }
    std::fs::create_dir_all(&opts.out).map_err(|source| RunError::Write { path: opts.out.clone(), source })?;
    let target = opts.target.as_ref().map(deploy::open).transpose()?;
    let rt = crate::util::runtime::new()
        .map_err(|e| deploy::DeployError::Target(format!("cannot start the network runtime: {e}")))?;
    // The routing file as the last run left it: domains already served stay with their site.
    // Reading it also proves the target answers (and takes these credentials) before any build.
    let previous = read_routes(target.as_ref(), &opts.out, &rt)?;
    let claims: BTreeMap<String, String> =
        all.par_iter().filter_map(|id| claimed_domain(&opts.partners.join(id)).map(|d| (id.clone(), d))).collect();
    let (domains, warned) = routes::assign_domains(&engine.policy.partners.domains, &claims, &previous);
    let mut domain_warnings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, w) in warned {
        domain_warnings.entry(id).or_default().push(w);
    }
    // What each partner's last publication was made from: the state index (one read per
    // bucket), then the partners it lacks, one small read each, all at once. The platform's own
    // files go once under the platform prefix, before any page that names them.
    let remote = match &target {
        Some(t) => rt.block_on(async {
            let remote = state::remote(t, &ids, opts.preview.as_deref()).await?;
            state::publish_platform_files(t, &engine.policy).await?;
            Ok::<_, deploy::DeployError>(remote)
        })?,
        None => BTreeMap::new(),
    };
    let cx = RunCx {
        engine,
        opts,
        domains,
        domain_warnings,
        target,
        rt: Some(rt),
        remote,
        previous,
        deploys: Mutex::new(Vec::new()),
        slots: Arc::new(tokio::sync::Semaphore::new(if opts.deploys == 0 { 8 } else { opts.deploys })),
        stop: AtomicBool::new(false),
        browser: Mutex::new(()),
    };
    let bar = crate::util::progress::bar(opts.progress, ids.len() as u64, "{spinner} partners [{bar:30}] {pos}/{len}");
    let mut reports: Vec<PartnerReport> = ids
        .par_iter()
        .with_max_len(1)
        .map(|id| {
            let t = Instant::now();
            let mut r = if cx.stop.load(Ordering::Relaxed) {
                let mut r = PartnerReport::new(id);
                r.reason = Some("not built: another partner failed and --fail-fast was given".into());
                r
            } else {
                partner(&cx, id)
            };
            if r.status == Status::Failed && opts.fail_fast {
                cx.stop.store(true, Ordering::Relaxed);
            }
            r.time_ms = ms(t.elapsed());
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let RunCx { target, rt, deploys, previous, remote, .. } = cx;
    let rt = rt.expect("made above");
    // Every deploy started, awaited: each partner's publication completes or fails on its own.
    let deploys = deploys.into_inner().unwrap_or_else(|e| e.into_inner());
    let results: Vec<(String, Result<releases::Published, String>)> = rt.block_on(async {
        let mut out = Vec::new();
        for (id, task) in deploys {
            let r = match task.await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(format!("the deploy stopped: {e}")),
            };
            out.push((id, r));
        }
        out
    });
    let deploy_requests: u64 = results.iter().filter_map(|(_, r)| r.as_ref().ok()).map(|p| p.deploy.requests).sum();
    let changes = (opts.preview.is_none()).then(|| index_changes(&results, &remote));
    record_deploys(&mut reports, results);
    let (gone, mut warnings) = gone_partners(&previous, &all, &opts.partners);
    let updates = route_updates(&reports, target.as_ref(), &previous);
    // Nothing to change in the routing file as this run found it: not even read again.
    let mut merged = previous.clone();
    merged.merge(&updates);
    let unchanged = target.is_some() && merged == previous;
    if let Err(e) = if unchanged { Ok(()) } else { write_routes(target.as_ref(), &opts.out, &rt, &updates) } {
        warnings.push(format!("the routing file was not updated: {e}"));
    }
    if let (Some(t), Some(changes)) = (&target, changes) {
        if let Err(e) = rt.block_on(deploy::index::update(t, changes)) {
            warnings.push(format!("the state index was not updated (the next run reads those partners' states): {e}"));
        }
    }
    let requests = target.as_ref().map(|t| t.requests() + deploy_requests);
    rt.shutdown_background();
    reports.sort_by(|a, b| a.partner.cmp(&b.partner));
    if let (Some(name), Some(domain), true) = (&opts.preview, &engine.policy.preview_domain, opts.target.is_some()) {
        for r in reports.iter_mut().filter(|r| r.status != Status::Failed) {
            r.preview_url = Some(format!("https://{name}--{}.{domain}/", r.partner));
        }
    }
    let count = |s: Status| reports.iter().filter(|r| r.status == s).count();
    let summary = Summary {
        partners: reports.len(),
        published: count(Status::Published),
        skipped: count(Status::Skipped),
        suspended: count(Status::Suspended),
        failed: count(Status::Failed),
        time_ms: ms(start.elapsed()),
        shard: opts.shard.map(|(i, n)| format!("{i}/{n}")),
        ignored,
        warnings,
        gone,
        requests,
        inbox: None,
        results: reports
            .iter()
            .map(|r| SummaryLine {
                partner: r.partner.clone(),
                status: r.status,
                pages: r.pages,
                bytes: r.bytes,
                time_ms: r.time_ms,
                message: r.reason.clone(),
                release: r.release.clone(),
                preview_url: r.preview_url.clone(),
            })
            .collect(),
        reports,
    };
    if let Some(dir) = &opts.report {
        write_reports(dir, &summary)?;
    }
    Ok(summary)
}

/// The index after this run: every partner it published live, every other partner the index
/// lacked whose state was read (its live release is unchanged), no entry for a failed publication.
fn index_changes(
    results: &[(String, Result<releases::Published, String>)],
    remote: &BTreeMap<String, Remote>,
) -> BTreeMap<String, Option<index::Entry>> {
    let mut published = BTreeMap::new();
    let mut failed = BTreeSet::new();
    for (id, r) in results {
        match r {
            Ok(p) if p.live => match p.release.inputs.clone() {
                Some(inputs) => {
                    let e = index::Entry {
                        inputs,
                        release: p.release.id.clone(),
                        files: p.release.files,
                        bytes: p.release.bytes,
                        stored: p.stored,
                        generation: p.generation,
                    };
                    published.insert(id.clone(), e);
                }
                None => {
                    failed.insert(id.clone());
                }
            },
            Ok(_) => {}
            Err(_) => {
                failed.insert(id.clone());
            }
        }
    }
    let deployed: BTreeSet<&str> = results.iter().map(|(d, _)| d.as_str()).collect();
    let untouched: BTreeSet<String> = remote.keys().filter(|id| !deployed.contains(id.as_str())).cloned().collect();
    state::index_changes(&published, &failed, remote, &untouched)
}

/// Each partner's publication, as it ended, into its report.
fn record_deploys(reports: &mut [PartnerReport], results: Vec<(String, Result<releases::Published, String>)>) {
    for (id, result) in results {
        let Some(r) = reports.iter_mut().find(|r| r.partner == id) else { continue };
        match result {
            Ok(p) => {
                let d = &p.deploy;
                r.time_ms += d.duration_ms as f64;
                r.release = Some(p.release.id.clone());
                r.quota.stored_bytes = p.stored;
                r.deploy = Some(DeployFigures {
                    uploaded: d.uploaded,
                    deleted: d.deleted,
                    unchanged: d.unchanged,
                    bytes: d.bytes,
                    release: p.release.id.clone(),
                    copied: p.copied,
                    previous: p.previous.clone().filter(|_| p.live),
                });
            }
            Err(e) => {
                // The first line, and the first detail when the first line announces a list.
                let mut lines = e.lines();
                let mut first = lines.next().unwrap_or("").to_string();
                if first.ends_with(':') {
                    first = format!("{first} {}", lines.next().unwrap_or("").trim());
                }
                r.fail(
                    format!("publication failed: {first}"),
                    vec![Diagnostic::new("(deploy)", e).kind(Kind::Platform)],
                );
            }
        }
    }
}

/// Partners with a route but no folder in `partners` any more, and a warning for each: they stay
/// served, and nothing of theirs is deleted silently.
fn gone_partners(previous: &Routes, all: &[String], partners: &Path) -> (Vec<String>, Vec<String>) {
    let gone: Vec<String> = previous.partners.keys().filter(|id| !all.contains(*id)).cloned().collect();
    let warnings = gone
        .iter()
        .map(|id| {
            format!(
                "partner `{id}` has a route and published files but no folder in {} any more: it is still served; restore its folder, or remove it with `sopixi platform delete {id}`",
                partners.display()
            )
        })
        .collect();
    (gone, warnings)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// The `domain:` a partner's `site.yaml` claims, if it parses.
fn claimed_domain(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join(SITE_FILE)).ok()?;
    let config = Config::load(&text, &BuildOptions::default()).ok()?;
    config.site.domain.map(|d| d.to_ascii_lowercase())
}

impl RunCx<'_> {
    /// The partner's host: the custom domain, else the platform's address for it.
    fn hosts(&self, id: &str) -> Vec<String> {
        let default = self.engine.policy.partners.default_domain.replace("{partner}", id);
        match self.domains.get(id) {
            Some(d) if *d != default => vec![d.clone(), default],
            _ => vec![default],
        }
    }

    /// The build options of a partner: its address, the platform's decisions about it, its
    /// caches outside its folder, its time limit.
    fn build_options(&self, id: &str, base_url: &str) -> BuildOptions {
        let rules = &self.engine.policy.partners;
        BuildOptions {
            base_url: Some(base_url.to_string()),
            withheld: rules
                .withheld
                .iter()
                .filter(|w| w.partner == id)
                .map(|w| (w.path.clone(), w.reason.clone()))
                .collect(),
            adult_site: rules.adult_partners.contains(id),
            adult_pages: rules.adult_pages.iter().filter(|(p, _)| p == id).map(|(_, path)| path.clone()).collect(),
            theme_catalog: self.opts.themes.clone(),
            cache_dir: Some(self.opts.out.join(".cache").join(id)),
            deadline: Some(Instant::now() + Duration::from_secs(self.engine.policy.limits.build_seconds)),
            form_id: Some(id.to_string()),
            ..Default::default()
        }
    }

    /// Starts the publication of `dir` to the partner's prefix on the runtime, and returns at
    /// once (rayon goes on building).
    fn queue_deploy(
        &self,
        id: &str,
        dir: &Path,
        inputs: String,
        max_deletes: usize,
        base_url: &str,
    ) -> Result<(), String> {
        let target = self.target.as_ref().expect("only called with a target").sub(id);
        let built = output::read_manifest(dir);
        // The partner's own header rules (`deploy.matchers` of its site.yaml).
        let rules = std::fs::read_to_string(self.opts.partners.join(id).join(SITE_FILE))
            .ok()
            .and_then(|t| Config::load(&t, &BuildOptions::default()).ok())
            .map(|c| HeaderRules::from_config(&c.site.deploy))
            .unwrap_or_default();
        let mut files = deploy::scan_dir(dir, &rules, built.as_ref()).map_err(|e| e.to_string())?;
        // The platform's own files are stored once under the platform prefix (see `state`).
        files.retain(|f| !state::is_platform_file(&f.path));
        let mut opts = DeployOptions {
            max_deletes,
            base_url: base_url.to_string(),
            policy: self.engine.policy.clone(),
            adult: built.map(|m| m.adult.into_iter().collect()).unwrap_or_default(),
            inputs: Some(inputs),
            indexed: true,
            ..Default::default()
        };
        if self.opts.concurrency > 0 {
            opts.concurrency = self.opts.concurrency;
        }
        if let Some(w) = self.opts.lease_wait {
            opts.lease_wait = w;
        }
        let slots = self.slots.clone();
        let rt = self.rt.as_ref().expect("runtime");
        let (preview, retention) = (self.opts.preview.clone(), self.opts.retention);
        let task = rt.spawn(async move {
            let _slot = slots.acquire_owned().await;
            releases::publish(&target, &files, &opts, preview.as_deref(), retention).await
        });
        self.deploys.lock().unwrap_or_else(|e| e.into_inner()).push((id.to_string(), task));
        Ok(())
    }
}

/// Builds (and queues the publication of) one partner; a panic anywhere in it is its failure.
fn partner(cx: &RunCx, id: &str) -> PartnerReport {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| partner_unguarded(cx, id)));
    caught.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let mut r = PartnerReport::new(id);
        r.fail(
            "the build crashed".into(),
            vec![Diagnostic::new(SITE_FILE, format!("the build of this site crashed ({what})"))
                .kind(Kind::Platform)
                .hint(
                    "this is a bug in sopixi: report it with the site's files; the other partners were not affected",
                )],
        );
        r
    })
}

fn partner_unguarded(cx: &RunCx, id: &str) -> PartnerReport {
    let engine = cx.engine;
    let rules = &engine.policy.partners;
    let root = cx.opts.partners.join(id);
    let out = cx.opts.out.join(id);
    let mut r = PartnerReport::new(id);
    r.domains = cx.hosts(id);
    r.base_url = format!("https://{}/", r.domains[0]);
    r.adult = rules.adult_partners.contains(id);
    let pid: Arc<str> = Arc::from(id);
    for w in cx.domain_warnings.get(id).into_iter().flatten() {
        r.warnings.push(Diagnostic::new(SITE_FILE, w.clone()).kind(Kind::Platform).partner(pid.clone()));
    }
    r.quota.site_limit = engine.policy.quotas.site_bytes;
    r.quota.stored_bytes = cx.remote.get(id).map_or(0, |x| x.stored);
    r.quota.pages_limit = engine.policy.quotas.pages;
    if let Some(reason) = rules.suspended.get(id) {
        suspend(cx, id, reason, &root, &mut r);
        return r;
    }
    let opts = cx.build_options(id, &r.base_url);
    let limit = engine.policy.limits.build_seconds;
    let prepared = match build::prepare(engine, &root, &opts, None) {
        Ok(p) => p,
        Err(f) => {
            let n = f.0.len();
            r.fail(format!("the site has {n} error{}", if n == 1 { "" } else { "s" }), f.0);
            return r;
        }
    };
    let inputs = prepared.fingerprint.clone();
    r.inputs = Some(inputs.clone());
    let local = output::read_manifest(&out);
    let fill = |r: &mut PartnerReport, m: Option<&output::Manifest>| {
        if let Some(m) = m {
            (r.files, r.bytes) = m.totals();
            r.pages = m.summary.stats.pages;
            r.withheld = m.summary.withheld.clone();
            r.quota.site_bytes = r.bytes;
            r.quota.pages = r.pages;
        }
    };
    if cx.target.is_some()
        && prepared.readable()
        && cx.remote.get(id).and_then(|r| r.inputs.as_deref()) == Some(inputs.as_str())
    {
        r.status = Status::Skipped;
        r.release = cx.remote.get(id).and_then(|x| x.release.clone());
        match local.as_ref().filter(|m| m.input_hash == inputs) {
            Some(m) => fill(&mut r, Some(m)),
            None => {
                // Another worker published it: the target's manifest says how big it is.
                let remote = &cx.remote[id];
                (r.files, r.bytes) = (remote.files, remote.bytes);
                r.quota.site_bytes = r.bytes;
            }
        }
        return r;
    }
    drop(local);
    // A partner with templates, stylesheets or scripts of its own is built aside and opened in
    // Chromium before it takes its output folder's place (see `gate`).
    let own = gate::own_files(&root);
    // Own files that passed before are trusted as a checked theme is: built in place (and
    // skipped when nothing changed).
    let cache = cx.opts.out.join(".cache").join("browser");
    let trusted = own.as_deref().is_some_and(|o| gate::passed_before(o, &engine.policy_key.to_hex(), &cache));
    if trusted {
        r.browser = Some("passed before");
    }
    let own = own.filter(|_| !trusted);
    let unchecked = cx.opts.out.join(".unchecked").join(id);
    if own.is_some() {
        let _ = std::fs::remove_dir_all(&unchecked);
    }
    let into = if own.is_some() { &unchecked } else { &out };
    let built = build::build_prepared_to_dir(engine, &root, &opts, prepared, into);
    let built = match built {
        Ok(b) => b,
        Err(BuildError::Failed(f)) => {
            let errors = collapse_stopped(build::group_template_errors(f.0));
            let slow = errors.iter().any(|d| matches!(d.kind, Kind::TimeLimit | Kind::Stopped));
            let n = errors.len();
            let reason = if slow {
                format!("the build passed the platform's time limit of {limit} s and was stopped")
            } else if errors.iter().all(|d| d.kind == Kind::Quota) {
                format!("over the platform's quota ({n} problem{})", if n == 1 { "" } else { "s" })
            } else {
                format!("the site has {n} error{}", if n == 1 { "" } else { "s" })
            };
            r.fail(reason, errors);
            return r;
        }
        Err(e) => {
            r.fail(e.to_string(), vec![Diagnostic::new("(output)", e.to_string())]);
            return r;
        }
    };
    if let Some(own) = own {
        if let Err((reason, errors)) = pass_gate(cx, &root, &unchecked, &own, &out, &mut r) {
            r.fail(reason, errors.into_iter().map(|d| d.partner(pid.clone())).collect());
            return r;
        }
    }
    r.warnings.extend(built.warnings.into_iter().map(|d| d.partner(pid.clone())));
    r.withheld = built.withheld.clone();
    fill(&mut r, output::read_manifest(&out).as_ref());
    r.pages = built.stats.pages;
    r.quota.pages = r.pages;
    match &cx.target {
        None => {
            r.status = if built.up_to_date { Status::Skipped } else { Status::Published };
        }
        Some(_) => {
            r.status = Status::Published;
            if let Err(e) = cx.queue_deploy(id, &out, inputs, cx.opts.max_deletes, &r.base_url) {
                r.fail(format!("publication failed: {e}"), vec![Diagnostic::new("(deploy)", e).kind(Kind::Platform)]);
            }
        }
    }
    r
}

/// The browser gate for a partner built into `unchecked`: on a pass, the build takes `out`'s
/// place; on a refusal, `out` (what the partner had) stays as it was.
fn pass_gate(
    cx: &RunCx,
    root: &Path,
    unchecked: &Path,
    own: &str,
    out: &Path,
    r: &mut PartnerReport,
) -> Result<(), (String, Vec<Diagnostic>)> {
    let cache = cx.opts.out.join(".cache").join("browser");
    let engine = cx.engine;
    let verdict = gate::check(root, unchecked, own, &engine.policy, &engine.policy_key.to_hex(), &cache, &cx.browser);
    match verdict {
        Ok(v) => {
            r.browser = Some(if v == gate::Verdict::Passed { "passed" } else { "passed before" });
            let io = |e: std::io::Error| {
                let d = Diagnostic::new("(output)", format!("cannot put the checked site in place: {e}"));
                ("the checked site cannot be put in place".to_string(), vec![d])
            };
            if out.exists() {
                std::fs::remove_dir_all(out).map_err(io)?;
            }
            std::fs::rename(unchecked, out).map_err(io)
        }
        Err(refused) => {
            r.browser = Some("refused");
            let _ = std::fs::remove_dir_all(unchecked);
            Err(refused)
        }
    }
}

/// The suspension: the partner's published site becomes the one notice page (its built site is
/// kept in the output folder, so that lifting the suspension republishes it without a rebuild
/// when nothing changed).
fn suspend(cx: &RunCx, id: &str, reason: &str, root: &Path, r: &mut PartnerReport) {
    r.status = Status::Suspended;
    r.reason = Some(reason.to_string());
    let (lang, title) = std::fs::read_to_string(root.join(SITE_FILE))
        .ok()
        .and_then(|t| Config::load(&t, &BuildOptions::default()).ok())
        .map(|c| (c.site.language.clone(), c.site.title.clone()))
        .unwrap_or_else(|| ("en".into(), id.to_string()));
    let policy = &cx.engine.policy;
    let html = notice::page(Notice::Suspended, &lang, &title, reason, "/");
    let page = match compliance::Injector::new(policy, &lang, &lang).inject(&html, false) {
        Ok(i) => i.html.into_bytes(),
        Err(e) => {
            r.fail(format!("cannot make the suspension page: {e}"), Vec::new());
            return;
        }
    };
    let mut site = Output::default();
    site.put(
        "index.html".into(),
        Body::Bytes(page.clone()),
        crate::util::diag::Origin::output("(platform) suspension"),
    );
    site.put("404.html".into(), Body::Bytes(page), crate::util::diag::Origin::output("(platform) suspension"));
    for (path, bytes) in compliance::assets(policy) {
        site.put(path, Body::Bytes(bytes.into_owned()), crate::util::diag::Origin::output("(platform)"));
    }
    let inputs =
        format!("suspended:{}", blake3::hash(format!("{reason}|{}|{lang}", policy.render_key()).as_bytes()).to_hex());
    r.inputs = Some(inputs.clone());
    // Without a target the output folder is what is published: the notice replaces the site in
    // it. With one, the notice is kept beside the built sites.
    let dir = match &cx.target {
        None => cx.opts.out.join(id),
        Some(_) => cx.opts.out.join(".suspended").join(id),
    };
    if output::read_manifest(&dir).is_some_and(|m| m.input_hash == inputs) && cx.target.is_none() {
        return;
    }
    if let Err(e) = output::write(&site, &dir, &inputs, output::Summary::default()) {
        r.fail(format!("cannot write the suspension page: {e}"), Vec::new());
        return;
    }
    if cx.target.is_some() {
        if let Some(x) = cx.remote.get(id).filter(|x| x.inputs.as_deref() == Some(inputs.as_str())) {
            r.release = x.release.clone();
            return;
        }
        if let Err(e) = cx.queue_deploy(id, &dir, inputs, usize::MAX, &r.base_url) {
            r.fail(format!("publication failed: {e}"), vec![Diagnostic::new("(deploy)", e).kind(Kind::Platform)]);
            r.status = Status::Failed;
        }
    }
}

/// The routes of the partners of this run that are published or suspended (a failed or
/// unchanged partner keeps the route it had).
fn route_updates(reports: &[PartnerReport], target: Option<&Target>, previous: &Routes) -> BTreeMap<String, Route> {
    let base = target.map(|t| t.prefix().to_string()).unwrap_or_default();
    reports
        .iter()
        .filter(|r| r.status != Status::Failed)
        // Unchanged inputs (domains and withheld pages among them): the route it has stays.
        .filter(|r| !(r.status == Status::Skipped && previous.partners.contains_key(&r.partner)))
        .map(|r| {
            let prefix = if base.is_empty() { format!("{}/", r.partner) } else { format!("{base}/{}/", r.partner) };
            let route = Route {
                prefix,
                domains: r.domains.clone(),
                status: if r.status == Status::Suspended { "suspended" } else { "published" }.into(),
                reason: (r.status == Status::Suspended).then(|| r.reason.clone()).flatten(),
                adult: r.adult,
                withheld: r
                    .withheld
                    .iter()
                    .map(|(p, reason)| WithheldRoute { path: p.clone(), reason: reason.clone() })
                    .collect(),
            };
            (r.partner.clone(), route)
        })
        .collect()
}

/// The files a build past its time limit did not render, as one problem (their count), after
/// the others (the loop that was running names its template and line).
fn collapse_stopped(errors: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let stopped = |d: &Diagnostic| d.kind == Kind::Stopped;
    let n = errors.iter().filter(|d| stopped(d)).count();
    let mut out: Vec<Diagnostic> = Vec::with_capacity(errors.len());
    let mut first = None;
    for d in errors {
        if !stopped(&d) {
            out.push(d);
        } else if first.is_none() {
            first = Some(d);
        }
    }
    if let Some(mut d) = first {
        if n > 1 {
            d.message = format!("the build was stopped: it passed the platform's time limit ({n} files not rendered)");
        }
        out.push(d);
    }
    out
}

/// The routing file (empty when there is none or it cannot be parsed: the run writes a whole
/// new one); an error when the target does not answer.
fn read_routes(target: Option<&Target>, out: &Path, rt: &tokio::runtime::Runtime) -> Result<Routes, RunError> {
    let bytes = match target {
        Some(t) => rt.block_on(t.get_small(ROUTES))?.map(|(b, _)| b),
        None => std::fs::read(out.join(ROUTES)).ok(),
    };
    Ok(bytes.and_then(|b| Routes::parse(&b).ok()).unwrap_or_default())
}

/// Merges this run's routes into the routing file. On a target, the write is conditional on the
/// version read: when another worker wrote it in between, it is read and merged again.
fn write_routes(
    target: Option<&Target>,
    out: &Path,
    rt: &tokio::runtime::Runtime,
    updates: &BTreeMap<String, Route>,
) -> Result<(), String> {
    let Some(t) = target else {
        let mut routes = read_routes(None, out, rt).unwrap_or_default();
        let before = routes.clone();
        routes.merge(updates);
        if routes == before && out.join(ROUTES).exists() {
            return Ok(());
        }
        let tmp = out.join(format!(".{ROUTES}.{}", std::process::id()));
        std::fs::write(&tmp, routes.to_bytes()).map_err(|e| e.to_string())?;
        return std::fs::rename(&tmp, out.join(ROUTES)).map_err(|e| e.to_string());
    };
    rt.block_on(async {
        for attempt in 0..50u32 {
            let read = t.get_small(ROUTES).await.map_err(|e| e.to_string())?;
            let (mut routes, version) = match read {
                Some((bytes, v)) => {
                    (Routes::parse(&bytes).map_err(|e| format!("{ROUTES} cannot be read ({e})"))?, Some(v))
                }
                None => (Routes::default(), None),
            };
            let before = routes.clone();
            routes.merge(updates);
            if routes == before && version.is_some() {
                return Ok(());
            }
            if t.put_small_if(ROUTES, routes.to_bytes(), "application/json", version)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(());
            }
            // Another worker wrote it first: merge again over what it wrote.
            let wait = 50 + u64::from(attempt) * 37 % 400;
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        Err("other workers kept writing it; run again".to_string())
    })
}

fn write_reports(dir: &Path, summary: &Summary) -> Result<(), RunError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    for r in &summary.reports {
        let file = dir.join(format!("{}.json", r.partner));
        let mut text = serde_json::to_vec_pretty(r).unwrap_or_default();
        text.push(b'\n');
        std::fs::write(&file, text).map_err(err(&file))?;
    }
    let file = dir.join("summary.json");
    let mut text = serde_json::to_vec_pretty(summary).unwrap_or_default();
    text.push(b'\n');
    std::fs::write(&file, text).map_err(err(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_partners_and_balance_them() {
        let ids: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
        let parts: Vec<Vec<String>> = (0..3).map(|i| shard(&ids, i, 3)).collect();
        let mut all: Vec<String> = parts.concat();
        all.sort();
        assert_eq!(all, ids, "every partner in exactly one shard");
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![4, 3, 3]);
        assert!(shard(&ids, 0, 0).is_empty());
    }
}
