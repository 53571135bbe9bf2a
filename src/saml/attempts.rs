//! The record of every ACS attempt, written in the background in batches: a sign-in does not
//! wait for it. Nothing is dropped (a full queue makes the ACS wait); the admin's pages flush
//! the queue before reading, so an attempt is visible as soon as its answer was sent.

use crate::store::{batched::Batched, saml::SamlAttemptRow, Db, StoreResult};

#[derive(Clone)]
pub struct AttemptLog {
    queue: Batched<(String, SamlAttemptRow, i64)>,
    db: Db,
}

impl AttemptLog {
    const QUEUE: usize = 4_096;
    const BATCH: usize = 256;

    pub fn start(db: Db) -> AttemptLog {
        let writer = db.clone();
        let queue = Batched::start(
            "SSO attempt log",
            Self::QUEUE,
            Self::BATCH,
            move |rows: Vec<(String, SamlAttemptRow, i64)>| {
                let db = writer.clone();
                async move {
                    if let Err(e) = db.record_saml_attempts(&rows).await {
                        tracing::warn!(error = %e, attempts = rows.len(), "recording SSO attempts failed");
                    }
                }
            },
        );
        AttemptLog { queue, db }
    }

    pub async fn record(&self, business_id: &str, attempt: SamlAttemptRow, expires_at: i64) {
        self.queue
            .record((business_id.to_string(), attempt, expires_at))
            .await
    }

    pub async fn flush(&self) {
        self.queue.flush().await
    }

    /// The account's newest attempts, including every one queued so far.
    pub async fn newest(&self, business_id: &str, limit: i64) -> StoreResult<Vec<SamlAttemptRow>> {
        self.flush().await;
        self.db.saml_attempts(business_id, limit).await
    }
}
