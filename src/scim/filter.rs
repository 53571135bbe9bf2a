//! RFC 7644 §3.4.2.2 filters: parser, PATCH `path` parser (§3.5.2) and evaluation over resource documents.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

use super::error::ScimError;
use super::schema::{self, Attr, AttrType, Resolved, Schema};

/// Longer filters are refused outright; no IdP sends anything close.
pub const MAX_FILTER_LEN: usize = 4096;
/// Maximum nesting of parentheses, `not (…)` and value filters.
pub const MAX_DEPTH: usize = 32;

/// `[urn ":"] name ["." sub]` as written (original casing kept for messages; every
/// comparison against schema or document keys is case-insensitive, RFC 7644 §3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses a bare attribute path such as `name.familyName` or
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        Self::from_word(s.trim()).map_err(ScimError::invalid_path)
    }

    /// True when this names top-level attribute `name` with no sub-attribute (URN not checked).
    pub fn is(&self, name: &str) -> bool {
        self.sub.is_none() && self.name.eq_ignore_ascii_case(name)
    }

    fn from_word(word: &str) -> Result<Self, String> {
        // RFC 7644 §3.10: the URN is everything before the last ':'; attribute names never
        // contain ':' while URNs may contain '.', as in "…:enterprise:2.0:User:name.familyName".
        let (urn, rest) = match word.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("urn:") => match word.rfind(':') {
                Some(i) => (Some(word[..i].to_string()), &word[i + 1..]),
                None => (None, word),
            },
            _ => (None, word),
        };
        let mut parts = rest.split('.');
        let name = parts.next().unwrap_or_default();
        let sub = parts.next();
        if parts.next().is_some() {
            return Err(format!("'{word}' nests sub-attributes more than one level"));
        }
        check_name(name)?;
        if let Some(s) = sub {
            check_name(s)?;
        }
        Ok(Self {
            urn,
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }
}

/// RFC 7644 §3.10 ATTRNAME = ALPHA *(nameChar); `$ref` is the one reserved exception.
fn check_name(n: &str) -> Result<(), String> {
    let mut chars = n.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(())
    } else {
        Err(format!("invalid attribute name '{n}'"))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    const ALL: [Self; 9] = [
        Self::Eq,
        Self::Ne,
        Self::Co,
        Self::Sw,
        Self::Ew,
        Self::Gt,
        Self::Ge,
        Self::Lt,
        Self::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(word))
    }

    fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }

    fn is_substring(self) -> bool {
        matches!(self, Self::Co | Self::Sw | Self::Ew)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

/// RFC 7644 §3.5.2 `PATH = attrPath / valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Parses a filter expression; every failure is `400 invalidFilter` naming the position.
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    if input.chars().count() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter(format!(
            "filter is longer than {MAX_FILTER_LEN} characters"
        )));
    }
    if input.trim().is_empty() {
        return Err(ScimError::invalid_filter("filter is empty"));
    }
    let mut p = Parser::new(input);
    p.expression()
        .and_then(|f| p.finish().map(|()| f))
        .map_err(ScimError::invalid_filter)
}

/// Parses a PATCH operation `path`; every failure is `400 invalidPath`.
pub fn parse_path(input: &str) -> Result<PatchPath, ScimError> {
    let fail = |e: String| ScimError::invalid_path(format!("invalid path '{input}': {e}"));
    if input.chars().count() > MAX_FILTER_LEN {
        return Err(fail(format!("longer than {MAX_FILTER_LEN} characters")));
    }
    let mut p = Parser::new(input.trim());
    let word = p.word();
    if word.is_empty() {
        return Err(fail(p.located("expected an attribute name")));
    }
    let attr = AttrPath::from_word(word).map_err(fail)?;
    let (mut filter, mut sub) = (None, None);
    if p.peek() == Some('[') {
        if attr.sub.is_some() {
            return Err(fail(
                "a value filter must follow a top-level attribute".into(),
            ));
        }
        filter = Some(p.value_filter().map_err(fail)?);
        if p.peek() == Some('.') {
            p.bump();
            let w = p.word();
            check_name(w).map_err(fail)?;
            sub = Some(w.to_string());
        }
    }
    p.finish().map_err(fail)?;
    Ok(PatchPath { attr, filter, sub })
}

/// Recursive-descent parser over the raw text; errors are plain details, wrapped by callers
/// into invalidFilter or invalidPath.
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    in_value_path: bool,
}

