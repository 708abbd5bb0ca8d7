//! `sopixi import hugo|zola SRC -o SITE`: a Hugo or Zola site converted into a sopixi site that
//! builds with the bundled theme.
//!
//! In: the source site folder (its configuration, `content/`, `static/`, `data/`). Out: a new
//! site folder — `site.yaml`, content with YAML front matter (keys mapped, the others kept under
//! `extra`), bundles and static files copied, internal links and the shortcodes that have an
//! equivalent rewritten — and an [`ImportReport`] listing, with file and line, what could not be
//! converted. Never writes into the source; writes the same bytes for the same source
//! (idempotent); only replaces a folder an earlier import made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::util::diag::{Diagnostic, Kind};
use crate::util::text::line_col;

/// The generator a site comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// Hugo (`hugo.toml`/`config.toml`/`.yaml`/`.json`, `{{< shortcodes >}}`).
    Hugo,
    /// Zola (`config.toml`, `{{ shortcodes() }}`).
    Zola,
}

/// The marker an import leaves in the folder it made (and its report).
pub(crate) const MARKER: &str = ".sopixi-import.json";

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// Markdown files converted (pages and sections).
    pub content_files: usize,
    /// Other files copied (bundle files, static files, data files).
    pub copied: usize,
    /// Front matter keys mapped, by key (`url → slug + aliases` …), with counts.
    pub(crate) mapped: BTreeMap<String, usize>,
    /// Shortcodes rewritten, by name, with counts.
    pub rewritten: BTreeMap<String, usize>,
    /// What could not be converted, with file and line (the site still builds).
    pub warnings: Vec<Diagnostic>,
    /// Images the content uses that Hugo keeps in `assets/` (its global resources): copied to
    /// `static/` at the same path, where sopixi finds them.
    pub from_assets: BTreeSet<String>,
    /// The `figure` sources of the page being converted (looked for in `assets/` after it).
    #[serde(skip)]
    figures: Vec<String>,
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A problem with the folders or the configuration.
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file of the source cannot be read as its generator would.
    #[error("{file}:{line}: {message}")]
    Source {
        /// The file, relative to the source.
        file: String,
        /// Its line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io { path: path.to_path_buf(), source }
}

/// Converts the site at `src` into a new sopixi site at `out`.
pub fn import(from: From, src: &Path, out: &Path) -> Result<ImportReport, ImportError> {
    let src = src.canonicalize().map_err(|e| ImportError::Usage(format!("cannot read {}: {e}", src.display())))?;
    let out_abs = absolute(out);
    if out_abs.starts_with(&src) || src.starts_with(&out_abs) {
        return Err(ImportError::Usage(format!(
            "{} is inside the source site (or holds it): give an output folder elsewhere; the source is never written",
            out.display()
        )));
    }
    if out.exists() {
        let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty && !out.join(MARKER).is_file() {
            return Err(ImportError::Usage(format!(
                "{} is not empty and was not made by `sopixi import`: give a new folder",
                out.display()
            )));
        }
        // An earlier import of ours: made again from nothing, so the result is the same.
        std::fs::remove_dir_all(out).map_err(io(out))?;
    }
    let mut report = ImportReport::default();
    let (mut site, languages) = site_config(from, &src)?;
    for (code, why) in &languages.dropped {
        report.warnings.push(
            Diagnostic::new(
                languages.file.as_str(),
                format!("the language `{code}` is not imported: {why}; its files were left out"),
            )
            .kind(Kind::Site)
            .hint(
                "sopixi names a language by its code alone (fr, en, zh): add it back under another code if you need it",
            ),
        );
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let content = src.join("content");
    let md_files = walk(&content);
    let names: Vec<String> = md_files.iter().filter(|r| r.ends_with(".md")).cloned().collect();
    let mut menu_items: Vec<Value> = Vec::new();
    // The site's taxonomies: a page's key of that name is a taxonomy, not an extra.
    let taxonomies: Vec<String> = site
        .get("taxonomies")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    for rel in &md_files {
        let path = content.join(rel);
        // Hugo's taxonomy and term pages (`content/tags/_index.md`, `content/categories/News/`)
        // describe pages sopixi makes itself: left out.
        if rel.split('/').next().is_some_and(|top| taxonomies.iter().any(|t| t == top)) && rel.contains('/') {
            report.warnings.push(
                Diagnostic::new(format!("content/{rel}"), "a taxonomy or term page's own content is not imported")
                    .kind(Kind::Site)
                    .hint("sopixi makes the taxonomy and term pages itself, from the pages' terms"),
            );
            continue;
        }
        // The source file stays `path`; its name in the new site may change with its language.
        let Some(rel) = &languages.path_of(rel) else { continue };
        if !rel.ends_with(".md") {
            files.insert(format!("content/{rel}"), std::fs::read(&path).map_err(io(&path))?);
            report.copied += 1;
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let file = format!("content/{rel}");
        let cv = Conversion { from, src: &src, names: &names, taxonomies: &taxonomies };
        let converted = cv.page(&file, rel, &text, &mut report, &mut menu_items)?;
        files.insert(file, converted.into_bytes());
        report.content_files += 1;
    }
    for rel in &report.from_assets {
        let path = src.join("assets").join(rel);
        files.insert(format!("static/{rel}"), std::fs::read(&path).map_err(io(&path))?);
        report.copied += 1;
    }
    for (folder, to) in [("static", "static"), ("data", "data")] {
        for rel in walk(&src.join(folder)) {
            let path = src.join(folder).join(&rel);
            files.insert(format!("{to}/{rel}"), std::fs::read(&path).map_err(io(&path))?);
            report.copied += 1;
        }
    }
    for (folder, what) in [
        ("assets", "Hugo Pipes assets"),
        ("sass", "Sass files"),
        ("layouts", "templates"),
        ("templates", "templates"),
        ("themes", "themes"),
    ] {
        if src.join(folder).is_dir() {
            let hint = if folder == "assets" && !report.from_assets.is_empty() {
                format!(
                    "the {} image(s) the content uses from assets/ were copied to static/; the rest (styles, scripts) belonged to the old theme",
                    report.from_assets.len()
                )
            } else {
                "the imported site uses sopixi's bundled theme; make a theme from them if you need their look".into()
            };
            report.warnings.push(
                Diagnostic::new(format!("{folder}/"), format!("{what} are not converted")).kind(Kind::Site).hint(hint),
            );
        }
    }
    if !menu_items.is_empty() {
        let menus = site.entry("menus").or_insert_with(|| json!({}));
        if let Some(m) = menus.as_object_mut() {
            let main = m.entry("main").or_insert_with(|| json!([]));
            if let Some(list) = main.as_array_mut() {
                // A page the configuration's menu already links to is not added twice.
                for item in menu_items {
                    if !list.iter().any(|i| i.get("url") == item.get("url")) {
                        list.push(item);
                    }
                }
            }
        }
    }
    files.insert("site.yaml".into(), yaml_text(&Value::Object(site)).into_bytes());
    std::fs::create_dir_all(out).map_err(io(out))?;
    for (rel, bytes) in &files {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(io(&path))?;
    }
    let marker = serde_json::to_vec_pretty(&report).unwrap_or_default();
    std::fs::write(out.join(MARKER), marker).map_err(io(out))?;
    Ok(report)
}

fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let base = if p.is_absolute() { PathBuf::new() } else { std::env::current_dir().unwrap_or_default() };
    let joined = base.join(p);
    // The nearest existing ancestor, canonical, then the rest.
    let mut existing = joined.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
            (Some(n), Some(parent)) => {
                rest.push(n);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for n in rest.into_iter().rev() {
        out.push(n);
    }
    out
}

/// Files under `dir`, relative, sorted; dot-files and symbolic links left out.
fn walk(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let rel = e.path().strip_prefix(dir).ok()?;
            Some(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
        })
        .collect();
    out.sort();
    out
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

fn parse_toml(file: &str, text: &str, line_offset: usize) -> Result<Map<String, Value>, ImportError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(1, |s| line_col(text, s.start).0) + line_offset;
        ImportError::Source { file: file.into(), line, message: format!("invalid TOML: {}", e.message()) }
    })?;
    match toml_to_json(toml::Value::Table(table)) {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

fn parse_yaml(file: &str, text: &str, line_offset: usize) -> Result<Map<String, Value>, ImportError> {
    let v: crate::util::yaml::Value = crate::util::yaml::from_str(text).map_err(|e| ImportError::Source {
        file: file.into(),
        line: e.line.unwrap_or(1) + line_offset,
        message: format!("invalid YAML: {}", e.message),
    })?;
    match crate::util::yaml::to_json(&v) {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(ImportError::Source {
            file: file.into(),
            line: 1 + line_offset,
            message: "front matter is not a mapping".into(),
        }),
    }
}

fn yaml_text(v: &Value) -> String {
    crate::util::yaml::to_string(v)
}

/// The configuration, as our `site.yaml` keys.
/// One configuration file (TOML, YAML or JSON by its extension), named `label` in messages.
fn config_file(path: &Path, label: &str) -> Result<Map<String, Value>, ImportError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    if label.ends_with(".toml") {
        parse_toml(label, &text, 0)
    } else if label.ends_with(".json") {
        match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ImportError::Source { file: label.to_string(), line: 1, message: "invalid JSON".into() }),
        }
    } else {
        parse_yaml(label, &text, 0)
    }
}

