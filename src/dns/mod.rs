//! DNS TXT lookups for domain verification (hickory-resolver; `--dns-server` or the system
//! resolver). No cache: every check asks the server again.

use hickory_resolver::{
    config::{ConnectionConfig, NameServerConfig, ResolverConfig},
    net::runtime::TokioRuntimeProvider,
    proto::rr::RData,
    Resolver,
};
use std::{net::SocketAddr, time::Duration};

/// What a TXT lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxtAnswer {
    /// The name exists and has these TXT strings (each record's strings joined).
    Records(Vec<String>),
    /// NXDOMAIN or no TXT records at the name.
    NoRecords,
    /// The DNS server did not answer in time.
    Timeout,
    /// Any other failure (SERVFAIL, refused, network), with the resolver's words.
    Error(String),
}

#[derive(Clone)]
pub struct Dns {
    resolver: Resolver<TokioRuntimeProvider>,
    /// Bound on one whole check (UDP and TCP attempts included).
    deadline: Duration,
}

impl Dns {
    /// A resolver asking `server` (ip:port), or the system's resolvers when `None`.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> anyhow::Result<Dns> {
        let mut builder = match server {
            Some(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                Resolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![ns]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => Resolver::builder_tokio()?,
        };
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = 1;
        opts.cache_size = 0;
        Ok(Dns {
            resolver: builder.build()?,
            deadline: timeout * 3,
        })
    }

    /// The IPv4 and IPv6 addresses of `host` (for outbound fetches that must check where they
    /// connect before connecting). An error string says what went wrong.
    pub async fn ips(&self, host: &str) -> Result<Vec<std::net::IpAddr>, String> {
        let fqdn = if host.ends_with('.') {
            host.to_string()
        } else {
            format!("{host}.")
        };
        match tokio::time::timeout(self.deadline, self.resolver.lookup_ip(fqdn.as_str())).await {
            Err(_) => Err("the DNS server did not answer in time".into()),
            Ok(Ok(found)) => {
                let ips: Vec<_> = found.iter().collect();
                if ips.is_empty() {
                    Err(format!("{host} has no address records"))
                } else {
                    Ok(ips)
                }
            }
            Ok(Err(e)) if e.is_nx_domain() || e.is_no_records_found() => {
                Err(format!("{host} has no address records"))
            }
            Ok(Err(e)) => Err(e.to_string()),
        }
    }

    /// The TXT strings at `name` (a fully qualified name; a trailing dot is added).
    pub async fn txt(&self, name: &str) -> TxtAnswer {
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        let lookup =
            tokio::time::timeout(self.deadline, self.resolver.txt_lookup(fqdn.as_str())).await;
        match lookup {
            Err(_) => TxtAnswer::Timeout,
            Ok(Ok(found)) => {
                let values: Vec<String> = found
                    .answers()
                    .iter()
                    .filter_map(|rec| match &rec.data {
                        // a TXT record longer than 255 bytes arrives as several strings
                        RData::TXT(t) => Some(
                            t.txt_data
                                .iter()
                                .map(|c| String::from_utf8_lossy(c))
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect();
                if values.is_empty() {
                    TxtAnswer::NoRecords
                } else {
                    TxtAnswer::Records(values)
                }
            }
            Ok(Err(e)) if e.is_nx_domain() || e.is_no_records_found() => TxtAnswer::NoRecords,
            Ok(Err(e)) => {
                let text = e.to_string();
                if text.to_lowercase().contains("timed out")
                    || text.to_lowercase().contains("timeout")
                {
                    TxtAnswer::Timeout
                } else {
                    TxtAnswer::Error(text)
                }
            }
        }
    }
}
