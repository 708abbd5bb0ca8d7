//! Site configuration: `site.yaml`, merged with command-line options into one resolved, validated,
//! immutable [`Config`] that is passed down by reference.
//!
//! In: the text of `site.yaml` and [`BuildOptions`]. Out: a [`Config`], or diagnostics naming the
//! line, the column and a "did you mean" for unknown keys. Never reads the disk itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::policy::parse_without_switches;
use crate::util::diag::Diagnostic;
use crate::util::yaml::key_line;

/// The name of the site configuration file, at the site root.
pub const SITE_FILE: &str = "site.yaml";

/// Most languages a site may have (the default included): each is a whole tree of pages, and a
/// fallback copies every untranslated page into each of them.
pub(crate) const MAX_LANGUAGES: usize = 30;

/// Front matter keys every page accepts (configured taxonomies come on top).
pub(crate) const FRONT_MATTER_KEYS: &[&str] = &[
    "title",
    "search",
    "description",
    "date",
    "updated",
    "draft",
    "slug",
    "weight",
    "template",
    "aliases",
    "adult",
    "extra",
    "price",
    "currency",
    "buy_url",
    "sort_by",
    "paginate_by",
];

/// `site.yaml` as the partner writes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The site's name, shown in titles and feeds.
    pub title: String,
    /// Absolute URL the site is published at, e.g. `https://bakery.example/`.
    pub base_url: String,
    /// The site's own domain on the platform (`www.example.fr`): a platform run publishes the
    /// site there (the operator's policy may decide otherwise).
    #[serde(default)]
    pub domain: Option<String>,
    /// Language code of the content (`fr`, `en` …), used for `<html lang>` and platform notices;
    /// with `languages`, the default language.
    #[serde(default = "default_language")]
    pub language: String,
    /// The other languages of a multilingual site, each with its own title, description, menus.
    #[serde(default)]
    pub languages: BTreeMap<String, LanguageConfig>,
    /// Whether the default language has its own folder too (`/fr/`), `/` then redirecting.
    #[serde(default)]
    pub default_language_in_subfolder: bool,
    /// What a language shows of a page that has no translation in it.
    #[serde(default)]
    pub translation_fallback: Fallback,
    /// Theme name: a folder under `themes/` in the site, or a theme bundled with sopixi.
    #[serde(default)]
    pub theme: Option<String>,
    /// One-sentence description, used in feeds and meta tags.
    #[serde(default)]
    pub description: String,
    /// Author or business name, used in feeds.
    #[serde(default)]
    pub author: Option<String>,
    /// Taxonomies pages can be classified in; each becomes a front matter key.
    #[serde(default = "default_taxonomies")]
    pub taxonomies: Vec<String>,
    /// Named menus: `main: [{name, url, weight}]`; `url` may be an internal link `@/about.md`.
    #[serde(default)]
    pub menus: BTreeMap<String, Vec<MenuItem>>,
    /// How section and term listings are split into pages.
    #[serde(default)]
    pub(crate) pagination: Pagination,
    /// Markdown rendering switches.
    #[serde(default)]
    pub markdown: MarkdownConfig,
    /// Which feeds are written.
    #[serde(default)]
    pub feeds: FeedConfig,
    /// Responsive image defaults.
    #[serde(default)]
    pub images: ImagesConfig,
    /// Whether HTML, CSS and JS are minified (the `build` default; `--no-minify` turns it off).
    #[serde(default = "yes")]
    pub minify: bool,
    /// Whether the site has a search index (`search: false` leaves it out).
    #[serde(default = "yes")]
    pub search: bool,
    /// Deployment targets and publishing rules, read by `sopixi deploy`.
    #[serde(default)]
    pub deploy: DeployConfig,
    /// The publisher, for the legal notice page (`/mentions-legales/`, `/en/legal-notice/`).
    #[serde(default)]
    pub legal: Option<crate::site::business::Legal>,
    /// The shop or workshop: schema.org `LocalBusiness` data, opening hours, address card.
    #[serde(default)]
    pub business: Option<crate::site::business::Business>,
    /// Free-form values for themes, available as `site.extra`.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One more language of the site (`languages: { en: { title: … } }`): what differs from the
