//! Terraform's type system (cty types) and its type-constraint JSON form,
//! plus the type inference used to encode a value at a `dynamic` position.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

use super::{CodecError, Value, MAX_DEPTH};

/// A Terraform type.
///
/// `Dynamic` is the pseudo-type that accepts a value of any type; on the wire
/// such a value carries its concrete type alongside it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Bool,
    Number,
    String,
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    /// Returns the type-constraint JSON of this type, e.g. `["list","string"]`.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(t) => Json::Array(vec![Json::from("list"), t.to_json()]),
            Type::Set(t) => Json::Array(vec![Json::from("set"), t.to_json()]),
            Type::Map(t) => Json::Array(vec![Json::from("map"), t.to_json()]),
            Type::Object(attrs) => {
                let attrs = attrs
                    .iter()
                    .map(|(name, t)| (name.clone(), t.to_json()))
                    .collect::<serde_json::Map<_, _>>();
                Json::Array(vec![Json::from("object"), Json::Object(attrs)])
            }
            Type::Tuple(elems) => Json::Array(vec![
                Json::from("tuple"),
                Json::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// Returns the type-constraint JSON of this type as bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Serializing a `serde_json::Value` to a Vec cannot fail: every map
        // key is a string and no I/O is involved.
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }

    /// Parses a type-constraint JSON value.
    ///
    /// The optional third element of an `["object", {...}, [...]]` constraint,
    /// which lists optional attributes, is accepted and ignored.
    pub fn from_json(v: &Json) -> Result<Type, CodecError> {
        parse_type(v, 0)
    }

    /// Parses type-constraint JSON bytes.
    pub fn from_json_bytes(b: &[u8]) -> Result<Type, CodecError> {
        let v: Json = serde_json::from_slice(b)
            .map_err(|e| CodecError::InvalidType(format!("not valid JSON: {e}")))?;
        Type::from_json(&v)
    }

    /// Returns `list(t)`.
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    /// Returns `set(t)`.
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }

    /// Returns `map(t)`.
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// Returns an object type with the given attributes.
    pub fn object<I: IntoIterator<Item = (&'static str, Type)>>(attrs: I) -> Type {
        Type::Object(
            attrs
                .into_iter()
                .map(|(name, t)| (name.to_owned(), t))
                .collect(),
        )
    }

    /// Returns true for list, set and tuple types, whose values are arrays on the wire.
    pub fn is_array_type(&self) -> bool {
        matches!(self, Type::List(_) | Type::Set(_) | Type::Tuple(_))
    }

    /// Infers the concrete type of a value, as used to encode a value at a
    /// `dynamic` position.
    ///
    /// Primitives map to their type. Null and unknown values carry no type
    /// information and infer `dynamic`. An object infers an object type of its
    /// attributes' inferred types and a tuple a tuple type of its elements'.
    /// A list, set or map infers a collection whose element type unifies the
    /// inferred types of all its elements, where `dynamic` (from a null or
    /// unknown element) unifies with anything; when the collection is empty,
    /// or its elements' types conflict, the element type is `dynamic` and each
    /// element is then encoded with its own type.
    pub fn infer(value: &Value) -> Type {
        match value {
            Value::Null | Value::Unknown(_) => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(elems) => Type::list(unify_all(elems.iter())),
            Value::Set(elems) => Type::set(unify_all(elems.iter())),
            Value::Map(elems) => Type::map(unify_all(elems.values())),
            Value::Object(attrs) => Type::Object(
                attrs
                    .iter()
                    .map(|(name, v)| (name.clone(), Type::infer(v)))
                    .collect(),
            ),
            Value::Tuple(elems) => Type::Tuple(elems.iter().map(Type::infer).collect()),
        }
    }
}

impl fmt::Display for Type {
    /// Renders a short human-readable name for error messages, e.g. `list of string`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(t) => write!(f, "list of {t}"),
            Type::Set(t) => write!(f, "set of {t}"),
            Type::Map(t) => write!(f, "map of {t}"),
            Type::Object(_) => f.write_str("object"),
            Type::Tuple(_) => f.write_str("tuple"),
        }
    }
}

fn invalid(message: impl Into<String>) -> CodecError {
    CodecError::InvalidType(message.into())
}

fn parse_type(v: &Json, depth: usize) -> Result<Type, CodecError> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!("nested more than {MAX_DEPTH} levels deep")));
    }
    match v {
        Json::String(name) => match name.as_str() {
            "bool" => Ok(Type::Bool),
            "number" => Ok(Type::Number),
            "string" => Ok(Type::String),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(invalid(format!("unsupported primitive type {other:?}"))),
        },
        Json::Array(items) => {
            let kind = items
                .first()
                .and_then(Json::as_str)
                .ok_or_else(|| invalid("a complex type must start with its kind name"))?;
            let arg = items
                .get(1)
                .ok_or_else(|| invalid(format!("{kind} type requires an argument")))?;
            let max_len = if kind == "object" { 3 } else { 2 };
            if items.len() > max_len {
                return Err(invalid(format!(
                    "{kind} type has {} elements, at most {max_len} are allowed",
                    items.len()
                )));
            }
            match kind {
                "list" => Ok(Type::list(parse_type(arg, depth + 1)?)),
                "set" => Ok(Type::set(parse_type(arg, depth + 1)?)),
                "map" => Ok(Type::map(parse_type(arg, depth + 1)?)),
                "object" => {
                    let attrs = arg.as_object().ok_or_else(|| {
                        invalid("object type requires a JSON object of attributes")
                    })?;
                    let mut out = BTreeMap::new();
                    for (name, t) in attrs {
                        out.insert(name.clone(), parse_type(t, depth + 1)?);
                    }
                    // The optional-attributes list is only meaningful in type
                    // constraints written by module authors, so it is ignored.
                    Ok(Type::Object(out))
                }
                "tuple" => {
                    let elems = arg.as_array().ok_or_else(|| {
                        invalid("tuple type requires a JSON array of element types")
                    })?;
                    let elems = elems
                        .iter()
                        .map(|t| parse_type(t, depth + 1))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Type::Tuple(elems))
                }
                other => Err(invalid(format!("unsupported type kind {other:?}"))),
            }
        }
        _ => Err(invalid("a type must be a JSON string or array")),
    }
}

