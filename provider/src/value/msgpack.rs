//! Terraform's msgpack encoding of values (`DynamicValue.msgpack`), as
//! produced and consumed by go-cty's msgpack package.
//!
//! Shapes: null is nil; strings are str; bools are bool; numbers are an int,
//! a float64 (or float32) or, when neither holds the value exactly, a decimal
//! string; lists, sets and tuples are arrays; maps and objects are maps with
//! string keys, written in sorted key order, and an object must carry every
//! attribute of its type. A value at a `dynamic` position is a two-element
//! array of its type JSON (as bin) and the value encoded with that type.
//! Unknown values are msgpack extensions: any extension decodes as unknown,
//! and extension 12 carries refinements (see [`Refinements`]).
//!
//! The msgpack framing is read and written here rather than by a generic
//! msgpack crate, so that reading borrows from the input, never trusts a
//! length prefix for allocation, and keeps open arrays and maps on a heap
//! stack; decoding and encoding recurse with small frames, so the nesting
//! limit (100 levels) fits a 2 MiB thread stack even in debug builds.

use std::collections::BTreeMap;

use bigdecimal::{BigDecimal, ToPrimitive};

use super::{
    check_number_range, format_number, number_from_f64, parse_number, AttrPath, CodecError,
    PathStep, Refinements, Type, Value, MAX_DEPTH,
};

/// The extension type code of an unknown value with refinements.
const REFINED_UNKNOWN_EXT: i8 = 12;

/// The encoding of a plain unknown value: fixext1, type 0, one zero byte.
const PLAIN_UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

/// Refinement payloads longer than this are ignored, as go-cty rejects them.
const MAX_REFINEMENTS_LEN: usize = 1024;

/// The nesting allowed inside a refinement payload (a number bound is an array).
const REFINEMENTS_DEPTH: usize = 4;

/// String prefixes longer than this are shortened before encoding, as go-cty does.
const MAX_PREFIX_LEN: usize = 256;

// Refinement map keys.
const REFN_NULLNESS: i64 = 1;
const REFN_STRING_PREFIX: i64 = 2;
const REFN_NUMBER_MIN: i64 = 3;
const REFN_NUMBER_MAX: i64 = 4;
const REFN_LENGTH_MIN: i64 = 5;
const REFN_LENGTH_MAX: i64 = 6;

/// Decodes msgpack bytes as a value of type `ty`; empty bytes decode as null.
///
/// Every attribute of an object type must be present and no other attribute
/// may be. Refinements that do not apply to `ty` are dropped, and a malformed
/// refinement payload decodes as a plain unknown. Extension 12's nullness key
/// is go-cty's "is null" flag: `false` means definitely not null; `true` (a
/// value known to be null) cannot be represented and is ignored.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut reader = Reader::new(bytes);
    let raw = reader.read(MAX_DEPTH).map_err(malformed)?;
    if reader.remaining() > 0 {
        return Err(malformed(format!(
            "{} unexpected bytes after the value",
            reader.remaining()
        )));
    }
    Decoder::default().value(&raw, ty)
}

/// Encodes a value of type `ty` as msgpack.
///
/// Lists, sets and tuples are interchangeable for any array type, and maps
/// and objects for map and object types. An attribute of the object type
/// missing from the value is encoded as null. A value at a `dynamic` position
/// is encoded with the type [`Type::infer`] gives it. Refinements that do not
/// apply to the type are left out (and at a `dynamic` position all of them
/// are, as go-cty does).
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut encoder = Encoder::default();
    encoder.value(v, ty)?;
    Ok(encoder.out)
}

fn malformed(message: impl Into<String>) -> CodecError {
    CodecError::Malformed {
        format: "msgpack",
        message: message.into(),
    }
}

