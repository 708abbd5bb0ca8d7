//! The render stage: every page, section listing (paginated), taxonomy and term page, alias (made
//! last, by `statics`, once every other file is known),
//! 404 page, robots.txt, sitemap and feed, rendered with Tera and finished at once.
//!
//! In: the templates, template values and content tree ([`RenderCx`]). Out: finished files with
//! their origins, and every problem found. Rayon work: pages in short runs, site-wide files on a
//! thread of their own.

use rayon::prelude::*;
use serde_json::{json, Value};

use crate::build::finish::{Finish, Job, Rendered};
use crate::output::Body;
use crate::render::templates::{self, Templates, ValueKeys, Values};
use crate::site::config::Config;
use crate::site::content::{self, Content};
use crate::util::diag::{Diagnostic, Origin};

/// What every file of the render stage is rendered with.
#[derive(Clone, Copy)]
pub(crate) struct RenderCx<'a> {
    /// The templates, with the site's functions registered.
    pub tpl: &'a Templates,
    /// Every page's and section's template value.
    pub values: &'a Values,
    /// `serve`: what each value is made of, hashed.
    pub keys: Option<&'a ValueKeys>,
    /// The configuration.
    pub config: &'a Config,
    /// The content tree.
    pub content: &'a Content,
    /// The finish stage.
    pub finish: &'a Finish<'a>,
    /// Each language's search index, as its search page sees it (`search`).
    pub search: &'a [(String, Value)],
}

/// One listing (section or term): its value holds the listed `pages`.
pub(crate) struct Listing<'a> {
    template: &'a str,
    path: &'a str,
    origin: &'a Origin,
    per_page: usize,
    key: &'a str,
    /// How many pages the value lists.
    count: usize,
    /// Makes the value (only when a file of the listing must be rendered).
    value: Box<dyn FnOnce() -> Value + 'a>,
    /// `serve`: stands for the value and `extra` (see [`templates::ValueKeys`]).
    parts: Option<blake3::Hash>,
    extra: Option<(&'a str, Value)>,
    adult: bool,
    /// The language of the listing's tree.
    lang: &'a str,
    /// `<link rel="alternate" hreflang>` of its translations, for the first page.
    head: Option<String>,
}

/// The `<link rel="alternate" hreflang>` tags of a page's translations (those written in their
/// language, not shown from the default one), with `x-default`; `None` without translations.
pub(crate) fn hreflang_links(
    config: &Config,
    count: usize,
    items: impl Iterator<Item = (String, String, bool)>,
) -> Option<String> {
    if count < 2 {
        return None;
    }
    let items: Vec<(String, String)> = items.filter(|(_, _, fallback)| !fallback).map(|(l, p, _)| (l, p)).collect();
    if items.len() < 2 {
        return None;
    }
    let mut out = String::new();
    for (lang, path) in &items {
        out.push_str(&format!(
            "<link rel=\"alternate\" hreflang=\"{lang}\" href=\"{}\">",
            crate::util::text::escape_html(&config.permalink(path))
        ));
    }
    if let Some((_, path)) = items.iter().find(|(l, _)| *l == config.site.language) {
        out.push_str(&format!(
            "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{}\">",
            crate::util::text::escape_html(&config.permalink(path))
        ));
    }
    Some(out)
}

