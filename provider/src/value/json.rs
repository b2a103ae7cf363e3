//! Terraform's JSON encoding of values (`DynamicValue.json` and raw state),
//! as produced and consumed by go-cty's json package.
//!
//! Shapes: null is null; strings, numbers and bools are their JSON
//! counterparts (numbers with arbitrary precision); lists, sets and tuples are
//! arrays; maps and objects are JSON objects. A value at a `dynamic` position
//! is `{"value": V, "type": T}`. JSON cannot represent unknown values.
//!
//! Like go-cty, decoding converts primitives where Terraform would: a string
//! attribute accepts a JSON number or bool (as its text), a number attribute
//! accepts a string holding a number, and a bool attribute accepts the
//! strings `"true"` and `"false"`. Object attributes missing from the JSON
//! decode as null.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde_json::Value as Json;

use super::{
    check_number_range, format_number, parse_number, AttrPath, CodecError, PathStep, Type, Value,
    MAX_DEPTH,
};

/// Decodes JSON bytes as a value of type `ty`; empty bytes decode as null.
///
/// An attribute not in the object type is an error.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    decode_with(bytes, ty, false)
}

/// Decodes JSON bytes like [`decode`], but silently drops attributes that
/// are not in the object type (used for state upgrades).
pub fn decode_lenient(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    decode_with(bytes, ty, true)
}

/// Encodes a value of type `ty` as JSON; unknown values are an error.
///
/// Lists, sets and tuples are interchangeable for any array type, and maps
/// and objects for map and object types. An attribute of the object type
/// missing from the value is written as null. A value at a `dynamic`
/// position is written with the type [`Type::infer`] gives it.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let json = Encoder::default().value(v, ty)?;
    serde_json::to_vec(&json)
        .map_err(|e| CodecError::at(&AttrPath::new(), format!("JSON write failed: {e}")))
}

fn decode_with(bytes: &[u8], ty: &Type, lenient: bool) -> Result<Value, CodecError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    // serde_json refuses input nested more than 128 levels deep, so parsing
    // is bounded before the decoder applies its own, lower, limit.
    let json: Json = serde_json::from_slice(bytes).map_err(|e| CodecError::Malformed {
        format: "JSON",
        message: e.to_string(),
    })?;
    Decoder {
        steps: Vec::new(),
        depth: 0,
        lenient,
    }
    .value(&json, ty)
}

/// Names the kind of a JSON value for error messages.
fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Names the kind of a value for error messages.
fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown(_) => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Tuple(_) => "tuple",
    }
}

/// Converts a position to an index step, saturating.
fn index(i: usize) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

/// Walks a JSON value against a type, tracking the current path.
///
/// Each container kind has its own non-inlined method so that the frames on
/// the recursion path stay small even in debug builds.
struct Decoder {
    steps: Vec<PathStep>,
    /// How many arrays and objects enclose the current value.
    depth: usize,
    lenient: bool,
}

impl Decoder {
    #[cold]
    fn error(&self, message: impl Into<String>) -> CodecError {
        CodecError::At {
            path: AttrPath::from_steps(self.steps.clone()),
            message: message.into(),
        }
    }

    #[cold]
    fn mismatch(&self, ty: &Type, json: &Json) -> CodecError {
        self.error(format!("expected {ty}, got {}", kind(json)))
    }

