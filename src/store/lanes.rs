//! Database connections without sqlx's pool: a fixed set of connections, each behind a lock.
//!
//! sqlx's pool pings every connection that comes back to it, in a task of its own, before the
//! next caller may have it (`PoolConnection`'s release; it cannot be turned off). That ping is
//! a second round trip for every query — a wake-up of SQLite's worker thread, or of a
//! PostgreSQL server process on the same cores — and a connection stays out of reach until the
//! ping's task has been scheduled. Here a query holds its connection exactly as long as it
//! runs, and a connection is tested only when there is reason to doubt it:
//! - its last holder did not finish normally (an error, an early return, a cancelled request,
//!   whose unfinished exchange the test also flushes) — see [`Lane::settle`];
//! - it has been idle for a minute (a server may have closed it meanwhile).
//!
//! A connection that fails its test, is still inside a transaction after it, or was never
//! opened, is (re)opened on the spot (testing and opening time out as acquiring does). So a
//! PostgreSQL connection the server dropped fails at most the one query that meets it, as with
//! sqlx's pool. A transaction dropped before its commit has its rollback queued on the
//! connection at once (`Transaction`'s drop); the next `get` prefers that connection and sends
//! it. On PostgreSQL the server also ends any session idle inside a transaction for 15 s
//! (`store::connect`), so no forgotten transaction holds row locks for long.

use sqlx::Connection;
use std::{
    future::Future,
    ops::{Deref, DerefMut},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex as StdMutex,
    },
    time::{Duration, Instant},
};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard, Semaphore, SemaphorePermit};

/// How long a query waits for a connection before it fails (as a pool's acquire timeout).
const WAIT: Duration = Duration::from_secs(10);
/// A connection idle for longer is tested before it is handed out.
const IDLE_TEST: Duration = Duration::from_secs(60);

/// Opens one connection.
pub type Connect<C> =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<C, sqlx::Error>> + Send>> + Send + Sync>;

struct Slot<C> {
    conn: Mutex<Option<C>>,
    /// the last holder did not settle: test before the next use
    doubtful: AtomicBool,
    last_used: StdMutex<Instant>,
}

pub struct Lanes<C> {
    /// one permit per connection: whoever holds a permit finds a free connection
    permits: Semaphore,
    slots: Box<[Slot<C>]>,
    connect: Connect<C>,
}

impl<C> std::fmt::Debug for Lanes<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lanes")
            .field("connections", &self.slots.len())
            .field("free", &self.permits.available_permits())
            .finish()
    }
}

/// A connection, for as long as this lives.
pub struct Lane<'a, C> {
    // dropped before the permit, so a permit always finds its connection free
    conn: MappedMutexGuard<'a, C>,
    slot: &'a Slot<C>,
    settled: bool,
    _permit: SemaphorePermit<'a>,
}

impl<C> Deref for Lane<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.conn
    }
}

impl<C> DerefMut for Lane<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.conn
    }
}

impl<C> Lane<'_, C> {
    /// The holder finished: if it failed, the connection is tested before its next use.
    pub fn settle(&mut self, failed: bool) {
        self.settled = !failed;
    }
}

impl<C> Drop for Lane<'_, C> {
    fn drop(&mut self) {
        if !self.settled {
            self.slot.doubtful.store(true, Ordering::Release);
        }
        if let Ok(mut at) = self.slot.last_used.lock() {
            *at = Instant::now();
        }
    }
}

/// What a holder's work evaluated to: whether it failed (see [`Lane::settle`]).
pub trait Outcome {
    fn failed(&self) -> bool;
}

/// A body that returns nothing finished normally (its errors returned early, with `?`).
impl Outcome for () {
    fn failed(&self) -> bool {
        false
    }
}

impl<T, E> Outcome for Result<T, E> {
    fn failed(&self) -> bool {
        self.is_err()
    }
}

impl<C: Connection> Lanes<C> {
    /// `size` connections, each opened by `connect` when first needed.
    pub fn new(size: usize, connect: Connect<C>) -> Self {
        let size = size.max(1);
        Lanes {
            permits: Semaphore::new(size),
            slots: (0..size)
                .map(|_| Slot {
                    conn: Mutex::new(None),
                    doubtful: AtomicBool::new(false),
                    last_used: StdMutex::new(Instant::now()),
                })
                .collect(),
            connect,
        }
    }

    /// A free connection, tested or (re)opened if need be; waiting callers are served in
    /// order (the semaphore is fair).
    pub async fn get(&self) -> Result<Lane<'_, C>, sqlx::Error> {
        let permit = tokio::time::timeout(WAIT, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // a permit is only free once its connection's lock is released, so one is free; a
        // doubtful one first, so that what its last holder left (a queued rollback) is
        // settled now rather than when that slot's turn comes
        let free = |doubtful: bool| {
            self.slots
                .iter()
                .filter(|s| !doubtful || s.doubtful.load(Ordering::Acquire))
                .find_map(|s| s.conn.try_lock().ok().map(|g| (s, g)))
        };
        let Some((slot, mut guard)) = free(true).or_else(|| free(false)) else {
            return Err(sqlx::Error::PoolTimedOut);
        };
        let idle = slot
            .last_used
            .lock()
            .map_or(true, |at| at.elapsed() > IDLE_TEST);
        if let Some(conn) = guard.as_mut() {
            if slot.doubtful.load(Ordering::Acquire) || idle {
                // the ping also sends what the last holder queued (its rollback) and, on
                // SQLite, waits until the connection's worker has run it; a connection still
                // inside a transaction then has one nobody owns (a holder cancelled between
                // its BEGIN and the `Transaction` that would roll it back): it is replaced,
                // and closing it rolls that transaction back
                let alive = tokio::time::timeout(WAIT, conn.ping()).await;
                if matches!(alive, Ok(Ok(()))) && !conn.is_in_transaction() {
                    slot.doubtful.store(false, Ordering::Release);
                } else {
                    *guard = None;
                }
            }
        }
        if guard.is_none() {
            let opened = tokio::time::timeout(WAIT, (self.connect)())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)??;
            *guard = Some(opened);
            slot.doubtful.store(false, Ordering::Release);
        }
        let conn =
            MutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)?;
        Ok(Lane {
            conn,
            slot,
            settled: false,
            _permit: permit,
        })
    }

    pub fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// Closes every connection once it is free; later `get`s fail.
    pub async fn close(&self) {
        self.permits.close();
        for slot in self.slots.iter() {
            let conn = slot.conn.lock().await.take();
            if let Some(conn) = conn {
                // closing only fails if the connection already broke; it is gone either way
                let _ = conn.close().await;
            }
        }
    }
}
