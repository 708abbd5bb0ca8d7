//! The preview session of `serve` ([`Session`]): the inputs last read and the [`Memo`], so that
//! after an edit only the changed Markdown files are read again, and the stages reuse what the
//! memo holds.
//!
//! In: the site folder, its options, the engine, and the paths that changed. Out: a [`Built`]
//! byte-identical to a fresh build's (tested). Reads only the site's files; writes nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::build::engine::Engine;
use crate::build::gather::{gather, read_text, skip_name, walk_order, Bodies, Found, Inputs, MdFile, TextHashes};
use crate::build::memo::Memo;
use crate::build::stages::{build_from, BuildCx};
use crate::build::Built;
use crate::site::config::BuildOptions;
use crate::site::content;
use crate::theme::Data;
use crate::util::diag::BuildFailed;

/// A site being previewed: the inputs last read and the [`Memo`], so that after an edit only the
/// changed files are read again and only the files whose context changed are rendered again.
pub(crate) struct Session {
    root: PathBuf,
    opts: BuildOptions,
    inputs: Option<Inputs>,
    memo: Memo,
    engine: Engine,
}

impl Session {
    /// A session over the site at `root` (give it canonical, as the watcher reports such paths).
    pub(crate) fn new(root: &Path, opts: BuildOptions, engine: Engine) -> Session {
        Session { root: root.to_path_buf(), opts, inputs: None, memo: Memo::on(), engine }
    }

    /// Finished files the last build reused.
    pub(crate) fn reused(&self) -> usize {
        self.memo.reused
    }

    /// Search documents whose words the last build counted (the others were kept).
    #[cfg(test)]
    pub(crate) fn search_counted(&self) -> usize {
        self.memo.search_counted
    }

    /// Builds again after the files `changed` (absolute paths) changed; an empty list means
    /// "anything may have changed". Markdown files under `content/` are read again one by one,
    /// edits of known templates and static files need no reading here; any other change (a new
    /// or removed file that is not Markdown, a folder, `site.yaml`) reads the whole site again
    /// (the caches still apply).
    pub(crate) fn rebuild(&mut self, changed: &[PathBuf]) -> Result<Built, BuildFailed> {
        let t = Instant::now();
        let patched = match self.inputs.take() {
            Some(inputs) if !changed.is_empty() => self.patch(inputs, changed),
            _ => None,
        };
        let inputs = match patched {
            Some(i) => i,
            None => gather(&self.root, &self.opts, TextHashes::Keep, Bodies::Hold)?,
        };
        self.inputs = Some(inputs.clone());
        let read = t.elapsed();
        let cx = BuildCx { root: &self.root, opts: &self.opts, engine: &self.engine, spool: None, out_dir: None };
        let mut built = build_from(&cx, inputs, &mut self.memo)?;
        built.timings.insert(0, ("read", read));
        Ok(built)
    }

    /// The last inputs with the changed Markdown files read again, or `None` when a change is not
    /// one a patch can follow (another kind of file, a folder, a link, a file that cannot be read).
    fn patch(&self, mut inputs: Inputs, changed: &[PathBuf]) -> Option<Inputs> {
        if !inputs.errors.is_empty() {
            return None;
        }
        let content_dir = self.root.join("content");
        for path in changed {
            // Templates, static and bundle files are read by the build itself, from the paths
            // listed: an edit of a listed file (but `theme.yaml`, checked when gathering) changes
            // nothing here.
            let listed = |files: &[Found]| files.iter().any(|f| f.abs == *path);
            let is_theme_yaml = path.file_name().is_some_and(|n| n == "theme.yaml");
            if path.is_file()
                && !is_theme_yaml
                && (listed(&inputs.static_files)
                    || listed(&inputs.site_templates)
                    || inputs.theme.files.iter().any(|f| matches!(&f.data, Data::File(p) if p == path))
                    || listed(&inputs.content_other))
            {
                continue;
            }
            let rel = path.strip_prefix(&content_dir).ok()?.to_str()?.replace('\\', "/");
            if rel.split('/').any(skip_name) {
                continue;
            }
            if !rel.ends_with(".md") {
                return None;
            }
            let pos = inputs.markdown.binary_search_by(|m| walk_order(&m.f.rel, &rel));
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_file() => {
                    let f = Found { rel, abs: path.clone() };
                    let text = read_text(&f, &content::diag_path(&f.rel)).ok()?;
                    let m = MdFile::new(f, text, TextHashes::Keep);
                    match pos {
                        Ok(i) => inputs.markdown[i] = m,
                        Err(i) => inputs.markdown.insert(i, m),
                    }
                }
                Ok(_) => return None,
                Err(_) => {
                    if let Ok(i) = pos {
                        inputs.markdown.remove(i);
                    }
                }
            }
        }
        Some(inputs)
    }
}
