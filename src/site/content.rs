//! Content: the pages and sections of `content/`, their front matter, URLs and order.
//!
//! In: the text of each Markdown file and the names of the other files under `content/` (read by
//! `build`). Out: a [`Content`] tree — sections, pages, page bundles and their assets, taxonomies —
//! or every problem found, each naming the file and line. Pure: no IO, no threads (the caller
//! parses and renders in parallel with [`parse`] and `render::body::render_body`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use crate::site::body::Rendered;
use crate::site::config::{Config, FRONT_MATTER_KEYS};
use crate::util::diag::{did_you_mean, Diagnostic};
use crate::util::money::{parse_cents, Cents};
use crate::util::text::{humanize, slugify};
use crate::util::yaml;
use crate::util::yaml::{key_line, yaml_diagnostic};

#[derive(Deserialize, Default)]
struct RawFront {
    title: Option<String>,
    description: Option<String>,
    date: Option<yaml::Value>,
    updated: Option<yaml::Value>,
    draft: Option<bool>,
    slug: Option<String>,
    weight: Option<i64>,
    template: Option<String>,
    aliases: Option<Vec<String>>,
    adult: Option<bool>,
    search: Option<bool>,
    extra: Option<yaml::Value>,
    price: Option<yaml::Value>,
    currency: Option<String>,
    buy_url: Option<String>,
    sort_by: Option<String>,
    paginate_by: Option<usize>,
    #[serde(flatten)]
    rest: BTreeMap<String, yaml::Value>,
}

/// A date from front matter, with the text it is shown as.
#[derive(Debug, Clone, PartialEq)]
pub struct Date {
    /// The instant (midnight UTC for a plain date).
    pub(crate) instant: DateTime<FixedOffset>,
    /// `2025-03-01` for a plain date, RFC 3339 otherwise.
    pub text: String,
}

/// How a section orders its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// By weight (smallest first), then date (newest first), then title.
    #[default]
    Auto,
    /// Newest first.
    Date,
    /// Smallest weight first.
    Weight,
    /// Alphabetical.
    Title,
}

/// A page's terms in each taxonomy (`tags: [a, b]`), by taxonomy name: a sorted list, not a map
/// (a `BTreeMap` allocates a node of ~550 bytes for its first entry: 55 MB on a site of 100,000
/// tagged pages).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Terms(Vec<(String, Vec<String>)>);

impl Terms {
    /// The terms of taxonomy `name`.
    pub fn get(&self, name: &str) -> Option<&Vec<String>> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)).ok().map(|i| &self.0[i].1)
    }

    /// Sets the terms of taxonomy `name`.
    pub fn insert(&mut self, name: String, mut terms: Vec<String>) {
        terms.shrink_to_fit();
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&name)) {
            Ok(i) => self.0[i].1 = terms,
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (name, terms));
            }
        }
    }

    /// Every taxonomy's terms, by taxonomy name.
    pub fn values(&self) -> impl Iterator<Item = &Vec<String>> {
        self.0.iter().map(|(_, v)| v)
    }
}

impl std::ops::Index<&str> for Terms {
    type Output = Vec<String>;

    fn index(&self, name: &str) -> &Vec<String> {
        self.get(name).unwrap_or_else(|| panic!("no taxonomy `{name}`"))
    }
}

/// Validated front matter.
#[derive(Debug, Clone, Default)]
pub struct FrontMatter {
    /// Page title.
    pub title: Option<String>,
    /// Short description (meta description, listings).
    pub description: Option<String>,
    /// Publication date.
    pub date: Option<Date>,
    /// Last update.
    pub updated: Option<Date>,
    /// Excluded from builds unless `--drafts`.
    pub draft: bool,
    /// Last URL segment, instead of one made from the file name.
    pub slug: Option<String>,
    /// Order in listings, smallest first.
    pub weight: Option<i64>,
    /// Template to render with instead of the default.
    pub template: Option<String>,
    /// Old URLs that redirect here.
    pub aliases: Vec<String>,
    /// The line of each alias in the file, for messages.
    pub(crate) alias_lines: Vec<Option<usize>>,
    /// Adult content (age gate); inherited from sections when unset.
    pub adult: Option<bool>,
    /// The line of `adult:` in the file, for messages.
    pub(crate) adult_line: Option<usize>,
    /// `search: false`: left out of the site's search index.
    pub search: Option<bool>,
    /// Free-form values for templates.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Shop: the price in cents (`util::money`: integer cents everywhere, never floating point).
    pub price: Option<Cents>,
    /// Shop: ISO 4217 currency code.
    pub(crate) currency: Option<String>,
    /// Shop: link to the partner's payment provider.
    pub(crate) buy_url: Option<String>,
    /// Sections: order of pages.
    pub sort_by: SortBy,
    /// Sections: pages per listing page, instead of `pagination.per_page`.
    pub paginate_by: Option<usize>,
    /// Terms per configured taxonomy (`tags: [a, b]`).
    pub taxonomies: Terms,
}

/// A parsed Markdown file, before it takes its place in the tree.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Path under `content/`, with `/` separators (`blog/hello.md`).
    pub rel: String,
    /// The file's path without its language (`blog/hello.en.md` → `blog/hello.md`): what its
    /// place in the tree is made from, and what its translations share.
    pub key: String,
    /// The language its content is written in (`about.en.md` → `en`; no suffix: the default).
    pub lang: String,
    /// Front matter.
    pub front: FrontMatter,
    /// Markdown after the front matter (shared: `serve` keeps it from one build to the next).
    /// Empty while the body is `deferred`.
    pub body: Arc<String>,
    /// 1-based line of the file where `body` starts.
    pub(crate) body_line: usize,
    /// Where the body waits when a big site's build moved it out of memory until it is
    /// converted: on a site of 100,000 pages the sources would hold ~500 MB for the whole first
    /// half of the build (`build::gather`).
    pub(crate) deferred: Option<crate::util::spill::Span>,
}

/// Where the body of Markdown file `text` starts, as [`parse`] splits it (`None` when its front
/// matter is not closed: such a file is parsed whole).
pub(crate) fn body_start(text: &str) -> Option<usize> {
    let bom = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    split_front_matter(&text[bom..]).ok().map(|(_, body, _)| text.len() - body.len())
}

/// The diagnostic path of a content file.
pub(crate) fn diag_path(rel: &str) -> String {
    format!("content/{rel}")
}

/// Splits front matter from a Markdown file and validates it. Always returns a usable file (with
/// default front matter where it is broken) so that the rest of the site can still be checked,
/// plus the problems found.
pub fn parse(rel: &str, text: String, config: &Config) -> (Parsed, Vec<Diagnostic>) {
    let file = diag_path(rel);
    let (key, lang, lang_error) = language_of(rel, config);
    let bom = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let (front, errors, body_start, body_line) = match split_front_matter(&text[bom..]) {
        Ok((yaml_text, body, body_line)) => {
            let (front, errors) = match yaml_text {
                Some(y) if !y.trim().is_empty() => parse_front(&file, y, config),
                _ => (FrontMatter::default(), Vec::new()),
            };
            (front, errors, text.len() - body.len(), body_line)
        }
        Err(d) => (FrontMatter::default(), vec![d.clone_with_file(&file)], text.len(), 1),
    };
    let errors = lang_error.into_iter().chain(errors).collect();
    // The body keeps the file's own buffer: 10,000 pages are not copied once more.
    let mut body = text;
    body.drain(..body_start);
    (Parsed { rel: rel.to_string(), key, lang, front, body: Arc::new(body), body_line, deferred: None }, errors)
}