/// Unifies the inferred types of the given values, falling back to `dynamic`
/// when they conflict.
///
/// A `dynamic` inside an inferred type may stand for "no information" (a
/// null or unknown) or for "conflicting elements", and unification treats
/// both as a wildcard; so the result is checked against every value, and
/// `dynamic` is used when some value does not fit it.
fn unify_all<'a>(mut values: impl Iterator<Item = &'a Value> + Clone) -> Type {
    let mut acc = Type::Dynamic;
    for v in values.clone() {
        match unify(&acc, &Type::infer(v)) {
            Some(t) => acc = t,
            None => return Type::Dynamic,
        }
    }
    if values.all(|v| fits(v, &acc)) {
        acc
    } else {
        Type::Dynamic
    }
}

/// Returns true when `v` can be encoded with type `ty`.
fn fits(v: &Value, ty: &Type) -> bool {
    match (v, ty) {
        (Value::Null | Value::Unknown(_), _) | (_, Type::Dynamic) => true,
        (Value::Bool(_), Type::Bool)
        | (Value::Number(_), Type::Number)
        | (Value::String(_), Type::String) => true,
        (
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
            Type::List(elem) | Type::Set(elem),
        ) => items.iter().all(|item| fits(item, elem)),
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(elems)) => {
            items.len() == elems.len() && items.iter().zip(elems).all(|(item, t)| fits(item, t))
        }
        (Value::Map(items) | Value::Object(items), Type::Map(elem)) => {
            items.values().all(|item| fits(item, elem))
        }
        (Value::Map(items) | Value::Object(items), Type::Object(attrs)) => items
            .iter()
            .all(|(name, item)| attrs.get(name).is_some_and(|t| fits(item, t))),
        _ => false,
    }
}

/// Returns the most specific type that both `a` and `b` conform to when one
/// exists, treating `dynamic` as "any type".
fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => Some(t.clone()),
        (Type::List(x), Type::List(y)) => Some(Type::list(unify(x, y)?)),
        (Type::Set(x), Type::Set(y)) => Some(Type::set(unify(x, y)?)),
        (Type::Map(x), Type::Map(y)) => Some(Type::map(unify(x, y)?)),
        (Type::Object(x), Type::Object(y)) => {
            if x.len() != y.len() {
                return None;
            }
            let mut out = BTreeMap::new();
            for ((xn, xt), (yn, yt)) in x.iter().zip(y.iter()) {
                if xn != yn {
                    return None;
                }
                out.insert(xn.clone(), unify(xt, yt)?);
            }
            Some(Type::Object(out))
        }
        (Type::Tuple(x), Type::Tuple(y)) => {
            if x.len() != y.len() {
                return None;
            }
            let elems = x
                .iter()
                .zip(y.iter())
                .map(|(xt, yt)| unify(xt, yt))
                .collect::<Option<Vec<_>>>()?;
            Some(Type::Tuple(elems))
        }
        (x, y) if x == y => Some(x.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn json_round_trip() {
        let t = Type::object([
            ("name", Type::String),
            ("tags", Type::map(Type::String)),
            ("rules", Type::list(Type::object([("days", Type::Number)]))),
            ("ids", Type::set(Type::Number)),
            ("pair", Type::Tuple(vec![Type::Bool, Type::Dynamic])),
        ]);
        let bytes = t.to_json_bytes();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            r#"["object",{"ids":["set","number"],"name":"string","pair":["tuple",["bool","dynamic"]],"rules":["list",["object",{"days":"number"}]],"tags":["map","string"]}]"#
        );
        assert_eq!(Type::from_json_bytes(&bytes).ok(), Some(t));
    }

    #[test]
    fn optional_attributes_are_ignored() {
        let t = Type::from_json_bytes(br#"["object",{"a":"string","b":"number"},["b"]]"#);
        assert_eq!(
            t.ok(),
            Some(Type::object([("a", Type::String), ("b", Type::Number)]))
        );
    }

    #[test]
    fn invalid_types_are_errors() {
        for bad in [
            &br#""strin""#[..],
            br#"["list"]"#,
            br#"["list","string","x"]"#,
            br#"["object",["a"]]"#,
            br#"["tuple",{}]"#,
            br#"[1,2]"#,
            br#"{}"#,
            br#"nope"#,
        ] {
            assert!(Type::from_json_bytes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn inference() {
        let v = Value::List(vec![
            Value::object([("a", Value::Null)]),
            Value::object([("a", Value::string("x"))]),
        ]);
        assert_eq!(
            Type::infer(&v),
            Type::list(Type::object([("a", Type::String)]))
        );
        let mixed = Value::List(vec![Value::string("x"), Value::number(1)]);
        assert_eq!(Type::infer(&mixed), Type::list(Type::Dynamic));
        // A conflict below the elements is not a wildcard for the elements.
        let nested = Value::List(vec![
            Value::Set(vec![Value::number(1)]),
            Value::Set(vec![Value::number(1), Value::from(true)]),
        ]);
        assert_eq!(Type::infer(&nested), Type::list(Type::Dynamic));
        assert_eq!(Type::infer(&Value::Set(vec![])), Type::set(Type::Dynamic));
    }
}
