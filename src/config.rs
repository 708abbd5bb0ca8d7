//! Site configuration: `site.yaml`, merged with command-line options into one resolved, validated,
//! immutable [`Config`] that is passed down by reference.
//!
//! In: the text of `site.yaml` and [`BuildOptions`]. Out: a [`Config`], or diagnostics naming the
//! line, the column and a "did you mean" for unknown keys. Never reads the disk itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::diag::{did_you_mean, Diagnostic};
use crate::yaml::{self, YamlError};

/// The name of the site configuration file, at the site root.
pub const SITE_FILE: &str = "site.yaml";

/// `site.yaml` as the partner writes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The site's name, shown in titles and feeds.
    pub title: String,
    /// Absolute URL the site is published at, e.g. `https://bakery.example/`.
    pub base_url: String,
    /// Language code of the content (`fr`, `en` …), used for `<html lang>` and platform notices.
    #[serde(default = "default_language")]
    pub language: String,
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
    pub pagination: Pagination,
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
    /// Deployment targets and publishing rules, read by `sopixi deploy`.
    #[serde(default)]
    pub deploy: DeployConfig,
    /// Free-form values for themes, available as `site.extra`.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
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
pub struct Pagination {
    /// Pages per listing page; 0 turns pagination off.
    #[serde(default = "default_per_page")]
    pub per_page: usize,
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
    pub highlight_code: bool,
    /// Turn straight quotes and dashes into typographic ones.
    #[serde(default = "yes")]
    pub smart_punctuation: bool,
    /// Add a `#` link to every heading.
    #[serde(default = "yes")]
    pub heading_anchors: bool,
    /// Open external links in a new tab (`target="_blank" rel="noopener"`).
    #[serde(default)]
    pub external_links_new_tab: bool,
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
    pub matchers: Vec<DeployMatcher>,
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
pub struct DeployMatcher {
    /// Glob over the site path without leading slash, e.g. `**/*.woff2` or `blog/**`.
    pub pattern: String,
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
    /// The platform policy (built-in defaults unless the operator passed `--policy`).
    pub policy: Policy,
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
    /// The platform policy.
    pub policy: Policy,
}

impl Config {
    /// Parses and validates `site.yaml`, then applies the command-line options.
    pub fn load(text: &str, opts: &BuildOptions) -> Result<Config, Vec<Diagnostic>> {
        let tree: yaml::Value = yaml::from_str(text).map_err(|e| vec![yaml_diagnostic(SITE_FILE, e, 0)])?;
        let switches = platform_switches(SITE_FILE, text, &tree);
        if !switches.is_empty() {
            return Err(switches);
        }
        drop(tree);
        // Parsed again from the text: only then do serde_yaml's errors carry their line.
        let mut site: SiteConfig = yaml::from_str(text).map_err(|e| vec![yaml_diagnostic(SITE_FILE, e, 0)])?;
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
        if crate::images::escapes(&site.images.cache_dir) {
            errors.push(
                Diagnostic::new(SITE_FILE, "`images.cache_dir` must be a folder inside the site")
                    .at(line_of("images"), None)
                    .hint("write a relative path such as `.sopixi-cache`"),
            );
        }
        for (i, t) in site.taxonomies.iter().enumerate() {
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()) {
                errors.push(
                    Diagnostic::new(
                        SITE_FILE,
                        format!("taxonomy name `{t}` must be lower-case letters, digits or `_`"),
                    )
                    .at(line_of("taxonomies"), None),
                );
            }
            if crate::content::FRONT_MATTER_KEYS.contains(&t.as_str()) && t != "tags" {
                errors.push(
                    Diagnostic::new(
                        SITE_FILE,
                        format!("taxonomy `{t}` clashes with the front matter key of that name"),
                    )
                    .at(line_of("taxonomies"), None),
                );
            }
            if site.taxonomies[..i].contains(t) {
                errors.push(
                    Diagnostic::new(SITE_FILE, format!("taxonomy `{t}` is listed twice"))
                        .at(line_of("taxonomies"), None),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let minify = site.minify && !opts.no_minify;
        Ok(Config { site, drafts: opts.drafts, minify, theme_dir: opts.theme_dir.clone(), policy: opts.policy.clone() })
    }

    /// The absolute URL of a site path (`/blog/` → `https://example.org/blog/`).
    pub fn permalink(&self, path: &str) -> String {
        format!("{}{}", self.site.base_url, path.trim_start_matches('/'))
    }
}

/// The 1-based line of the first `key:` at any depth of YAML text (for messages about nested
/// keys, where the first occurrence is the best guess there is).
pub fn any_key_line(text: &str, key: &str) -> Option<usize> {
    let needle = format!("{key}:");
    text.lines().position(|l| l.trim_start().starts_with(&needle)).map(|i| i + 1)
}

/// The 1-based line where a top-level `key:` is written in YAML text, if it is.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines().position(|l| l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':'))).map(|i| i + 1)
}

/// Turns a YAML error into a diagnostic for `file`, whose YAML starts after `line_offset` lines.
/// Unknown keys become "unknown key `x`" with a "did you mean" and the list of valid keys.
pub fn yaml_diagnostic(file: &str, e: YamlError, line_offset: usize) -> Diagnostic {
    let line = e.line.map(|l| l + line_offset);
    if let Some(rest) = e.message.split_once("unknown field `").map(|(_, r)| r) {
        if let Some((field, tail)) = rest.split_once('`') {
            let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            let path_prefix = e.message.split(": unknown field").next().filter(|p| *p != e.message).unwrap_or("");
            let mut hint = match did_you_mean(field, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            hint.push_str(&format!("valid keys here: {}", expected.join(", ")));
            let place = if path_prefix.is_empty() { String::new() } else { format!(" in `{path_prefix}`") };
            return Diagnostic::new(file, format!("unknown key `{field}`{place}")).at(line, e.column).hint(hint);
        }
    }
    Diagnostic::new(file, format!("invalid YAML: {}", e.message))
        .at(line, e.column)
        .hint("check the indentation and the quoting of values")
}

/// A theme's `theme.yaml`: who made it and what it costs on the platform's catalogue.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeMeta {
    /// The theme's name.
    #[serde(default)]
    pub name: String,
    /// One sentence for the catalogue.
    #[serde(default)]
    pub description: String,
    /// Who made it.
    #[serde(default)]
    pub designer: String,
    /// Licence of the theme's files.
    #[serde(default)]
    pub license: String,
    /// Price on the platform (0 for free themes).
    #[serde(default)]
    pub price: f64,
    /// Version of the theme.
    #[serde(default)]
    pub version: String,
}

impl ThemeMeta {
    /// Parses `theme.yaml` (named `file` in messages). A key that tries to turn off a platform
    /// element is an error, as is any unknown key.
    pub fn parse(file: &str, text: &str) -> Result<ThemeMeta, Vec<Diagnostic>> {
        let tree: yaml::Value = yaml::from_str(text).map_err(|e| vec![yaml_diagnostic(file, e, 0)])?;
        let switches = platform_switches(file, text, &tree);
        if !switches.is_empty() {
            return Err(switches);
        }
        drop(tree);
        yaml::from_str(text).map_err(|e| vec![yaml_diagnostic(file, e, 0)])
    }
}

/// The notice's texts in one language.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeText {
    /// What the notice says.
    pub message: String,
    /// The accept button.
    pub accept: String,
    /// The refuse button (as easy to reach as accept).
    pub refuse: String,
    /// The link beside the badge that opens the notice again.
    pub settings: String,
    /// The age gate's warning.
    pub age_warning: String,
    /// The age gate's confirmation button.
    pub age_confirm: String,
}

/// The colours of the platform elements (hex `#rgb` or `#rrggbb`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyColors {
    /// Text of the settings link and of the notice.
    pub text: String,
    /// Background of the platform block and of the notice.
    pub background: String,
    /// Accept button and focus ring.
    pub accent: String,
}

