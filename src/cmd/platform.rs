//! `sopixi platform build`: builds and publishes every partner's site under the operator's policy.

use std::path::PathBuf;
use std::time::Duration;

use sopixi::build::engine::Engine;
use sopixi::deploy::TargetSpec;
use sopixi::ops::platform::run::{self, RunOptions, Status, Summary};
use sopixi::util::text::human_bytes;

use crate::console;

/// The platform operator's commands.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(clap::Subcommand)]
pub enum Command {
    Build(BuildArgs),
    Edge(EdgeArgs),
    Delete(DeleteArgs),
}

/// Remove a partner from a platform target completely (the right to erasure): its route in
/// PREFIX/_routes.json, then every object under PREFIX/ID/ (every release, the state, the
/// manifest, every file). Prints what was deleted. Run `sopixi platform edge` again and reload
/// the web server afterwards; the partner's folder and local output are left to the operator.
#[derive(clap::Args)]
pub struct DeleteArgs {
    /// The partner id.
    pub id: String,
    /// The platform target (s3://bucket/prefix, file:///folder …).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// S3-compatible endpoint [env: AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The inbox its CI submits to (s3://bucket/inbox): its submitted sources go too.
    #[arg(long, value_name = "URL")]
    pub inbox: Option<String>,
    /// Print a JSON report.
    #[arg(long)]
    pub json: bool,
}

fn delete(a: DeleteArgs) -> i32 {
    let spec = TargetSpec { url: a.to.clone(), endpoint: a.endpoint.clone(), region: None };
    let target = match sopixi::deploy::open(&spec) {
        Ok(t) => t,
        Err(e) => return usage(a.json, &e.to_string()),
    };
    let inbox = match &a.inbox {
        Some(url) => {
            match sopixi::deploy::open(&TargetSpec { url: url.clone(), endpoint: a.endpoint.clone(), region: None }) {
                Ok(t) => Some(t),
                Err(e) => return usage(a.json, &e.to_string()),
            }
        }
        None => None,
    };
    match sopixi::ops::platform::delete::delete(&target, &a.id, inbox.as_ref()) {
        Ok(d) => {
            if a.json {
                println!("{}", serde_json::json!({"status": "ok", "deleted": d}));
            } else {
                println!(
                    "Deleted partner {} from {}: {} objects ({}) in {} releases; route {}{}{}",
                    d.partner,
                    target.display,
                    d.objects,
                    human_bytes(d.bytes),
                    d.releases,
                    if d.route { "removed" } else { "absent" },
                    if d.domains.is_empty() { String::new() } else { format!(" ({})", d.domains.join(", ")) },
                    d.inbox_objects.map(|n| format!("; {n} objects of its inbox")).unwrap_or_default()
                );
            }
            0
        }
        Err(e) => {
            if a.json {
                println!("{}", serde_json::json!({"status": "error", "message": e}));
            } else {
                console::error(&e);
            }
            1
        }
    }
}

