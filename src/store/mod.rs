//! The only place with SQL. One file per table; SQLite and PostgreSQL behind one API
//! (`Db`), chosen by the URL scheme. Times are i64 epoch seconds, ids TEXT UUIDs.

pub mod activations;
pub mod batched;
pub mod business;
pub mod domains;
pub mod email_tokens;
pub mod idp_settings;
pub mod integration_events;
pub mod integrations;
pub mod invitations;
pub mod lanes;
pub mod license_keys;
pub mod saml;
pub mod scim_groups;
pub mod scim_requests;
pub mod scim_users;
pub mod sessions;
pub mod signin_failures;
pub mod users;

use lanes::Lanes;
use sqlx::{
    postgres::PgConnectOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    ConnectOptions, Connection, PgConnection, SqliteConnection,
};
use std::{str::FromStr, sync::Arc, time::Duration};

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(Sqlite),
    Postgres(Arc<Lanes<PgConnection>>),
}

/// SQLite allows one writer at a time. Writers on several connections would find the lock
/// taken and sleep in SQLite's busy handler (1, 2, 5, 10… ms): a long tail under load. So the
/// hot writes (`with_writer!`) go through one dedicated connection, where they queue in order
/// and start the moment the previous one commits; reads use the other connections (WAL lets
/// them run beside the writer). Both are [`Lanes`], not sqlx pools (see there why).
#[derive(Clone, Debug)]
pub struct Sqlite {
    pub read: Arc<Lanes<SqliteConnection>>,
    pub write: Arc<Lanes<SqliteConnection>>,
}

/// Runs `$body` with `$p` bound to whichever pool is active; the body is compiled once per
/// backend, so the same query text serves both (`$1` placeholders work on SQLite too).
macro_rules! with_pool {
    ($db:expr, |$p:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite(sqlite) => {
                $crate::store::on_lane!(sqlite.read, |$p| $body)
            }
            $crate::store::Db::Postgres(pg) => $crate::store::on_lane!(pg, |$p| $body),
        }
    };
}
pub(crate) use with_pool;

/// As `with_pool!`, for the writes on the sign-in, activation and SCIM paths: on SQLite they
/// take the one writer connection (see [`Sqlite`]). A body must not call back into `Db`.
macro_rules! with_writer {
    ($db:expr, |$p:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite(sqlite) => {
                $crate::store::on_lane!(sqlite.write, |$p| $body)
            }
            $crate::store::Db::Postgres(pg) => $crate::store::on_lane!(pg, |$p| $body),
        }
    };
}
pub(crate) use with_writer;

/// Runs `$body` with `$p` bound to a connection of `$lanes`, and tells the lane whether the
/// body's result was an error (see [`lanes::Lane::settle`]).
macro_rules! on_lane {
    ($lanes:expr, |$p:ident| $body:expr) => {{
        let mut lane = $lanes.get().await?;
        let out = {
            let $p = &mut *lane;
            $body
        };
        lane.settle($crate::store::lanes::Outcome::failed(&out));
        out
    }};
}
pub(crate) use on_lane;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("unique constraint violated: {constraint}")]
    Conflict { constraint: String },
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict {
                constraint: d.constraint().unwrap_or(d.message()).to_string(),
            },
            _ => StoreError::Db(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which backend a URL selects.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// PostgreSQL connections: four per core. Each is a server process on the same cores; on the
/// 2-core benchmark machine 8 gave more activations per second and a shorter check tail than
/// 16, with the same sign-in rate (BENCHMARKS.md).
fn pg_pool_size() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 4).clamp(4, 32)
}

