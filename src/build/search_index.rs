//! The site's search index, made from the bodies the build rendered (see `search`): one per
//! language, of the pages and sections a visitor can open and that do not opt out.
//!
//! In: the configuration and the content tree with its rendered bodies. Out: each language's
//! index files and what templates need to name them (`site.search`). Never indexes drafts,
//! withheld pages (they are not in the tree), adult pages (their excerpt would show without the
//! age gate), pages shown from another language (`translation_fallback`), pages with `search:
//! false`, or anything when `site.yaml` says `search: false`.

use rayon::prelude::*;
use serde_json::{json, Value};

use crate::search::{self, Doc};
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
    headings(&rendered.toc, &mut hs);
    Doc {
        url,
        title: front.title.clone().unwrap_or_default(),
        description: front.description.clone().unwrap_or_default(),
        headings: hs,
        tags: front.taxonomies.values().flatten().cloned().collect(),
        text: search::text_of(&rendered.html),
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

/// Builds the index of every language of the site (nothing when `search: false`).
pub(crate) fn build(config: &Config, content: &Content) -> SearchIndex {
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
    for lang in config.languages() {
        let mut docs: Vec<Doc> = content
            .sections
            .par_iter()
            .filter(|s| {
                s.lang == lang && wanted(&s.src.front, s.adult, s.fallback) && !s.rendered.html.trim().is_empty()
            })
            .map(|s| doc(format!("{base}{}", s.path.trim_start_matches('/')), &s.src.front, &s.rendered))
            .collect();
        docs.par_extend(
            content
                .pages
                .par_iter()
                .filter(|p| p.lang == lang && wanted(&p.src.front, p.adult, p.fallback))
                .map(|p| doc(format!("{base}{}", p.path.trim_start_matches('/')), &p.src.front, &p.rendered)),
        );
        let index = search::build(lang, &docs);
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
