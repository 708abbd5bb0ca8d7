//! The platform's disk quotas, held against a built site: every video within the policy's
//! `video_bytes` (5 MB by default: the terms of service), every file and the whole site within
//! its limits.
//!
//! In: an [`Output`] and the policy's [`Quotas`]. Out: one diagnostic per file over its limit, and
//! one for the site (naming its largest files). Never reads the disk but for a file's size.

use rayon::prelude::*;

use crate::output::{OutFile, Output};
use crate::policy::{Quotas, VIDEO_EXTENSIONS};
use crate::util::diag::{Diagnostic, Kind};
use crate::util::text::human_bytes;

/// What the site-wide quota's message names: the site's configuration file, where a partner
/// looks first (the site layer's `SITE_FILE`, which this layer below it cannot name).
const SITE_ORIGIN: &str = "site.yaml";

/// The platform's disk quotas: every video at most `video_bytes`, every file at most
/// `file_bytes`, the whole site at most `site_bytes`. Each file over its limit is named.
pub(crate) fn quota_errors(output: &Output, q: &Quotas) -> Vec<Diagnostic> {
    let sizes: Vec<(&String, &OutFile, u64)> =
        output.files.par_iter().map(|(p, f)| (p, f, f.body.len().unwrap_or(0))).collect();
    let mut errors = Vec::new();
    for (path, f, size) in &sizes {
        let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        if VIDEO_EXTENSIONS.contains(&ext.as_str()) && *size > q.video_bytes {
            errors.push(
                Diagnostic::new(
                    &f.origin,
                    format!("this video is {}, over the platform's limit of {} per video", human_bytes(*size), human_bytes(q.video_bytes)),
                )
                .kind(Kind::Quota)
                .hint("compress it (for example 720p H.264 at a lower bit rate) or publish it on a video host and link to it"),
            );
        } else if *size > q.file_bytes {
            errors.push(
                Diagnostic::new(
                    &f.origin,
                    format!(
                        "this file is {}, over the platform's limit of {} per file",
                        human_bytes(*size),
                        human_bytes(q.file_bytes)
                    ),
                )
                .kind(Kind::Quota)
                .hint("make it smaller or host it elsewhere and link to it"),
            );
        }
    }
    let total: u64 = sizes.iter().map(|s| s.2).sum();
    if total > q.site_bytes {
        let mut largest: Vec<_> = sizes.iter().map(|(p, _, n)| (*n, p.as_str())).collect();
        largest.sort_by(|a, b| b.cmp(a));
        let top: Vec<String> = largest.iter().take(5).map(|(n, p)| format!("/{p} ({})", human_bytes(*n))).collect();
        errors.push(
            Diagnostic::new(
                SITE_ORIGIN,
                format!(
                    "the built site is {}, over the platform's quota of {}",
                    human_bytes(total),
                    human_bytes(q.site_bytes)
                ),
            )
            .kind(Kind::Quota)
            .hint(format!("the largest files: {}", top.join(", "))),
        );
    }
    errors
}