/// Renders a listing, paginated when its template uses `paginator`.
fn render_listing(l: Listing, cx: &RenderCx) -> Vec<Rendered> {
    let RenderCx { tpl, values, config, finish, .. } = *cx;
    let paginate = l.per_page > 0 && tpl.mentions(l.template, "paginator");
    let n_pages = if paginate { l.count.div_ceil(l.per_page).max(1) } else { 1 };
    let base = config.permalink(l.path);
    let mut make = Some(l.value);
    let mut value: Option<Value> = None;
    let mut extra = l.extra;
    let mut items: Vec<Value> = Vec::new();
    let mut out = Vec::with_capacity(n_pages);
    for n in 1..=n_pages {
        let last = n == n_pages;
        let path = if n == 1 { l.path.to_string() } else { format!("{}{}/{n}/", l.path, config.site.pagination.path) };
        let file = format!("{}index.html", path.trim_start_matches('/'));
        let key = l.parts.and_then(|parts| {
            finish.key(l.template, l.adult, &file, |h| {
                h.update(b"listing");
                h.update(&(l.key.len() as u64).to_le_bytes());
                h.update(l.key.as_bytes());
                h.update(parts.as_bytes());
                h.update(&(path.len() as u64).to_le_bytes());
                h.update(path.as_bytes());
                h.update(&[u8::from(paginate)]);
                h.update(&(l.per_page as u64).to_le_bytes());
                h.update(&(n as u64).to_le_bytes());
            })
        });
        if let Some(body) = finish.reused(&file, key, l.adult) {
            out.push(Ok((file, body)));
            continue;
        }
        if value.is_none() {
            value = make.take().map(|f| f());
            if paginate {
                // As in Zola, a paginated listing's pages are in `paginator.pages` only: a copy
                // of all of them in every listing page would make a 2,000-post blog with 10 per
                // page copy 400,000 pages into its 200 contexts.
                if let Some(pages) = value.as_mut().and_then(|v| v.get_mut("pages")) {
                    if let Value::Array(all) = std::mem::replace(pages, Value::Array(Vec::new())) {
                        items = all;
                    }
                }
            }
        }
        let paginator =
            paginate.then(|| templates::paginator(&items, l.per_page, n, &base, &config.site.pagination.path));
        // The last page takes the values; earlier ones get copies.
        let v = if last { value.take().unwrap_or_default() } else { value.clone().unwrap_or_default() };
        let mut entries = vec![(l.key, v)];
        if let Some((k, e)) = if last { extra.take() } else { extra.clone() } {
            entries.push((k, e));
        }
        if let Some(p) = paginator {
            entries.push(("paginator", p));
        }
        let ctx = || templates::context_value(values, config, l.lang, &path, entries);
        let head = if n == 1 { l.head.clone() } else { None };
        let job = Job { template: l.template, key, origin: l.origin, path: file, adult: l.adult, lang: l.lang, head };
        // The listed pages are markers, made as the template reaches them.
        out.push(values.lazy_scope(|| finish.render_keyed(tpl, job, ctx)));
    }
    out
}

/// Renders every HTML page and generated file: (site path, finished bytes, origin).
pub(crate) fn render_all(cx: &RenderCx, progress: bool, errors: &mut Vec<Diagnostic>) -> Vec<(String, Body, Origin)> {
    let content = cx.content;
    let bar = crate::util::progress::bar(
        progress && content.pages.len() >= 2000,
        content.pages.len() as u64,
        "{bar:30} {pos}/{len} pages",
    );
    // The site-wide files (taxonomies, 404, robots.txt, sitemap, feeds) are rendered
    // by one thread while the others render sections and pages: most of them are single files,
    // which rendered last would leave the other cores idle.
    let ((sections, pages), site_files) = rayon::join(|| render_pages(cx, &bar), || render_site_files(cx));
    bar.finish_and_clear();
    let mut out: Vec<(String, Body, Origin)> = Vec::new();
    let mut push = |r: Rendered, origin: &Origin, out: &mut Vec<(String, Body, Origin)>| match r {
        Ok((p, h)) => out.push((p, h, origin.clone())),
        Err(d) => errors.push(d),
    };
    for (rs, origin) in sections {
        for r in rs {
            push(r, &origin, &mut out);
        }
    }
    for (r, origin) in pages {
        push(r, &origin, &mut out);
    }
    for (r, origin) in site_files {
        push(r, &origin, &mut out);
    }
    out
}