type PResult<T> = Result<T, String>;

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '$')
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            depth: 0,
            in_value_path: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn located(&self, msg: impl fmt::Display) -> String {
        format!(
            "{msg} at position {}",
            self.src[..self.pos].chars().count() + 1
        )
    }

    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_word_char) {
            self.bump();
        }
        &self.src[start..self.pos]
    }

    /// Consumes `kw` (case-insensitive, RFC 7644 §3.4.2.2) if it is the next whole word.
    fn keyword(&mut self, kw: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.word().eq_ignore_ascii_case(kw) {
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn expect(&mut self, c: char) -> PResult<()> {
        self.skip_ws();
        match self.peek() {
            Some(found) if found == c => {
                self.bump();
                Ok(())
            }
            Some(found) => Err(self.located(format!("expected '{c}', found '{found}'"))),
            None => Err(self.located(format!("expected '{c}', found end of input"))),
        }
    }

    fn finish(&mut self) -> PResult<()> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(self.located(format!("unexpected '{c}'"))),
        }
    }

    fn nested<T>(&mut self, close: char, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.bump();
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.located(format!("nesting deeper than {MAX_DEPTH}")));
        }
        let out = f(self)?;
        self.expect(close)?;
        self.depth -= 1;
        Ok(out)
    }

    // RFC 7644 §3.4.2.2: "and" binds tighter than "or".
    fn expression(&mut self) -> PResult<Filter> {
        let mut left = self.conjunction()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.conjunction()?));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> PResult<Filter> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Filter> {
        self.skip_ws();
        if self.keyword("not") {
            self.skip_ws();
            if self.peek() != Some('(') {
                return Err(self.located("expected '(' after 'not'"));
            }
            let inner = self.nested(')', Self::expression)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some('(') {
            return self.nested(')', Self::expression);
        }
        self.attr_expr()
    }

    fn value_filter(&mut self) -> PResult<Filter> {
        if self.in_value_path {
            return Err(self.located("value filters cannot be nested"));
        }
        self.in_value_path = true;
        let f = self.nested(']', Self::expression);
        self.in_value_path = false;
        f
    }

    fn attr_expr(&mut self) -> PResult<Filter> {
        let word = self.word();
        if word.is_empty() {
            return Err(match self.peek() {
                Some(c) => self.located(format!("expected an attribute path, found '{c}'")),
                None => self.located("expected an attribute path, found end of input"),
            });
        }
        let path = AttrPath::from_word(word).map_err(|e| self.located(e))?;
        if self.peek() == Some('[') {
            if path.sub.is_some() {
                return Err(self.located("a value filter must follow a top-level attribute"));
            }
            let filter = Box::new(self.value_filter()?);
            return Ok(Filter::ValuePath { attr: path, filter });
        }
        self.skip_ws();
        let op_start = self.pos;
        let op_word = self.word();
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(op_word) else {
            self.pos = op_start;
            return Err(if op_word.is_empty() {
                self.located(format!("expected an operator after '{path}'"))
            } else {
                self.located(format!("unknown operator '{op_word}'"))
            });
        };
        self.skip_ws();
        let value_start = self.pos;
        let value = self.comp_value()?;
        // RFC 7644 §3.4.2.2: ordering on booleans is an error; substring operators need a string.
        let bad = match value {
            CompValue::Bool(_) | CompValue::Null => op.is_ordering() || op.is_substring(),
            CompValue::Num(_) => op.is_substring(),
            CompValue::Str(_) => false,
        };
        if bad {
            self.pos = value_start;
            return Err(self.located(format!(
                "operator '{}' cannot take this kind of value",
                op.as_str()
            )));
        }
        Ok(Filter::Compare { path, op, value })
    }

    fn comp_value(&mut self) -> PResult<CompValue> {
        let start = self.pos;
        match self.peek() {
            None => Err(self.located("expected a comparison value, found end of input")),
            Some('"') => self.string(),
            Some(_) => {
                while self
                    .peek()
                    .is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']'))
                {
                    self.bump();
                }
                let tok = &self.src[start..self.pos];
                match tok.to_ascii_lowercase().as_str() {
                    "true" => Ok(CompValue::Bool(true)),
                    "false" => Ok(CompValue::Bool(false)),
                    "null" => Ok(CompValue::Null),
                    _ => serde_json::from_str::<Number>(tok)
                        .map(CompValue::Num)
                        .map_err(|_| {
                            self.pos = start;
                            self.located(format!(
                                "invalid comparison value '{tok}' (strings must be quoted)"
                            ))
                        }),
                }
            }
        }
    }

    /// A JSON string literal (RFC 7644 §3.4.2.2 compValue uses RFC 7159 strings).
    fn string(&mut self) -> PResult<CompValue> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err(self.located("unterminated string")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let lit = &self.src[start..=i];
        let s = serde_json::from_str::<String>(lit)
            .map_err(|e| self.located(format!("invalid string literal: {e}")))?;
        self.pos = i + 1;
        Ok(CompValue::Str(s))
    }
}

