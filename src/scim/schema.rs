//! User/Group attribute metadata (RFC 7643 §4, §8.7.1) and the one attribute-path resolver shared by filter, PATCH and projection.

use serde_json::{Map, Value};

use super::filter::AttrPath;

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn schema(self) -> &'static Schema {
        match self {
            Self::User => &USER,
            Self::Group => &GROUP,
        }
    }
}

/// RFC 7643 §2.3 data types (only those our schemas use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    DateTime,
    Reference,
    Binary,
    Complex,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    ReadOnly,
    WriteOnly,
    Immutable,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Default,
    Never,
}

#[derive(Debug)]
pub struct Attr {
    /// Canonical casing; documents are always written with this key.
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub case_exact: bool,
    pub required: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub subs: &'static [Attr],
}

impl Attr {
    const fn new(name: &'static str, ty: AttrType) -> Self {
        Self {
            name,
            ty,
            multi: false,
            case_exact: false,
            required: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            subs: &[],
        }
    }
    const fn exact(self) -> Self {
        Self {
            case_exact: true,
            ..self
        }
    }
    const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }
    const fn read_only(self) -> Self {
        Self {
            mutability: Mutability::ReadOnly,
            ..self
        }
    }
    const fn immutable(self) -> Self {
        Self {
            mutability: Mutability::Immutable,
            ..self
        }
    }
    const fn write_only(self) -> Self {
        Self {
            mutability: Mutability::WriteOnly,
            returned: Returned::Never,
            ..self
        }
    }
    const fn always(self) -> Self {
        Self {
            returned: Returned::Always,
            ..self
        }
    }

    /// Sub-attribute by case-insensitive name (RFC 7644 §3.10).
    pub fn sub(&self, name: &str) -> Option<&'static Attr> {
        find(self.subs, name)
    }

    /// The attribute a bare comparison on a complex attribute targets: RFC 7644 §3.4.2.2
    /// reads `emails eq "x"` / `members eq "x"` as a test of the `value` sub-attribute.
    pub fn value_sub(&self) -> Option<&'static Attr> {
        match self.ty {
            AttrType::Complex => self.sub("value"),
            _ => None,
        }
    }
}

const fn string(name: &'static str) -> Attr {
    Attr::new(name, AttrType::String)
}
const fn boolean(name: &'static str) -> Attr {
    Attr::new(name, AttrType::Boolean)
}
const fn reference(name: &'static str) -> Attr {
    Attr::new(name, AttrType::Reference)
}
const fn complex(name: &'static str, subs: &'static [Attr]) -> Attr {
    Attr {
        subs,
        ..Attr::new(name, AttrType::Complex)
    }
}
const fn multi(name: &'static str, subs: &'static [Attr]) -> Attr {
    Attr {
        multi: true,
        ..complex(name, subs)
    }
}

pub struct Extension {
    pub urn: &'static str,
    pub attrs: &'static [Attr],
}

pub struct Schema {
    pub kind: ResourceKind,
    pub urn: &'static str,
    pub attrs: &'static [Attr],
    pub extensions: &'static [Extension],
}

// RFC 7643 §3.1 common attributes; meta sub-attributes are server-assigned and caseExact.
const ID: Attr = string("id").exact().read_only().always();
const EXTERNAL_ID: Attr = string("externalId").exact();
const META_SUBS: &[Attr] = &[
    string("resourceType").exact().read_only(),
    Attr::new("created", AttrType::DateTime).exact().read_only(),
    Attr::new("lastModified", AttrType::DateTime)
        .exact()
        .read_only(),
    reference("location").exact().read_only(),
    string("version").exact().read_only(),
];
const META: Attr = complex("meta", META_SUBS).read_only();

// RFC 7643 §2.4 default sub-attributes of multi-valued attributes.
const PLURAL_SUBS: &[Attr] = &[
    string("value"),
    string("display"),
    string("type"),
    boolean("primary"),
];
const NAME_SUBS: &[Attr] = &[
    string("formatted"),
    string("familyName"),
    string("givenName"),
    string("middleName"),
    string("honorificPrefix"),
    string("honorificSuffix"),
];
const ADDRESS_SUBS: &[Attr] = &[
    string("formatted"),
    string("streetAddress"),
    string("locality"),
    string("region"),
    string("postalCode"),
    string("country"),
    string("type"),
    boolean("primary"),
];
const PHOTO_SUBS: &[Attr] = &[
    reference("value"),
    string("display"),
    string("type"),
    boolean("primary"),
];
const CERT_SUBS: &[Attr] = &[
    Attr::new("value", AttrType::Binary).exact(),
    string("display"),
    string("type"),
    boolean("primary"),
];
// `value` holds one of our server-assigned ids, which are case-sensitive; RFC 7643 §8.7.1
// says caseExact false for members/groups/manager values, we deliberately compare exactly.
const GROUPS_SUBS: &[Attr] = &[
    string("value").exact().read_only(),
    reference("$ref").read_only(),
    string("display").read_only(),
    string("type").read_only(),
];
const MEMBER_SUBS: &[Attr] = &[
    string("value").exact().immutable(),
    reference("$ref").immutable(),
    string("display"),
    string("type").immutable(),
];
const MANAGER_SUBS: &[Attr] = &[
    string("value").exact(),
    reference("$ref"),
    string("displayName").read_only(),
];

