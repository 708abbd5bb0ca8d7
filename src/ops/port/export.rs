//! `sopixi export SITE -o FILE.tar.zst`: everything a partner needs to host their site anywhere
//! else, in one deterministic archive.
//!
//! In: the site folder, the engine (its policy lists the platform's library media), the theme
//! catalog. Out: a `.tar.zst` holding `README.md` (in the site's language: how to host the output,
//! rebuild it, move to Hugo or Zola), `site/` (the sources, with the theme's files unless it is a
//! paid catalog theme, which is named instead), `public/` (the built output) and, when something
//! was left out, `LEFT-OUT.txt`. Entries sorted, fixed times and owners: the same site gives the
//! same bytes. Never writes into the site folder.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::build::engine::Engine;
use crate::site::config::{BuildOptions, Config, SITE_FILE};
use crate::theme::{Place, Theme};
use crate::util::diag::Diagnostic;
use crate::util::text::glob;

/// How to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Build the site and include the output (`--no-build` leaves it out).
    pub build: bool,
    /// The platform's theme catalog, to find the site's theme in.
    pub themes: Option<PathBuf>,
}

/// What went into the archive.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Exported {
    /// Files in the archive.
    pub files: usize,
    /// Bytes of the files, before compression.
    pub bytes: u64,
    /// Bytes of the archive.
    pub archive_bytes: u64,
    /// Files of the platform's media library left out (site paths).
    pub left_out: Vec<String>,
    /// The theme: included, or named only (a paid catalog theme).
    pub theme: String,
    /// Whether the theme's files are in the archive.
    pub theme_included: bool,
    /// Files of the built output included.
    pub built_files: usize,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The site does not build (nothing was written).
    #[error("the site has {} error(s); nothing was exported (fix them, or export without the built output: --no-build)", .0.len())]
    Build(Vec<Diagnostic>),
    /// Reading or writing failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Something else that makes the export impossible.
    #[error("{0}")]
    Usage(String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io { path: path.to_path_buf(), source }
}

/// Times and owners in the archive: fixed, so that the same site gives the same bytes
/// (`SOURCE_DATE_EPOCH` when set, as reproducible builds do).
fn archive_mtime() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|v| v.parse().ok()).unwrap_or(1_767_225_600)
    // 2026-01-01
}

/// Whether a site's file is out of the export: built output, caches, staging folders, dot-files.
pub(crate) fn skipped(rel: &str) -> bool {
    let first = rel.split('/').next().unwrap_or("");
    first == "public" || first.starts_with('.') || rel.split('/').any(|c| c.starts_with('.') && c != ".well-known")
}