/// The source's configuration as one map: Zola's `config.toml`; Hugo's `hugo.*` or `config.*`
/// at the root, or its configuration folder `config/_default/`, where `hugo.*` (or `config.*`)
/// holds the root keys and each other file `NAME.*` the key `NAME` (`params.toml` → `params`,
/// `languages.toml`, `menus.toml` …), as Hugo merges them.
fn read_config(from: From, src: &Path) -> Result<(String, Map<String, Value>), ImportError> {
    let candidates: &[&str] = match from {
        From::Hugo => &[
            "hugo.toml",
            "hugo.yaml",
            "hugo.yml",
            "hugo.json",
            "config.toml",
            "config.yaml",
            "config.yml",
            "config.json",
        ],
        From::Zola => &["config.toml"],
    };
    if let Some(name) = candidates.iter().find(|c| src.join(c).is_file()) {
        return Ok((name.to_string(), config_file(&src.join(name), name)?));
    }
    let dir = src.join("config/_default");
    if from == From::Hugo && dir.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(&dir).map_err(io(&dir))?.filter_map(Result::ok).collect();
        files.sort_by_key(|e| e.file_name());
        let mut root = Map::new();
        let mut keyed = Map::new();
        for e in files {
            let name = e.file_name().to_string_lossy().to_string();
            let Some((stem, ext)) = name.rsplit_once('.') else { continue };
            if !matches!(ext, "toml" | "yaml" | "yml" | "json") || !e.path().is_file() {
                continue;
            }
            let map = config_file(&e.path(), &format!("config/_default/{name}"))?;
            if stem == "hugo" || stem == "config" {
                root.extend(map);
            } else {
                keyed.insert(stem.to_string(), Value::Object(map));
            }
        }
        // Keys of the root file win over a file of the same name, as in Hugo.
        for (k, v) in keyed {
            root.entry(k).or_insert(v);
        }
        return Ok(("config/_default/".to_string(), root));
    }
    let (what, more) = if from == From::Hugo { ("Hugo", ", or config/_default/") } else { ("Zola", "") };
    Err(ImportError::Usage(format!(
        "{} has no {what} configuration ({}{more}): is it a {what} site?",
        src.display(),
        candidates.join(", "),
    )))
}

/// How the source's language codes become ours: sopixi names a language by its code alone
/// (`en`, `zh`), so `en-us` becomes `en`, and a language whose short code another one already
/// has (`zh-hant-tw` beside `zh`) is left out, with its files.
#[derive(Debug, Default)]
struct Languages {
    /// The configuration file (or folder) the languages come from, for messages.
    file: String,
    /// Source code → our code, where they differ.
    renamed: BTreeMap<String, String>,
    /// Source codes not imported, with why.
    dropped: BTreeMap<String, String>,
}