/// A content file's translation key and language: `about.en.md` is `about.md` in `en` when the
/// site has that language; a file without a language suffix (or with the default's) is in the
/// default language. In a multilingual site, a two-letter suffix the site does not list is an
/// error (a translation that would otherwise be published as a page of its own).
pub(crate) fn language_of(rel: &str, config: &Config) -> (String, String, Option<Diagnostic>) {
    let default = config.site.language.clone();
    let plain = (rel.to_string(), default.clone(), None);
    let Some(stem) = rel.strip_suffix(".md") else { return plain };
    let name_start = stem.rfind('/').map_or(0, |i| i + 1);
    let Some(dot) = stem.rfind('.').filter(|&d| d > name_start) else { return plain };
    let code = &stem[dot + 1..];
    let key = format!("{}.md", &stem[..dot]);
    if code == default || code == default.split('-').next().unwrap_or("") {
        return (key, default, None);
    }
    if config.site.languages.contains_key(code) {
        return (key, code.to_string(), None);
    }
    if config.multilingual() && code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase()) {
        let listed: Vec<&str> = config.languages();
        let d = Diagnostic::new(diag_path(rel), format!("`{code}` is not a language of this site")).hint(format!(
            "add `{code}` under `languages:` in site.yaml, or rename the file (languages: {})",
            listed.join(", ")
        ));
        return (rel.to_string(), default, Some(d));
    }
    plain
}

trait WithFile {
    fn clone_with_file(&self, file: &str) -> Diagnostic;
}
impl WithFile for Diagnostic {
    fn clone_with_file(&self, file: &str) -> Diagnostic {
        Diagnostic { origin: file.into(), ..self.clone() }
    }
}

fn split_front_matter(text: &str) -> Result<(Option<&str>, &str, usize), Diagnostic> {
    let first_end = text.find('\n').map_or(text.len(), |i| i + 1);
    if text[..first_end].trim_end() != "---" {
        return Ok((None, text, 1));
    }
    let mut pos = first_end;
    let mut line = 2;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        if text[pos..end].trim_end() == "---" {
            return Ok((Some(&text[first_end..pos]), &text[end..], line + 1));
        }
        pos = end;
        line += 1;
    }
    Err(Diagnostic::new("", "front matter is not closed")
        .at(Some(1), Some(1))
        .hint("end the front matter with a line holding only `---`"))
}

/// A front matter `price` (a YAML number or a decimal string) in cents, exactly: `4.50` is 450.
fn price_cents(v: &yaml::Value) -> Result<Cents, String> {
    let text = match v {
        yaml::Value::Number(n) => n.to_string(),
        yaml::Value::String(s) => s.clone(),
        _ => return Err("must be an amount such as 12.50".into()),
    };
    parse_cents(&text)
}

fn parse_front(file: &str, y: &str, config: &Config) -> (FrontMatter, Vec<Diagnostic>) {
    let raw: Result<RawFront, _> = yaml::from_str(y).map_err(|e| {
        let mut d = yaml_diagnostic(file, e, 1);
        if d.line.is_none() {
            // Type errors inside flattened maps lose their position: find the key named.
            if let Some(key) = FRONT_MATTER_KEYS.iter().find(|k| d.message.contains(&format!("`{k}`"))) {
                d.line = key_line(y, key).map(|l| u32::try_from(l + 1).unwrap_or(u32::MAX));
            }
        }
        vec![d]
    });
    let raw = match raw {
        Ok(r) => r,
        Err(d) => return (FrontMatter::default(), d),
    };
    let line = |key: &str| key_line(y, key).map(|l| l + 1);
    let mut errors = Vec::new();
    let price = raw.price.as_ref().map(|v| price_cents(v).map_err(|e| (e, line("price"))));
    let mut fm = FrontMatter {
        title: raw.title,
        description: raw.description,
        draft: raw.draft.unwrap_or(false),
        slug: raw.slug,
        weight: raw.weight,
        template: raw.template,
        alias_lines: raw.aliases.as_deref().map_or_else(Vec::new, |a| item_lines(y, "aliases", a)),
        aliases: raw.aliases.unwrap_or_default(),
        adult: raw.adult,
        adult_line: line("adult"),
        search: raw.search,
        price: None,
        currency: raw.currency,
        buy_url: raw.buy_url,
        paginate_by: raw.paginate_by,
        ..Default::default()
    };
    for (key, v) in [("date", raw.date), ("updated", raw.updated)] {
        if let Some(v) = v {
            match parse_date(&v) {
                Some(d) if key == "date" => fm.date = Some(d),
                Some(d) => fm.updated = Some(d),
                None => errors.push(
                    Diagnostic::new(file, format!("`{key}` is not a date: {}", yaml_scalar(&v)))
                        .at(line(key), None)
                        .hint("write it as 2025-03-01 or 2025-03-01T14:30:00+01:00"),
                ),
            }
        }
    }
    if let Some(extra) = raw.extra {
        match yaml::to_json(&extra) {
            serde_json::Value::Object(m) => {
                for (k, v) in &m {
                    if crate::policy::is_platform_switch(k, v) {
                        let l = crate::util::yaml::any_key_line(y, k).map(|l| l + 1);
                        errors.push(crate::policy::platform_switch_diagnostic(file, &format!("extra.{k}"), l));
                    }
                }
                fm.extra = m
            }
            serde_json::Value::Null => {}
            _ => errors
                .push(Diagnostic::new(file, "`extra` must be a mapping of keys to values").at(line("extra"), None)),
        }
    }
    if let Some(s) = raw.sort_by {
        fm.sort_by = match s.as_str() {
            "date" => SortBy::Date,
            "weight" => SortBy::Weight,
            "title" => SortBy::Title,
            "auto" => SortBy::Auto,
            _ => {
                errors.push(
                    Diagnostic::new(file, format!("`sort_by` `{s}` is not a known order"))
                        .at(line("sort_by"), None)
                        .hint("use date, weight, title or auto"),
                );
                SortBy::Auto
            }
        };
    }
    if let Some(slug) = &fm.slug {
        if slug.is_empty() || slug.contains('/') || slug.starts_with('.') {
            errors
                .push(Diagnostic::new(file, format!("`slug` `{slug}` must be one URL segment")).at(line("slug"), None));
        }
    }
    let priced = price.is_some();
    match price {
        Some(Ok(cents)) => fm.price = Some(cents),
        Some(Err((why, at))) => errors.push(
            Diagnostic::new(file, format!("`price`: {why}"))
                .at(at, None)
                .hint("write the amount in the currency's units with at most two decimals, e.g. `price: 12.50`"),
        ),
        None => {}
    }
    if priced && fm.currency.is_none() {
        errors.push(
            Diagnostic::new(file, "`price` needs a `currency`")
                .at(line("price"), None)
                .hint("add e.g. `currency: EUR`"),
        );
    }
    if let Some(c) = &fm.currency {
        if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
            errors.push(
                Diagnostic::new(file, format!("`currency` `{c}` is not an ISO 4217 code"))
                    .at(line("currency"), None)
                    .hint("use three capital letters, e.g. EUR, USD, CHF"),
            );
        }
    }
    if let Some(u) = &fm.buy_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            errors.push(
                Diagnostic::new(file, format!("`buy_url` `{u}` is not a web address"))
                    .at(line("buy_url"), None)
                    .hint("link to the payment page of your provider, starting with https://"),
            );
        }
    }
    for (key, v) in raw.rest {
        if config.site.taxonomies.contains(&key) {
            match string_list(&v) {
                Some(terms) => {
                    fm.taxonomies.insert(key, terms.into_iter().filter(|t| !t.trim().is_empty()).collect());
                }
                None => errors.push(
                    Diagnostic::new(file, format!("`{key}` must be a list of words"))
                        .at(line(&key), None)
                        .hint(format!("write it as {key}: [one, two]")),
                ),
            }
        } else if crate::policy::is_platform_switch(&key, &yaml::to_json(&v)) {
            errors.push(crate::policy::platform_switch_diagnostic(file, &key, line(&key)));
        } else {
            let mut known: Vec<&str> = FRONT_MATTER_KEYS.to_vec();
            known.extend(config.site.taxonomies.iter().map(String::as_str));
            let hint = match did_you_mean(&key, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? free-form values go under `extra:`"),
                None => format!("free-form values go under `extra:`; known keys: {}", known.join(", ")),
            };
            errors.push(
                Diagnostic::new(file, format!("unknown front matter key `{key}`")).at(line(&key), Some(1)).hint(hint),
            );
        }
    }
    (fm, errors)
}

