//! The store's own connections (`store::lanes`): what a cancelled request or a server that
//! dropped its connections leaves behind.

use crate::{
    both,
    support::{Backend, TestDb},
};
use seatgate::store::Db;
use sqlx::Connection;

/// On `$lanes` (either backend's connection type): a holder begins a transaction, writes row 1
/// and then leaves it as `$leave` does; the next holder must get a connection outside any
/// transaction, must not see row 1, and keeps what it commits itself (row 2).
macro_rules! abandon_then_check {
    ($lanes:expr, $leave:expr) => {{
        let lanes = $lanes;
        let mut lane = lanes.get().await.expect("lane");
        sqlx::query("create table lane_probe (x bigint)")
            .execute(&mut *lane)
            .await
            .expect("create");
        lane.settle(false);
        drop(lane);
        {
            let mut lane = lanes.get().await.expect("lane");
            let mut tx = lane.begin().await.expect("begin");
            sqlx::query("insert into lane_probe (x) values (1)")
                .execute(&mut *tx)
                .await
                .expect("insert");
            // no commit, no settle
            $leave(tx);
        }
        let mut lane = lanes.get().await.expect("lane");
        assert!(!lane.is_in_transaction(), "handed on inside a transaction");
        let mut tx = lane
            .begin()
            .await
            .expect("a real transaction, not a savepoint");
        let rows: Vec<(i64,)> = sqlx::query_as("select x from lane_probe")
            .fetch_all(&mut *tx)
            .await
            .expect("select");
        assert!(
            rows.is_empty(),
            "the abandoned transaction's row is visible: {rows:?}"
        );
        sqlx::query("insert into lane_probe (x) values (2)")
            .execute(&mut *tx)
            .await
            .expect("insert after the abandoned holder");
        tx.commit().await.expect("commit");
        lane.settle(false);
        drop(lane);
        let mut lane = lanes.get().await.expect("lane");
        let rows: Vec<(i64,)> = sqlx::query_as("select x from lane_probe")
            .fetch_all(&mut *lane)
            .await
            .expect("select");
        assert_eq!(
            rows,
            vec![(2,)],
            "the abandoned transaction's row is gone, the next one kept"
        );
    }};
}

/// Holder A begins a transaction, writes and is dropped mid-way (a cancelled request, an
/// early return): nothing it wrote is kept, and the next holder works outside any transaction.
async fn a_dropped_holder_leaves_no_transaction_behind(backend: Backend) {
    let t = TestDb::new(backend).await;
    match &t.db {
        Db::Sqlite(sqlite) => abandon_then_check!(&sqlite.write, drop),
        Db::Postgres(pg) => abandon_then_check!(pg, drop),
    }
}
both!(a_dropped_holder_leaves_no_transaction_behind);

/// The server closes every connection of the service (a restart, an administrator): at most
/// the one query that meets a dead connection fails; the next ones get a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_dropped_is_replaced() {
    let t = TestDb::new(Backend::Postgres).await;
    t.db.ping().await.expect("first query");
    let name = t.pg_database().expect("postgres").to_string();
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("admin");
    let killed: Vec<(bool,)> =
        sqlx::query_as("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
            .bind(&name)
            .fetch_all(&mut admin)
            .await
            .expect("terminate");
    assert!(!killed.is_empty(), "the service held a connection");
    let mut failed = 0;
    for _ in 0..5 {
        if t.db.ping().await.is_err() {
            failed += 1;
        }
    }
    assert!(
        failed <= 1,
        "{failed} of 5 queries failed after the server dropped the connection"
    );
    t.db.ping().await.expect("a new connection serves");
}

/// `Flush::Later` spares its own statement's commit the wait for the log flush, and only that
/// one: the connection's next statement waits again — otherwise every later commit on it (a
/// sign-in, a seat) would silently lose its durability.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_skips_the_flush_wait_leaves_the_connection_waiting() {
    use seatgate::store::Flush;
    let t = TestDb::new(Backend::Postgres).await;
    let Db::Postgres(pg) = &t.db else {
        panic!("postgres")
    };
    let mut lane = pg.get().await.expect("lane");
    let setting = "select current_setting('synchronous_commit')";
    let (default,): (String,) = sqlx::query_as(setting)
        .fetch_one(&mut *lane)
        .await
        .expect("the server's setting");
    assert_ne!(default, "off", "the server's default waits for the flush");
    let (during,): (String,) =
        sqlx::query_as(&format!("{setting} where {}", Flush::Later.pg_condition()))
            .fetch_one(&mut *lane)
            .await
            .expect("statement with Later");
    assert_eq!(during, "off", "its own transaction does not wait");
    let (after,): (String,) = sqlx::query_as(setting)
        .fetch_one(&mut *lane)
        .await
        .expect("next statement");
    assert_eq!(
        after, "on",
        "the next statement on the connection waits again"
    );
    let (waits,): (String,) =
        sqlx::query_as(&format!("{setting} where {}", Flush::Wait.pg_condition()))
            .fetch_one(&mut *lane)
            .await
            .expect("statement with Wait");
    assert_eq!(waits, default);
    lane.settle(false);
}

