//! Templates: Tera with the theme's templates, the site's overrides and built-in fallbacks; the
//! template context of DESIGN §3; the functions `get_url`, `get_page`, `get_section`,
//! `get_taxonomy_url`, `load_data` and the `markdown` filter.
//!
//! In: template sources (read by `build`), the content tree and the config. Out: rendered strings,
//! or diagnostics naming the template file and line. Never writes; `load_data` is the one reader
//! and it refuses any path that leaves the site folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use tera::{Context, Tera};

use crate::site::config::Config;
use crate::site::content::{Content, Page, Ref, Section};
use crate::util::diag::{did_you_mean, Diagnostic, Kind, Origin};

/// One template: its Tera name (`page.html`, `shortcodes/video.html`), text and origin file.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    /// Name used by `extends`, `include` and the renderer.
    pub name: String,
    /// The template text.
    pub text: String,
    /// Where it comes from, for error messages (`themes/x/templates/page.html`).
    pub origin: String,
}

/// Built-in templates: fallbacks a theme or site may override.
pub(crate) fn builtin_sources() -> Vec<TemplateSource> {
    macro_rules! builtin {
        ($($name:literal),* $(,)?) => {
            vec![$(TemplateSource {
                name: $name.to_string(),
                text: include_str!(concat!("builtin/", $name)).to_string(),
                origin: concat!("(built-in) ", $name).to_string(),
            }),*]
        };
    }
    builtin![
        "taxonomy.html",
        "term.html",
        "404.html",
        "alias.html",
        "language.html",
        "atom.xml",
        "rss.xml",
        "sitemap.xml",
        "robots.txt",
        "shortcodes/figure.html",
        "shortcodes/gallery.html",
        "shortcodes/video.html",
        "shortcodes/download.html",
        "shortcodes/button.html",
        "shortcodes/map.html",
        "shortcodes/contact_form.html",
    ]
}

/// The built-in templates, parsed once per engine (every build of every site starts from a copy).
#[derive(Clone)]
pub struct Builtins {
    tera: Tera,
    origins: HashMap<String, String>,
    sources: HashMap<String, String>,
}

impl Builtins {
    /// Parses the built-in templates, with the escaping every site's templates use.
    pub fn parse() -> Builtins {
        let all = builtin_sources();
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html", ".htm", ".xml"]);
        // Tera's default also escapes `/`, which makes every URL unreadable in the page source.
        tera.set_escape_fn(crate::util::text::escape_html);
        tera.add_raw_templates(all.iter().map(|t| (t.name.clone(), t.text.clone())))
            .expect("the built-in templates parse (tested)");
        Builtins {
            tera,
            origins: all.iter().map(|t| (t.name.clone(), t.origin.clone())).collect(),
            sources: all.into_iter().map(|t| (t.name, t.text)).collect(),
        }
    }
}

/// The loaded templates. A copy is cheap (every build of a platform run starts from one, to
/// register its own functions): the parsed templates and their sources are shared.
#[derive(Clone)]
pub struct Templates {
    tera: Tera,
    origins: Arc<HashMap<String, String>>,
    sources: Arc<HashMap<String, String>>,
}

/// Line and column from a pest-style ` --> 3:5` marker in an error text.
fn arrow_position(msg: &str) -> Option<(usize, usize)> {
    let rest = &msg[msg.find("--> ")? + 4..];
    let (l, rest) = rest.split_once(':')?;
    let c: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((l.trim().parse().ok()?, c.parse().ok()?))
}

fn error_chain(e: &tera::Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = cur {
        out.push(s.to_string());
        cur = s.source();
    }
    out
}

/// The template named in quotes after `marker` in a message (`… (error happened in 'base.html')`).
fn quoted_after<'a>(msg: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &msg[msg.find(marker)? + marker.len()..];
    let q = rest.chars().next()?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(q)?])
}

