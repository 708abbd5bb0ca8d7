//! The marketplace's operations on themes: `sopixi theme check` ([`check`]: a theme fit for the
//! gallery), `sopixi theme catalog` ([`catalog`]: the gallery with public prices and demos) and
//! `sopixi theme statement` ([`statement`]: what each designer is owed).
//!
//! In: theme folders, sites to build with them, a sales file. Out: reports, a gallery folder,
//! statements. Must never write into a theme folder it reads.

pub mod catalog;
pub mod check;
pub mod statement;