/// default language's settings. Unset fields are the default language's.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {
    /// The site's name in this language.
    #[serde(default)]
    pub title: Option<String>,
    /// The description in this language.
    #[serde(default)]
    pub description: Option<String>,
    /// The menus in this language (replace the default language's menus of the same name).
    #[serde(default)]
    pub menus: BTreeMap<String, Vec<MenuItem>>,
    /// Free-form values for themes in this language, over `extra`.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What a language shows of a page that has no translation in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The page is left out of that language (its listings, feeds, sitemap).
    #[default]
    Skip,
    /// The page is shown in that language's tree from the default language's file, its content
    /// marked with the default language's `lang`.
    DefaultLanguage,
}

/// One menu entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MenuItem {
    /// Text of the link.
    pub name: String,
    /// Target: an absolute URL, a site path (`/contact/`) or an internal link (`@/about.md`).
    pub url: String,
    /// Order in the menu, smallest first.
    #[serde(default)]
    pub weight: i64,
}

/// Pagination of listings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pagination {
    /// Pages per listing page; 0 turns pagination off.
    #[serde(default = "default_per_page")]
    pub(crate) per_page: usize,
    /// URL segment before the page number: `/blog/page/2/`.
    #[serde(default = "default_page_path")]
    pub path: String,
}

impl Default for Pagination {
    fn default() -> Self {
        Pagination { per_page: default_per_page(), path: default_page_path() }
    }
}

/// Markdown switches.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarkdownConfig {
    /// Highlight fenced code at build time (CSS classes, no JavaScript).
    #[serde(default = "yes")]
    pub(crate) highlight_code: bool,
    /// Turn straight quotes and dashes into typographic ones.
    #[serde(default = "yes")]
    pub(crate) smart_punctuation: bool,
    /// Add a `#` link to every heading.
    #[serde(default = "yes")]
    pub(crate) heading_anchors: bool,
    /// Open external links in a new tab (`target="_blank" rel="noopener"`).
    #[serde(default)]
    pub(crate) external_links_new_tab: bool,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        MarkdownConfig {
            highlight_code: true,
            smart_punctuation: true,
            heading_anchors: true,
            external_links_new_tab: false,
        }
    }
}

/// Feeds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Write `atom.xml`.
    #[serde(default = "yes")]
    pub atom: bool,
    /// Write `rss.xml`.
    #[serde(default = "yes")]
    pub rss: bool,
    /// How many of the newest pages a feed holds.
    #[serde(default = "default_feed_limit")]
    pub limit: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig { atom: true, rss: true, limit: default_feed_limit() }
    }
}

/// Responsive image defaults.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesConfig {
    /// Widths generated for `srcset`.
    #[serde(default = "default_widths")]
    pub widths: Vec<u32>,
    /// Encoder quality, 1–100.
    #[serde(default = "default_quality")]
    pub quality: u8,
    /// Whether responsive images get WebP variants besides the JPEG/PNG fallback.
    #[serde(default = "default_true")]
    pub webp: bool,
    /// The `sizes` attribute of responsive images (default: the image's width, or the viewport).
    #[serde(default)]
    pub sizes: Option<String>,
    /// Largest source image accepted, in megapixels (bigger ones are refused, not decoded).
    #[serde(default = "default_max_megapixels")]
    pub max_megapixels: u32,
    /// The cache of processed images, relative to the site folder.
    #[serde(default = "default_cache_dir")]
    pub cache_dir: String,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        ImagesConfig {
            widths: default_widths(),
            quality: default_quality(),
            webp: true,
            sizes: None,
            max_megapixels: default_max_megapixels(),
            cache_dir: default_cache_dir(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_max_megapixels() -> u32 {
    100
}
fn default_cache_dir() -> String {
    ".sopixi-cache".to_string()
}

/// `deploy:` in `site.yaml`: where `sopixi deploy` publishes, and the headers files get.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// Named targets; `sopixi deploy --to NAME` picks one, the first is the default.
    #[serde(default)]
    pub targets: Vec<DeployTarget>,
    /// Header rules, first match wins per header: `{pattern: "fonts/**", cache_control: "…"}`.
    #[serde(default)]
    pub(crate) matchers: Vec<DeployMatcher>,
    /// Upload text files gzip-compressed with `Content-Encoding: gzip`.
    #[serde(default)]
    pub gzip: bool,
    /// Abort before deleting more than this many objects (`--max-deletes` overrides it).
    #[serde(default)]
    pub max_deletes: Option<usize>,
}

/// One place the site is published to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeployTarget {
    /// The name given to `--to`.
    pub name: String,
    /// `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix` or `file:///folder`.
    pub url: String,
    /// S3-compatible endpoint (OVHcloud, Scaleway, R2, MinIO …), e.g. `https://s3.gra.io.cloud.ovh.net`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region of the bucket.
    #[serde(default)]
    pub region: Option<String>,
}