    /// Enters an array or object, refusing nesting deeper than [`MAX_DEPTH`].
    fn open(&mut self) -> Result<(), CodecError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self) {
        self.depth -= 1;
    }

    fn value(&mut self, json: &Json, ty: &Type) -> Result<Value, CodecError> {
        match (json, ty) {
            (Json::Null, _) => Ok(Value::Null),
            (_, Type::Dynamic) => self.dynamic(json),
            (_, Type::String | Type::Number | Type::Bool) => self.primitive(json, ty),
            (Json::Array(items), Type::List(elem)) => Ok(Value::List(self.elements(items, elem)?)),
            (Json::Array(items), Type::Set(elem)) => Ok(Value::Set(self.elements(items, elem)?)),
            (Json::Array(items), Type::Tuple(elems)) => self.tuple(items, elems),
            (Json::Object(entries), Type::Map(elem)) => self.map(entries, elem),
            (Json::Object(entries), Type::Object(attrs)) => self.object(entries, attrs),
            _ => Err(self.mismatch(ty, json)),
        }
    }

    #[inline(never)]
    fn primitive(&self, json: &Json, ty: &Type) -> Result<Value, CodecError> {
        match (json, ty) {
            (Json::String(s), Type::String) => Ok(Value::String(s.clone())),
            (Json::Number(n), Type::String) => Ok(Value::String(n.as_str().to_owned())),
            (Json::Bool(b), Type::String) => Ok(Value::String(b.to_string())),
            (Json::Number(n), Type::Number) => parse_number(n.as_str())
                .map(Value::Number)
                .map_err(|message| self.error(message)),
            (Json::String(s), Type::Number) => parse_number(s)
                .map(Value::Number)
                .map_err(|_| self.error("a number is required")),
            (Json::Bool(b), Type::Bool) => Ok(Value::Bool(*b)),
            (Json::String(s), Type::Bool) if s == "true" => Ok(Value::Bool(true)),
            (Json::String(s), Type::Bool) if s == "false" => Ok(Value::Bool(false)),
            _ => Err(self.mismatch(ty, json)),
        }
    }

    #[inline(never)]
    fn elements(&mut self, items: &[Json], elem: &Type) -> Result<Vec<Value>, CodecError> {
        self.open()?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            self.steps.push(PathStep::Index(index(i)));
            out.push(self.value(item, elem)?);
            self.steps.pop();
        }
        self.close();
        Ok(out)
    }

    #[inline(never)]
    fn tuple(&mut self, items: &[Json], elems: &[Type]) -> Result<Value, CodecError> {
        if items.len() != elems.len() {
            return Err(self.error(format!(
                "a tuple of length {} is required (length {} given)",
                elems.len(),
                items.len()
            )));
        }
        self.open()?;
        let mut out = Vec::with_capacity(items.len());
        for (i, (item, ety)) in items.iter().zip(elems).enumerate() {
            self.steps.push(PathStep::Index(index(i)));
            out.push(self.value(item, ety)?);
            self.steps.pop();
        }
        self.close();
        Ok(Value::Tuple(out))
    }

    #[inline(never)]
    fn map(
        &mut self,
        entries: &serde_json::Map<String, Json>,
        elem: &Type,
    ) -> Result<Value, CodecError> {
        self.open()?;
        let mut out = BTreeMap::new();
        for (k, item) in entries {
            self.steps.push(PathStep::Key(k.clone()));
            let v = self.value(item, elem)?;
            self.steps.pop();
            out.insert(k.clone(), v);
        }
        self.close();
        Ok(Value::Map(out))
    }

    #[inline(never)]
    fn object(
        &mut self,
        entries: &serde_json::Map<String, Json>,
        attrs: &BTreeMap<String, Type>,
    ) -> Result<Value, CodecError> {
        if !self.lenient {
            if let Some(extra) = entries.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(self.error(format!("unsupported attribute {extra:?}")));
            }
        }
        self.open()?;
        let mut out = BTreeMap::new();
        for (name, aty) in attrs {
            let v = match entries.get(name) {
                Some(item) => {
                    self.steps.push(PathStep::Attr(name.clone()));
                    let v = self.value(item, aty)?;
                    self.steps.pop();
                    v
                }
                None => Value::Null,
            };
            out.insert(name.clone(), v);
        }
        self.close();
        Ok(Value::Object(out))
    }

    #[inline(never)]
    fn dynamic(&mut self, json: &Json) -> Result<Value, CodecError> {
        let Json::Object(entries) = json else {
            return Err(self.error(format!(
                "a dynamic value must be a {{\"value\", \"type\"}} object, got {}",
                kind(json)
            )));
        };
        if !self.lenient {
            if let Some(extra) = entries.keys().find(|k| *k != "type" && *k != "value") {
                return Err(self.error(format!("invalid key {extra:?} in dynamic value")));
            }
        }
        let ty = entries
            .get("type")
            .ok_or_else(|| self.error("missing type in dynamic value"))?;
        let ty = Type::from_json(ty).map_err(|e| self.error(e.to_string()))?;
        let value = entries
            .get("value")
            .ok_or_else(|| self.error("missing value in dynamic value"))?;
        self.open()?;
        let out = self.value(value, &ty)?;
        self.close();
        Ok(out)
    }
}