/// A page or section saying `adult: false` inside an adult section.
/// The file line of each item of the list under the top-level `key` of front matter `y` (which
/// starts on the file's second line): the first line, from the key on, that holds the item.
fn item_lines(y: &str, key: &str, items: &[String]) -> Vec<Option<usize>> {
    let Some(start) = key_line(y, key) else { return vec![None; items.len()] };
    let lines: Vec<&str> = y.lines().collect();
    let mut from = start - 1;
    items
        .iter()
        .map(|item| {
            let found = (from..lines.len()).find(|&i| lines[i].contains(item.as_str()));
            if let Some(i) = found {
                from = i;
            }
            found.map(|i| i + 2)
        })
        .collect()
}

fn adult_escape(src: &Parsed, section_rel: &str) -> Diagnostic {
    let line = src.front.adult_line;
    Diagnostic::new(diag_path(&src.rel), "`adult: false` inside an adult section")
        .at(line, None)
        .hint(format!(
            "{} marks its whole section as adult, so every page in it stays behind the age gate; remove `adult: false` or move the page out of the section",
            diag_path(section_rel)
        ))
}

fn yaml_scalar(v: &yaml::Value) -> String {
    match v {
        yaml::Value::String(s) => s.clone(),
        other => yaml::to_json(other).to_string(),
    }
}

fn string_list(v: &yaml::Value) -> Option<Vec<String>> {
    match v {
        yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| match i {
                yaml::Value::String(s) => Some(s.clone()),
                yaml::Value::Number(n) => Some(n.to_string()),
                yaml::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
            .collect(),
        yaml::Value::String(s) => Some(vec![s.clone()]),
        yaml::Value::Null => Some(Vec::new()),
        _ => None,
    }
}

/// Parses `2025-03-01`, `2025-03-01 10:00:00`, `2025-03-01T10:00:00` (UTC) or RFC 3339.
pub(crate) fn parse_date(v: &yaml::Value) -> Option<Date> {
    let s = match v {
        yaml::Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(&s) {
        return Some(Date { instant: dt, text: dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true) });
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&s, fmt) {
            let dt = Utc.from_utc_datetime(&n).fixed_offset();
            return Some(Date { instant: dt, text: dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true) });
        }
    }
    let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()?;
    let dt = Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?).fixed_offset();
    Some(Date { instant: dt, text: d.format("%Y-%m-%d").to_string() })
}

/// A page: a Markdown file other than `_index.md`.
#[derive(Debug, Clone)]
pub struct Page {
    /// The parsed file.
    pub src: Parsed,
    /// URL path, `/blog/hello/`.
    pub path: String,
    /// Last URL segment.
    pub slug: String,
    /// Index of the section it belongs to.
    pub section: usize,
    /// The language of the tree it is in (its URL, listings, UI strings).
    pub lang: String,
    /// Shown in `lang` from the default language's file (no translation; see
    /// `translation_fallback`): its content is in `src.lang`.
    pub fallback: bool,
    /// The same page in every language (itself included), in the site's language order.
    pub translations: Vec<usize>,
    /// Site paths of the files of its bundle (`blog/trip/photo.jpg`).
    pub(crate) assets: Vec<String>,
    /// Adult content, own or inherited.
    pub adult: bool,
    /// Rendered Markdown (filled by `render::body::render_body`; shared: `serve` keeps it from one build to
    /// the next).
    pub rendered: Arc<Rendered>,
    /// Previous page in the section's order (`page.lower`).
    pub(crate) lower: Option<usize>,
    /// Next page in the section's order (`page.higher`).
    pub(crate) higher: Option<usize>,
}

/// A section: a folder of `content/`, described by its `_index.md` (or implicit without one).
#[derive(Debug, Clone)]
pub struct Section {
    /// The parsed `_index.md`; implicit sections get an empty one with a title from the folder.
    pub src: Parsed,
    /// Whether `_index.md` exists.
    pub(crate) explicit: bool,
    /// Folder under `content/` (`""` for the home section).
    pub dir: String,
    /// URL path, `/blog/`.
    pub path: String,
    /// Parent section.
    pub parent: Option<usize>,
    /// The language of the tree it is in.
    pub lang: String,
    /// Shown in `lang` from the default language's `_index.md`.
    pub fallback: bool,
    /// The same section in every language (itself included), in the site's language order.
    pub translations: Vec<usize>,
    /// Pages, in the section's order.
    pub pages: Vec<usize>,
    /// Child sections, by folder name.
    pub(crate) subsections: Vec<usize>,
    /// Site paths of files placed beside `_index.md`.
    pub(crate) assets: Vec<String>,
    /// Adult content, own or inherited.
    pub adult: bool,
    /// Rendered Markdown.
    pub rendered: Arc<Rendered>,
}

/// One term of a taxonomy.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// As written in front matter (first spelling met).
    pub name: String,
    /// URL segment.
    pub slug: String,
    /// Pages, newest first.
    pub pages: Vec<usize>,
}

/// A taxonomy (`tags` …) of one language and its terms, sorted by name.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    /// Name, as in `site.yaml`.
    pub name: String,
    /// The language whose pages it classifies.
    pub lang: String,
    /// URL path of its list page (`/tags/`, `/en/tags/`).
    pub path: String,
    /// Terms.
    pub(crate) terms: Vec<Term>,
}

/// A file of `content/` that is not Markdown, with the site path it is published at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Asset {
    /// Path under `content/`.
    pub rel: String,
    /// Site path in the output.
    pub out: String,
}

/// What a content file is, for internal links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    /// `pages[i]`.
    Page(usize),
    /// `sections[i]`.
    Section(usize),
}