/// Write the configuration of a web server (nginx) that serves every partner of a platform
/// target by its host name, from the object store.
///
/// Reads PREFIX/_routes.json and each partner's PREFIX/ID/_releases.json, and writes
/// DIR/nginx.conf (complete: `nginx -p DIR -c nginx.conf -e DIR/error.log` runs it unprivileged),
/// DIR/sopixi-sites.conf (the server blocks alone, to include in an existing nginx's `http`
/// block) and DIR/pages/ (the platform's notices). Each partner's hosts serve its live release
/// (or its prefix, when published in place); previews answer at NAME--ID. + the policy's
/// `preview_domain`, with `X-Robots-Tag: noindex`; a suspended partner answers 503 with its
/// notice, a withheld page 451 with its notice, a missing page the site's 404.html with status
/// 404, an unknown host the platform's page with status 404. Every response carries
/// `X-Sopixi-Release`. After any switch (publish, rollback, promote, suspension, deletion), run
/// this again and `nginx -s reload` (or give --reload). A page names its stylesheets and scripts
/// with their version (`?v=`): each is served from the release that page came from, so a visitor
/// never gets a page of one release with a file of another. A release the running
/// configuration has never heard of goes live in two steps (the workers first learn its files,
/// then serve it): the command says so, and --reload makes both. The bucket is read without credentials (a public-read
/// bucket). HTTPS is left to the operator's usual tool (certbot's nginx plugin, or a TLS proxy in
/// front).
#[derive(clap::Args)]
pub struct EdgeArgs {
    /// Write nginx's configuration (the only server supported).
    #[arg(long, required = true)]
    pub nginx: bool,
    /// The platform target (s3://bucket/prefix).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The S3 endpoint, as nginx reaches it (http://127.0.0.1:8333) [env: AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint: String,
    /// The operator's policy (its `preview_domain`).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// Address and port nginx listens on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The folder to write into.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Reload the nginx running DIR/nginx.conf and wait for its previous workers to finish; a
    /// switch to a release the running configuration does not know is made in the two steps
    /// it needs.
    #[arg(long)]
    pub reload: bool,
    /// Seconds to wait for nginx's previous workers at each reload.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub wait: u64,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

fn edge(a: EdgeArgs) -> i32 {
    let Some(policy) = super::policy(a.policy.as_deref(), a.json) else { return 2 };
    let Some(rest) = a.to.strip_prefix("s3://") else { return usage(a.json, "--to must be an s3:// target") };
    let bucket = rest.split('/').next().unwrap_or_default().to_string();
    let upstream = a.endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    if upstream.starts_with("https://") || upstream.contains('/') {
        return usage(a.json, "--endpoint must be an http://HOST:PORT address nginx can reach");
    }
    let spec = TargetSpec { url: a.to.clone(), endpoint: Some(a.endpoint.clone()), region: None };
    let target = match sopixi::deploy::open(&spec) {
        Ok(t) => t,
        Err(e) => return usage(a.json, &e.to_string()),
    };
    let opts = sopixi::ops::platform::edge::EdgeOptions {
        upstream,
        bucket,
        listen: a.listen.clone(),
        preview_domain: policy.preview_domain.clone(),
    };
    let dir = std::path::absolute(&a.output).unwrap_or(a.output.clone());
    let wait = Duration::from_secs(a.wait);
    let mut reloads = 0;
    let written = sopixi::ops::platform::edge::write(&target, &opts, &dir).and_then(|r| {
        if !a.reload {
            return Ok(r);
        }
        sopixi::ops::platform::edge::reload(&dir, wait)?;
        reloads += 1;
        if r.pending == 0 {
            return Ok(r);
        }
        // Every worker now knows the new releases' files: they may go live.
        let r = sopixi::ops::platform::edge::write(&target, &opts, &dir)?;
        sopixi::ops::platform::edge::reload(&dir, wait)?;
        reloads += 1;
        Ok(r)
    });
    match written {
        Ok(r) if a.json => {
            let j =
                serde_json::json!({"status": "ok", "config": dir.join("nginx.conf"), "reloads": reloads, "report": r});
            println!("{j}");
            0
        }
        Ok(r) => {
            if r.pending > 0 {
                console::warning(&format!(
                    "{} partners switch in two steps: reload nginx, then run this command again (or give --reload)",
                    r.pending
                ));
            }
            let then = if reloads > 0 { "nginx reloaded" } else { "reload nginx to apply" };
            println!(
                    "Wrote {}: {} partners ({} from a release), {} host names, {} previews, {} redirects, {} files of other releases pinned; {then}",
                    dir.join("nginx.conf").display(),
                    r.partners,
                    r.releases,
                    r.hosts,
                    r.previews,
                    r.redirects,
                    r.pinned_files
                );
            0
        }
        Err(e) => usage(a.json, &e),
    }
}

/// Build and publish every partner's site of a partners folder.
///
/// Each folder of PARTNERS_DIR named like a partner id (lowercase letters, digits, hyphens) is one
/// partner's site folder. Every site is built with the policy, checked, and published to its own
/// prefix `PREFIX/ID/` of the target (or, without --to, left in OUT/ID/), with the deploy
/// machinery of `sopixi deploy` (incremental, ordered, kill-safe). A partner whose inputs did not
/// change since its last successful publication is skipped. One partner's failure (errors, quota,
/// crash, time limit, deploy error) is reported and touches no other partner.
///
/// Exit status: 0 when no partner failed, 1 when any did, 2 when the run could not start (a bad
/// policy, an unreadable partners folder, a wrong target).
#[derive(clap::Args)]
pub struct BuildArgs {
    /// The partners folder: one site folder per partner, named by its id; or an inbox the
    /// partners submit to (s3://bucket/prefix: one PREFIX/ID/ per partner, see `sopixi submit`),
    /// mirrored into OUT/.inbox/ (only what changed is fetched) and built from there.
    pub partners: PathBuf,
    /// The platform operator's policy file (quotas, suspensions, withheld pages, domains …).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// The platform's theme catalog: a folder of theme folders partners may name in `theme:`.
    #[arg(long, value_name = "DIR")]
    pub themes: Option<PathBuf>,
    /// Publish to s3://bucket/prefix (or gs://, az://, file:///folder): partner ID under prefix/ID/.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// S3-compatible endpoint, e.g. http://127.0.0.1:8333 (or AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region of the bucket.
    #[arg(long)]
    pub region: Option<String>,
    /// Local outputs and state: OUT/ID/ is each partner's built site [default:
    /// PARTNERS_DIR/.sopixi-platform].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write DIR/ID.json for each partner and DIR/summary.json.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Build only shard I of N (0-based; `auto/N` takes I from JOB_COMPLETION_INDEX, as a
    /// Kubernetes Indexed Job sets it).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Only this partner (repeat for more).
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
    /// Start no more partners once one failed.
    #[arg(long, conflicts_with = "keep_going")]
    pub fail_fast: bool,
    /// Build every partner whatever the others do (the default).
    #[arg(long)]
    pub keep_going: bool,
    /// Most objects one partner's deploy may delete (a suspension is not limited).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_deletes: usize,
    /// Seconds to wait for another worker publishing the same partner.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub lease_wait: u64,
    /// Partners publishing at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub deploys: usize,
    /// Uploads in flight for one partner.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Number of threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Publish each partner as a preview release named NAME (not live), reachable at
    /// NAME--ID. + the policy's preview_domain; needs --to.
    #[arg(long, value_name = "NAME", requires = "to")]
    pub preview: Option<String>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn usage(json: bool, message: &str) -> i32 {
    if json {
        println!("{}", serde_json::json!({"status": "error", "message": message}));
    } else {
        console::error(message);
    }
    2
}

/// `I/N` or `auto/N` → (I, N).
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("--shard `{s}`: write it as I/N, e.g. 0/4, or auto/4"))?;
    let n: usize = n.trim().parse().map_err(|_| format!("--shard `{s}`: N must be a number"))?;
    if n == 0 {
        return Err(format!("--shard `{s}`: N must be at least 1"));
    }
    let i: usize = if i.trim() == "auto" {
        let v = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
            format!(
                "--shard `{s}`: JOB_COMPLETION_INDEX is not set (it is in a Kubernetes Indexed Job); give I/N instead"
            )
        })?;
        v.trim().parse().map_err(|_| format!("--shard `{s}`: JOB_COMPLETION_INDEX `{v}` is not a number"))?
    } else {
        i.trim().parse().map_err(|_| format!("--shard `{s}`: I must be a number or auto"))?
    };
    if i >= n {
        return Err(format!("--shard `{s}`: I goes from 0 to {}", n - 1));
    }
    Ok((i, n))
}