/// Where attribute names are looked up: a whole resource, or one element of a multi-valued
/// complex attribute inside a value filter.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a Map<String, Value>, &'a Schema),
    Element(&'a Value, &'static Attr),
}

impl<'a> Scope<'a> {
    /// The attribute a path finally tests, or `None` when the path names nothing here.
    fn leaf(self, p: &AttrPath) -> Option<&'static Attr> {
        match self {
            Scope::Resource(_, schema) => match schema.resolve(p)? {
                Resolved::Attr(r) => Some(r.leaf()),
                Resolved::Extension(_) => None,
            },
            Scope::Element(_, attr) if p.urn.is_none() && p.sub.is_none() => attr.sub(&p.name),
            Scope::Element(..) => None,
        }
    }

    /// All values a path yields (RFC 7644 §3.4.2.2: multi-valued attributes match when any
    /// value does), with the attribute that governs their comparison.
    fn values(self, p: &AttrPath) -> Option<(Vec<&'a Value>, &'static Attr)> {
        match self {
            Scope::Resource(doc, schema) => {
                let Resolved::Attr(r) = schema.resolve(p)? else {
                    return None;
                };
                let leaf = r.leaf();
                let descend = !std::ptr::eq(leaf, r.attr);
                let items: Vec<&Value> = match schema::lookup(doc, &r) {
                    None => vec![],
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(v) => vec![v],
                };
                let vals = items
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::Object(o) if descend => schema::get_ci(o, leaf.name),
                        v if !descend => Some(v),
                        _ => None,
                    })
                    .collect();
                Some((vals, leaf))
            }
            Scope::Element(elem, _) => {
                let sub = self.leaf(p)?;
                let v = elem.as_object().and_then(|o| schema::get_ci(o, sub.name));
                Some((v.into_iter().collect(), sub))
            }
        }
    }
}

/// RFC 7644 §3.4.2.2 `pr`: has a non-empty value.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

fn holds(op: CompareOp, vals: &[&Value], want: &CompValue, exact: bool) -> bool {
    match (op, want) {
        (CompareOp::Eq, CompValue::Null) => !vals.iter().any(|v| is_present(v)),
        // `ne` is the negation of `eq` over the whole attribute, so an absent attribute is
        // "not equal" and `emails.value ne "x"` means no e-mail is "x".
        (CompareOp::Ne, _) => !holds(CompareOp::Eq, vals, want, exact),
        _ => vals.iter().any(|v| compare(op, v, want, exact)),
    }
}

fn compare(op: CompareOp, actual: &Value, want: &CompValue, exact: bool) -> bool {
    let ord = match (actual, want) {
        (Value::String(a), CompValue::Str(b)) => {
            // RFC 7643 §2.2 caseExact; ordering is lexicographic, which is also correct for
            // meta.created/lastModified because we render fixed-width UTC "YYYY-MM-DDTHH:MM:SSZ".
            let (a, b): (Cow<str>, Cow<str>) = if exact {
                (a.into(), b.into())
            } else {
                (a.to_lowercase().into(), b.to_lowercase().into())
            };
            match op {
                CompareOp::Co => return a.contains(&*b),
                CompareOp::Sw => return a.starts_with(&*b),
                CompareOp::Ew => return a.ends_with(&*b),
                _ => Some(a.cmp(&b)),
            }
        }
        (Value::Bool(a), CompValue::Bool(b)) if op == CompareOp::Eq => return a == b,
        (Value::Number(a), CompValue::Num(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(x, y)| x.partial_cmp(&y)),
        },
        _ => None,
    };
    match (op, ord) {
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        _ => false,
    }
}

impl Filter {
    /// Evaluates the filter over a resource document as the server renders it (core
    /// attributes at the top level, extension attributes under their URN key). Unknown
    /// attributes match nothing; call [`Filter::validate`] first to turn them into a 400.
    pub fn matches(&self, resource: &Value, schema: &Schema) -> bool {
        resource
            .as_object()
            .is_some_and(|doc| self.eval(Scope::Resource(doc, schema)))
    }

    /// Evaluates a value filter against one element of multi-valued `attr`.
    pub fn matches_element(&self, elem: &Value, attr: &'static Attr) -> bool {
        self.eval(Scope::Element(elem, attr))
    }

