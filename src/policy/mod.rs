//! The platform's rules, the lowest layer above `util`: the operator's policy (`policy.yaml`:
//! badge link and logo, colours, notice texts per language, quotas) and the detection of keys,
//! in any YAML file a partner or theme writes, that try to switch a platform element off; the
//! compliance injection of the badge, cookie notice and age gate ([`compliance`]), the reserved
//! names (`reserved`), the platform's own notice pages (`notice`), and the checks of
//! finished output ([`check`], `quotas`).
//!
//! In: YAML texts (and the logo's bytes, read by [`load_policy`]'s caller-given path), finished
//! HTML, an [`crate::output::Output`]. Out: a [`Policy`], values, or diagnostics with lines. Has
//! no field, and accepts no key, that turns an element off; knows nothing of sites, themes,
//! builds or stores.

pub mod check;
pub mod compliance;
pub mod host;
pub(crate) mod notice;
pub(crate) mod quotas;
pub(crate) mod reserved;
pub mod tree;

use serde::Deserialize;

use crate::util::yaml::{any_key_line, yaml_diagnostic};
use std::collections::BTreeMap;
use std::path::Path;

use crate::util::diag::{BuildFailed, Diagnostic};
use crate::util::yaml;

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
    pub(crate) age_warning: String,
    /// The age gate's confirmation button.
    pub(crate) age_confirm: String,
    /// The badge's accessible name.
    pub(crate) badge_label: String,
    /// Above the list of the page's third-party providers (embeds, consent scripts) in the notice.
    #[serde(default)]
    pub(crate) providers: String,
}

/// The colours of the platform elements (hex `#rgb` or `#rrggbb`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PolicyColors {
    /// Text of the settings link and of the notice.
    pub text: String,
    /// Background of the platform block and of the notice.
    pub background: String,
    /// Accept button and focus ring.
    pub(crate) accent: String,
}

/// The platform operator's rules for the badge, the cookie notice and the age gate: built-in
/// defaults, optionally reworded and restyled by a `policy.yaml`. Nothing here turns them off.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Where the badge links to.
    pub(crate) badge_url: String,
    /// The badge's accessible name.
    pub(crate) badge_label: String,
    /// A replacement logo: (file extension `svg` or `png`, bytes). `None`: the built-in logo.
    pub logo: Option<(String, Vec<u8>)>,
    /// Colours of the platform elements.
    pub(crate) colors: PolicyColors,
    /// Notice texts by language code; `en` is the fallback.
    pub texts: Vec<(String, NoticeText)>,
    /// Disk use the platform allows a site.
    pub quotas: Quotas,
    /// Time the platform gives one partner's build.
    pub(crate) limits: Limits,
    /// How many releases a target keeps, and how long previews live (`releases:`).
    pub releases: Releases,
    /// Host suffix of preview releases (`preview_domain:`): `NAME--ID.` + it.
    pub preview_domain: Option<String>,
    /// Theme marketplace prices: the platform's margin and VAT, in basis points.
    pub themes: ThemePricing,
    /// The host every legal notice names (`host:`).
    pub host: host::Host,
    /// Where contact forms post, and their consent text (`forms:`).
    pub forms: host::Forms,
    /// Files of the platform's media library (globs over a site's paths, `static/library/**`):
    /// licensed for use on the platform only, so left out of an export.
    pub library_media: Vec<String>,
    /// What the platform decided about particular partners (suspensions, withheld pages,
    /// domains, adult ratings). Not part of `Policy::render_key`: a change here rebuilds only
    /// the partners it names.
    pub partners: PartnerRules,
}

/// How a theme's public price is made from its designer's price (`themes:` in the policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThemePricing {
    /// The platform's margin, a percentage of the designer's price, in basis points.
    pub margin: i64,
    /// VAT on the designer's price and the margin, in basis points.
    pub vat: i64,
}

impl Default for ThemePricing {
    fn default() -> Self {
        ThemePricing { margin: 3000, vat: 2000 }
    }
}