/// The whole content tree.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// Pages, sorted by file.
    pub pages: Vec<Page>,
    /// Sections, sorted by folder; `sections[0]` is the home.
    pub sections: Vec<Section>,
    /// Content file (`blog/hello.md`) → page or section.
    pub(crate) by_file: HashMap<String, Ref>,
    /// Taxonomies, in `site.yaml` order, language by language.
    pub taxonomies: Vec<Taxonomy>,
    /// Non-Markdown files and where they are published.
    pub(crate) assets: Vec<Asset>,
    /// Each language's tree: the default first.
    pub languages: Vec<LanguageTree>,
    /// Pages the platform withholds: left out of the tree, their URL answered by a notice.
    pub withheld: Vec<WithheldPage>,
}

/// A page left out by the platform (see `Content::assemble_under`).
#[derive(Debug, Clone)]
pub struct WithheldPage {
    /// Its content file.
    pub rel: String,
    /// The URL path it had (`/blog/post/`).
    pub path: String,
    /// The language of its tree.
    pub lang: String,
    /// Why, as the policy says.
    pub reason: String,
}

/// One language's part of the content tree.
#[derive(Debug, Clone, Default)]
pub struct LanguageTree {
    /// The language code.
    pub lang: String,
    /// URL path of its home (`/`, `/en/`).
    pub root: String,
    /// Its home section.
    pub home: usize,
    /// Its pages (`pages[i]`), in file order.
    pub pages: Vec<usize>,
    /// Its sections.
    pub sections: Vec<usize>,
}

/// One language's tree before it joins the others (indices local to it).
struct Tree {
    pages: Vec<Page>,
    sections: Vec<Section>,
    taxonomies: Vec<Taxonomy>,
    assets: Vec<Asset>,
}

fn parent_dir(rel: &str) -> &str {
    rel.rfind('/').map_or("", |i| &rel[..i])
}

fn file_name(rel: &str) -> &str {
    rel.rfind('/').map_or(rel, |i| &rel[i + 1..])
}

impl Content {
    /// Builds the tree from parsed files and the other files of `content/`, step by step:
    /// bundles and hidden folders found, files sorted into sections and pages, every folder's
    /// section made, pages placed, other files placed beside their page or section, pages ordered,
    /// URLs checked, terms collected. Drafts are dropped unless the configuration includes them.
    /// [`Content::assemble`] under the platform's decisions for this site (`opts`): pages rated
    /// adult by the platform get the age gate (a section's `_index.md`: everything under it), and
    /// withheld pages are left out, their URLs kept for the notices. Problems with the decisions
    /// themselves (a path that names no page) are returned as warnings.
    pub(crate) fn assemble_under(
        config: &Config,
        mut parsed: Vec<Parsed>,
        other_files: Vec<String>,
        opts: &crate::site::config::BuildOptions,
    ) -> Result<(Content, Vec<Diagnostic>), Vec<Diagnostic>> {
        let mut warnings = Vec::new();
        let by_file = |p: &Parsed, path: &str| {
            let path = path.trim_start_matches('/');
            p.rel == path || p.key == path || {
                let dir = path.strip_suffix("_index.md").filter(|d| d.is_empty() || d.ends_with('/'));
                dir.is_some_and(|d| p.rel.starts_with(d))
            }
        };
        for p in parsed.iter_mut() {
            if opts.adult_site || opts.adult_pages.iter().any(|a| a.ends_with(".md") && by_file(p, a)) {
                p.front.adult = Some(true);
            }
        }
        let by_url: Vec<&String> = opts.adult_pages.iter().filter(|a| a.starts_with('/')).collect();
        if opts.withheld.is_empty() && by_url.is_empty() {
            return Content::assemble(config, parsed, other_files).map(|c| (c, warnings));
        }
        let url_of = |path: &str| {
            let p = path.split(['?', '#']).next().unwrap_or("");
            let p = p.strip_suffix("index.html").unwrap_or(p);
            if p.ends_with('/') {
                p.to_string()
            } else {
                format!("{p}/")
            }
        };
        let mut withheld = Vec::new();
        if !opts.withheld.is_empty() {
            let all = Content::assemble(config, parsed.clone(), other_files.clone())?;
            let mut gone = std::collections::HashSet::new();
            for (path, reason) in &opts.withheld {
                let url = path.starts_with('/').then(|| url_of(path));
                let hits: Vec<&Page> = all
                    .pages
                    .iter()
                    .filter(|p| match &url {
                        Some(u) => p.path == *u,
                        None => {
                            let f = path.trim_start_matches('/');
                            p.src.rel == f || p.src.key == f
                        }
                    })
                    .collect();
                if hits.is_empty() {
                    let section = all.sections.iter().any(|s| match &url {
                        Some(u) => s.path == *u,
                        None => s.src.rel == path.trim_start_matches('/'),
                    });
                    let why = if section {
                        "names a section: the platform withholds pages, list the section's pages one by one"
                    } else {
                        "names no page of this site"
                    };
                    warnings.push(
                        Diagnostic::new("policy", format!("withheld page `{path}` {why}"))
                            .kind(crate::util::diag::Kind::Platform)
                            .hint("check the entry's `path` in the policy: a file under content/ or a page URL"),
                    );
                }
                for p in hits {
                    gone.insert(p.src.rel.clone());
                    withheld.push(WithheldPage {
                        rel: p.src.rel.clone(),
                        path: p.path.clone(),
                        lang: p.lang.clone(),
                        reason: reason.clone(),
                    });
                }
            }
            // A URL withholds its page in that language; its file goes with it, so its other
            // languages' pages too (a file is one page in every tree it appears in).
            let extra: Vec<WithheldPage> = all
                .pages
                .iter()
                .filter(|p| gone.contains(&p.src.rel) && !withheld.iter().any(|w| w.path == p.path))
                .map(|p| {
                    let reason =
                        withheld.iter().find(|w| w.rel == p.src.rel).map(|w| w.reason.clone()).unwrap_or_default();
                    WithheldPage { rel: p.src.rel.clone(), path: p.path.clone(), lang: p.lang.clone(), reason }
                })
                .collect();
            withheld.extend(extra);
            withheld.sort_by(|a, b| a.path.cmp(&b.path));
            withheld.dedup_by(|a, b| a.path == b.path);
            parsed.retain(|p| !gone.contains(&p.rel));
        }
        let mut content = Content::assemble(config, parsed, other_files)?;
        for u in by_url {
            let u = url_of(u);
            let mut hit = false;
            for p in content.pages.iter_mut().filter(|p| p.path == u) {
                p.adult = true;
                hit = true;
            }
            for s in content.sections.iter_mut().filter(|s| s.path == u) {
                s.adult = true;
                hit = true;
            }
            if !hit {
                warnings.push(
                    Diagnostic::new("policy", format!("adult page `{u}` names no page of this site"))
                        .kind(crate::util::diag::Kind::Platform)
                        .hint("check the entry's `path` in the policy's `adult.pages`"),
                );
            }
        }
        content.withheld = withheld;
        Ok((content, warnings))
    }