/// Most pages one rayon task renders in a row. Rayon splits a loop into a few long runs and
/// splits further only when a thread steals: the last run of a loop can then keep one core busy
/// alone for a tenth of the stage while the other waits. Short runs keep both busy to the end.
pub(crate) const LEAF_PAGES: usize = 8;

/// A rendered file, or why not, and what it was rendered from.
pub(crate) type FromOrigin = (Rendered, Origin);

/// Sections (paginated when their template uses `paginator`) and pages.
fn render_pages(cx: &RenderCx, bar: &indicatif::ProgressBar) -> (Vec<(Vec<Rendered>, Origin)>, Vec<FromOrigin>) {
    let RenderCx { tpl, values, keys, config, content, finish, .. } = *cx;
    // Sections first: the home page's listing of every page is the biggest transient value,
    // best made while little output is held yet.
    let sections: Vec<(Vec<Rendered>, Origin)> = content
        .sections
        .par_iter()
        .with_max_len(1)
        .enumerate()
        .map(|(i, s)| {
            let origin = Origin::from(content::diag_path(&s.src.rel));
            let default = if s.parent.is_none() { "index.html" } else { "section.html" };
            let name = s.src.front.template.as_deref().unwrap_or(default);
            if !tpl.has(name) {
                return (vec![Err(missing_template(name, &origin))], origin);
            }
            let listing = Listing {
                template: name,
                path: &s.path,
                origin: &origin,
                per_page: s.src.front.paginate_by.unwrap_or(config.site.pagination.per_page),
                key: "section",
                count: s.pages.len(),
                value: Box::new(move || values.section_full(content, i)),
                parts: keys.map(|k| k.section_full[i]),
                extra: None,
                adult: s.adult,
                lang: &s.lang,
                head: hreflang_links(
                    config,
                    s.translations.len(),
                    s.translations.iter().map(|&t| {
                        let t = &content.sections[t];
                        (t.lang.clone(), t.path.clone(), t.fallback)
                    }),
                ),
            };
            (render_listing(listing, cx), origin)
        })
        .collect();
    let pages: Vec<FromOrigin> = content
        .pages
        .par_iter()
        .with_max_len(LEAF_PAGES)
        .enumerate()
        .map(|(i, p)| {
            let origin = Origin::from(content::diag_path(&p.src.rel));
            let name = p.src.front.template.as_deref().unwrap_or("page.html");
            let r = if !tpl.has(name) {
                Err(missing_template(name, &origin))
            } else {
                let ctx =
                    || templates::context_value(values, config, &p.lang, &p.path, vec![("page", values.page_full(i))]);
                let file = format!("{}index.html", p.path.trim_start_matches('/'));
                let key = keys.and_then(|k| {
                    finish.key(name, p.adult, &file, |h| {
                        h.update(b"page");
                        h.update(&(p.path.len() as u64).to_le_bytes());
                        h.update(p.path.as_bytes());
                        h.update(k.full[i].as_bytes());
                    })
                });
                let head = hreflang_links(
                    config,
                    p.translations.len(),
                    p.translations.iter().map(|&t| {
                        let t = &content.pages[t];
                        (t.lang.clone(), t.path.clone(), t.fallback)
                    }),
                );
                let job = Job { template: name, key, origin: &origin, path: file, adult: p.adult, lang: &p.lang, head };
                finish.render_keyed(tpl, job, ctx)
            };
            bar.inc(1);
            (r, origin)
        })
        .collect();
    (sections, pages)
}

/// Taxonomy list and term pages, the 404 page, robots.txt, the sitemap and feeds (aliases are
/// made after every other file, see [`alias_files`]).
fn render_site_files(cx: &RenderCx) -> Vec<FromOrigin> {
    let mut out: Vec<FromOrigin> = Vec::new();
    let sitemap_extra = taxonomy_files(cx, &mut out);
    single_files(cx, sitemap_extra, &mut out);
    feed_files(cx, &mut out);
    out
}