/// Exports the site at `root` into the archive `out`.
pub fn export(engine: &Engine, root: &Path, out: &Path, opts: &ExportOptions) -> Result<Exported, ExportError> {
    let root_abs = root.canonicalize().map_err(io(root))?;
    if let Some(parent) = out.parent().and_then(|p| p.canonicalize().ok()) {
        if parent.starts_with(&root_abs) && !parent.starts_with(root_abs.join("public")) {
            return Err(ExportError::Usage(format!(
                "{} is inside the site folder: write the archive elsewhere (the site folder is never written)",
                out.display()
            )));
        }
    }
    let text = std::fs::read_to_string(root.join(SITE_FILE)).map_err(io(&root.join(SITE_FILE)))?;
    let config = Config::load(&text, &BuildOptions::default()).map_err(ExportError::Build)?;
    let library = &engine.policy.library_media;
    let is_library = |rel: &str| library.iter().any(|g| glob(g, rel));
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut report = Exported::default();
    // The sources.
    for e in walkdir::WalkDir::new(root).sort_by_file_name().into_iter().filter_map(Result::ok) {
        if !e.file_type().is_file() {
            continue;
        }
        let Ok(rel) = e.path().strip_prefix(root) else { continue };
        let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        if skipped(&rel) {
            continue;
        }
        if is_library(&rel) {
            report.left_out.push(rel);
            continue;
        }
        entries.insert(format!("site/{rel}"), std::fs::read(e.path()).map_err(io(e.path()))?);
    }
    // The theme: its files, unless it is a paid theme of the catalog (named instead).
    let name = config.site.theme.clone().unwrap_or_else(|| crate::theme::DEFAULT_THEME.to_string());
    let place = Place::resolve(root, None, opts.themes.as_deref(), Some(&name))
        .map_err(|e| ExportError::Usage(format!("the theme `{name}` cannot be found ({e:?})")))?;
    report.theme = name.clone();
    match &place {
        Place::Dir { dir, .. }
            if dir.starts_with(root) || dir.canonicalize().is_ok_and(|d| d.starts_with(&root_abs)) =>
        {
            report.theme_included = true;
        }
        Place::Dir { dir, .. } => {
            let meta = std::fs::read_to_string(dir.join("theme.yaml"))
                .ok()
                .and_then(|t| crate::theme::meta::ThemeMeta::parse("theme.yaml", &t).ok())
                .unwrap_or_default();
            if meta.price.0 > 0 {
                report.theme = format!("{name} {}", meta.version).trim().to_string();
            } else {
                let files: Vec<(String, PathBuf)> = walkdir::WalkDir::new(dir)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_file())
                    .filter_map(|e| {
                        let rel = e.path().strip_prefix(dir).ok()?;
                        let rel =
                            rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                        (!skipped(&rel)).then(|| (rel, e.path().to_path_buf()))
                    })
                    .collect();
                add_theme_files(&mut entries, &name, &Theme::from_dir(place.clone(), files))?;
                report.theme_included = true;
            }
        }
        Place::Bundled(bundled) => {
            add_theme_files(&mut entries, &name, &Theme::bundled(bundled))?;
            report.theme_included = true;
        }
    }
    // The built output.
    if opts.build {
        let built = crate::build::build(
            engine,
            root,
            &BuildOptions { theme_catalog: opts.themes.clone(), ..Default::default() },
        )
        .map_err(|f| ExportError::Build(f.0))?;
        for (path, f) in &built.output.files {
            let origin = f.origin.to_string();
            let src = origin
                .strip_prefix("static/")
                .map(|r| format!("static/{r}"))
                .or_else(|| origin.strip_prefix("content/").map(|r| format!("content/{r}")));
            if src.as_deref().is_some_and(is_library) {
                report.left_out.push(format!("public/{path}"));
                continue;
            }
            let bytes = f.body.bytes().map_err(io(Path::new(path)))?.into_owned();
            entries.insert(format!("public/{path}"), bytes);
            report.built_files += 1;
        }
    }
    report.left_out.sort();
    report.left_out.dedup();
    entries.insert("README.md".into(), readme(&config, &report, opts.build).into_bytes());
    if !report.left_out.is_empty() {
        let mut t = String::from(
            "These files belong to the platform's media library, licensed for use on the platform only,\nand are not part of this export:\n\n",
        );
        for f in &report.left_out {
            t.push_str(&format!("{f}\n"));
        }
        entries.insert("LEFT-OUT.txt".into(), t.into_bytes());
    }
    report.files = entries.len();
    report.bytes = entries.values().map(|b| b.len() as u64).sum();
    let archive = pack(&entries).map_err(io(out))?;
    report.archive_bytes = archive.len() as u64;
    let tmp = out.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&tmp, &archive).map_err(io(&tmp))?;
    std::fs::rename(&tmp, out).map_err(io(out))?;
    Ok(report)
}

fn add_theme_files(entries: &mut BTreeMap<String, Vec<u8>>, name: &str, theme: &Theme) -> Result<(), ExportError> {
    for f in &theme.files {
        let bytes = match &f.data {
            crate::theme::Data::File(abs) => std::fs::read(abs).map_err(io(abs))?,
            crate::theme::Data::Static(b) => b.to_vec(),
        };
        entries.insert(format!("site/themes/{name}/{}", f.rel), bytes);
    }
    Ok(())
}

/// A deterministic `.tar.zst` of `entries`.
fn pack(entries: &BTreeMap<String, Vec<u8>>) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(archive_mtime());
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, path, &bytes[..])?;
    }
    let raw = tar.into_inner()?;
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 9)?;
    enc.write_all(&raw)?;
    enc.finish()
}