    /// Assembles the content tree from parsed files.
    pub(crate) fn assemble(
        config: &Config,
        parsed: Vec<Parsed>,
        other_files: Vec<String>,
    ) -> Result<Content, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let mut parsed = parsed;
        parsed.sort_by(|a, b| a.rel.cmp(&b.rel));
        let default = config.site.language.clone();
        let fallback = config.site.translation_fallback == crate::site::config::Fallback::DefaultLanguage;
        let mut content = Content::default();
        let mut other_files = Some(other_files);
        let languages = config.languages();
        // Each language's files, moved (not copied: most sites have one language).
        let mut by_lang: Vec<Vec<Parsed>> = languages.iter().map(|_| Vec::new()).collect();
        for p in parsed {
            let i = languages.iter().position(|l| *l == p.lang).unwrap_or(0);
            by_lang[i].push(p);
        }
        // With the fallback, the default language's files each other language has no
        // translation of.
        let fallbacks: Vec<Vec<Parsed>> = (0..languages.len())
            .map(|i| {
                if !fallback || i == 0 {
                    return Vec::new();
                }
                let own: std::collections::HashSet<&str> = by_lang[i].iter().map(|p| p.key.as_str()).collect();
                by_lang[0].iter().filter(|p| !own.contains(p.key.as_str())).cloned().collect()
            })
            .collect();
        for ((lang, own), extra) in languages.iter().copied().zip(by_lang).zip(fallbacks) {
            let mut files: Vec<(Parsed, bool)> = own.into_iter().map(|p| (p, false)).collect();
            if !extra.is_empty() {
                files.extend(extra.into_iter().map(|p| (p, true)));
                files.sort_by(|a, b| a.0.rel.cmp(&b.0.rel));
            }
            // Files of `content/` that are not Markdown: bundles' go with each language's bundle
            // page; the others are published once, beside the default language's sections.
            let others = if lang == default { other_files.take().unwrap_or_default() } else { Vec::new() };
            let bundle_files: Vec<String> =
                if lang == default { Vec::new() } else { content.assets.iter().map(|a| a.rel.clone()).collect() };
            let tree = tree(config, lang, files, others, bundle_files, &mut errors);
            content.join(config, lang, tree);
        }
        content.link_translations(config);
        url_collisions(&content.sections, &content.pages, &mut errors);
        if errors.is_empty() {
            Ok(content)
        } else {
            Err(errors)
        }
    }

    /// Adds one language's tree, its indices shifted past the trees already there.
    fn join(&mut self, config: &Config, lang: &str, tree: Tree) {
        let (po, so) = (self.pages.len(), self.sections.len());
        let Tree { pages, sections, taxonomies, assets } = tree;
        let mut lt =
            LanguageTree { lang: lang.to_string(), root: config.language_root(lang), home: so, ..Default::default() };
        for mut p in pages {
            p.section += so;
            p.lower = p.lower.map(|i| i + po);
            p.higher = p.higher.map(|i| i + po);
            lt.pages.push(self.pages.len());
            if !p.fallback {
                self.by_file.insert(p.src.rel.clone(), Ref::Page(self.pages.len()));
            }
            self.pages.push(p);
        }
        for mut s in sections {
            s.parent = s.parent.map(|i| i + so);
            s.pages.iter_mut().for_each(|i| *i += po);
            s.subsections.iter_mut().for_each(|i| *i += so);
            lt.sections.push(self.sections.len());
            // An implicit section of another language has no file of its own: it is found by the
            // name its file would have (`blog/_index.en.md`).
            if !s.fallback {
                self.by_file.entry(s.src.rel.clone()).or_insert(Ref::Section(self.sections.len()));
            }
            self.sections.push(s);
        }
        for mut t in taxonomies {
            for term in &mut t.terms {
                term.pages.iter_mut().for_each(|i| *i += po);
            }
            self.taxonomies.push(t);
        }
        // Each tree publishes its files at paths of its own (bundle files under `/en/…`).
        self.assets.extend(assets);
        self.languages.push(lt);
    }

    /// Each page's and section's translations: every page of any language with the same key
    /// (none in a site of one language).
    fn link_translations(&mut self, config: &Config) {
        if !config.multilingual() {
            return;
        }
        let languages = config.languages();
        let pages: Vec<(&str, &str, bool)> =
            self.pages.iter().map(|p| (p.src.key.as_str(), p.lang.as_str(), p.fallback)).collect();
        let page_groups = translation_groups(&languages, &pages);
        let sections: Vec<(&str, &str, bool)> =
            self.sections.iter().map(|s| (s.src.key.as_str(), s.lang.as_str(), s.fallback)).collect();
        let section_groups = translation_groups(&languages, &sections);
        for (p, g) in self.pages.iter_mut().zip(page_groups) {
            p.translations = g;
        }
        for (s, g) in self.sections.iter_mut().zip(section_groups) {
            s.translations = g;
        }
    }

    /// The tree of language `lang`.
    pub fn language(&self, lang: &str) -> Option<&LanguageTree> {
        self.languages.iter().find(|l| l.lang == lang)
    }

    /// The content file a link to `rel` means on a page in `lang`: its translation in `lang`
    /// when there is one (`@/about.md` on an English page is the English about page), else `rel`.
    pub(crate) fn ref_in(&self, rel: &str, lang: &str) -> Option<Ref> {
        let rel = rel.trim_start_matches('/');
        let r = *self.by_file.get(rel)?;
        // A file named with its language (`about.fr.md`) means that language.
        let found = match r {
            Ref::Page(i) if self.pages[i].src.rel == self.pages[i].src.key => {
                self.pages[i].translations.iter().find(|&&t| self.pages[t].lang == lang).map(|&t| Ref::Page(t))
            }
            Ref::Section(i) if self.sections[i].src.rel == self.sections[i].src.key => {
                self.sections[i].translations.iter().find(|&&t| self.sections[t].lang == lang).map(|&t| Ref::Section(t))
            }
            _ => None,
        };
        Some(found.unwrap_or(r))
    }

    /// The URL path of a page or section.
    pub fn path(&self, r: Ref) -> &str {
        match r {
            Ref::Page(i) => &self.pages[i].path,
            Ref::Section(i) => &self.sections[i].path,
        }
    }

    /// The URL path of content file `rel` in `lang` (see [`Content::ref_in`]).
    pub(crate) fn path_in(&self, rel: &str, lang: &str) -> Option<&str> {
        self.ref_in(rel, lang).map(|r| self.path(r))
    }

    /// The URL path of a content file (`blog/hello.md` → `/blog/hello/`), for tests.
    #[cfg(test)]
    pub(crate) fn path_of(&self, rel: &str) -> Option<&str> {
        match self.by_file.get(rel.trim_start_matches('/'))? {
            Ref::Page(i) => Some(&self.pages[*i].path),
            Ref::Section(i) => Some(&self.sections[*i].path),
        }
    }
}

/// For items given as (key, language, fallback), each item's group: the items of its key, in the
/// site's language order (a language's own file before a fallback).
fn translation_groups(languages: &[&str], items: &[(&str, &str, bool)]) -> Vec<Vec<usize>> {
    let order = |l: &str| languages.iter().position(|x| *x == l).unwrap_or(usize::MAX);
    let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (key, _, _)) in items.iter().enumerate() {
        by_key.entry(key).or_default().push(i);
    }
    let mut out = vec![Vec::new(); items.len()];
    for mut group in by_key.into_values() {
        group.sort_by_key(|&i| (order(items[i].1), items[i].2));
        for &i in &group {
            out[i] = group.clone();
        }
    }
    out
}