/// Walks a value against a type building the JSON value, tracking the current path.
///
/// Each container kind has its own non-inlined method so that the frames on
/// the recursion path stay small even in debug builds.
#[derive(Default)]
struct Encoder {
    steps: Vec<PathStep>,
    /// How many arrays and objects enclose the current value.
    depth: usize,
}

impl Encoder {
    #[cold]
    fn error(&self, message: impl Into<String>) -> CodecError {
        CodecError::At {
            path: AttrPath::from_steps(self.steps.clone()),
            message: message.into(),
        }
    }

    #[cold]
    fn mismatch(&self, v: &Value, ty: &Type) -> CodecError {
        self.error(format!("expected {ty}, got {}", value_kind(v)))
    }

    /// Enters an array or object, refusing nesting that [`decode`] would refuse.
    fn open(&mut self) -> Result<(), CodecError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self) {
        self.depth -= 1;
    }

    fn value(&mut self, v: &Value, ty: &Type) -> Result<Json, CodecError> {
        match (v, ty) {
            (Value::Null, _) => Ok(Json::Null),
            (Value::Unknown(_), _) => Err(self.error("unknown values cannot be written as JSON")),
            (_, Type::Dynamic) => self.dynamic(v),
            (_, Type::String | Type::Number | Type::Bool) => self.primitive(v, ty),
            (
                Value::List(items) | Value::Set(items) | Value::Tuple(items),
                Type::List(elem) | Type::Set(elem),
            ) => self.elements(items, elem),
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(elems)) => {
                self.tuple(items, elems)
            }
            (Value::Map(items) | Value::Object(items), Type::Map(elem)) => self.map(items, elem),
            (Value::Map(items) | Value::Object(items), Type::Object(attrs)) => {
                self.object(items, attrs)
            }
            _ => Err(self.mismatch(v, ty)),
        }
    }

    #[inline(never)]
    fn primitive(&self, v: &Value, ty: &Type) -> Result<Json, CodecError> {
        match (v, ty) {
            (Value::String(s), Type::String) => Ok(Json::String(s.clone())),
            (Value::Bool(b), Type::Bool) => Ok(Json::Bool(*b)),
            (Value::Number(n), Type::Number) => {
                check_number_range(n).map_err(|message| self.error(message))?;
                let text = format_number(n);
                serde_json::Number::from_str(&text)
                    .map(Json::Number)
                    .map_err(|e| self.error(format!("number {text} cannot be written: {e}")))
            }
            _ => Err(self.mismatch(v, ty)),
        }
    }

    #[inline(never)]
    fn dynamic(&mut self, v: &Value) -> Result<Json, CodecError> {
        let concrete = Type::infer(v);
        self.open()?;
        let inner = self.value(v, &concrete)?;
        self.close();
        let mut out = serde_json::Map::new();
        out.insert("value".to_owned(), inner);
        out.insert("type".to_owned(), concrete.to_json());
        Ok(Json::Object(out))
    }

    #[inline(never)]
    fn elements(&mut self, items: &[Value], elem: &Type) -> Result<Json, CodecError> {
        self.open()?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            self.steps.push(PathStep::Index(index(i)));
            out.push(self.value(item, elem)?);
            self.steps.pop();
        }
        self.close();
        Ok(Json::Array(out))
    }

    #[inline(never)]
    fn tuple(&mut self, items: &[Value], elems: &[Type]) -> Result<Json, CodecError> {
        if items.len() != elems.len() {
            return Err(self.error(format!(
                "a tuple of length {} is required (length {} given)",
                elems.len(),
                items.len()
            )));
        }
        self.open()?;
        let mut out = Vec::with_capacity(items.len());
        for (i, (item, ety)) in items.iter().zip(elems).enumerate() {
            self.steps.push(PathStep::Index(index(i)));
            out.push(self.value(item, ety)?);
            self.steps.pop();
        }
        self.close();
        Ok(Json::Array(out))
    }

    #[inline(never)]
    fn map(&mut self, items: &BTreeMap<String, Value>, elem: &Type) -> Result<Json, CodecError> {
        self.open()?;
        let mut out = serde_json::Map::new();
        for (k, item) in items {
            self.steps.push(PathStep::Key(k.clone()));
            let json = self.value(item, elem)?;
            self.steps.pop();
            out.insert(k.clone(), json);
        }
        self.close();
        Ok(Json::Object(out))
    }

    #[inline(never)]
    fn object(
        &mut self,
        items: &BTreeMap<String, Value>,
        attrs: &BTreeMap<String, Type>,
    ) -> Result<Json, CodecError> {
        if let Some(extra) = items.keys().find(|k| !attrs.contains_key(*k)) {
            return Err(self.error(format!("unsupported attribute {extra:?}")));
        }
        self.open()?;
        let mut out = serde_json::Map::new();
        for (name, aty) in attrs {
            let item = items.get(name).unwrap_or(&Value::NULL);
            self.steps.push(PathStep::Attr(name.clone()));
            let json = self.value(item, aty)?;
            self.steps.pop();
            out.insert(name.clone(), json);
        }
        self.close();
        Ok(Json::Object(out))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn conversions_like_cty() {
        let t = Type::object([("s", Type::String), ("n", Type::Number), ("b", Type::Bool)]);
        let v = decode(br#"{"s": 12.50, "n": "3", "b": "true"}"#, &t);
        assert_eq!(
            v.ok(),
            Some(Value::object([
                ("s", Value::from("12.50")),
                ("n", Value::from(3)),
                ("b", Value::from(true)),
            ]))
        );
        assert!(decode(br#"{"n": "x"}"#, &t).is_err());
    }

    #[test]
    fn missing_and_unknown_attributes() {
        let t = Type::object([("a", Type::String), ("b", Type::Number)]);
        assert_eq!(
            decode(br#"{"a": "x"}"#, &t).ok(),
            Some(Value::object([("a", Value::from("x")), ("b", Value::Null)]))
        );
        let err = decode(br#"{"a": "x", "zz": 1}"#, &t)
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some(r#"unsupported attribute "zz""#));
        assert_eq!(
            decode_lenient(br#"{"a": "x", "zz": 1}"#, &t).ok(),
            Some(Value::object([("a", Value::from("x")), ("b", Value::Null)]))
        );
    }

    #[test]
    fn unknown_is_an_error() {
        let t = Type::object([("a", Type::String)]);
        let err = encode(&Value::object([("a", Value::unknown())]), &t)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("at a: unknown values cannot be written as JSON")
        );
    }

    #[test]
    fn numbers_are_exact_and_plain() {
        let big = "123456789012345678901234567890.5";
        let v = decode(big.as_bytes(), &Type::Number);
        assert_eq!(
            v.as_ref()
                .ok()
                .and_then(|v| v.as_number())
                .map(format_number)
                .as_deref(),
            Some(big)
        );
        let out = v.ok().map(|v| encode(&v, &Type::Number).ok());
        assert_eq!(out.flatten().as_deref(), Some(big.as_bytes()));
        let e = decode(b"1e3", &Type::Number)
            .ok()
            .and_then(|v| encode(&v, &Type::Number).ok());
        assert_eq!(e.as_deref(), Some(&b"1000"[..]));
    }

    #[test]
    fn dynamic_shape() {
        let v = Value::List(vec![Value::from("a")]);
        let out = encode(&v, &Type::Dynamic).ok();
        assert_eq!(
            out.as_deref(),
            Some(&br#"{"value":["a"],"type":["list","string"]}"#[..])
        );
        assert_eq!(out.and_then(|b| decode(&b, &Type::Dynamic).ok()), Some(v));
        assert_eq!(decode(b"null", &Type::Dynamic).ok(), Some(Value::Null));
        assert!(decode(br#"{"value": 1}"#, &Type::Dynamic).is_err());
    }
}