/// The archive's README, in the site's language (French or English).
fn readme(config: &Config, r: &Exported, built: bool) -> String {
    let title = &config.site.title;
    let theme = if r.theme_included { format!("site/themes/{}/", r.theme) } else { r.theme.clone() };
    let fr = config.site.language.starts_with("fr");
    let mut t = if fr {
        format!(
            "# {title} — export\n\nCette archive contient tout votre site :\n\n\
- `public/` : le site construit, prêt à publier ;\n\
- `site/` : ses sources (`site.yaml`, `content/` en Markdown, `static/`, vos gabarits) ;\n\
- le thème : {}.\n\n\
## Publier le site ailleurs\n\n\
`public/` est un site statique complet : copiez son contenu chez n'importe quel hébergeur de\n\
fichiers statiques (un serveur web comme nginx ou Apache, Netlify, GitHub Pages, Cloudflare Pages,\n\
un bucket S3 ou équivalent). Aucun programme n'est nécessaire côté serveur. Les adresses de ses\n\
pages sont celles de `base_url` dans `site/site.yaml` : changez-la et reconstruisez si le site\n\
change d'adresse.\n\n\
## Le reconstruire\n\n\
Avec sopixi (logiciel libre) : `sopixi build site` écrit `site/public/`.\n\n\
## Passer à Hugo ou Zola\n\n\
Les pages sont des fichiers Markdown avec un en-tête YAML (`title`, `date`, `tags`,\n\
`description`, `draft`, `slug`, `weight`, `aliases`, `extra`) : Hugo les lit tels quels (mêmes\n\
noms), Zola aussi après passage de l'en-tête en TOML (`+++`). Les liens internes `@/page.md`\n\
sont ceux de Zola ; dans Hugo, écrivez `{{{{< ref \"page.md\" >}}}}`. Les shortcodes\n\
`{{{{ figure(...) }}}}`, `gallery`, `video`, `download` et `button` sont à refaire avec ceux de\n\
l'outil choisi. Les traductions (`page.en.md`) suivent la même convention dans les trois outils.\n",
            if r.theme_included {
                format!("inclus, dans `{theme}`")
            } else {
                format!("`{theme}`, un thème payant du catalogue de la plateforme, non inclus (sa licence ne permet pas de le redistribuer)")
            }
        )
    } else {
        format!(
            "# {title} — export\n\nThis archive holds your whole site:\n\n\
- `public/`: the built site, ready to publish;\n\
- `site/`: its sources (`site.yaml`, `content/` in Markdown, `static/`, your templates);\n\
- the theme: {}.\n\n\
## Hosting the site elsewhere\n\n\
`public/` is a complete static site: copy what it holds to any static host (a web server such\n\
as nginx or Apache, Netlify, GitHub Pages, Cloudflare Pages, an S3 bucket or the like). Nothing\n\
runs on the server. Its pages' addresses follow `base_url` in `site/site.yaml`: change it and\n\
rebuild if the site moves to another address.\n\n\
## Rebuilding it\n\n\
With sopixi (free software): `sopixi build site` writes `site/public/`.\n\n\
## Moving to Hugo or Zola\n\n\
Pages are Markdown files with YAML front matter (`title`, `date`, `tags`, `description`,\n\
`draft`, `slug`, `weight`, `aliases`, `extra`): Hugo reads them as they are (same names), Zola\n\
too once the front matter is TOML (`+++`). Internal links `@/page.md` are Zola's; in Hugo write\n\
`{{{{< ref \"page.md\" >}}}}`. The shortcodes `{{{{ figure(...) }}}}`, `gallery`, `video`,\n\
`download` and `button` must be redone with the chosen tool's. Translations (`page.en.md`)\n\
follow the same convention in all three tools.\n",
            if r.theme_included {
                format!("included, in `{theme}`")
            } else {
                format!("`{theme}`, a paid theme of the platform's catalog, not included (its licence does not allow redistributing it)")
            }
        )
    };
    if !built {
        t.push_str(if fr {
            "\nCet export a été fait sans le site construit (`--no-build`) : reconstruisez-le.\n"
        } else {
            "\nThis export was made without the built site (`--no-build`): rebuild it.\n"
        });
    }
    if !r.left_out.is_empty() {
        t.push_str(if fr {
            "\n## Fichiers non inclus\n\nLes fichiers de la médiathèque de la plateforme, sous licence pour la plateforme seulement, ne sont pas dans l'archive (liste dans `LEFT-OUT.txt`) : remplacez-les par les vôtres.\n"
        } else {
            "\n## Files left out\n\nFiles of the platform's media library, licensed for use on the platform only, are not in the archive (listed in `LEFT-OUT.txt`): replace them with your own.\n"
        });
    }
    t
}
