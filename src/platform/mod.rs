//! The platform's rules: the operator's policy (texts, colours, quotas), the detection of keys
//! that would switch a platform element off, the compliance injection of the badge, cookie
//! notice and age gate, and the checks of finished pages (`sopixi check`, quotas).
//!
//! In: the policy file's text, finished HTML, an [`crate::output::Output`]. Out: values and
//! diagnostics. Must never offer a way to turn a platform element off.

pub mod browser;
pub mod check;
pub mod compliance;
pub mod notice;
pub mod policy;
pub mod quotas;
pub mod reserved;
pub mod routes;
pub mod run;