/// One msgpack value, borrowing strings and binaries from the input.
#[derive(Debug)]
enum Raw<'a> {
    Nil,
    Bool(bool),
    /// Any msgpack integer; `i128` holds both the `i64` and `u64` ranges.
    Int(i128),
    F32(f32),
    F64(f64),
    /// A str, whose bytes are not yet checked to be UTF-8.
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(Vec<Raw<'a>>),
    Map(Vec<(Raw<'a>, Raw<'a>)>),
    Ext(i8, &'a [u8]),
}

impl Raw<'_> {
    /// Names the kind of this value for error messages.
    fn kind(&self) -> &'static str {
        match self {
            Raw::Nil => "null",
            Raw::Bool(_) => "bool",
            Raw::Int(_) | Raw::F32(_) | Raw::F64(_) => "number",
            Raw::Str(_) => "string",
            Raw::Bin(_) => "binary",
            Raw::Array(_) => "array",
            Raw::Map(_) => "map",
            Raw::Ext(..) => "unknown",
        }
    }
}

/// Reads msgpack values from a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| {
                format!(
                    "unexpected end of input: {n} bytes needed at offset {}, {} left",
                    self.pos,
                    self.remaining()
                )
            })?;
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let slice = self.take(N)?;
        <[u8; N]>::try_from(slice).map_err(|_| "internal length mismatch".to_owned())
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn len16(&mut self) -> Result<usize, String> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn len32(&mut self) -> Result<usize, String> {
        let n = u32::from_be_bytes(self.array()?);
        usize::try_from(n).map_err(|_| format!("length {n} does not fit in memory"))
    }

    /// Reads one value, allowing `depth` levels of nested arrays and maps.
    ///
    /// Open containers are kept on an explicit stack, so hostile nesting
    /// costs heap rather than call stack.
    fn read(&mut self, depth: usize) -> Result<Raw<'a>, String> {
        let mut stack: Vec<Open<'a>> = Vec::new();
        loop {
            let mut done = match self.item()? {
                Item::Value(raw) => raw,
                Item::Array(0) => Raw::Array(Vec::new()),
                Item::Map(0) => Raw::Map(Vec::new()),
                Item::Array(_) | Item::Map(_) if stack.len() >= depth => {
                    return Err(format!("nested more than {depth} levels deep"));
                }
                Item::Array(len) => {
                    // Every element takes at least one byte, so the input bounds
                    // the allocation whatever the length prefix claims.
                    stack.push(Open::Array {
                        items: Vec::with_capacity(len.min(self.remaining())),
                        left: len,
                    });
                    continue;
                }
                Item::Map(len) => {
                    stack.push(Open::Map {
                        entries: Vec::with_capacity(len.min(self.remaining() / 2)),
                        key: None,
                        left: len,
                    });
                    continue;
                }
            };
            // Hand the finished value to the innermost open container, closing
            // every container that it completes.
            loop {
                let complete = match stack.last_mut() {
                    None => return Ok(done),
                    Some(Open::Array { items, left }) => {
                        items.push(done);
                        *left -= 1;
                        *left == 0
                    }
                    Some(Open::Map { entries, key, left }) => match key.take() {
                        None => {
                            *key = Some(done);
                            false
                        }
                        Some(k) => {
                            entries.push((k, done));
                            *left -= 1;
                            *left == 0
                        }
                    },
                };
                if !complete {
                    break;
                }
                done = match stack.pop() {
                    Some(Open::Array { items, .. }) => Raw::Array(items),
                    Some(Open::Map { entries, .. }) => Raw::Map(entries),
                    None => return Err("internal: container stack underflow".to_owned()),
                };
            }
        }
    }

    /// Reads one scalar value, or the header of an array or map.
    fn item(&mut self) -> Result<Item<'a>, String> {
        let at = self.pos;
        let marker = self.u8()?;
        let item = match marker {
            0x00..=0x7f => Raw::Int(i128::from(marker)),
            0x80..=0x8f => return Ok(Item::Map(usize::from(marker & 0x0f))),
            0x90..=0x9f => return Ok(Item::Array(usize::from(marker & 0x0f))),
            0xa0..=0xbf => Raw::Str(self.take(usize::from(marker & 0x1f))?),
            0xc0 => Raw::Nil,
            0xc1 => return Err(format!("invalid marker byte 0xc1 at offset {at}")),
            0xc2 => Raw::Bool(false),
            0xc3 => Raw::Bool(true),
            0xc4 => {
                let n = usize::from(self.u8()?);
                Raw::Bin(self.take(n)?)
            }
            0xc5 => {
                let n = self.len16()?;
                Raw::Bin(self.take(n)?)
            }
            0xc6 => {
                let n = self.len32()?;
                Raw::Bin(self.take(n)?)
            }
            0xc7 => {
                let n = usize::from(self.u8()?);
                self.ext(n)?
            }
            0xc8 => {
                let n = self.len16()?;
                self.ext(n)?
            }
            0xc9 => {
                let n = self.len32()?;
                self.ext(n)?
            }
            0xca => Raw::F32(f32::from_be_bytes(self.array()?)),
            0xcb => Raw::F64(f64::from_be_bytes(self.array()?)),
            0xcc => Raw::Int(i128::from(self.u8()?)),
            0xcd => Raw::Int(i128::from(u16::from_be_bytes(self.array()?))),
            0xce => Raw::Int(i128::from(u32::from_be_bytes(self.array()?))),
            0xcf => Raw::Int(i128::from(u64::from_be_bytes(self.array()?))),
            0xd0 => Raw::Int(i128::from(i8::from_be_bytes(self.array()?))),
            0xd1 => Raw::Int(i128::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Raw::Int(i128::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Raw::Int(i128::from(i64::from_be_bytes(self.array()?))),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => {
                let n = usize::from(self.u8()?);
                Raw::Str(self.take(n)?)
            }
            0xda => {
                let n = self.len16()?;
                Raw::Str(self.take(n)?)
            }
            0xdb => {
                let n = self.len32()?;
                Raw::Str(self.take(n)?)
            }
            0xdc => {
                let n = self.len16()?;
                return Ok(Item::Array(n));
            }
            0xdd => {
                let n = self.len32()?;
                return Ok(Item::Array(n));
            }
            0xde => {
                let n = self.len16()?;
                return Ok(Item::Map(n));
            }
            0xdf => {
                let n = self.len32()?;
                return Ok(Item::Map(n));
            }
            0xe0..=0xff => Raw::Int(i128::from(i8::from_be_bytes([marker]))),
        };
        Ok(Item::Value(item))
    }

    fn ext(&mut self, len: usize) -> Result<Raw<'a>, String> {
        let code = i8::from_be_bytes(self.array()?);
        Ok(Raw::Ext(code, self.take(len)?))
    }
}