fn push(r: Rendered, origin: &Origin, out: &mut Vec<FromOrigin>) {
    out.push((r, origin.clone()));
}

/// Taxonomies: a list page and a page per term (paginated); the sitemap entries of their pages.
fn taxonomy_files(cx: &RenderCx, out: &mut Vec<FromOrigin>) -> Vec<Value> {
    let RenderCx { tpl, values, keys, config, content, finish, .. } = *cx;
    let mut sitemap_extra: Vec<Value> = Vec::new();
    for tax in &content.taxonomies {
        let tax_path = tax.path.clone();
        let lang = tax.lang.as_str();
        let origin = Origin::output(format!("taxonomy `{}`", tax.name));
        // The list page names the terms; each term's page lists its pages.
        let term_info = |t: &content::Term| {
            let path = format!("{tax_path}{}/", t.slug);
            let permalink = config.permalink(&path);
            json!({"name": t.name, "slug": t.slug, "path": path, "permalink": permalink, "count": t.pages.len()})
        };
        let terms: Vec<Value> = tax.terms.iter().map(term_info).collect();
        let tax_value = json!({"name": tax.name, "path": tax_path, "permalink": config.permalink(&tax_path)});
        let mut list_value = tax_value.clone();
        list_value["terms"] = Value::Array(terms.clone());
        let ctx = templates::context_value(values, config, lang, &tax_path, vec![("taxonomy", list_value)]);
        let file = format!("{}index.html", tax_path.trim_start_matches('/'));
        push(finish.render(tpl, "taxonomy.html", ctx, &origin, file, lang), &origin, out);
        sitemap_extra.push(json!({"permalink": config.permalink(&tax_path)}));
        let rendered: Vec<Vec<Rendered>> = tax
            .terms
            .par_iter()
            .with_max_len(1)
            .map(|t| {
                let info = term_info(t);
                let parts = keys.map(|k| {
                    let mut h = blake3::Hasher::new();
                    templates::hash_value(&mut h, &info);
                    h.update(&(t.pages.len() as u64).to_le_bytes());
                    for &p in &t.pages {
                        h.update(k.light[p].as_bytes());
                    }
                    templates::hash_value(&mut h, &tax_value);
                    h.finalize()
                });
                let value = move || {
                    let mut value = info;
                    value["pages"] = Value::Array(t.pages.iter().map(|&p| Values::listed_marker(p)).collect());
                    value
                };
                let path = format!("{tax_path}{}/", t.slug);
                let listing = Listing {
                    template: "term.html",
                    path: &path,
                    origin: &origin,
                    per_page: config.site.pagination.per_page,
                    key: "term",
                    count: t.pages.len(),
                    value: Box::new(value),
                    parts,
                    extra: Some(("taxonomy", tax_value.clone())),
                    adult: false,
                    lang,
                    head: None,
                };
                render_listing(listing, cx)
            })
            .collect();
        for rs in rendered {
            for r in rs {
                push(r, &origin, out);
            }
        }
        for term in &terms {
            sitemap_extra.push(json!({"permalink": term["permalink"]}));
        }
    }

    sitemap_extra
}

/// One alias to make: a redirect page at an old URL.
pub(crate) struct Alias {
    /// The output file (`old-page/index.html`).
    file: String,
    /// The alias as written.
    alias: String,
    /// Where it redirects to.
    target: String,
    /// The file that declares it.
    origin: Origin,
    /// Its line there.
    line: Option<usize>,
    /// The language of the page it redirects to.
    lang: String,
}

/// Aliases found, not yet rendered: problems of each, and the pages to make.
pub(crate) struct Aliases {
    /// Redirect pages to render, in path order of the files that declare them.
    pub wanted: Vec<Alias>,
    /// Aliases that are not paths of the site.
    pub errors: Vec<Diagnostic>,
}

