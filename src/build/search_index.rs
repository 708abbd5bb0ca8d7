//! The site's search index, made from the bodies the build rendered (see `search`): one per
//! language, of the pages and sections a visitor can open and that do not opt out.
//!
//! In: the configuration and the content tree with its rendered bodies. Out: each language's
//! index files and what templates need to name them (`site.search`). Never indexes drafts,
//! withheld pages (they are not in the tree), adult pages (their excerpt would show without the
//! age gate), pages shown from another language (`translation_fallback`), pages with `search:
//! false`, or anything when `site.yaml` says `search: false`.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{json, Value};

use crate::search::{self, Counted, Doc};
use crate::site::body::Rendered;
use crate::site::config::Config;
use crate::site::content::{Content, FrontMatter};

/// The search index of a build.
#[derive(Debug, Default)]
pub(crate) struct SearchIndex {
    /// Site path → bytes, every language's files and the client script.
    pub files: Vec<(String, Vec<u8>)>,
    /// Language → the `site.search` value its templates see.
    pub values: Vec<(String, Value)>,
    /// Documents whose words were counted (the others were kept from the last build).
    pub counted: usize,
}

/// The path part of `base_url` (`https://x.fr/shop/` → `/shop/`): files are named from the
/// site's root, so that a preview host or `serve` fetches them from itself.
fn base_path(base_url: &str) -> String {
    let path = match base_url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => base_url,
    };
    let mut p = path.to_string();
    if !p.starts_with('/') {
        p.insert(0, '/');
    }
    if !p.ends_with('/') {
        p.push('/');
    }
    p
}

fn doc(url: String, front: &FrontMatter, rendered: &Rendered) -> Doc {
    fn headings(h: &[crate::site::body::Heading], out: &mut Vec<String>) {
        for x in h {
            out.push(x.title.clone());
            headings(&x.children, out);
        }
    }
    let mut hs = Vec::new();
    headings(&rendered.toc(), &mut hs);
    Doc {
        url,
        title: front.title.clone().unwrap_or_default(),
        description: front.description.clone().unwrap_or_default(),
        headings: hs,
        tags: front.taxonomies.values().flatten().cloned().collect(),
        text: String::new(),
    }
}

/// The search page's path in `lang` (`/search/`, `/en/search/`).
pub(crate) fn page_path(config: &Config, lang: &str) -> String {
    format!("{}search/", config.language_root(lang))
}

/// The search page's address in `lang`, from the site's root (`/shop/search/`).
pub(crate) fn page_url(config: &Config, lang: &str) -> String {
    format!("{}{}", base_path(&config.site.base_url), page_path(config, lang).trim_start_matches('/'))
}

/// What `serve` keeps of the index from one build to the next: each document with its words
/// counted, by a hash of everything it is made from.
pub(crate) type Kept = HashMap<blake3::Hash, Arc<Counted>>;

/// The document of a page or section, counted: taken from `kept` when nothing it is made of
/// changed (`serve`), else made. The key (a hash of everything the document is made from) is
/// computed only for `serve`; a one-off build has nothing to keep.
fn counted(
    url: String,
    lang: &str,
    front: &FrontMatter,
    rendered: &Rendered,
    kept: Option<&Kept>,
) -> (Option<blake3::Hash>, Arc<Counted>, bool) {
    let Some(kept) = kept else {
        return (None, Arc::new(Counted::from_html(doc(url, front, rendered), &rendered.html(), lang)), true);
    };
    let mut h = blake3::Hasher::new();
    for part in [lang, &url, front.title.as_deref().unwrap_or(""), front.description.as_deref().unwrap_or("")] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    for tag in front.taxonomies.values().flatten() {
        h.update(tag.as_bytes());
        h.update(&[0]);
    }
    h.update(rendered.html().as_bytes());
    let key = h.finalize();
    if let Some(c) = kept.get(&key) {
        return (Some(key), c.clone(), false);
    }
    (Some(key), Arc::new(Counted::from_html(doc(url, front, rendered), &rendered.html(), lang)), true)
}

/// Builds the index of every language of the site (nothing when `search: false`). With `kept`
/// (`serve`), the words of a page are counted again only when the page changed; `kept` is left
/// holding this build's documents.
pub(crate) fn build(config: &Config, content: &Content, kept: Option<&mut Kept>) -> SearchIndex {
    let mut out = SearchIndex::default();
    if !config.site.search {
        return out;
    }
    let base = base_path(&config.site.base_url);
    let (script_path, script) = search::client();
    out.files.push((script_path.clone(), script));
    let wanted = |front: &FrontMatter, adult: bool, fallback: bool| {
        !front.draft && front.search != Some(false) && !adult && !fallback
    };
    let mut now = Kept::new();
    for lang in config.languages() {
        let old = kept.as_deref();
        let url = |path: &str| format!("{base}{}", path.trim_start_matches('/'));
        let mut docs: Vec<(Option<blake3::Hash>, Arc<Counted>, bool)> = content
            .sections
            .par_iter()
            .filter(|s| {
                s.lang == lang && wanted(&s.src.front, s.adult, s.fallback) && !s.rendered.html().trim().is_empty()
            })
            .map(|s| counted(url(&s.path), lang, &s.src.front, &s.rendered, old))
            .collect();
        docs.par_extend(
            content
                .pages
                .par_iter()
                .filter(|p| p.lang == lang && wanted(&p.src.front, p.adult, p.fallback))
                .map(|p| counted(url(&p.path), lang, &p.src.front, &p.rendered, old)),
        );
        let list: Vec<Arc<Counted>> = docs.iter().map(|(_, c, _)| c.clone()).collect();
        let index = search::build_counted(lang, &list);
        out.counted += docs.iter().filter(|d| d.2).count();
        if kept.is_some() {
            now.extend(docs.into_iter().filter_map(|(k, c, _)| Some((k?, c))));
        }
        let value = json!({
            "index": format!("{base}{}", index.manifest),
            "script": format!("{base}{script_path}"),
            "url": page_url(config, lang),
            "lang": lang,
            "pages": index.docs,
        });
        out.files.extend(index.files);
        out.values.push((lang.to_string(), value));
    }
    if let Some(k) = kept {
        *k = now;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_from_the_root_of_the_base_url() {
        assert_eq!(base_path("https://x.fr/"), "/");
        assert_eq!(base_path("https://x.fr/shop"), "/shop/");
        assert_eq!(base_path("https://x.fr"), "/");
        assert_eq!(base_path("/"), "/");
    }
}
