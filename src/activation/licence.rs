//! Licences: JWS compact tokens signed with Ed25519 (RFC 8037, `alg` EdDSA), so the desktop
//! app and any JOSE library can verify them offline with the key published at
//! `GET /api/v1/licences/keys` (a JWKS). The signing key is derived from the service secret,
//! so every instance sharing the secret signs with the same key and nothing extra is stored.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

/// What a licence says. Times are epoch seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The service that issued it (its public URL).
    pub iss: String,
    /// The activation this licence belongs to.
    pub act: String,
    /// Business account id.
    pub acct: String,
    /// Business account name, for display.
    pub acct_name: String,
    /// The user's id and email.
    pub sub: String,
    pub email: String,
    /// The device's stable id.
    pub dev: String,
    pub product: String,
    pub iat: i64,
    /// The end of the offline grace period: after it the app must check in again.
    pub exp: i64,
    /// The end of the subscription, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_exp: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LicenceError {
    #[error("the licence is not a JWS compact token")]
    Malformed,
    #[error("the licence is signed with another key ({0})")]
    UnknownKey(String),
    #[error("the licence signature does not verify")]
    BadSignature,
    #[error("the licence expired at {0}")]
    Expired(i64),
}

pub struct Signer {
    pair: Ed25519KeyPair,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer(kid={})", self.kid)
    }
}

/// The key id: the first 16 hex digits of SHA-256 of the public key.
pub fn key_id(public: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(public)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

impl Signer {
    pub fn from_seed(seed: &[u8; 32]) -> Signer {
        // a 32-byte seed is always a valid Ed25519 private key
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).expect("32-byte Ed25519 seed");
        let kid = key_id(pair.public_key().as_ref());
        Signer { pair, kid }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The JWKS document with the one public key.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": self.kid,
                "x": URL_SAFE_NO_PAD.encode(self.public_key()),
            }]
        })
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".into(),
            typ: "seatgate-licence+jwt".into(),
            kid: self.kid.clone(),
        };
        // serialising these plain structs cannot fail
        let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
        let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let input = format!("{h}.{c}");
        let sig = self.pair.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

/// Verifies a licence with a known public key (raw 32 bytes) and returns its claims; `now`
/// checks the offline grace period.
pub fn verify(token: &str, public_key: &[u8], now: i64) -> Result<Claims, LicenceError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LicenceError::Malformed);
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(LicenceError::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(LicenceError::Malformed);
    }
    let kid = key_id(public_key);
    if header.kid != kid {
        return Err(LicenceError::UnknownKey(header.kid));
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| LicenceError::Malformed)?;
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| LicenceError::BadSignature)?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(LicenceError::Malformed)?;
    if claims.exp <= now {
        return Err(LicenceError::Expired(claims.exp));
    }
    Ok(claims)
}

/// The raw public key from a JWKS document's first Ed25519 key.
pub fn public_key_from_jwks(jwks: &serde_json::Value) -> Option<Vec<u8>> {
    jwks.get("keys")?
        .as_array()?
        .iter()
        .find(|k| k.get("crv").and_then(|c| c.as_str()) == Some("Ed25519"))
        .and_then(|k| k.get("x")?.as_str())
        .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
        .filter(|k| k.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "https://sg.example".into(),
            act: "a1".into(),
            acct: "b1".into(),
            acct_name: "Acme".into(),
            sub: "u1".into(),
            email: "ann@acme.test".into(),
            dev: "d1".into(),
            product: "desktop".into(),
            iat: 100,
            exp,
            sub_exp: Some(10_000),
        }
    }

    #[test]
    fn a_signed_licence_verifies_with_the_published_key_and_not_after_tampering() {
        let signer = Signer::from_seed(&[7u8; 32]);
        let token = signer.sign(&claims(1000));
        let key = public_key_from_jwks(&signer.jwks()).expect("key in jwks");
        assert_eq!(verify(&token, &key, 500), Ok(claims(1000)));
        assert_eq!(verify(&token, &key, 1000), Err(LicenceError::Expired(1000)));
        // another product in the claims: the signature no longer matches
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut forged = claims(1000);
        forged.product = "pro".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        assert_eq!(
            verify(&parts.join("."), &key, 500),
            Err(LicenceError::BadSignature)
        );
        // another service's key
        let other = Signer::from_seed(&[8u8; 32]);
        assert!(matches!(
            verify(&token, other.public_key(), 500),
            Err(LicenceError::UnknownKey(_))
        ));
        assert_eq!(verify("a.b", &key, 500), Err(LicenceError::Malformed));
    }

    #[test]
    fn the_same_seed_gives_the_same_key_so_instances_agree() {
        let a = Signer::from_seed(&[1u8; 32]);
        let b = Signer::from_seed(&[1u8; 32]);
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.kid(), b.kid());
        assert_eq!(a.kid().len(), 16);
    }
}