impl Templates {
    /// Loads `layers` in order (theme, then site) over the parsed built-ins; a later layer's
    /// template of the same name replaces an earlier one.
    pub fn load(builtins: &Builtins, layers: Vec<Vec<TemplateSource>>) -> Result<Templates, Vec<Diagnostic>> {
        let mut by_name: std::collections::BTreeMap<String, TemplateSource> = std::collections::BTreeMap::new();
        for t in layers.into_iter().flatten() {
            by_name.insert(t.name.clone(), t);
        }
        let mut origins = builtins.origins.clone();
        let mut sources = builtins.sources.clone();
        for t in by_name.values() {
            origins.insert(t.name.clone(), t.origin.clone());
            sources.insert(t.name.clone(), t.text.clone());
        }
        // The built-ins come parsed, with the escaping settings; the layers are parsed here.
        let mut tera = builtins.tera.clone();
        // Parse one at a time first so that every broken template is reported, not just one.
        let mut errors = Vec::new();
        for t in by_name.values() {
            if let Err(e) = tera::Template::new(&t.name, None, &t.text) {
                let chain = error_chain(&e);
                let all = chain.join("\n");
                let (line, col) = arrow_position(&all).map_or((None, None), |(l, c)| (Some(l), Some(c)));
                let detail = chain
                    .last()
                    .map(|m| m.lines().filter(|l| l.trim_start().starts_with('=')).collect::<Vec<_>>().join(" "))
                    .unwrap_or_default();
                let detail = detail.trim().trim_start_matches('=').trim().to_string();
                errors.push(
                    Diagnostic::new(
                        &t.origin,
                        format!(
                            "template syntax error{}",
                            if detail.is_empty() { String::new() } else { format!(": {detail}") }
                        ),
                    )
                    .at(line, col)
                    .hint("see the Tera documentation for the template syntax"),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if let Err(e) = tera.add_raw_templates(by_name.values().map(|t| (t.name.clone(), t.text.clone()))) {
            let chain = error_chain(&e);
            let msg = chain.last().cloned().unwrap_or_default();
            let file = quoted_after(&msg, "Template ")
                .and_then(|n| origins.get(n))
                .cloned()
                .unwrap_or_else(|| "templates".into());
            return Err(vec![Diagnostic::new(file, msg.to_lowercase().trim_end_matches('.').to_string())
                .hint("check the names in `extends`, `include` and `import`: the template must exist in the theme or in templates/")]);
        }
        Ok(Templates { tera, origins: Arc::new(origins), sources: Arc::new(sources) })
    }

    /// Whether a template names `word` as a whole identifier (`seo` in `{{ seo | safe }}`).
    pub(crate) fn any_mentions(&self, word: &str) -> bool {
        let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
        self.sources.values().any(|t| {
            t.match_indices(word).any(|(i, _)| {
                !t[..i].chars().next_back().is_some_and(ident) && !t[i + word.len()..].chars().next().is_some_and(ident)
            })
        })
    }

    /// Whether a template of that name exists.
    pub fn has(&self, name: &str) -> bool {
        self.sources.contains_key(name)
    }

    /// Names of the shortcode templates, without folder and extension.
    pub(crate) fn shortcode_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .sources
            .keys()
            .filter_map(|n| n.strip_prefix("shortcodes/").and_then(|n| n.strip_suffix(".html")).map(str::to_string))
            .collect();
        v.sort();
        v
    }

    /// Whether the template or one it extends mentions `word` (e.g. `paginator`).
    pub(crate) fn mentions(&self, name: &str, word: &str) -> bool {
        let Some(src) = self.sources.get(name) else { return false };
        if src.contains(word) {
            return true;
        }
        self.tera
            .get_template(name)
            .map(|t| t.parents.iter().any(|p| self.sources.get(p).is_some_and(|s| s.contains(word))))
            .unwrap_or(false)
    }

    /// Registers what needs only the configuration: `load_data` and the `markdown` filter.
    pub(crate) fn register_base(&mut self, config: &Config, site_root: &Path) {
        let root = site_root.to_path_buf();
        self.tera.register_function("load_data", move |args: &HashMap<String, Value>| {
            let path = str_arg(args, "path", "load_data")?;
            load_data(&root, &path).map_err(tera::Error::msg)
        });
        let md = config.site.markdown.clone();
        self.tera.register_filter("markdown", move |v: &Value, _: &HashMap<String, Value>| {
            let s = v.as_str().ok_or_else(|| tera::Error::msg("markdown: the value is not text"))?;
            Ok(Value::String(crate::render::markdown::render_plain(s, &md)))
        });
    }

    /// Registers `trans` and the localised `date` filter (see [`crate::render::i18n`]).
    pub(crate) fn register_strings(&mut self, strings: Arc<crate::render::i18n::Strings>, default_lang: &str) {
        crate::render::i18n::register(&mut self.tera, strings, default_lang);
    }

    /// Registers (or replaces) the functions that look content up.
    pub(crate) fn register_site_functions(&mut self, lookup: Arc<Lookup>) {
        let l = lookup.clone();
        self.tera.register_function("get_url", move |args: &HashMap<String, Value>| {
            let path = str_arg(args, "path", "get_url")?;
            let lang = l.lang_of(args)?;
            let url = l.url_in(&path, &lang).ok_or_else(|| {
                tera::Error::msg(format!(
                    "get_url: no content file `{path}` (internal links look like @/blog/hello.md)"
                ))
            })?;
            let bust = match args.get("cachebust") {
                None | Some(Value::Bool(false)) => false,
                Some(Value::Bool(true)) => true,
                Some(other) => {
                    return Err(tera::Error::msg(format!("get_url: cachebust is true or false, not {other}")))
                }
            };
            match (&l.bust, bust, &url) {
                (Some(b), true, Value::String(u)) if !path.starts_with("@/") && !path.contains("://") => {
                    let v = b(&path).map_err(tera::Error::msg)?;
                    Ok(Value::String(format!("{u}?v={v}")))
                }
                _ => Ok(url),
            }
        });
        let l = lookup.clone();
        self.tera.register_function("get_page", move |args: &HashMap<String, Value>| {
            let path = str_arg(args, "path", "get_page")?;
            let lang = l.lang_of(args)?;
            l.page_in(path.trim_start_matches("@/"), &lang).and_then(|i| Some(l.values.get()?.page_full(i))).ok_or_else(
                || {
                    let hint = did_you_mean(&path, l.pages.keys().map(String::as_str))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    tera::Error::msg(format!("get_page: no page `{path}`{hint}"))
                },
            )
        });
        let l = lookup.clone();
        self.tera.register_function("get_section", move |args: &HashMap<String, Value>| {
            let path = str_arg(args, "path", "get_section")?;
            let lang = l.lang_of(args)?;
            l.section_in(path.trim_start_matches("@/"), &lang)
                .and_then(|i| Some(l.values.get()?.section_light(i, false)))
                .ok_or_else(|| {
                    let hint = did_you_mean(&path, l.sections.keys().map(String::as_str))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    tera::Error::msg(format!("get_section: no section `{path}`{hint}"))
                })
        });
        let l = lookup;
        self.tera.register_function("get_taxonomy_url", move |args: &HashMap<String, Value>| {
            let kind = str_arg(args, "kind", "get_taxonomy_url")?;
            let name = str_arg(args, "name", "get_taxonomy_url")?;
            let lang = l.lang_of(args)?;
            l.terms
                .get(&(lang, kind.clone(), crate::util::text::slugify(&name)))
                .cloned()
                .map(Value::String)
                .ok_or_else(|| tera::Error::msg(format!("get_taxonomy_url: no term `{name}` in `{kind}`")))
        });
    }

    /// Registers `resize_image` and `image_meta` for one build's images.
    pub(crate) fn register_image_functions(&mut self, images: Arc<crate::images::Images>) {
        let i = images.clone();
        self.tera.register_function("resize_image", move |args: &HashMap<String, Value>| {
            i.resize_image(args).map_err(tera::Error::msg)
        });
        let i = images;
        self.tera.register_function("image_meta", move |args: &HashMap<String, Value>| {
            i.image_meta(args).map_err(tera::Error::msg)
        });
    }

    /// The file a template comes from, as messages name it (`themes/plain/templates/page.html`).
    pub(crate) fn origin_of(&self, name: &str) -> Option<&str> {
        self.origins.get(name).map(String::as_str)
    }

    /// The templates a page made with `name` is written by that extend one another: `name`, its
    /// parent, and so on (a few levels at most).
    fn chain<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        let mut chain = vec![name];
        let mut current = name;
        for _ in 0..8 {
            let Some(src) = self.sources.get(current) else { break };
            let parent = src
                .split("{%")
                .filter_map(|tag| tag.trim_start_matches('-').trim_start().strip_prefix("extends"))
                .find_map(|rest| rest.split(['"', '\'']).nth(1));
            match parent.and_then(|p| self.sources.get_key_value(p)) {
                Some((p, _)) if !chain.contains(&p.as_str()) => {
                    current = p.as_str();
                    chain.push(current);
                }
                _ => break,
            }
        }
        chain
    }

    /// The template file and line that wrote the markup opening `name` (an element, or
    /// `comment`) at `line` of `page`, a page made with `template`: the tag as rendered searched
    /// in that template, the ones it extends, then every other; else the only `<name` of one of
    /// them. `None` when it cannot be told.
    pub(crate) fn locate(&self, template: &str, page: &str, line: u64, name: &str) -> Option<(String, usize)> {
        // The tag ends on `line` (the parser counts a tag at its end): its start is the last
        // opener up to there; its text runs to its `>` or the end of that line.
        let upto =
            page.match_indices('\n').nth(usize::try_from(line).ok()?.checked_sub(1)?).map_or(page.len(), |(i, _)| i);
        let opener = if name == "comment" { "<!".to_string() } else { format!("<{name}") };
        let at = page[..upto].to_ascii_lowercase().rfind(&opener);
        let tag = at.map(|at| {
            let rest = &page[at..];
            let end = rest.find(['>', '\n']).map_or(rest.len(), |e| e + usize::from(rest.as_bytes()[e] == b'>'));
            rest[..end].to_string()
        });
        let chain = self.chain(template);
        let mut others: Vec<&str> = self.sources.keys().map(String::as_str).filter(|n| !chain.contains(n)).collect();
        others.sort_unstable();
        let order: Vec<&str> = chain.into_iter().chain(others).collect();
        let line_of = |src: &str, at: usize| src[..at].bytes().filter(|&b| b == b'\n').count() + 1;
        let origin = |n: &str| self.origins.get(n).cloned().unwrap_or_else(|| n.to_string());
        if let Some(tag) = tag.filter(|t| t.len() > opener.len() + 1) {
            for n in &order {
                if let Some(at) = self.sources[*n].find(&tag) {
                    return Some((origin(n), line_of(&self.sources[*n], at)));
                }
            }
        }
        for n in &order {
            let src = self.sources[*n].to_ascii_lowercase();
            let mut hits = src.match_indices(&opener).filter(|(at, _)| {
                let next = src.as_bytes().get(at + opener.len()).copied().unwrap_or(b' ');
                name == "comment" || !next.is_ascii_alphanumeric()
            });
            if let (Some((at, _)), None) = (hits.next(), hits.next()) {
                return Some((origin(n), line_of(&src, at)));
            }
        }
        None
    }

    /// The template that writes the page's `<html>` tag: `name`, or the one it extends (and so
    /// on, a few levels at most); `name` when none does.
    pub(crate) fn root_of<'a>(&'a self, name: &'a str) -> &'a str {
        let chain = self.chain(name);
        chain
            .iter()
            .copied()
            .find(|t| self.sources.get(*t).is_some_and(|src| src.to_ascii_lowercase().contains("<html")))
            .unwrap_or(name)
    }

    /// Renders `name`; `rendering` names what was being rendered (a content file) for the error.
    pub fn render(&self, name: &str, ctx: &Context, rendering: &Origin) -> Result<String, Diagnostic> {
        // Tera starts from a 2 KB buffer and doubles it; a page is mostly its content, so start
        // from that size and copy it once.
        let hint = ctx.get("page").and_then(|p| p.get("content")).and_then(Value::as_str).map_or(0, str::len);
        let mut buf = Vec::with_capacity(hint + 4096);
        self.tera.render_to(name, ctx, &mut buf).map_err(|e| self.render_error(name, &e, rendering))?;
        String::from_utf8(buf).map_err(|e| Diagnostic::new(rendering, format!("`{name}` rendered invalid UTF-8: {e}")))
    }

    fn render_error(&self, name: &str, e: &tera::Error, rendering: &Origin) -> Diagnostic {
        let chain = error_chain(e);
        if let tera::ErrorKind::TemplateNotFound(missing) = &e.kind {
            return Diagnostic::new(rendering, format!("missing template `{missing}`"))
                .hint("add it to templates/ in the site or to the theme, or fix the `template` front matter key");
        }
        let culprit = quoted_after(&chain[0], "error happened in ").unwrap_or(name).to_string();
        let file = self.origins.get(&culprit).cloned().unwrap_or_else(|| culprit.clone());
        let detail: Vec<&str> = chain.iter().skip(1).map(String::as_str).collect();
        let message = if detail.is_empty() { chain[0].clone() } else { detail.join(": ") };
        // Tera does not give the line of a rendering error: find the first line naming the culprit.
        let line = self.sources.get(&culprit).and_then(|src| {
            let needle = quoted_after(&message, "Variable ")
                .or_else(|| quoted_after(&message, "Function "))
                .or_else(|| quoted_after(&message, "Filter "))
                .or_else(|| message.split('`').nth(1))?;
            let needle = needle.split(':').next().unwrap_or(needle).trim();
            let first = needle.split('(').next().unwrap_or(needle);
            src.lines().position(|l| l.contains(first)).map(|i| i + 1)
        });
        let mut message = message.trim_end_matches('.').to_string();
        if let Some(f) = message.get(..1) {
            message = f.to_lowercase() + &message[1..];
        }
        Diagnostic::new(file, message).at(line, None).hint(format!("while rendering {rendering}")).kind(Kind::Render)
    }
}

fn str_arg(args: &HashMap<String, Value>, key: &str, func: &str) -> tera::Result<String> {
    match args.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(tera::Error::msg(format!("{func}: `{key}` must be text, got {other}"))),
        None => Err(tera::Error::msg(format!("{func}: missing argument `{key}`"))),
    }
}

