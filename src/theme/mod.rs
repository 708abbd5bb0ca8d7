//! One [`Theme`] type: where a theme's files come from (a folder, or compiled in), its files, its
//! `theme.yaml` metadata and the labels messages and outputs name its files by.
//!
//! In: a theme folder's file list (walked by `build`) or a bundled theme's name. Out: template
//! texts, static files and image look-ups, each with its origin label. Must never look outside
//! the theme's folder (a link out of it is refused) and never know about pages or sites.

// Used by `build.rs` (included there by path); compiled here for its tests.
#[cfg(test)]
mod embed_files;
pub mod embedded;
pub mod meta;
pub mod scaffold;

use std::path::{Path, PathBuf};

pub use meta::ThemeMeta;

/// The theme used when `site.yaml` names none.
pub const DEFAULT_THEME: &str = "default";

/// Where a theme's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A folder on disk, and how messages name it (`themes/NAME`, or the `--theme` path).
    Dir {
        /// The theme folder.
        dir: PathBuf,
        /// How messages and origins name it.
        label: String,
    },
    /// A theme compiled into the binary, by name.
    Bundled(String),
}

/// One file of a theme, as found.
#[derive(Debug, Clone)]
pub enum Data {
    /// A file of a theme folder.
    File(PathBuf),
    /// A file compiled into the binary.
    Static(&'static [u8]),
}

/// A file of a theme: its path inside the theme (`templates/page.html`) and its data.
#[derive(Debug, Clone)]
pub struct ThemeFile {
    /// Path inside the theme, `/`-separated.
    pub rel: String,
    /// Where its bytes are.
    pub data: Data,
}

/// A theme: where it is, its files (sorted by path) and what messages call them.
#[derive(Debug, Clone)]
pub struct Theme {
    /// Where its files come from.
    pub place: Place,
    /// Every file, sorted by path.
    pub files: Vec<ThemeFile>,
}

/// A template of a theme: its name (`page.html`), text and origin label.
pub struct TemplateText {
    /// The template's name, its path under `templates/`.
    pub name: String,
    /// Its text.
    pub text: String,
    /// What messages call the file.
    pub origin: String,
}

/// Why a theme could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// A `--theme` folder without `templates/`.
    NoTemplates(PathBuf),
    /// No local or bundled theme of that name; the bundled names, for the hint.
    Unknown {
        /// The name asked for.
        name: String,
        /// The bundled themes.
        bundled: Vec<&'static str>,
    },
}

impl Place {
    /// Finds the theme a site uses: the `--theme` folder when given (or, when `--theme` is a
    /// plain name and no such folder exists, the theme of that name), else `themes/NAME` in
    /// the site, else the bundled theme `NAME` (`name` defaults to [`DEFAULT_THEME`]).
    pub fn resolve(
        root: &Path,
        theme_dir: Option<&Path>,
        catalog: Option<&Path>,
        name: Option<&str>,
    ) -> Result<Place, ResolveError> {
        if let Some(by_name) = theme_dir.and_then(theme_name) {
            return Place::resolve(root, None, catalog, Some(by_name));
        }
        if let Some(dir) = theme_dir {
            if !dir.join("templates").is_dir() {
                return Err(ResolveError::NoTemplates(dir.to_path_buf()));
            }
            return Ok(Place::Dir { dir: dir.to_path_buf(), label: dir_label(dir) });
        }
        let name = name.unwrap_or(DEFAULT_THEME);
        let local = root.join("themes").join(name);
        if local.is_dir() {
            return Ok(Place::Dir { dir: local, label: local_label(name) });
        }
        if let Some(dir) = catalog.map(|c| c.join(name)).filter(|d| plain_name(name) && d.join("templates").is_dir()) {
            return Ok(Place::Dir { dir, label: format!("(theme catalog) {name}") });
        }
        if embedded::theme(name).is_some() {
            return Ok(Place::Bundled(name.to_string()));
        }
        Err(ResolveError::Unknown { name: name.to_string(), bundled: embedded::theme_names() })
    }
}

/// The theme name a `--theme` argument gives: a plain name (`vitrine`: no separator, not
/// `.` or `..`) that is not an existing folder; `None` for a folder.
pub fn theme_name(arg: &Path) -> Option<&str> {
    let s = arg.to_str()?;
    (plain_name(s) && !arg.is_dir()).then_some(s)
}

/// A theme name that cannot leave the folder it is looked up in: not empty, no separator, not
/// starting with `.`.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

/// The label of a `--theme` folder in messages and origins.
pub fn dir_label(dir: &Path) -> String {
    dir.display().to_string()
}

/// The label of a site's local theme `themes/NAME`.
pub fn local_label(name: &str) -> String {
    format!("themes/{name}")
}

impl Theme {
    /// A theme folder's files, given as (path inside the theme, file) in path order.
    pub fn from_dir(place: Place, files: Vec<(String, PathBuf)>) -> Theme {
        let files = files.into_iter().map(|(rel, abs)| ThemeFile { rel, data: Data::File(abs) }).collect();
        Theme { place, files }
    }

