//! One-shot https fetch of an IdP's metadata document, guarded against server-side request
//! forgery: https only, every resolved address checked before connecting and the connection
//! pinned to a checked address (no second lookup an attacker could rebind), no redirects,
//! bounded size and time.

use crate::dns::Dns;
use http_body_util::BodyExt;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use tokio_rustls::rustls::{self, pki_types::ServerName, RootCertStore};

/// Metadata documents are a few KB; Entra's federation metadata with many certificates stays
/// well under 1 MiB.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct MetadataFetcher {
    dns: Dns,
    tls: Arc<rustls::ClientConfig>,
    /// Operator's choice (`--metadata-allow-private`): IdPs on the internal network.
    allow_private: bool,
    timeout: Duration,
}

impl MetadataFetcher {
    /// `extra_roots_pem`: further trusted CA certificates (an internal CA), on top of the
    /// Web PKI roots.
    pub fn new(
        dns: Dns,
        allow_private: bool,
        extra_roots_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(pem) = extra_roots_pem {
            let mut added = 0;
            for block in pem_blocks(pem) {
                roots
                    .add(block.into())
                    .map_err(|e| anyhow::anyhow!("extra CA certificate: {e}"))?;
                added += 1;
            }
            anyhow::ensure!(added > 0, "the extra CA file holds no PEM certificate");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MetadataFetcher {
            dns,
            tls: Arc::new(tls),
            allow_private,
            timeout,
        })
    }

    /// The document at `raw_url`, or a sentence for the admin saying why not.
    pub async fn fetch(&self, raw_url: &str) -> Result<String, String> {
        let url =
            url::Url::parse(raw_url.trim()).map_err(|_| "This is not a valid URL.".to_string())?;
        if url.scheme() != "https" {
            return Err("Only https:// metadata URLs are fetched.".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("The URL must not carry a user name or password.".into());
        }
        let host = url
            .host()
            .ok_or_else(|| "The URL has no host.".to_string())?;
        let port = url.port_or_known_default().unwrap_or(443);
        let (addrs, server_name) = match host {
            url::Host::Ipv4(ip) => (vec![IpAddr::V4(ip)], ServerName::IpAddress(ip.into())),
            url::Host::Ipv6(ip) => (vec![IpAddr::V6(ip)], ServerName::IpAddress(ip.into())),
            url::Host::Domain(name) => {
                let ips = self
                    .dns
                    .ips(name)
                    .await
                    .map_err(|e| format!("Could not resolve {name}: {e}."))?;
                let sni = ServerName::try_from(name.to_string())
                    .map_err(|_| format!("{name} is not a valid host name."))?;
                (ips, sni)
            }
        };
        // Every address must be acceptable: a name that resolves to a public and a private
        // address would otherwise reach the private one on a later attempt.
        if !self.allow_private {
            if let Some(ip) = addrs.iter().find(|ip| !is_public(**ip)) {
                return Err(format!(
                    "{} resolves to {ip}, a private or reserved address; the operator has not \
                     allowed fetching from those.",
                    url.host_str().unwrap_or_default()
                ));
            }
        }
        let target = SocketAddr::new(addrs[0], port);
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        tokio::time::timeout(
            self.timeout,
            self.get(target, server_name, &authority, &path),
        )
        .await
        .map_err(|_| {
            format!(
                "The IdP did not answer within {} seconds.",
                self.timeout.as_secs()
            )
        })?
    }

    async fn get(
        &self,
        target: SocketAddr,
        server_name: ServerName<'static>,
        authority: &str,
        path: &str,
    ) -> Result<String, String> {
        let tcp = tokio::net::TcpStream::connect(target)
            .await
            .map_err(|e| format!("Could not connect to {target}: {e}."))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(server_name, tcp)
            .await
            .map_err(|e| format!("TLS with the IdP failed: {e}."))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| format!("HTTP with the IdP failed: {e}."))?;
        let driver = tokio::spawn(conn);
        let req = http::Request::get(path)
            .header(http::header::HOST, authority)
            .header(
                http::header::ACCEPT,
                "application/samlmetadata+xml, application/xml, text/xml",
            )
            .header(http::header::USER_AGENT, "seatgate metadata fetch")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| format!("Could not build the request: {e}."))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP with the IdP failed: {e}."))?;
        let status = res.status();
        if status.is_redirection() {
            driver.abort();
            return Err(format!(
                "The URL answered {status} (a redirect); redirects are not followed. Enter the \
                 final URL."
            ));
        }
        if status != http::StatusCode::OK {
            driver.abort();
            return Err(format!("The URL answered {status}, not 200 OK."));
        }
        let mut body = res.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("Reading the metadata failed: {e}."))?;
            if let Some(chunk) = frame.data_ref() {
                if bytes.len() + chunk.len() > MAX_METADATA_BYTES {
                    driver.abort();
                    return Err(format!(
                        "The metadata is larger than {} KiB.",
                        MAX_METADATA_BYTES / 1024
                    ));
                }
                bytes.extend_from_slice(chunk);
            }
        }
        driver.abort();
        String::from_utf8(bytes).map_err(|_| "The metadata is not UTF-8 text.".to_string())
    }
}

/// The DER bodies of the PEM `CERTIFICATE` blocks in `pem`.
fn pem_blocks(pem: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    text.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .filter_map(|rest| rest.split("-----END CERTIFICATE-----").next())
        .filter_map(|b64| {
            let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD.decode(clean).ok()
        })
        .collect()
}

/// Whether `ip` is a globally routable unicast address (not loopback, private, link-local
/// — which includes cloud metadata at 169.254.169.254 — shared, reserved or multicast).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let seg = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0x0064 && seg[1] == 0xff9b)) // NAT64 can reach IPv4 private space
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || o[0] == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240) // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_globally_routable_addresses_are_public() {
        struct Case {
            ip: &'static str,
            public: bool,
        }
        let cases = [
            Case {
                ip: "8.8.8.8",
                public: true,
            },
            Case {
                ip: "20.190.128.1",
                public: true,
            },
            Case {
                ip: "127.0.0.1",
                public: false,
            },
            Case {
                ip: "10.1.2.3",
                public: false,
            },
            Case {
                ip: "172.16.0.1",
                public: false,
            },
            Case {
                ip: "192.168.1.1",
                public: false,
            },
            Case {
                ip: "169.254.169.254",
                public: false,
            },
            Case {
                ip: "100.64.0.1",
                public: false,
            },
            Case {
                ip: "0.0.0.0",
                public: false,
            },
            Case {
                ip: "255.255.255.255",
                public: false,
            },
            Case {
                ip: "224.0.0.1",
                public: false,
            },
            Case {
                ip: "::1",
                public: false,
            },
            Case {
                ip: "::",
                public: false,
            },
            Case {
                ip: "fd00::1",
                public: false,
            },
            Case {
                ip: "fe80::1",
                public: false,
            },
            Case {
                ip: "::ffff:10.0.0.1",
                public: false,
            },
            Case {
                ip: "::ffff:8.8.8.8",
                public: true,
            },
            Case {
                ip: "2606:4700::1111",
                public: true,
            },
        ];
        for c in cases {
            let ip: IpAddr = c.ip.parse().expect("test address");
            assert_eq!(is_public(ip), c.public, "{}", c.ip);
        }
    }
}