/// The platform operator's rules for the badge, the cookie notice and the age gate: built-in
/// defaults, optionally reworded and restyled by a `policy.yaml`. Nothing here turns them off.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Where the badge links to.
    pub badge_url: String,
    /// The badge's accessible name.
    pub badge_label: String,
    /// A replacement logo: (file extension `svg` or `png`, bytes). `None`: the built-in logo.
    pub logo: Option<(String, Vec<u8>)>,
    /// Colours of the platform elements.
    pub colors: PolicyColors,
    /// Notice texts by language code; `en` is the fallback.
    pub texts: Vec<(String, NoticeText)>,
    /// Disk use the platform allows a site.
    pub quotas: Quotas,
}

/// Sizes the platform allows, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// The whole built site.
    #[serde(default = "default_site_bytes")]
    pub site_bytes: u64,
    /// Any one file of the built site.
    #[serde(default = "default_file_bytes")]
    pub file_bytes: u64,
    /// Any one video file (the terms of service: 5 MB).
    #[serde(default = "default_video_bytes")]
    pub video_bytes: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            site_bytes: default_site_bytes(),
            file_bytes: default_file_bytes(),
            video_bytes: default_video_bytes(),
        }
    }
}
fn default_site_bytes() -> u64 {
    1_000_000_000
}
fn default_file_bytes() -> u64 {
    50_000_000
}
fn default_video_bytes() -> u64 {
    5_000_000
}

