//! The theme marketplace's gallery (`sopixi theme catalog`): one static page listing every theme
//! of a catalog folder with its screenshot, description, designer, licence, a live demo (the
//! theme's own `demo/` site, or the example site, built with the theme) and its public price
//! with the breakdown; the same data as JSON.
//!
//! In: the catalog folder (one theme folder each), the engine (its policy's margin and VAT, the
//! platform elements), the address the gallery is published at. Out: the gallery folder
//! (`index.html` with the platform elements, `catalog.json`, `demo/NAME/`, screenshots) and the
//! [`Entry`] list. Never writes into a theme folder.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::build::engine::Engine;
use crate::site::config::BuildOptions;
use crate::theme::meta::ThemeMeta;
use crate::util::diag::Diagnostic;
use crate::util::money::{format_cents, public_price, Price};
use crate::util::text::escape_html;

/// One theme of the gallery.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its folder name: what a partner writes in `theme:`.
    pub id: String,
    /// `theme.yaml`.
    pub name: String,
    /// One sentence.
    pub description: String,
    /// Who made it.
    pub designer: String,
    /// Its licence.
    pub(crate) license: String,
    /// Its version.
    pub version: String,
    /// The public price and its parts, in cents.
    pub price: Price,
    /// The price as shown (`76.44`).
    pub price_text: String,
    /// The live demo, relative to the gallery (`demo/vitrine/`).
    pub demo: String,
    /// The screenshot, relative to the gallery, when the theme has one.
    pub screenshot: Option<String>,
}

/// Why the gallery could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A theme's metadata or demo build has errors.
    #[error("{} problem(s) in the catalog; no gallery was written", .0.len())]
    Themes(Vec<Diagnostic>),
    /// Reading or writing failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CatalogError + '_ {
    move |source| CatalogError::Io { path: path.to_path_buf(), source }
}

