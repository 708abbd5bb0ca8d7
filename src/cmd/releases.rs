//! `sopixi releases`: lists, rolls back, promotes and prunes the releases of a target published
//! with `sopixi deploy --releases` (or a partner's, under a platform target).

use sopixi::deploy::releases::{self, Retention};
use sopixi::deploy::{self, TargetSpec};

/// List, roll back, promote or prune the releases of a site's target (or of one partner's:
/// s3://bucket/prefix/ID). A switch rewrites one small object (PREFIX/_releases.json): no upload,
/// whatever the site's size.
///
/// Exit status: 0 on success, 1 when anything failed.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    /// The target: s3://bucket/prefix (a site's, or one partner's s3://bucket/prefix/ID).
    #[arg(long, value_name = "URL", global = true)]
    pub to: Option<String>,
    /// S3-compatible endpoint, e.g. http://127.0.0.1:8333 [env: AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL", global = true)]
    pub endpoint: Option<String>,
    /// The platform operator's policy file (`releases.keep`, `releases.preview_days`).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY", global = true)]
    pub policy: Option<std::path::PathBuf>,
    /// Print JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(clap::Subcommand)]
pub enum Action {
    /// The kept releases, oldest first, the live one marked.
    List,
    /// Make a release live again: ID, or the one before the live one.
    Rollback {
        /// The release to go back to.
        id: Option<String>,
    },
    /// Make a kept release (a preview) live.
    Promote {
        /// The release.
        id: String,
    },
    /// Delete the releases the retention rule no longer keeps, and unfinished ones.
    Prune,
}

fn fail(json: bool, message: &str) -> i32 {
    if json {
        println!("{}", serde_json::json!({"status": "error", "message": message}));
    } else {
        crate::console::error(message);
    }
    1
}

pub fn execute(args: Args) -> i32 {
    let Some(url) = args.to.clone() else { return fail(args.json, "give the target with --to URL") };
    let Some(policy) = super::policy(args.policy.as_deref(), args.json) else { return 1 };
    let spec = TargetSpec { url, endpoint: args.endpoint.clone(), region: None };
    let target = match deploy::open(&spec) {
        Ok(t) => t,
        Err(e) => return fail(args.json, &e.to_string()),
    };
    let retention = Retention { keep: policy.releases.keep, preview_days: policy.releases.preview_days };
    let start = std::time::Instant::now();
    let out = match &args.action {
        Action::List => {
            releases::list(&target).map(|s| serde_json::json!({"status": "ok", "live": s.live, "releases": s.releases}))
        }
        Action::Rollback { id } => releases::rollback_blocking(&target, id.as_deref())
            .map(|(before, now)| serde_json::json!({"status": "ok", "previous": before, "live": now})),
        Action::Promote { id } => releases::promote_blocking(&target, id)
            .map(|before| serde_json::json!({"status": "ok", "previous": before, "live": id})),
        Action::Prune => releases::prune(&target, retention).map(|d| serde_json::json!({"status": "ok", "deleted": d})),
    };
    let mut v = match out {
        Ok(v) => v,
        Err(e) => return fail(args.json, &e.to_string()),
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    v["duration_ms"] = serde_json::json!(ms.round());
    if args.json {
        println!("{v}");
        return 0;
    }
    match &args.action {
        Action::List => {
            let live = v["live"].as_str().unwrap_or("");
            for r in v["releases"].as_array().into_iter().flatten() {
                let id = r["id"].as_str().unwrap_or("");
                let mark = if id == live { "live" } else { "" };
                let preview = r["preview"].as_str().map(|p| format!("preview `{p}`")).unwrap_or_default();
                println!("{id}  {:>6} files  {mark:<4} {preview}", r["files"]);
            }
        }
        Action::Rollback { .. } | Action::Promote { .. } => println!(
            "{} is live on {} (was {}), in {ms:.0} ms",
            v["live"].as_str().unwrap_or(""),
            target.display,
            v["previous"].as_str().unwrap_or("none")
        ),
        Action::Prune => {
            println!("{} release(s) deleted from {}", v["deleted"].as_array().map_or(0, Vec::len), target.display)
        }
    }
    0
}