/// Connects and applies the migrations of the URL's backend.
///
/// Pools do not ping a connection when they hand it out (sqlx's `test_before_acquire`, on by
/// default). A query took three round trips — that ping, the query, and the ping sqlx always
/// makes when the connection comes back (it also flushes a cancelled transaction's rollback)
/// — each a wake-up of SQLite's worker thread or a trip to the PostgreSQL server; now two.
/// An SQLite connection lives in this process and cannot go away; a PostgreSQL connection the
/// server dropped (a restart) fails the one query that meets it and is then replaced.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    if is_postgres_url(url) {
        let opts = PgConnectOptions::from_str(url)?
            .disable_statement_logging()
            // no transaction of ours waits on anything between its statements: one that sits
            // idle was abandoned (see `lanes`), and must not hold its row locks
            .options([("idle_in_transaction_session_timeout", "15s")]);
        let pg = Lanes::new(
            pg_pool_size(),
            Box::new(move || {
                let opts = opts.clone();
                Box::pin(async move { PgConnection::connect_with(&opts).await })
            }),
        );
        let mut lane = pg.get().await?;
        let migrated = sqlx::migrate!("./migrations/postgres")
            .run(&mut *lane)
            .await;
        lane.settle(migrated.is_err());
        migrated?;
        drop(lane);
        Ok(Db::Postgres(Arc::new(pg)))
    } else {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // no connection checkpoints on its own commits (see `checkpoints`)
            .pragma("wal_autocheckpoint", "0")
            .disable_statement_logging();
        let lanes = |size| {
            let opts = opts.clone();
            Lanes::new(
                size,
                Box::new(move || {
                    let opts = opts.clone();
                    Box::pin(async move { SqliteConnection::connect_with(&opts).await })
                }),
            )
        };
        // one writer, four readers
        let write = lanes(1);
        let mut lane = write.get().await?;
        let migrated = sqlx::migrate!("./migrations/sqlite").run(&mut *lane).await;
        lane.settle(migrated.is_err());
        migrated?;
        drop(lane);
        let write = Arc::new(write);
        let checkpointer = SqliteConnection::connect_with(&opts).await?;
        tokio::spawn(checkpoints(checkpointer, Arc::downgrade(&write)));
        Ok(Db::Sqlite(Sqlite {
            read: Arc::new(lanes(4)),
            write,
        }))
    }
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the write-ahead log back into the database file, on a connection of its own.
///
/// SQLite's default has the connection whose commit takes the WAL past 1,000 pages do it,
/// inside that commit: with all hot writes on one writer, each of those checkpoints (a copy
/// and two fsyncs) held the writer, and every sign-in and activation queued behind it
/// (BENCHMARKS.md: +15 % completions without). A PASSIVE checkpoint waits for nobody: it copies
/// what no reader still needs, and the next write starts the log over once all of it is copied.
/// Stops once the writer is closed or dropped (SQLite copies the rest when the last connection
/// closes).
async fn checkpoints(mut conn: SqliteConnection, writer: std::sync::Weak<Lanes<SqliteConnection>>) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if writer.upgrade().is_none_or(|w| w.is_closed()) {
            // closing only fails if the connection already broke; it is gone either way
            let _ = conn.close().await;
            return;
        }
        let done: Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("pragma wal_checkpoint(PASSIVE)")
                .fetch_one(&mut conn)
                .await;
        if let Err(error) = done {
            tracing::warn!(%error, "SQLite checkpoint failed; the next one retries");
        }
    }
}

impl Db {
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query("select 1")
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Refreshes the planner's statistics and, on PostgreSQL, the visibility map that
    /// index-only scans need — what autovacuum (including its insert-triggered runs) and
    /// SQLite's `PRAGMA optimize` do on their own over time; benchmarks ask at once.
    pub async fn analyze(&self) -> StoreResult<()> {
        let sql = match self {
            Db::Sqlite(_) => "analyze",
            Db::Postgres(_) => "vacuum analyze",
        };
        with_pool!(self, |p| sqlx::query(sql)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(sqlite) => {
                sqlite.write.close().await;
                sqlite.read.close().await;
            }
            Db::Postgres(pg) => pg.close().await,
        }
    }
}

/// Whether a commit waits for its write-ahead log to be flushed (PostgreSQL; SQLite's
/// commits never wait for a sync, see `connect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flush {
    /// Durable once the call returns: the default.
    Wait,
    /// Committed without waiting for the flush. Only for a write that a later, waiting commit
    /// of the same flow makes durable anyway — a flush writes out all the log before its own
    /// commit — and whose loss, should the server die before that, costs nothing but a retry.
    Later,
}

impl Flush {
    /// A condition for a PostgreSQL statement run in its own transaction: it holds, and with
    /// `Later` it turns `synchronous_commit` off for that transaction only (`set_config` with
    /// `is_local`, which lasts until the transaction ends; the commit record is written before
    /// that). Nothing carries over to the connection's next statement (tested).
    /// Only for a statement that is its own transaction: inside an explicit one it would
    /// spare the whole transaction's commit the wait.
    pub fn pg_condition(self) -> &'static str {
        match self {
            Flush::Wait => "true",
            Flush::Later => "(select set_config('synchronous_commit', 'off', true)) = 'off'",
        }
    }
}

/// A new random id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::connect;
    use std::{path::Path, time::Duration};

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    /// Polls `done` for up to five seconds.
    async fn eventually(mut done: impl FnMut() -> bool) -> bool {
        for _ in 0..100 {
            if done() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        done()
    }

    /// No commit copies the write-ahead log into the database file (so no sign-in waits for
    /// it); the background checkpointer does, while the service runs.
    #[tokio::test]
    async fn the_log_reaches_the_database_file_in_the_background() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("seatgate.db");
        let wal = dir.path().join("seatgate.db-wal");
        let db = connect(&format!("sqlite://{}", path.display())).await?;
        let before = size(&path);
        with_writer!(&db, |p| sqlx::query("create table filler (b blob)")
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        for _ in 0..64 {
            with_writer!(&db, |p| sqlx::query(
                "insert into filler (b) values (randomblob(8192))"
            )
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        }
        // half a megabyte written: far below SQLite's own threshold (1,000 pages, ~4 MB)
        assert!(
            eventually(|| size(&path) >= before + 512 * 1024).await,
            "the database file stayed at {} bytes (log: {} bytes)",
            size(&path),
            size(&wal)
        );
        db.close().await;
        Ok(())
    }
}
