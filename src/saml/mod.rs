//! SAML service-provider side: our SP metadata document per business account, and the
//! fail-closed validation of IdP responses (`validate`, a pure function of its inputs).

pub mod error;
pub mod routes;
pub mod sso;
pub mod validate;

/// SP metadata (SAML 2.0 metadata, `SPSSODescriptor`) telling an IdP our entity ID and
/// Assertion Consumer Service (HTTP-POST binding).
pub fn sp_metadata(entity_id: &str, acs_url: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
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