impl Languages {
    /// What becomes of `content/REL` (`post/a.zh-hant-tw.md`): its new path, or `None` when its
    /// language is left out.
    fn path_of(&self, rel: &str) -> Option<String> {
        let (dir, name) = rel.rsplit_once('/').map_or(("", rel), |(d, n)| (d, n));
        let Some(stem) = name.strip_suffix(".md") else { return Some(rel.to_string()) };
        let Some((base, code)) = stem.rsplit_once('.') else { return Some(rel.to_string()) };
        if self.dropped.contains_key(code) {
            return None;
        }
        match self.renamed.get(code) {
            Some(ours) if dir.is_empty() => Some(format!("{base}.{ours}.md")),
            Some(ours) => Some(format!("{dir}/{base}.{ours}.md")),
            None => Some(rel.to_string()),
        }
    }
}

fn site_config(from: From, src: &Path) -> Result<(Map<String, Value>, Languages), ImportError> {
    let (file, raw) = read_config(from, src)?;
    let mut plan = Languages { file, ..Languages::default() };
    let get = |k: &str| raw.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
    let s = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string));
    let mut site = Map::new();
    site.insert("title".into(), json!(s(get("title")).unwrap_or_else(|| "Imported site".into())));
    let base = s(get("baseURL")).or_else(|| s(get("base_url"))).unwrap_or_else(|| "/".into());
    let base = if base.starts_with("http://") || base.starts_with("https://") || base.starts_with('/') {
        base
    } else {
        "/".into()
    };
    site.insert("base_url".into(), json!(base));
    let lang = match from {
        From::Hugo => s(get("defaultContentLanguage")).or_else(|| s(get("languageCode"))),
        From::Zola => s(get("default_language")),
    }
    .unwrap_or_else(|| "en".into());
    let lang = lang.split(['-', '_']).next().unwrap_or("en").to_ascii_lowercase();
    site.insert("language".into(), json!(lang));
    let params = get(if from == From::Hugo { "params" } else { "extra" }).unwrap_or(json!({}));
    let description =
        s(get("description")).or_else(|| params.get("description").and_then(|d| d.as_str()).map(str::to_string));
    if let Some(d) = description {
        site.insert("description".into(), json!(d));
    }
    let author = params.get("author").and_then(|a| {
        a.as_str().map(str::to_string).or_else(|| a.get("name").and_then(|n| n.as_str()).map(str::to_string))
    });
    if let Some(a) = s(get("author")).or(author) {
        site.insert("author".into(), json!(a));
    }
    let taxonomies: Vec<String> = match from {
        From::Hugo => match get("taxonomies") {
            Some(Value::Object(m)) => m.values().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => vec!["tags".into(), "categories".into()],
        },
        From::Zola => match get("taxonomies") {
            Some(Value::Array(a)) => {
                a.iter().filter_map(|t| t.get("name").and_then(|n| n.as_str()).map(str::to_string)).collect()
            }
            _ => Vec::new(),
        },
    };
    let mut taxonomies: Vec<String> = taxonomies.iter().map(|t| taxonomy_name(t)).filter(|t| !t.is_empty()).collect();
    taxonomies.sort();
    taxonomies.dedup();
    site.insert("taxonomies".into(), json!(taxonomies));
    // Hugo menus: `menu.main` (or `menus.main`) entries with name, url or pageRef, weight.
    if from == From::Hugo {
        if let Some(Value::Object(menus)) = get("menu").or_else(|| get("menus")) {
            let mut ours = Map::new();
            for (name, items) in menus {
                let list: Vec<Value> = items
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| {
                        let url = i
                            .get("pageRef")
                            .or_else(|| i.get("pageref"))
                            .and_then(|p| p.as_str())
                            .map(|p| format!("@/{}", content_ref(p)))
                            .or_else(|| i.get("url").and_then(|u| u.as_str()).map(str::to_string))
                            .unwrap_or_else(|| "/".into());
                        json!({"name": i.get("name").cloned().unwrap_or(json!("")), "url": url, "weight": i.get("weight").cloned().unwrap_or(json!(0))})
                    })
                    .collect();
                ours.insert(name, Value::Array(list));
            }
            site.insert("menus".into(), Value::Object(ours));
        }
    }
    // Other languages, with their titles.
    if let Some(Value::Object(langs)) = get("languages") {
        let mut ours = Map::new();
        // The codes that are already ours first (`zh` keeps its name; `zh-hant-tw` then finds
        // it taken), then by code.
        let mut langs: Vec<(String, Value)> = langs.into_iter().collect();
        langs.sort_by_key(|(code, _)| (code.contains(['-', '_']), code.clone()));
        for (full, cfg) in langs {
            let code = full.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
            if code == lang && !full.eq_ignore_ascii_case(&lang) && full.contains(['-', '_']) {
                // The default language under its regional name (`en-us` for `en`).
                plan.renamed.insert(full.clone(), code);
                continue;
            }
            if code == lang {
                continue;
            }
            if code.len() != 2 && code.len() != 3 || ours.contains_key(&code) {
                let why = if ours.contains_key(&code) || code == lang {
                    format!("its code shortens to `{code}`, which another language of the site has")
                } else {
                    format!("`{full}` is not a language code sopixi reads")
                };
                plan.dropped.insert(full, why);
                continue;
            }
            if full != code {
                plan.renamed.insert(full.clone(), code.clone());
            }
            let mut l = Map::new();
            if let Some(t) = cfg.get("title").and_then(|t| t.as_str()) {
                l.insert("title".into(), json!(t));
            }
            ours.insert(code, Value::Object(l));
        }
        if !ours.is_empty() {
            site.insert("languages".into(), Value::Object(ours));
        }
    }
    let mut extra = match params {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    extra.remove("description");
    // A key of the other tool that would read as switching a platform element off stays out.
    extra.retain(|k, v| !crate::policy::is_platform_switch(k, v));
    if !extra.is_empty() {
        site.insert("extra".into(), Value::Object(extra));
    }
    Ok((site, plan))
}

