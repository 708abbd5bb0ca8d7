//! `sopixi platform delete ID`: a partner leaves the platform (the right to erasure). Its route
//! goes from `_routes.json` first (so that the edge, written again, stops serving it), then every
//! object under its prefix: every release, the state, the manifest, every file (its entry of the
//! state index goes before them). The report says
//! what was deleted. The partner's local build output, if any, is the operator's to remove.

use serde::Serialize;

use crate::deploy::{releases, Target};
use crate::ops::platform::routes::{Routes, ROUTES};

/// What a deletion removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Deleted {
    /// The partner.
    pub partner: String,
    /// Whether it had a route (it was removed).
    pub route: bool,
    /// Its host names that no longer serve anything.
    pub domains: Vec<String>,
    /// Releases it had.
    pub releases: usize,
    /// Objects deleted.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Objects of its inbox deleted (its submitted sources), when an inbox was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox_objects: Option<usize>,
}

fn valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= 63 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Deletes partner `id` from the platform target `target`, and from the inbox its CI submits to
/// (`inbox`: the prefix that holds `ID/`), when given.
pub fn delete(target: &Target, id: &str, inbox: Option<&Target>) -> Result<Deleted, String> {
    if !valid(id) {
        return Err(format!("`{id}` is not a partner id (lowercase letters, digits, hyphens)"));
    }
    let rt = crate::util::runtime::new().map_err(|e| format!("cannot start the network runtime: {e}"))?;
    let partner = target.sub(id);
    let mut report = Deleted { partner: id.to_string(), ..Default::default() };
    report.releases = releases::list(&partner).map_err(|e| e.to_string())?.releases.len();
    rt.block_on(async {
        for _ in 0..50 {
            let Some((bytes, version)) = target.get_small(ROUTES).await.map_err(|e| e.to_string())? else {
                return Ok::<(), String>(());
            };
            let mut routes = Routes::parse(&bytes).map_err(|e| format!("{ROUTES} cannot be read ({e})"))?;
            let Some(route) = routes.partners.remove(id) else { return Ok(()) };
            routes.merge(&Default::default());
            if target
                .put_small_if(ROUTES, routes.to_bytes(), "application/json", Some(version))
                .await
                .map_err(|e| e.to_string())?
            {
                report.route = true;
                report.domains = route.domains;
                return Ok(());
            }
        }
        Err("other workers kept writing the routing file; run again".to_string())
    })?;
    // Its state index entry next: a run that finds its folder again reads its (empty) state.
    rt.block_on(crate::deploy::index::forget(&partner)).map_err(|e| e.to_string())?;
    let (objects, bytes) = rt.block_on(partner.delete_all()).map_err(|e| e.to_string())?;
    report.objects = objects;
    report.bytes = bytes;
    if let Some(inbox) = inbox {
        let (n, _) = rt.block_on(inbox.sub(id).delete_all()).map_err(|e| e.to_string())?;
        report.inbox_objects = Some(n);
    }
    rt.shutdown_background();
    Ok(report)
}