const USER_ATTRS: &[Attr] = &[
    ID,
    EXTERNAL_ID,
    string("userName").required(),
    complex("name", NAME_SUBS),
    string("displayName"),
    string("nickName"),
    reference("profileUrl"),
    string("title"),
    string("userType"),
    string("preferredLanguage"),
    string("locale"),
    string("timezone"),
    boolean("active"),
    string("password").write_only(),
    multi("emails", PLURAL_SUBS),
    multi("phoneNumbers", PLURAL_SUBS),
    multi("ims", PLURAL_SUBS),
    multi("photos", PHOTO_SUBS),
    multi("addresses", ADDRESS_SUBS),
    multi("groups", GROUPS_SUBS).read_only(),
    multi("entitlements", PLURAL_SUBS),
    multi("roles", PLURAL_SUBS),
    multi("x509Certificates", CERT_SUBS),
    META,
];

const ENTERPRISE_ATTRS: &[Attr] = &[
    string("employeeNumber"),
    string("costCenter"),
    string("organization"),
    string("division"),
    string("department"),
    complex("manager", MANAGER_SUBS),
];

const GROUP_ATTRS: &[Attr] = &[
    ID,
    EXTERNAL_ID,
    string("displayName").required(),
    multi("members", MEMBER_SUBS),
    META,
];

static USER: Schema = Schema {
    kind: ResourceKind::User,
    urn: CORE_USER,
    attrs: USER_ATTRS,
    extensions: &[Extension {
        urn: ENTERPRISE_USER,
        attrs: ENTERPRISE_ATTRS,
    }],
};

static GROUP: Schema = Schema {
    kind: ResourceKind::Group,
    urn: CORE_GROUP,
    attrs: GROUP_ATTRS,
    extensions: &[],
};

fn find(attrs: &'static [Attr], name: &str) -> Option<&'static Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// What an attribute path names in a schema.
#[derive(Debug, Clone, Copy)]
pub enum Resolved {
    /// A whole extension object, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    Extension(&'static Extension),
    Attr(AttrRef),
}

#[derive(Debug, Clone, Copy)]
pub struct AttrRef {
    /// `None` for core attributes, which live at the top level of the document.
    pub ext: Option<&'static Extension>,
    pub attr: &'static Attr,
    pub sub: Option<&'static Attr>,
}

impl AttrRef {
    /// The attribute a comparison actually tests (sub-attribute, implicit `value`, or itself).
    pub fn leaf(&self) -> &'static Attr {
        self.sub
            .or_else(|| self.attr.value_sub())
            .unwrap_or(self.attr)
    }
}

impl std::fmt::Debug for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.urn)
    }
}

impl Schema {
    /// Known extension by case-insensitive URN.
    pub fn extension(&self, urn: &str) -> Option<&'static Extension> {
        self.extensions
            .iter()
            .find(|e| e.urn.eq_ignore_ascii_case(urn))
    }

    /// Resolves a parsed path to canonical schema entries. Unqualified names are looked up in
    /// the core schema first and then in the extensions (RFC 7644 §3.10 lets the URN be
    /// omitted when the name is unambiguous).
    pub fn resolve(&self, p: &AttrPath) -> Option<Resolved> {
        let (ext, attr) = match &p.urn {
            Some(urn) => {
                if p.sub.is_none() {
                    if let Some(e) = self.extension(&format!("{urn}:{}", p.name)) {
                        return Some(Resolved::Extension(e));
                    }
                }
                if urn.eq_ignore_ascii_case(self.urn) {
                    (None, find(self.attrs, &p.name)?)
                } else {
                    let e = self.extension(urn)?;
                    (Some(e), find(e.attrs, &p.name)?)
                }
            }
            None => match find(self.attrs, &p.name) {
                Some(a) => (None, a),
                None => self
                    .extensions
                    .iter()
                    .find_map(|e| find(e.attrs, &p.name).map(|a| (Some(e), a)))?,
            },
        };
        let sub = match &p.sub {
            Some(s) => Some(attr.sub(s)?),
            None => None,
        };
        Some(Resolved::Attr(AttrRef { ext, attr, sub }))
    }

    /// Attributes that must be present after a create, replace or patch.
    pub fn check_required(&self, doc: &Map<String, Value>) -> Result<(), super::error::ScimError> {
        for a in self.attrs.iter().filter(|a| a.required) {
            match get_ci(doc, a.name) {
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                _ => {
                    return Err(super::error::ScimError::invalid_value(format!(
                        "{} is required and must be a non-empty string",
                        a.name
                    )))
                }
            }
        }
        Ok(())
    }

    /// RFC 7643 §3: `schemas` lists the core schema and every extension present; empty
    /// extension objects are dropped so they are not rendered.
    pub fn sync_schemas(&self, doc: &mut Map<String, Value>) {
        let mut schemas = vec![Value::from(self.urn)];
        for e in self.extensions {
            match take_ci(doc, e.urn) {
                Some(Value::Object(m)) if !m.is_empty() => {
                    doc.insert(e.urn.into(), Value::Object(m));
                    schemas.push(Value::from(e.urn));
                }
                _ => {}
            }
        }
        take_ci(doc, "schemas");
        doc.insert("schemas".into(), Value::Array(schemas));
    }
}

