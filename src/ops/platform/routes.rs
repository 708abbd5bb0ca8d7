//! The routing file of a platform target (`_routes.json`): which host serves which partner's
//! prefix, and each partner's status (published, suspended, withheld pages), for an edge server
//! or CDN to read; and the assignment of domains to partners.
//!
//! In: the policy's domains, the domains partners claim in their `site.yaml`, the routing file a
//! previous run left. Out: each partner's host, the merged routing file. Pure: the run reads and
//! writes the file (with a conditional write, since shards share it).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The routing file's name, at the root of the target prefix.
pub(crate) const ROUTES: &str = "_routes.json";

/// The routing file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Routes {
    /// Format version.
    pub version: u32,
    /// Host → object prefix of the partner it serves (`sites/acme/`).
    pub domains: BTreeMap<String, String>,
    /// Partner id → its route.
    pub partners: BTreeMap<String, Route>,
}

/// One partner's route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Route {
    /// Its object prefix (`sites/acme/`).
    pub prefix: String,
    /// The hosts that serve it, its canonical one first.
    pub domains: Vec<String>,
    /// `published` or `suspended`.
    pub status: String,
    /// Why it is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every page is rated adult.
    #[serde(default)]
    pub adult: bool,
    /// Pages withheld by the platform (their URL serves a notice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<WithheldRoute>,
}

/// A withheld page in the routing file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WithheldRoute {
    /// Its URL path.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl Routes {
    /// Reads a routing file.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Routes, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// Replaces the routes of the partners in `updates` (others are left as they are) and
    /// derives the host map from every partner's domains.
    pub(crate) fn merge(&mut self, updates: &BTreeMap<String, Route>) {
        self.version = 1;
        for (id, r) in updates {
            self.partners.insert(id.clone(), r.clone());
        }
        self.domains.clear();
        for r in self.partners.values() {
            for d in &r.domains {
                self.domains.entry(d.clone()).or_insert_with(|| r.prefix.clone());
            }
        }
    }

    /// The file's bytes (sorted keys: the same routes give the same bytes).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// The partner a host was routed to.
    pub(crate) fn partner_of(&self, host: &str) -> Option<&str> {
        let prefix = self.domains.get(host)?;
        self.partners.iter().find(|(_, r)| r.prefix == *prefix).map(|(id, _)| id.as_str())
    }
}

/// Each partner's custom domain, and a warning for each claim refused.
///
/// The policy's `domains` are the operator's word and always win. A domain a partner claims in
/// its `site.yaml` is given to it unless the policy gives it to another partner, or another
/// partner claims it too: then the partner the previous routing file sent it to keeps it, and
/// when none did, nobody gets it until the operator decides in the policy (a partner cannot take
/// over a domain another one already serves).
pub(crate) fn assign_domains(
    policy: &BTreeMap<String, String>,
    claims: &BTreeMap<String, String>,
    previous: &Routes,
) -> (BTreeMap<String, String>, Vec<(String, String)>) {
    let mut out: BTreeMap<String, String> = policy.clone();
    let mut warnings = Vec::new();
    let taken: BTreeMap<&str, &str> = policy.iter().map(|(id, h)| (h.as_str(), id.as_str())).collect();
    let mut by_host: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (id, host) in claims {
        if policy.contains_key(id) {
            continue;
        }
        by_host.entry(host.as_str()).or_default().insert(id.as_str());
    }
    for (host, ids) in by_host {
        if let Some(owner) = taken.get(host) {
            for id in ids {
                warnings.push((
                    id.to_string(),
                    format!("the domain `{host}` is given to partner `{owner}` by the platform; this site is published under its platform address"),
                ));
            }
            continue;
        }
        let winner = if ids.len() == 1 {
            ids.iter().next().copied()
        } else {
            previous.partner_of(host).filter(|p| ids.contains(p))
        };
        for id in &ids {
            if Some(*id) == winner {
                out.insert(id.to_string(), host.to_string());
            } else {
                let others: Vec<&str> = ids.iter().copied().filter(|o| o != id).collect();
                warnings.push((
                    id.to_string(),
                    format!(
                        "the domain `{host}` is also claimed by {}; {}",
                        others.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", "),
                        match winner {
                            Some(w) => format!("it stays with `{w}`, which it already serves"),
                            None => "nobody gets it until the platform decides (policy `domains`)".to_string(),
                        }
                    ),
                ));
            }
        }
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn policy_wins_and_contested_claims_stay_with_the_site_already_served() {
        let policy = map(&[("acme", "www.acme.fr")]);
        let claims = map(&[
            ("acme", "acme.example"),
            ("thief", "www.acme.fr"),
            ("bea", "bea.fr"),
            ("x", "shared.fr"),
            ("y", "shared.fr"),
        ]);
        let (got, warnings) = assign_domains(&policy, &claims, &Routes::default());
        assert_eq!(got, map(&[("acme", "www.acme.fr"), ("bea", "bea.fr")]));
        let mut who: Vec<&str> = warnings.iter().map(|(id, _)| id.as_str()).collect();
        who.sort();
        assert_eq!(who, vec!["thief", "x", "y"]);
        // With a previous route, the site already served keeps its domain.
        let mut previous = Routes::default();
        previous.merge(&BTreeMap::from([(
            "y".to_string(),
            Route {
                prefix: "sites/y/".into(),
                domains: vec!["shared.fr".into()],
                status: "published".into(),
                ..Default::default()
            },
        )]));
        let (got, warnings) = assign_domains(&policy, &claims, &previous);
        assert_eq!(got.get("y").map(String::as_str), Some("shared.fr"));
        assert!(!got.contains_key("x"));
        assert!(warnings.iter().any(|(id, w)| id == "x" && w.contains("stays with `y`")), "{warnings:?}");
    }

    #[test]
    fn merge_replaces_only_the_partners_given() {
        let route = |p: &str, d: &str, s: &str| Route {
            prefix: format!("sites/{p}/"),
            domains: vec![d.to_string()],
            status: s.into(),
            ..Default::default()
        };
        let mut r = Routes::default();
        r.merge(&BTreeMap::from([
            ("a".to_string(), route("a", "a.site", "published")),
            ("b".into(), route("b", "b.site", "published")),
        ]));
        r.merge(&BTreeMap::from([("b".to_string(), route("b", "b.site", "suspended"))]));
        assert_eq!(r.partners["a"].status, "published");
        assert_eq!(r.partners["b"].status, "suspended");
        assert_eq!(r.domains["a.site"], "sites/a/");
        assert_eq!(Routes::parse(&r.to_bytes()).unwrap(), r);
        assert_eq!(r.partner_of("b.site"), Some("b"));
    }
}