/// Reads a data file of the site for `load_data`: JSON, YAML, or plain text. Paths are relative to
/// the site folder, and a path that leads outside it (by `..` or a link) is refused.
pub(crate) fn load_data(root: &Path, path: &str) -> Result<Value, String> {
    let rel = Path::new(path.trim_start_matches('/'));
    let root_c = root.canonicalize().map_err(|e| format!("load_data: site folder: {e}"))?;
    let full: PathBuf = root_c.join(rel);
    let full = full.canonicalize().map_err(|_| format!("load_data: no file `{path}` in the site folder"))?;
    if !full.starts_with(&root_c) {
        return Err(format!("load_data: `{path}` is outside the site folder; data files must be inside it"));
    }
    let text = std::fs::read_to_string(&full).map_err(|e| format!("load_data: cannot read `{path}`: {e}"))?;
    let ext = full.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "json" => serde_json::from_str(&text).map_err(|e| format!("load_data: `{path}` is not valid JSON: {e}")),
        "yaml" | "yml" => crate::util::yaml::from_str::<crate::util::yaml::Value>(&text)
            .map(|v| crate::util::yaml::to_json(&v))
            .map_err(|e| {
                format!("load_data: `{path}` is not valid YAML: {} (line {})", e.message, e.line.unwrap_or(0))
            }),
        _ => Ok(Value::String(text)),
    }
}

/// The version (`?v=`) of the published file at a site path, or why there is none.
pub(crate) type Versioner = Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// What template functions look up: content by file, and term URLs.
#[derive(Default)]
pub(crate) struct Lookup {
    /// The serialised pages and sections that `pages` and `sections` point into.
    pub values: std::sync::OnceLock<Arc<Values>>,
    /// `blog/hello.md` → page index.
    pub pages: HashMap<String, usize>,
    /// `blog/_index.md` → section index.
    pub sections: HashMap<String, usize>,
    /// `blog/hello.md` → permalink.
    pub urls: HashMap<String, String>,
    /// (language, taxonomy, term slug) → permalink.
    pub(crate) terms: HashMap<(String, String, String), String>,
    /// `base_url` with its trailing slash.
    pub base_url: String,
    /// Multilingual sites: (file, language) → the translation a link to the file means in that
    /// language, where it is another page or section than the file's own.
    pub translated: HashMap<(String, String), (Ref, String)>,
    /// The default language.
    pub(crate) default_lang: String,
    /// The version of a published file, for `get_url(…, cachebust=true)` (the build's
    /// `build::bust`).
    pub(crate) bust: Option<Versioner>,
}