/// A taxonomy name as sopixi spells them (`theme-tags` → `theme_tags`): lower-case letters,
/// digits and `_`.
fn taxonomy_name(name: &str) -> String {
    name.to_ascii_lowercase()
        .chars()
        .map(|c| if c == '-' || c == ' ' { '_' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// `blog/post`, `/blog/post.md`, `post.md` → `blog/post.md` (as written; a bare name is
/// resolved against the content files by the caller when it can be).
fn content_ref(r: &str) -> String {
    let r = r.trim().trim_matches('"').trim_start_matches('/');
    let (path, anchor) = match r.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (r, None),
    };
    let mut p = path.trim_end_matches('/').to_string();
    if !p.ends_with(".md") {
        p = if p.is_empty() { "_index.md".into() } else { format!("{p}.md") };
    }
    match anchor {
        Some(a) => format!("{p}#{a}"),
        None => p,
    }
}

/// A reference as the page at `names` (content files) it means: exact, else the one file of
/// that name or folder.
fn resolve_ref(r: &str, names: &[String]) -> String {
    let want = content_ref(r);
    let (path, anchor) = want.split_once('#').map_or((want.as_str(), None), |(p, a)| (p, Some(a)));
    let found = if names.iter().any(|n| n == path) {
        Some(path.to_string())
    } else {
        let bundle = format!("{}/index.md", path.trim_end_matches(".md"));
        let section = format!("{}/_index.md", path.trim_end_matches(".md"));
        if names.contains(&bundle) {
            Some(bundle)
        } else if names.contains(&section) {
            Some(section)
        } else {
            // A bare name: the one file of that name, or the one bundle or section folder.
            let stem = path.trim_end_matches(".md");
            let ends = [format!("/{path}"), format!("/{stem}/index.md"), format!("/{stem}/_index.md")];
            let matches: Vec<&String> = names.iter().filter(|n| ends.iter().any(|e| n.ends_with(e.as_str()))).collect();
            (matches.len() == 1).then(|| matches[0].clone())
        }
    };
    let p = found.unwrap_or_else(|| path.to_string());
    match anchor {
        Some(a) => format!("{p}#{a}"),
        None => p,
    }
}

/// What the conversion of every page of one source shares.
struct Conversion<'a> {
    /// Hugo or Zola.
    from: From,
    /// The source folder.
    src: &'a Path,
    /// The Markdown files of `content/`, for `ref`/`relref` and `@/` links.
    names: &'a [String],
    /// The site's taxonomies: a page's key of that name is a taxonomy, not an extra.
    taxonomies: &'a [String],
}

impl Conversion<'_> {
    /// One Markdown file: front matter mapped, body rewritten.
    fn page(
        &self,
        file: &str,
        rel: &str,
        text: &str,
        report: &mut ImportReport,
        menu: &mut Vec<Value>,
    ) -> Result<String, ImportError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (front, body, body_line) = split(file, text)?;
        let mut extra = match front.get("extra") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let mut out = self.front_matter(&front, rel, &mut extra, report, menu);
        dates(&mut out, &mut extra, file, text, report);
        extra.retain(|k, v| !crate::policy::is_platform_switch(k, v));
        if !extra.is_empty() {
            out.insert("extra".into(), Value::Object(extra));
        }
        let body = self.body(file, rel, body, body_line, report);
        let fm = if out.is_empty() { String::new() } else { yaml_text(&Value::Object(out)) };
        Ok(format!("---\n{fm}---\n{body}"))
    }

    /// The source's front matter keys mapped to ours (what has no counterpart goes to `extra`).
    fn front_matter(
        &self,
        front: &Map<String, Value>,
        rel: &str,
        extra: &mut Map<String, Value>,
        report: &mut ImportReport,
        menu: &mut Vec<Value>,
    ) -> Map<String, Value> {
        let (from, taxonomies) = (self.from, self.taxonomies);
        let mut out = Map::new();
        let mut tally = |k: &str| *report.mapped.entry(k.to_string()).or_insert(0) += 1;
        for (k, v) in front {
            let key = k.as_str();
            match (from, key) {
                (_, "extra") => {}
                (_, "template" | "page_template") => {
                    // The source's own templates are not converted: the bundled theme's are used.
                    extra.insert(format!("original_{key}"), v.clone());
                    tally("template → extra.original_template");
                }
                (_, "title" | "description" | "draft" | "weight" | "aliases" | "slug" | "date" | "updated") => {
                    out.insert(key.into(), v.clone());
                }
                (From::Hugo, "lastmod") => {
                    out.insert("updated".into(), v.clone());
                    tally("lastmod → updated");
                }
                (From::Hugo, "publishDate" | "publishdate") => {
                    if !front.contains_key("date") {
                        out.insert("date".into(), v.clone());
                    }
                    tally("publishDate → date");
                }
                (From::Hugo, "summary") if !front.contains_key("description") => {
                    out.insert("description".into(), v.clone());
                    tally("summary → description");
                }
                (From::Hugo, "url") | (From::Zola, "path") => {
                    // Our URL is the folder and the slug: the old address becomes an alias.
                    if let Some(u) = v.as_str() {
                        let last = u.trim_matches('/').rsplit('/').next().unwrap_or("").trim_end_matches(".html");
                        if !last.is_empty() && !front.contains_key("slug") {
                            out.insert("slug".into(), json!(last));
                        }
                        let alias = if u.starts_with('/') { u.to_string() } else { format!("/{u}") };
                        let list = out.entry("aliases").or_insert_with(|| json!([]));
                        if let Some(a) = list.as_array_mut() {
                            a.push(json!(alias));
                        }
                        tally(&format!("{key} → slug + aliases"));
                    }
                }
                (From::Hugo, "menu") => {
                    let menus: Vec<String> = match v {
                        Value::String(s) => vec![s.clone()],
                        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                        Value::Object(m) => m.keys().cloned().collect(),
                        _ => Vec::new(),
                    };
                    if menus.iter().any(|m| m == "main") {
                        let name = front.get("linkTitle").or_else(|| front.get("title")).cloned().unwrap_or(json!(rel));
                        let weight = v
                            .get("main")
                            .and_then(|m| m.get("weight"))
                            .cloned()
                            .or_else(|| front.get("weight").cloned())
                            .unwrap_or(json!(0));
                        menu.push(json!({"name": name, "url": format!("@/{rel}"), "weight": weight}));
                        tally("menu → site menus");
                    } else {
                        extra.insert(key.into(), v.clone());
                    }
                }
                (From::Zola, "taxonomies") => {
                    if let Some(m) = v.as_object() {
                        for (t, terms) in m {
                            out.insert(taxonomy_name(t), terms.clone());
                        }
                        tally("taxonomies → their own keys");
                    }
                }
                (From::Zola, "sort_by") => {
                    let s = v.as_str().unwrap_or("date");
                    let ours = match s {
                        "weight" | "title" | "date" => s,
                        "update_date" => "date",
                        _ => "date",
                    };
                    out.insert("sort_by".into(), json!(ours));
                }
                (From::Zola, "paginate_by") => {
                    out.insert("paginate_by".into(), v.clone());
                }
                (_, k) if taxonomies.contains(&taxonomy_name(k)) => {
                    out.insert(taxonomy_name(k), v.clone());
                }
                _ => {
                    extra.insert(key.into(), v.clone());
                    tally("other keys → extra");
                }
            }
        }
        out
    }

    /// The body: shortcodes rewritten outside code, the summary separator, missing images.
    fn body(&self, file: &str, rel: &str, body: &str, body_line: usize, report: &mut ImportReport) -> String {
        let (from, src, names) = (self.from, self.src, self.names);
        // Shortcodes are rewritten outside code only: a code block that shows one stays as written.
        let mut converted = String::with_capacity(body.len());
        let mut line = body_line;
        for (code, seg) in code_segments(body) {
            if code {
                converted.push_str(seg);
            } else {
                converted.push_str(&match from {
                    From::Hugo => hugo_body(file, seg, line, names, report),
                    From::Zola => zola_body(file, seg, line, names, report),
                });
            }
            line += seg.matches('\n').count();
        }
        let body = converted;
        for figure in std::mem::take(&mut report.figures) {
            let beside = rel.rsplit_once('/').map_or(String::new(), |(d, _)| format!("{d}/"));
            let local = !figure.contains("://") && !figure.starts_with("//") && !figure.is_empty();
            let known = [src.join("content").join(format!("{beside}{figure}")), src.join("static").join(&figure)];
            if local && !known.iter().any(|k| k.is_file()) {
                from_assets(src, &figure, report);
            }
        }
        // Hugo's summary separator, as sopixi (and Zola) write it.
        let body = body.replace("<!--more-->", "<!-- more -->");
        missing_images(src, file, rel, &body, body_line, report)
    }
}

