//! The account's SP key for signed AuthnRequests (HTTP-Redirect binding, SAML bindings
//! §3.4.4.1): RSA-2048 with a self-signed certificate, made by us when the admin turns signing
//! on, kept sealed with the server key, published in our SP metadata.

use crate::{server::state::AppState, store::StoreError};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use openssl::{
    asn1::Asn1Time,
    bn::{BigNum, MsbOption},
    hash::MessageDigest,
    pkey::{PKey, Private},
    rsa::Rsa,
    x509::{X509Builder, X509NameBuilder},
};

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the SP key could not be made or read: {0}")]
    Key(String),
}

fn key_err(e: impl std::fmt::Display) -> SigningError {
    SigningError::Key(e.to_string())
}

/// A new key and its self-signed certificate (10 years; the IdP pins the certificate itself).
fn generate(common_name: &str) -> Result<(PKey<Private>, Vec<u8>), SigningError> {
    let pkey = PKey::from_rsa(Rsa::generate(2048).map_err(key_err)?).map_err(key_err)?;
    let mut name = X509NameBuilder::new().map_err(key_err)?;
    name.append_entry_by_text("CN", common_name)
        .map_err(key_err)?;
    let name = name.build();
    let mut b = X509Builder::new().map_err(key_err)?;
    b.set_version(2).map_err(key_err)?;
    let mut serial = BigNum::new().map_err(key_err)?;
    serial
        .rand(127, MsbOption::MAYBE_ZERO, false)
        .map_err(key_err)?;
    let serial = serial.to_asn1_integer().map_err(key_err)?;
    b.set_serial_number(&serial).map_err(key_err)?;
    b.set_subject_name(&name).map_err(key_err)?;
    b.set_issuer_name(&name).map_err(key_err)?;
    b.set_pubkey(&pkey).map_err(key_err)?;
    let from = Asn1Time::days_from_now(0).map_err(key_err)?;
    let until = Asn1Time::days_from_now(3650).map_err(key_err)?;
    b.set_not_before(&from).map_err(key_err)?;
    b.set_not_after(&until).map_err(key_err)?;
    b.sign(&pkey, MessageDigest::sha256()).map_err(key_err)?;
    let cert = b.build().to_der().map_err(key_err)?;
    Ok((pkey, cert))
}

/// The account's key and certificate (DER), if it has one.
pub async fn key(
    state: &AppState,
    business_id: &str,
) -> Result<Option<(PKey<Private>, Vec<u8>)>, SigningError> {
    let Some((sealed, cert)) = state.db.sp_signing_key(business_id).await? else {
        return Ok(None);
    };
    let der = state.secret.open(&sealed).ok_or_else(|| {
        SigningError::Key("the sealed key does not open with this server key".into())
    })?;
    let pkey = PKey::private_key_from_pkcs8(&der).map_err(key_err)?;
    let cert = STANDARD.decode(cert).map_err(key_err)?;
    Ok(Some((pkey, cert)))
}

/// The account's key, made on first use.
pub async fn ensure_key(
    state: &AppState,
    business_id: &str,
) -> Result<(PKey<Private>, Vec<u8>), SigningError> {
    if let Some(k) = key(state, business_id).await? {
        return Ok(k);
    }
    let cn = crate::integration::sp_urls(state, business_id).entity_id;
    let cn: String = cn.chars().take(64).collect();
    // RSA key generation is CPU work: off the async workers
    let (pkey, cert) = tokio::task::spawn_blocking(move || generate(&cn))
        .await
        .map_err(key_err)??;
    let pkcs8 = pkey.private_key_to_pkcs8().map_err(key_err)?;
    state
        .db
        .set_sp_signing_key(
            business_id,
            &state.secret.seal(&pkcs8),
            &STANDARD.encode(&cert),
        )
        .await?;
    // a concurrent first use may have stored its key first: use what is stored
    key(state, business_id)
        .await?
        .ok_or_else(|| SigningError::Key("the SP key was not stored".into()))
}
