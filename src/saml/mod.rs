//! SAML service-provider side: our SP metadata document per business account, and the
//! fail-closed validation of IdP responses (`validate`, a pure function of its inputs).

pub mod attempts;
pub mod error;
pub mod routes;
pub mod signing;
pub mod sso;
pub mod validate;

/// SP metadata (SAML 2.0 metadata, `SPSSODescriptor`) telling an IdP our entity ID and
/// Assertion Consumer Service (HTTP-POST binding); with `signing` (the certificate's DER and
/// whether requests are signed) also our signing certificate.
pub fn sp_metadata(entity_id: &str, acs_url: &str, signing: Option<(&[u8], bool)>) -> String {
    use base64::Engine as _;
    let signed = signing.is_some_and(|(_, on)| on);
    let key = signing
        .map(|(der, _)| {
            format!(
                r#"
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                base64::engine::general_purpose::STANDARD.encode(der)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
        entity = xml_escape(entity_id),
        acs = xml_escape(acs_url)
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sp_metadata_names_our_entity_id_and_acs_and_parses() {
        let xml = sp_metadata(
            "https://sg.example/saml/b1",
            "https://sg.example/saml/b1/acs?x=1&y=2",
            None,
        );
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let root = doc.root_element();
        assert_eq!(
            root.attribute("entityID"),
            Some("https://sg.example/saml/b1")
        );
        let acs = doc
            .descendants()
            .find(|n| n.has_tag_name("AssertionConsumerService"))
            .expect("acs");
        assert_eq!(
            acs.attribute("Location"),
            Some("https://sg.example/saml/b1/acs?x=1&y=2")
        );
    }
}
