//! The platform run (`sopixi platform build`, [`run`]), its browser gate (`gate`) and its
//! routing file (`routes`):
//! every partner of a partners folder built, checked and published under the operator's policy.
//!
//! In: a partners folder and the policy. Out: reports, published sites, `_routes.json`. Must
//! never let one partner's failure touch another partner's site.

pub mod delete;
pub mod edge;
pub mod gate;
pub mod inbox;
pub(crate) mod routes;
pub mod run;
pub(crate) mod state;
