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

#[cfg(test)]
mod tests {
    use super::Batched;
    use std::sync::{Arc, Mutex};

    /// Rows queued before `flush` are all written, in order, in batches no larger than asked;
    /// a full queue makes `record` wait instead of dropping.
    #[tokio::test]
    async fn flush_sees_every_row_in_order_and_batches_are_bounded() {
        let written: Arc<Mutex<Vec<Vec<u32>>>> = Arc::default();
        let sink = written.clone();
        let log = Batched::start("test", 8, 5, move |rows: Vec<u32>| {
            let sink = sink.clone();
            async move {
                tokio::task::yield_now().await;
                sink.lock().expect("sink").push(rows);
            }
        });
        for i in 0..100 {
            log.record(i).await;
        }
        log.flush().await;
        let batches = written.lock().expect("sink").clone();
        assert!(
            batches.iter().all(|b| !b.is_empty() && b.len() <= 5),
            "{batches:?}"
        );
        let all: Vec<u32> = batches.into_iter().flatten().collect();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }
}