/// Headers for the files whose site path matches a glob (`*` within a folder, `**` across).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeployMatcher {
    /// Glob over the site path without leading slash, e.g. `**/*.woff2` or `blog/**`.
    pub(crate) pattern: String,
    /// `Cache-Control` value for matching files.
    #[serde(default)]
    pub cache_control: Option<String>,
    /// `Content-Type` value for matching files.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Whether matching files are gzip-compressed (overrides `gzip`).
    #[serde(default)]
    pub gzip: Option<bool>,
}

fn yes() -> bool {
    true
}
fn default_language() -> String {
    "en".into()
}
fn default_taxonomies() -> Vec<String> {
    vec!["tags".into()]
}
fn default_per_page() -> usize {
    10
}
fn default_page_path() -> String {
    "page".into()
}
fn default_feed_limit() -> usize {
    20
}
fn default_widths() -> Vec<u32> {
    vec![480, 960, 1600]
}
fn default_quality() -> u8 {
    80
}

/// Options from the command line that change what a build produces.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Include pages marked `draft: true`.
    pub drafts: bool,
    /// Replace `base_url` (e.g. for a preview deployment).
    pub base_url: Option<String>,
    /// Force minification off even when `site.yaml` asks for it.
    pub no_minify: bool,
    /// Theme folder to use instead of the one `site.yaml` names.
    pub theme_dir: Option<PathBuf>,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Pages the platform withholds: (content file under `content/` or URL, reason). Each is
    /// left out of the build and its URL answered by a notice.
    pub withheld: Vec<(String, String)>,
    /// The platform rates every page of the site adult (age gate everywhere).
    pub adult_site: bool,
    /// Pages (content files or URLs) the platform rates adult.
    pub adult_pages: Vec<String>,
    /// The platform's theme catalog: a folder of theme folders, looked in after the site's
    /// `themes/` and before the bundled themes.
    pub theme_catalog: Option<PathBuf>,
    /// Where resized images are kept, instead of the site's `images.cache_dir` (platform runs
    /// keep caches out of partner folders). Does not change what is built.
    pub cache_dir: Option<PathBuf>,
    /// The moment the build must be done by (the platform's per-partner time limit): past it,
    /// renders stop and the build fails. Does not change what a build that finishes makes.
    pub deadline: Option<std::time::Instant>,
    /// The id contact forms post under (`platform build` gives the partner's id; otherwise the
    /// site's domain, or the host of its `base_url`).
    pub form_id: Option<String>,
}