/// Runs `sopixi platform …`.
pub fn execute(args: Args) -> i32 {
    match args.command {
        Command::Build(a) => build(a),
        Command::Edge(a) => edge(a),
        Command::Delete(a) => delete(a),
    }
}

/// An inbox given as the partners: mirrored into `out/.inbox`, which is returned.
fn mirror_inbox(
    args: &BuildArgs,
    url: &str,
    out: &std::path::Path,
    policy: &sopixi::policy::Policy,
) -> Result<(PathBuf, sopixi::ops::platform::inbox::Mirrored), String> {
    let spec = TargetSpec { url: url.to_string(), endpoint: args.endpoint.clone(), region: args.region.clone() };
    let inbox = sopixi::deploy::open(&spec).map_err(|e| e.to_string())?;
    let dir = out.join(".inbox");
    // Sources may weigh more than the site built from them (photos before resizing): twice the quota.
    let max = policy.quotas.site_bytes.saturating_mul(2);
    let r = sopixi::ops::platform::inbox::mirror_blocking(&inbox, &dir, max, args.concurrency)?;
    Ok((dir, r))
}

fn build(args: BuildArgs) -> i32 {
    let Some(policy) = super::policy(args.policy.as_deref(), args.json) else { return 2 };
    let shard = match args.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s,
        Err(m) => return usage(args.json, &m),
    };
    let given = args.partners.to_string_lossy().into_owned();
    let remote = ["s3://", "gs://", "az://", "file://"].iter().any(|s| given.starts_with(s));
    let out = match (&args.out, remote) {
        (Some(o), _) => o.clone(),
        (None, false) => args.partners.join(".sopixi-platform"),
        (None, true) => PathBuf::from(".sopixi-platform"),
    };
    let (partners, mirrored) = if remote {
        match mirror_inbox(&args, &given, &out, &policy) {
            Ok((dir, m)) => (dir, Some(m)),
            Err(e) => return usage(args.json, &format!("cannot read the inbox {given}: {e}")),
        }
    } else {
        (args.partners.clone(), None)
    };
    let opts = RunOptions {
        out,
        partners,
        target: args.to.clone().map(|url| TargetSpec {
            url,
            endpoint: args.endpoint.clone(),
            region: args.region.clone(),
        }),
        report: args.report.clone(),
        shard,
        only: args.only.clone(),
        fail_fast: args.fail_fast,
        themes: args.themes.clone(),
        max_deletes: args.max_deletes,
        progress: !args.json && console::interactive(),
        lease_wait: Some(Duration::from_secs(args.lease_wait)),
        deploys: args.deploys,
        concurrency: args.concurrency,
        preview: args.preview.clone(),
        retention: sopixi::deploy::releases::Retention {
            keep: policy.releases.keep,
            preview_days: policy.releases.preview_days,
        },
    };
    if let Some(name) = &args.preview {
        if let Err(m) = sopixi::deploy::releases::check_preview_name(name) {
            return usage(args.json, &m);
        }
    }
    let engine = Engine::new(policy);
    let mut summary = match sopixi::build::with_jobs(args.jobs, || run::run(&engine, &opts)) {
        Ok(s) => s,
        Err(e) => return usage(args.json, &e.to_string()),
    };
    if let Some(m) = mirrored {
        summary.warnings.extend(m.warnings.iter().cloned());
        summary.inbox = Some(m);
    }
    if args.json {
        println!("{}", serde_json::json!(summary));
    } else {
        print_table(&summary);
    }
    i32::from(summary.failed > 0)
}