    /// A bundled theme's files (none when there is no such theme).
    pub fn bundled(name: &str) -> Theme {
        let files = embedded::theme(name)
            .unwrap_or_default()
            .into_iter()
            .map(|(rel, b)| ThemeFile { rel: rel.to_string(), data: Data::Static(b) })
            .collect();
        Theme { place: Place::Bundled(name.to_string()), files }
    }

    /// What messages call the file `rel` of this theme.
    pub fn origin(&self, rel: &str) -> String {
        match &self.place {
            Place::Dir { label, .. } => format!("{label}/{rel}"),
            Place::Bundled(name) => format!("(bundled theme {name}) {rel}"),
        }
    }

    /// The bundled theme's name, if it is one.
    pub fn bundled_name(&self) -> Option<&str> {
        match &self.place {
            Place::Bundled(n) => Some(n),
            Place::Dir { .. } => None,
        }
    }

    /// The text of `theme.yaml` and its label, when the theme has one (read from disk for a
    /// folder).
    pub fn meta_text(&self) -> Option<(String, String)> {
        let f = self.files.iter().find(|f| f.rel == "theme.yaml")?;
        let text = match &f.data {
            Data::File(p) => std::fs::read_to_string(p).ok()?,
            Data::Static(b) => String::from_utf8_lossy(b).into_owned(),
        };
        Some((self.origin("theme.yaml"), text))
    }

    /// The parsed `theme.yaml` (defaults when there is none), or its problems.
    pub fn meta(&self) -> Result<ThemeMeta, Vec<crate::util::diag::Diagnostic>> {
        match self.meta_text() {
            Some((label, text)) => ThemeMeta::parse(&label, &text),
            None => Ok(ThemeMeta::default()),
        }
    }

    /// The bytes of the theme's file `rel` (`fonts/x.ttf`), if it has it.
    pub fn file_bytes(&self, rel: &str) -> Option<Result<std::borrow::Cow<'static, [u8]>, String>> {
        let f = self.files.iter().find(|f| f.rel == rel)?;
        Some(match &f.data {
            Data::Static(b) => Ok(std::borrow::Cow::Borrowed(*b)),
            Data::File(p) => std::fs::read(p).map(std::borrow::Cow::Owned).map_err(|e| format!("cannot read: {e}")),
        })
    }

    /// The theme's templates (files under `templates/`), read; unreadable ones are reported as
    /// (origin, reason).
    pub fn templates(&self) -> (Vec<TemplateText>, Vec<(String, String)>) {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for f in &self.files {
            let Some(name) = f.rel.strip_prefix("templates/") else { continue };
            let origin = self.origin(&f.rel);
            let text = match &f.data {
                Data::Static(b) => String::from_utf8_lossy(b).into_owned(),
                Data::File(p) => match std::fs::read(p) {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(t) => t,
                        Err(e) => {
                            errors.push((
                                origin,
                                format!("is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
                            ));
                            continue;
                        }
                    },
                    Err(e) => {
                        errors.push((origin, format!("cannot read: {e}")));
                        continue;
                    }
                },
            };
            out.push(TemplateText { name: name.to_string(), text, origin });
        }
        (out, errors)
    }

    /// The theme's static files: (path under `static/`, data, origin), in path order.
    pub fn statics(&self) -> impl Iterator<Item = (&str, &Data, String)> {
        self.files.iter().filter_map(|f| Some((f.rel.strip_prefix("static/")?, &f.data, self.origin(&f.rel))))
    }

    /// The file `static/REL` of the theme, for image look-ups: its origin and data, `Ok(None)`
    /// when there is none, an error when it is a link out of the theme folder. What was looked
    /// for is named by [`Theme::static_label`].
    pub fn find_static(&self, rel: &str) -> Result<Option<(String, Data)>, String> {
        match &self.place {
            Place::Dir { dir, label } => {
                let sdir = dir.join("static");
                let abs = sdir.join(rel);
                if !abs.is_file() {
                    return Ok(None);
                }
                let base = sdir.canonicalize().unwrap_or_else(|_| sdir.clone());
                let real = abs.canonicalize().map_err(|e| format!("cannot read {label}/static/{rel}: {e}"))?;
                if !real.starts_with(&base) {
                    return Err("is a link to a file outside the theme".into());
                }
                Ok(Some((format!("{label}/static/{rel}"), Data::File(abs))))
            }
            Place::Bundled(_) => {
                let key = format!("static/{rel}");
                Ok(self.files.iter().find(|f| f.rel == key).map(|f| (self.origin(&f.rel), f.data.clone())))
            }
        }
    }

    /// How a missing `static/REL` is named in a "looked for" list.
    pub fn static_label(&self, rel: &str) -> String {
        match &self.place {
            Place::Dir { label, .. } => format!("{label}/static/{rel}"),
            Place::Bundled(_) => format!("the theme's static/{rel}"),
        }
    }
}