/// Dates as our front matter reads them: one we cannot read is kept under `extra` with a
/// warning at its line.
fn dates(
    out: &mut Map<String, Value>,
    extra: &mut Map<String, Value>,
    file: &str,
    text: &str,
    report: &mut ImportReport,
) {
    for k in ["date", "updated"] {
        if let Some(Value::String(s)) = out.get(k) {
            let fixed = s.replace(' ', "T");
            if crate::site::content::parse_date(&crate::util::yaml::Value::String(fixed.clone())).is_none() {
                let line = front_line(text, k);
                report.warnings.push(
                    Diagnostic::new(file, format!("`{k}: {s}` is not a date sopixi reads; kept under extra"))
                        .at(line, None)
                        .hint("write it as 2024-05-01 or 2024-05-01T10:00:00+02:00"),
                );
                let v = out.remove(k).unwrap_or_default();
                extra.insert(format!("original_{k}"), v);
            } else {
                out.insert(k.into(), json!(fixed));
            }
        } else if out.get(k).is_some_and(|v| !v.is_string()) {
            let v = out.remove(k).unwrap_or_default();
            extra.insert(format!("original_{k}"), v);
        }
    }
}

/// `s` as a Markdown code span, shown as written: fenced by a run of backticks longer than any
/// inside it (and spaced when it starts or ends with one), so that its own backticks stay.
fn inline_code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// The length of the shortcode call `s` starts with (`{{< x >}}`, `{{% x %}}`, `{{ x(…) }}`,
/// `{% x(…) %}`), when it closes on the same line; quoted arguments may hold the closing marks.
fn shortcode_call_end(s: &str) -> Option<usize> {
    let (close, from) = if s.starts_with("{{<") {
        (">}}", 3)
    } else if s.starts_with("{{%") {
        ("%}}", 3)
    } else if s.starts_with("{{ ") || s.starts_with("{% ") {
        let name_end = s[3..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))? + 3;
        if name_end == 3 || !s[name_end..].starts_with('(') {
            return None;
        }
        (if s.starts_with("{{") { "}}" } else { "%}" }, name_end)
    } else {
        return None;
    };
    let mut quote: Option<char> = None;
    let mut chars = s[from..].char_indices();
    while let Some((k, c)) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, _) if s[from + k..].starts_with(close) => return Some(from + k + close.len()),
            _ => {}
        }
    }
    // Quotes that do not pair up (`text='l'ordre'`, broken in the source too): the call still
    // ends at the line's last closing mark.
    s[from..].rfind(close).map(|k| from + k + close.len())
}

/// The body cut into code (fenced blocks, inline code spans) and the rest, in order.
fn code_segments(body: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    let mut fence: Option<String> = None;
    let bytes = body.as_bytes();
    while pos < body.len() {
        let line_end = body[pos..].find('\n').map_or(body.len(), |i| pos + i + 1);
        let line = &body[pos..line_end];
        let t = line.trim_start();
        let indent = line.len() - t.len();
        let marker: String = t.chars().take_while(|c| *c == '`' || *c == '~').collect();
        match &fence {
            None if indent <= 3 && marker.len() >= 3 && marker.chars().all(|c| c == marker.as_bytes()[0] as char) => {
                if start < pos {
                    out.push((false, &body[start..pos]));
                }
                start = pos;
                fence = Some(marker);
            }
            Some(f)
                if t.trim_end().starts_with(f.as_str())
                    && t.trim_end().chars().all(|c| c == f.as_bytes()[0] as char) =>
            {
                out.push((true, &body[start..line_end]));
                start = line_end;
                fence = None;
            }
            None => {
                // Inline code spans on this line: a run of backticks up to the same run.
                let mut i = pos;
                while i < line_end {
                    // A shortcode call on the line is not code, even when its arguments hold
                    // backticks (`text="use `x` here"`): skip to its end.
                    if bytes[i] == b'{' {
                        if let Some(end) = shortcode_call_end(&body[i..line_end]) {
                            i += end;
                            continue;
                        }
                    }
                    if bytes[i] == b'`' {
                        let run = bytes[i..line_end].iter().take_while(|b| **b == b'`').count();
                        let tick = "`".repeat(run);
                        if let Some(close) = body[i + run..line_end].find(&tick) {
                            let end = i + run + close + run;
                            if start < i {
                                out.push((false, &body[start..i]));
                            }
                            out.push((true, &body[i..end]));
                            start = end;
                            i = end;
                            continue;
                        }
                        i += run;
                        continue;
                    }
                    i += 1;
                }
            }
            Some(_) => {}
        }
        pos = line_end;
    }
    if start < body.len() {
        out.push((fence.is_some(), &body[start..]));
    }
    out
}