/// Every alias of every page and section, in path order of their files. An alias that is the
/// page's own URL is dropped (Hugo and Zola users write them); one that is not a path of the
/// site is an error.
pub(crate) fn aliases(config: &Config, content: &Content) -> Aliases {
    // A page shown from the default language in another does not declare its aliases again.
    let mut sources: Vec<(&content::Parsed, &String, &String)> = content
        .pages
        .iter()
        .filter(|p| !p.fallback)
        .map(|p| (&p.src, &p.path, &p.lang))
        .chain(content.sections.iter().filter(|s| !s.fallback).map(|s| (&s.src, &s.path, &s.lang)))
        .collect();
    sources.sort_by(|a, b| a.0.rel.cmp(&b.0.rel));
    let mut out = Aliases { wanted: Vec::new(), errors: Vec::new() };
    for (src, target_path, lang) in sources {
        let own = format!("{}index.html", target_path.trim_start_matches('/'));
        for (k, alias) in src.front.aliases.iter().enumerate() {
            let origin = Origin::from(content::diag_path(&src.rel));
            let line = src.front.alias_lines.get(k).copied().flatten();
            let a = alias.trim_start_matches('/');
            if a.is_empty() || a.split('/').any(|seg| seg == ".." || seg == ".") || alias.contains("://") {
                out.errors.push(
                    Diagnostic::new(&origin, format!("alias `{alias}` is not a path of this site"))
                        .at(line, None)
                        .hint("aliases are old paths of the site, e.g. /old-page/ or /old.html"),
                );
                continue;
            }
            let lower = a.to_ascii_lowercase();
            let file = if lower.ends_with(".html") || lower.ends_with(".htm") {
                a.to_string()
            } else {
                format!("{}/index.html", a.trim_end_matches('/'))
            };
            if file == own {
                continue;
            }
            out.wanted.push(Alias {
                file,
                alias: alias.clone(),
                target: config.permalink(target_path),
                origin,
                line,
                lang: lang.clone(),
            });
        }
    }
    out
}

/// Renders the redirect pages of `wanted` whose file no other output has (`taken`): an alias
/// that collides with a real page, section or file loses to it, and of two aliases on one URL
/// the first in path order wins; each loser is a warning naming its line.
pub(crate) fn alias_files(
    cx: &RenderCx,
    wanted: Vec<Alias>,
    taken: impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<Diagnostic>,
    redirects: &mut Vec<(String, String)>,
) -> Vec<FromOrigin> {
    let RenderCx { tpl, values, config, finish, .. } = *cx;
    let mut out = Vec::new();
    let mut made: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for Alias { file, alias, target, origin, line, lang } in wanted {
        let other = taken(&file).or_else(|| made.get(&file).cloned());
        if let Some(other) = other {
            warnings.push(
                Diagnostic::new(&origin, format!("alias `{alias}` is also the URL of {other}; the alias is left out"))
                    .at(line, None)
                    .hint("remove the alias, or move the page that holds that URL"),
            );
            continue;
        }
        made.insert(file.clone(), format!("an alias of {origin}"));
        let path = format!("/{}", file.strip_suffix("index.html").unwrap_or(&file));
        redirects.push((path.clone(), url_path(&target)));
        let ctx = templates::context_value(values, config, &lang, &path, vec![("target", Value::String(target))]);
        push(finish.render(tpl, "alias.html", ctx, &origin, file, &lang), &origin, &mut out);
    }
    out
}

/// The path of a permalink (`https://host/a/b/` → `/a/b/`); a path stays as it is.
fn url_path(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or_else(|| "/".to_string(), |i| rest[i..].to_string()),
        None => url.to_string(),
    }
}