impl BuildOptions {
    /// Feeds every option that changes what a build produces into `h`. The destructuring names
    /// every field: a new option does not compile until it is hashed here (or said not to matter).
    pub(crate) fn hash_into(&self, h: &mut blake3::Hasher) {
        let BuildOptions {
            drafts,
            base_url,
            no_minify,
            theme_dir,
            progress: _,
            withheld,
            adult_site,
            adult_pages,
            cache_dir: _,
            deadline: _,
            theme_catalog,
            form_id,
        } = self;
        h.update(format!("{drafts:?}|{base_url:?}|{no_minify}|{theme_dir:?}").as_bytes());
        if let Some(c) = theme_catalog {
            h.update(format!("|{c:?}").as_bytes());
        }
        if let Some(f) = form_id {
            h.update(format!("|form {f}").as_bytes());
        }
        if !withheld.is_empty() || *adult_site || !adult_pages.is_empty() {
            h.update(format!("|{withheld:?}|{adult_site}|{adult_pages:?}").as_bytes());
        }
    }
}

/// The resolved configuration: `site.yaml` merged with [`BuildOptions`], validated once.
#[derive(Debug, Clone)]
pub struct Config {
    /// The site's own settings, with `base_url` normalised to end with `/`.
    pub site: SiteConfig,
    /// Drafts are rendered.
    pub drafts: bool,
    /// Output is minified.
    pub minify: bool,
    /// Theme folder override.
    pub theme_dir: Option<PathBuf>,
    /// The platform's theme catalog.
    pub(crate) theme_catalog: Option<PathBuf>,
}

impl Config {
    /// Parses and validates `site.yaml`, then applies the command-line options.
    pub fn load(text: &str, opts: &BuildOptions) -> Result<Config, Vec<Diagnostic>> {
        let mut site: SiteConfig = parse_without_switches(SITE_FILE, text)?;
        if let Some(url) = &opts.base_url {
            site.base_url = url.clone();
        }
        let mut errors = Vec::new();
        let line_of = |key: &str| key_line(text, key);
        if site.title.trim().is_empty() {
            errors.push(
                Diagnostic::new(SITE_FILE, "`title` is empty").at(line_of("title"), None).hint("give the site a name"),
            );
        }
        if !(site.base_url.starts_with("http://")
            || site.base_url.starts_with("https://")
            || site.base_url.starts_with('/'))
        {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("`base_url` `{}` is not an absolute URL", site.base_url))
                    .at(line_of("base_url"), None)
                    .hint("write it as https://example.org/ (or / for relative links)"),
            );
        }
        if let Some(d) = &site.domain {
            if !crate::policy::valid_host(d) {
                errors.push(
                    Diagnostic::new(SITE_FILE, format!("`domain` `{d}` is not a host name"))
                        .at(line_of("domain"), None)
                        .hint("write the host alone, without https:// or a path, e.g. www.example.fr"),
                );
            }
        }
        if !site.base_url.ends_with('/') {
            site.base_url.push('/');
        }
        if site.pagination.path.is_empty() || site.pagination.path.contains('/') {
            errors.push(
                Diagnostic::new(SITE_FILE, "`pagination.path` must be one URL segment, e.g. `page`")
                    .at(line_of("pagination"), None),
            );
        }
        if !(1..=100).contains(&site.images.quality) {
            errors.push(
                Diagnostic::new(SITE_FILE, "`images.quality` must be between 1 and 100").at(line_of("images"), None),
            );
        }
        if site.images.widths.is_empty() || site.images.widths.iter().any(|&w| w == 0 || w > 10_000) {
            errors.push(
                Diagnostic::new(SITE_FILE, "`images.widths` must list widths between 1 and 10000 pixels")
                    .at(line_of("images"), None)
                    .hint("for example `widths: [480, 960, 1600]`"),
            );
        }
        site.images.widths.sort_unstable();
        site.images.widths.dedup();
        if site.images.max_megapixels == 0 {
            errors.push(
                Diagnostic::new(SITE_FILE, "`images.max_megapixels` must be at least 1").at(line_of("images"), None),
            );
        }
        if crate::util::text::escapes(&site.images.cache_dir) {
            errors.push(
                Diagnostic::new(SITE_FILE, "`images.cache_dir` must be a folder inside the site")
                    .at(line_of("images"), None)
                    .hint("write a relative path such as `.sopixi-cache`"),
            );
        }
        check_taxonomies(&site, text, &mut errors);
        check_languages(&site, text, &mut errors);
        if let Some(l) = &site.legal {
            errors.extend(crate::site::business::check_legal(l, text));
        }
        if let Some(b) = &site.business {
            errors.extend(crate::site::business::check_business(b, text));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let minify = site.minify && !opts.no_minify;
        Ok(Config {
            site,
            drafts: opts.drafts,
            minify,
            theme_dir: opts.theme_dir.clone(),
            theme_catalog: opts.theme_catalog.clone(),
        })
    }

    /// Every language of the site, the default first, then the others by code.
    pub fn languages(&self) -> Vec<&str> {
        std::iter::once(self.site.language.as_str()).chain(self.site.languages.keys().map(String::as_str)).collect()
    }

    /// Whether the site has more than one language.
    pub fn multilingual(&self) -> bool {
        !self.site.languages.is_empty()
    }

    /// The URL path of a language's home: `/` for the default language (`/fr/` when it has its
    /// own folder), `/en/` for the others.
    pub(crate) fn language_root(&self, lang: &str) -> String {
        if lang == self.site.language && !(self.site.default_language_in_subfolder && self.multilingual()) {
            "/".into()
        } else {
            format!("/{lang}/")
        }
    }

    /// The id this site's contact forms post under: the build's `form_id`, else the site's
    /// `domain`, else the host of its `base_url` (`site` for a relative one).
    pub(crate) fn form_id(&self, opts: &BuildOptions) -> String {
        if let Some(id) = &opts.form_id {
            return id.clone();
        }
        if let Some(d) = &self.site.domain {
            return d.clone();
        }
        let url = &self.site.base_url;
        url.split_once("://")
            .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or("").to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "site".into())
    }

    /// The absolute URL of a site path (`/blog/` → `https://example.org/blog/`).
    pub(crate) fn permalink(&self, path: &str) -> String {
        format!("{}{}", self.site.base_url, path.trim_start_matches('/'))
    }
}

