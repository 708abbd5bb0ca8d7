//! The shared engine: what every build reuses instead of loading it again — the platform policy,
//! the parsed built-in templates, the syntax highlighter and the image-header cache.
//!
//! In: the operator's [`Policy`]. Out: an [`Engine`] that builds take by reference, so that
//! `serve`'s rebuilds and a platform run of thousands of sites parse nothing twice (the template
//! sets of a platform's themes are kept parsed, keyed by their sources). Holds no
//! site's state: two builds of different sites may share one engine at the same time.

use std::sync::Arc;

use crate::images::HeaderCache;
use crate::policy::Policy;
use crate::render::highlight::Highlighter;
use crate::render::templates::{Builtins, Templates};

/// What builds share (cheap to clone: every part is behind an `Arc`).
#[derive(Clone)]
pub struct Engine {
    /// The platform policy every page is finished and checked under.
    pub policy: Arc<Policy>,
    /// A hash standing for the policy, for fingerprints and reuse keys.
    pub(crate) policy_key: blake3::Hash,
    /// Syntaxes, loaded once, on first use.
    pub highlighter: Arc<Highlighter>,
    /// The built-in templates, parsed.
    pub(crate) builtins: Arc<Builtins>,
    /// Image headers already read, by absolute path.
    pub(crate) image_headers: Arc<HeaderCache>,
    /// Template sets already parsed (built-ins, theme, site overrides), by a hash of their
    /// sources: a platform run of many partners on one theme parses it once.
    pub parsed: Arc<ParsedTemplates>,
}

/// Parsed template sets by the hash of their sources (at most `ParsedTemplates::MAX`).
#[derive(Default)]
pub struct ParsedTemplates(std::sync::Mutex<Vec<(blake3::Hash, Templates)>>);

impl ParsedTemplates {
    /// Sets kept: a platform's catalog themes, not every partner's own overrides.
    pub(crate) const MAX: usize = 64;

    /// A copy of the set parsed from sources of hash `key`, if there is one.
    pub fn get(&self, key: &blake3::Hash) -> Option<Templates> {
        let list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().find(|(k, _)| k == key).map(|(_, t)| t.clone())
    }

    /// Keeps `tpl` (parsed from sources of hash `key`), while there is room.
    pub fn put(&self, key: blake3::Hash, tpl: &Templates) {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() < Self::MAX && !list.iter().any(|(k, _)| *k == key) {
            list.push((key, tpl.clone()));
        }
    }
}

impl Engine {
    /// An engine for builds under `policy`.
    pub fn new(policy: Policy) -> Engine {
        let policy_key = policy.render_key();
        Engine {
            policy: Arc::new(policy),
            policy_key,
            highlighter: Arc::default(),
            builtins: Arc::new(Builtins::parse()),
            image_headers: Arc::default(),
            parsed: Arc::default(),
        }
    }
}

impl Default for Engine {
    /// An engine under the built-in policy.
    fn default() -> Engine {
        Engine::new(Policy::default())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("policy", &self.policy).finish_non_exhaustive()
    }
}
