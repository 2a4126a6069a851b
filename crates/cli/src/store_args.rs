//! The one way every command opens the store: `--db PATH|URL`, or the default file.

use anyhow::{Context, Result};
use assay_store::Store;
use clap::Args;

/// `--db`: which store a command reads and writes.
#[derive(Args, Clone, Debug, Default)]
pub struct StoreArgs {
    /// The store: a SQLite file, sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE
    /// (default $ASSAY_HOME/assay.db).
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
}

impl StoreArgs {
    pub fn open(&self) -> Result<Store> {
        open_store(self.db.as_deref())
    }
}

/// Opens the store at `db` (a path or URL), or the default one ([`Store::open_default`]).
pub fn open_store(db: Option<&str>) -> Result<Store> {
    match db {
        Some(url) => Store::open_url(url).with_context(|| format!("cannot open store {url}")),
        None => Store::open_default()
            .with_context(|| format!("cannot open store {}", Store::default_path().display())),
    }
}
