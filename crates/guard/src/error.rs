//! The guard crate's error: its settings and keys files, and what they name.

use std::path::PathBuf;

/// What can go wrong reading or writing the guard's files or checking its settings. Each
/// error names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A settings or keys file that is not the TOML it should be.
    #[error("{}: {source}", .path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("cannot encode {}: {source}", .path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: toml::ser::Error,
    },
    /// A keys file that parses but is not valid (a bad hash, an id twice).
    #[error("{}: {message}", .path.display())]
    InvalidKeys { path: PathBuf, message: String },
    #[error("a key with id {0:?} exists already")]
    KeyExists(String),
    /// The settings name a category the policy does not have.
    #[error(
        "the guard configuration names category {name:?}, which the policy does not have \
         (it has: {})",
        .known.join(", ")
    )]
    UnknownCategory { name: String, known: Vec<String> },
}
