//! Which files of `themes/` and `example-site/` are compiled into the binary, and which paths
//! the build script tells cargo to watch. Shared with `build.rs` (included there by path), so
//! that the rule the tests check is the rule the build uses.
//!
//! In: a folder. Out: its files to embed, sorted, and the paths to watch. Must never list a build
//! output (`public/`), a cache or staging folder (dot-folders) or an editor backup: building the
//! example site in place must not make the next `cargo build` recompile the crate.

use std::path::{Path, PathBuf};

/// Whether a file or folder name is left out of the binary (and of the watch list).
pub(crate) fn skipped(name: &str) -> bool {
    name.starts_with('.') || name == "public" || name.ends_with('~')
}

/// The files under `dir` to embed, as (path relative to `root`, `/`-separated; file), sorted.
pub(crate) fn files(root: &Path, dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    collect(root, dir, &mut out);
    out
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(r) => r.filter_map(Result::ok).collect(),
        Err(_) => return,
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        if skipped(&name) {
            continue;
        }
        let path = e.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push((rel.to_string_lossy().replace('\\', "/"), path));
        }
    }
}

/// The paths under `root` for cargo to watch (`rerun-if-changed`). Cargo scans a watched folder
/// whole, so a folder that holds a site — a `site.yaml` in it or below it: the example site, a
/// theme's `demo/` — is never listed: it gets `public/` and `.sopixi-cache/` when it is built in
/// place. Its files and its other folders are listed instead, recursively; `root` itself is
/// never listed. (A new entry added directly in such a folder is then seen at the next change of
/// a listed path.)
pub(crate) fn watch_list(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    watch(root, &mut out);
    out
}

fn watch(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(r) => r.filter_map(Result::ok).filter(|e| !skipped(&e.file_name().to_string_lossy())).collect(),
        Err(_) => return,
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if path.is_dir() && holds_site(&path) {
            watch(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Whether a `site.yaml` is in `dir` or below it (outside skipped folders).
fn holds_site(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.filter_map(Result::ok).any(|e| {
        let name = e.file_name().to_string_lossy().to_string();
        if skipped(&name) {
            return false;
        }
        let path = e.path();
        name == "site.yaml" && path.is_file() || path.is_dir() && holds_site(&path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site built in place: its output, image cache and a build's staging folder beside the
    /// sources.
    fn built_site() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for (p, text) in [
            ("site.yaml", "title: T\n"),
            ("content/_index.md", "---\ntitle: Home\n---\n"),
            ("static/style.css", "body{}"),
            ("public/index.html", "<p>built</p>"),
            (".sopixi-cache/images/x.jpg", "jpeg"),
            (".public.sopixi-staging-42/index.html", "half"),
            ("content/notes.md~", "backup"),
        ] {
            std::fs::create_dir_all(r.join(p).parent().unwrap()).unwrap();
            std::fs::write(r.join(p), text).unwrap();
        }
        d
    }

    #[test]
    fn building_in_place_changes_nothing_the_build_script_watches_or_embeds() {
        let d = built_site();
        let root = d.path();
        let watched = watch_list(root);
        assert!(watched.contains(&root.join("site.yaml")) && watched.contains(&root.join("content")), "{watched:?}");
        let outputs = [root.join("public"), root.join(".sopixi-cache"), root.join(".public.sopixi-staging-42")];
        for w in &watched {
            // A watched folder is scanned whole: none may be, or hold, a build output.
            for o in &outputs {
                assert!(!o.starts_with(w), "{} is watched and holds the build output {}", w.display(), o.display());
            }
        }
        let embedded: Vec<String> = files(root, root).into_iter().map(|(rel, _)| rel).collect();
        assert_eq!(embedded, ["content/_index.md", "site.yaml", "static/style.css"]);
    }

    #[test]
    fn a_theme_s_demo_site_built_in_place_is_not_watched_whole() {
        let d = tempfile::tempdir().unwrap();
        let themes = d.path();
        for (p, text) in [
            ("plain/theme.yaml", "name: plain\n"),
            ("plain/templates/base.html", "x"),
            ("shop/theme.yaml", "name: shop\n"),
            ("shop/templates/base.html", "x"),
            ("shop/demo/site.yaml", "title: T\n"),
            ("shop/demo/content/_index.md", "---\n---\n"),
            ("shop/demo/.sopixi-cache/images/x.webp", "webp"),
            ("shop/demo/public/index.html", "built"),
        ] {
            std::fs::create_dir_all(themes.join(p).parent().unwrap()).unwrap();
            std::fs::write(themes.join(p), text).unwrap();
        }
        let watched = watch_list(themes);
        let demo = themes.join("shop/demo");
        assert!(watched.contains(&themes.join("plain")), "a theme without a site is watched whole: {watched:?}");
        assert!(watched.contains(&demo.join("content")) && watched.contains(&demo.join("site.yaml")), "{watched:?}");
        for w in &watched {
            for built in [demo.join("public"), demo.join(".sopixi-cache")] {
                assert!(!built.starts_with(w), "{} is watched and holds {}", w.display(), built.display());
            }
        }
    }

    #[test]
    fn the_real_example_site_is_watched_without_its_root() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest.join("example-site");
        let watched = watch_list(&root);
        assert!(watched.contains(&root.join("content")), "{watched:?}");
        assert!(watched.iter().all(|w| w.starts_with(&root) && *w != root), "{watched:?}");
        assert!(watched.iter().all(|w| !w.ends_with("public") && !w.ends_with(".sopixi-cache")), "{watched:?}");
    }
}