/// Time limits of a platform run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Limits {
    /// Seconds one partner's build may take before it is stopped and reported as failed.
    #[serde(default = "default_build_seconds")]
    pub(crate) build_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { build_seconds: default_build_seconds() }
    }
}
fn default_build_seconds() -> u64 {
    60
}

/// A page the platform withholds: excluded from the build, its URL answered by a notice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Withheld {
    /// The partner.
    pub partner: String,
    /// The content file relative to `content/` (`blog/post.md`) or the page's URL (`/blog/post/`).
    pub path: String,
    /// Why, shown on the notice page.
    pub reason: String,
    /// Its line in the policy file.
    pub line: Option<usize>,
}

/// The platform's decisions about particular partners.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PartnerRules {
    /// Suspended partners and why.
    pub suspended: BTreeMap<String, String>,
    /// Withheld pages.
    pub withheld: Vec<Withheld>,
    /// Custom domains by partner (a host name, `www.example.fr`).
    pub domains: BTreeMap<String, String>,
    /// The host of a partner without a custom domain, `{partner}` standing for its id.
    pub(crate) default_domain: String,
    /// Partners whose every page is rated adult.
    pub(crate) adult_partners: std::collections::BTreeSet<String>,
    /// Pages rated adult by the platform: (partner, content file or URL).
    pub(crate) adult_pages: Vec<(String, String)>,
}

/// The default host of a partner's site.
pub(crate) const DEFAULT_DOMAIN: &str = "{partner}.sopixi.site";

/// Sizes the platform allows, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// The whole built site.
    #[serde(default = "default_site_bytes")]
    pub site_bytes: u64,
    /// Any one file of the built site.
    #[serde(default = "default_file_bytes")]
    pub(crate) file_bytes: u64,
    /// Any one video file (the terms of service: 5 MB).
    #[serde(default = "default_video_bytes")]
    pub(crate) video_bytes: u64,
    /// Pages (content pages, all languages) in one site.
    #[serde(default = "default_pages")]
    pub pages: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            site_bytes: default_site_bytes(),
            file_bytes: default_file_bytes(),
            video_bytes: default_video_bytes(),
            pages: default_pages(),
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
fn default_pages() -> u64 {
    100_000
}

/// File extensions of videos (held to [`Quotas::video_bytes`]).
pub(crate) const VIDEO_EXTENSIONS: &[&str] =
    &["mp4", "m4v", "mov", "webm", "ogv", "avi", "mkv", "mpg", "mpeg", "3gp", "wmv", "flv"];

impl Default for Policy {
    fn default() -> Self {
        let en = NoticeText {
            message: "This site uses cookies only with your consent.".into(),
            accept: "Accept".into(),
            refuse: "Refuse".into(),
            settings: "Cookie settings".into(),
            age_warning: "This page is for adults only. Are you 18 or older?".into(),
            age_confirm: "I am 18 or older".into(),
            badge_label: "Website made with Sopixi".into(),
            providers: "Content from other sites on this page, loaded only if you accept it:".into(),
        };
        let fr = NoticeText {
            message: "Ce site n'utilise des cookies qu'avec votre accord.".into(),
            accept: "Accepter".into(),
            refuse: "Refuser".into(),
            settings: "Paramètres des cookies".into(),
            age_warning: "Cette page est réservée aux adultes. Avez-vous 18 ans ou plus ?".into(),
            age_confirm: "J'ai 18 ans ou plus".into(),
            badge_label: "Site réalisé avec Sopixi".into(),
            providers: "Contenus d'autres sites sur cette page, chargés seulement avec votre accord :".into(),
        };
        Policy {
            badge_url: "https://sopixi.com/".into(),
            badge_label: "Website made with Sopixi".into(),
            logo: None,
            colors: PolicyColors { text: "#1f2a44".into(), background: "#ffffff".into(), accent: "#1f2a44".into() },
            texts: vec![("en".into(), en), ("fr".into(), fr)],
            quotas: Quotas::default(),
            limits: Limits::default(),
            releases: Releases::default(),
            preview_domain: None,
            themes: ThemePricing::default(),
            host: host::Host::default(),
            forms: host::Forms::default(),
            library_media: Vec::new(),
            partners: PartnerRules { default_domain: DEFAULT_DOMAIN.into(), ..Default::default() },
        }
    }
}

