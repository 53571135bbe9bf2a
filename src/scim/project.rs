//! RFC 7644 §3.4.2.5 `attributes` / `excludedAttributes` projection of rendered resources.

use serde_json::{json, Map, Value};

use super::filter::AttrPath;
use super::schema::{
    self, get_ci, get_mut_ci, take_ci, Attr, AttrRef, Extension, Resolved, ResourceKind, Returned,
    Schema,
};

/// Applies `attributes` (which wins when both are given) or `excludedAttributes` to a
/// rendered resource. Names are comma-separated, case-insensitive, plain, dotted
/// (`name.givenName`), URN-qualified, or a whole extension URN; unknown names are ignored.
/// `id`, `schemas` and `meta.resourceType` are always returned (RFC 7643 §7 "returned:
/// always"), writeOnly attributes (`password`) never.
pub fn project(
    resource: &Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
    kind: ResourceKind,
) -> Value {
    let Some(src) = resource.as_object() else {
        return resource.clone();
    };
    let schema = kind.schema();
    let mut out = match attributes.filter(|a| !a.trim().is_empty()) {
        Some(list) => select(src, &names(schema, list)),
        None => exclude(src, &names(schema, excluded.unwrap_or_default()), schema),
    };
    for a in schema
        .attrs
        .iter()
        .filter(|a| a.returned == Returned::Never)
    {
        take_ci(&mut out, a.name);
    }
    Value::Object(out)
}

fn names(schema: &Schema, list: &str) -> Vec<Resolved> {
    list.split(',')
        .filter(|n| !n.trim().is_empty())
        .filter_map(|n| AttrPath::parse(n).ok())
        .filter_map(|p| schema.resolve(&p))
        .collect()
}

fn select(src: &Map<String, Value>, sels: &[Resolved]) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["schemas", "id"] {
        if let Some(v) = get_ci(src, key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(rt) = get_ci(src, "meta")
        .and_then(Value::as_object)
        .and_then(|m| get_ci(m, "resourceType"))
    {
        out.insert("meta".into(), json!({ "resourceType": rt }));
    }
    // Group requested sub-attributes per attribute so `emails.value,emails.type` keeps
    // both in each element; `None` means the whole attribute.
    let mut plan: Vec<(AttrRef, Option<Vec<&'static Attr>>)> = Vec::new();
    for r in sels.iter().filter_map(|s| match s {
        Resolved::Attr(r) => Some(r),
        Resolved::Extension(_) => None,
    }) {
        let same = |(p, _): &&mut (AttrRef, _)| {
            std::ptr::eq(p.attr, r.attr) && p.ext.map(|e| e.urn) == r.ext.map(|e| e.urn)
        };
        match (plan.iter_mut().find(same), r.sub) {
            (Some((_, Some(subs))), Some(s)) => subs.push(s),
            (Some((_, subs)), None) => *subs = None,
            (Some((_, None)), Some(_)) => {}
            (None, sub) => plan.push((*r, sub.map(|s| vec![s]))),
        }
    }
    for (r, subs) in plan {
        let picked = schema::lookup(src, &r).and_then(|v| match &subs {
            None => Some(v.clone()),
            Some(subs) => keep_subs(v, subs),
        });
        if let (Some(v), Some(dst)) = (picked, dest(&mut out, r.ext)) {
            dst.insert(r.attr.name.into(), v);
        }
    }
    for e in sels.iter().filter_map(|s| match s {
        Resolved::Extension(e) => Some(e),
        Resolved::Attr(_) => None,
    }) {
        if let Some(v) = get_ci(src, e.urn) {
            out.insert(e.urn.into(), v.clone());
        }
    }
    out
}

fn dest<'a>(
    out: &'a mut Map<String, Value>,
    ext: Option<&Extension>,
) -> Option<&'a mut Map<String, Value>> {
    match ext {
        None => Some(out),
        Some(e) => out
            .entry(e.urn)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut(),
    }
}

