//! `sopixi submit`: a partner's CI hands in its site's sources to the platform's inbox.

use std::path::PathBuf;

use sopixi::deploy::{self, TargetSpec};
use sopixi::util::text::human_bytes;

use crate::console;

/// Hand in a site's sources to the platform's inbox (s3://inbox/ID), for the platform to build,
/// check and publish.
///
/// A partner's CI job runs this instead of `deploy`: what visitors get is only ever what the
/// platform built and checked (`sopixi platform build s3://inbox/…`). The sources are taken as
/// `sopixi export` takes them (site.yaml, content, static, templates, a theme of the site's own),
/// without the built output, caches or hidden files. Only files the inbox does not hold yet are
/// sent; the submission becomes visible to the platform whole, in one write, after every file it
/// names. Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): a
/// partner's key should be able to write its own inbox and nothing else (see the book, "Serving
/// the sites").
///
/// Exit status: 0 when the submission is in, 1 when it failed, 2 on a usage error.
#[derive(clap::Args)]
pub struct Args {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// The partner's inbox: s3://bucket/prefix/ID (or file:///folder/ID).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// S3-compatible endpoint, e.g. http://127.0.0.1:8333 [env: AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region of the bucket.
    #[arg(long)]
    pub region: Option<String>,
    /// Uploads in flight.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `sopixi submit`.
pub fn execute(a: Args) -> i32 {
    let spec = TargetSpec { url: a.to.clone(), endpoint: a.endpoint.clone(), region: a.region.clone() };
    let target = match deploy::open(&spec) {
        Ok(t) => t,
        Err(e) => {
            if a.json {
                println!("{}", serde_json::json!({"status": "error", "message": e.to_string()}));
            } else {
                console::error(&e.to_string());
            }
            return 2;
        }
    };
    match sopixi::ops::platform::inbox::submit_blocking(&a.site, &target, a.concurrency) {
        Ok(r) => {
            if a.json {
                println!("{}", serde_json::json!({"status": "ok", "to": target.display, "submitted": r}));
            } else {
                println!(
                    "Submitted {} files ({}) to {}: {} sent ({}), {} unchanged; the platform's next run builds it",
                    r.files,
                    human_bytes(r.bytes),
                    target.display,
                    r.uploaded,
                    human_bytes(r.uploaded_bytes),
                    r.files.saturating_sub(r.uploaded),
                );
            }
            0
        }
        Err(e) => {
            if a.json {
                println!("{}", serde_json::json!({"status": "error", "message": e.to_string()}));
            } else {
                console::error(&e.to_string());
            }
            1
        }
    }
}