/// File extensions of videos (held to [`Quotas::video_bytes`]).
pub const VIDEO_EXTENSIONS: &[&str] =
    &["mp4", "m4v", "mov", "webm", "ogv", "avi", "mkv", "mpg", "mpeg", "3gp", "wmv", "flv"];

/// A byte count for people: `7.3 MB`.
pub fn human_bytes(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{:.1} GB", n as f64 / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{:.1} kB", n as f64 / 1e3)
    } else {
        format!("{n} bytes")
    }
}

impl Default for Policy {
    fn default() -> Self {
        let en = NoticeText {
            message: "This site uses cookies only with your consent.".into(),
            accept: "Accept".into(),
            refuse: "Refuse".into(),
            settings: "Cookie settings".into(),
            age_warning: "This page is for adults only. Are you 18 or older?".into(),
            age_confirm: "I am 18 or older".into(),
        };
        let fr = NoticeText {
            message: "Ce site n'utilise des cookies qu'avec votre accord.".into(),
            accept: "Accepter".into(),
            refuse: "Refuser".into(),
            settings: "Paramètres des cookies".into(),
            age_warning: "Cette page est réservée aux adultes. Avez-vous 18 ans ou plus ?".into(),
            age_confirm: "J'ai 18 ans ou plus".into(),
        };
        Policy {
            badge_url: "https://sopixi.com/".into(),
            badge_label: "Website made with Sopixi".into(),
            logo: None,
            colors: PolicyColors { text: "#1f2a44".into(), background: "#ffffff".into(), accent: "#1f2a44".into() },
            texts: vec![("en".into(), en), ("fr".into(), fr)],
            quotas: Quotas::default(),
        }
    }
}

impl Policy {
    /// The texts for `language` (`fr-CA` → `fr`), falling back to English.
    pub fn text(&self, language: &str) -> &NoticeText {
        let lang = language.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        self.texts
            .iter()
            .find(|(l, _)| *l == lang)
            .or_else(|| self.texts.iter().find(|(l, _)| l == "en"))
            .or_else(|| self.texts.first())
            .map(|(_, t)| t)
            .expect("a policy has at least one language")
    }