impl Lookup {
    /// The language a function call means: its `lang` argument, else the page's being rendered.
    fn lang_of(&self, args: &HashMap<String, Value>) -> tera::Result<String> {
        crate::render::i18n::lang_arg(args, &self.default_lang)
    }

    /// The permalink of content file `rel` as linked from a page in `lang`.
    pub(crate) fn file_url(&self, rel: &str, lang: &str) -> Option<&String> {
        match self.translated.get(&(rel.to_string(), lang.to_string())) {
            Some((_, u)) => Some(u),
            None => self.urls.get(rel),
        }
    }

    /// The page `rel` means in `lang`.
    pub(crate) fn page_in(&self, rel: &str, lang: &str) -> Option<usize> {
        match self.translated.get(&(rel.to_string(), lang.to_string())) {
            Some((Ref::Page(i), _)) => Some(*i),
            _ => self.pages.get(rel).copied(),
        }
    }

    /// The section `rel` means in `lang`.
    pub(crate) fn section_in(&self, rel: &str, lang: &str) -> Option<usize> {
        match self.translated.get(&(rel.to_string(), lang.to_string())) {
            Some((Ref::Section(i), _)) => Some(*i),
            _ => self.sections.get(rel).copied(),
        }
    }

    /// `@/blog/hello.md` → the permalink of its translation in `lang` (of itself when it has
    /// none); another path → base URL + path.
    pub(crate) fn url_in(&self, path: &str, lang: &str) -> Option<Value> {
        if let Some(rel) = path.strip_prefix("@/") {
            let (file, anchor) = rel.split_once('#').map_or((rel, None), |(f, a)| (f, Some(a)));
            let u = self.file_url(file, lang)?;
            return Some(Value::String(match anchor {
                Some(a) => format!("{u}#{a}"),
                None => u.clone(),
            }));
        }
        if path.starts_with("http://") || path.starts_with("https://") {
            return Some(Value::String(path.into()));
        }
        Some(Value::String(format!("{}{}", self.base_url, path.trim_start_matches('/'))))
    }
}

/// Precomputed template values: each page and section serialised once. Full page values and
/// section listings are assembled on demand from these parts, so no page's fields are held twice.
pub(crate) struct Values {
    /// `site` in each language (the default first): the configuration as themes see it.
    pub sites: Vec<(String, Value)>,
    /// The content language of each page shown from the default language (see
    /// `translation_fallback`): its content is marked with it.
    fallback_lang: Vec<Option<String>>,
    /// Each page without content and table of contents, as listed in sections and terms: as
    /// JSON text ([`Values::light`] makes the value). A value of 30-odd fields is ~6 KB of maps
    /// and strings, its text ~0.7 KB: on a 100,000-page site that is 600 MB against 70 MB.
    pages_light: Arc<Listed>,
    /// Each page's rendered Markdown (shared with the content tree): its content and table of
    /// contents are serialised only when the page is (they are as big as the rest).
    bodies: Vec<Arc<crate::site::body::Rendered>>,
    /// Each page's lower and higher pages: what `page` has on top of the listed fields and body.
    neighbours: Vec<[Option<usize>; 2]>,
    /// Each section's own fields, without its pages.
    sections_head: Vec<Value>,
    /// Each section's pages.
    section_pages: Vec<Vec<usize>>,
    /// The build's images, when the templates print `seo` (its share cards are planned there).
    pub(crate) seo: Option<Arc<crate::images::Images>>,
}

fn reading_time(words: usize) -> usize {
    words.div_ceil(200).max(1)
}

/// The `site` value in `lang`: configuration fields (the language's title and description),
/// menus with URLs resolved in that language, `extra`, the site's languages.
pub(crate) fn site_value(config: &Config, content: &Content, lang: &str) -> Value {
    let s = &config.site;
    let own = s.languages.get(lang);
    let mut all_menus = s.menus.clone();
    if let Some(l) = own {
        for (name, items) in &l.menus {
            all_menus.insert(name.clone(), items.clone());
        }
    }
    let mut extra = s.extra.clone();
    if let Some(l) = own {
        for (k, v) in &l.extra {
            extra.insert(k.clone(), v.clone());
        }
    }
    let languages: Vec<Value> = config
        .languages()
        .iter()
        .map(|l| {
            let title = s.languages.get(*l).and_then(|c| c.title.clone()).unwrap_or_else(|| s.title.clone());
            let root = config.language_root(l);
            json!({"code": l, "title": title, "path": root, "permalink": config.permalink(&root)})
        })
        .collect();
    let mut menus = Map::new();
    for (name, items) in &all_menus {
        let mut items: Vec<_> = items.iter().collect();
        items.sort_by_key(|i| i.weight);
        let list: Vec<Value> = items
            .iter()
            .map(|i| {
                let url = match i.url.strip_prefix("@/") {
                    Some(rel) => {
                        content.path_in(rel, lang).map(|p| config.permalink(p)).unwrap_or_else(|| i.url.clone())
                    }
                    None if i.url.starts_with('/') => config.permalink(&i.url),
                    None => i.url.clone(),
                };
                json!({"name": i.name, "url": url, "weight": i.weight})
            })
            .collect();
        menus.insert(name.clone(), Value::Array(list));
    }
    let root = config.language_root(lang);
    json!({
        "title": own.and_then(|l| l.title.clone()).unwrap_or_else(|| s.title.clone()),
        "base_url": s.base_url,
        "home": config.permalink(&root),
        "language": lang,
        "default_language": s.language,
        "languages": languages,
        "description": own.and_then(|l| l.description.clone()).unwrap_or_else(|| s.description.clone()),
        "author": s.author,
        "taxonomies": s.taxonomies,
        "menus": menus,
        "extra": extra,
        "feeds": {"atom": s.feeds.atom, "rss": s.feeds.rss},
        "generator": concat!("sopixi ", env!("CARGO_PKG_VERSION")),
    })
}