    fn eval(&self, scope: Scope<'_>) -> bool {
        match self {
            Filter::And(a, b) => a.eval(scope) && b.eval(scope),
            Filter::Or(a, b) => a.eval(scope) || b.eval(scope),
            Filter::Not(f) => !f.eval(scope),
            Filter::Present(p) => scope
                .values(p)
                .is_some_and(|(vals, _)| vals.iter().any(|v| is_present(v))),
            Filter::Compare { path, op, value } => scope
                .values(path)
                .is_some_and(|(vals, leaf)| holds(*op, &vals, value, leaf.case_exact)),
            Filter::ValuePath { attr, filter } => {
                let Scope::Resource(doc, schema) = scope else {
                    return false;
                };
                let Some(Resolved::Attr(r)) = schema.resolve(attr) else {
                    return false;
                };
                match schema::lookup(doc, &r) {
                    Some(Value::Array(items)) => {
                        items.iter().any(|e| filter.matches_element(e, r.attr))
                    }
                    Some(v @ Value::Object(_)) => filter.matches_element(v, r.attr),
                    _ => false,
                }
            }
        }
    }

    /// Refuses filters naming attributes the schema does not define (which would otherwise
    /// silently match nothing), comparisons on complex attributes, and RFC 7644 §3.4.2.2
    /// ordering/substring operators on booleans.
    pub fn validate(&self, schema: &Schema) -> Result<(), ScimError> {
        let empty = Map::new();
        self.check(Scope::Resource(&empty, schema))
            .map_err(ScimError::invalid_filter)
    }

    /// [`Filter::validate`] for a value filter whose names are sub-attributes of `attr`.
    pub fn validate_in(&self, attr: &'static Attr) -> Result<(), ScimError> {
        self.check(Scope::Element(&Value::Null, attr))
            .map_err(ScimError::invalid_filter)
    }

