//! The service secret and the random tokens derived from it.
//!
//! The secret comes from `SEATGATE_SECRET_KEY` (at least 32 bytes, any text) or is generated
//! once into `<data-dir>/secret.key` (mode 0600). Tokens handed to browsers (sessions, emailed
//! links, invitations) are 32 random bytes; the database keeps only HMAC-SHA256(secret, token),
//! so neither a copy of the database nor its backups can be used to sign in.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::{fmt, path::Path};

#[derive(Clone)]
pub struct SecretKey(std::sync::Arc<[u8]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(REDACTED)")
    }
}

pub const MIN_SECRET_LEN: usize = 32;

impl SecretKey {
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            bytes.len() >= MIN_SECRET_LEN,
            "the secret key must be at least {MIN_SECRET_LEN} bytes long"
        );
        Ok(SecretKey(bytes.into()))
    }

    /// `SEATGATE_SECRET_KEY` when given, else the key file in the data folder (created once).
    /// With PostgreSQL several instances share the data, so the key must be given.
    pub fn load(given: Option<&str>, data_dir: &Path, shared_db: bool) -> anyhow::Result<Self> {
        if let Some(k) = given {
            return Self::from_bytes(k.trim().as_bytes());
        }
        anyhow::ensure!(
            !shared_db,
            "SEATGATE_SECRET_KEY must be set when the database is PostgreSQL (instances sharing the data must share the key)"
        );
        let path = data_dir.join("secret.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path)?;
            return Self::from_bytes(text.trim().as_bytes());
        }
        std::fs::create_dir_all(data_dir)?;
        let key = random_token();
        write_private(&path, key.as_bytes())?;
        tracing::info!(path = %path.display(), "generated a new secret key");
        Self::from_bytes(key.as_bytes())
    }

    /// Keyed hash of a token, hex, for storage and lookup.
    pub fn hash_token(&self, token: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(token.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// 32 bytes derived from the secret for one purpose (HMAC with a label), e.g. the seed of
    /// the licence signing key: stable across restarts, unrelated to every other use.
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(label);
        mac.finalize().into_bytes().into()
    }

    /// The AEAD key for data sealed at rest, derived from the secret (HMAC with a label), so
    /// it never equals a key used for anything else.
    fn sealing_key(&self) -> chacha20poly1305::Key {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"seatgate sealed data v1");
        chacha20poly1305::Key::clone_from_slice(&mac.finalize().into_bytes())
    }

    /// Encrypts `plain` (XChaCha20-Poly1305, random nonce): base64url of nonce || ciphertext.
    pub fn seal(&self, plain: &[u8]) -> String {
        use chacha20poly1305::{aead::Aead, AeadCore, KeyInit, XChaCha20Poly1305};
        let cipher = XChaCha20Poly1305::new(&self.sealing_key());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut rand::rngs::OsRng);
        // encryption with a valid key and nonce does not fail
        let mut out = nonce.to_vec();
        out.extend(cipher.encrypt(&nonce, plain).unwrap_or_default());
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decrypts what `seal` produced; `None` when it was altered or sealed with another key.
    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        use chacha20poly1305::{aead::Aead, KeyInit, XChaCha20Poly1305, XNonce};
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, body) = bytes.split_at(24);
        XChaCha20Poly1305::new(&self.sealing_key())
            .decrypt(XNonce::from_slice(nonce), body)
            .ok()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// 32 random bytes, base64url: a session cookie, an emailed link, an invitation.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// Plain SHA-256, hex: for values with enough entropy of their own (license keys), where
/// the hash must stay valid whatever the service secret.
pub fn sha256_hex(data: &str) -> String {
    hex(&Sha256::digest(data.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused() {
        assert!(SecretKey::from_bytes(b"too short").is_err());
        assert!(SecretKey::from_bytes(&[7u8; 32]).is_ok());
    }

    #[test]
    fn a_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = SecretKey::load(None, dir.path(), false).expect("generate");
        let b = SecretKey::load(None, dir.path(), false).expect("reload");
        assert_eq!(a.hash_token("t"), b.hash_token("t"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn postgres_requires_a_given_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(SecretKey::load(None, dir.path(), true).is_err());
        assert!(SecretKey::load(Some(&"k".repeat(40)), dir.path(), true).is_ok());
    }

    #[test]
    fn token_hashes_depend_on_the_key() {
        let a = SecretKey::from_bytes(&[1u8; 32]).expect("key");
        let b = SecretKey::from_bytes(&[2u8; 32]).expect("key");
        assert_ne!(a.hash_token("same"), b.hash_token("same"));
        assert_eq!(a.hash_token("same").len(), 64);
        assert_ne!(random_token(), random_token());
    }
}