fn page_common(config: &Config, content: &Content, p: &Page) -> Map<String, Value> {
    let f = &p.src.front;
    let mut m = Map::new();
    m.insert("title".into(), json!(f.title.clone().unwrap_or_else(|| crate::util::text::humanize(&p.slug))));
    m.insert("description".into(), json!(f.description));
    m.insert("date".into(), json!(f.date.as_ref().map(|d| &d.text)));
    m.insert("updated".into(), json!(f.updated.as_ref().map(|d| &d.text)));
    m.insert("draft".into(), json!(f.draft));
    m.insert("slug".into(), json!(p.slug));
    m.insert("path".into(), json!(p.path));
    m.insert("permalink".into(), json!(config.permalink(&p.path)));
    m.insert("file".into(), json!(p.src.rel));
    m.insert("lang".into(), json!(p.src.lang));
    m.insert(
        "translations".into(),
        translations(
            p.translations.len(),
            config,
            p.translations.iter().map(|&t| {
                let t = &content.pages[t];
                let title = t.src.front.title.clone().unwrap_or_else(|| crate::util::text::humanize(&t.slug));
                (t.lang.as_str(), t.src.lang.as_str(), title, t.path.as_str(), t.fallback)
            }),
        ),
    );
    m.insert("weight".into(), json!(f.weight));
    m.insert("summary".into(), json!(p.rendered.summary));
    m.insert("word_count".into(), json!(p.rendered.word_count));
    m.insert("reading_time".into(), json!(reading_time(p.rendered.word_count)));
    m.insert("tags".into(), json!(f.taxonomies.get("tags").cloned().unwrap_or_default()));
    let taxonomies: Map<String, Value> = config
        .site
        .taxonomies
        .iter()
        .map(|t| (t.clone(), json!(f.taxonomies.get(t).cloned().unwrap_or_default())))
        .collect();
    m.insert("taxonomies".into(), Value::Object(taxonomies));
    m.insert("extra".into(), Value::Object(f.extra.clone()));
    m.insert("assets".into(), json!(p.assets.iter().map(|a| format!("/{a}")).collect::<Vec<_>>()));
    m.insert("adult".into(), json!(p.adult));
    // The number schema.org's `Offer.price` takes, made from the cents only to be written out
    // (exact for any amount of cents: both are whole numbers, and the division is correctly
    // rounded); `price_cents` for arithmetic, `price_text` for people.
    m.insert("price".into(), json!(f.price.map(|c| c as f64 / 100.0)));
    m.insert("price_cents".into(), json!(f.price));
    m.insert("currency".into(), json!(f.currency));
    m.insert(
        "price_text".into(),
        json!(f.price.map(|cents| price_text(cents, f.currency.as_deref().unwrap_or(""), &p.lang))),
    );
    m.insert("buy_url".into(), json!(f.buy_url));
    m.insert("aliases".into(), json!(f.aliases));
    m.insert("section".into(), json!(content.sections[p.section].src.rel));
    m
}

/// The `translations` value: each translation's language, content language, title, path,
/// permalink and whether it is shown from the default language; empty for a page in one
/// language only (most pages of most sites: no value is made for them).
fn translations<'a>(
    count: usize,
    config: &Config,
    items: impl Iterator<Item = (&'a str, &'a str, String, &'a str, bool)>,
) -> Value {
    if count < 2 {
        return Value::Array(Vec::new());
    }
    Value::Array(
        items
            .map(|(lang, content_lang, title, path, fallback)| {
                json!({"lang": lang, "content_lang": content_lang, "title": title, "path": path,
                       "permalink": config.permalink(path), "fallback": fallback})
            })
            .collect(),
    )
}

/// A price in cents as people of `language` write it: `4.50 EUR`, `4,50 EUR`.
pub(crate) fn price_text(cents: crate::util::money::Cents, currency: &str, language: &str) -> String {
    let n = crate::util::money::format_cents(cents);
    let lang = language.split(['-', '_']).next().unwrap_or("");
    let n = if ["fr", "de", "es", "it", "nl", "pt", "pl", "da", "sv", "nb", "fi", "cs"].contains(&lang) {
        n.replace('.', ",")
    } else {
        n
    };
    format!("{n} {currency}").trim_end().to_string()
}

fn section_common(config: &Config, content: &Content, s: &Section) -> Map<String, Value> {
    let f = &s.src.front;
    let mut m = Map::new();
    m.insert("title".into(), json!(f.title.clone().unwrap_or_else(|| crate::util::text::humanize(&s.dir))));
    m.insert("description".into(), json!(f.description));
    m.insert("path".into(), json!(s.path));
    m.insert("permalink".into(), json!(config.permalink(&s.path)));
    m.insert("file".into(), json!(s.src.rel));
    m.insert("lang".into(), json!(s.src.lang));
    m.insert(
        "translations".into(),
        translations(
            s.translations.len(),
            config,
            s.translations.iter().map(|&t| {
                let t = &content.sections[t];
                let title = t.src.front.title.clone().unwrap_or_else(|| crate::util::text::humanize(&t.dir));
                (t.lang.as_str(), t.src.lang.as_str(), title, t.path.as_str(), t.fallback)
            }),
        ),
    );
    let html = if s.fallback {
        format!("<div lang=\"{}\">{}</div>", s.src.lang, s.rendered.html())
    } else {
        s.rendered.html().into_owned()
    };
    m.insert("content".into(), json!(html));
    m.insert("extra".into(), Value::Object(f.extra.clone()));
    m.insert("assets".into(), json!(s.assets.iter().map(|a| format!("/{a}")).collect::<Vec<_>>()));
    m.insert("adult".into(), json!(s.adult));
    m.insert("word_count".into(), json!(s.rendered.word_count));
    m.insert("reading_time".into(), json!(reading_time(s.rendered.word_count)));
    m
}

impl Values {
    /// Serialises every page and section once. Call after bodies are rendered: the values share
    /// the pages' rendered Markdown.
    pub(crate) fn new(config: &Config, content: &Content) -> Values {
        use rayon::prelude::*;
        let bodies: Vec<_> = content.pages.iter().map(|p| p.rendered.clone()).collect();
        let texts: Vec<Box<[u8]>> = content
            .pages
            .par_iter()
            .map(|p| serde_json::to_vec(&page_common(config, content, p)).unwrap_or_default().into_boxed_slice())
            .collect();
        let pages_light = Arc::new(Listed::new(texts));
        let neighbours = content.pages.iter().map(|p| [p.lower, p.higher]).collect();
        let sections_head = content
            .sections
            .iter()
            .map(|s| {
                let mut m = section_common(config, content, s);
                let subs: Vec<Value> = s
                    .subsections
                    .iter()
                    .map(|&c| {
                        let c = &content.sections[c];
                        json!({"title": c.src.front.title, "path": c.path, "permalink": config.permalink(&c.path), "file": c.src.rel})
                    })
                    .collect();
                m.insert("subsections".into(), Value::Array(subs));
                Value::Object(m)
            })
            .collect();
        let section_pages = content.sections.iter().map(|s| s.pages.clone()).collect();
        let sites = config.languages().iter().map(|l| (l.to_string(), site_value(config, content, l))).collect();
        let fallback_lang = content.pages.iter().map(|p| p.fallback.then(|| p.src.lang.clone())).collect();
        Values { sites, fallback_lang, pages_light, bodies, neighbours, sections_head, section_pages, seo: None }
    }

    /// The `site` value in `lang` (the default language's when the site has no such language).
    pub(crate) fn site(&self, lang: &str) -> &Value {
        self.sites.iter().find(|(l, _)| l == lang).map_or(&self.sites[0].1, |(_, v)| v)
    }

    /// The `page` value of page `i`: its listed fields plus content, toc, lower and higher.
    pub(crate) fn page_full(&self, i: usize) -> Value {
        let mut v = self.light(i);
        if let Value::Object(m) = &mut v {
            let html = match &self.fallback_lang[i] {
                // Shown from the default language: the content says which language it is in.
                Some(l) => format!("<div lang=\"{l}\">{}</div>", self.bodies[i].html()),
                None => self.bodies[i].html().into_owned(),
            };
            m.insert("content".into(), Value::String(html));
            let [lower, higher] = self.neighbours[i];
            m.insert("lower".into(), self.neighbour(lower));
            m.insert("higher".into(), self.neighbour(higher));
            m.insert("toc".into(), json!(self.bodies[i].toc()));
        }
        v
    }

