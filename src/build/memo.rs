//! What `serve` keeps from one build to the next ([`Memo`]): after an edit only the files whose
//! inputs changed are parsed, converted or rendered again. The preview session that holds it is
//! [`crate::build::session::Session`]; the keys are built by the stages.
//!
//! In: the previous build's values and each new build's keys. Out: reused values, byte-identical
//! to what a fresh build makes (tested). A plain `sopixi build` passes [`Memo::off`], which
//! stores nothing and finds nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::output::Body;
use crate::render::i18n::Strings;
use crate::render::templates::{Lookup, Templates};
use crate::site::body::Rendered;
use crate::site::content::Parsed;

/// Values of the previous build, each with the key of what it was made of. A build reuses an
/// entry only when its key is the same.
#[derive(Default)]
pub(crate) struct Memo {
    /// Whether anything is kept at all (`false`: a plain build, every look-up misses).
    pub(crate) active: bool,
    /// Each Markdown file parsed, keyed by its text's hash and the options and configuration.
    pub parsed: HashMap<String, (blake3::Hash, Arc<Parsed>)>,
    /// The templates, keyed by every template text and the configuration.
    pub templates: Option<(blake3::Hash, Templates)>,
    /// Each body's HTML, keyed by its parse key and the Markdown environment.
    pub markdown: HashMap<String, (blake3::Hash, Arc<Rendered>)>,
    /// Each finished file, keyed by the render environment and its whole context value.
    pub files: HashMap<String, (blake3::Hash, Body)>,
    /// Finished files the last build reused instead of rendering them again.
    pub reused: usize,
    /// The share cards each finished file names (a reused file's cards are published again).
    pub cards: HashMap<String, Vec<String>>,
    /// The search index's documents, counted (an edit counts the words of its pages only).
    pub(crate) search: crate::build::search_index::Kept,
    /// Search documents whose words the last build counted.
    pub(crate) search_counted: usize,
}

impl Memo {
    /// A memo that keeps nothing: what a plain build passes.
    pub(crate) fn off() -> Memo {
        Memo::default()
    }

    /// A memo that keeps every build's values for the next one.
    pub(crate) fn on() -> Memo {
        Memo { active: true, ..Memo::default() }
    }
}

/// What the reuse keys of every Markdown body and finished file share — the options, policy,
/// configuration and every template — and whether the templates let them be reused (functions
/// that read beyond the values hashed turn reuse off). Made by the `load` stage when the memo
/// is active.
pub(crate) struct ReuseEnv {
    /// Hash of what is common.
    pub base: blake3::Hasher,
    /// No template calls `load_data`: bodies (shortcodes) may be reused.
    pub(crate) bodies: bool,
    /// Neither `load_data`, `get_page` nor `get_section`: finished files may be reused.
    pub files: bool,
}

impl ReuseEnv {
    /// What every body's key shares: a body's HTML depends on its text and on the environment —
    /// every URL (internal links), templates (shortcodes), the `site` value of each language and
    /// the UI strings. `None` when bodies may not be reused.
    pub(crate) fn bodies_key(
        &self,
        lookup: &Lookup,
        site_values: &[(String, serde_json::Value)],
        strings: &Strings,
    ) -> Option<blake3::Hash> {
        if !self.bodies {
            return None;
        }
        let mut h = self.base.clone();
        let mut urls: Vec<_> = lookup.urls.iter().collect();
        urls.sort();
        for (rel, url) in urls {
            h.update(rel.as_bytes());
            h.update(&[0]);
            h.update(url.as_bytes());
            h.update(&[0]);
        }
        for (l, v) in site_values {
            h.update(l.as_bytes());
            h.update(v.to_string().as_bytes());
        }
        strings.hash_into(&mut h);
        Some(h.finalize())
    }
}

/// A body kept in the memo, with its key.
type BodyEntry = (blake3::Hash, Arc<Rendered>);

/// A body's place in the memo: its id (the file, and the language when not the default one:
/// one file can be shown in two languages) and its key.
pub(crate) struct BodySlot {
    id: String,
    /// What the body is made of (see [`BodyReuse::slot`]).
    pub key: blake3::Hash,
}

/// `serve`'s reuse of converted Markdown bodies during one build's `bodies` stage: the previous
/// build's bodies, and this build's as they are made. In a plain build (no environment key)
/// there is no slot: nothing is found, nothing kept, and no id is made.
pub(crate) struct BodyReuse<'m> {
    env: Option<blake3::Hash>,
    default_lang: &'m str,
    parsed: &'m HashMap<String, (blake3::Hash, Arc<Parsed>)>,
    old: &'m HashMap<String, BodyEntry>,
    new: Mutex<Vec<(String, BodyEntry)>>,
}

impl<'m> BodyReuse<'m> {
    /// Reuse against `memo`, with the environment key of this build's bodies.
    pub(crate) fn new(memo: &'m Memo, env: Option<blake3::Hash>, default_lang: &'m str) -> BodyReuse<'m> {
        BodyReuse { env, default_lang, parsed: &memo.parsed, old: &memo.markdown, new: Mutex::new(Vec::new()) }
    }

    /// The slot of the body of `src` shown in `lang`; `None` in a plain build.
    pub(crate) fn slot(&self, src: &Parsed, lang: &str) -> Option<BodySlot> {
        let env = self.env?;
        let id = if lang == self.default_lang { src.rel.clone() } else { format!("{lang}:{}", src.rel) };
        let mut h = blake3::Hasher::new();
        h.update(env.as_bytes());
        h.update(lang.as_bytes());
        // The body of a file parsed from a known text stands for by that text's key, saving a
        // hash of every body at each build; any other (an implicit section's) by itself.
        match self.parsed.get(&src.rel).filter(|(_, p)| Arc::ptr_eq(&p.body, &src.body)) {
            Some((k, _)) => {
                h.update(b"k");
                h.update(k.as_bytes());
            }
            None => {
                h.update(b"b");
                h.update(&src.body_line.to_le_bytes());
                h.update(src.body.as_bytes());
            }
        }
        Some(BodySlot { id, key: h.finalize() })
    }

    /// The previous build's body for this slot, when its key is the same.
    pub(crate) fn find(&self, slot: Option<&BodySlot>) -> Option<Arc<Rendered>> {
        let slot = slot?;
        self.old.get(&slot.id).filter(|(k, _)| *k == slot.key).map(|(_, r)| r.clone())
    }

    /// Keeps this build's body for the next build.
    pub(crate) fn keep(&self, slot: BodySlot, body: Arc<Rendered>) {
        self.new.lock().unwrap_or_else(|e| e.into_inner()).push((slot.id, (slot.key, body)));
    }

    /// The bodies this build kept.
    pub(crate) fn into_kept(self) -> HashMap<String, BodyEntry> {
        self.new.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().collect()
    }
}
