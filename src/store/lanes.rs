//! SQLite connections without sqlx's pool: a fixed set of connections, each behind a lock.
//!
//! sqlx's pool pings every connection that comes back to it, in a task of its own, before the
//! next caller may have it (`PoolConnection`'s release; it cannot be turned off). For SQLite,
//! which runs in this process, that ping is a second wake-up of the connection's worker thread
//! for every query, and a connection stays out of reach until the ping's task has been
//! scheduled. Here a query holds its connection exactly as long as it runs.
//!
//! Nothing is lost without the ping: a transaction dropped before its commit (a cancelled
//! request) has its rollback queued on the connection's worker at once (`Transaction`'s drop),
//! ahead of the next holder's statements, and an SQLite connection cannot go away.

use sqlx::{Connection, SqliteConnection};
use std::{
    ops::{Deref, DerefMut},
    time::Duration,
};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard, Semaphore, SemaphorePermit};

/// How long a query waits for a connection before it fails (as a pool's acquire timeout).
const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Lanes {
    /// one permit per connection: whoever holds a permit finds a free connection
    permits: Semaphore,
    conns: Box<[Mutex<Option<SqliteConnection>>]>,
}

/// A connection, for as long as this lives.
pub struct Lane<'a> {
    // dropped before the permit, so a permit always finds its connection free
    conn: MappedMutexGuard<'a, SqliteConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Deref for Lane<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl DerefMut for Lane<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

impl Lanes {
    pub fn new(conns: Vec<SqliteConnection>) -> Self {
        Lanes {
            permits: Semaphore::new(conns.len()),
            conns: conns.into_iter().map(|c| Mutex::new(Some(c))).collect(),
        }
    }

    /// A free connection; waiting callers are served in order (the semaphore is fair).
    pub async fn get(&self) -> Result<Lane<'_>, sqlx::Error> {
        let permit = tokio::time::timeout(WAIT, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        for slot in self.conns.iter() {
            if let Ok(guard) = slot.try_lock() {
                let conn = MutexGuard::try_map(guard, Option::as_mut)
                    .map_err(|_| sqlx::Error::PoolClosed)?;
                return Ok(Lane {
                    conn,
                    _permit: permit,
                });
            }
        }
        // a permit is only free once its connection's lock is released
        Err(sqlx::Error::PoolTimedOut)
    }

    pub fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// Closes every connection once it is free; later `get`s fail.
    pub async fn close(&self) {
        self.permits.close();
        for slot in self.conns.iter() {
            let conn = slot.lock().await.take();
            if let Some(conn) = conn {
                // closing only fails if the connection already broke; it is gone either way
                let _ = conn.close().await;
            }
        }
    }
}