    /// Page `i` as listed in sections and terms.
    pub(crate) fn light(&self, i: usize) -> Value {
        self.pages_light.value(i)
    }

    /// Runs `f` (a render) with the listed pages of [`Values::listed_marker`] made when its
    /// template reaches them (see the vendored Tera's `lazy` module): a home page listing 1,000
    /// sections of 100 pages holds 100,000 markers of a few dozen bytes while it renders, not
    /// 100,000 page values of ~6 KB, and makes only those its template reads.
    pub(crate) fn lazy_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        let listed = Arc::clone(&self.pages_light);
        tera::lazy::scope(Arc::new(move |i| if i < listed.texts.len() { listed.value(i) } else { Value::Null }), f)
    }

    /// Page `i` as listed, to be rendered inside [`Values::lazy_scope`] only.
    pub(crate) fn listed_marker(i: usize) -> Value {
        tera::lazy::marker(i)
    }

    /// A page's `lower` or `higher`: title, path and permalink of page `i`, null for none.
    fn neighbour(&self, i: Option<usize>) -> Value {
        #[derive(serde::Deserialize)]
        struct Link {
            title: Value,
            path: Value,
            permalink: Value,
        }
        match i.and_then(|i| serde_json::from_slice::<Link>(&self.pages_light.texts[i]).ok()) {
            Some(l) => json!({"title": l.title, "path": l.path, "permalink": l.permalink}),
            None => Value::Null,
        }
    }

    /// Section `i` as listed in `subsections` and returned by `get_section`: with its pages
    /// (as [`Values::listed_marker`]s when `lazy`).
    pub(crate) fn section_light(&self, i: usize, lazy: bool) -> Value {
        let mut v = self.sections_head[i].clone();
        v["pages"] = Value::Array(
            self.section_pages[i]
                .iter()
                .map(|&p| if lazy { Values::listed_marker(p) } else { self.light(p) })
                .collect(),
        );
        v
    }

    /// The `section` value for rendering section `i`: its pages and its child sections (each with
    /// title, permalink and pages), to be rendered inside [`Values::lazy_scope`] (its pages are
    /// markers).
    pub(crate) fn section_full(&self, content: &Content, i: usize) -> Value {
        let mut v = self.section_light(i, true);
        let subs: Vec<Value> = content.sections[i].subsections.iter().map(|&c| self.section_light(c, true)).collect();
        v["subsections"] = Value::Array(subs);
        v["toc"] = json!(content.sections[i].rendered.toc());
        v
    }
}

impl Lookup {
    /// The URLs of every content file and term, and which page or section each file is; no
    /// values yet (the build sets `values` once they are made).
    pub(crate) fn new(config: &Config, content: &Content) -> Lookup {
        let mut l = Lookup {
            base_url: config.site.base_url.clone(),
            default_lang: config.site.language.clone(),
            ..Default::default()
        };
        if config.multilingual() {
            for rel in content.by_file.keys() {
                for lang in config.languages() {
                    if let (Some(r), Some(own)) = (content.ref_in(rel, lang), content.by_file.get(rel)) {
                        if r != *own {
                            l.translated
                                .insert((rel.clone(), lang.to_string()), (r, config.permalink(content.path(r))));
                        }
                    }
                }
            }
        }
        for (rel, r) in &content.by_file {
            match *r {
                Ref::Page(i) => {
                    l.pages.insert(rel.clone(), i);
                    l.urls.insert(rel.clone(), config.permalink(&content.pages[i].path));
                }
                Ref::Section(i) => {
                    l.sections.insert(rel.clone(), i);
                    l.urls.insert(rel.clone(), config.permalink(&content.sections[i].path));
                }
            }
        }
        // A link to a withheld page goes to its notice.
        for w in &content.withheld {
            l.urls.entry(w.rel.clone()).or_insert_with(|| config.permalink(&w.path));
        }
        for t in &content.taxonomies {
            for term in &t.terms {
                l.terms.insert(
                    (t.lang.clone(), t.name.clone(), term.slug.clone()),
                    config.permalink(&format!("{}{}/", t.path, term.slug)),
                );
            }
        }
        l
    }
}

/// Hashes of the parts of [`Values`], so that `serve` can tell that a file's context is unchanged
/// without building that context. Each key stands for exactly the value it names: equal keys,
/// equal values (it may change when the value does not, never the other way round).
pub(crate) struct ValueKeys {
    /// `site`.
    pub site: blake3::Hash,
    /// Each page as listed ([`Values::pages_light`]).
    pub light: Vec<blake3::Hash>,
    /// Each page's whole `page` value ([`Values::page_full`]).
    pub full: Vec<blake3::Hash>,
    /// Each section's `section` value ([`Values::section_full`]).
    pub(crate) section_full: Vec<blake3::Hash>,
}

impl Values {
    /// The [`ValueKeys`] of these values. `bodies[i]`, when known, stands for page `i`'s content
    /// and table of contents (the key of the Markdown they were rendered from, which determines
    /// them), so that they need not be hashed again.
    pub(crate) fn keys(&self, content: &Content, bodies: &[Option<blake3::Hash>]) -> ValueKeys {
        use rayon::prelude::*;
        // The JSON text of a listed page stands for its value (serde_json writes one value one way).
        let light: Vec<blake3::Hash> = self.pages_light.texts.par_iter().map(|t| blake3::hash(t)).collect();
        let full: Vec<blake3::Hash> = (0..self.pages_light.texts.len())
            .into_par_iter()
            .map(|i| {
                let mut h = blake3::Hasher::new();
                h.update(b"page");
                h.update(light[i].as_bytes());
                match bodies.get(i).copied().flatten() {
                    Some(k) => {
                        h.update(b"m");
                        h.update(k.as_bytes());
                    }
                    None => {
                        h.update(b"c");
                        hash_value(&mut h, &Value::String(self.bodies[i].html().into_owned()));
                        hash_value(&mut h, &json!(self.bodies[i].toc()));
                    }
                }
                // Lower and higher are made from those pages' listed values.
                for n in self.neighbours[i] {
                    match n {
                        Some(n) => h.update(light[n].as_bytes()),
                        None => h.update(b"-"),
                    };
                }
                h.finalize()
            })
            .collect();
        let section_light: Vec<blake3::Hash> = (0..self.sections_head.len())
            .map(|i| {
                let mut h = blake3::Hasher::new();
                h.update(b"section");
                hash_value(&mut h, &self.sections_head[i]);
                h.update(&(self.section_pages[i].len() as u64).to_le_bytes());
                for &p in &self.section_pages[i] {
                    h.update(light[p].as_bytes());
                }
                h.finalize()
            })
            .collect();
        let section_full = (0..self.sections_head.len())
            .map(|i| {
                let mut h = blake3::Hasher::new();
                h.update(section_light[i].as_bytes());
                let subs = &content.sections[i].subsections;
                h.update(&(subs.len() as u64).to_le_bytes());
                for &c in subs {
                    h.update(section_light[c].as_bytes());
                }
                hash_value(&mut h, &json!(content.sections[i].rendered.toc()));
                h.finalize()
            })
            .collect();
        let mut site = blake3::Hasher::new();
        for (l, v) in &self.sites {
            site.update(l.as_bytes());
            hash_value(&mut site, v);
        }
        site.update(format!("{:?}", self.fallback_lang).as_bytes());
        ValueKeys { site: site.finalize(), light, full, section_full }
    }
}

