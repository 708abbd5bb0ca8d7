//! Sopixi: a static-site generator with a hosted publishing pipeline.
//!
//! In: a site folder (`site.yaml`, `content/`, `static/`, `templates/`, `themes/`) and a theme.
//! Out: an [`output::Output`] — every file of the website, in memory — that sinks write to disk,
//! serve or deploy. See `ARCHITECTURE.md` for the map of modules and their invariants.
//! The library never prints and never relies on the current directory: paths are passed in.

pub mod build;
pub mod compliance;
pub mod config;
pub mod content;
pub mod deploy;
pub mod diag;
pub mod embedded;
pub mod highlight;
pub mod images;
pub mod markdown;
pub mod minify;
pub mod output;
pub mod serve;
pub mod shortcodes;
pub mod templates;
pub mod text;
pub mod yaml;
