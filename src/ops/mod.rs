//! The operations that drive whole builds, the layer above `build`, `deploy` and `output`:
//! the platform run ([`platform`]), the browser check ([`browser`]: `sopixi check --browser`,
//! used by `theme check`), the marketplace's theme check, catalog and statements ([`theme`]),
//! and moving sites in and out ([`port`]: export, personal data, import).
//!
//! In: folders (partners, themes, sites), the shared engine, targets. Out: reports, archives,
//! folders, published sites. Nothing below this layer uses it.

pub mod browser;
pub mod platform;
pub mod port;
pub mod theme;
