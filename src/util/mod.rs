//! Small helpers every layer may use: diagnostics, text, the YAML boundary, the async runtime
//! and progress bars.
//!
//! In: values. Out: values. Must never import another module of the crate: it is the bottom row
//! of the dependency table.

pub mod diag;
pub mod heap;
pub mod money;
pub(crate) mod progress;
pub(crate) mod runtime;
pub mod spill;
pub mod text;
pub(crate) mod yaml;
