//! Connecting to the database and applying migrations.
use std::time::Duration;

use anyhow::Context;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};
use zhongdui_migration::{Migrator, MigratorTrait};

/// Opens a pool for `url`. SQLite gets WAL mode, a busy timeout and foreign
/// keys; PostgreSQL a pool sized for a couple of cores.
///
/// `pool_min` connections stay open on PostgreSQL (opened in the background
/// after connecting), at most `pool_max`.
pub async fn connect(
    url: &SecretString,
    pool_min: u32,
    pool_max: u32,
) -> anyhow::Result<DatabaseConnection> {
    let url = url.expose_secret();
    let is_sqlite = url.starts_with("sqlite:");
    let (min, max) = if is_sqlite {
        (1, 8)
    } else {
        let max = pool_max.max(2);
        (pool_min.clamp(1, max), max)
    };
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(max)
        .min_connections(min);
    let db = Database::connect(opts)
        .await
        .with_context(|| format!("connecting to the database ({})", redact(url)))?;
    if db.get_database_backend() == DbBackend::Sqlite {
        for pragma in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA busy_timeout = 10000",
            "PRAGMA foreign_keys = ON",
        ] {
            db.execute_unprepared(pragma)
                .await
                .with_context(|| format!("setting {pragma}"))?;
        }
    }
    Ok(db)
}

/// Starts a transaction that will write. On SQLite it takes the write lock
/// at once (`BEGIN IMMEDIATE`): a deferred transaction that reads first and
/// writes later fails with `SQLITE_BUSY_SNAPSHOT` when another connection
/// wrote in between, which the busy timeout cannot wait out; waiting for the
/// lock up front can. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("applying migrations")
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:pw@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact("sqlite://zhongdui.db"),
            "sqlite://zhongdui.db"
        );
    }
}
