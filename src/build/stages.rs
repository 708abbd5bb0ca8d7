//! The build as a sequence of named stages, each taking the previous stage's value:
//! [`Inputs`] → [`load`] → [`Loaded`] → [`bodies`] → [`Bodied`] → [`context`] → [`Contexts`]
//! → [`render`] → [`Finished`] → [`statics`] → [`Finished`] → `images` → [`Built`].
//!
//! In: the gathered inputs, a [`BuildCx`] (site root, options, engine, staging folder) and the
//! [`Memo`] (`serve`'s reuse; a plain build passes [`Memo::off`]). Out: one [`Output`] with every
//! file of the site, or every problem found. Nothing here writes the output folder.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use tera::Context;

use crate::build::engine::Engine;
use crate::build::files::{alias_files, aliases, render_all, RenderCx, LEAF_PAGES};
use crate::build::finish::{Finish, Reuse};
use crate::build::gather::{read_text, Inputs, MdFile, LEAF_FILES};
use crate::build::memo::{BodyReuse, Memo, ReuseEnv};
use crate::images::{FirstImage, ImageError, Images, Within};
use crate::output::{self, Body, BuildStats, Output};
use crate::policy::quotas::quota_errors;
use crate::policy::{compliance, reserved};
use crate::render::highlight::Highlighter;
use crate::render::markdown::MdContext;
use crate::render::templates::{self, Lookup, TemplateSource, Templates, ValueKeys, Values};
use crate::site::body::Rendered as BodyHtml;
use crate::site::config::{BuildOptions, Config};
use crate::site::content::{self, Content, Parsed};
use crate::util::diag::{did_you_mean, BuildFailed, Diagnostic, Kind, Origin};

/// A successful build.
pub struct Built {
    /// Every file of the site.
    pub output: Output,
    /// Counts.
    pub stats: BuildStats,
    /// Time per stage, in order.
    pub timings: Vec<(&'static str, Duration)>,
    /// Problems that do not fail the build (an alias that loses to a real page).
    pub warnings: Vec<Diagnostic>,
    /// Pages the platform withholds: (URL path, reason).
    pub withheld: Vec<(String, String)>,
    /// Bytes of page bodies that waited in the spill file instead of memory (`util::spill`).
    pub spilled: u64,
    /// Markdown files whose bodies were left in the file until converted (`Deferred`).
    pub deferred: usize,
}

/// Drops `value` on another thread (a CLI process may exit before it is done, which is fine).
/// One thread for the whole process, fed through a short queue: a platform run drops two values
/// per partner, and a thread of its own for each cost more than the drop itself for a small site.
/// When the queue is full the caller drops the value itself (what waits to be dropped is bounded).
pub(crate) fn drop_in_background<T: Send + 'static>(value: T) {
    type Garbage = Box<dyn Send>;
    static DROPPER: std::sync::OnceLock<Option<std::sync::mpsc::SyncSender<Garbage>>> = std::sync::OnceLock::new();
    let tx = DROPPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Garbage>(4);
        let spawned =
            std::thread::Builder::new().name("sopixi-drop".into()).spawn(move || rx.into_iter().for_each(drop));
        spawned.ok().map(|_| tx)
    });
    if let Some(tx) = tx {
        // Full (or the thread gone): the value comes back in the error and is dropped here.
        let _ = tx.try_send(Box::new(value));
    }
}

/// One template mistake (a rendering error, a loop running past the time limit, markup that
/// defeats the platform elements) breaks every page using it: report it once, with a count.
pub(crate) fn group_template_errors(errors: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut grouped: BTreeMap<(Origin, Option<u32>, String), (Diagnostic, usize)> = BTreeMap::new();
    let mut out = Vec::new();
    for d in errors {
        if matches!(d.kind, Kind::Render | Kind::TimeLimit | Kind::Platform) {
            grouped.entry((d.origin.clone(), d.line, d.message.clone())).and_modify(|e| e.1 += 1).or_insert((d, 0));
        } else {
            out.push(d);
        }
    }
    for (_, (mut d, more)) in grouped {
        if more > 0 {
            d.hint = d.hint.map(|h| format!("{h} (and {more} other file{})", if more == 1 { "" } else { "s" }));
        }
        out.push(d);
    }
    out
}

/// What every stage of one build is given: the site, its options, the shared engine and, for a
/// fresh build into an empty folder, the staging folder finished files are written into.
#[derive(Clone, Copy)]
pub(crate) struct BuildCx<'a> {
    /// The site folder.
    pub root: &'a Path,
    /// The command-line options.
    pub opts: &'a BuildOptions,
    /// What builds share.
    pub engine: &'a Engine,
    /// A fresh build's staging folder.
    pub(crate) spool: Option<&'a output::Spool>,
    /// The output folder of a build that writes one (beside it, a large site's page bodies
    /// wait in a spill file between conversion and rendering).
    pub(crate) out_dir: Option<&'a Path>,
}

/// From this many Markdown pages, a plain build moves each page's body HTML out of memory
/// between conversion and rendering (`util::spill`): below it, the bodies are a few MB at most.
pub(crate) const SPILL_FROM_PAGES: usize = 1000;

/// The spill file of a plain build of a large site into `cx.out_dir`, beside that folder.
fn spill_for(cx: &BuildCx, pages: usize, memo: &Memo) -> Option<Arc<crate::util::spill::Spill>> {
    let out = cx.out_dir.filter(|_| !memo.active && pages >= SPILL_FROM_PAGES)?;
    crate::util::spill::Spill::beside(out, "")
}

/// The time each stage took, in order.
struct Laps {
    timings: Vec<(&'static str, Duration)>,
    t: Instant,
}

impl Laps {
    fn new() -> Laps {
        Laps { timings: Vec::new(), t: Instant::now() }
    }

