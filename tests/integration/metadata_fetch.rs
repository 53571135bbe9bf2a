//! Step 4's "metadata URL": fetched once over https from an IdP on loopback with its own CA,
//! and every refusal of the server-side request forgery guard.

use crate::both;
use crate::support::{business_admin, Backend, Client, TestApp};
use serde_json::Value;
use std::{net::SocketAddr, sync::Arc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::{
    self,
    pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer},
};

/// An https server for `idp.test` on loopback whose certificate is signed by a CA of its own.
struct TestIdp {
    addr: SocketAddr,
    ca_pem: String,
}

impl TestIdp {
    async fn start() -> TestIdp {
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Test IdP CA");
        let ca = ca_params.self_signed(&ca_key).expect("ca cert");
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf = rcgen::CertificateParams::new(vec!["idp.test".to_string()])
            .expect("leaf")
            .signed_by(&leaf_key, &ca, &ca_key)
            .expect("leaf cert");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, extra, body) = match path.as_str() {
                        "/app/metadata" => (
                            "200 OK",
                            "",
                            std::fs::read_to_string("tests/fixtures/saml/okta/metadata.xml")
                                .expect("fixture"),
                        ),
                        "/redirect" => (
                            "302 Found",
                            "Location: https://idp.test/app/metadata\r\n",
                            String::new(),
                        ),
                        "/huge" => ("200 OK", "", "<x/>".repeat(300_000)),
                        _ => ("404 Not Found", "", "no such page".to_string()),
                    };
                    let res = format!(
                        "HTTP/1.1 {status}\r\n{extra}Content-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(res.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        TestIdp {
            addr,
            ca_pem: ca.pem(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://idp.test:{}{path}", self.addr.port())
    }
}

async fn import_url(c: &mut Client, url: &str) -> crate::support::Response {
    c.call(
        "integration/change",
        &[("action", "import_metadata"), ("metadata_url", url)],
    )
    .await
}

async fn saml_view(c: &mut Client) -> Value {
    let r = c.call("integration", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["saml"].clone()
}

async fn started(app: &TestApp) -> Client {
    let mut c = business_admin(app, "admin@acme-corp.com", "Acme").await;
    let r = c.call("integration/change", &[("action", "start")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    c
}

async fn metadata_url_fills_the_saml_step_when_the_operator_allows_the_idp(b: Backend) {
    let mut app = TestApp::new(b).await;
    let idp = TestIdp::start().await;
    app.dns.set_ips("idp.test", &[idp.addr.ip()]);
    app.allow_metadata_fetch(true, Some(idp.ca_pem.as_bytes()));
    let mut c = started(&app).await;

    let r = import_url(&mut c, &idp.url("/app/metadata")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let saml = saml_view(&mut c).await;
    assert_eq!(
        saml["idp_entity_id"],
        "http://www.okta.com/exkdoocxa1VmjpXmX697"
    );
    assert!(saml["idp_sso_url"]
        .as_str()
        .expect("sso url")
        .starts_with("https://"));
    assert_eq!(saml["certificates"].as_array().expect("certs").len(), 1);

    // refusals that hold even for an allowed IdP
    struct Case {
        url: String,
        says: &'static str,
    }
    let cases = [
        Case {
            url: idp.url("/redirect"),
            says: "redirects are not followed",
        },
        Case {
            url: idp.url("/huge"),
            says: "larger than 1024 KiB",
        },
        Case {
            url: idp.url("/missing"),
            says: "404",
        },
        Case {
            url: format!("http://idp.test:{}/app/metadata", idp.addr.port()),
            says: "Only https://",
        },
        Case {
            url: "https://unknown.idp.test/metadata".into(),
            says: "Could not resolve unknown.idp.test",
        },
        Case {
            url: "https://user:pw@idp.test/metadata".into(),
            says: "user name or password",
        },
    ];
    for case in cases {
        let r = import_url(&mut c, &case.url).await;
        assert_eq!(r.status, 400, "{}: {}", case.url, r.body);
        let msg = r.field_message("metadata_url").expect("message");
        assert!(msg.contains(case.says), "{}: {msg}", case.url);
    }
}
both!(metadata_url_fills_the_saml_step_when_the_operator_allows_the_idp);

async fn metadata_url_on_a_private_address_is_refused_by_default(b: Backend) {
    let app = TestApp::new(b).await;
    let idp = TestIdp::start().await;
    app.dns.set_ips("idp.test", &[idp.addr.ip()]);
    app.dns.set_ips(
        "mixed.idp.test",
        &[
            "8.8.8.8".parse().expect("ip"),
            "10.0.0.5".parse().expect("ip"),
        ],
    );
    let mut c = started(&app).await;
    for (url, says) in [
        (idp.url("/app/metadata"), "resolves to 127.0.0.1"),
        (
            format!("https://127.0.0.1:{}/app/metadata", idp.addr.port()),
            "127.0.0.1, a private or reserved address",
        ),
        (
            "https://169.254.169.254/latest/meta-data".to_string(),
            "169.254.169.254, a private",
        ),
        ("https://[::1]/metadata".to_string(), "::1, a private"),
        (
            "https://mixed.idp.test/metadata".to_string(),
            "resolves to 10.0.0.5",
        ),
    ] {
        let r = import_url(&mut c, &url).await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
        let msg = r.field_message("metadata_url").expect("message");
        assert!(msg.contains(says), "{url}: {msg}");
    }
    assert!(saml_view(&mut c).await["idp_entity_id"]
        .as_str()
        .unwrap_or_default()
        .is_empty());
}
both!(metadata_url_on_a_private_address_is_refused_by_default);

async fn metadata_url_with_an_untrusted_certificate_is_refused(b: Backend) {
    let mut app = TestApp::new(b).await;
    let idp = TestIdp::start().await;
    app.dns.set_ips("idp.test", &[idp.addr.ip()]);
    // private addresses allowed, but the IdP's CA is not trusted
    app.allow_metadata_fetch(true, None);
    let mut c = started(&app).await;
    let r = import_url(&mut c, &idp.url("/app/metadata")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let msg = r.field_message("metadata_url").expect("message");
    assert!(msg.contains("TLS with the IdP failed"), "{msg}");
}
both!(metadata_url_with_an_untrusted_certificate_is_refused);

async fn metadata_url_fetch_is_for_admins_only(b: Backend) {
    let mut app = TestApp::new(b).await;
    let idp = TestIdp::start().await;
    app.dns.set_ips("idp.test", &[idp.addr.ip()]);
    app.allow_metadata_fetch(true, Some(idp.ca_pem.as_bytes()));
    let _admin = started(&app).await;
    let mut stranger = app.client();
    let r = import_url(&mut stranger, &idp.url("/app/metadata")).await;
    assert_eq!(r.status, 401, "{}", r.body);
}
both!(metadata_url_fetch_is_for_admins_only);
