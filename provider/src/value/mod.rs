//! Terraform's value model and its msgpack/JSON codecs.
//!
//! A [`Value`] carries no type of its own: the codecs in [`msgpack`] and
//! [`json`] are always driven by a [`Type`] (from the schema), as Terraform's
//! wire formats are. Paths into values are [`AttrPath`]s.
//!
//! Numbers are arbitrary-precision decimals ([`BigDecimal`]). Decoders accept
//! numbers whose decimal exponent lies within ±4096 and whose text is at most
//! 32 KiB, which bounds the time and memory that arithmetic on a hostile
//! number can take; infinities and NaN cannot be represented and are errors.
//! The codecs refuse values nested more than 100 arrays or maps deep.

pub mod json;
pub mod msgpack;
mod path;
mod types;

#[cfg(test)]
mod tests;

pub use path::{AttrPath, PathStep};
pub use types::Type;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bigdecimal::{BigDecimal, ToPrimitive, Zero};

/// The deepest nesting of arrays and maps (or JSON arrays and objects) that
/// the codecs read or write, and of type constraints that are parsed.
///
/// It stays below serde_json's own limit of 128, so every value that can be
/// encoded as JSON can be decoded again, and it keeps the codecs' recursion
/// well within a 2 MiB thread stack even in debug builds.
pub(crate) const MAX_DEPTH: usize = 100;

/// The largest magnitude of a number's decimal exponent that is accepted.
const MAX_DECIMAL_EXPONENT: i64 = 4096;

/// The largest count of decimal digits in a number's significand that is accepted.
const MAX_DECIMAL_DIGITS: u64 = 20_000;

/// The longest number text that is parsed at all.
const MAX_NUMBER_TEXT: usize = 32 * 1024;

/// An error from decoding or encoding a value, or parsing a type.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The value at `path` does not conform to its type or cannot be represented.
    #[error("{}{message}", PathPrefix(path))]
    At { path: AttrPath, message: String },
    /// A type-constraint JSON is not a valid type.
    #[error("invalid type constraint: {0}")]
    InvalidType(String),
    /// The bytes are not well-formed in the wire format at all.
    #[error("malformed {format}: {message}")]
    Malformed {
        format: &'static str,
        message: String,
    },
}

impl CodecError {
    /// Builds an error about the value at `path`.
    pub fn at(path: &AttrPath, message: impl Into<String>) -> Self {
        CodecError::At {
            path: path.clone(),
            message: message.into(),
        }
    }

    /// Returns the path of the offending value, when the error has one.
    pub fn path(&self) -> Option<&AttrPath> {
        match self {
            CodecError::At { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Writes `at PATH: ` before a message, or nothing for the root path.
struct PathPrefix<'a>(&'a AttrPath);

impl fmt::Display for PathPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "at {}: ", self.0)
        }
    }
}

/// What is known about an unknown value (Terraform's "refinements").
///
/// The default, with nothing known, is a plain unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refinements {
    /// The value will definitely not be null.
    pub not_null: bool,
    /// A string value will start with this prefix.
    pub string_prefix: Option<String>,
    /// A number value will be at least (inclusive) or above (exclusive) this bound.
    pub number_lower: Option<(BigDecimal, bool)>,
    /// A number value will be at most (inclusive) or below (exclusive) this bound.
    pub number_upper: Option<(BigDecimal, bool)>,
    /// A collection value will have at least this many elements.
    pub length_lower: Option<u64>,
    /// A collection value will have at most this many elements.
    pub length_upper: Option<u64>,
}

impl Refinements {
    /// Returns true when nothing is known, i.e. for a plain unknown.
    pub fn is_empty(&self) -> bool {
        self == &Refinements::default()
    }
}

/// A Terraform value, without its type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// An unknown value; `Refinements::default()` is a plain unknown.
    Unknown(Box<Refinements>),
    Bool(bool),
    Number(BigDecimal),
    String(String),
    List(Vec<Value>),
    /// The elements of a set. Their order carries no meaning; decoders keep
    /// the order they were decoded in.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
}

impl Value {
    /// The null value, usable where a `&'static Value` is needed.
    pub const NULL: Value = Value::Null;

    /// Returns a plain unknown value.
    pub fn unknown() -> Value {
        Value::Unknown(Box::default())
    }

    /// Returns a string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// Returns a number value.
    pub fn number(n: i64) -> Value {
        Value::Number(BigDecimal::from(n))
    }

