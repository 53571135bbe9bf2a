//! The record of every ACS attempt, written in the background in batches: a sign-in does not
//! wait for it. Nothing is dropped (a full queue makes the ACS wait); the admin's pages flush
//! the queue before reading, so an attempt is visible as soon as its answer was sent.

use crate::store::{batched::Batched, saml::SamlAttemptRow, Db, StoreResult};

#[derive(Clone)]
pub struct AttemptLog(Batched<(String, SamlAttemptRow, i64)>);

impl AttemptLog {
    const QUEUE: usize = 4_096;
    const BATCH: usize = 256;

    pub fn start(db: Db) -> AttemptLog {
        AttemptLog(Batched::start(
            "SSO attempt log",
            Self::QUEUE,
            Self::BATCH,
            move |rows: Vec<(String, SamlAttemptRow, i64)>| {
                let db = db.clone();
                async move {
                    if let Err(e) = db.record_saml_attempts(&rows).await {
                        tracing::warn!(error = %e, attempts = rows.len(), "recording SSO attempts failed");
                    }
                }
            },
        ))
    }

    pub async fn record(&self, business_id: &str, attempt: SamlAttemptRow, expires_at: i64) {
        self.0
            .record((business_id.to_string(), attempt, expires_at))
            .await
    }

    pub async fn flush(&self) {
        self.0.flush().await
    }

    /// The account's newest attempts, including every one queued so far.
    pub async fn newest(
        &self,
        db: &Db,
        business_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SamlAttemptRow>> {
        self.flush().await;
        db.saml_attempts(business_id, limit).await
    }
}