    fn check(&self, scope: Scope<'_>) -> PResult<()> {
        let leaf = |p: &AttrPath| {
            scope
                .leaf(p)
                .ok_or_else(|| format!("unknown attribute '{p}'"))
        };
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.check(scope).and_then(|()| b.check(scope)),
            Filter::Not(f) => f.check(scope),
            Filter::Present(p) => leaf(p).map(drop),
            Filter::Compare { path, op, .. } => match leaf(path)?.ty {
                AttrType::Complex => Err(format!(
                    "'{path}' is complex; compare one of its sub-attributes"
                )),
                AttrType::Boolean | AttrType::Binary
                    if *op != CompareOp::Eq && *op != CompareOp::Ne =>
                {
                    Err(format!(
                        "operator '{}' is not allowed on '{path}'",
                        op.as_str()
                    ))
                }
                _ => Ok(()),
            },
            Filter::ValuePath { attr, filter } => {
                let Scope::Resource(_, schema) = scope else {
                    return Err("value filters cannot be nested".into());
                };
                match schema.resolve(attr) {
                    Some(Resolved::Attr(r))
                        if r.attr.ty == AttrType::Complex && r.sub.is_none() =>
                    {
                        filter.check(Scope::Element(&Value::Null, r.attr))
                    }
                    _ => Err(format!("'{attr}' does not take a value filter")),
                }
            }
        }
    }

    /// `attr eq "string"`: the shape a store can answer from an index (`userName`,
    /// `externalId`, `displayName`, `id`).
    pub fn simple_eq(&self) -> Option<(&AttrPath, &str)> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::Str(s),
            } => Some((path, s)),
            _ => None,
        }
    }

    /// `X[value eq "v"]`, `X.value eq "v"` or `X eq "v"` (RFC 7644 §3.4.2.2 reads the last as
    /// a test of `X.value`): returns X's name as written and "v". Callers check the name,
    /// e.g. `members` for Entra's membership check.
    pub fn value_eq(&self) -> Option<(&str, &str)> {
        match self {
            Filter::ValuePath { attr, filter } if attr.sub.is_none() => {
                let (p, v) = filter.simple_eq()?;
                (p.urn.is_none() && p.is("value")).then_some((attr.name.as_str(), v))
            }
            _ => {
                let (p, v) = self.simple_eq()?;
                match &p.sub {
                    Some(s) if !s.eq_ignore_ascii_case("value") => None,
                    _ => Some((p.name.as_str(), v)),
                }
            }
        }
    }

    /// The operands of a top-level chain of `and`s (a single filter yields itself).
    pub fn conjuncts(&self) -> Vec<&Filter> {
        let mut out = Vec::new();
        self.flatten(&mut out, |f| match f {
            Filter::And(a, b) => Some((a.as_ref(), b.as_ref())),
            _ => None,
        });
        out
    }

    /// The operands of a top-level chain of `or`s.
    pub fn disjuncts(&self) -> Vec<&Filter> {
        let mut out = Vec::new();
        self.flatten(&mut out, |f| match f {
            Filter::Or(a, b) => Some((a.as_ref(), b.as_ref())),
            _ => None,
        });
        out
    }

    fn flatten<'s>(
        &'s self,
        out: &mut Vec<&'s Filter>,
        split: fn(&Filter) -> Option<(&Filter, &Filter)>,
    ) {
        match split(self) {
            Some((a, b)) => {
                a.flatten(out, split);
                b.flatten(out, split);
            }
            None => out.push(self),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::scim::schema::ResourceKind;
    use serde_json::json;

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }
    fn cmp(p: &str, op: CompareOp, v: CompValue) -> Filter {
        Filter::Compare {
            path: path(p),
            op,
            value: v,
        }
    }
    fn s(v: &str) -> CompValue {
        CompValue::Str(v.into())
    }
    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }
    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }

    struct Case {
        name: &'static str,
        input: &'static str,
        want: Filter,
    }

    #[test]
    fn parses_valid_filters() {
        use CompareOp::*;
        let cases = vec![
            Case {
                name: "eq",
                input: r#"userName eq "bjensen""#,
                want: cmp("userName", Eq, s("bjensen")),
            },
            Case {
                name: "PingOne capital Eq",
                input: r#"username Eq "alice@example.com""#,
                want: cmp("username", Eq, s("alice@example.com")),
            },
            Case {
                name: "upper EQ",
                input: r#"userName EQ "x""#,
                want: cmp("userName", Eq, s("x")),
            },
            Case {
                name: "Entra externalId",
                input: r#"externalId eq "alice.nguyen""#,
                want: cmp("externalId", Eq, s("alice.nguyen")),
            },
            Case {
                name: "ne",
                input: r#"title ne "x""#,
                want: cmp("title", Ne, s("x")),
            },
            Case {
                name: "co",
                input: r#"name.familyName co "O'Malley""#,
                want: cmp("name.familyName", Co, s("O'Malley")),
            },
            Case {
                name: "sw",
                input: r#"userName sw "J""#,
                want: cmp("userName", Sw, s("J")),
            },
            Case {
                name: "ew",
                input: r#"userName ew "@example.com""#,
                want: cmp("userName", Ew, s("@example.com")),
            },
            Case {
                name: "gt timestamp",
                input: r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
                want: cmp("meta.lastModified", Gt, s("2011-05-13T04:42:34Z")),
            },
            Case {
                name: "ge number",
                input: "x ge 10",
                want: cmp("x", Ge, CompValue::Num(10.into())),
            },
            Case {
                name: "lt negative float",
                input: "x lt -1.5e3",
                want: cmp("x", Lt, CompValue::Num(Number::from_f64(-1500.0).unwrap())),
            },
            Case {
                name: "le",
                input: r#"x le "b""#,
                want: cmp("x", Le, s("b")),
            },
            Case {
                name: "pr",
                input: "title pr",
                want: Filter::Present(path("title")),
            },
            Case {
                name: "PR upper",
                input: "title PR",
                want: Filter::Present(path("title")),
            },
            Case {
                name: "bool",
                input: "active eq TRUE",
                want: cmp("active", Eq, CompValue::Bool(true)),
            },
            Case {
                name: "false",
                input: "active eq false",
                want: cmp("active", Eq, CompValue::Bool(false)),
            },
            Case {
                name: "null",
                input: "title eq null",
                want: cmp("title", Eq, CompValue::Null),
            },
            Case {
                name: "escapes",
                input: r#"displayName eq "a\"b\\c\u00e9""#,
                want: cmp("displayName", Eq, s("a\"b\\cé")),
            },
            Case {
                name: "and binds tighter than or",
                input: r#"a pr or b pr and c pr"#,
                want: or(
                    Filter::Present(path("a")),
                    and(Filter::Present(path("b")), Filter::Present(path("c"))),
                ),
            },
            Case {
                name: "AND/OR upper",
                input: r#"a pr AND b pr OR c pr"#,
                want: or(
                    and(Filter::Present(path("a")), Filter::Present(path("b"))),
                    Filter::Present(path("c")),
                ),
            },
            Case {
                name: "parentheses",
                input: r#"(a pr or b pr) and c pr"#,
                want: and(
                    or(Filter::Present(path("a")), Filter::Present(path("b"))),
                    Filter::Present(path("c")),
                ),
            },
            Case {
                name: "not",
                input: r#"not (a pr) and not(b eq "x")"#,
                want: and(
                    Filter::Not(Box::new(Filter::Present(path("a")))),
                    Filter::Not(Box::new(cmp("b", Eq, s("x")))),
                ),
            },
            Case {
                name: "value path",
                input: r#"emails[type eq "work" and value co "@example.com"]"#,
                want: Filter::ValuePath {
                    attr: path("emails"),
                    filter: Box::new(and(
                        cmp("type", Eq, s("work")),
                        cmp("value", Co, s("@example.com")),
                    )),
                },
            },
            Case {
                name: "members value path",
                input: r#"members[value eq "abc"]"#,
                want: Filter::ValuePath {
                    attr: path("members"),
                    filter: Box::new(cmp("value", Eq, s("abc"))),
                },
            },
            Case {
                name: "Entra membership check",
                input: r#"id eq "G" and members[value eq "U"]"#,
                want: and(
                    cmp("id", Eq, s("G")),
                    Filter::ValuePath {
                        attr: path("members"),
                        filter: Box::new(cmp("value", Eq, s("U"))),
                    },
                ),
            },
            Case {
                name: "core urn",
                input: r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
                want: Filter::Compare {
                    path: AttrPath {
                        urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                        name: "userName".into(),
                        sub: None,
                    },
                    op: Sw,
                    value: s("J"),
                },
            },
            Case {
                name: "enterprise urn with sub",
                input: r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "b""#,
                want: Filter::Compare {
                    path: AttrPath {
                        urn: Some(
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into(),
                        ),
                        name: "manager".into(),
                        sub: Some("value".into()),
                    },
                    op: Eq,
                    value: s("b"),
                },
            },
            Case {
                name: "extra whitespace",
                input: "  title   pr  ",
                want: Filter::Present(path("title")),
            },
        ];
        for c in cases {
            assert_eq!(
                parse(c.input).unwrap_or_else(|e| panic!("{}: {e}", c.name)),
                c.want,
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn rejects_invalid_filters() {
        let deep = format!("{}a pr{}", "(".repeat(33), ")".repeat(33));
        let ok_deep = format!("{}a pr{}", "(".repeat(32), ")".repeat(32));
        assert!(parse(&ok_deep).is_ok());
        let long = format!(r#"userName eq "{}""#, "x".repeat(4100));
        let cases: Vec<(&str, &str, &str)> = vec![
            ("empty", "", "empty"),
            ("blank", "   ", "empty"),
            (
                "unknown operator",
                r#"userName like "x""#,
                "unknown operator 'like' at position 10",
            ),
            ("missing operator", "userName", "expected an operator"),
            (
                "trailing garbage",
                r#"userName eq "x" foo"#,
                "unexpected 'f' at position 17",
            ),
            ("trailing paren", r#"userName eq "x")"#, "unexpected ')'"),
            (
                "unterminated string",
                r#"userName eq "x"#,
                "unterminated string at position 13",
            ),
            (
                "unquoted string",
                "userName eq bob",
                "strings must be quoted",
            ),
            ("gt boolean", "active gt true", "cannot take"),
            ("lt null", "title lt null", "cannot take"),
            ("co number", "title co 1", "cannot take"),
            ("missing value", "title eq", "end of input"),
            ("unclosed paren", "(title pr", "expected ')'"),
            ("not without paren", "not title pr", "expected '('"),
            (
                "nested value path",
                r#"emails[type[value eq "x"]]"#,
                "cannot be nested",
            ),
            (
                "value path sub",
                r#"emails[type eq "work"].value eq "x""#,
                "unexpected '.'",
            ),
            ("bad name", r#"1abc eq "x""#, "invalid attribute name"),
            ("too deep", deep.as_str(), "nesting deeper than 32"),
            ("too long", long.as_str(), "longer than 4096"),
            ("dangling and", "title pr and", "expected an attribute path"),
            ("bad escape", r#"title eq "\q""#, "invalid string literal"),
        ];
        for (name, input, want) in cases {
            let err = parse(input).expect_err(name);
            assert_eq!(
                err.scim_type,
                Some(crate::scim::error::ScimType::InvalidFilter),
                "{name}"
            );
            assert!(
                err.detail.contains(want),
                "{name}: {:?} lacks {want:?}",
                err.detail
            );
        }
    }

    #[test]
    fn parses_patch_paths() {
        let p = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attr, path("emails"));
        assert_eq!(p.filter, Some(cmp("type", CompareOp::Eq, s("work"))));
        assert_eq!(p.sub.as_deref(), Some("value"));
        let p = parse_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
            .unwrap();
        assert_eq!(
            p.attr.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.attr.name, "manager");
        for bad in [
            "",
            "emails[",
            "emails[type eq \"w\"",
            "a.b.c",
            "emails[type eq \"w\"]x",
            "name.familyName[x pr]",
            "a b",
        ] {
            let err = parse_path(bad).expect_err(bad);
            assert_eq!(
                err.scim_type,
                Some(crate::scim::error::ScimType::InvalidPath),
                "{bad}"
            );
        }
    }

    fn alice() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "Alice.N",
            "userName": "Alice.Nguyen@Example.com",
            "name": {"givenName": "Alice", "familyName": "Nguyen"},
            "displayName": "Alice Nguyen",
            "title": "",
            "active": true,
            "emails": [
                {"type": "work", "value": "alice@example.com", "primary": true},
                {"type": "home", "value": "alice@home.example"}
            ],
            "meta": {"resourceType": "User", "created": "2024-01-02T03:04:05Z", "lastModified": "2024-06-01T00:00:00Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering", "manager": {"value": "bob-id"}}
        })
    }

    #[test]
    fn matches_resources() {
        let user = alice();
        let schema = ResourceKind::User.schema();
        let cases: Vec<(&str, &str, bool)> = vec![
            (
                "userName case-insensitive",
                r#"userName eq "alice.nguyen@example.com""#,
                true,
            ),
            (
                "attribute name case-insensitive",
                r#"USERNAME Eq "ALICE.NGUYEN@EXAMPLE.COM""#,
                true,
            ),
            ("externalId caseExact", r#"externalId eq "alice.n""#, false),
            ("externalId exact match", r#"externalId eq "Alice.N""#, true),
            (
                "id caseExact",
                r#"id eq "2819C223-7F76-453A-919D-413861904646""#,
                false,
            ),
            (
                "multi-valued any",
                r#"emails.value eq "ALICE@HOME.EXAMPLE""#,
                true,
            ),
            (
                "bare multi-valued compares value",
                r#"emails eq "alice@example.com""#,
                true,
            ),
            (
                "value path",
                r#"emails[type eq "work" and value ew "example.com"]"#,
                true,
            ),
            (
                "value path mismatch",
                r#"emails[type eq "home" and primary eq true]"#,
                false,
            ),
            (
                "ne over all values",
                r#"emails.value ne "alice@example.com""#,
                false,
            ),
            ("ne absent", r#"nickName ne "x""#, true),
            ("pr", "name.givenName pr", true),
            ("pr empty string", "title pr", false),
            ("pr absent", "nickName pr", false),
            ("eq null absent", "nickName eq null", true),
            ("boolean", "active eq true", true),
            ("sw", r#"displayName sw "ali""#, true),
            ("co", r#"name.familyName co "GUY""#, true),
            (
                "gt timestamp",
                r#"meta.lastModified gt "2024-05-31T23:59:59Z""#,
                true,
            ),
            (
                "lt timestamp",
                r#"meta.created lt "2024-01-01T00:00:00Z""#,
                false,
            ),
            ("string ordering", r#"displayName ge "alice""#, true),
            (
                "enterprise urn",
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engineering""#,
                true,
            ),
            (
                "enterprise unqualified",
                r#"department eq "Engineering""#,
                true,
            ),
            (
                "manager value",
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "bob-id""#,
                true,
            ),
            (
                "precedence",
                r#"title pr or active eq true and displayName sw "x""#,
                false,
            ),
            (
                "parens",
                r#"(title pr or active eq true) and displayName sw "a""#,
                true,
            ),
            ("not", r#"not (active eq false)"#, true),
            ("unknown attribute", r#"email co "alice""#, false),
            ("type mismatch", r#"active eq "true""#, false),
        ];
        for (name, f, want) in cases {
            assert_eq!(parse(f).unwrap().matches(&user, schema), want, "{name}");
        }
    }

    #[test]
    fn matches_groups_and_numbers() {
        let group = json!({"id": "G1", "displayName": "Eng", "members": [{"value": "U1"}, {"value": "U2"}]});
        let schema = ResourceKind::Group.schema();
        for (f, want) in [
            (r#"members eq "U2""#, true),
            (r#"members.value eq "u2""#, false),
            (r#"members[value eq "U1"]"#, true),
            (r#"id eq "G1" and members[value eq "U3"]"#, false),
        ] {
            assert_eq!(parse(f).unwrap().matches(&group, schema), want, "{f}");
        }
        let doc = json!({"n": 10});
        let f = parse("n gt 9.5").unwrap();
        assert!(compare(
            CompareOp::Gt,
            &doc["n"],
            &CompValue::Num(Number::from_f64(9.5).unwrap()),
            false
        ));
        assert!(!f.matches(&doc, schema), "unknown attributes never match");
    }

    #[test]
    fn validates_against_schema() {
        let user = ResourceKind::User.schema();
        for (f, ok) in [
            (r#"userName eq "x""#, true),
            (r#"emails[type eq "work"]"#, true),
            (r#"email co "x""#, false),
            (r#"name eq "x""#, false),
            (r#"active gt "x""#, false),
            (r#"active sw "t""#, false),
            (r#"emails[bogus eq "x"]"#, false),
            (r#"userName[value eq "x"]"#, false),
            (r#"meta.created gt "2020-01-01T00:00:00Z""#, true),
        ] {
            assert_eq!(parse(f).unwrap().validate(user).is_ok(), ok, "{f}");
        }
    }

    #[test]
    fn fixture_filters() {
        use crate::scim::schema::ResourceKind::{Group, User};
        let alice = json!({"id": "A1", "userName": "alice.nguyen@example.com", "externalId": "alice.nguyen"});
        let group = json!({"id": "G1", "displayName": "Parallels Desktop Users", "members": [{"value": "A1"}]});
        // Every filter in /work/shared/fixtures/scim, with the resource it must (not) find.
        let cases = [
            (
                "entra/01",
                User,
                r#"userName eq "7c9e6679-7425-40de-944b-e07fc1f90ae7""#,
                &alice,
                false,
            ),
            (
                "entra/02",
                Group,
                r#"displayName eq "0f8fad5b-d9cb-469f-a165-70867728950e""#,
                &group,
                false,
            ),
            (
                "entra/05",
                User,
                r#"userName eq "alice.nguyen@example.com""#,
                &alice,
                true,
            ),
            (
                "entra/07 case",
                User,
                r#"userName eq "Alice.Nguyen@Example.com""#,
                &alice,
                true,
            ),
            (
                "entra/08",
                User,
                r#"externalId eq "alice.nguyen""#,
                &alice,
                true,
            ),
            (
                "entra/15",
                Group,
                r#"displayName eq "Parallels Desktop Users""#,
                &group,
                true,
            ),
            (
                "entra/19",
                Group,
                r#"id eq "G1" and members eq "A1""#,
                &group,
                true,
            ),
            (
                "entra/19 non-member",
                Group,
                r#"id eq "G1" and members eq "B2""#,
                &group,
                false,
            ),
            (
                "entra/27",
                Group,
                r#"displayName eq "Parallels Desktop Engineering""#,
                &group,
                false,
            ),
            (
                "pingone/01",
                User,
                r#"username Eq "alice.nguyen@example.com""#,
                &alice,
                true,
            ),
            (
                "pingone/08",
                User,
                r#"username Eq "bob.martin@example.com""#,
                &alice,
                false,
            ),
        ];
        for (name, kind, input, doc, want) in cases {
            let f = parse(input).unwrap_or_else(|e| panic!("{name}: {e}"));
            f.validate(kind.schema())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(f.matches(doc, kind.schema()), want, "{name}");
        }
        // PingOne's other documented example names no SCIM attribute: 400, never an empty list.
        let err = parse(r#"email Co "alice""#)
            .unwrap()
            .validate(User.schema())
            .unwrap_err();
        assert_eq!(
            err.scim_type,
            Some(crate::scim::error::ScimType::InvalidFilter)
        );
    }

    #[test]
    fn exposes_store_shapes() {
        let f = parse(r#"id eq "G" and members[value eq "U"]"#).unwrap();
        let parts = f.conjuncts();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].simple_eq().map(|(p, v)| (p.is("id"), v)),
            Some((true, "G"))
        );
        assert_eq!(parts[1].value_eq(), Some(("members", "U")));
        let f = parse(r#"id eq "G" and members eq "U""#).unwrap();
        assert_eq!(f.conjuncts()[1].value_eq(), Some(("members", "U")));
        let f = parse(r#"members.value eq "U""#).unwrap();
        assert_eq!(f.value_eq(), Some(("members", "U")));
        let f = parse(r#"members.display eq "U""#).unwrap();
        assert_eq!(f.value_eq(), None);
        let f = parse(r#"value eq "a" or value eq "b" or value eq "c""#).unwrap();
        assert_eq!(f.disjuncts().len(), 3);
        assert_eq!(parse("a pr").unwrap().conjuncts().len(), 1);
    }
}