/// `taxonomies:`: names a URL and a front matter key can carry, none twice, none a front matter
/// key of its own.
fn check_taxonomies(site: &SiteConfig, text: &str, errors: &mut Vec<Diagnostic>) {
    let line_of = |key: &str| key_line(text, key);
    for (i, t) in site.taxonomies.iter().enumerate() {
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()) {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("taxonomy name `{t}` must be lower-case letters, digits or `_`"))
                    .at(line_of("taxonomies"), None),
            );
        }
        if FRONT_MATTER_KEYS.contains(&t.as_str()) && t != "tags" {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("taxonomy `{t}` clashes with the front matter key of that name"))
                    .at(line_of("taxonomies"), None),
            );
        }
        if site.taxonomies[..i].contains(t) {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("taxonomy `{t}` is listed twice")).at(line_of("taxonomies"), None),
            );
        }
    }
}

/// `language:` and `languages:`: language codes, the default not listed again, at most
/// [`MAX_LANGUAGES`].
fn check_languages(site: &SiteConfig, text: &str, errors: &mut Vec<Diagnostic>) {
    let line_of = |key: &str| key_line(text, key);
    let lang_ok = |l: &str| {
        let mut parts = l.split('-');
        let main = parts.next().unwrap_or("");
        (2..=3).contains(&main.len())
            && main.chars().all(|c| c.is_ascii_lowercase())
            && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    if !lang_ok(&site.language) {
        errors.push(
            Diagnostic::new(SITE_FILE, format!("`language` `{}` is not a language code", site.language))
                .at(line_of("language"), None)
                .hint("write a lower-case code such as fr, en, nl, de (or fr-BE)"),
        );
    }
    if site.languages.len() >= MAX_LANGUAGES {
        errors.push(
            Diagnostic::new(
                SITE_FILE,
                format!("`languages` lists {} languages; a site has at most {MAX_LANGUAGES}", site.languages.len() + 1),
            )
            .at(line_of("languages"), None)
            .hint("each language is a whole copy of the site's tree: split the site, or drop languages nobody reads"),
        );
    }
    for l in site.languages.keys() {
        let at = crate::util::yaml::any_key_line(text, l).or_else(|| line_of("languages"));
        if !lang_ok(l) {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("`languages.{l}`: `{l}` is not a language code"))
                    .at(at, None)
                    .hint("write a lower-case code such as en, nl, de"),
            );
        } else if *l == site.language {
            errors.push(
                Diagnostic::new(SITE_FILE, format!("`languages.{l}` is the default language"))
                    .at(at, None)
                    .hint("`languages` lists the other languages; the default one is set by `language`"),
            );
        } else if l.contains('-') {
            errors.push(
                Diagnostic::new(
                    SITE_FILE,
                    format!("`languages.{l}`: a translated file is named `page.{l}.md`, so write the language alone"),
                )
                .at(at, None)
                .hint("use the two-letter code, e.g. `en`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_build_option_that_changes_output_changes_the_hash() {
        let key = |o: &BuildOptions| {
            let mut h = blake3::Hasher::new();
            o.hash_into(&mut h);
            h.finalize()
        };
        let base = BuildOptions::default();
        let variants = [
            BuildOptions { drafts: true, ..Default::default() },
            BuildOptions { base_url: Some("https://preview.example/".into()), ..Default::default() },
            BuildOptions { no_minify: true, ..Default::default() },
            BuildOptions { theme_dir: Some("/themes/x".into()), ..Default::default() },
        ];
        for v in &variants {
            assert_ne!(key(v), key(&base), "{v:?}");
        }
        // A progress bar changes no output.
        assert_eq!(key(&BuildOptions { progress: true, ..Default::default() }), key(&base));
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::load("title: T\nbase_url: https://x.org\n", &BuildOptions::default()).unwrap();
        assert_eq!(c.site.base_url, "https://x.org/");
        assert_eq!(c.site.language, "en");
        assert_eq!(c.site.taxonomies, vec!["tags"]);
        assert!(c.minify);
        assert_eq!(c.permalink("/blog/"), "https://x.org/blog/");
    }

    #[test]
    fn unknown_key_is_named_with_line_and_suggestion() {
        let e = Config::load("title: T\nbase_url: https://x.org\ntitel: x\n", &BuildOptions::default()).unwrap_err();
        let d = &e[0];
        assert!(d.message.contains("unknown key `titel`"), "{d}");
        assert_eq!(d.line, Some(3));
        assert!(d.hint.as_deref().unwrap().contains("did you mean `title`"), "{d}");
    }

    #[test]
    fn deploy_section_is_typed() {
        let c = Config::load(
            "title: T\nbase_url: https://x.org\ndeploy:\n  targets:\n    - { name: prod, url: \"s3://b/site\" }\n  gzip: true\n",
            &BuildOptions::default(),
        )
        .unwrap();
        assert_eq!(c.site.deploy.targets[0].url, "s3://b/site");
        assert!(c.site.deploy.gzip);
        let e = Config::load("title: T\nbase_url: https://x.org\ndeploy:\n  target: []\n", &BuildOptions::default())
            .unwrap_err();
        assert!(e[0].message.contains("unknown key `target` in `deploy`"), "{}", e[0]);
        assert_eq!(e[0].line, Some(4));
        assert!(e[0].hint.as_deref().unwrap().contains("did you mean `targets`"), "{}", e[0]);
    }

    #[test]
    fn base_url_override_and_validation() {
        let opts = BuildOptions { base_url: Some("http://127.0.0.1:1111".into()), ..Default::default() };
        let c = Config::load("title: T\nbase_url: https://x.org/\n", &opts).unwrap();
        assert_eq!(c.site.base_url, "http://127.0.0.1:1111/");
        let e = Config::load("title: T\nbase_url: x.org\n", &BuildOptions::default()).unwrap_err();
        assert_eq!(e[0].line, Some(2));
    }
}