    fn lap(&mut self, name: &'static str) {
        self.timings.push((name, self.t.elapsed()));
        crate::util::heap::note(name);
        self.t = Instant::now();
    }
}

/// After [`load`]: the configuration, the content tree (bodies not yet converted), the
/// templates, the files to publish as they are, and the problems found so far.
pub(crate) struct Loaded {
    inputs: Inputs,
    content: Content,
    tpl: Templates,
    /// The UI strings of every language (`trans`).
    strings: Arc<crate::render::i18n::Strings>,
    env: Option<ReuseEnv>,
    errors: Vec<Diagnostic>,
    /// Problems that do not fail the build (a platform decision that names no page).
    warnings: Vec<Diagnostic>,
}

/// After [`bodies`]: every body converted to HTML; the images the bodies asked for planned.
pub(crate) struct Bodied {
    loaded: Loaded,
    images: Arc<Images>,
    /// `serve`: the key of each page's body (`None` where it cannot be reused).
    body_keys: Vec<Option<blake3::Hash>>,
    /// What the template functions look up (its values are set once they are made).
    lookup: Arc<Lookup>,
    /// Bytes of page bodies moved to the spill file.
    spilled: u64,
}

/// After [`context`]: every page's and section's template value, and the lookup tables of the
/// template functions.
pub(crate) struct Contexts {
    bodied: Bodied,
    values: Arc<Values>,
    lookup: Arc<Lookup>,
    /// Whether the build writes a search index (the site has search and the theme a
    /// `search.html`).
    search: bool,
}

/// `serve`: this build's finished files, with their keys, for the next build.
struct Kept {
    files: Vec<(String, blake3::Hash, Body)>,
    /// The share cards each of them names.
    cards: Vec<(String, Vec<String>)>,
    /// How many of them were the previous build's.
    hits: usize,
}

/// After [`render`] (and [`statics`]): the finished pages, generated and static files.
pub(crate) struct Finished {
    contexts: Contexts,
    output: Output,
    adult: Vec<String>,
    /// `serve`: the finished files of this build, with their keys, and how many were reused.
    reuse: Option<Kept>,
    /// The previous build's finished files (kept when this build fails).
    old_files: HashMap<String, (blake3::Hash, Body)>,
    /// The share cards of the previous build's files (kept when this build fails).
    old_cards: HashMap<String, Vec<String>>,
    /// Problems that do not fail the build.
    warnings: Vec<Diagnostic>,
}

/// Runs every stage; `memo` is read and updated (a plain build passes [`Memo::off`]).
pub(crate) fn build_from(cx: &BuildCx, inputs: Inputs, memo: &mut Memo) -> Result<Built, BuildFailed> {
    let mut laps = Laps::new();
    let loaded = load(cx, inputs, memo)?;
    laps.lap("load");
    let bodied = bodies(cx, loaded, memo)?;
    laps.lap("markdown");
    let contexts = context(bodied);
    laps.lap("context");
    let rendered = render(cx, contexts, memo);
    laps.lap("render");
    let rendered = statics(cx, rendered);
    laps.lap("static");
    let built = images(cx, rendered, memo, &mut laps)?;
    Ok(Built { timings: laps.timings, ..built })
}

/// Front matter parsed (in parallel; broken front matter is reported and replaced by defaults,
/// so that every other problem is found in the same run), templates loaded (built-ins, then the
/// theme's, then the site's overrides) and the content tree assembled.
pub(crate) fn load(cx: &BuildCx, mut inputs: Inputs, memo: &mut Memo) -> Result<Loaded, BuildFailed> {
    let mut errors: Vec<Diagnostic> = inputs.errors.clone();
    preload_syntaxes(&cx.engine.highlighter, &inputs.markdown, inputs.deferred.fences);
    let markdown = std::mem::take(&mut inputs.markdown);
    let mut ok = parse_all(cx, &inputs, markdown, memo, &mut errors);

    let mut site_sources = Vec::new();
    for f in &inputs.site_templates {
        let origin = format!("templates/{}", f.rel);
        match read_text(f, &origin) {
            Ok(text) => site_sources.push(TemplateSource { name: f.rel.clone(), text, origin }),
            Err(d) => errors.push(d),
        }
    }
    let (theme_texts, unreadable) = inputs.theme.templates();
    for (origin, why) in unreadable {
        let hint = if why.starts_with("cannot read") {
            "check that the file exists and is readable"
        } else {
            "save the file with the UTF-8 encoding"
        };
        errors.push(Diagnostic::new(origin, why).hint(hint));
    }
    let theme_sources: Vec<TemplateSource> =
        theme_texts.into_iter().map(|t| TemplateSource { name: t.name, text: t.text, origin: t.origin }).collect();
    // A template that styles, scripts or imitates a platform element is refused.
    for t in theme_sources.iter().chain(&site_sources) {
        errors.extend(reserved::diagnostics(&t.origin, reserved::Lang::Html, &t.text));
    }
    let strings = match load_strings(&inputs) {
        Ok(s) => Arc::new(s),
        Err(d) => {
            errors.extend(d);
            Arc::default()
        }
    };
    let env = memo.active.then(|| {
        let mut env = reuse_env(cx, &inputs, &theme_sources, &site_sources);
        strings.hash_into(&mut env.base);
        env
    });
    // What the pages and templates use, for the privacy and thank-you pages.
    let uses = crate::build::legal::uses(&ok, theme_sources.iter().chain(&site_sources).map(|t| t.text.as_str()))
        .merge(inputs.deferred.uses.clone());
    let tpl = load_templates(cx, env.as_ref(), memo, vec![theme_sources, site_sources]);
    let tpl = match tpl {
        Ok(t) => t,
        Err(d) => {
            errors.extend(d);
            return Err(BuildFailed::new(errors));
        }
    };
    for required in ["index.html", "section.html", "page.html"] {
        if !tpl.has(required) {
            errors.push(
                Diagnostic::new("templates", format!("missing template `{required}`"))
                    .hint("the theme must provide it, or add it to templates/ in the site"),
            );
        }
    }
    generated_pages(cx, &inputs, &uses, &mut ok, &mut errors);
    let missing_notice = crate::build::legal::missing_notice(&inputs.config, &inputs.config_text, &ok);
    let other_files: Vec<String> = inputs.content_other.iter().map(|f| f.rel.clone()).collect();
    let (content, mut warnings) = match Content::assemble_under(&inputs.config, ok, other_files, cx.opts) {
        Ok(c) => c,
        Err(d) => {
            errors.extend(d);
            return Err(BuildFailed::new(errors));
        }
    };
    warnings.extend(missing_notice);
    Ok(Loaded { inputs, content, tpl, strings, env, errors, warnings })
}

/// The legal notice, privacy and thank-you pages (`build::legal`) the site does not write itself,
/// parsed like its own files.
fn generated_pages(
    cx: &BuildCx,
    inputs: &Inputs,
    uses: &crate::build::legal::Uses,
    ok: &mut Vec<Parsed>,
    errors: &mut Vec<Diagnostic>,
) {
    let made = crate::build::legal::pages(&inputs.config, &cx.engine.policy, uses);
    if made.is_empty() {
        return;
    }
    let own: std::collections::HashSet<&str> = ok.iter().map(|p| p.rel.as_str()).collect();
    let made: Vec<(String, String)> = made.into_iter().filter(|(rel, _)| !own.contains(rel.as_str())).collect();
    for (rel, text) in made {
        let (p, d) = content::parse(&rel, text, &inputs.config);
        errors.extend(d);
        ok.push(p);
    }
}

/// The theme's `i18n/LANG.yaml` files, then the site's (which override them key by key).
fn load_strings(inputs: &Inputs) -> Result<crate::render::i18n::Strings, Vec<Diagnostic>> {
    use crate::render::i18n::{Strings, StringsFile};
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let lang_of = |rel: &str| {
        let name = rel.strip_suffix(".yaml").or_else(|| rel.strip_suffix(".yml"))?;
        (!name.contains('/')).then(|| name.to_string())
    };
    for f in &inputs.theme.files {
        let Some(lang) = f.rel.strip_prefix("i18n/").and_then(lang_of) else { continue };
        let origin = inputs.theme.origin(&f.rel);
        let text = match &f.data {
            crate::theme::Data::Static(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            crate::theme::Data::File(abs) => {
                read_text(&crate::build::gather::Found { rel: f.rel.clone(), abs: abs.clone() }, &origin)
            }
        };
        files.push((lang, origin, text));
    }
    for f in &inputs.site_i18n {
        let origin = format!("i18n/{}", f.rel);
        let Some(lang) = lang_of(&f.rel) else { continue };
        let text = read_text(f, &origin);
        files.push((lang, origin, text));
    }
    // UI strings end up in pages like template text: markup in them that styles, scripts or
    // imitates a platform element is refused as it is in templates.
    let files: Vec<StringsFile> = files
        .into_iter()
        .filter_map(|(lang, origin, text)| match text {
            Ok(text) => {
                errors.extend(reserved::diagnostics(&origin, reserved::Lang::Html, &text));
                Some(StringsFile { lang, origin, text })
            }
            Err(d) => {
                errors.push(d);
                None
            }
        })
        .collect();
    match Strings::load(&inputs.config.site.language, files) {
        Ok(s) if errors.is_empty() => Ok(s),
        Ok(_) => Err(errors),
        Err(d) => {
            errors.extend(d);
            Err(errors)
        }
    }
}

/// Syntaxes take tens of milliseconds to load: the engine keeps them for every build; a build
/// with fenced code loads them on a thread of its own while front matter is parsed (unless it was
/// asked to use one thread).
fn preload_syntaxes(highlighter: &Arc<Highlighter>, markdown: &[MdFile], deferred_fences: bool) {
    if rayon::current_num_threads() > 1
        && !highlighter.loaded()
        && (deferred_fences || markdown.par_iter().any(|m| Highlighter::may_need(&m.text)))
    {
        let h = highlighter.clone();
        std::thread::spawn(move || h.preload());
    }
}

/// Every Markdown file's front matter, in parallel; `serve` does not parse again a file whose
/// text (and the options and configuration) did not change.
fn parse_all(
    cx: &BuildCx,
    inputs: &Inputs,
    markdown: Vec<MdFile>,
    memo: &mut Memo,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Parsed> {
    let config = &inputs.config;
    let parse_env = memo.active.then(|| {
        let mut h = blake3::Hasher::new();
        cx.opts.hash_into(&mut h);
        h.update(inputs.config_text.as_bytes());
        h.finalize()
    });
    let parse_old = &memo.parsed;
    let parsed: Vec<(Parsed, Vec<Diagnostic>, Option<blake3::Hash>)> = markdown
        .into_par_iter()
        .with_max_len(LEAF_FILES)
        .map(|MdFile { f, text, hash, deferred }| {
            let key = parse_env.map(|env| {
                let mut h = blake3::Hasher::new();
                h.update(env.as_bytes());
                h.update(hash.unwrap_or_else(|| blake3::hash(text.as_bytes())).as_bytes());
                h.finalize()
            });
            match parse_old.get(&f.rel).filter(|(k, _)| Some(*k) == key) {
                // The copy shares the body with the memo's.
                Some((_, p)) => (Parsed::clone(p), Vec::new(), key),
                None => {
                    // The build holds the only reference: the text is not copied.
                    let text = Arc::try_unwrap(text).unwrap_or_else(|t| String::clone(&t));
                    let (mut p, d) = content::parse(&f.rel, text, config);
                    p.deferred = deferred;
                    (p, d, key)
                }
            }
        })
        .collect();
    let mut ok = Vec::with_capacity(parsed.len());
    let mut parsed_new = HashMap::new();
    for (p, d, key) in parsed {
        if let (Some(key), true) = (key, d.is_empty()) {
            parsed_new.insert(p.rel.clone(), (key, Arc::new(p.clone())));
        }
        ok.push(p);
        errors.extend(d);
    }
    if memo.active {
        memo.parsed = parsed_new;
    }
    ok
}

/// What every reuse key of `serve` shares (see [`ReuseEnv`]).
fn reuse_env(cx: &BuildCx, inputs: &Inputs, theme: &[TemplateSource], site: &[TemplateSource]) -> ReuseEnv {
    let uses = |w: &str| theme.iter().chain(site).any(|s| s.text.contains(w));
    let mut h = blake3::Hasher::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    cx.opts.hash_into(&mut h);
    h.update(cx.engine.policy_key.as_bytes());
    h.update(inputs.config_text.as_bytes());
    for s in theme.iter().chain(site) {
        h.update(s.name.as_bytes());
        h.update(&[0]);
        h.update(s.origin.as_bytes());
        h.update(&[0]);
        h.update(s.text.as_bytes());
        h.update(&[0]);
    }
    if uses("cachebust") {
        // A cache-busted URL carries a hash of the file: a page is not reused once any file it
        // could name changed (its size or time, as `serve` sees an edit).
        let theme_files = inputs.theme.files.iter().filter_map(|f| match &f.data {
            crate::theme::Data::File(p) => Some(p),
            crate::theme::Data::Static(_) => None,
        });
        for p in inputs.static_files.iter().chain(&inputs.content_other).map(|f| &f.abs).chain(theme_files) {
            h.update(p.as_os_str().as_encoded_bytes());
            if let Ok(m) = std::fs::metadata(p) {
                h.update(&m.len().to_le_bytes());
                let t = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                h.update(&t.map_or(0, |d| d.as_nanos()).to_le_bytes());
            }
        }
    }
    ReuseEnv {
        base: h,
        bodies: !uses("load_data"),
        files: !uses("load_data") && !uses("get_page") && !uses("get_section"),
    }
}

/// The templates over the engine's built-ins; `serve` does not parse unchanged templates again
/// (every function and filter is registered anew afterwards, so a copy is as good as a fresh load).
fn load_templates(
    cx: &BuildCx,
    env: Option<&ReuseEnv>,
    memo: &mut Memo,
    layers: Vec<Vec<TemplateSource>>,
) -> Result<Templates, Vec<Diagnostic>> {
    let key = env.map(|e| e.base.finalize());
    let reused = memo.templates.as_ref().filter(|(k, _)| Some(*k) == key).map(|(_, t)| t.clone());
    // Outside `serve`, the engine keeps template sets parsed by their sources: the partners of a
    // platform run that share a theme (and have no overrides of their own) parse it once.
    let sources = key.is_none().then(|| {
        let mut h = blake3::Hasher::new();
        for t in layers.iter().flatten() {
            for part in [&t.name, &t.origin, &t.text] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        }
        h.finalize()
    });
    let tpl = match (reused, sources.and_then(|k| cx.engine.parsed.get(&k))) {
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => {
            let t = Templates::load(&cx.engine.builtins, layers)?;
            if let Some(k) = sources {
                cx.engine.parsed.put(k, &t);
            }
            t
        }
    };
    if let Some(k) = key {
        if memo.templates.as_ref().is_none_or(|(old, _)| *old != k) {
            memo.templates = Some((k, tpl.clone()));
        }
    }
    Ok(tpl)
}

/// Every Markdown body converted, in parallel: shortcodes out → Markdown → HTML (internal links,
/// table of contents, highlighting) → shortcodes rendered back in → `<img data-responsive>` →
/// `<picture>`. A build with broken bodies stops here (templates would only add noise about
/// pages already known to be broken), once the images the bodies asked for are made.
pub(crate) fn bodies(cx: &BuildCx, loaded: Loaded, memo: &mut Memo) -> Result<Bodied, BuildFailed> {
    let Loaded { inputs, mut content, mut tpl, strings, env, mut errors, warnings } = loaded;
    let config = &inputs.config;
    let (images, url_lookup) = body_functions(cx, &inputs, &content, &mut tpl, &strings);
    let site_values: Vec<(String, serde_json::Value)> = config
        .languages()
        .iter()
        .map(|l| {
            let mut v = templates::site_value(config, &content, l);
            if let Some(o) = v.as_object_mut() {
                o.insert("form".into(), form_value(cx, config, &url_lookup, l));
            }
            (l.to_string(), v)
        })
        .collect();
    let shortcodes = Shortcodes::new(&tpl, &site_values, cx.opts.deadline, config);
    let reuse = BodyReuse::new(
        memo,
        env.as_ref().and_then(|e| e.bodies_key(&url_lookup, &site_values, &strings)),
        &config.site.language,
    );
    let spill = spill_for(cx, content.pages.len(), memo);
    let converter = BodyConverter {
        cx,
        config,
        images: &images,
        lookup: &url_lookup,
        shortcodes: &shortcodes,
        reuse: &reuse,
        spill_tocs: content.pages.len() >= crate::build::gather::defer_from_files(),
    };
    let (page_errors, body_keys): (Vec<Vec<Diagnostic>>, Vec<Option<blake3::Hash>>) = content
        .pages
        .par_iter_mut()
        .with_max_len(LEAF_PAGES)
        .map(|p| converter.guarded(&mut p.src, &mut p.rendered, &p.lang, spill.as_ref()))
        .unzip();
    let section_errors: Vec<Vec<Diagnostic>> = content
        .sections
        .par_iter_mut()
        .with_max_len(1)
        .map(|s| converter.guarded(&mut s.src, &mut s.rendered, &s.lang, None).0)
        .collect();
    errors.extend(page_errors.into_iter().chain(section_errors).flatten());
    drop(shortcodes);
    let kept = reuse.into_kept();
    if memo.active {
        memo.markdown = kept;
    }
    if !errors.is_empty() {
        let (_, failed) = images.process(false);
        errors.extend(failed);
        return Err(BuildFailed::new(errors));
    }
    let loaded = Loaded { inputs, content, tpl, strings, env, errors, warnings };
    let spilled = spill.as_ref().map_or(0, |s| s.len());
    Ok(Bodied { loaded, images, body_keys, lookup: url_lookup, spilled })
}

/// The images of this build, and the template functions that bodies (shortcodes) and templates
/// call: image functions, the site's base and data, UI strings, URL look-ups.
fn body_functions(
    cx: &BuildCx,
    inputs: &Inputs,
    content: &Content,
    tpl: &mut Templates,
    strings: &Arc<crate::render::i18n::Strings>,
) -> (Arc<Images>, Arc<Lookup>) {
    let config = &inputs.config;
    let images = Arc::new(Images::new(
        cx.root,
        Arc::new(inputs.theme.clone()),
        content.assets.iter().map(|a| (a.out.clone(), a.rel.clone())).collect(),
        &config.site.base_url,
        image_settings(cx.root, config, cx.opts),
        cx.engine.image_headers.clone(),
    ));
    tpl.register_image_functions(images.clone());
    tpl.register_base(config, cx.root);
    tpl.register_strings(strings.clone(), &config.site.language);
    let mut lookup = Lookup::new(config, content);
    let busting = crate::build::bust::Busting::new(
        cx.root.to_path_buf(),
        Arc::new(inputs.theme.clone()),
        images.clone(),
        config.minify,
        content.assets.iter().map(|a| (a.out.clone(), a.rel.clone())).collect(),
    );
    lookup.bust = Some(Arc::new(move |path: &str| busting.version(path)));
    let url_lookup = Arc::new(lookup);
    tpl.register_site_functions(url_lookup.clone());
    (images, url_lookup)
}

/// `site.form` for shortcodes in `lang`: where `contact_form` posts (the policy's endpoint and
/// the site's form id), its consent text and the thank-you page's address.
fn form_value(cx: &BuildCx, config: &Config, lookup: &Lookup, lang: &str) -> serde_json::Value {
    let forms = &cx.engine.policy.forms;
    let id = config.form_id(cx.opts);
    let thanks = lookup.file_url(crate::build::legal::THANKS, lang).cloned();
    serde_json::json!({
        "action": format!("{}{}", forms.endpoint, crate::util::text::slugify(&id)),
        "id": id,
        "consent": forms.consent(lang),
        "thanks": thanks,
    })
}

/// Renders the shortcodes a body calls with the `shortcodes/NAME.html` templates.
struct Shortcodes<'a> {
    tpl: &'a Templates,
    names: Vec<String>,
    site_values: &'a [(String, serde_json::Value)],
    deadline: Option<Instant>,
    /// The business's position (`map` without `lat` and `lon`).
    geo: Option<(f64, f64)>,
}

impl<'a> Shortcodes<'a> {
    fn new(
        tpl: &'a Templates,
        site_values: &'a [(String, serde_json::Value)],
        deadline: Option<Instant>,
        config: &Config,
    ) -> Self {
        let geo = config.site.business.as_ref().and_then(|b| b.geo).map(|g| (g.lat, g.lon));
        Shortcodes { tpl, names: tpl.shortcode_names(), site_values, deadline, geo }
    }

    /// One call, for a page in `lang`: its HTML, or what went wrong.
    fn render(&self, call: &crate::render::shortcodes::Call, lang: &str) -> Result<String, String> {
        let name = format!("shortcodes/{}.html", call.name);
        if !self.tpl.has(&name) {
            let hint = did_you_mean(&call.name, self.names.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(format!("unknown shortcode `{}`; {hint}available: {}", call.name, self.names.join(", ")));
        }
        let mut ctx = Context::new();
        for (k, v) in &call.args {
            ctx.insert(k.as_str(), v);
        }
        if let Some(b) = &call.body {
            ctx.insert("body", b);
        }
        // A video on YouTube or Vimeo, a map: the frame that waits for consent.
        match call.name.as_str() {
            "video" => {
                if let Some(e) = crate::render::embed::video(&call.args, lang) {
                    ctx.insert("embed", &e);
                }
            }
            "map" => {
                let e = crate::render::embed::map(&call.args, self.geo, lang)
                    .map_err(|e| format!("shortcode `map` failed: {e}"))?;
                ctx.insert("embed", &e);
            }
            _ => {}
        }
        let site = self.site_values.iter().find(|(l, _)| l == lang).map_or(&self.site_values[0].1, |(_, v)| v);
        ctx.insert("site", site);
        ctx.insert("lang", lang);
        crate::build::finish::with_deadline(self.deadline, || {
            crate::render::i18n::with_lang(lang, || self.tpl.render(&name, &ctx, &Origin::output("shortcode")))
        })
        .map_err(|d| format!("shortcode `{}` failed: {}: {}", call.name, d.location(), d.message))
    }
}

/// What converting one body needs: the Markdown settings, the images, the URL look-ups, the
/// shortcodes and `serve`'s reuse.
struct BodyConverter<'a> {
    cx: &'a BuildCx<'a>,
    config: &'a Config,
    images: &'a Images,
    lookup: &'a Lookup,
    shortcodes: &'a Shortcodes<'a>,
    reuse: &'a BodyReuse<'a>,
    /// Whether spilled bodies take their tables of contents along (sites as big as those whose
    /// sources wait on disk: below, the memory is not worth a write and two reads a page).
    spill_tocs: bool,
}

impl BodyConverter<'_> {
    /// [`BodyConverter::convert`], with a panic turned into an error of that file (see
    /// `finish::guarded`).
    fn guarded(
        &self,
        src: &mut Parsed,
        rendered: &mut Arc<BodyHtml>,
        lang: &str,
        spill: Option<&Arc<crate::util::spill::Spill>>,
    ) -> (Vec<Diagnostic>, Option<blake3::Hash>) {
        let origin = Origin::from(content::diag_path(&src.rel));
        match crate::build::finish::guarded(&origin, || Ok(self.convert(src, rendered, lang, spill))) {
            Ok(r) => r,
            Err(d) => (vec![d], None),
        }
    }

    /// One body into `rendered` (its source is freed as soon as it is converted, so the HTML of
    /// later pages reuses its memory; with a `spill`, the HTML goes there): its problems, and
    /// its reuse key where it has one.
    fn convert(
        &self,
        src: &mut Parsed,
        rendered: &mut Arc<BodyHtml>,
        lang: &str,
        spill: Option<&Arc<crate::util::spill::Spill>>,
    ) -> (Vec<Diagnostic>, Option<blake3::Hash>) {
        // Internal links go to the translation in the page's language.
        let resolve = |rel: &str| self.lookup.file_url(rel, lang).cloned();
        let md_cx = MdContext {
            config: &self.config.site.markdown,
            resolve: &resolve,
            highlighter: &self.cx.engine.highlighter,
            responsive_images: true,
        };
        let shortcode = |call: &crate::render::shortcodes::Call| self.shortcodes.render(call, lang);
        if let Some(span) = src.deferred.take() {
            src.body = Arc::new(span.text());
        }
        let slot = self.reuse.slot(src, lang);
        let origin = content::diag_path(&src.rel);
        let (r, mut used_images) = match self.reuse.find(slot.as_ref()) {
            Some(r) => (Ok(r), false),
            None => self.images.scoped(&Origin::from(&origin), || {
                crate::render::body::render_body(src, &md_cx, &shortcode).map(Arc::new)
            }),
        };
        // Images of the body: `<picture>`s with absolute URLs, so that the body can be shown
        // on any page (listings, feeds).
        let r = r.and_then(|r| {
            if !r.html_in_memory.contains("data-responsive") {
                return Ok(r);
            }
            used_images = true;
            self.pictures(r, &origin, src)
        });
        src.body = Arc::default();
        match r {
            Ok(r) => {
                // A body with images depends on image files: no key stands for it (it is
                // hashed as it is), and it is made again at every build.
                let slot = slot.filter(|_| !used_images);
                let key = slot.as_ref().map(|s| s.key);
                if let Some(slot) = slot {
                    self.reuse.keep(slot, r.clone());
                }
                *rendered = match spill {
                    Some(spill) => {
                        let mut r = Arc::unwrap_or_clone(r);
                        r.spill_to(spill, self.spill_tocs);
                        Arc::new(r)
                    }
                    None => r,
                };
                (Vec::new(), key)
            }
            Err(d) => (d, None),
        }
    }

    /// The `<img data-responsive>` of a body and its summary made `<picture>`s.
    fn pictures(&self, r: Arc<BodyHtml>, origin: &str, src: &Parsed) -> Result<Arc<BodyHtml>, Vec<Diagnostic>> {
        let mut r = Arc::unwrap_or_clone(r);
        let fail = |errors: Vec<ImageError>| -> Vec<Diagnostic> {
            errors.into_iter().map(|e| image_diagnostic(origin, src, e)).collect()
        };
        r.html_in_memory =
            self.images.rewrite(&r.html_in_memory, Within::Content(origin), FirstImage::Eager).map_err(fail)?;
        if let Some(s) = &r.summary {
            r.summary = Some(self.images.rewrite(s, Within::Content(origin), FirstImage::Lazy).map_err(fail)?);
        }
        Ok(Arc::new(r))
    }
}

/// Template values and the lookup tables of the functions that need rendered content, side by
/// side.
pub(crate) fn context(bodied: Bodied) -> Contexts {
    let Bodied { mut loaded, images, body_keys, lookup, spilled } = bodied;
    let (config, content) = (&loaded.inputs.config, &loaded.content);
    let mut values = Values::new(config, content);
    // Themes that print `seo` get the head tags, and their pages without an image a share card.
    if loaded.tpl.any_mentions("seo") {
        values.seo = Some(images.clone());
        match card_look(&loaded.inputs.theme) {
            Ok(Some(look)) => images.set_card_look(Arc::new(look)),
            Ok(None) => {}
            Err(d) => loaded.errors.push(d),
        }
    }
    // A theme with a search page gets `site.search` (its address, the same from one build to
    // the next: no page is made again because another page's text changed).
    let search = loaded.tpl.has("search.html") && config.site.search;
    for (lang, site) in &mut values.sites {
        let Some(obj) = site.as_object_mut() else { continue };
        if search {
            let url = crate::build::search_index::page_url(config, lang);
            obj.insert("search".into(), serde_json::json!({"url": url, "lang": lang}));
        }
        // The legal notice and privacy page (`site.legal`), the business (`site.business`).
        let url = |rel: &str| lookup.file_url(rel, lang).cloned();
        if let Some(v) = crate::build::legal::value(config, lang, url) {
            obj.insert("legal".into(), v);
        }
        if let Some(b) = &config.site.business {
            let title =
                config.site.languages.get(lang.as_str()).and_then(|l| l.title.as_deref()).unwrap_or(&config.site.title);
            obj.insert("business".into(), b.value(title, lang));
        }
    }
    let values = Arc::new(values);
    // The functions registered with the bodies hold this lookup: they see the values from now on.
    let _ = lookup.values.set(values.clone());
    Contexts { bodied: Bodied { loaded, images, body_keys, lookup: lookup.clone(), spilled }, values, lookup, search }
}

/// The theme's share-card look (`card:` of `theme.yaml`): its font read from the theme.
fn card_look(theme: &crate::theme::Theme) -> Result<Option<crate::images::card::Look>, Diagnostic> {
    let Ok(meta) = theme.meta() else { return Ok(None) };
    let Some(card) = meta.card else { return Ok(None) };
    let label = theme.origin("theme.yaml");
    let font = match theme.file_bytes(&card.font) {
        Some(Ok(bytes)) => bytes.into_owned(),
        Some(Err(e)) => return Err(Diagnostic::new(theme.origin(&card.font), e)),
        None => {
            return Err(Diagnostic::new(label, format!("`card.font` `{}` is not a file of the theme", card.font))
                .hint("ship the font in the theme's folder (e.g. fonts/MyFont-Bold.ttf) and give its path from there"))
        }
    };
    crate::images::card::Look::new(font, &card.background, &card.text, &card.accent).map(Some).map_err(|e| {
        Diagnostic::new(label, e).hint(
            "`card:` takes `font:` (a .ttf or .otf file of the theme) and `background:`, `text:`, `accent:` as #rrggbb",
        )
    })
}

/// Every page rendered and finished as soon as it is rendered, so that only finished bytes are
/// held in memory; `serve` reuses the previous build's file when its key is the same.
pub(crate) fn render(cx: &BuildCx, contexts: Contexts, memo: &mut Memo) -> Finished {
    let Contexts { bodied, values, lookup, search } = &contexts;
    let search = *search;
    let Bodied { loaded, images, body_keys, .. } = bodied;
    let (config, content) = (&loaded.inputs.config, &loaded.content);
    // Template functions look up URLs and terms: part of every finished file's key.
    let render_env = loaded.env.as_ref().filter(|e| e.files).map(|e| {
        let mut h = e.base.clone();
        let mut urls: Vec<_> = lookup.urls.iter().collect();
        urls.sort();
        let mut terms: Vec<_> = lookup.terms.iter().collect();
        terms.sort();
        h.update(format!("{urls:?}{terms:?}").as_bytes());
        h.finalize()
    });
    // What each page and section value is made of, hashed once: a file's key is assembled from
    // these instead of hashing its whole context.
    let keys: Option<ValueKeys> = render_env.map(|_| values.keys(content, body_keys));
    let render_env = render_env.zip(keys.as_ref()).map(|(env, k)| {
        let mut h = blake3::Hasher::new();
        h.update(env.as_bytes());
        h.update(k.site.as_bytes());
        h.finalize()
    });
    let old_files = std::mem::take(&mut memo.files);
    let old_cards = std::mem::take(&mut memo.cards);
    let reuse = render_env.map(|env| Reuse {
        env,
        old: &old_files,
        new: Default::default(),
        hits: Default::default(),
        old_cards: &old_cards,
        new_cards: Default::default(),
    });
    let finish = Finish::new(cx.engine, config, images, reuse, cx.spool, cx.opts);
    let mut errors = Vec::new();
    let rcx = RenderCx { tpl: &loaded.tpl, values, keys: keys.as_ref(), config, content, finish: &finish, search: &[] };
    // The search index is made from the bodies while the pages render.
    let (mut rendered, index) = rayon::join(
        || render_all(&rcx, cx.opts.progress, &mut errors),
        || {
            if search {
                crate::build::search_index::build(config, content, memo.active.then_some(&mut memo.search))
            } else {
                Default::default()
            }
        },
    );
    memo.search_counted = index.counted;
    let rcx = RenderCx { search: &index.values, ..rcx };
    let mut pages = Vec::new();
    crate::build::files::search_pages(&rcx, &mut pages);
    for (r, origin) in pages {
        match r {
            Ok((path, body)) => rendered.push((path, body, origin)),
            Err(d) => errors.push(d),
        }
    }
    let mut output = Output::default();
    for (path, bytes) in index.files {
        if let Err(d) = output.add(path, Body::Bytes(bytes), Origin::output("(search) index")) {
            errors.push(d);
        }
    }
    for (path, body, origin) in rendered {
        if let Err(d) = output.add(path, body, origin) {
            errors.push(d);
        }
    }
    let adult = finish.adult.into_inner().unwrap_or_else(|e| e.into_inner());
    let notes = finish.notes.into_inner().unwrap_or_else(|e| e.into_inner());
    note_templates(&mut output, std::mem::take(&mut *finish.templates.lock().unwrap_or_else(|e| e.into_inner())));
    let reuse = finish.reuse.map(|r| Kept {
        files: r.new.into_inner().unwrap_or_else(|e| e.into_inner()),
        hits: r.hits.into_inner(),
        cards: r.new_cards.into_inner().unwrap_or_else(|e| e.into_inner()),
    });
    drop(keys);
    let mut contexts = contexts;
    contexts.bodied.loaded.errors.extend(errors);
    let mut warnings = std::mem::take(&mut contexts.bodied.loaded.warnings);
    warnings.extend(notes.into_values());
    Finished { contexts, output, adult, reuse, old_files, old_cards, warnings }
}

/// Static files — the theme's, replaced by the site's of the same path; then bundle files —
/// finished (HTML files get the platform elements, CSS and JS are minified, published photos
/// lose their metadata); then the files made once every other is known: aliases, the notices
/// of withheld pages and the platform's own files under the reserved `/_sopixi/`.
pub(crate) fn statics(cx: &BuildCx, mut rendered: Finished) -> Finished {
    let Finished { contexts, output, warnings, .. } = &mut rendered;
    let loaded = &contexts.bodied.loaded;
    let config = &loaded.inputs.config;
    // Raw HTML files get the platform elements too, through the same finish stage as pages.
    let finish = Finish::new(cx.engine, config, &contexts.bodied.images, None, None, cx.opts);
    let mut errors = Vec::new();
    let files = static_files(cx, loaded, output, &mut errors);
    finish_static_files(files, &finish, &contexts.bodied.images, config.minify, output, &mut errors);
    let rcx = RenderCx {
        tpl: &loaded.tpl,
        values: &contexts.values,
        keys: None,
        config,
        content: &loaded.content,
        finish: &finish,
        search: &[],
    };
    alias_pages(&rcx, output, warnings, &mut errors);
    withheld_notices(&rcx, output, &mut errors);
    platform_files(cx, output, &mut errors);
    note_templates(output, std::mem::take(&mut *finish.templates.lock().unwrap_or_else(|e| e.into_inner())));
    warnings.extend(std::mem::take(&mut *finish.notes.lock().unwrap_or_else(|e| e.into_inner())).into_values());
    let adult = finish.adult.into_inner().unwrap_or_else(|e| e.into_inner());
    let roots: Vec<(String, String)> = if config.language_root(&config.site.language) != "/" {
        loaded.content.languages.iter().map(|l| (l.lang.clone(), l.root.clone())).collect()
    } else {
        Vec::new()
    };
    let base_url = config.site.base_url.clone();
    rendered.adult.extend(adult);
    rendered.output.language_roots = roots;
    rendered.output.base_url = base_url;
    rendered.output.adult = rendered.adult.iter().cloned().collect();
    rendered.contexts.bodied.loaded.errors.extend(errors);
    rendered
}

/// The files published as they are, by output path: the theme's static files, the site's
/// (which replace the theme's of the same path), then bundle files (which may not take a path
/// already made).
fn static_files(
    cx: &BuildCx,
    loaded: &Loaded,
    output: &Output,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, (Body, Origin)> {
    let inputs = &loaded.inputs;
    let mut statics: BTreeMap<String, (Body, Origin)> = BTreeMap::new();
    for (rel, data, origin) in inputs.theme.statics() {
        let body = match data {
            crate::theme::Data::File(abs) => Body::File(abs.clone()),
            crate::theme::Data::Static(b) => Body::Static(b),
        };
        statics.insert(rel.to_string(), (body, Origin::from(origin)));
    }
    for f in &inputs.static_files {
        statics.insert(f.rel.clone(), (Body::File(f.abs.clone()), Origin::from(format!("static/{}", f.rel))));
    }
    let content_dir = cx.root.join("content");
    for a in &loaded.content.assets {
        if output.files.contains_key(&a.out) || statics.contains_key(&a.out) {
            let other = output
                .files
                .get(&a.out)
                .map(|f| f.origin.clone())
                .or_else(|| statics.get(&a.out).map(|s| s.1.clone()))
                .map_or_else(String::new, |o| o.to_string());
            errors.push(
                Diagnostic::new(
                    content::diag_path(&a.rel),
                    format!("output file /{} is also produced by {other}", a.out),
                )
                .hint("rename one of them"),
            );
            continue;
        }
        statics.insert(a.out.clone(), (Body::File(content_dir.join(&a.rel)), Origin::from(content::diag_path(&a.rel))));
    }
    statics
}

/// Each static file finished, in parallel (HTML gets the platform elements, CSS and JS are
/// minified where asked, photos lose their metadata, reserved names are refused), into the
/// output.
fn finish_static_files(
    statics: BTreeMap<String, (Body, Origin)>,
    finish: &Finish,
    images: &Images,
    minify: bool,
    output: &mut Output,
    errors: &mut Vec<Diagnostic>,
) {
    let finished: Vec<(String, Result<Body, Vec<Diagnostic>>, Origin)> = statics
        .into_par_iter()
        .map(|(path, (body, origin))| {
            let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            if let (Body::File(abs), "jpg" | "jpeg" | "png" | "webp") = (&body, ext.as_str()) {
                // Published photos lose their metadata (GPS position, camera, XMP) too.
                return match images.published_original(&origin.to_string(), abs) {
                    Ok(Some(clean)) => (path, Ok(Body::File(clean)), origin),
                    Ok(None) => (path, Ok(body), origin),
                    Err(e) => {
                        let d = Diagnostic::new(&origin, e).hint("replace the file with a valid JPEG or PNG image");
                        (path, Err(vec![d]), origin)
                    }
                };
            }
            let is_html = matches!(ext.as_str(), "html" | "htm");
            let lang = reserved::Lang::of(&path);
            let minified = minify && matches!(ext.as_str(), "css" | "js");
            let needs = is_html || lang.is_some() || minified;
            if !needs {
                return (path, Ok(body), origin);
            }
            let bytes = match body.bytes() {
                Ok(b) => b.into_owned(),
                Err(e) => return (path, Err(vec![Diagnostic::new(&origin, format!("cannot read: {e}"))]), origin),
            };
            // A stylesheet, script or page that names a platform element is refused.
            if let Some(lang) = lang {
                let found = reserved::diagnostics(&origin.to_string(), lang, &String::from_utf8_lossy(&bytes));
                if !found.is_empty() {
                    return (path, Err(found), origin);
                }
            }
            if !(is_html || minified) {
                return (path, Ok(body), origin);
            }
            if is_html {
                let text = String::from_utf8_lossy(&bytes);
                let lang = finish.lang_of_path(&path);
                let r = crate::build::finish::guarded(&origin, || finish.html(&path, &text, false, lang, &origin))
                    .map(Body::Bytes)
                    .map_err(|d| vec![d]);
                return (path, r, origin);
            }
            let min = crate::render::minify::asset(&ext, &bytes);
            (path, Ok(Body::Bytes(min.unwrap_or(bytes))), origin)
        })
        .collect();
    for (path, body, origin) in finished {
        match body {
            Ok(b) => {
                if let Err(d) = output.add(path, b, origin) {
                    errors.push(d);
                }
            }
            Err(d) => errors.extend(d),
        }
    }
}

/// Aliases last: one on the URL of a real page, section or file loses to it (a warning).
fn alias_pages(rcx: &RenderCx, output: &mut Output, warnings: &mut Vec<Diagnostic>, errors: &mut Vec<Diagnostic>) {
    let found = aliases(rcx.config, rcx.content);
    errors.extend(found.errors);
    let taken = |file: &str| output.files.get(file).map(|f| f.origin.to_string());
    let mut redirects = Vec::new();
    let made = alias_files(rcx, found.wanted, taken, warnings, &mut redirects);
    redirects_file(output, &redirects, errors);
    for (r, origin) in made {
        match r {
            Ok((path, body)) => {
                if let Err(d) = output.add(path, body, origin) {
                    errors.push(d);
                }
            }
            Err(d) => errors.push(d),
        }
    }
}

/// `_redirects` (the format Netlify and Cloudflare Pages read, and `platform edge` turns into
/// real 301s): one `FROM TO 301` line per alias, after the lines of the site's own
/// `static/_redirects` if it has one.
fn redirects_file(output: &mut Output, redirects: &[(String, String)], errors: &mut Vec<Diagnostic>) {
    if redirects.is_empty() {
        return;
    }
    let mut text = match output.files.get(REDIRECTS) {
        Some(own) => match own.body.bytes() {
            Ok(b) => {
                let mut t = String::from_utf8_lossy(&b).into_owned();
                if !t.is_empty() && !t.ends_with('\n') {
                    t.push('\n');
                }
                t
            }
            Err(e) => {
                errors.push(Diagnostic::new(&own.origin, format!("cannot read: {e}")));
                return;
            }
        },
        None => String::new(),
    };
    text.push_str("# The aliases of the site's pages (written by sopixi)\n");
    for (from, to) in redirects {
        if !from.contains(char::is_whitespace) && !to.contains(char::is_whitespace) {
            text.push_str(&format!("{from} {to} 301\n"));
        }
    }
    output.put(REDIRECTS.into(), Body::Bytes(text.into_bytes()), Origin::output("(aliases) _redirects"));
}

/// The file of redirects a build writes for its aliases.
pub(crate) const REDIRECTS: &str = "_redirects";

/// Pages the platform withholds: their URL answers with the platform's notice.
fn withheld_notices(rcx: &RenderCx, output: &mut Output, errors: &mut Vec<Diagnostic>) {
    let (config, finish) = (rcx.config, rcx.finish);
    for w in &rcx.content.withheld {
        let file = format!("{}index.html", w.path.trim_start_matches('/'));
        let origin = Origin::output("(platform) withheld page");
        let home = config.permalink(&config.language_root(&w.lang));
        let title = &rcx.values.site(&w.lang)["title"];
        let html = crate::policy::notice::page(
            crate::policy::notice::Notice::Withheld,
            &w.lang,
            title.as_str().unwrap_or(&config.site.title),
            &w.reason,
            &home,
        );
        match crate::build::finish::guarded(&origin, || finish.html(&file, &html, false, &w.lang, &origin)) {
            Ok(bytes) => {
                if let Err(d) = output.add(file, Body::Bytes(bytes), origin) {
                    errors.push(d);
                }
            }
            Err(d) => errors.push(d),
        }
    }
}

/// The platform's own files; the whole `/_sopixi/` folder is reserved (a site file there is an
/// error).
fn platform_files(cx: &BuildCx, output: &mut Output, errors: &mut Vec<Diagnostic>) {
    let reserved = format!("{}/", compliance::ASSET_DIR);
    for (path, f) in output.files.iter().filter(|(p, _)| p.starts_with(&reserved)) {
        errors.push(
            Diagnostic::new(&f.origin, format!("/{path}: the folder /{reserved} is reserved for the platform"))
                .hint("move the file to another folder"),
        );
    }
    for (path, bytes) in compliance::assets(&cx.engine.policy) {
        let body = match bytes {
            std::borrow::Cow::Borrowed(b) => Body::Static(b),
            std::borrow::Cow::Owned(v) => Body::Bytes(v),
        };
        output.put(path, body, Origin::output("(platform)"));
    }
}

/// Records which template made which page.
fn note_templates(output: &mut Output, made: Vec<(String, String)>) {
    for (template, path) in made {
        output.templates.entry(template).or_default().push(path);
    }
    for pages in output.templates.values_mut() {
        pages.sort();
        pages.dedup();
    }
}

/// Every image variant the pages and templates asked for (the cache holds those made before;
/// made even when other files failed, so that the next build finds them ready); then the quotas,
/// the memo's finished files, and the verdict.
fn images(cx: &BuildCx, rendered: Finished, memo: &mut Memo, laps: &mut Laps) -> Result<Built, BuildFailed> {
    let Finished { contexts, mut output, adult: _, reuse, old_files, old_cards, mut warnings } = rendered;
    let Contexts { bodied, values, lookup, .. } = contexts;
    let Bodied { loaded, images, spilled, .. } = bodied;
    let Loaded { inputs, content, tpl, mut errors, .. } = loaded;
    let deferred = inputs.deferred.files;
    let (made, failed) = images.process(cx.opts.progress);
    errors.extend(failed);
    warnings.extend(images.warnings());
    for (path, file, origin) in made {
        if let Err(d) = output.add(path, Body::File(file), origin) {
            errors.push(d);
        }
    }
    laps.lap("images");
    errors.extend(quota_errors(&output, &cx.engine.policy.quotas));
    let pages = content.pages.iter().filter(|p| !p.fallback).count() as u64;
    if pages > cx.engine.policy.quotas.pages {
        errors.push(
            Diagnostic::new(
                crate::site::config::SITE_FILE,
                format!("the site has {pages} pages, over the platform's quota of {}", cx.engine.policy.quotas.pages),
            )
            .kind(crate::util::diag::Kind::Quota)
            .hint("remove pages, or ask the platform for a larger plan"),
        );
    }
    if memo.active {
        (memo.files, memo.reused, memo.cards) = match reuse {
            Some(kept) if errors.is_empty() => (
                kept.files.into_iter().map(|(p, k, b)| (p, (k, b))).collect(),
                kept.hits,
                kept.cards.into_iter().collect(),
            ),
            // A failed build keeps the last good build's files for the next try.
            _ if errors.is_empty() => (HashMap::new(), 0, HashMap::new()),
            _ => (old_files, 0, old_cards),
        };
    }
    if !errors.is_empty() {
        return Err(BuildFailed::new(group_template_errors(errors)));
    }
    let (images_made, images_cached) = images.counts();
    let stats = BuildStats {
        pages: content.pages.len(),
        sections: content.sections.len(),
        files: output.len(),
        images_made,
        images_cached,
    };
    // Freeing a 10,000-page site's values is a million small frees: do it off the critical path.
    let withheld = content.withheld.iter().map(|w| (w.path.clone(), w.reason.clone())).collect();
    drop_in_background((content, values, lookup, tpl, inputs));
    Ok(Built { output, stats, timings: Vec::new(), warnings, withheld, spilled, deferred })
}

/// The `images:` settings, resolved against the site folder.
fn image_settings(root: &Path, config: &Config, opts: &BuildOptions) -> crate::images::Settings {
    let c = &config.site.images;
    crate::images::Settings {
        widths: c.widths.clone(),
        quality: c.quality,
        webp: c.webp,
        sizes: c.sizes.clone(),
        max_pixels: u64::from(c.max_megapixels) * 1_000_000,
        cache_dir: opts.cache_dir.clone().unwrap_or_else(|| root.join(&c.cache_dir)),
    }
}

/// An image problem of a content file, at the line that names the image when it can be found.
fn image_diagnostic(origin: &str, src: &Parsed, e: ImageError) -> Diagnostic {
    let named = e.image.as_deref().unwrap_or("");
    let line = (!named.is_empty())
        .then(|| src.body.lines().position(|l| l.contains(named)))
        .flatten()
        .map(|i| i + src.body_line);
    Diagnostic::new(origin, e.message).at(line, None).hint(e.problem.hint()).kind(Kind::Image)
}