/// Markdown images whose file the source does not have (Hugo and Zola publish them as they are;
/// sopixi resizes images and needs the file) become links, listed.
fn missing_images(
    src: &Path,
    file: &str,
    rel: &str,
    body: &str,
    body_line: usize,
    report: &mut ImportReport,
) -> String {
    let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
    let exists = |target: &str| {
        let t = target.split(['?', '#']).next().unwrap_or("");
        let decoded = crate::util::text::percent_decode(t, crate::util::text::Malformed::Keep).unwrap_or_default();
        let t = String::from_utf8_lossy(&decoded).into_owned();
        let t = t.as_str();
        if t.is_empty() || t.contains("..") {
            return false;
        }
        let candidates: Vec<PathBuf> = match t.strip_prefix('/') {
            Some(abs) => vec![src.join("static").join(abs), src.join("content").join(abs)],
            None => vec![
                src.join("content").join(dir).join(t.trim_start_matches("./")),
                src.join("content").join(t.trim_start_matches("./")),
                src.join("static").join(t.trim_start_matches("./")),
            ],
        };
        candidates.iter().any(|c| c.is_file())
    };
    let exists = |target: &str, report: &mut ImportReport| exists(target) || from_assets(src, target, report);
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let mut offset = 0;
    let mut lines = Lines::new(body_line);
    while let Some(i) = rest.find("![") {
        // `![alt](target)`; a reference image (`![alt][ref]`) is left as it is.
        let Some(close) = rest[i..].find(']') else { break };
        if !rest[i + close + 1..].starts_with('(') {
            out.push_str(&rest[..i + 2]);
            offset += i + 2;
            rest = &rest[i + 2..];
            continue;
        }
        let start = i + close + 2;
        let Some(end) = rest[start..].find(')') else { break };
        let inside = &rest[start..start + end];
        let target = inside.split_whitespace().next().unwrap_or("").trim_matches(['<', '>']);
        let remote = target.contains("://")
            || target.starts_with("//")
            || target.starts_with("data:")
            || target.starts_with("@/");
        out.push_str(&rest[..i]);
        if !remote && !target.is_empty() && !exists(target, report) {
            let line = lines.at(body, offset + i);
            report.warnings.push(
                Diagnostic::new(file, format!("image `{target}` is not in the source site; kept as a link"))
                    .at(Some(line), None)
                    .kind(Kind::Site)
                    .hint("put the image beside the page or under static/, then turn the link back into an image (`![…](…)`)"),
            );
            out.push_str(&rest[i + 1..start + end + 1]);
        } else {
            out.push_str(&rest[i..start + end + 1]);
        }
        offset += start + end + 1;
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether the image `target` that content names is in Hugo's `assets/` (global resources, which
/// Hugo's `figure` and image render hooks find by path): if so it is noted in `report`, to be
/// copied to `static/` at the same path. A path leaving `assets/` is not looked for.
fn from_assets(src: &Path, target: &str, report: &mut ImportReport) -> bool {
    let t = target.split(['?', '#']).next().unwrap_or("");
    let decoded = crate::util::text::percent_decode(t, crate::util::text::Malformed::Keep).unwrap_or_default();
    let t = String::from_utf8_lossy(&decoded).trim_start_matches("./").trim_start_matches('/').to_string();
    if t.is_empty() || t.split('/').any(|s| s == ".." || s.is_empty()) || t.contains('\\') {
        return false;
    }
    let found = src.join("assets").join(&t).is_file() && !src.join("static").join(&t).exists();
    if found {
        report.from_assets.insert(t);
    }
    found
}

/// The line (1-based) of `key` in the front matter of `text`, when found.
fn front_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("{key}:")) || l.starts_with(&format!("{key} =")) || l.starts_with(&format!("{key}="))
        })
        .map(|i| i + 1)
}

/// Front matter (`+++` TOML, `---` YAML, or a JSON object) and the body, with the body's first line.
fn split<'a>(file: &str, text: &'a str) -> Result<(Map<String, Value>, &'a str, usize), ImportError> {
    // Zola and Hugo allow blank lines before the front matter.
    let lead = text.len() - text.trim_start().len();
    let lead_lines = text[..lead].matches('\n').count();
    let text = &text[lead..];
    for (fence, toml) in [("+++", true), ("---", false)] {
        if let Some(rest) = text.strip_prefix(fence) {
            let rest = rest.trim_start_matches([' ', '\t']);
            let rest = rest.strip_prefix('\r').unwrap_or(rest);
            let Some(rest) = rest.strip_prefix('\n') else { continue };
            let close = format!("\n{fence}");
            let end = rest.find(&close).ok_or_else(|| ImportError::Source {
                file: file.into(),
                line: 1,
                message: format!("the front matter opened with `{fence}` is never closed"),
            })?;
            let fm = &rest[..end];
            let after = &rest[end + close.len()..];
            // The rest of the closing fence's line (spaces) goes with it.
            let after = match after.find('\n') {
                Some(nl) if after[..nl].trim().is_empty() => &after[nl + 1..],
                _ => after,
            };
            let body_line = fm.lines().count() + 3 + lead_lines;
            let map = if toml { parse_toml(file, fm, 1 + lead_lines)? } else { parse_yaml(file, fm, 1 + lead_lines)? };
            return Ok((map, after, body_line));
        }
    }
    if text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        if let Some(Ok(Value::Object(m))) = de.next() {
            let used = de.byte_offset();
            let body = &text[used..];
            let line = text[..used].lines().count() + 1;
            return Ok((m, body.trim_start_matches(['\r', '\n']), line));
        }
    }
    Ok((Map::new(), text, 1))
}

