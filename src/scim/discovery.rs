//! RFC 7644 §4 discovery: `ServiceProviderConfig`, `ResourceTypes` and `Schemas`, generated
//! from the same schema tables the filter and PATCH engine use, so they cannot disagree.

use super::{
    schema::{
        Attr, AttrType, Mutability, ResourceKind, Returned, CORE_GROUP, CORE_USER, ENTERPRISE_USER,
    },
    service::MAX_RESULTS,
};
use serde_json::{json, Value};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// What this server supports, truthfully: PATCH, filter (up to `MAX_RESULTS`), ETags; no bulk,
/// no sorting, no password change.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/seatgate/seatgate#scim-20",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The bearer token shown once in step 5 of the IdP Integration page.",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    })
}

fn resource_type(base: &str, name: &str, endpoint: &str, schema: &str, ext: Option<&str>) -> Value {
    let mut v = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": endpoint,
        "schema": schema,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")}
    });
    if let Some(ext) = ext {
        v["schemaExtensions"] = json!([{"schema": ext, "required": false}]);
    }
    v
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        resource_type(base, "User", "/Users", CORE_USER, Some(ENTERPRISE_USER)),
        resource_type(base, "Group", "/Groups", CORE_GROUP, None),
    ]
}

fn attr_json(a: &Attr) -> Value {
    let ty = match a.ty {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::DateTime => "dateTime",
        AttrType::Reference => "reference",
        AttrType::Binary => "binary",
        AttrType::Complex => "complex",
    };
    let mutability = match a.mutability {
        Mutability::ReadWrite => "readWrite",
        Mutability::ReadOnly => "readOnly",
        Mutability::WriteOnly => "writeOnly",
        Mutability::Immutable => "immutable",
    };
    let returned = match a.returned {
        Returned::Always => "always",
        Returned::Default => "default",
        Returned::Never => "never",
    };
    let mut v = json!({
        "name": a.name,
        "type": ty,
        "multiValued": a.multi,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": if a.name == "userName" || a.name == "id" { "server" } else { "none" },
    });
    if !a.subs.is_empty() {
        v["subAttributes"] = Value::Array(a.subs.iter().map(attr_json).collect());
    }
    v
}

fn schema_json(base: &str, id: &str, name: &str, attrs: &[Attr]) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "attributes": attrs.iter().filter(|a| a.name != "id" && a.name != "meta").map(attr_json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}
    })
}

pub fn schemas(base: &str) -> Vec<Value> {
    let user = ResourceKind::User.schema();
    let group = ResourceKind::Group.schema();
    let mut out = vec![
        schema_json(base, CORE_USER, "User", user.attrs),
        schema_json(base, CORE_GROUP, "Group", group.attrs),
    ];
    for ext in user.extensions {
        out.push(schema_json(base, ext.urn, "EnterpriseUser", ext.attrs));
    }
    out
}