    /// Returns an object value with the given attributes.
    pub fn object<K: Into<String>, I: IntoIterator<Item = (K, Value)>>(attrs: I) -> Value {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Returns a map value whose elements are strings.
    pub fn string_map<K: Into<String>, V: Into<String>, I: IntoIterator<Item = (K, V)>>(
        m: I,
    ) -> Value {
        Value::Map(
            m.into_iter()
                .map(|(k, v)| (k.into(), Value::String(v.into())))
                .collect(),
        )
    }

    /// Returns true for the null value.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Returns true for an unknown value (refined or not).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    /// Returns true unless this value itself is unknown; nested values may still be unknown.
    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }

    /// Returns true when neither this value nor any value nested in it is unknown.
    pub fn is_fully_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(elems) | Value::Set(elems) | Value::Tuple(elems) => {
                elems.iter().all(Value::is_fully_known)
            }
            Value::Map(elems) | Value::Object(elems) => elems.values().all(Value::is_fully_known),
        }
    }

    /// Returns the string of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the boolean of a bool value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Returns a number value as an `i64` when it is an integer within range.
    pub fn as_i64(&self) -> Option<i64> {
        let n = self.as_number()?;
        // The range check keeps `is_integer` from computing a huge power of ten.
        if check_number_range(n).is_err() || !n.is_integer() {
            return None;
        }
        n.to_i64()
    }

    /// Returns the decimal of a number value.
    pub fn as_number(&self) -> Option<&BigDecimal> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Returns the attributes of an object value.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(attrs) => Some(attrs),
            _ => None,
        }
    }

    /// Returns the attributes of an object value, mutably.
    pub fn as_object_mut(&mut self) -> Option<&mut BTreeMap<String, Value>> {
        match self {
            Value::Object(attrs) => Some(attrs),
            _ => None,
        }
    }

    /// Returns the elements of a map value (not of an object).
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(elems) => Some(elems),
            _ => None,
        }
    }

    /// Returns the elements of a list, set or tuple value.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(elems) | Value::Set(elems) | Value::Tuple(elems) => Some(elems),
            _ => None,
        }
    }

    /// The string elements of a list, set or tuple value (others, and non-lists, give
    /// nothing).
    pub fn string_list(&self) -> Vec<String> {
        self.as_list()
            .unwrap_or(&[])
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    }

    /// Returns an attribute of an object value, or null when the attribute is
    /// absent or this is not an object.
    pub fn get(&self, attr: &str) -> &Value {
        match self {
            Value::Object(attrs) => attrs.get(attr).unwrap_or(&Value::NULL),
            _ => &Value::NULL,
        }
    }

    /// Sets an attribute of an object value; does nothing on other values.
    pub fn set_attr(&mut self, attr: &str, v: Value) {
        if let Value::Object(attrs) = self {
            attrs.insert(attr.to_owned(), v);
        }
    }

    /// Returns the value at `path` below this one.
    ///
    /// Attribute steps go into objects, key steps into maps and objects, and
    /// index steps into lists and tuples.
    pub fn at(&self, path: &AttrPath) -> Option<&Value> {
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur) {
                (PathStep::Attr(name), Value::Object(attrs)) => attrs.get(name)?,
                (PathStep::Key(key), Value::Map(elems) | Value::Object(elems)) => elems.get(key)?,
                (PathStep::Index(i), Value::List(elems) | Value::Tuple(elems)) => {
                    elems.get(usize::try_from(*i).ok()?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Returns the value at `path` below this one, mutably; see [`Value::at`].
    pub fn at_mut(&mut self, path: &AttrPath) -> Option<&mut Value> {
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur) {
                (PathStep::Attr(name), Value::Object(attrs)) => attrs.get_mut(name)?,
                (PathStep::Key(key), Value::Map(elems) | Value::Object(elems)) => {
                    elems.get_mut(key)?
                }
                (PathStep::Index(i), Value::List(elems) | Value::Tuple(elems)) => {
                    elems.get_mut(usize::try_from(*i).ok()?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Null of the right shape for a type is just Null; this returns an Object
    /// with every attribute Null for object types (used for GROUP-like
    /// defaults), and Null for every other type.
    pub fn null_object(ty: &Type) -> Value {
        match ty {
            Type::Object(attrs) => Value::Object(
                attrs
                    .keys()
                    .map(|name| (name.clone(), Value::Null))
                    .collect(),
            ),
            _ => Value::Null,
        }
    }

    /// Walks every value with its path (depth-first, parents before children).
    ///
    /// Object attributes get attribute steps, map elements key steps, and
    /// list, tuple and set elements index steps (for a set, its position).
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&AttrPath, &'a Value)) {
        let mut path = AttrPath::new();
        self.walk_inner(&mut path, f);
    }

    fn walk_inner<'a>(&'a self, path: &mut AttrPath, f: &mut dyn FnMut(&AttrPath, &'a Value)) {
        f(path, self);
        match self {
            Value::List(elems) | Value::Set(elems) | Value::Tuple(elems) => {
                for (i, v) in elems.iter().enumerate() {
                    let mut child = path.index(i64::try_from(i).unwrap_or(i64::MAX));
                    v.walk_inner(&mut child, f);
                }
            }
            Value::Map(elems) => {
                for (k, v) in elems {
                    let mut child = path.key(k);
                    v.walk_inner(&mut child, f);
                }
            }
            Value::Object(attrs) => {
                for (k, v) in attrs {
                    let mut child = path.attr(k);
                    v.walk_inner(&mut child, f);
                }
            }
            _ => {}
        }
    }

    /// Replaces every unknown (at any depth) with null: for a partial state
    /// saved after a failure, which Terraform requires to be wholly known.
    pub fn unknowns_to_null(&mut self) {
        match self {
            Value::Unknown(_) => *self = Value::Null,
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                items.iter_mut().for_each(Value::unknowns_to_null)
            }
            Value::Map(m) | Value::Object(m) => m.values_mut().for_each(Value::unknowns_to_null),
            _ => {}
        }
    }

    /// Semantic equality: like `==`, but set elements are compared as
    /// multisets, and numbers (also in refinements) by value, so `1.0 == 1`.
    pub fn semantically_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Set(a), Value::Set(b)) => multiset_equal(a, b),
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.semantically_equal(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.semantically_equal(vb))
            }
            // BigDecimal equality already compares by value regardless of scale.
            _ => self == other,
        }
    }
}