/// Named and positional arguments of a Hugo shortcode (`src="a.jpg" caption="x"`, `"id"`).
fn hugo_args(s: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let mut pos = Vec::new();
    let mut named = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        let mut value: Option<String> = None;
        let read_value = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut v = String::new();
            match chars.peek() {
                Some('"') | Some('`') => {
                    let q = chars.next().unwrap_or('"');
                    let mut esc = false;
                    for c in chars.by_ref() {
                        if esc {
                            v.push(c);
                            esc = false;
                        } else if c == '\\' && q == '"' {
                            esc = true;
                        } else if c == q {
                            break;
                        } else {
                            v.push(c);
                        }
                    }
                }
                _ => {
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() {
                            break;
                        }
                        v.push(c);
                        chars.next();
                    }
                }
            }
            v
        };
        if matches!(chars.peek(), Some('"') | Some('`')) {
            pos.push(read_value(&mut chars));
            continue;
        }
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '=' {
                break;
            }
            word.push(c);
            chars.next();
        }
        if chars.peek() == Some(&'=') {
            chars.next();
            value = Some(read_value(&mut chars));
        }
        match value {
            Some(v) => {
                named.insert(word, v);
            }
            None => pos.push(word),
        }
    }
    (pos, named)
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn figure_call(src: &str, args: &BTreeMap<String, String>) -> String {
    let mut parts = vec![format!("src={}", quoted(src))];
    if let Some(c) = args.get("caption").or_else(|| args.get("title")) {
        parts.push(format!("caption={}", quoted(c)));
    }
    if let Some(a) = args.get("alt") {
        parts.push(format!("alt={}", quoted(a)));
    }
    if let Some(l) = args.get("link") {
        parts.push(format!("href={}", quoted(l)));
    }
    for k in ["width", "height"] {
        if let Some(v) = args.get(k).filter(|v| v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty()) {
            parts.push(format!("{k}={v}"));
        }
    }
    format!("{{{{ figure({}) }}}}", parts.join(", "))
}

fn video_link(service: &str, id: &str) -> String {
    let (url, name) = match service {
        "vimeo" => (format!("https://vimeo.com/{id}"), "Vimeo"),
        _ => (format!("https://www.youtube.com/watch?v={id}"), "YouTube"),
    };
    // sopixi's `video` shows the player once the visitor accepts its provider; an id no player
    // would take stays a link.
    if crate::render::embed::video_source(&url).is_some() {
        format!("{{{{ video(src={}) }}}}", quoted(&url))
    } else {
        format!("[Video on {name}]({url})")
    }
}

/// Hugo's shortcodes (`{{< name args >}}`, `{{% name args %}}`, closing `{{< /name >}}`).
fn hugo_body(file: &str, body: &str, body_line: usize, names: &[String], report: &mut ImportReport) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let mut offset = 0;
    let mut lines = Lines::new(body_line);
    let mut gallery: Option<(Vec<String>, usize)> = None;
    while let Some(i) = find_hugo_open(rest) {
        let (open, close) = if rest[i..].starts_with("{{<") { ("{{<", ">}}") } else { ("{{%", "%}}") };
        let Some(end) = rest[i..].find(close) else { break };
        let inner = rest[i + open.len()..i + end].trim();
        let whole_end = i + end + close.len();
        let line = lines.at(body, offset + i);
        let before = &rest[..i];
        if gallery.is_none() {
            out.push_str(before);
        }
        let inner = inner.trim_end_matches('/').trim();
        let (name, args) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        let (pos, named) = hugo_args(args);
        let count = |n: &str, r: &mut ImportReport| *r.rewritten.entry(n.to_string()).or_insert(0) += 1;
        match name {
            "ref" | "relref" => {
                let target = pos.first().cloned().or_else(|| named.get("path").cloned()).unwrap_or_default();
                out.push_str(&format!("@/{}", resolve_ref(&target, names)));
                count(name, report);
            }
            "figure" => {
                let src = named.get("src").cloned().or_else(|| pos.first().cloned()).unwrap_or_default();
                report.figures.push(src.clone());
                match &mut gallery {
                    Some((images, _)) => images.push(src),
                    None => out.push_str(&figure_call(&src, &named)),
                }
                count("figure", report);
            }
            "youtube" | "vimeo" => {
                let id = named.get("id").cloned().or_else(|| pos.first().cloned()).unwrap_or_default();
                out.push_str(&video_link(name, &id));
                count(name, report);
            }
            "video" => {
                let src = named.get("src").cloned().or_else(|| pos.first().cloned()).unwrap_or_default();
                out.push_str(&format!("{{{{ video(src={}) }}}}", quoted(&src)));
                count("video", report);
            }
            "gallery" => {
                if let Some(dir) = named.get("dir") {
                    report.warnings.push(
                        Diagnostic::new(
                            file,
                            format!(
                                "gallery of the folder `{dir}`: list its images in a `gallery(images=[…])` shortcode"
                            ),
                        )
                        .at(Some(line), None)
                        .hint("the folder's files were copied; only the list is missing"),
                    );
                } else {
                    gallery = Some((Vec::new(), line));
                }
            }
            "/gallery" => {
                if let Some((images, _)) = gallery.take() {
                    let list: Vec<String> = images.iter().map(|s| quoted(s)).collect();
                    out.push_str(&format!("{{{{ gallery(images=[{}]) }}}}", list.join(", ")));
                    count("gallery", report);
                }
            }
            "highlight" => {
                let lang = pos.first().cloned().unwrap_or_default();
                // The code up to the closing tag becomes a fenced block.
                let after = &rest[whole_end..];
                let closing = after.find("{{< /highlight >}}").or_else(|| after.find("{{% /highlight %}}"));
                if let Some(c) = closing {
                    let code = after[..c].trim_matches('\n');
                    out.push_str(&format!("```{lang}\n{code}\n```"));
                    let skip = whole_end + c + "{{< /highlight >}}".len();
                    offset += skip;
                    rest = &rest[skip..];
                    count("highlight", report);
                    continue;
                }
                out.push_str(&rest[i..whole_end]);
            }
            _ => {
                if !name.starts_with('/') {
                    report.warnings.push(unknown_shortcode(file, "Hugo", name, line));
                }
                out.push_str(&inline_code(&rest[i..whole_end]));
            }
        }
        offset += whole_end;
        rest = &rest[whole_end..];
    }
    out.push_str(rest);
    out
}