/// Feeds a JSON value into a hasher, unambiguously (every item tagged, every length given) and
/// without serialising it: page contents are hashed as they are, not escaped first.
pub(crate) fn hash_value(h: &mut blake3::Hasher, v: &Value) {
    match v {
        Value::Null => {
            h.update(b"n");
        }
        Value::Bool(b) => {
            h.update(if *b { b"t" } else { b"f" });
        }
        Value::Number(n) => {
            let text = n.to_string();
            h.update(b"#");
            h.update(&(text.len() as u64).to_le_bytes());
            h.update(text.as_bytes());
        }
        Value::String(s) => {
            h.update(b"s");
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        Value::Array(items) => {
            h.update(b"[");
            h.update(&(items.len() as u64).to_le_bytes());
            for i in items {
                hash_value(h, i);
            }
        }
        Value::Object(m) => {
            h.update(b"{");
            h.update(&(m.len() as u64).to_le_bytes());
            for (k, x) in m {
                h.update(&(k.len() as u64).to_le_bytes());
                h.update(k.as_bytes());
                hash_value(h, x);
            }
        }
    }
}

/// A paginator over `items` for listing page `index` (1-based) of `per_page`.
pub(crate) fn paginator(
    items: &[Value],
    per_page: usize,
    index: usize,
    base_permalink: &str,
    page_path: &str,
) -> Value {
    let per_page = per_page.max(1);
    let number_pagers = items.len().div_ceil(per_page).max(1);
    let url = |n: usize| if n == 1 { base_permalink.to_string() } else { format!("{base_permalink}{page_path}/{n}/") };
    let start = (index - 1) * per_page;
    let pages: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    json!({
        "paginate_by": per_page,
        "pages": pages,
        "current_index": index,
        "number_pagers": number_pagers,
        "total_pages": items.len(),
        "first": url(1),
        "last": url(number_pagers),
        "previous": if index > 1 { Some(url(index - 1)) } else { None },
        "next": if index < number_pagers { Some(url(index + 1)) } else { None },
        "base_url": base_permalink,
    })
}

/// The listed pages' JSON texts; on a small site also their values, each made the first time a
/// listing reaches it: a page is listed by its section, the home page, each of its terms and the
/// feeds, and a copy of a value costs a third of reading it again. A platform run is mostly small
/// sites; a large site keeps only the texts (the values would be ~6 KB a page, see
/// [`Values::pages_light`]).
struct Listed {
    texts: Vec<Box<[u8]>>,
    /// Empty when the site has more than [`Listed::KEPT`] pages.
    values: Vec<std::sync::OnceLock<Value>>,
}

impl Listed {
    /// The most pages whose values are kept (~6 MB of them at most).
    const KEPT: usize = 1_000;

    fn new(texts: Vec<Box<[u8]>>) -> Listed {
        let values =
            if texts.len() <= Listed::KEPT { texts.iter().map(|_| Default::default()).collect() } else { Vec::new() };
        Listed { texts, values }
    }

    /// Page `i`'s listed value.
    fn value(&self, i: usize) -> Value {
        match self.values.get(i) {
            Some(v) => v.get_or_init(|| light_value(&self.texts[i])).clone(),
            None => light_value(&self.texts[i]),
        }
    }
}

/// A listed page's value from its JSON text. The text was written by serde_json from a value: it
/// reads back as that value, however deep (front matter nests up to YAML's limit of 128, and the
/// page adds a level: serde_json's own limit of 128 would turn such a page into null).
fn light_value(text: &[u8]) -> Value {
    let mut de = serde_json::Deserializer::from_slice(text);
    de.disable_recursion_limit();
    serde::Deserialize::deserialize(&mut de).unwrap_or(Value::Null)
}

/// A page's context value: `site`, `lang`, `current_path`, `current_url` and `entries`, moved in,
/// not serialised again (Tera's `Context::insert` would re-serialise every value). `build` hashes
/// it to reuse the finished file of an unchanged context in `serve`, then makes it a Tera context.
pub(crate) fn context_value(
    values: &Values,
    config: &Config,
    lang: &str,
    path: &str,
    entries: Vec<(&str, Value)>,
) -> Value {
    let mut m = Map::new();
    m.insert("site".into(), values.site(lang).clone());
    m.insert("lang".into(), Value::String(lang.into()));
    m.insert("current_path".into(), Value::String(path.into()));
    m.insert("current_url".into(), Value::String(config.permalink(path)));
    for (k, v) in entries {
        m.insert(k.into(), v);
    }
    if let Some(images) = &values.seo {
        let tags = crate::render::seo::tags(config, images, lang, path, &m);
        m.insert("seo".into(), Value::String(tags));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(name: &str, text: &str) -> TemplateSource {
        TemplateSource { name: name.into(), text: text.into(), origin: format!("templates/{name}") }
    }

    #[test]
    fn listed_values_are_the_same_kept_or_made_again() {
        let text =
            |i: usize| serde_json::to_vec(&json!({"title": format!("page {i}"), "n": i, "tags": ["a", "b"]})).unwrap();
        let small = Listed::new((0..3).map(|i| text(i).into_boxed_slice()).collect());
        let large = Listed::new((0..=Listed::KEPT).map(|i| text(i).into_boxed_slice()).collect());
        assert_eq!(small.values.len(), 3, "a small site keeps its values");
        assert!(large.values.is_empty(), "a large site keeps only the texts");
        for i in 0..3 {
            let want = json!({"title": format!("page {i}"), "n": i, "tags": ["a", "b"]});
            // Twice: the second time from the kept value.
            assert_eq!(small.value(i), want);
            assert_eq!(small.value(i), want);
            assert_eq!(large.value(i), want);
        }
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let e = Templates::load(
            &Builtins::parse(),
            vec![vec![src("page.html", "ok\n{{ page.title | }}\n"), src("index.html", "{% if %}")]],
        )
        .err()
        .unwrap();
        assert_eq!(e.len(), 2);
        let d = e.iter().find(|d| d.origin.path().is_some_and(|p| p.ends_with("page.html"))).unwrap();
        assert_eq!(d.line, Some(2), "{d}");
    }

    #[test]
    fn render_errors_name_the_template_and_a_line() {
        let t = Templates::load(
            &Builtins::parse(),
            vec![vec![src("base.html", "<p>\n{{ page.nope }}\n</p>"), src("page.html", "{% extends \"base.html\" %}")]],
        )
        .unwrap();
        let mut ctx = Context::new();
        ctx.insert("page", &json!({"title": "x"}));
        let d = t.render("page.html", &ctx, &Origin::from("content/a.md")).unwrap_err();
        assert!(d.origin.path().is_some_and(|p| p.ends_with("base.html")), "{d}");
        assert_eq!(d.kind, Kind::Render);
        assert_eq!(d.line, Some(2), "{d}");
        assert!(d.hint.unwrap().contains("content/a.md"));
    }

    #[test]
    fn later_layers_override_and_paginator_detection() {
        let t = Templates::load(
            &Builtins::parse(),
            vec![vec![src("section.html", "theme {{ paginator.pages | length }}")], vec![src("404.html", "mine")]],
        )
        .unwrap();
        assert!(t.mentions("section.html", "paginator"));
        assert!(t.has("taxonomy.html"), "built-in fallback");
        assert_eq!(t.render("404.html", &Context::new(), &Origin::output("x")).unwrap(), "mine");
        assert!(t.shortcode_names().contains(&"video".to_string()));
    }

    #[test]
    fn load_data_stays_inside_the_site() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("site")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "no").unwrap();
        std::fs::write(dir.path().join("site/d.json"), "{\"a\": 1}").unwrap();
        assert_eq!(load_data(&dir.path().join("site"), "d.json").unwrap()["a"], 1);
        let e = load_data(&dir.path().join("site"), "../secret.txt").unwrap_err();
        assert!(e.contains("outside"), "{e}");
    }

    /// Listed pages given as lazy markers render exactly as the pages themselves, however a
    /// template reaches them, and no marker is ever printed.
    #[test]
    fn lazy_listed_pages_render_as_the_pages_themselves() {
        let tpl = r#"{% import "m.html" as m %}
{% for s in section.subsections %}{{ s.title }}:{% for p in s.pages %}{{ p.title }}{{ loop.index }}{% for t in p.tags %}#{{ t }}{% endfor %}{% endfor %};{{ s.pages | length }};{{ s.pages.0.title }};{{ s.pages[1].title }}|{% endfor %}
{{ section.pages | json_encode() }}
{{ section.pages | first | get(key="title") }} {% if section.pages %}some{% endif %} {% if not section.nothing %}none{% endif %}
{% set x = section.pages %}{{ x | length }} {{ x.1.title }} {{ section.pages | map(attribute="title") | join(sep=",") }}
{% for p in section.pages | reverse %}{{ p.title }}{% endfor %} {% for p in section.pages %}{{ m::card(page=p) }}{% endfor %}
{% for p in section.pages %}{% for q in section.pages %}{{ p.title }}{{ q.title }} {% endfor %}{{ p | json_encode() }}{% endfor %}
{% for k, v in section.pages.0 %}{{ k }}={{ v | json_encode() }} {% endfor %}{% if section.pages.0.title == "A" %}eq{% endif %}
{% set titles = section.pages | map(attribute="title") %}{% if "A" in titles %}in{% endif %}{% if section.pages.0 in section.pages %}member{% endif %} {{ section.pages | slice(end=1) | json_encode() }} {% if section.pages.1 is object %}obj{% endif %}
{% for p in paginator.pages %}{{ p.title }}{% set_global last = p %}{% endfor %}{{ last.title }}{% for k, v in section %} {{ k }}{% endfor %}
{{ section | json_encode() }}
{{ __tera_context }}"#;
        let t = Templates::load(
            &Builtins::parse(),
            vec![vec![
                src("list.html", tpl),
                src("m.html", "{% macro card(page) %}[{{ page.title }}/{{ page.tags | length }}]{% endmacro %}"),
            ]],
        )
        .unwrap();
        let pages: Vec<Value> = ["A", "B", "C"]
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"title": t, "tags": [format!("t{i}"), "x"], "extra": {"n": i}}))
            .collect();
        let context = |page: &dyn Fn(usize) -> Value| {
            let sub = |ids: &[usize]| json!({"title": "S", "pages": ids.iter().map(|&i| page(i)).collect::<Vec<_>>()});
            json!({
                "section": {"title": "Home", "pages": [page(0), page(1), page(2)], "subsections": [sub(&[2, 0]), sub(&[1, 1])]},
                "paginator": {"pages": [page(1), page(2)]},
            })
        };
        let eager = Context::from_value(context(&|i| pages[i].clone())).unwrap();
        let lazy = Context::from_value(context(&Values::listed_marker)).unwrap();
        let origin = Origin::output("x");
        let want = t.render("list.html", &eager, &origin).unwrap();
        let shared = Arc::new(pages.clone());
        let resolver: tera::lazy::Resolver = {
            let shared = Arc::clone(&shared);
            Arc::new(move |i| shared.get(i).cloned().unwrap_or(Value::Null))
        };
        let got = tera::lazy::scope(resolver, || t.render("list.html", &lazy, &origin).unwrap());
        assert_eq!(got, want);
        assert!(!got.contains('\u{0}'), "a marker was printed");
        assert!(want.contains("A1#t0#x") || want.contains("C1#t2#x"), "{want}");
        // Outside a scope a marker is only a string: nothing resolves it (`p.title` of a string
        // is an error).
        assert!(t.render("list.html", &lazy, &origin).is_err());
    }

    /// A home page that lists sections without their pages makes none of them.
    #[test]
    fn lazy_listed_pages_not_read_are_not_made() {
        let t = Templates::load(
            &Builtins::parse(),
            vec![vec![src(
                "index.html",
                "{% for s in section.subsections %}{{ s.title }}{% if s.pages %}({{ s.pages | length }}){% endif %}{% endfor %}",
            )]],
        )
        .unwrap();
        let subs: Vec<Value> =
            (0..50).map(|s| json!({"title": s, "pages": (0..100).map(|p| Values::listed_marker(s * 100 + p)).collect::<Vec<_>>()})).collect();
        let ctx = Context::from_value(json!({"section": {"subsections": subs}})).unwrap();
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&made);
        let resolver: tera::lazy::Resolver = Arc::new(move |i| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            json!({"title": i})
        });
        let out = tera::lazy::scope(resolver, || t.render("index.html", &ctx, &Origin::output("x")).unwrap());
        assert!(out.starts_with("0(100)1(100)"), "{out}");
        assert_eq!(made.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    #[test]
    fn paginator_urls() {
        let items: Vec<Value> = (0..25).map(|i| json!(i)).collect();
        let p = paginator(&items, 10, 2, "https://x.org/blog/", "page");
        assert_eq!(p["pages"].as_array().unwrap().len(), 10);
        assert_eq!(p["previous"], "https://x.org/blog/");
        assert_eq!(p["next"], "https://x.org/blog/page/3/");
        assert_eq!(p["number_pagers"], 3);
    }
}