/// What [`Reader::item`] found.
enum Item<'a> {
    Value(Raw<'a>),
    Array(usize),
    Map(usize),
}

/// A container being read, with the count of elements (or entries) still to come.
enum Open<'a> {
    Array {
        items: Vec<Raw<'a>>,
        left: usize,
    },
    Map {
        entries: Vec<(Raw<'a>, Raw<'a>)>,
        key: Option<Raw<'a>>,
        left: usize,
    },
}

// Writing msgpack, always in the most compact form, as go-cty's encoder does.

fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

fn write_bool(out: &mut Vec<u8>, b: bool) {
    out.push(if b { 0xc3 } else { 0xc2 });
}

fn write_uint(out: &mut Vec<u8>, n: u64) {
    if let Ok(n) = u8::try_from(n) {
        if n <= 0x7f {
            out.push(n);
        } else {
            out.extend_from_slice(&[0xcc, n]);
        }
    } else if let Ok(n) = u16::try_from(n) {
        out.push(0xcd);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(0xce);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_int(out: &mut Vec<u8>, n: i64) {
    if let Ok(n) = u64::try_from(n) {
        write_uint(out, n);
    } else if n >= -32 {
        out.extend_from_slice(&(n as i8).to_be_bytes());
    } else if let Ok(n) = i8::try_from(n) {
        out.push(0xd0);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = i16::try_from(n) {
        out.push(0xd1);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = i32::try_from(n) {
        out.push(0xd2);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_f64(out: &mut Vec<u8>, f: f64) {
    out.push(0xcb);
    out.extend_from_slice(&f.to_be_bytes());
}

/// Writes a length with the fix form (when `fix` is given and the length
/// fits in `fix_bits`), or the 8-, 16- or 32-bit marker.
fn write_len(
    out: &mut Vec<u8>,
    len: usize,
    fix: Option<(u8, usize)>,
    markers: [Option<u8>; 3],
) -> Result<(), String> {
    if let Some((base, max)) = fix {
        if len <= max {
            // The length is at most 31 here.
            out.push(base | (len as u8));
            return Ok(());
        }
    }
    let [m8, m16, m32] = markers;
    if let (Some(m8), Ok(n)) = (m8, u8::try_from(len)) {
        out.extend_from_slice(&[m8, n]);
    } else if let (Some(m16), Ok(n)) = (m16, u16::try_from(len)) {
        out.push(m16);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let (Some(m32), Ok(n)) = (m32, u32::try_from(len)) {
        out.push(m32);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        return Err(format!("length {len} is too large for msgpack"));
    }
    Ok(())
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    write_len(
        out,
        s.len(),
        Some((0xa0, 31)),
        [Some(0xd9), Some(0xda), Some(0xdb)],
    )?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) -> Result<(), String> {
    write_len(out, b.len(), None, [Some(0xc4), Some(0xc5), Some(0xc6)])?;
    out.extend_from_slice(b);
    Ok(())
}

fn write_array_len(out: &mut Vec<u8>, len: usize) -> Result<(), String> {
    write_len(out, len, Some((0x90, 15)), [None, Some(0xdc), Some(0xdd)])
}

fn write_map_len(out: &mut Vec<u8>, len: usize) -> Result<(), String> {
    write_len(out, len, Some((0x80, 15)), [None, Some(0xde), Some(0xdf)])
}

fn write_ext(out: &mut Vec<u8>, code: i8, data: &[u8]) -> Result<(), String> {
    let fixed = match data.len() {
        1 => Some(0xd4),
        2 => Some(0xd5),
        4 => Some(0xd6),
        8 => Some(0xd7),
        16 => Some(0xd8),
        _ => None,
    };
    match fixed {
        Some(marker) => out.push(marker),
        None => write_len(out, data.len(), None, [Some(0xc7), Some(0xc8), Some(0xc9)])?,
    }
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// Walks a raw msgpack value against a type, tracking the current path.
///
/// Each container kind has its own non-inlined method so that the frames on
/// the recursion path stay small even in debug builds.
#[derive(Default)]
struct Decoder {
    steps: Vec<PathStep>,
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
    fn mismatch(&self, ty: &Type, raw: &Raw<'_>) -> CodecError {
        self.error(format!("expected {ty}, got {}", raw.kind()))
    }

    fn value(&mut self, raw: &Raw<'_>, ty: &Type) -> Result<Value, CodecError> {
        match (raw, ty) {
            (Raw::Nil, _) => Ok(Value::Null),
            (Raw::Ext(code, data), _) => Ok(Value::Unknown(Box::new(decode_refinements(
                *code, data, ty,
            )))),
            (_, Type::Dynamic) => self.dynamic(raw),
            (_, Type::String | Type::Bool | Type::Number) => self.primitive(raw, ty),
            (Raw::Array(items), Type::List(elem)) => Ok(Value::List(self.elements(items, elem)?)),
            (Raw::Array(items), Type::Set(elem)) => Ok(Value::Set(self.elements(items, elem)?)),
            (Raw::Array(items), Type::Tuple(elems)) => self.tuple(items, elems),
            (Raw::Map(entries), Type::Map(elem)) => self.map(entries, elem),
            (Raw::Map(entries), Type::Object(attrs)) => self.object(entries, attrs),
            _ => Err(self.mismatch(ty, raw)),
        }
    }

    #[inline(never)]
    fn primitive(&self, raw: &Raw<'_>, ty: &Type) -> Result<Value, CodecError> {
        match (raw, ty) {
            (Raw::Str(b) | Raw::Bin(b), Type::String) => std::str::from_utf8(b)
                .map(|s| Value::String(s.to_owned()))
                .map_err(|_| self.error("string is not valid UTF-8")),
            (Raw::Bool(b), Type::Bool) => Ok(Value::Bool(*b)),
            (_, Type::Number) => raw_number(raw)
                .map(Value::Number)
                .map_err(|message| self.error(message)),
            _ => Err(self.mismatch(ty, raw)),
        }
    }

    #[inline(never)]
    fn elements(&mut self, items: &[Raw<'_>], elem: &Type) -> Result<Vec<Value>, CodecError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            self.steps.push(PathStep::Index(index(i)));
            out.push(self.value(item, elem)?);
            self.steps.pop();
        }
        Ok(out)
    }

    #[inline(never)]
    fn tuple(&mut self, items: &[Raw<'_>], elems: &[Type]) -> Result<Value, CodecError> {
        if items.len() != elems.len() {
            return Err(self.error(format!(
                "a tuple of length {} is required (length {} given)",
                elems.len(),
                items.len()
            )));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, (item, ety)) in items.iter().zip(elems).enumerate() {
            self.steps.push(PathStep::Index(index(i)));
            out.push(self.value(item, ety)?);
            self.steps.pop();
        }
        Ok(Value::Tuple(out))
    }

    #[inline(never)]
    fn map(&mut self, entries: &[(Raw<'_>, Raw<'_>)], elem: &Type) -> Result<Value, CodecError> {
        let mut out = BTreeMap::new();
        for (k, item) in entries {
            let key = self.key(k)?;
            self.steps.push(PathStep::Key(key.clone()));
            let v = self.value(item, elem)?;
            self.steps.pop();
            // As in go-cty, a repeated key keeps its last value.
            out.insert(key, v);
        }
        Ok(Value::Map(out))
    }

    #[inline(never)]
    fn object(
        &mut self,
        entries: &[(Raw<'_>, Raw<'_>)],
        attrs: &BTreeMap<String, Type>,
    ) -> Result<Value, CodecError> {
        if entries.len() != attrs.len() {
            return Err(self.error(format!(
                "an object with {} attributes is required ({} given)",
                attrs.len(),
                entries.len()
            )));
        }
        let mut out = BTreeMap::new();
        for (k, item) in entries {
            let name = self.key(k)?;
            let Some(aty) = attrs.get(&name) else {
                return Err(self.error(format!("unsupported attribute {name:?}")));
            };
            if out.contains_key(&name) {
                return Err(self.error(format!("duplicate attribute {name:?}")));
            }
            self.steps.push(PathStep::Attr(name.clone()));
            let v = self.value(item, aty)?;
            self.steps.pop();
            out.insert(name, v);
        }
        Ok(Value::Object(out))
    }

    fn key(&self, raw: &Raw<'_>) -> Result<String, CodecError> {
        match raw {
            Raw::Str(b) | Raw::Bin(b) => std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| self.error("map key is not valid UTF-8")),
            other => Err(self.error(format!("map keys must be strings, got {}", other.kind()))),
        }
    }

    #[inline(never)]
    fn dynamic(&mut self, raw: &Raw<'_>) -> Result<Value, CodecError> {
        let Raw::Array(items) = raw else {
            return Err(self.error(format!(
                "a dynamic value must be a [type, value] array, got {}",
                raw.kind()
            )));
        };
        let [type_raw, value_raw] = items.as_slice() else {
            return Err(self.error(format!(
                "a dynamic value must be a [type, value] array, got {} elements",
                items.len()
            )));
        };
        let (Raw::Bin(type_bytes) | Raw::Str(type_bytes)) = type_raw else {
            return Err(self.error(format!(
                "the type of a dynamic value must be JSON bytes, got {}",
                type_raw.kind()
            )));
        };
        let ty = Type::from_json_bytes(type_bytes).map_err(|e| self.error(e.to_string()))?;
        self.value(value_raw, &ty)
    }
}

/// Converts a position to an index step, saturating (a slice never holds
/// more than `i64::MAX` elements).
fn index(i: usize) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

/// Decodes a msgpack number in any of its three forms.
fn raw_number(raw: &Raw<'_>) -> Result<BigDecimal, String> {
    match raw {
        Raw::Int(n) => Ok(BigDecimal::from(*n)),
        Raw::F32(f) => number_from_f64(f64::from(*f)),
        Raw::F64(f) => number_from_f64(*f),
        Raw::Str(b) => match std::str::from_utf8(b) {
            Ok(text) => parse_number(text),
            Err(_) => Err("number string is not valid UTF-8".to_owned()),
        },
        other => Err(format!("expected number, got {}", other.kind())),
    }
}

/// Decodes the refinements of an unknown value from its extension.
fn decode_refinements(code: i8, data: &[u8], ty: &Type) -> Refinements {
    let plain = Refinements::default();
    if code != REFINED_UNKNOWN_EXT
        || data.len() <= 1
        || data.len() > MAX_REFINEMENTS_LEN
        || matches!(ty, Type::Dynamic)
    {
        return plain;
    }
    // Trailing bytes after the map are ignored, as go-cty reserves them.
    let Ok(Raw::Map(entries)) = Reader::new(data).read(REFINEMENTS_DEPTH) else {
        return plain;
    };
    let is_collection = matches!(ty, Type::List(_) | Type::Set(_) | Type::Map(_));
    let mut out = Refinements::default();
    for (key, v) in &entries {
        let Raw::Int(key) = key else {
            return plain;
        };
        match i64::try_from(*key).unwrap_or(i64::MAX) {
            REFN_NULLNESS => match v {
                Raw::Bool(is_null) => out.not_null = !is_null,
                _ => return plain,
            },
            REFN_STRING_PREFIX if *ty == Type::String => {
                let Raw::Str(prefix) = v else {
                    return plain;
                };
                let Ok(prefix) = std::str::from_utf8(prefix) else {
                    return plain;
                };
                if !prefix.is_empty() {
                    out.string_prefix = Some(prefix.to_owned());
                }
            }
            k @ (REFN_NUMBER_MIN | REFN_NUMBER_MAX) if *ty == Type::Number => {
                let Some(bound) = number_bound(v) else {
                    return plain;
                };
                if k == REFN_NUMBER_MIN {
                    out.number_lower = Some(bound);
                } else {
                    out.number_upper = Some(bound);
                }
            }
            k @ (REFN_LENGTH_MIN | REFN_LENGTH_MAX) if is_collection => {
                let Some(bound) = (match v {
                    Raw::Int(n) => u64::try_from(*n).ok(),
                    _ => None,
                }) else {
                    return plain;
                };
                if k == REFN_LENGTH_MIN {
                    out.length_lower = Some(bound);
                } else {
                    out.length_upper = Some(bound);
                }
            }
            // Unknown keys and keys that do not apply to the type are ignored.
            _ => {}
        }
    }
    out
}

/// Decodes a `[number, inclusive]` refinement bound.
fn number_bound(raw: &Raw<'_>) -> Option<(BigDecimal, bool)> {
    let Raw::Array(items) = raw else {
        return None;
    };
    let [n, Raw::Bool(inclusive)] = items.as_slice() else {
        return None;
    };
    Some((raw_number(n).ok()?, *inclusive))
}

/// Walks a value against a type writing msgpack, tracking the current path.
///
/// Each container kind has its own non-inlined method so that the frames on
/// the recursion path stay small even in debug builds.
#[derive(Default)]
struct Encoder {
    steps: Vec<PathStep>,
    /// How many arrays and maps enclose the current value.
    depth: usize,
    out: Vec<u8>,
}

impl Encoder {
    #[cold]
    fn error(&self, message: impl Into<String>) -> CodecError {
        CodecError::At {
            path: AttrPath::from_steps(self.steps.clone()),
            message: message.into(),
        }
    }

    /// Runs a low-level write, turning its failure into an error at the current path.
    fn write(
        &mut self,
        f: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
    ) -> Result<(), CodecError> {
        f(&mut self.out).map_err(|message| self.error(message))
    }

    /// Opens an array or map of `len` items, refusing nesting that
    /// [`decode`] would refuse.
    fn open(&mut self, len: usize, map: bool) -> Result<(), CodecError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        if map {
            self.write(|out| write_map_len(out, len))
        } else {
            self.write(|out| write_array_len(out, len))
        }
    }

    fn close(&mut self) {
        self.depth -= 1;
    }

    fn value(&mut self, v: &Value, ty: &Type) -> Result<(), CodecError> {
        match (v, ty) {
            (Value::Null, _) => {
                write_nil(&mut self.out);
                Ok(())
            }
            (Value::Unknown(refinements), _) => {
                self.write(|out| encode_unknown(out, refinements, ty))
            }
            (_, Type::Dynamic) => self.dynamic(v),
            (_, Type::String | Type::Bool | Type::Number) => self.primitive(v, ty),
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

    #[cold]
    fn mismatch(&self, v: &Value, ty: &Type) -> CodecError {
        self.error(format!("expected {ty}, got {}", value_kind(v)))
    }

    #[inline(never)]
    fn primitive(&mut self, v: &Value, ty: &Type) -> Result<(), CodecError> {
        match (v, ty) {
            (Value::String(s), Type::String) => self.write(|out| write_str(out, s)),
            (Value::Bool(b), Type::Bool) => {
                write_bool(&mut self.out, *b);
                Ok(())
            }
            (Value::Number(n), Type::Number) => self.write(|out| encode_number(out, n)),
            _ => Err(self.mismatch(v, ty)),
        }
    }

    #[inline(never)]
    fn dynamic(&mut self, v: &Value) -> Result<(), CodecError> {
        let concrete = Type::infer(v);
        self.open(2, false)?;
        self.write(|out| write_bin(out, &concrete.to_json_bytes()))?;
        self.value(v, &concrete)?;
        self.close();
        Ok(())
    }

    #[inline(never)]
    fn elements(&mut self, items: &[Value], elem: &Type) -> Result<(), CodecError> {
        self.open(items.len(), false)?;
        for (i, item) in items.iter().enumerate() {
            self.steps.push(PathStep::Index(index(i)));
            self.value(item, elem)?;
            self.steps.pop();
        }
        self.close();
        Ok(())
    }

    #[inline(never)]
    fn tuple(&mut self, items: &[Value], elems: &[Type]) -> Result<(), CodecError> {
        if items.len() != elems.len() {
            return Err(self.error(format!(
                "a tuple of length {} is required (length {} given)",
                elems.len(),
                items.len()
            )));
        }
        self.open(items.len(), false)?;
        for (i, (item, ety)) in items.iter().zip(elems).enumerate() {
            self.steps.push(PathStep::Index(index(i)));
            self.value(item, ety)?;
            self.steps.pop();
        }
        self.close();
        Ok(())
    }

    #[inline(never)]
    fn map(&mut self, items: &BTreeMap<String, Value>, elem: &Type) -> Result<(), CodecError> {
        self.open(items.len(), true)?;
        for (k, item) in items {
            self.write(|out| write_str(out, k))?;
            self.steps.push(PathStep::Key(k.clone()));
            self.value(item, elem)?;
            self.steps.pop();
        }
        self.close();
        Ok(())
    }

    #[inline(never)]
    fn object(
        &mut self,
        items: &BTreeMap<String, Value>,
        attrs: &BTreeMap<String, Type>,
    ) -> Result<(), CodecError> {
        if let Some(extra) = items.keys().find(|k| !attrs.contains_key(*k)) {
            return Err(self.error(format!("unsupported attribute {extra:?}")));
        }
        self.open(attrs.len(), true)?;
        for (name, aty) in attrs {
            let item = items.get(name).unwrap_or(&Value::NULL);
            self.write(|out| write_str(out, name))?;
            self.steps.push(PathStep::Attr(name.clone()));
            self.value(item, aty)?;
            self.steps.pop();
        }
        self.close();
        Ok(())
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

/// Writes a number as an int when it is an integer within `i64`/`u64`, as a
/// float64 when that holds it exactly, and as a decimal string otherwise.
fn encode_number(out: &mut Vec<u8>, n: &BigDecimal) -> Result<(), String> {
    check_number_range(n)?;
    if n.is_integer() {
        if let Some(i) = n.to_i64() {
            write_int(out, i);
            return Ok(());
        }
        if let Some(u) = n.to_u64() {
            write_uint(out, u);
            return Ok(());
        }
    } else if let Some(f) = n.to_f64() {
        if f.is_finite() && number_from_f64(f).is_ok_and(|exact| &exact == n) {
            write_f64(out, f);
            return Ok(());
        }
    }
    write_str(out, &format_number(n))
}

/// Writes an unknown value, with the refinements that apply to `ty`.
fn encode_unknown(out: &mut Vec<u8>, refinements: &Refinements, ty: &Type) -> Result<(), String> {
    let payload = if matches!(ty, Type::Dynamic) {
        None
    } else {
        refinements_payload(refinements, ty)?
    };
    match payload {
        Some(payload) => write_ext(out, REFINED_UNKNOWN_EXT, &payload),
        None => {
            out.extend_from_slice(&PLAIN_UNKNOWN);
            Ok(())
        }
    }
}

/// Builds the refinement map payload of extension 12, or `None` when no
/// refinement applies to `ty`.
fn refinements_payload(r: &Refinements, ty: &Type) -> Result<Option<Vec<u8>>, String> {
    let mut count = 0;
    let mut body = Vec::new();
    if r.not_null {
        // go-cty writes the "is null" flag, which is false for "not null".
        write_int(&mut body, REFN_NULLNESS);
        write_bool(&mut body, false);
        count += 1;
    }
    match ty {
        Type::String => {
            let prefix = r.string_prefix.as_deref().map(shorten_prefix).unwrap_or("");
            if !prefix.is_empty() {
                write_int(&mut body, REFN_STRING_PREFIX);
                write_str(&mut body, prefix)?;
                count += 1;
            }
        }
        Type::Number => {
            for (key, bound) in [
                (REFN_NUMBER_MIN, &r.number_lower),
                (REFN_NUMBER_MAX, &r.number_upper),
            ] {
                let Some((n, inclusive)) = bound else {
                    continue;
                };
                let mut entry = Vec::new();
                write_int(&mut entry, key);
                write_array_len(&mut entry, 2)?;
                // A bound outside the accepted number range is left out:
                // leaving out a refinement only makes the value less refined.
                if encode_number(&mut entry, n).is_ok() {
                    write_bool(&mut entry, *inclusive);
                    body.extend_from_slice(&entry);
                    count += 1;
                }
            }
        }
        Type::List(_) | Type::Set(_) | Type::Map(_) => {
            for (key, bound) in [
                (REFN_LENGTH_MIN, r.length_lower),
                (REFN_LENGTH_MAX, r.length_upper),
            ] {
                if let Some(bound) = bound {
                    write_int(&mut body, key);
                    write_uint(&mut body, bound);
                    count += 1;
                }
            }
        }
        _ => {}
    }
    if count == 0 {
        return Ok(None);
    }
    let mut payload = Vec::with_capacity(body.len() + 1);
    write_map_len(&mut payload, count)?;
    payload.extend_from_slice(&body);
    Ok(Some(payload))
}

/// Shortens a string prefix refinement to fit go-cty's payload limit, on a
/// character boundary. When shortening, the last remaining character is also
/// dropped, since a combining character cut off after it could change it.
fn shorten_prefix(prefix: &str) -> &str {
    if prefix.len() <= MAX_PREFIX_LEN {
        return prefix;
    }
    let mut end = MAX_PREFIX_LEN - 1;
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &prefix[..end];
    match cut.char_indices().last() {
        Some((last, _)) => &cut[..last],
        None => cut,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn plain_unknown_bytes() {
        assert_eq!(
            encode(&Value::unknown(), &Type::String).ok(),
            Some(PLAIN_UNKNOWN.to_vec())
        );
        // Refinements that do not apply to the type are left out.
        let r = Value::Unknown(Box::new(Refinements {
            length_lower: Some(1),
            ..Default::default()
        }));
        assert_eq!(encode(&r, &Type::String).ok(), Some(PLAIN_UNKNOWN.to_vec()));
        let r = Value::Unknown(Box::new(Refinements {
            not_null: true,
            ..Default::default()
        }));
        assert_eq!(
            encode(&r, &Type::Dynamic).ok(),
            Some(PLAIN_UNKNOWN.to_vec())
        );
    }

    #[test]
    fn prefix_shortening() {
        let long = "é".repeat(200);
        let short = shorten_prefix(&long);
        assert!(short.len() < MAX_PREFIX_LEN);
        assert!(long.starts_with(short));
        assert_eq!(shorten_prefix("abc"), "abc");
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert!(decode(&[0xc0, 0xc0], &Type::String).is_err());
    }
}
