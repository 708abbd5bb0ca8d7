//! `sopixi theme new NAME`: a working theme to start from — `theme.yaml`, the three required
//! templates over a `base.html` with landmarks and a skip link, a mobile-first stylesheet with a
//! dark scheme and visible focus, UI strings in English and French.
//!
//! In: the folder to create and the theme's name. Out: the folder, or why not. Never writes
//! into a folder that exists and is not empty.

use std::path::Path;

/// The scaffold's files (path in the theme, text), `NAME` standing for the theme's name.
const FILES: &[(&str, &str)] = &[
    ("theme.yaml", include_str!("scaffold/theme.yaml")),
    ("templates/base.html", include_str!("scaffold/templates/base.html")),
    ("templates/index.html", include_str!("scaffold/templates/index.html")),
    ("templates/section.html", include_str!("scaffold/templates/section.html")),
    ("templates/page.html", include_str!("scaffold/templates/page.html")),
    ("templates/search.html", include_str!("scaffold/templates/search.html")),
    ("static/style.css", include_str!("scaffold/static/style.css")),
    ("i18n/en.yaml", include_str!("scaffold/i18n/en.yaml")),
    ("i18n/fr.yaml", include_str!("scaffold/i18n/fr.yaml")),
];

/// Writes a new theme named `name` into `dir`; returns the files written.
pub fn new_theme(dir: &Path, name: &str) -> Result<Vec<String>, String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(format!("`{name}` is not a theme name: use lowercase letters, digits and hyphens (it is what sites write in `theme:`)"));
    }
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| e.to_string())?.next().is_some() {
        return Err(format!("{} already exists and is not empty: give a new folder", dir.display()));
    }
    let mut written = Vec::new();
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text.replace("NAME", name))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(rel.to_string());
    }
    Ok(written)
}