/// Case-insensitive key lookup (RFC 7644 §3.10: attribute names are case-insensitive).
pub fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

pub(super) fn get_mut_ci<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    m.iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

pub(super) fn take_ci(m: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let actual = m.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    m.remove(&actual)
}

/// Mutable slot for `canonical`, renaming a differently-cased key so writes always use the
/// schema's casing; inserts `default` when absent.
pub(super) fn slot<'a>(
    m: &'a mut Map<String, Value>,
    canonical: &str,
    default: Value,
) -> &'a mut Value {
    let existing = take_ci(m, canonical).unwrap_or(default);
    m.entry(canonical).or_insert(existing)
}

/// The map an attribute lives in: the document itself, or its extension object.
pub(super) fn container<'a>(
    doc: &'a Map<String, Value>,
    ext: Option<&Extension>,
) -> Option<&'a Map<String, Value>> {
    match ext {
        None => Some(doc),
        Some(e) => get_ci(doc, e.urn)?.as_object(),
    }
}

/// Value of a resolved attribute (without descending into a sub-attribute).
pub(super) fn lookup<'a>(doc: &'a Map<String, Value>, r: &AttrRef) -> Option<&'a Value> {
    get_ci(container(doc, r.ext)?, r.attr.name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        input: &'static str,
        want: Option<(
            &'static str,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
        )>,
    }

    #[test]
    fn resolves_paths_canonically() {
        let cases = [
            Case {
                name: "simple",
                input: "DisplayName",
                want: Some(("attr", None, "displayName", None)),
            },
            Case {
                name: "sub",
                input: "name.FAMILYNAME",
                want: Some(("attr", None, "name", Some("familyName"))),
            },
            Case {
                name: "core urn",
                input: "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                want: Some(("attr", None, "userName", None)),
            },
            Case {
                name: "enterprise urn",
                input: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                want: Some(("attr", Some(ENTERPRISE_USER), "department", None)),
            },
            Case {
                name: "enterprise sub",
                input: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                want: Some(("attr", Some(ENTERPRISE_USER), "manager", Some("value"))),
            },
            Case {
                name: "unqualified extension attribute",
                input: "employeeNumber",
                want: Some(("attr", Some(ENTERPRISE_USER), "employeeNumber", None)),
            },
            Case {
                name: "whole extension",
                input: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
                want: Some(("ext", Some(ENTERPRISE_USER), "", None)),
            },
            Case {
                name: "unknown",
                input: "email",
                want: None,
            },
            Case {
                name: "unknown sub",
                input: "name.nickName",
                want: None,
            },
            Case {
                name: "unknown urn",
                input: "urn:example:foo:bar",
                want: None,
            },
        ];
        for c in cases {
            let p = AttrPath::parse(c.input).unwrap();
            let got = USER.resolve(&p).map(|r| match r {
                Resolved::Extension(e) => ("ext", Some(e.urn), "", None),
                Resolved::Attr(a) => (
                    "attr",
                    a.ext.map(|e| e.urn),
                    a.attr.name,
                    a.sub.map(|s| s.name),
                ),
            });
            assert_eq!(got, c.want, "{}", c.name);
        }
    }

    #[test]
    fn sync_schemas_tracks_extensions() {
        let mut doc = serde_json::json!({
            "schemas": ["x"],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"department": "Eng"}
        })
        .as_object()
        .cloned()
        .unwrap();
        USER.sync_schemas(&mut doc);
        assert_eq!(
            Value::Object(doc.clone()),
            serde_json::json!({"schemas": [CORE_USER, ENTERPRISE_USER], ENTERPRISE_USER: {"department": "Eng"}})
        );
        doc.insert(ENTERPRISE_USER.into(), serde_json::json!({}));
        USER.sync_schemas(&mut doc);
        assert_eq!(
            Value::Object(doc),
            serde_json::json!({"schemas": [CORE_USER]})
        );
    }
}
