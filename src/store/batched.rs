//! A background writer that stores rows in batches: the request that produced a row does not
//! wait for the database, and a burst costs one transaction per batch instead of one per row.
//! Readers that must see every row queued so far (the admin's pages, tests) call `flush` first.

use std::future::Future;
use tokio::sync::{mpsc, oneshot};

enum Entry<T> {
    Row(T),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

pub struct Batched<T> {
    tx: mpsc::Sender<Entry<T>>,
    what: &'static str,
}

impl<T> Clone for Batched<T> {
    fn clone(&self) -> Self {
        Batched {
            tx: self.tx.clone(),
            what: self.what,
        }
    }
}

impl<T: Send + 'static> Batched<T> {
    /// Spawns the writer: at most `queue` rows wait, and `write` gets up to `batch` at a time
    /// (whatever has queued while the previous batch was written). `write` logs its own errors.
    pub fn start<F, Fut>(what: &'static str, queue: usize, batch: usize, write: F) -> Batched<T>
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let (tx, mut rx) = mpsc::channel::<Entry<T>>(queue);
        tokio::spawn(async move {
            let mut entries = Vec::with_capacity(batch);
            while rx.recv_many(&mut entries, batch).await > 0 {
                let mut rows = Vec::with_capacity(entries.len());
                let mut waiting = Vec::new();
                for entry in entries.drain(..) {
                    match entry {
                        Entry::Row(row) => rows.push(row),
                        Entry::Flush(done) => waiting.push(done),
                    }
                }
                if !rows.is_empty() {
                    write(rows).await;
                }
                for done in waiting {
                    let _ = done.send(());
                }
            }
        });
        Batched { tx, what }
    }

    /// Queues a row, or drops it (and says so in the log) when the queue is full.
    pub fn try_record(&self, row: T) {
        if self.tx.try_send(Entry::Row(row)).is_err() {
            tracing::warn!(queue = self.what, "write queue full; an entry was dropped");
        }
    }

    /// Queues a row, waiting for room when the queue is full: nothing is dropped.
    pub async fn record(&self, row: T) {
        if self.tx.send(Entry::Row(row)).await.is_err() {
            tracing::warn!(queue = self.what, "writer stopped; an entry was not stored");
        }
    }

    /// Waits until every row queued so far is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Entry::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}
