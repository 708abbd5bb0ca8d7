//! `get_url(path=…, cachebust=true)`: the URL of a published file with its version, `?v=` + the
//! first 10 hex digits of the blake3 hash of the bytes the build publishes (after minifying a
//! stylesheet or script, after taking a photo's metadata out), as the deploy manifest records
//! them. A browser may then keep the file for a year, a changed file reaches every visitor, and
//! the edge (`platform edge`) serves each page the version of the file that page names, even
//! while a release switch is under way.
//!
//! The file is found as the build finds it: the site's `static/` over the theme's, then the
//! files of page bundles. Each file is hashed once per build.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::images::Images;
use crate::theme::{Data, Theme};

/// What a cache-busted URL needs to find and hash a published file.
pub(crate) struct Busting {
    /// The site folder.
    pub root: PathBuf,
    /// The site's theme (its `static/`).
    pub theme: Arc<Theme>,
    /// Photos are published without their metadata: the hash is of those bytes.
    pub images: Arc<Images>,
    /// Stylesheets and scripts are published minified.
    pub minify: bool,
    /// Page bundle files: output path → path under `content/`.
    pub assets: HashMap<String, String>,
    /// Output path → version, for this build.
    done: Mutex<HashMap<String, String>>,
}

impl Busting {
    pub(crate) fn new(
        root: PathBuf,
        theme: Arc<Theme>,
        images: Arc<Images>,
        minify: bool,
        assets: HashMap<String, String>,
    ) -> Busting {
        Busting { root, theme, images, minify, assets, done: Mutex::new(HashMap::new()) }
    }

    /// The version of the published file at site path `path` (`style.css`, `/img/a.png`).
    pub(crate) fn version(&self, path: &str) -> Result<String, String> {
        let rel = path.split(['?', '#']).next().unwrap_or("").trim_start_matches('/');
        if rel.is_empty() || rel.split('/').any(|s| s == ".." || s == "." || s.is_empty()) {
            return Err(format!("get_url: cachebust needs the path of a file of the site, not `{path}`"));
        }
        if let Some(v) = self.done.lock().unwrap_or_else(|e| e.into_inner()).get(rel) {
            return Ok(v.clone());
        }
        let ext = rel.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        if matches!(ext.as_str(), "html" | "htm") {
            return Err(format!(
                "get_url: cachebust is for stylesheets, scripts, images and other files, not pages (`{path}`)"
            ));
        }
        let (label, data) = self.find(rel)?.ok_or_else(|| {
            format!(
                "get_url: cachebust: no file `{rel}` in static/, in the theme's static/ or beside a page (looked for static/{rel} and {})",
                self.theme.static_label(rel)
            )
        })?;
        let mut bytes = match &data {
            Data::File(p) => std::fs::read(p).map_err(|e| format!("get_url: cannot read {label}: {e}"))?,
            Data::Static(b) => b.to_vec(),
        };
        if let (Data::File(abs), "jpg" | "jpeg" | "png" | "webp") = (&data, ext.as_str()) {
            if let Some(clean) = self.images.published_original(&label, abs)? {
                bytes = std::fs::read(&clean).map_err(|e| format!("get_url: cannot read {}: {e}", clean.display()))?;
            }
        } else if self.minify && matches!(ext.as_str(), "css" | "js") {
            if let Some(min) = crate::render::minify::asset(&ext, &bytes) {
                bytes = min;
            }
        }
        let v = crate::policy::compliance::file_version(&bytes);
        self.done.lock().unwrap_or_else(|e| e.into_inner()).insert(rel.to_string(), v.clone());
        Ok(v)
    }

    /// The file published at `rel`: (origin label, data), as `build::stages::static_files`
    /// chooses it.
    fn find(&self, rel: &str) -> Result<Option<(String, Data)>, String> {
        let site = self.root.join("static").join(rel);
        if site.is_file() {
            let base = self.root.join("static").canonicalize().map_err(|e| format!("get_url: static/: {e}"))?;
            let real = site.canonicalize().map_err(|e| format!("get_url: static/{rel}: {e}"))?;
            if !real.starts_with(&base) {
                return Err(format!("get_url: static/{rel} is a link to a file outside the site"));
            }
            return Ok(Some((format!("static/{rel}"), Data::File(site))));
        }
        if let Some(found) = self.theme.find_static(rel).map_err(|e| format!("get_url: {rel}: {e}"))? {
            return Ok(Some(found));
        }
        Ok(self
            .assets
            .get(rel)
            .map(|src| (crate::site::content::diag_path(src), Data::File(self.root.join("content").join(src)))))
    }
}
