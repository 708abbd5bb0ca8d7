//! Sopixi: a static-site generator with a hosted publishing pipeline.
//!
//! In: a site folder (`site.yaml`, `content/`, `static/`, `templates/`, `themes/`) and a theme.
//! Out: an [`output::Output`] — every file of the website, in memory — that sinks write to disk,
//! serve or deploy. The folders are layers, lowest first: [`util`], [`output`] (the value sinks
//! consume), [`policy`] (the platform's rules), [`theme`], [`site`] (load) → [`render`] and
//! [`images`], and [`search`] (the site's index) → [`build`] (the stages) → [`serve`], [`deploy`] (sinks) → [`ops`] (what drives
//! whole builds). See `ARCHITECTURE.md` for the map of modules, what each may use, and their
//! invariants.
//! The library never prints, never exits the process and never relies on the current directory:
//! paths are passed in.

#![warn(unreachable_pub)]

pub mod build;
pub mod deploy;
pub mod images;
pub mod ops;
pub mod output;
pub mod policy;
pub mod render;
pub mod search;
pub mod serve;
pub mod site;
pub mod theme;
pub mod util;
