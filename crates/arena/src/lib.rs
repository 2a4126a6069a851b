//! Arena ratings and battle mechanics for assay, usable without the web app.

pub mod battle;
pub mod bt;
pub mod ci;
pub mod elo;
pub mod lang;
pub mod leaderboard;
pub mod leak;
pub mod models;
pub mod sampler;
pub mod style;
#[cfg(feature = "store")]
pub mod vote;
