//! A DNS server on loopback for tests: answers TXT and A/AAAA queries from a zone the test edits
//! while it runs; `mute` makes it swallow queries (UDP and TCP) to test timeouts.

use hickory_resolver::proto::{
    op::{Message, ResponseCode},
    rr::{
        rdata::{A, AAAA, TXT},
        RData, Record, RecordType,
    },
};
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
};

#[derive(Clone)]
pub struct TestDns {
    pub addr: SocketAddr,
    zone: Arc<Mutex<HashMap<String, Vec<String>>>>,
    addrs: Arc<Mutex<HashMap<String, Vec<IpAddr>>>>,
    mute: Arc<AtomicBool>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl TestDns {
    pub async fn start() -> TestDns {
        // TCP on the same port accepts and never answers, so a muted server times out on both.
        // The UDP port is free for TCP only most of the time (parallel tests bind ports too),
        // so pick another pair when TCP finds it taken.
        let mut attempt = 0;
        let (udp, tcp, addr) = loop {
            attempt += 1;
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind udp");
            let addr = udp.local_addr().expect("addr");
            match tokio::net::TcpListener::bind(addr).await {
                Ok(tcp) => break (udp, tcp, addr),
                Err(e) if attempt >= 50 => panic!("bind tcp next to udp {addr}: {e}"),
                Err(_) => continue,
            }
        };
        let zone: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
        let addrs: Arc<Mutex<HashMap<String, Vec<IpAddr>>>> = Arc::default();
        let mute = Arc::new(AtomicBool::new(false));
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = tcp.accept().await {
                held.push(sock);
            }
        });
        let (z, a, m) = (zone.clone(), addrs.clone(), mute.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                    break;
                };
                if m.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(req) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut res = Message::response(req.metadata.id, req.metadata.op_code);
                res.metadata.recursion_desired = req.metadata.recursion_desired;
                res.metadata.authoritative = true;
                for q in &req.queries {
                    res.add_query(q.clone());
                    let ips = a
                        .lock()
                        .expect("addrs")
                        .get(&key(&q.name().to_string()))
                        .cloned();
                    if let Some(ips) = ips {
                        for ip in ips {
                            let data = match (ip, q.query_type()) {
                                (IpAddr::V4(v4), RecordType::A) => RData::A(A(v4)),
                                (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(v6)),
                                _ => continue,
                            };
                            res.add_answer(Record::from_rdata(q.name().clone(), 60, data));
                        }
                        continue;
                    }
                    let values = z
                        .lock()
                        .expect("zone")
                        .get(&key(&q.name().to_string()))
                        .cloned();
                    match values {
                        Some(values) if q.query_type() == RecordType::TXT => {
                            for v in values {
                                res.add_answer(Record::from_rdata(
                                    q.name().clone(),
                                    60,
                                    RData::TXT(TXT::new(vec![v])),
                                ));
                            }
                        }
                        Some(_) => {}
                        None => res.metadata.response_code = ResponseCode::NXDomain,
                    }
                }
                if let Ok(bytes) = res.to_vec() {
                    let _ = udp.send_to(&bytes, peer).await;
                }
            }
        });
        TestDns {
            addr,
            zone,
            addrs,
            mute,
        }
    }

    /// Replaces the TXT records at `name`.
    pub fn set_txt(&self, name: &str, values: &[&str]) {
        self.zone
            .lock()
            .expect("zone")
            .insert(key(name), values.iter().map(|v| v.to_string()).collect());
    }

    /// Replaces the A/AAAA records at `name`.
    pub fn set_ips(&self, name: &str, ips: &[IpAddr]) {
        self.addrs
            .lock()
            .expect("addrs")
            .insert(key(name), ips.to_vec());
    }

    pub fn mute(&self, on: bool) {
        self.mute.store(on, Ordering::SeqCst);
    }
}