/// Builds the gallery of the themes in `themes` into `out`, for publication at `base_url`
/// (`/` or `https://themes.example/`), each theme's demo being its own `demo/` site built with
/// it, or `example` for a theme without one.
pub fn build_catalog(
    engine: &Engine,
    themes: &Path,
    example: &Path,
    out: &Path,
    base_url: &str,
) -> Result<Vec<Entry>, CatalogError> {
    let base = if base_url.ends_with('/') { base_url.to_string() } else { format!("{base_url}/") };
    let mut ids: Vec<String> = std::fs::read_dir(themes)
        .map_err(io(themes))?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("templates").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    ids.sort();
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let pricing = engine.policy.themes;
    for id in &ids {
        let dir = themes.join(id);
        let label = format!("{}/theme.yaml", dir.display());
        let meta = match std::fs::read_to_string(dir.join("theme.yaml")) {
            Ok(t) => match ThemeMeta::parse(&label, &t) {
                Ok(m) => m,
                Err(d) => {
                    errors.extend(d);
                    continue;
                }
            },
            Err(e) => {
                errors.push(
                    Diagnostic::new(&label, format!("cannot read: {e}")).hint("every catalog theme has a theme.yaml"),
                );
                continue;
            }
        };
        let price = public_price(meta.price.0, pricing.margin, pricing.vat);
        entries.push(Entry {
            id: id.clone(),
            name: if meta.name.is_empty() { id.clone() } else { meta.name.clone() },
            description: meta.description.clone(),
            designer: meta.designer.clone(),
            license: meta.license.clone(),
            version: meta.version.clone(),
            price_text: format_cents(price.total),
            price,
            demo: format!("demo/{id}/"),
            // Only a file inside the theme: not `..`, not an absolute path.
            screenshot: meta.screenshot.clone().filter(|s| !crate::util::text::escapes(s) && dir.join(s).is_file()),
        });
    }
    if !errors.is_empty() {
        return Err(CatalogError::Themes(errors));
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    for e in &mut entries {
        let dir = themes.join(&e.id);
        let opts = BuildOptions {
            theme_dir: Some(dir.clone()),
            base_url: Some(format!("{base}demo/{}/", e.id)),
            // The demo's image cache goes with the gallery (a dot-folder, never published), not
            // into the theme folder the demo site is in.
            cache_dir: Some(out.join(".cache").join(&e.id)),
            ..Default::default()
        };
        // The theme's own demo site when it has one (it shows the theme at its best), else the
        // example site.
        let own = dir.join("demo");
        let site = if own.join(crate::site::config::SITE_FILE).is_file() { own.as_path() } else { example };
        if let Err(f) = crate::build::build_to_dir(engine, site, &opts, &out.join("demo").join(&e.id)) {
            return Err(CatalogError::Themes(match f {
                crate::build::BuildError::Failed(f) => f.0,
                other => vec![Diagnostic::new(dir.display().to_string(), other.to_string())],
            }));
        }
        if let Some(shot) = &e.screenshot {
            let ext = shot.rsplit('.').next().unwrap_or("png");
            let to = format!("screenshots/{}.{ext}", e.id);
            std::fs::create_dir_all(out.join("screenshots")).map_err(io(out))?;
            std::fs::copy(dir.join(shot), out.join(&to)).map_err(io(&dir.join(shot)))?;
            e.screenshot = Some(to);
        }
    }
    let html = page(&entries, pricing.margin, pricing.vat);
    let injector = crate::policy::compliance::Injector::new(&engine.policy, "en", "en");
    let html = injector.inject(&html, false).map(|i| i.html).unwrap_or(html);
    std::fs::write(out.join("index.html"), html).map_err(io(out))?;
    for (path, bytes) in crate::policy::compliance::assets(&engine.policy) {
        let p = out.join(&path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&p, bytes).map_err(io(&p))?;
    }
    let mut json = serde_json::to_vec_pretty(&entries).unwrap_or_default();
    json.push(b'\n');
    std::fs::write(out.join("catalog.json"), json).map_err(io(out))?;
    Ok(entries)
}

fn page(entries: &[Entry], margin: i64, vat: i64) -> String {
    let mut cards = String::new();
    for e in entries {
        let shot = match &e.screenshot {
            Some(s) => format!(
                "<img src=\"{}\" alt=\"{} at desktop width\" width=\"640\" height=\"400\" loading=\"lazy\">",
                escape_html(s),
                escape_html(&e.name)
            ),
            None => String::new(),
        };
        let p = &e.price;
        let price = if p.total == 0 {
            "<p class=\"price\">Free</p>".to_string()
        } else {
            format!(
                "<p class=\"price\">{} €</p><dl class=\"breakdown\"><dt>Designer</dt><dd>{} €</dd><dt>Platform ({} %)</dt><dd>{} €</dd><dt>VAT ({} %)</dt><dd>{} €</dd></dl>",
                format_cents(p.total),
                format_cents(p.designer),
                format_cents(margin),
                format_cents(p.margin),
                format_cents(vat),
                format_cents(p.vat)
            )
        };
        cards.push_str(&format!(
            "<article><h2>{name}</h2>{shot}<p>{desc}</p><p class=\"by\">by {designer} · {license} · version {version}</p>{price}<p><a href=\"{demo}\">Live demo of {name}</a></p></article>\n",
            name = escape_html(&e.name),
            desc = escape_html(&e.description),
            designer = escape_html(&e.designer),
            license = escape_html(&e.license),
            version = escape_html(&e.version),
            demo = escape_html(&e.demo),
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Themes</title>\
<style>body{{font:1rem/1.5 system-ui,sans-serif;margin:0;color:#1f2a44}}main{{max-width:72rem;margin:0 auto;padding:1rem}}.grid{{display:grid;gap:1.5rem;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr))}}article{{border:1px solid #ccd;border-radius:.5rem;padding:1rem}}img{{max-width:100%;height:auto}}.price{{font-size:1.4rem;font-weight:bold;margin:.5rem 0}}.breakdown{{display:grid;grid-template-columns:auto auto;gap:0 1rem;font-size:.9rem}}.breakdown dd{{margin:0;text-align:right}}a{{color:#1f4fa0}}a:focus{{outline:3px solid #1f2a44}}</style></head>\n\
<body><main><h1>Themes</h1><p>Prices include the platform's margin and VAT.</p><div class=\"grid\">\n{cards}</div></main></body></html>\n"
    )
}
