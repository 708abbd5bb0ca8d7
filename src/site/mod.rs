//! The site as loaded: `site.yaml` resolved with the command-line options into one [`config::Config`],
//! and the content tree (front matter, sections, pages, bundles, URLs, order, taxonomies).
//!
//! In: texts and file lists (read by `build`). Out: values. Must never touch the disk, start
//! threads, or know about templates, HTTP or object stores.

pub(crate) mod body;
pub mod business;
pub mod config;
pub mod content;
