//! Portability: a partner takes their site away (`sopixi export`: one deterministic archive of
//! the sources, theme and built output, with a README saying how to host it elsewhere), sees what
//! it holds about people (`--personal-data`), and brings a site in from Hugo or Zola
//! (`sopixi import`).
//!
//! In: a site folder (export), or a Hugo or Zola site folder (import). Out: an archive, a JSON
//! report, or a new site folder and the list of what could not be converted (file:line). Never
//! writes into the folder it reads.

pub mod export;
pub mod import;
pub mod personal;