    /// Parses the text of a `policy.yaml` (named `file` in messages) over the built-in defaults.
    /// Returns the policy and the logo path it names (relative to the policy file), which the
    /// caller reads and puts in [`Policy::logo`].
    pub fn parse(file: &str, text: &str) -> Result<(Policy, Option<String>), Vec<Diagnostic>> {
        let tree: yaml::Value = yaml::from_str(text).map_err(|e| vec![yaml_diagnostic(file, e, 0)])?;
        let mut errors = Vec::new();
        find_switches(file, text, &tree, "", &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        drop(tree);
        let raw: RawPolicy = yaml::from_str(text).map_err(|e| vec![yaml_diagnostic(file, e, 0)])?;
        let mut p = Policy::default();
        if let Some(q) = raw.quotas {
            p.quotas = q;
        }
        let line = |key: &str| any_key_line(text, key);
        if let Some(url) = raw.badge.url {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(['"', '<', '>', ' ']) {
                errors.push(
                    Diagnostic::new(file, format!("`badge.url` `{url}` is not a web address"))
                        .at(line("url"), None)
                        .hint("write it as https://sopixi.com/"),
                );
            }
            p.badge_url = url;
        }
        if let Some(label) = raw.badge.label {
            if label.trim().is_empty() {
                errors.push(
                    Diagnostic::new(file, "`badge.label` is empty")
                        .at(line("label"), None)
                        .hint("the badge needs an accessible name, e.g. \"Website made with Sopixi\""),
                );
            }
            p.badge_label = label;
        }
        if let Some(logo) = &raw.badge.logo {
            let ext = logo.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            if ext != "svg" && ext != "png" {
                errors.push(
                    Diagnostic::new(file, format!("`badge.logo` `{logo}` is not an SVG or PNG file"))
                        .at(line("logo"), None)
                        .hint("use a .svg or .png file of about 72×20 pixels"),
                );
            }
        }
        let c = raw.colors;
        for (key, value, slot) in [
            ("text", c.text, &mut p.colors.text),
            ("background", c.background, &mut p.colors.background),
            ("accent", c.accent, &mut p.colors.accent),
        ] {
            if let Some(v) = value {
                if hex_rgb(&v).is_none() {
                    errors.push(
                        Diagnostic::new(file, format!("`colors.{key}` `{v}` is not a hex colour"))
                            .at(line(key), None)
                            .hint("write it as #1f2a44 or #fff"),
                    );
                }
                *slot = v;
            }
        }
        if let (Some(fg), Some(bg)) = (hex_rgb(&p.colors.text), hex_rgb(&p.colors.background)) {
            let ratio = contrast(fg, bg);
            if ratio < 4.5 {
                errors.push(
                    Diagnostic::new(
                        file,
                        format!(
                            "`colors.text` {} on `colors.background` {} has a contrast of {ratio:.1}:1, below 4.5:1",
                            p.colors.text, p.colors.background
                        ),
                    )
                    .at(line("colors"), None)
                    .hint("the notice must stay readable (WCAG AA): darken the text or lighten the background"),
                );
            }
        }
        for (lang, t) in raw.notice {
            if lang.is_empty() || lang.len() > 8 || !lang.chars().all(|ch| ch.is_ascii_alphabetic()) {
                errors.push(
                    Diagnostic::new(file, format!("`notice.{lang}`: a language code is letters only, e.g. en, fr, de"))
                        .at(line(&lang), None),
                );
                continue;
            }
            let lang = lang.to_ascii_lowercase();
            let base = p
                .texts
                .iter()
                .find(|(l, _)| *l == lang)
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| p.text("en").clone());
            let mut merged = base;
            for (key, value, slot) in [
                ("message", t.message, &mut merged.message),
                ("accept", t.accept, &mut merged.accept),
                ("refuse", t.refuse, &mut merged.refuse),
                ("settings", t.settings, &mut merged.settings),
                ("age_warning", t.age_warning, &mut merged.age_warning),
                ("age_confirm", t.age_confirm, &mut merged.age_confirm),
            ] {
                if let Some(v) = value {
                    if v.trim().is_empty() {
                        errors.push(
                            Diagnostic::new(file, format!("`notice.{lang}.{key}` is empty"))
                                .at(line(key), None)
                                .hint("reword the text, it cannot be blank"),
                        );
                    }
                    *slot = v;
                }
            }
            match p.texts.iter_mut().find(|(l, _)| *l == lang) {
                Some((_, t)) => *t = merged,
                None => p.texts.push((lang, merged)),
            }
        }
        if errors.is_empty() {
            Ok((p, raw.badge.logo))
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    badge: RawBadge,
    #[serde(default)]
    colors: RawColors,
    #[serde(default)]
    notice: BTreeMap<String, RawTexts>,
    #[serde(default)]
    quotas: Option<Quotas>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBadge {
    url: Option<String>,
    label: Option<String>,
    logo: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColors {
    text: Option<String>,
    background: Option<String>,
    accent: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTexts {
    message: Option<String>,
    accept: Option<String>,
    refuse: Option<String>,
    settings: Option<String>,
    age_warning: Option<String>,
    age_confirm: Option<String>,
}

/// `#rgb` / `#rrggbb` → (r, g, b).
fn hex_rgb(s: &str) -> Option<(u8, u8, u8)> {
    let h = s.strip_prefix('#')?;
    if !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = |i: usize, n: usize| u8::from_str_radix(&h[i..i + n], 16).ok();
    match h.len() {
        3 => Some((v(0, 1)? * 17, v(1, 1)? * 17, v(2, 1)? * 17)),
        6 => Some((v(0, 2)?, v(2, 2)?, v(4, 2)?)),
        _ => None,
    }
}

/// WCAG contrast ratio of two sRGB colours.
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    fn lum((r, g, b): (u8, u8, u8)) -> f64 {
        let ch = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)
    }
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// Names of the platform elements, as a key would mention them.
const PLATFORM_WORDS: &[&str] =
    &["badge", "sopixi", "cookie", "consent", "age_gate", "agegate", "age_verification", "compliance"];
/// Words that, in a key, ask for something to be turned off.
const OFF_WORDS: &[&str] = &["hide", "disable", "remove", "no", "without", "skip", "suppress", "off"];

/// Whether `key: value` looks like an attempt to turn a platform element off, e.g.
/// `hide_badge: true`, `cookie_notice: false`, `badge: {enabled: false}`.
pub fn is_platform_switch(key: &str, value: &serde_json::Value) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    let mentions = PLATFORM_WORDS.iter().any(|w| k.contains(w));
    if !mentions {
        return false;
    }
    let parts: Vec<&str> = k.split('_').collect();
    let off_key = parts.iter().any(|p| OFF_WORDS.contains(p)) || k.starts_with("hide") || k.starts_with("disable");
    let off_value = match value {
        serde_json::Value::Bool(b) => !b,
        serde_json::Value::String(s) => {
            matches!(s.to_ascii_lowercase().as_str(), "off" | "none" | "no" | "false" | "hidden" | "disabled")
        }
        serde_json::Value::Object(m) => m.iter().any(|(k2, v2)| {
            let k2 = k2.to_ascii_lowercase();
            (matches!(k2.as_str(), "enabled" | "enable" | "show" | "visible" | "display")
                && matches!(v2, serde_json::Value::Bool(false)))
                || (matches!(k2.as_str(), "disabled" | "hidden" | "hide" | "remove")
                    && matches!(v2, serde_json::Value::Bool(true)))
        }),
        _ => false,
    };
    (off_key && !matches!(value, serde_json::Value::Bool(false))) || off_value
}

/// The message for a key that tries to turn a platform element off.
pub fn platform_switch_diagnostic(file: &str, key: &str, line: Option<usize>) -> Diagnostic {
    Diagnostic::new(file, format!("`{key}` tries to turn off a platform element"))
        .at(line, None)
        .hint("the Sopixi badge, the cookie notice and the age gate are required by the platform's terms on every page and cannot be disabled; remove this key")
}

/// Every top-level key of a YAML file (and every key under its `extra`) that tries to turn a
/// platform element off, as diagnostics for `file`.
pub fn platform_switches(file: &str, text: &str, tree: &yaml::Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(m) = tree.as_mapping() else { return out };
    let mut check = |k: &str, v: &yaml::Value, place: &str| {
        if is_platform_switch(k, &yaml::to_json(v)) {
            let line = any_key_line(text, k);
            out.push(platform_switch_diagnostic(file, &format!("{place}{k}"), line));
        }
    };
    for (k, v) in m {
        let Some(k) = k.as_str() else { continue };
        check(k, v, "");
        if k == "extra" {
            if let Some(extra) = v.as_mapping() {
                for (k2, v2) in extra {
                    if let Some(k2) = k2.as_str() {
                        check(k2, v2, "extra.");
                    }
                }
            }
        }
    }
    out
}

/// Reports every key of a policy that would turn an element off (`enabled: false`, `badge: off` …).
fn find_switches(file: &str, text: &str, v: &yaml::Value, path: &str, errors: &mut Vec<Diagnostic>) {
    if let yaml::Value::Mapping(m) = v {
        for (k, child) in m {
            let Some(k) = k.as_str() else { continue };
            let full = if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
            let lower = k.to_ascii_lowercase();
            let switch = matches!(
                lower.as_str(),
                "enabled" | "enable" | "disabled" | "disable" | "hidden" | "hide" | "show" | "visible" | "remove"
            ) || (matches!(lower.as_str(), "badge" | "notice" | "age_gate" | "cookie_notice")
                && !matches!(child, yaml::Value::Mapping(_)))
                || is_platform_switch(k, &yaml::to_json(child)) && !matches!(child, yaml::Value::Mapping(_));
            if switch {
                let line = any_key_line(text, k);
                errors.push(
                    Diagnostic::new(file, format!("`{full}`: the policy can restyle the badge and reword the notice, not turn them off"))
                        .at(line, None)
                        .hint("the badge, the cookie notice and the age gate are always on; change their texts, link, logo or colours instead"),
                );
            } else {
                find_switches(file, text, child, &full, errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn policy_rewords_restyles_and_adds_languages() {
        let text = "badge:\n  url: https://platform.example/\n  label: Made with Example\ncolors:\n  text: '#000'\n  background: '#ffffff'\nnotice:\n  en:\n    accept: OK\n  de:\n    accept: Annehmen\n";
        let (p, logo) = Policy::parse("policy.yaml", text).unwrap();
        assert!(logo.is_none());
        assert_eq!(p.badge_url, "https://platform.example/");
        assert_eq!(p.text("en").accept, "OK");
        assert_eq!(p.text("en").refuse, "Refuse");
        assert_eq!(p.text("de-AT").accept, "Annehmen");
        assert_eq!(p.text("de").refuse, "Refuse", "missing German texts fall back to English");
        assert_eq!(p.text("fr").accept, "Accepter");
        assert_eq!(p.colors.text, "#000");
        assert_eq!(p.quotas.video_bytes, 5_000_000, "the terms' 5 MB by default");
        let (p, _) = Policy::parse("policy.yaml", "quotas:\n  video_bytes: 8000000\n").unwrap();
        assert_eq!((p.quotas.video_bytes, p.quotas.site_bytes), (8_000_000, 1_000_000_000));
        assert!(Policy::parse("policy.yaml", "quotas:\n  videos: 1\n").is_err());
    }

    #[test]
    fn policy_cannot_turn_anything_off() {
        for text in [
            "badge:\n  enabled: false\n",
            "badge: false\n",
            "notice: off\n",
            "cookie_notice: false\n",
            "notice:\n  en:\n    hidden: true\n",
        ] {
            let e = Policy::parse("policy.yaml", text).unwrap_err();
            assert!(e[0].message.contains("not turn them off"), "{text}: {}", e[0]);
            assert!(e[0].line.is_some(), "{text}: {}", e[0]);
        }
    }

    #[test]
    fn policy_rejects_bad_values_with_lines() {
        let e = Policy::parse("p.yaml", "badge:\n  url: javascript:alert(1)\n").unwrap_err();
        assert_eq!(e[0].line, Some(2));
        let e = Policy::parse("p.yaml", "colors:\n  text: '#eeeeee'\n  background: '#ffffff'\n").unwrap_err();
        assert!(e[0].message.contains("contrast"), "{}", e[0]);
        let e = Policy::parse("p.yaml", "colors:\n  text: red;}body{display:none\n").unwrap_err();
        assert!(e[0].message.contains("not a hex colour"), "{}", e[0]);
        let e = Policy::parse("p.yaml", "badge:\n  lable: x\n").unwrap_err();
        assert!(e[0].message.contains("unknown key `lable`"), "{}", e[0]);
        let e = Policy::parse("p.yaml", "notice:\n  en:\n    accept: ''\n").unwrap_err();
        assert!(e[0].message.contains("empty"), "{}", e[0]);
    }

    #[test]
    fn site_and_theme_keys_that_switch_elements_off_are_errors() {
        let o = BuildOptions::default();
        for (text, line) in [
            ("title: T\nbase_url: /\nhide_badge: true\n", 3),
            ("title: T\nbase_url: /\ncookie_notice: false\n", 3),
            ("title: T\nbase_url: /\nextra:\n  show_sopixi_badge: false\n", 4),
            ("title: T\nbase_url: /\nextra:\n  disable_cookie_banner: yes\n", 4),
        ] {
            let e = Config::load(text, &o).unwrap_err();
            assert!(e[0].message.contains("tries to turn off a platform element"), "{text}: {}", e[0]);
            assert_eq!(e[0].line, Some(line), "{text}");
        }
        // Free-form values that merely mention cookies are fine.
        Config::load("title: T\nbase_url: /\nextra:\n  cookie_recipes: [a, b]\n  hide_prices: true\n", &o).unwrap();
        let e = ThemeMeta::parse("themes/x/theme.yaml", "name: x\nbadge: false\n").unwrap_err();
        assert!(e[0].message.contains("tries to turn off"), "{}", e[0]);
        assert!(ThemeMeta::parse("t.yaml", "name: x\nprice: 29\n").is_ok());
    }
}