/// Only the named sub-attributes of a complex value, or of each element of a multi-valued one.
fn keep_subs(v: &Value, subs: &[&Attr]) -> Option<Value> {
    match v {
        Value::Object(o) => {
            let kept: Map<String, Value> = o
                .iter()
                .filter(|(k, _)| subs.iter().any(|s| s.name.eq_ignore_ascii_case(k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(|i| keep_subs(i, subs)).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

fn exclude(src: &Map<String, Value>, sels: &[Resolved], schema: &Schema) -> Map<String, Value> {
    let mut out = src.clone();
    for sel in sels {
        let r = match sel {
            Resolved::Extension(e) => {
                take_ci(&mut out, e.urn);
                continue;
            }
            Resolved::Attr(r) if r.attr.returned == Returned::Always => continue,
            Resolved::Attr(r) => r,
        };
        let c = match r.ext {
            None => &mut out,
            Some(e) => match get_mut_ci(&mut out, e.urn).and_then(Value::as_object_mut) {
                Some(c) => c,
                None => continue,
            },
        };
        match (r.attr.name, r.sub) {
            // RFC 7643 §3.1: meta.resourceType survives any exclusion.
            ("meta", Some(s)) if s.name == "resourceType" => {}
            ("meta", None) => {
                if let Some(Value::Object(m)) = get_mut_ci(c, "meta") {
                    m.retain(|k, _| k.eq_ignore_ascii_case("resourceType"));
                }
            }
            (name, None) => drop(take_ci(c, name)),
            (name, Some(s)) => {
                match get_mut_ci(c, name) {
                    Some(Value::Object(o)) => drop(take_ci(o, s.name)),
                    Some(Value::Array(items)) => {
                        for o in items.iter_mut().filter_map(Value::as_object_mut) {
                            take_ci(o, s.name);
                        }
                        items.retain(|i| i.as_object().is_none_or(|o| !o.is_empty()));
                    }
                    _ => {}
                }
                if get_ci(c, name).is_some_and(is_empty) {
                    take_ci(c, name);
                }
            }
        }
    }
    // An extension whose every attribute was excluded is not rendered as `{}`.
    for e in schema.extensions {
        if get_ci(&out, e.urn).is_some_and(is_empty) {
            take_ci(&mut out, e.urn);
        }
    }
    out
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::scim::schema::{CORE_GROUP, CORE_USER, ENTERPRISE_USER};

    fn user() -> Value {
        json!({
            "schemas": [CORE_USER, ENTERPRISE_USER],
            "id": "u1",
            "externalId": "ext",
            "userName": "alice@example.com",
            "name": {"givenName": "Alice", "familyName": "Nguyen"},
            "displayName": "Alice",
            "active": true,
            "password": "never-returned",
            "emails": [{"type": "work", "value": "a@example.com", "primary": true}, {"type": "home", "value": "h@example.com"}],
            "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z", "location": "https://x/Users/u1"},
            ENTERPRISE_USER: {"department": "Eng", "manager": {"value": "u2"}}
        })
    }

    struct Case {
        name: &'static str,
        input: (Option<&'static str>, Option<&'static str>),
        want: Value,
    }

    #[test]
    fn projects_users() {
        let base = json!({"schemas": [CORE_USER, ENTERPRISE_USER], "id": "u1", "meta": {"resourceType": "User"}});
        let with = |extra: Value| {
            let mut v = base.clone();
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        let mut no_password = user();
        no_password.as_object_mut().unwrap().remove("password");
        let cases = vec![
            Case { name: "nothing requested", input: (None, None), want: no_password.clone() },
            Case { name: "blank attributes", input: (Some(" "), None), want: no_password.clone() },
            Case { name: "attributes=id", input: (Some("id"), None), want: base.clone() },
            Case {
                name: "case-insensitive list",
                input: (Some("USERNAME, Active"), None),
                want: with(json!({"userName": "alice@example.com", "active": true})),
            },
            Case {
                name: "dotted sub-attributes merge",
                input: (Some("name.givenName,emails.value,emails.type"), None),
                want: with(json!({
                    "name": {"givenName": "Alice"},
                    "emails": [{"type": "work", "value": "a@example.com"}, {"type": "home", "value": "h@example.com"}]
                })),
            },
            Case {
                name: "URN-qualified attribute",
                input: (Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None),
                want: with(json!({ENTERPRISE_USER: {"department": "Eng"}})),
            },
            Case {
                name: "whole extension",
                input: (Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"), None),
                want: with(json!({ENTERPRISE_USER: {"department": "Eng", "manager": {"value": "u2"}}})),
            },
            Case {
                name: "password never returned even if asked",
                input: (Some("password,unknownThing"), None),
                want: base.clone(),
            },
            Case {
                name: "attributes wins over excludedAttributes",
                input: (Some("displayName"), Some("displayName")),
                want: with(json!({"displayName": "Alice"})),
            },
            Case {
                name: "exclude attributes and sub-attributes",
                input: (None, Some("emails,name.familyName,externalId,userName")),
                want: json!({
                    "schemas": [CORE_USER, ENTERPRISE_USER], "id": "u1", "name": {"givenName": "Alice"},
                    "displayName": "Alice", "active": true,
                    "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z", "location": "https://x/Users/u1"},
                    ENTERPRISE_USER: {"department": "Eng", "manager": {"value": "u2"}}
                }),
            },
            Case {
                name: "cannot exclude id or meta.resourceType",
                input: (None, Some("id,meta,schemas,emails.primary,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")),
                want: json!({
                    "schemas": [CORE_USER, ENTERPRISE_USER], "id": "u1", "externalId": "ext", "userName": "alice@example.com",
                    "name": {"givenName": "Alice", "familyName": "Nguyen"}, "displayName": "Alice", "active": true,
                    "emails": [{"type": "work", "value": "a@example.com"}, {"type": "home", "value": "h@example.com"}],
                    "meta": {"resourceType": "User"}
                }),
            },
            Case {
                name: "excluding every extension attribute drops the object",
                input: (None, Some("department,manager,name,emails,meta.created,meta.location")),
                want: json!({
                    "schemas": [CORE_USER, ENTERPRISE_USER], "id": "u1", "externalId": "ext", "userName": "alice@example.com",
                    "displayName": "Alice", "active": true, "meta": {"resourceType": "User"}
                }),
            },
        ];
        for c in cases {
            assert_eq!(
                project(&user(), c.input.0, c.input.1, ResourceKind::User),
                c.want,
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn projects_groups() {
        let group = json!({
            "schemas": [CORE_GROUP], "id": "g1", "displayName": "Eng", "externalId": "x",
            "members": [{"value": "u1", "display": "Alice"}], "meta": {"resourceType": "Group"}
        });
        // entra/17: excludedAttributes=members drops the attribute entirely.
        assert_eq!(
            project(&group, None, Some("members"), ResourceKind::Group),
            json!({"schemas": [CORE_GROUP], "id": "g1", "displayName": "Eng", "externalId": "x", "meta": {"resourceType": "Group"}})
        );
        // entra/19: attributes=id.
        assert_eq!(
            project(&group, Some("id"), None, ResourceKind::Group),
            json!({"schemas": [CORE_GROUP], "id": "g1", "meta": {"resourceType": "Group"}})
        );
        assert_eq!(
            project(&group, Some("members.value"), None, ResourceKind::Group)["members"],
            json!([{"value": "u1"}])
        );
        assert_eq!(
            project(&json!("x"), Some("id"), None, ResourceKind::Group),
            json!("x")
        );
    }
}