fn print_table(s: &Summary) {
    let width = s.results.iter().map(|r| r.partner.len()).max().unwrap_or(7).max(7);
    println!("{:<width$}  {:<9}  {:>6}  {:>9}  {:>8}  message", "partner", "status", "pages", "size", "time");
    for r in &s.results {
        let status = match r.status {
            Status::Published => "published",
            Status::Skipped => "skipped",
            Status::Suspended => "suspended",
            Status::Failed => "FAILED",
        };
        println!(
            "{:<width$}  {status:<9}  {:>6}  {:>9}  {:>6.0}ms  {}",
            r.partner,
            r.pages,
            human_bytes(r.bytes),
            r.time_ms,
            r.message.as_deref().unwrap_or("")
        );
    }
    for r in s.results.iter().filter(|r| r.preview_url.is_some()) {
        println!("preview of {}: {}", r.partner, r.preview_url.as_deref().unwrap_or_default());
    }
    for r in s.reports.iter().filter(|r| r.status == Status::Failed) {
        for d in &r.errors {
            console::diagnostic(d);
        }
    }
    for w in &s.warnings {
        console::warning(w);
    }
    if !s.ignored.is_empty() {
        console::warning(&format!(
            "folders that are not partner ids were left out: {} (an id is lowercase letters, digits and hyphens)",
            s.ignored.join(", ")
        ));
    }
    let line = format!(
        "{} partners in {:.2} s: {} published, {} skipped, {} suspended, {} failed{}",
        s.partners,
        s.time_ms / 1000.0,
        s.published,
        s.skipped,
        s.suspended,
        s.failed,
        s.shard.as_deref().map(|sh| format!(" (shard {sh})")).unwrap_or_default()
    );
    if s.failed > 0 {
        console::error(&line);
    } else {
        println!("{line}");
    }
}
