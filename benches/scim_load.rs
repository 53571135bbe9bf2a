//! SCIM provisioning load over HTTP, on SQLite and PostgreSQL: 100,000 users and 10 groups
//! (one with 10,000 members) pushed through the real router on a loopback socket, as an IdP's
//! full sync would. Prints creates per second, `userName eq` lookup p50/p99, the list page at
//! offset 90,000, the 1,000-member PATCH, and the query plans of the lookup and the page.
//!
//! `cargo bench --features ssr --bench scim_load`
//! Environment: `SCIM_BENCH_USERS` (default 100000), `SCIM_BENCH_DB` (`sqlite,postgres`),
//! `SCIM_BENCH_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! `SCIM_BENCH_CONNECTIONS` (default 32).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use seatgate::server::{clock::Clock, secrets::SecretKey};
use serde_json::{json, Value};
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

mod support;

use support::{ms, percentile};

type Sender = http1::SendRequest<Full<Bytes>>;

struct Conn {
    sender: Sender,
    token: String,
}

impl Conn {
    async fn open(addr: SocketAddr, token: &str) -> Conn {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let (sender, conn) = http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Conn {
            sender,
            token: token.to_string(),
        }
    }

    async fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("/scim/v2{path}"))
            .header("host", "seatgate.bench")
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .expect("request");
        self.sender.ready().await.expect("ready");
        let res = self.sender.send_request(req).await.expect("send");
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, v)
    }
}

async fn run(label: &str, url: &str, users: usize, connections: usize) {
    println!("\n## {label}\n");
    let db = seatgate::store::connect(url).await.expect("connect");
    let secret = SecretKey::from_bytes(&[7u8; 32]).expect("key");
    let now = 1_768_478_400;
    let (business, token) = support::seed(&db, &secret, now).await;
    let (addr, _dir) = support::serve(&db, secret, Clock::manual(now)).await;

    // 1. creates, `connections` IdP workers in parallel
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..connections {
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr, &token).await;
            let mut ids = Vec::new();
            let mut lat = Vec::new();
            let mut n = w;
            while n < users {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("user{n:06}@example.com"),
                    "externalId": format!("ext-{n}"),
                    "name": {"givenName": "User", "familyName": format!("{n}")},
                    "displayName": format!("User {n}"),
                    "emails": [{"value": format!("user{n:06}@example.com"), "type": "work", "primary": true}],
                    "active": true
                });
                let t = Instant::now();
                let (status, v) = c.call("POST", "/Users", Some(&body)).await;
                lat.push(t.elapsed());
                assert_eq!(status, 201, "{v}");
                ids.push(v["id"].as_str().expect("id").to_string());
                n += connections;
            }
            (ids, lat)
        }));
    }
    let mut ids = Vec::new();
    let mut lat = Vec::new();
    for t in tasks {
        let (i, l) = t.await.expect("worker");
        ids.extend(i);
        lat.extend(l);
    }
    let took = started.elapsed();
    lat.sort();
    println!(
        "| user creates ({users}, {connections} connections) | **{:.0} /s** | p50 {} · p99 {} |",
        users as f64 / took.as_secs_f64(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    // statistics as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) would leave them
    db.analyze().await.expect("analyze");

    // 2. ten groups; the big one gets 10,000 members by PATCHes of 1,000
    let mut c = Conn::open(addr, &token).await;
    let mut groups = Vec::new();
    for g in 0..10 {
        let members: Vec<Value> = ids
            .iter()
            .skip(g * 10)
            .take(if g == 0 { 0 } else { 10 })
            .map(|id| json!({"value": id}))
            .collect();
        let (status, v) = c
            .call(
                "POST",
                "/Groups",
                Some(&json!({"displayName": format!("Group {g}"), "members": members})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        groups.push(v["id"].as_str().expect("id").to_string());
    }
    let mut patch_lat = Vec::new();
    for chunk in ids.chunks(1000).take(10) {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members",
                "value": chunk.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()}]
        });
        let t = Instant::now();
        let (status, v) = c
            .call("PATCH", &format!("/Groups/{}", groups[0]), Some(&body))
            .await;
        patch_lat.push(t.elapsed());
        assert_eq!(status, 204, "{v}");
    }
    patch_lat.sort();
    println!(
        "| PATCH adding 1,000 members (10 times, group grows to 10,000) | **p50 {}** · max {} | |",
        ms(percentile(&patch_lat, 0.5)),
        ms(*patch_lat.last().unwrap_or(&Duration::ZERO))
    );

    // 3. userName eq lookups, 8 connections
    let lookups = 4000usize.min(users);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr, &token).await;
            let mut lat = Vec::new();
            let mut n = w;
            while n < lookups {
                // spread over the whole table
                let i = (n * 7919) % users;
                let path = format!("/Users?filter=userName%20eq%20%22user{i:06}%40example.com%22");
                let t = Instant::now();
                let (status, v) = c.call("GET", &path, None).await;
                lat.push(t.elapsed());
                assert_eq!((status, v["totalResults"].as_i64()), (200, Some(1)), "{v}");
                n += 8;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("worker"));
    }
    lat.sort();
    println!(
        "| `userName eq` lookup at {users} users ({lookups}, 8 connections) | **p50 {} · p99 {}** | |",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    // 4. the deep page
    let offset = users.saturating_sub(10_000).max(1);
    let mut lat = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let (status, v) = c
            .call(
                "GET",
                &format!("/Users?startIndex={offset}&count=100"),
                None,
            )
            .await;
        lat.push(t.elapsed());
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["itemsPerPage"], 100);
    }
    lat.sort();
    println!(
        "| list page `startIndex={offset}&count=100` (20 times) | **p50 {}** · max {} | |",
        ms(percentile(&lat, 0.5)),
        ms(*lat.last().unwrap_or(&Duration::ZERO))
    );

    // 5. query plans
    println!("\nQuery plans ({label}):\n```");
    for line in db.explain_scim_queries(&business).await.expect("explain") {
        println!("{line}");
    }
    println!("```");
}

fn main() {
    let n = support::env_usize("SCIM_BENCH_USERS", 100_000);
    let connections = support::env_usize("SCIM_BENCH_CONNECTIONS", 32);
    support::on_backends("SCIM_BENCH", |label, url| async move {
        run(label, &url, n, connections).await;
    });
}
