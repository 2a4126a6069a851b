//! The schema: an ordered list of migrations per backend, applied once each when a store
//! opens.

use assay_core::now_rfc3339;

use crate::db::{params, TxKind};
use crate::session::{Backend, Session};
use crate::{pg, sqlite, Store, StoreError};

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = sqlite::MIGRATIONS.len() as i64;

// The backends' migrations are numbered alike.
const _: () = assert!(sqlite::MIGRATIONS.len() == pg::MIGRATIONS.len());

impl Store {
    /// The highest applied migration, 0 for a new database.
    pub(crate) fn current_version(&self, session: &mut Session<'_>) -> Result<i64, StoreError> {
        let versions: Vec<(i64,)> = self.select(
            session,
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            params![],
            || "cannot read the schema version".to_string(),
            "schema_migrations",
        )?;
        Ok(versions.first().map_or(0, |&(version,)| version))
    }

    fn check_not_too_new(&self, current: i64) -> Result<(), StoreError> {
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: self.path.clone(),
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Applies the migrations the database lacks, each in its own transaction with its
    /// version row. Each transaction reads the version again under the backend's migration
    /// lock (SQLite's write lock; PostgreSQL's advisory lock), so instances opening one
    /// database at once apply each migration once.
    pub(crate) fn migrate(&self) -> Result<(), StoreError> {
        let (migrations, create_table) = match self.backend.as_ref() {
            Backend::Sqlite(_) => (sqlite::MIGRATIONS, sqlite::CREATE_MIGRATIONS_TABLE),
            Backend::Postgres(_) => (pg::MIGRATIONS, pg::CREATE_MIGRATIONS_TABLE),
        };
        let create_context = || "cannot create schema_migrations".to_string();
        if let Backend::Sqlite(_) = self.backend.as_ref() {
            // The common case, an up-to-date file, needs no write lock. (On PostgreSQL the
            // table is created under the advisory lock below: two concurrent
            // `CREATE TABLE IF NOT EXISTS` can fail there.)
            let mut session = self.session();
            session
                .batch(create_table)
                .map_err(self.db_err(create_context))?;
            let current = self.current_version(&mut session)?;
            self.check_not_too_new(current)?;
            if current == SCHEMA_VERSION {
                return Ok(());
            }
        }
        for (index, sql) in migrations.iter().enumerate() {
            let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
            let context = || format!("cannot apply migration {version}");
            self.transaction(TxKind::Migrate, context, |s| {
                s.batch(create_table).map_err(self.db_err(create_context))?;
                let current = self.current_version(s)?;
                self.check_not_too_new(current)?;
                if current >= version {
                    return Ok(());
                }
                s.batch(sql)
                    .map_err(self.db_err(|| format!("migration {version} failed")))?;
                s.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    params![version, now_rfc3339()],
                )
                .map_err(self.db_err(|| format!("cannot record migration {version}")))?;
                Ok(())
            })?;
        }
        Ok(())
    }
}