/// One language's tree, step by step: bundles and hidden folders found, files sorted into sections
/// and pages, every folder's section made, pages placed, other files placed beside their page or
/// section (`bundle_files`: files of bundles only, for the languages after the default), pages
/// ordered, terms collected. Structure comes from each file's key, so that `about.en.md` sits
/// where `about.md` does.
fn tree(
    config: &Config,
    lang: &str,
    files: Vec<(Parsed, bool)>,
    others: Vec<String>,
    bundle_files: Vec<String>,
    errors: &mut Vec<Diagnostic>,
) -> Tree {
    let fallback_keys: std::collections::HashSet<String> =
        files.iter().filter(|(_, f)| *f).map(|(p, _)| p.key.clone()).collect();
    let parsed: Vec<Parsed> = files.into_iter().map(|(p, _)| p).collect();
    let folders = Folders::find(&parsed, config, errors);
    let sorted = folders.sort(parsed, config, errors);
    let root = config.language_root(lang);
    let (mut sections, index_of) = make_sections(config, lang, &root, sorted.sections, &sorted.pages, errors);
    let mut pages = make_pages(sorted.pages, &mut sections, &index_of, errors);
    for p in &mut pages {
        p.lang = lang.to_string();
        p.fallback = fallback_keys.contains(&p.src.key);
    }
    for s in &mut sections {
        s.lang = lang.to_string();
        s.fallback = s.explicit && fallback_keys.contains(&s.src.key);
    }
    let mut other: Vec<String> = others;
    // Markdown files inside bundles are published as they are, as files of the bundle.
    other.extend(sorted.bundle_markdown);
    let bundles_only = lang != config.site.language;
    other.extend(bundle_files);
    other.sort();
    other.dedup();
    let assets = folders.place(other, bundles_only, &mut pages, &mut sections, &index_of);
    order_pages(&mut sections, &mut pages);
    let taxonomies = config.site.taxonomies.iter().map(|name| collect_terms(name, lang, &root, &pages)).collect();
    Tree { pages, sections, taxonomies, assets }
}

/// The folders that change where files belong: page bundles (a folder holding an `index.md`:
/// everything below it belongs to the page) and, unless drafts are built, draft sections
/// (everything below them is hidden).
struct Folders {
    bundles: Vec<String>,
    hidden: Vec<String>,
}

/// Content files sorted: sections by folder, pages, and Markdown files inside bundles.
struct Sorted {
    sections: BTreeMap<String, Parsed>,
    pages: Vec<Parsed>,
    bundle_markdown: Vec<String>,
}

impl Folders {
    fn find(parsed: &[Parsed], config: &Config, errors: &mut Vec<Diagnostic>) -> Folders {
        let mut bundles: Vec<String> = Vec::new();
        for p in parsed {
            if file_name(&p.key) == "index.md" {
                let dir = parent_dir(&p.key).to_string();
                if dir.is_empty() {
                    errors.push(
                        Diagnostic::new(
                            diag_path(&p.rel),
                            "`content/index.md` would be a page bundle at the site root",
                        )
                        .hint("name the home page content/_index.md"),
                    );
                } else {
                    bundles.push(dir);
                }
            }
        }
        let mut hidden: Vec<String> = Vec::new();
        if !config.drafts {
            for p in parsed {
                if p.front.draft && file_name(&p.key) == "_index.md" {
                    hidden.push(parent_dir(&p.key).to_string());
                }
            }
        }
        Folders { bundles, hidden }
    }

    /// The innermost bundle `rel` is inside, if any.
    fn in_bundle(&self, rel: &str) -> Option<&String> {
        self.bundles
            .iter()
            .filter(|d| rel.starts_with(d.as_str()) && rel.as_bytes().get(d.len()) == Some(&b'/'))
            .max_by_key(|d| d.len())
    }

    /// Whether `rel` is below a draft section.
    fn hidden(&self, rel: &str) -> bool {
        self.hidden
            .iter()
            .any(|d| d.is_empty() || (rel.starts_with(d.as_str()) && rel.as_bytes().get(d.len()) == Some(&b'/')))
    }

    /// Sorts the parsed files into sections, pages and Markdown files of bundles.
    fn sort(&self, parsed: Vec<Parsed>, config: &Config, errors: &mut Vec<Diagnostic>) -> Sorted {
        let mut section_files: BTreeMap<String, Parsed> = BTreeMap::new();
        let mut page_files: Vec<Parsed> = Vec::new();
        let mut bundle_markdown: Vec<String> = Vec::new();
        for p in parsed {
            if self.hidden(&p.key) && !(file_name(&p.key) == "_index.md" && parent_dir(&p.key).is_empty()) {
                continue;
            }
            let name = file_name(&p.key);
            if let Some(b) = self.in_bundle(&p.key) {
                if !(name == "index.md" && parent_dir(&p.key) == b) {
                    // Markdown inside a bundle is a file of that bundle, not a page.
                    bundle_markdown.push(p.rel);
                    continue;
                }
            }
            if name == "_index.md" {
                let dir = parent_dir(&p.key).to_string();
                if self.bundles.contains(&dir) {
                    errors.push(
                        Diagnostic::new(
                            diag_path(&p.rel),
                            "a folder cannot hold both `_index.md` (section) and `index.md` (page bundle)",
                        )
                        .hint("keep _index.md for a section with pages, index.md for a single page with its files"),
                    );
                    continue;
                }
                if let Some(other) = section_files.get(&dir) {
                    errors.push(
                        Diagnostic::new(
                            diag_path(&p.rel),
                            format!("content/{} is the same section in the same language", other.rel),
                        )
                        .hint("keep one of the two files"),
                    );
                    continue;
                }
                section_files.insert(dir, p);
            } else if p.front.draft && !config.drafts {
                continue;
            } else {
                page_files.push(p);
            }
        }
        Sorted { sections: section_files, pages: page_files, bundle_markdown }
    }

    /// Files that are not Markdown pages: bundle files go beside their page, others beside the
    /// nearest section.
    fn place(
        &self,
        files: Vec<String>,
        bundles_only: bool,
        pages: &mut [Page],
        sections: &mut [Section],
        index_of: &HashMap<String, usize>,
    ) -> Vec<Asset> {
        let bundle_page: HashMap<String, usize> = pages
            .iter()
            .enumerate()
            .filter(|(_, p)| file_name(&p.src.key) == "index.md")
            .map(|(i, p)| (parent_dir(&p.src.key).to_string(), i))
            .collect();
        let mut assets = Vec::new();
        for rel in files {
            if self.hidden(&rel) {
                continue;
            }
            let out = if let Some(b) = self.in_bundle(&rel) {
                match bundle_page.get(b) {
                    Some(&pi) => {
                        let out = format!("{}{}", pages[pi].path.trim_start_matches('/'), &rel[b.len() + 1..]);
                        pages[pi].assets.push(out.clone());
                        out
                    }
                    None => continue, // the bundle is a draft (or not in this language)
                }
            } else if bundles_only {
                continue;
            } else {
                let mut d = parent_dir(&rel);
                while !index_of.contains_key(d) {
                    d = parent_dir(d);
                }
                let si = index_of[d];
                let tail = if d.is_empty() { rel.as_str() } else { &rel[d.len() + 1..] };
                let out = format!("{}{}", sections[si].path.trim_start_matches('/'), tail);
                sections[si].assets.push(out.clone());
                out
            };
            assets.push(Asset { rel, out });
        }
        assets
    }
}