/// Each language's search page (`/search/`, `/LANG/search/`) from the theme's `search.html`,
/// with `search` (the index's address, the client script's, the page's own) in its context. A
/// page or section of the site at that address keeps it.
pub(crate) fn search_pages(cx: &RenderCx, out: &mut Vec<FromOrigin>) {
    let RenderCx { tpl, values, config, content, finish, search, .. } = *cx;
    for (lang, value) in search {
        let path = crate::build::search_index::page_path(config, lang);
        let taken = content.pages.iter().any(|p| p.path == path) || content.sections.iter().any(|s| s.path == path);
        if taken || !tpl.has("search.html") {
            continue;
        }
        let file = format!("{}index.html", path.trim_start_matches('/'));
        let ctx = templates::context_value(values, config, lang, &path, vec![("search", value.clone())]);
        let origin = Origin::output("search page");
        push(finish.render(tpl, "search.html", ctx, &origin, file, lang), &origin, out);
    }
}

/// The 404 page, robots.txt, the sitemap (with each page's translations as `hreflang`
/// alternates) and, when the default language has its own folder, the root page that sends
/// visitors to their language.
fn single_files(cx: &RenderCx, sitemap_extra: Vec<Value>, out: &mut Vec<FromOrigin>) {
    let RenderCx { tpl, values, config, content, finish, .. } = *cx;
    let default = config.site.language.as_str();
    let ctx = templates::context_value(values, config, default, "/404.html", vec![]);
    let origin = Origin::output("404 page");
    push(finish.render(tpl, "404.html", ctx, &origin, "404.html".into(), default), &origin, out);
    let ctx = templates::context_value(values, config, default, "/robots.txt", vec![]);
    let origin = Origin::output("robots.txt");
    push(finish.render(tpl, "robots.txt", ctx, &origin, "robots.txt".into(), default), &origin, out);
    if config.language_root(default) != "/" {
        let languages: Vec<Value> =
            content.languages.iter().map(|l| json!({"code": l.lang, "permalink": config.permalink(&l.root)})).collect();
        let target = config.permalink(&config.language_root(default));
        let entries = vec![("target", Value::String(target)), ("languages", Value::Array(languages))];
        let ctx = templates::context_value(values, config, default, "/", entries);
        let origin = Origin::output("language choice page");
        push(finish.render(tpl, "language.html", ctx, &origin, "index.html".into(), default), &origin, out);
    }

    let lastmod = |f: &content::FrontMatter| {
        f.updated.as_ref().or(f.date.as_ref()).map(|d| d.instant.format("%Y-%m-%d").to_string())
    };
    let alternates = |items: Vec<(String, String, bool)>| -> Value {
        let written: Vec<Value> = items
            .iter()
            .filter(|(_, _, fallback)| !fallback)
            .map(|(l, p, _)| json!({"lang": l, "permalink": config.permalink(p)}))
            .collect();
        if written.len() < 2 {
            Value::Array(Vec::new())
        } else {
            Value::Array(written)
        }
    };
    let mut entries: Vec<Value> = content
        .sections
        .iter()
        .map(|s| {
            let alt = alternates(
                s.translations
                    .iter()
                    .map(|&t| {
                        (
                            content.sections[t].lang.clone(),
                            content.sections[t].path.clone(),
                            content.sections[t].fallback,
                        )
                    })
                    .collect(),
            );
            json!({"permalink": config.permalink(&s.path), "lastmod": lastmod(&s.src.front), "alternates": alt})
        })
        .chain(content.pages.iter().map(|p| {
            let alt = alternates(
                p.translations
                    .iter()
                    .map(|&t| (content.pages[t].lang.clone(), content.pages[t].path.clone(), content.pages[t].fallback))
                    .collect(),
            );
            json!({"permalink": config.permalink(&p.path), "lastmod": lastmod(&p.src.front), "alternates": alt})
        }))
        .chain(sitemap_extra)
        .collect();
    entries.sort_by(|a, b| a["permalink"].as_str().cmp(&b["permalink"].as_str()));
    let ctx =
        templates::context_value(values, config, default, "/sitemap.xml", vec![("entries", Value::Array(entries))]);
    let origin = Origin::output("sitemap");
    push(finish.render(tpl, "sitemap.xml", ctx, &origin, "sitemap.xml".into(), default), &origin, out);
}