impl Policy {
    /// A hash of what changes a built page (badge, colours, texts, quotas), leaving out the
    /// decisions about particular partners, which reach a build through its options.
    pub(crate) fn render_key(&self) -> blake3::Hash {
        let mut p = self.clone();
        p.partners = PartnerRules::default();
        p.limits = Limits::default();
        p.library_media.clear();
        p.themes = ThemePricing::default();
        blake3::hash(format!("{p:?}").as_bytes())
    }

    /// The texts for `language` (`fr-CA` → `fr`), else for the site's `default` language, else
    /// English.
    pub(crate) fn text_or(&self, language: &str, default: &str) -> &NoticeText {
        let base = |l: &str| l.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        let (lang, default) = (base(language), base(default));
        self.texts
            .iter()
            .find(|(l, _)| *l == lang)
            .or_else(|| self.texts.iter().find(|(l, _)| *l == default))
            .map(|(_, t)| t)
            .unwrap_or_else(|| self.text(language))
    }

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
        if let Some(q) = raw.quotas.clone() {
            p.quotas = q;
        }
        p.preview_domain = raw.preview_domain.clone().map(|d| d.trim_matches('.').to_ascii_lowercase());
        if let Some(r) = raw.releases.clone() {
            if r.keep == 0 {
                errors.push(
                    Diagnostic::new(file, "`releases.keep` is 0: the live release is always kept")
                        .at(any_key_line(text, "keep"), None)
                        .hint("keep at least 1 (the default is 10)"),
                );
            }
            p.releases = r;
        }
        if let Some(l) = raw.limits.clone() {
            if l.build_seconds == 0 {
                errors.push(
                    Diagnostic::new(file, "`limits.build_seconds` is 0")
                        .at(any_key_line(text, "build_seconds"), None)
                        .hint("give each partner's build some time, e.g. 60"),
                );
            }
            p.limits = l;
        }
        parse_partner_rules(file, text, &raw, &mut p.partners, &mut errors);
        for m in &raw.library_media {
            if m.trim().is_empty() || m.starts_with('/') || m.contains("..") {
                errors.push(
                    Diagnostic::new(file, format!("`library_media`: `{m}` is not a path inside a site"))
                        .at(any_key_line(text, "library_media"), None)
                        .hint("write paths or patterns relative to the site folder, e.g. static/library/**"),
                );
            }
        }
        p.library_media = raw.library_media.clone();
        if let Some(t) = &raw.themes {
            for (key, value, slot) in [
                ("margin_percent", &t.margin_percent, &mut p.themes.margin),
                ("vat_percent", &t.vat_percent, &mut p.themes.vat),
            ] {
                let Some(v) = value else { continue };
                let value_text = match v {
                    yaml::Value::Number(n) => n.to_string(),
                    yaml::Value::String(s) => s.clone(),
                    _ => String::new(),
                };
                match crate::util::money::parse_percent(&value_text) {
                    Ok(bp) => *slot = bp,
                    Err(e) => errors.push(
                        Diagnostic::new(file, format!("`themes.{key}`: {e}"))
                            .at(any_key_line(text, key), None)
                            .hint("write a percentage such as 30 or 5.5"),
                    ),
                }
            }
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
            // The label given for every language; `notice.LANG.badge_label` rewords one.
            for (_, t) in &mut p.texts {
                t.badge_label = label.clone();
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
        colors(file, text, raw.colors, &mut p, &mut errors);
        notices(file, text, raw.notice, &mut p, &mut errors);
        p.host = host::host(file, text, raw.host, &mut errors);
        p.forms = host::forms(file, text, raw.forms, &mut errors);
        if errors.is_empty() {
            Ok((p, raw.badge.logo))
        } else {
            Err(errors)
        }
    }
}

/// `colors:` over the defaults: hex colours, and the notice's text readable on its background.
fn colors(file: &str, text: &str, c: RawColors, p: &mut Policy, errors: &mut Vec<Diagnostic>) {
    let line = |key: &str| any_key_line(text, key);
    for (key, value, slot) in [
        ("text", c.text, &mut p.colors.text),
        ("background", c.background, &mut p.colors.background),
        ("accent", c.accent, &mut p.colors.accent),
    ] {
        if let Some(v) = value {
            if crate::util::text::hex_rgb(&v).is_none() {
                errors.push(
                    Diagnostic::new(file, format!("`colors.{key}` `{v}` is not a hex colour"))
                        .at(line(key), None)
                        .hint("write it as #1f2a44 or #fff"),
                );
            }
            *slot = v;
        }
    }
    if let (Some(fg), Some(bg)) =
        (crate::util::text::hex_rgb(&p.colors.text), crate::util::text::hex_rgb(&p.colors.background))
    {
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
}

/// `notice.LANG:` rewordings over the built-in texts of that language (English where there are
/// none); a new language is added.
fn notices(file: &str, text: &str, notice: BTreeMap<String, RawTexts>, p: &mut Policy, errors: &mut Vec<Diagnostic>) {
    let line = |key: &str| any_key_line(text, key);
    for (lang, t) in notice {
        if lang.is_empty() || lang.len() > 8 || !lang.chars().all(|ch| ch.is_ascii_alphabetic()) {
            errors.push(
                Diagnostic::new(file, format!("`notice.{lang}`: a language code is letters only, e.g. en, fr, de"))
                    .at(line(&lang), None),
            );
            continue;
        }
        let lang = lang.to_ascii_lowercase();
        let base =
            p.texts.iter().find(|(l, _)| *l == lang).map(|(_, t)| t.clone()).unwrap_or_else(|| p.text("en").clone());
        let mut merged = base;
        for (key, value, slot) in [
            ("message", t.message, &mut merged.message),
            ("accept", t.accept, &mut merged.accept),
            ("refuse", t.refuse, &mut merged.refuse),
            ("settings", t.settings, &mut merged.settings),
            ("age_warning", t.age_warning, &mut merged.age_warning),
            ("age_confirm", t.age_confirm, &mut merged.age_confirm),
            ("badge_label", t.badge_label, &mut merged.badge_label),
            ("providers", t.providers, &mut merged.providers),
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
}

/// The policy's `releases:` keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Releases {
    /// Releases a target keeps, the live one included.
    #[serde(default = "ten")]
    pub keep: usize,
    /// Days a preview release lives.
    #[serde(default = "seven")]
    pub preview_days: u64,
}

fn ten() -> usize {
    10
}

fn seven() -> u64 {
    7
}

impl Default for Releases {
    fn default() -> Self {
        Releases { keep: ten(), preview_days: seven() }
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
    #[serde(default)]
    limits: Option<Limits>,
    #[serde(default)]
    releases: Option<Releases>,
    #[serde(default)]
    preview_domain: Option<String>,
    #[serde(default)]
    suspended: Vec<RawPartnerEntry>,
    #[serde(default)]
    withheld: Vec<RawPartnerEntry>,
    #[serde(default)]
    domains: BTreeMap<String, String>,
    #[serde(default)]
    default_domain: Option<String>,
    #[serde(default)]
    adult: RawAdult,
    #[serde(default)]
    library_media: Vec<String>,
    #[serde(default)]
    themes: Option<RawThemes>,
    #[serde(default)]
    host: Option<host::RawHost>,
    #[serde(default)]
    forms: Option<host::RawForms>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThemes {
    margin_percent: Option<yaml::Value>,
    vat_percent: Option<yaml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartnerEntry {
    partner: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdult {
    #[serde(default)]
    partners: Vec<String>,
    #[serde(default)]
    pages: Vec<RawPartnerEntry>,
}

/// Whether `id` can name a partner: 1 to 63 lowercase letters, digits and hyphens, not starting
/// or ending with a hyphen (it becomes a folder, an object prefix and a host name label).
pub(crate) fn valid_partner_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `host` is a host name a site can be served under (`www.example.fr`).
pub(crate) fn valid_host(host: &str) -> bool {
    host.len() <= 253
        && host.contains('.')
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The line of the `n`-th entry (0-based) naming `partner: ID` after the top-level `section:` key.
fn entry_line(text: &str, section: &str, partner: &str, n: usize) -> Option<usize> {
    let start = crate::util::yaml::key_line(text, section)?;
    text.lines()
        .enumerate()
        .skip(start)
        .filter(|(_, l)| {
            let l = l.trim_start().trim_start_matches("- ").trim_start_matches('{').trim_start();
            l.strip_prefix("partner:").is_some_and(|v| {
                v.trim()
                    .trim_matches(['"', '\''])
                    .split([',', '}'])
                    .next()
                    .is_some_and(|v| v.trim().trim_matches(['"', '\'']) == partner)
            })
        })
        .nth(n)
        .map(|(i, _)| i + 1)
}

fn parse_partner_rules(
    file: &str,
    text: &str,
    raw: &RawPolicy,
    rules: &mut PartnerRules,
    errors: &mut Vec<Diagnostic>,
) {
    let bad_id = |section: &str, id: &str, line: Option<usize>| {
        Diagnostic::new(file, format!("`{section}`: `{id}` is not a partner id"))
            .at(line, None)
            .hint("a partner id is the name of its folder: lowercase letters, digits and hyphens")
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut nth = |section: &str, id: &str| {
        let n = seen.entry(format!("{section}/{id}")).or_insert(0);
        *n += 1;
        *n - 1
    };
    for e in &raw.suspended {
        let line = entry_line(text, "suspended", &e.partner, nth("suspended", &e.partner));
        if !valid_partner_id(&e.partner) {
            errors.push(bad_id("suspended", &e.partner, line));
            continue;
        }
        if e.path.is_some() {
            errors.push(
                Diagnostic::new(file, format!("`suspended`: the entry of `{}` has a `path`", e.partner))
                    .at(line, None)
                    .hint("a suspension takes the whole site; to withhold one page, list it under `withheld`"),
            );
        }
        let reason = e.reason.clone().unwrap_or_default();
        if reason.trim().is_empty() {
            errors.push(
                Diagnostic::new(file, format!("`suspended`: the entry of `{}` gives no `reason`", e.partner))
                    .at(line, None)
                    .hint("say why (it is shown to the partner and kept in the reports), e.g. reason: unpaid invoice"),
            );
        }
        rules.suspended.insert(e.partner.clone(), reason);
    }
    for e in &raw.withheld {
        let line = entry_line(text, "withheld", &e.partner, nth("withheld", &e.partner));
        if !valid_partner_id(&e.partner) {
            errors.push(bad_id("withheld", &e.partner, line));
            continue;
        }
        let path = e.path.clone().unwrap_or_default();
        if !withheld_path_ok(&path) {
            errors.push(
                Diagnostic::new(
                    file,
                    format!("`withheld`: the entry of `{}` has no valid `path` (`{path}`)", e.partner),
                )
                .at(line, None)
                .hint("give the content file under content/ (blog/post.md) or the page's URL (/blog/post/)"),
            );
            continue;
        }
        let reason = e.reason.clone().unwrap_or_default();
        if reason.trim().is_empty() {
            errors.push(
                Diagnostic::new(file, format!("`withheld`: the entry of `{}` ({path}) gives no `reason`", e.partner))
                    .at(line, None)
                    .hint("say why, e.g. reason: copyright complaint"),
            );
        }
        rules.withheld.push(Withheld { partner: e.partner.clone(), path, reason, line });
    }
    for (id, host) in &raw.domains {
        let line = any_key_line(text, id);
        if !valid_partner_id(id) {
            errors.push(bad_id("domains", id, line));
        } else if !valid_host(host) {
            errors.push(
                Diagnostic::new(file, format!("`domains.{id}`: `{host}` is not a host name"))
                    .at(line, None)
                    .hint("write the host alone, without https:// or a path, e.g. www.example.fr"),
            );
        } else if let Some((other, _)) = rules.domains.iter().find(|(_, h)| h.eq_ignore_ascii_case(host)) {
            errors.push(
                Diagnostic::new(file, format!("`domains`: `{host}` is given to both `{other}` and `{id}`"))
                    .at(line, None)
                    .hint("a domain routes to one site: remove one of them"),
            );
        } else {
            rules.domains.insert(id.clone(), host.to_ascii_lowercase());
        }
    }
    if let Some(d) = &raw.default_domain {
        let probe = d.replace("{partner}", "x");
        if !d.contains("{partner}") || !valid_host(&probe) {
            errors.push(
                Diagnostic::new(file, format!("`default_domain` `{d}` is not a host name with `{{partner}}` in it"))
                    .at(any_key_line(text, "default_domain"), None)
                    .hint("write it as {partner}.sopixi.site"),
            );
        }
        rules.default_domain = d.to_ascii_lowercase();
    }
    for id in &raw.adult.partners {
        if !valid_partner_id(id) {
            errors.push(bad_id("adult.partners", id, any_key_line(text, "partners")));
        }
        rules.adult_partners.insert(id.clone());
    }
    for e in &raw.adult.pages {
        let path = e.path.clone().unwrap_or_default();
        if !valid_partner_id(&e.partner) || !withheld_path_ok(&path) {
            errors.push(
                Diagnostic::new(
                    file,
                    format!("`adult.pages`: the entry of `{}` needs a partner id and a `path`", e.partner),
                )
                .at(entry_line(text, "adult", &e.partner, 0), None)
                .hint("give the content file under content/ (blog/post.md) or the page's URL (/blog/post/)"),
            );
            continue;
        }
        rules.adult_pages.push((e.partner.clone(), path));
    }
}

/// A withheld or adult page's `path`: a content file (`blog/post.md`) or a URL (`/blog/post/`).
fn withheld_path_ok(path: &str) -> bool {
    let p = path.trim();
    !p.is_empty() && !p.contains("..") && !p.contains('\\') && (p.starts_with('/') || p.ends_with(".md"))
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
    badge_label: Option<String>,
    providers: Option<String>,
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
pub(crate) fn is_platform_switch(key: &str, value: &serde_json::Value) -> bool {
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
pub(crate) fn platform_switch_diagnostic(file: &str, key: &str, line: Option<usize>) -> Diagnostic {
    Diagnostic::new(file, format!("`{key}` tries to turn off a platform element"))
        .at(line, None)
        .hint("the Sopixi badge, the cookie notice and the age gate are required by the platform's terms on every page and cannot be disabled; remove this key")
}

/// Parses a YAML file a partner or theme writes (`site.yaml`, `theme.yaml`) into `T`, refusing
/// first every key that tries to turn a platform element off.
pub(crate) fn parse_without_switches<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<T, Vec<Diagnostic>> {
    let tree: yaml::Value = yaml::from_str(text).map_err(|e| vec![yaml_diagnostic(file, e, 0)])?;
    let switches = platform_switches(file, text, &tree);
    if !switches.is_empty() {
        return Err(switches);
    }
    drop(tree);
    // Parsed again from the text: only then do serde_yaml's errors carry their line.
    yaml::from_str(text).map_err(|e| vec![yaml_diagnostic(file, e, 0)])
}

/// Every top-level key of a YAML file (and every key under its `extra`) that tries to turn a
/// platform element off, as diagnostics for `file`.
pub(crate) fn platform_switches(file: &str, text: &str, tree: &yaml::Value) -> Vec<Diagnostic> {
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

/// Reads the platform operator's `policy.yaml` (and the logo it names, beside it).
pub fn load_policy(path: &Path) -> Result<crate::policy::Policy, BuildFailed> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        fail_with(
            Diagnostic::new(&label, format!("cannot read the policy file: {e}"))
                .hint("check the path given to --policy"),
        )
    })?;
    let (mut policy, logo) = Policy::parse(&label, &text).map_err(BuildFailed::new)?;
    if let Some(logo) = logo {
        let file = path.parent().unwrap_or(Path::new(".")).join(&logo);
        let bytes = std::fs::read(&file).map_err(|e| {
            fail_with(
                Diagnostic::new(&label, format!("cannot read the badge logo {}: {e}", file.display()))
                    .hint("`badge.logo` is a path relative to the policy file"),
            )
        })?;
        const MAX_LOGO: usize = 64 * 1024;
        if bytes.len() > MAX_LOGO {
            return Err(fail_with(
                Diagnostic::new(
                    &label,
                    format!("the badge logo {} is {} bytes, more than 64 KiB", file.display(), bytes.len()),
                )
                .hint("the badge is 72×20 pixels: use a small SVG or PNG"),
            ));
        }
        let ext = logo.rsplit('.').next().unwrap_or("svg").to_ascii_lowercase();
        policy.logo = Some((ext, bytes));
    }
    Ok(policy)
}

fn fail_with(d: Diagnostic) -> BuildFailed {
    BuildFailed::new(vec![d])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::config::{BuildOptions, Config};
    use crate::theme::meta::ThemeMeta;

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
    fn partner_rules_are_read_with_their_lines() {
        let text = "limits:\n  build_seconds: 30\ndefault_domain: \"{partner}.example.net\"\ndomains:\n  bakery: www.bakery.fr\nsuspended:\n  - partner: closed\n    reason: unpaid invoice\nwithheld:\n  - { partner: news, path: blog/leak.md, reason: complaint }\n  - { partner: news, path: /blog/other/, reason: court order }\nadult:\n  partners: [club]\n  pages:\n    - { partner: acme, path: shop/wine.md }\n";
        let (p, _) = Policy::parse("policy.yaml", text).unwrap();
        let r = &p.partners;
        assert_eq!(p.limits.build_seconds, 30);
        assert_eq!(r.default_domain, "{partner}.example.net");
        assert_eq!(r.domains["bakery"], "www.bakery.fr");
        assert_eq!(r.suspended["closed"], "unpaid invoice");
        assert_eq!(r.withheld.len(), 2);
        assert_eq!((r.withheld[0].line, r.withheld[1].line), (Some(10), Some(11)));
        assert!(r.adult_partners.contains("club"));
        assert_eq!(r.adult_pages, vec![("acme".to_string(), "shop/wine.md".to_string())]);
        // Decisions about partners do not change the pages of the others.
        assert_eq!(p.render_key(), Policy::default().render_key());
        for (text, line, what) in [
            ("suspended:\n  - partner: closed\n", Some(2), "gives no `reason`"),
            ("suspended:\n  - partner: Bad_Id\n    reason: x\n", Some(2), "is not a partner id"),
            ("withheld:\n  - partner: news\n    path: blog/post.html\n    reason: x\n", Some(2), "no valid `path`"),
            ("domains:\n  bakery: https://www.bakery.fr/\n", Some(2), "is not a host name"),
            ("domains:\n  a: www.x.fr\n  b: www.x.fr\n", Some(3), "given to both"),
            ("default_domain: sopixi.site\n", Some(1), "{partner}"),
            ("limits:\n  build_seconds: 0\n", Some(2), "is 0"),
        ] {
            let e = Policy::parse("policy.yaml", text).unwrap_err();
            assert!(e[0].message.contains(what), "{text}: {}", e[0]);
            assert_eq!(e[0].line, line.map(|l: usize| l as u32), "{text}: {}", e[0]);
        }
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
