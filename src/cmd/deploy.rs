//! `sopixi deploy`: builds a site, then publishes it to an object store or a folder.

use std::path::PathBuf;
use std::time::Instant;

use sopixi::build::engine::Engine;
use sopixi::build::{self, BuildError};
use sopixi::deploy::plan::HeaderRules;
use sopixi::deploy::{self, DeployOptions, TargetSpec};
use sopixi::policy::Policy;
use sopixi::site::config::{BuildOptions, Config, DeployConfig, SITE_FILE};

use crate::console;

/// Publish the website to S3 (or an S3-compatible store), Google Cloud Storage, Azure or a folder.
///
/// The site is built first (into SITE/public, skipped when nothing changed), unless --output
/// names an already built folder. Only new and changed files are uploaded: the target keeps a
/// manifest (.sopixi-deploy.json) of what the last deploy published, so a deploy with no change
/// reads one object and writes nothing. Without a manifest, files are compared with a listing.
///
/// Order: new and changed files other than pages first (CSS, JS, images), then HTML pages
/// (deepest first, home last), then feeds, sitemap and robots.txt, then the manifest, then
/// deletions — a page being served never points at a file that is not there yet. Only objects
/// the previous deploy published are ever deleted. A deploy that fails or is killed keeps the
/// previous manifest, and running it again finishes the job.
///
/// Targets: s3://bucket/prefix (with --endpoint for OVHcloud, Scaleway, R2, MinIO …),
/// gs://bucket/prefix, az://container/prefix, file:///folder, or the name of a target in
/// site.yaml's `deploy.targets`. Credentials come from the environment (AWS_ACCESS_KEY_ID,
/// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE …) and are never printed.
///
/// Exit status: 0 on success, 1 when anything failed.
#[derive(clap::Args)]
pub struct Args {
    /// The site folder (holding site.yaml).
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Target URL (s3://bucket/prefix, gs://…, az://…, file:///folder) or the name of a target in
    /// site.yaml [default: the first target of site.yaml].
    #[arg(long, value_name = "URL|NAME")]
    pub to: Option<String>,
    /// Deploy this already built folder as it is, without building.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// S3-compatible endpoint, e.g. https://s3.fr-par.scw.cloud [env: AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Bucket region [env: AWS_REGION, default: us-east-1].
    #[arg(long)]
    pub region: Option<String>,
    /// Uploads in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Abort, before changing anything, when more than N objects would be deleted
    /// [default: 256, or site.yaml's deploy.max_deletes].
    #[arg(long, value_name = "N")]
    pub max_deletes: Option<usize>,
    /// Upload text files (HTML, CSS, JS, XML, JSON, SVG) gzip-compressed with
    /// `Content-Encoding: gzip` (for stores served straight to browsers, such as S3 behind a CDN).
    #[arg(long)]
    pub gzip: bool,
    /// Show what would be uploaded and deleted, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Upload every file, whatever the target holds (deletions still follow the manifest).
    #[arg(long)]
    pub force: bool,
    /// The platform operator's policy file; pages are built with it and checked against it.
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// Publish an immutable release under PREFIX/_releases/ID/ and switch to it atomically
    /// (PREFIX/_releases.json), instead of updating the files in place: `sopixi releases` lists,
    /// rolls back and promotes them. For targets served by `sopixi platform edge` or a server
    /// that reads that file; a plain static host (an S3 website bucket) needs the in-place mode.
    #[arg(long)]
    pub releases: bool,
    /// Publish a release that does not go live: a preview named NAME (implies --releases).
    #[arg(long, value_name = "NAME")]
    pub preview: Option<String>,
    /// Print a JSON summary on stdout (for CI) instead of the human one.
    #[arg(long)]
    pub json: bool,
}

fn fail(json: bool, e: &dyn std::error::Error) -> i32 {
    if json {
        println!("{}", serde_json::json!({"status": "error", "message": e.to_string()}));
    } else {
        console::error_chain(e);
    }
    1
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);

/// Runs `sopixi deploy`.
pub fn execute(args: Args, verbose: bool) -> i32 {
    let start = Instant::now();
    let Some(policy) = super::policy(args.policy.as_deref(), args.json) else { return 1 };
    let config = match site_config(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let deploy_cfg = config.as_ref().map(|c| c.site.deploy.clone()).unwrap_or_default();

    let spec = match target_spec(&args, &deploy_cfg) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let dir = match built_folder(&args, &policy, verbose) {
        Ok(d) => d,
        Err(code) => return code,
    };

    let mut rules = HeaderRules::from_config(&deploy_cfg);
    rules.gzip |= args.gzip;
    // The build's manifest vouches for the hashes of the files it wrote, and lists adult pages.
    let built = sopixi::output::read_manifest(&dir);
    let files = match deploy::scan_dir(&dir, &rules, built.as_ref()) {
        Ok(f) => f,
        Err(e) => return fail(args.json, &e),
    };
    if spec.url.starts_with("file://") && files.iter().any(|f| f.entry.content_encoding.is_some()) {
        return fail(
            args.json,
            &Message("a folder keeps no Content-Encoding: deploy to file:// without --gzip (and deploy.gzip)".into()),
        );
    }
    let target = match deploy::open(&spec) {
        Ok(t) => t,
        Err(e) => return fail(args.json, &e),
    };
    let opts = DeployOptions {
        concurrency: args.concurrency.max(1),
        max_deletes: args.max_deletes.or(deploy_cfg.max_deletes).unwrap_or(256),
        dry_run: args.dry_run,
        force: args.force,
        progress: !args.json && console::interactive(),
        base_url: config.as_ref().map_or_else(|| "/".to_string(), |c| c.site.base_url.clone()),
        exit_after_uploads: std::env::var("SOPIXI_TEST_DEPLOY_EXIT_AFTER").ok().and_then(|v| v.parse().ok()),
        adult: built.map(|m| m.adult.into_iter().collect()).unwrap_or_default(),
        policy: std::sync::Arc::new(policy),
        ..Default::default()
    };
    if args.releases || args.preview.is_some() {
        return release(&args, &target, &files, &opts, start);
    }
    let report = match deploy::deploy(&target, &files, &opts) {
        Ok(r) => r,
        // A test's stand-in for a kill: the exit status a killed process has.
        Err(e @ deploy::DeployError::Interrupted { .. }) => {
            eprintln!("{e}");
            return 137;
        }
        Err(e) => return fail(args.json, &e),
    };
    let secs = start.elapsed().as_secs_f64();
    if args.json {
        let mut v = serde_json::json!({
            "status": "ok",
            "target": report.target,
            "dry_run": args.dry_run,
            "uploaded": report.uploaded,
            "deleted": report.deleted,
            "unchanged": report.unchanged,
            "bytes": report.bytes,
            "requests": report.requests,
            "had_manifest": report.had_manifest,
            "duration_ms": (secs * 1000.0).round(),
        });
        if args.dry_run {
            v["plan"] = serde_json::json!(report.plan);
        }
        println!("{v}");
        return 0;
    }
    if args.dry_run || verbose {
        for phase in &report.plan.phases {
            for (path, reason) in &phase.uploads {
                let r =
                    serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                println!("upload  {:<8} {r:<8} /{path}", phase.name);
            }
        }
        for path in &report.plan.deletes {
            println!("delete                    /{path}");
        }
    }
    if args.dry_run {
        println!(
            "Dry run on {}: {} to upload, {} to delete, {} unchanged; nothing was changed",
            report.target,
            report.plan.upload_count(),
            report.plan.deletes.len(),
            report.unchanged
        );
    } else {
        println!(
            "Deployed to {} in {secs:.2} s: {} uploaded ({}), {} deleted, {} unchanged",
            report.target,
            report.uploaded,
            sopixi::util::text::human_bytes(report.bytes),
            report.deleted,
            report.unchanged
        );
    }
    if sopixi::ops::platform::gate::own_files(&args.site).is_some() {
        console::warning(&format!(
            "{} has its own templates, stylesheets or scripts: `sopixi check --browser {}` shows whether the badge and cookie notice hold in a real browser (the platform opens such sites in Chromium before it publishes them)",
            args.site.display(),
            args.site.display()
        ));
    }
    0
}

/// `site.yaml`: targets, header rules, base_url. Optional when an output folder is given.
fn site_config(args: &Args) -> Result<Option<Config>, i32> {
    let site_file = args.site.join(SITE_FILE);
    match std::fs::read_to_string(&site_file) {
        Ok(text) => match Config::load(&text, &BuildOptions::default()) {
            Ok(c) => Ok(Some(c)),
            Err(diags) => {
                for d in &diags {
                    let mut d = d.clone();
                    d.origin = site_file.clone().into();
                    console::diagnostic(&d);
                }
                Err(fail(args.json, &Message(format!("{} has errors; nothing was deployed", site_file.display()))))
            }
        },
        Err(_) if args.output.is_some() => Ok(None),
        Err(e) => Err(fail(
            args.json,
            &Message(format!(
                "cannot read {}: {e}; give the site folder, or --output DIR to deploy a built folder",
                site_file.display()
            )),
        )),
    }
}

/// The target: a URL, a name from site.yaml, or site.yaml's first target; `--endpoint` and
/// `--region` on top.
fn target_spec(args: &Args, deploy_cfg: &DeployConfig) -> Result<TargetSpec, i32> {
    let from = |t: &sopixi::site::config::DeployTarget| TargetSpec {
        url: t.url.clone(),
        endpoint: t.endpoint.clone(),
        region: t.region.clone(),
    };
    let mut spec = match args.to.as_deref() {
        Some(url) if url.contains("://") => TargetSpec { url: url.to_string(), ..Default::default() },
        Some(name) => match deploy_cfg.targets.iter().find(|t| t.name == name) {
            Some(t) => from(t),
            None => {
                let names: Vec<&str> = deploy_cfg.targets.iter().map(|t| t.name.as_str()).collect();
                let hint = match sopixi::util::diag::did_you_mean(name, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if names.is_empty() => "site.yaml has no deploy.targets; give a URL such as s3://bucket/prefix".into(),
                    None => format!("the targets of site.yaml are: {}", names.join(", ")),
                };
                return Err(fail(args.json, &Message(format!("no deploy target named `{name}`: {hint}"))));
            }
        },
        None => match deploy_cfg.targets.first() {
            Some(t) => from(t),
            None => {
                return Err(fail(
                    args.json,
                    &Message(
                        "no deploy target: give --to s3://bucket/prefix (or gs://, az://, file://), or add deploy.targets to site.yaml".into(),
                    ),
                ))
            }
        },
    };
    if args.endpoint.is_some() {
        spec.endpoint = args.endpoint.clone();
    }
    if args.region.is_some() {
        spec.region = args.region.clone();
    }
    Ok(spec)
}

/// The folder to deploy: `--output`, or the site built into `SITE/public` now.
fn built_folder(args: &Args, policy: &Policy, verbose: bool) -> Result<PathBuf, i32> {
    if let Some(d) = &args.output {
        return Ok(d.clone());
    }
    let out = args.site.join("public");
    let opts = BuildOptions { progress: !args.json && console::interactive(), ..Default::default() };
    let engine = Engine::new(policy.clone());
    match build::build_to_dir(&engine, &args.site, &opts, &out) {
        Ok(done) => {
            if verbose {
                eprintln!(
                    "built {} files ({})",
                    done.stats.files,
                    if done.up_to_date { "nothing changed" } else { "rebuilt" }
                );
            }
            Ok(out)
        }
        Err(BuildError::Failed(f)) => {
            for d in &f.0 {
                console::diagnostic(d);
            }
            Err(fail(
                args.json,
                &Message(format!("the build failed with {} error(s); nothing was deployed", f.0.len())),
            ))
        }
        Err(e) => Err(fail(args.json, &e)),
    }
}

/// `deploy --releases` / `--preview NAME`: a new release, live or a preview.
fn release(
    args: &Args,
    target: &deploy::Target,
    files: &[deploy::LocalFile],
    opts: &DeployOptions,
    start: Instant,
) -> i32 {
    let retention = deploy::releases::Retention {
        keep: opts.policy.releases.keep,
        preview_days: opts.policy.releases.preview_days,
    };
    if let Some(name) = &args.preview {
        if let Err(m) = deploy::releases::check_preview_name(name) {
            return fail(args.json, &deploy::DeployError::Target(m));
        }
    }
    let published = match deploy::releases::publish_blocking(target, files, opts, args.preview.as_deref(), retention) {
        Ok(p) => p,
        Err(e @ deploy::DeployError::Interrupted { .. }) => {
            eprintln!("{e}");
            return 137;
        }
        Err(e) => return fail(args.json, &e),
    };
    let secs = start.elapsed().as_secs_f64();
    let d = &published.deploy;
    if args.json {
        let v = serde_json::json!({
            "status": "ok",
            "target": target.display,
            "release": published.release,
            "live": published.live,
            "previous": published.previous,
            "copied": published.copied,
            "uploaded": d.uploaded,
            "deleted": d.deleted,
            "unchanged": d.unchanged,
            "bytes": d.bytes,
            "requests": d.requests + published.copied as u64,
            "pruned": published.pruned,
            "duration_ms": (secs * 1000.0).round(),
        });
        println!("{v}");
        return 0;
    }
    let what = match &published.release.preview {
        Some(name) => format!("preview `{name}` (not live)"),
        None => "live".to_string(),
    };
    println!(
        "Release {} published to {} in {secs:.2} s, {what}: {} copied from the previous release, {} uploaded ({}), {} deleted",
        published.release.id,
        target.display,
        published.copied,
        d.uploaded,
        sopixi::util::text::human_bytes(d.bytes),
        d.deleted
    );
    0
}