/// Compares two slices as multisets under semantic equality, which is an
/// equivalence relation, so greedy matching is exact.
fn multiset_equal(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (j, y) in b.iter().enumerate() {
            if !used[j] && x.semantically_equal(y) {
                used[j] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::number(n)
    }
}

impl From<BigDecimal> for Value {
    fn from(n: BigDecimal) -> Self {
        Value::Number(n)
    }
}

/// Parses a number from its decimal text, enforcing the accepted range.
///
/// Accepts what `BigDecimal` parses (plain or exponent notation); infinities
/// and NaN are rejected.
fn parse_number(text: &str) -> Result<BigDecimal, String> {
    if text.len() > MAX_NUMBER_TEXT {
        return Err(format!(
            "number text is longer than {MAX_NUMBER_TEXT} characters"
        ));
    }
    let lowered = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if matches!(lowered.as_str(), "inf" | "infinity" | "nan") {
        return Err(format!("{text:?} cannot be represented as a number"));
    }
    let n = BigDecimal::from_str(text).map_err(|_| {
        let shown: String = text.chars().take(64).collect();
        format!("{shown:?} is not a valid number")
    })?;
    check_number_range(&n)?;
    Ok(n)
}

/// Checks that a number's exponent and precision are within the accepted range.
fn check_number_range(n: &BigDecimal) -> Result<(), String> {
    if n.is_zero() {
        return Ok(());
    }
    let digits = n.digits();
    if digits > MAX_DECIMAL_DIGITS {
        return Err(format!(
            "number has more than {MAX_DECIMAL_DIGITS} significant digits"
        ));
    }
    // The exponent of the most significant digit, as in scientific notation.
    let exponent = i128::from(digits) - 1 - i128::from(n.fractional_digit_count());
    if exponent.abs() > i128::from(MAX_DECIMAL_EXPONENT) {
        return Err(format!(
            "number magnitude is outside 1e-{MAX_DECIMAL_EXPONENT}..1e{MAX_DECIMAL_EXPONENT}"
        ));
    }
    Ok(())
}

/// Converts a finite float to the decimal of exactly its binary value.
fn number_from_f64(f: f64) -> Result<BigDecimal, String> {
    if !f.is_finite() {
        return Err(format!("{f} cannot be represented as a number"));
    }
    BigDecimal::try_from(f).map_err(|e| format!("{f} cannot be represented as a number: {e}"))
}

/// Formats a number in plain decimal notation without trailing zeros
/// (`100`, `0.5`, `-12.25`), as Terraform does.
fn format_number(n: &BigDecimal) -> String {
    n.normalized().to_plain_string()
}

#[cfg(test)]
mod unit {
    use super::*;

    fn dec(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn number_formatting() {
        assert_eq!(format_number(&dec("1e3")), "1000");
        assert_eq!(format_number(&dec("1.500")), "1.5");
        assert_eq!(format_number(&dec("-0.000")), "0");
        assert_eq!(format_number(&dec("-1.25e-3")), "-0.00125");
        assert_eq!(
            format_number(&dec("18446744073709551616")),
            "18446744073709551616"
        );
    }

    #[test]
    fn number_parsing_limits() {
        assert!(parse_number("1e4096").is_ok());
        assert!(parse_number("1e4097").is_err());
        assert!(parse_number("1e-4096").is_ok());
        assert!(parse_number("1e-4097").is_err());
        assert!(parse_number("1e-99999999999999999999999").is_err());
        assert!(parse_number("Infinity").is_err());
        assert!(parse_number("-Infinity").is_err());
        assert!(parse_number("NaN").is_err());
        assert!(parse_number("abc").is_err());
        assert!(parse_number("0e999999999").is_ok());
        assert_eq!(parse_number("12.50").ok(), Some(dec("12.5")));
    }

    #[test]
    fn accessors() {
        let v = Value::object([
            ("name", Value::string("x")),
            ("n", Value::from(7)),
            ("half", Value::Number(dec("0.5"))),
            ("seven", Value::Number(dec("7.000"))),
            ("flag", Value::from(true)),
            ("tags", Value::string_map([("env", "prod")])),
            ("list", Value::List(vec![Value::from("a")])),
        ]);
        assert_eq!(v.get("name").as_str(), Some("x"));
        assert_eq!(v.get("n").as_i64(), Some(7));
        assert_eq!(v.get("seven").as_i64(), Some(7));
        assert_eq!(v.get("half").as_i64(), None);
        assert_eq!(v.get("flag").as_bool(), Some(true));
        assert!(v.get("missing").is_null());
        assert!(Value::string("x").get("a").is_null());
        assert_eq!(v.get("tags").as_map().map(|m| m.len()), Some(1));
        assert!(v.as_map().is_none());
        assert_eq!(v.get("list").as_list().map(|l| l.len()), Some(1));
        assert!(v.is_fully_known());
        assert!(Value::Number(dec("1e5000")).as_i64().is_none());
        assert!(Value::Number(dec("1e30")).as_i64().is_none());
    }

    #[test]
    fn unknowns_and_set_attr() {
        let mut v = Value::object([("a", Value::unknown())]);
        assert!(v.is_known());
        assert!(!v.is_fully_known());
        assert!(v.get("a").is_unknown());
        v.set_attr("a", Value::from("x"));
        assert!(v.is_fully_known());
        let mut s = Value::from("x");
        s.set_attr("a", Value::Null);
        assert_eq!(s, Value::from("x"));
        assert!(Refinements::default().is_empty());
        assert!(!Refinements {
            not_null: true,
            ..Default::default()
        }
        .is_empty());
    }

    #[test]
    fn null_object_fills_attributes() {
        let t = Type::object([("a", Type::String), ("b", Type::list(Type::Number))]);
        assert_eq!(
            Value::null_object(&t),
            Value::object([("a", Value::Null), ("b", Value::Null)])
        );
        assert_eq!(Value::null_object(&Type::String), Value::Null);
    }

    #[test]
    fn walk_visits_parents_first() {
        let v = Value::object([
            ("a", Value::List(vec![Value::from("x"), Value::from("y")])),
            ("m", Value::string_map([("k", "v")])),
        ]);
        let mut seen = Vec::new();
        v.walk(&mut |p, _| seen.push(p.to_string()));
        assert_eq!(seen, ["", "a", "a[0]", "a[1]", "m", r#"m["k"]"#]);
    }

    #[test]
    fn semantic_equality() {
        let a = Value::Set(vec![Value::from(1), Value::Number(dec("2.0"))]);
        let b = Value::Set(vec![Value::from(2), Value::from(1)]);
        assert!(a.semantically_equal(&b));
        assert!(!a.semantically_equal(&Value::Set(vec![Value::from(1), Value::from(1)])));
        assert!(Value::Number(dec("1.0")).semantically_equal(&Value::from(1)));
        assert!(!Value::List(vec![Value::from(1), Value::from(2)])
            .semantically_equal(&Value::List(vec![Value::from(2), Value::from(1)])));
        assert!(!Value::List(vec![]).semantically_equal(&Value::Set(vec![])));
    }

    #[test]
    fn error_display() {
        let e = CodecError::at(
            &AttrPath::root("object_lock").attr("retention_days"),
            "expected number, got string",
        );
        assert_eq!(
            e.to_string(),
            "at object_lock.retention_days: expected number, got string"
        );
        assert_eq!(CodecError::at(&AttrPath::new(), "boom").to_string(), "boom");
    }
}