/// A holder stopped between its BEGIN and the `Transaction` that would have rolled it back (a
/// request cancelled at that point; here the transaction is forgotten, so no rollback is ever
/// queued): the connection is left inside a transaction nobody owns. The next holder gets a
/// connection outside any transaction, which neither sees nor keeps what the abandoned one
/// wrote.
async fn a_transaction_nobody_owns_is_not_handed_on(backend: Backend) {
    let t = TestDb::new(backend).await;
    match &t.db {
        Db::Sqlite(sqlite) => abandon_then_check!(&sqlite.write, std::mem::forget),
        Db::Postgres(pg) => abandon_then_check!(pg, std::mem::forget),
    }
}
both!(a_transaction_nobody_owns_is_not_handed_on);

/// The attempt log's writer stores a whole batch at once: every field of every
/// attempt comes back as given — absent values absent, text with quotes, newlines and
/// non-ASCII intact — however many the batch holds.
async fn a_batch_of_sso_attempts_is_stored_as_given(backend: Backend) {
    use seatgate::store::saml::SamlAttemptRow;
    let t = TestDb::new(backend).await;
    let db = &t.db;
    let now = 1_800_000_000;
    // the account the attempts belong to; nothing else of it matters here
    let business = "b-attempt-log".to_string();
    macro_rules! insert_account {
        ($lanes:expr) => {{
            let mut lane = $lanes.get().await.expect("lane");
            sqlx::query(
                "insert into business_accounts (id, name, created_at) values ($1, 'Log', $2)",
            )
            .bind(&business)
            .bind(now)
            .execute(&mut *lane)
            .await
            .expect("account");
            lane.settle(false);
        }};
    }
    match db {
        Db::Sqlite(sqlite) => insert_account!(sqlite.write),
        Db::Postgres(pg) => insert_account!(pg),
    }
    let attempt = |i: i64| SamlAttemptRow {
        id: format!("att-{i:04}"),
        at: now + i,
        purpose: "signin".into(),
        outcome: if i % 2 == 0 { "ok" } else { "refused" }.into(),
        category: (i % 2 == 1).then(|| "wrong_audience".to_string()),
        detail: (i % 3 == 0).then(|| format!("got \"x\"\nwanted 'y' — Jürgen {i}")),
        name_id: (i % 4 != 3).then(|| format!("p{i}@example.com")),
        attributes: (i % 5 == 0).then(|| r#"{"groups":["a","b\\c"]}"#.to_string()),
        raw_xml: (i % 7 != 6).then(|| format!("<r i=\"{i}\">\u{1F511}</r>")),
    };
    for size in [1_i64, 3, 256] {
        let base = size * 1000;
        let batch: Vec<(String, SamlAttemptRow, i64)> = (base..base + size)
            .map(|i| (business.clone(), attempt(i), now + 7 * 86_400))
            .collect();
        db.record_saml_attempts(&batch).await.expect("record");
        let stored = db.saml_attempts(&business, 1000).await.expect("read");
        for (_, want, _) in &batch {
            let got = stored
                .iter()
                .find(|a| a.id == want.id)
                .unwrap_or_else(|| panic!("{} stored", want.id));
            assert_eq!(
                (
                    got.at,
                    &got.purpose,
                    &got.outcome,
                    &got.category,
                    &got.detail,
                    &got.name_id,
                    &got.attributes,
                    &got.raw_xml
                ),
                (
                    want.at,
                    &want.purpose,
                    &want.outcome,
                    &want.category,
                    &want.detail,
                    &want.name_id,
                    &want.attributes,
                    &want.raw_xml
                ),
                "{}",
                want.id
            );
        }
    }
    assert_eq!(
        db.saml_attempts(&business, 1000).await.expect("read").len(),
        260
    );
}
both!(a_batch_of_sso_attempts_is_stored_as_given);
