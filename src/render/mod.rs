//! Turning content into HTML: Markdown, shortcodes, syntax highlighting, Tera templates (the
//! built-in ones, the theme's and the site's overrides, their context values and functions), and
//! minification.
//!
//! In: the loaded site and template texts. Out: HTML strings and template values. Must never
//! write files; the only reader is `load_data`, which refuses paths outside the site.

pub mod body;
pub(crate) mod embed;
pub mod highlight;
pub(crate) mod i18n;
pub mod markdown;
pub mod minify;
pub(crate) mod seo;
pub mod shortcodes;
pub(crate) mod templates;