/// Every folder holding pages or sections is a section (made with defaults when it has no
/// `_index.md`); the home always is. Returns the sections, parents first, and each folder's index.
fn make_sections(
    config: &Config,
    lang: &str,
    root: &str,
    mut section_files: BTreeMap<String, Parsed>,
    page_files: &[Parsed],
    errors: &mut Vec<Diagnostic>,
) -> (Vec<Section>, HashMap<String, usize>) {
    let mut dirs: BTreeMap<String, ()> = BTreeMap::new();
    dirs.insert(String::new(), ());
    let mut add_with_ancestors = |dir: &str| {
        let mut d = dir.to_string();
        loop {
            dirs.insert(d.clone(), ());
            if d.is_empty() {
                break;
            }
            d = parent_dir(&d).to_string();
        }
    };
    for dir in section_files.keys() {
        add_with_ancestors(dir);
    }
    for p in page_files {
        let d = if file_name(&p.key) == "index.md" { parent_dir(parent_dir(&p.key)) } else { parent_dir(&p.key) };
        add_with_ancestors(d);
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    for dir in dirs.keys() {
        let (src, explicit) = match section_files.remove(dir) {
            Some(p) => (p, true),
            None => {
                let key = if dir.is_empty() { "_index.md".to_string() } else { format!("{dir}/_index.md") };
                let rel = if lang == config.site.language {
                    key.clone()
                } else {
                    format!("{}.{lang}.md", key.trim_end_matches(".md"))
                };
                let title = if dir.is_empty() {
                    config
                        .site
                        .languages
                        .get(lang)
                        .and_then(|l| l.title.clone())
                        .unwrap_or_else(|| config.site.title.clone())
                } else {
                    humanize(file_name(dir))
                };
                let front = FrontMatter { title: Some(title), ..Default::default() };
                (
                    Parsed {
                        rel,
                        key,
                        lang: lang.to_string(),
                        front,
                        body: Arc::default(),
                        body_line: 1,
                        deferred: None,
                    },
                    false,
                )
            }
        };
        let parent = if dir.is_empty() { None } else { index_of.get(parent_dir(dir)).copied() };
        let (path, adult) = match parent {
            None => (root.to_string(), src.front.adult.unwrap_or(false)),
            Some(pi) => {
                let slug = src.front.slug.clone().unwrap_or_else(|| slugify(file_name(dir)));
                let parent = &sections[pi];
                if parent.adult && src.front.adult == Some(false) {
                    errors.push(adult_escape(&src, &parent.src.rel));
                }
                (format!("{}{}/", parent.path, slug), parent.adult || src.front.adult.unwrap_or(false))
            }
        };
        let i = sections.len();
        index_of.insert(dir.clone(), i);
        if let Some(pi) = parent {
            sections[pi].subsections.push(i);
        }
        sections.push(Section {
            src,
            explicit,
            dir: dir.clone(),
            path,
            parent,
            lang: lang.to_string(),
            fallback: false,
            translations: Vec::new(),
            pages: Vec::new(),
            subsections: Vec::new(),
            assets: Vec::new(),
            adult,
            rendered: Arc::default(),
        });
    }
    (sections, index_of)
}

/// Each page in its section, with its URL and age gate.
fn make_pages(
    page_files: Vec<Parsed>,
    sections: &mut [Section],
    index_of: &HashMap<String, usize>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Page> {
    let mut pages: Vec<Page> = Vec::new();
    for src in page_files {
        let is_bundle = file_name(&src.key) == "index.md";
        let own_dir = parent_dir(&src.key);
        let sec_dir = if is_bundle { parent_dir(own_dir) } else { own_dir };
        let si = index_of[sec_dir];
        let stem = if is_bundle { file_name(own_dir) } else { file_name(&src.key).trim_end_matches(".md") };
        let slug = src.front.slug.clone().unwrap_or_else(|| slugify(stem));
        let path = format!("{}{}/", sections[si].path, slug);
        if sections[si].adult && src.front.adult == Some(false) {
            errors.push(adult_escape(&src, &sections[si].src.rel));
        }
        let adult = sections[si].adult || src.front.adult.unwrap_or(false);
        sections[si].pages.push(pages.len());
        pages.push(Page {
            src,
            path,
            slug,
            section: si,
            lang: String::new(),
            fallback: false,
            translations: Vec::new(),
            assets: Vec::new(),
            adult,
            rendered: Arc::default(),
            lower: None,
            higher: None,
        });
    }
    pages
}

/// Orders the pages of each section and links neighbours.
fn order_pages(sections: &mut [Section], pages: &mut [Page]) {
    for s in sections {
        let sort_by = s.src.front.sort_by;
        s.pages.sort_by(|&a, &b| compare_pages(&pages[a], &pages[b], sort_by));
        for w in s.pages.windows(2) {
            pages[w[0]].higher = Some(w[1]);
            pages[w[1]].lower = Some(w[0]);
        }
    }
}

/// Two pages or sections on one URL are an error.
fn url_collisions(sections: &[Section], pages: &[Page], errors: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let all_paths = sections
        .iter()
        .map(|s| (s.path.as_str(), s.src.rel.as_str()))
        .chain(pages.iter().map(|p| (p.path.as_str(), p.src.rel.as_str())));
    for (path, rel) in all_paths {
        if let Some(other) = seen.insert(path, rel) {
            errors.push(
                Diagnostic::new(diag_path(rel), format!("URL {path} is also the URL of content/{other}"))
                    .hint("give one of them another file name or a `slug`"),
            );
        }
    }
}

fn compare_pages(a: &Page, b: &Page, sort_by: SortBy) -> std::cmp::Ordering {
    let date = |p: &Page| std::cmp::Reverse(p.src.front.date.as_ref().map(|d| d.instant));
    let weight = |p: &Page| p.src.front.weight.unwrap_or(i64::MAX);
    let title = |p: &Page| p.src.front.title.clone().unwrap_or_default();
    let tie = |a: &Page, b: &Page| a.src.rel.cmp(&b.src.rel);
    match sort_by {
        SortBy::Date => date(a).cmp(&date(b)).then_with(|| tie(a, b)),
        SortBy::Weight => weight(a).cmp(&weight(b)).then_with(|| tie(a, b)),
        SortBy::Title => title(a).cmp(&title(b)).then_with(|| tie(a, b)),
        SortBy::Auto => weight(a)
            .cmp(&weight(b))
            .then_with(|| date(a).cmp(&date(b)))
            .then_with(|| title(a).cmp(&title(b)))
            .then_with(|| tie(a, b)),
    }
}

fn collect_terms(name: &str, lang: &str, root: &str, pages: &[Page]) -> Taxonomy {
    let mut terms: BTreeMap<String, Term> = BTreeMap::new();
    for (i, p) in pages.iter().enumerate() {
        for t in p.src.front.taxonomies.get(name).into_iter().flatten() {
            let slug = slugify(t);
            let term = terms.entry(slug.clone()).or_insert_with(|| Term { name: t.clone(), slug, pages: Vec::new() });
            if term.pages.last() != Some(&i) {
                term.pages.push(i);
            }
        }
    }
    let mut terms: Vec<Term> = terms.into_values().collect();
    for t in &mut terms {
        t.pages.sort_by(|&a, &b| compare_pages(&pages[a], &pages[b], SortBy::Date));
    }
    terms.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.slug.cmp(&b.slug)));
    Taxonomy { name: name.to_string(), lang: lang.to_string(), path: format!("{root}{name}/"), terms }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body moved out of memory is split where `parse` splits it: the front matter alone
    /// parses to the same page with an empty body starting on the same line.
    #[test]
    fn the_front_matter_alone_parses_as_the_whole_file() {
        for text in ["\u{feff}---\ntitle: A\n---\nThe *body*.\n", "No front matter.\n", "---\ntitle: B\n---\n"] {
            let start = body_start(text).unwrap();
            let (whole, _) = parse("a.md", text.to_string(), &cfg());
            let (front, _) = parse("a.md", text[..start].to_string(), &cfg());
            assert_eq!(front.front.title, whole.front.title);
            assert_eq!(front.body_line, whole.body_line);
            assert_eq!(front.body.as_str(), "");
            assert_eq!(&text[start..], whole.body.as_str());
        }
        assert_eq!(body_start("---\nnot closed\n"), None);
    }

    #[test]
    fn alias_lines_are_the_lines_that_hold_them() {
        let y = "title: T\naliases:\n  - /old/\n  - /older/\nweight: 1\n";
        let items = vec!["/old/".to_string(), "/older/".to_string()];
        assert_eq!(item_lines(y, "aliases", &items), vec![Some(4), Some(5)]);
        let flow = "aliases: [/a/, /b/]\n";
        assert_eq!(item_lines(flow, "aliases", &["/a/".into(), "/b/".into()]), vec![Some(2), Some(2)]);
    }
    use crate::site::config::BuildOptions;

    fn cfg() -> Config {
        Config::load("title: T\nbase_url: https://x.org/\n", &BuildOptions::default()).unwrap()
    }

    fn p(rel: &str, text: &str) -> Parsed {
        let (p, e) = parse(rel, text.to_string(), &cfg());
        assert!(e.is_empty(), "{e:?}");
        p
    }

    fn errs(rel: &str, text: &str) -> Vec<Diagnostic> {
        parse(rel, text.to_string(), &cfg()).1
    }

    #[test]
    fn front_matter_fields_and_lines() {
        let page = p("a.md", "---\ntitle: Hi\ndate: 2025-03-01\ntags: [x, y]\nextra:\n  k: 1\n---\nbody\n");
        assert_eq!(page.front.title.as_deref(), Some("Hi"));
        assert_eq!(page.front.date.as_ref().unwrap().text, "2025-03-01");
        assert_eq!(page.front.taxonomies["tags"], vec!["x", "y"]);
        assert_eq!(page.front.extra["k"], 1);
        assert_eq!(page.body.as_str(), "body\n");
        assert_eq!(page.body_line, 8);
    }

    #[test]
    fn unknown_key_and_bad_date_are_reported_with_lines() {
        let e = errs("a.md", "---\ntitle: Hi\ntitel: x\ndate: yesterday\n---\n");
        assert_eq!(e.len(), 2, "{e:?}");
        let unknown = e.iter().find(|d| d.message.contains("titel")).unwrap();
        assert_eq!(unknown.line, Some(3));
        assert!(unknown.hint.as_deref().unwrap().contains("did you mean `title`"));
        let date = e.iter().find(|d| d.message.contains("date")).unwrap();
        assert_eq!(date.line, Some(4));
        assert_eq!(date.origin, crate::util::diag::Origin::from("content/a.md"));
    }

    #[test]
    fn bad_yaml_has_line() {
        let e = errs("a.md", "---\ntitle: Hi\ntags: [x\n---\n");
        assert!(e[0].message.contains("invalid YAML"), "{:?}", e);
        assert!(e[0].line.is_some());
        let e = errs("a.md", "---\ntitle: Hi\n");
        assert!(e[0].message.contains("not closed"));
    }

    #[test]
    fn tree_paths_bundles_drafts_and_order() {
        let files = vec![
            p("_index.md", "---\ntitle: Home\n---\n"),
            p("about.md", "---\ntitle: About\n---\n"),
            p("blog/_index.md", "---\ntitle: Blog\n---\n"),
            p("blog/old.md", "---\ntitle: Old\ndate: 2020-01-01\n---\n"),
            p("blog/new.md", "---\ntitle: New\ndate: 2024-01-01\nslug: fresh\n---\n"),
            p("blog/wip.md", "---\ntitle: WIP\ndraft: true\n---\n"),
            p("blog/trip/index.md", "---\ntitle: Trip\ndate: 2022-01-01\n---\n"),
            p("shop/mug.md", "---\ntitle: Mug\nprice: 12.5\ncurrency: EUR\nbuy_url: https://pay.example/mug\n---\n"),
        ];
        let c =
            Content::assemble(&cfg(), files, vec!["blog/trip/photo.jpg".into(), "blog/files/menu.pdf".into()]).unwrap();
        assert_eq!(c.path_of("blog/new.md"), Some("/blog/fresh/"));
        assert_eq!(c.path_of("blog/trip/index.md"), Some("/blog/trip/"));
        assert_eq!(c.path_of("shop/_index.md"), Some("/shop/"), "implicit section");
        assert!(c.path_of("blog/wip.md").is_none(), "drafts are dropped");
        let blog = &c.sections[c.sections.iter().position(|s| s.dir == "blog").unwrap()];
        let titles: Vec<_> = blog.pages.iter().map(|&i| c.pages[i].src.front.title.clone().unwrap()).collect();
        assert_eq!(titles, vec!["New", "Trip", "Old"]);
        let trip = &c.pages[match c.by_file["blog/trip/index.md"] {
            Ref::Page(i) => i,
            _ => unreachable!(),
        }];
        assert_eq!(trip.assets, vec!["blog/trip/photo.jpg"]);
        assert!(c.assets.iter().any(|a| a.out == "blog/files/menu.pdf"));
    }

    #[test]
    fn prices_are_whole_cents_read_exactly() {
        let cfg = cfg();
        let price = |v: &str| {
            let y = format!("title: T\nprice: {v}\ncurrency: EUR\n");
            // The front matter's text starts on the file's line 2, after `---`: `price` is line 3.
            let (fm, errors) = parse_front("content/p.md", &y, &cfg);
            (fm.price, errors.first().map(|d| (d.message.clone(), d.line)))
        };
        assert_eq!(price("12.5"), (Some(1250), None));
        assert_eq!(price("19.99"), (Some(1999), None), "no floating-point drift");
        assert_eq!(price("\"7.20\""), (Some(720), None));
        assert_eq!(price("65"), (Some(6500), None));
        let (none, e) = price("12.345");
        assert!(
            none.is_none() && e.as_ref().is_some_and(|(m, l)| m.contains("two decimals") && *l == Some(3)),
            "{e:?}"
        );
        let (_, e) = price("-3");
        assert!(e.is_some_and(|(m, _)| m.contains("negative")));
    }

    #[test]
    fn url_collisions_name_both_files() {
        let files = vec![p("a.md", "---\nslug: b\n---\n"), p("b.md", "---\ntitle: B\n---\n")];
        let e = Content::assemble(&cfg(), files, vec![]).unwrap_err();
        assert!(
            e[0].message.contains("content/a.md") || e[0].origin.path().is_some_and(|p| p.ends_with("a.md")),
            "{:?}",
            e
        );
        assert!(e[0].to_string().contains("a.md") && e[0].to_string().contains("b.md"));
    }
}