/// Line numbers of increasing offsets in one text, counted once (a body with thousands of
/// shortcodes is not rescanned from its start for each).
struct Lines {
    line: usize,
    counted: usize,
}

impl Lines {
    fn new(first: usize) -> Lines {
        Lines { line: first, counted: 0 }
    }

    /// The line of byte `pos` of `text` (`pos` never less than the one asked before).
    fn at(&mut self, text: &str, pos: usize) -> usize {
        let pos = pos.min(text.len());
        if pos > self.counted {
            self.line += memchr::memchr_iter(b'\n', &text.as_bytes()[self.counted..pos]).count();
            self.counted = pos;
        }
        self.line
    }
}

/// The warning for a shortcode with no equivalent, left as text.
fn unknown_shortcode(file: &str, generator: &str, name: &str, line: usize) -> Diagnostic {
    Diagnostic::new(file, format!("the {generator} shortcode `{name}` has no sopixi equivalent; left as text"))
        .at(Some(line), None)
        .kind(Kind::Site)
        .hint("replace it by Markdown, or by one of the built-in shortcodes (figure, gallery, video, download, button)")
}

/// The first `{{<` or `{{%` of `s`.
fn find_hugo_open(s: &str) -> Option<usize> {
    first_of(s, |next| matches!(next, [b'{', b'<' | b'%', ..]))
}

/// The first `{` of `s` whose following bytes `after` accepts: one pass, however many kinds of
/// opening are looked for (two `find`s to the end on every step would be quadratic).
fn first_of(s: &str, after: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let b = s.as_bytes();
    memchr::memchr_iter(b'{', b).find(|&i| after(&b[i + 1..]))
}

/// Zola's shortcodes: the ones sopixi has pass through; `youtube`, `vimeo` become links; others
/// are kept readable (inline: as code; with a body: the body) and listed.
fn zola_body(file: &str, body: &str, body_line: usize, names: &[String], report: &mut ImportReport) -> String {
    const KNOWN: &[&str] = &["figure", "gallery", "video", "download", "button"];
    let _ = names;
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let mut offset = 0;
    let mut lines = Lines::new(body_line);
    while let Some(i) = first_of(rest, |next| matches!(next, [b'{' | b'%', b' ', ..])) {
        let is_block = rest.as_bytes()[i + 1] == b'%';
        let after = &rest[i + 3..];
        let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let open_ok = !name.is_empty() && after[name.len()..].starts_with('(');
        if !open_ok {
            out.push_str(&rest[..i + 3]);
            offset += i + 3;
            rest = &rest[i + 3..];
            continue;
        }
        let close = if is_block { "%}" } else { "}}" };
        let Some(end) = after.find(close) else { break };
        let call = &after[..end];
        let whole_end = i + 3 + end + close.len();
        let line = lines.at(body, offset + i);
        out.push_str(&rest[..i]);
        let args = call[name.len()..].trim().trim_start_matches('(').trim_end().trim_end_matches(')');
        let id = args
            .split(',')
            .filter_map(|a| a.split_once('='))
            .find(|(k, _)| k.trim() == "id")
            .map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_string());
        let required = match name.as_str() {
            "figure" | "video" | "download" => "src",
            "gallery" => "images",
            "button" => "href",
            _ => "",
        };
        let has_required = args.split(',').filter_map(|a| a.split_once('=')).any(|(k, _)| k.trim() == required);
        if KNOWN.contains(&name.as_str()) && has_required {
            out.push_str(&rest[i..whole_end]);
        } else if (name == "youtube" || name == "vimeo") && !is_block && id.is_some() {
            out.push_str(&video_link(&name, id.as_deref().unwrap_or_default()));
            *report.rewritten.entry(name.clone()).or_insert(0) += 1;
        } else {
            report.warnings.push(unknown_shortcode(file, "Zola", &name, line));
            if is_block {
                // The body stays; the tags go.
                let tail = &rest[whole_end..];
                let end_tag = tail.find("{% end %}").unwrap_or(tail.len());
                out.push_str(tail[..end_tag].trim_matches('\n'));
                let skip = whole_end + (end_tag + "{% end %}".len()).min(tail.len());
                offset += skip;
                rest = &rest[skip..];
                continue;
            }
            out.push_str(&inline_code(&rest[i..whole_end]));
        }
        offset += whole_end;
        rest = &rest[whole_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugo_shortcode_arguments() {
        let (pos, named) = hugo_args(r#"src="a b.jpg" caption="say \"hi\"" 640 `raw`"#);
        assert_eq!(pos, vec!["640", "raw"]);
        assert_eq!(named["src"], "a b.jpg");
        assert_eq!(named["caption"], "say \"hi\"");
    }

    #[test]
    fn code_is_left_alone() {
        let body = "Text {{< a >}} `{{< b >}}` more\n```\n{{< c >}}\n```\nend {{< d >}}\n";
        let segs = code_segments(body);
        let code: Vec<&str> = segs.iter().filter(|(c, _)| *c).map(|(_, s)| *s).collect();
        assert_eq!(code, vec!["`{{< b >}}`", "```\n{{< c >}}\n```\n"]);
        assert_eq!(segs.iter().map(|(_, s)| *s).collect::<String>(), body);
    }

    #[test]
    fn references_resolve_to_content_files() {
        let names: Vec<String> =
            ["about.md", "blog/_index.md", "blog/first.md", "blog/trip/index.md"].map(String::from).to_vec();
        assert_eq!(resolve_ref("first.md", &names), "blog/first.md");
        assert_eq!(resolve_ref("/blog/trip", &names), "blog/trip/index.md");
        assert_eq!(resolve_ref("blog", &names), "blog/_index.md");
        assert_eq!(resolve_ref("about#team", &names), "about.md#team");
        assert_eq!(resolve_ref("trip", &names), "blog/trip/index.md");
    }
}