/// The Atom and RSS feeds of each language: its latest dated pages (`/atom.xml`, `/en/atom.xml`).
fn feed_files(cx: &RenderCx, out: &mut Vec<FromOrigin>) {
    for tree in &cx.content.languages {
        language_feeds(cx, tree, out);
    }
}

fn language_feeds(cx: &RenderCx, tree: &content::LanguageTree, out: &mut Vec<FromOrigin>) {
    let RenderCx { tpl, values, keys, config, content, finish, .. } = *cx;
    let mut dated: Vec<usize> =
        tree.pages.iter().copied().filter(|&i| content.pages[i].src.front.date.is_some()).collect();
    dated.sort_by(|&a, &b| {
        let d = |i: usize| content.pages[i].src.front.date.as_ref().map(|d| d.instant);
        d(b).cmp(&d(a)).then_with(|| content.pages[a].src.rel.cmp(&content.pages[b].src.rel))
    });
    dated.truncate(config.site.feeds.limit);
    let mut feed_pages: Option<Vec<Value>> = None;
    let feed = Origin::output("feed");
    let last_updated = dated
        .iter()
        .filter_map(|&i| {
            let f = &content.pages[i].src.front;
            f.updated.as_ref().or(f.date.as_ref()).map(|d| d.instant)
        })
        .max()
        .map_or_else(|| "1970-01-01T00:00:00+00:00".to_string(), |d| d.to_rfc3339());
    let lang = tree.lang.as_str();
    let feeds = [(config.site.feeds.atom, "atom.xml"), (config.site.feeds.rss, "rss.xml")];
    let last = feeds.iter().rposition(|f| f.0);
    // Both feeds escape the same pages' content: the second finds it escaped.
    crate::util::text::with_escape_memo(|| {
        for (n, (enabled, name)) in feeds.into_iter().enumerate() {
            if enabled {
                let current = format!("{}{name}", tree.root);
                let file = current.trim_start_matches('/').to_string();
                let feed_url = config.permalink(&current);
                let key = keys.and_then(|k| {
                    finish.key(name, false, &file, |h| {
                        h.update(b"feed");
                        h.update(&(current.len() as u64).to_le_bytes());
                        h.update(current.as_bytes());
                        h.update(&(dated.len() as u64).to_le_bytes());
                        for &i in &dated {
                            h.update(k.full[i].as_bytes());
                        }
                        h.update(&(feed_url.len() as u64).to_le_bytes());
                        h.update(feed_url.as_bytes());
                        h.update(last_updated.as_bytes());
                    })
                });
                let ctx = || {
                    // The pages' values (their whole content) are made once for both feeds; the last
                    // feed takes them rather than copying them.
                    let make = || dated.iter().map(|&i| values.page_full(i)).collect::<Vec<Value>>();
                    let pages = if Some(n) == last {
                        feed_pages.take().unwrap_or_else(make)
                    } else {
                        feed_pages.get_or_insert_with(make).clone()
                    };
                    let entries = vec![
                        ("pages", Value::Array(pages)),
                        ("feed_url", Value::String(feed_url)),
                        ("last_updated", Value::String(last_updated.clone())),
                    ];
                    templates::context_value(values, config, lang, &current, entries)
                };
                let job = Job { template: name, key, origin: &feed, path: file, adult: false, lang, head: None };
                push(finish.render_keyed(tpl, job, ctx), &feed, out);
            }
        }
    });
}

fn missing_template(name: &str, origin: &Origin) -> Diagnostic {
    Diagnostic::new(origin, format!("missing template `{name}`"))
        .hint("add it to templates/ in the site or to the theme, or fix the `template` front matter key")
}
