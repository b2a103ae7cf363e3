//! Tests of the value codecs: known wire vectors, hostile inputs, and
//! proptest round trips over arbitrary (type, value) pairs.

use std::collections::BTreeMap;
use std::str::FromStr;

use bigdecimal::num_bigint::BigInt;
use bigdecimal::BigDecimal;
use proptest::prelude::*;

use super::{json, msgpack, AttrPath, PathStep, Refinements, Type, Value, MAX_DEPTH};

fn dec(s: &str) -> BigDecimal {
    BigDecimal::from_str(s).unwrap_or_default()
}

fn msgpack_round_trip(v: &Value, ty: &Type) -> Option<Value> {
    let bytes = msgpack::encode(v, ty).ok()?;
    msgpack::decode(&bytes, ty).ok()
}

fn refined(r: Refinements) -> Value {
    Value::Unknown(Box::new(r))
}

// Known vectors.

#[test]
fn plain_unknown_vector() {
    let v = msgpack::decode(&[0xd4, 0x00, 0x00], &Type::String).ok();
    assert_eq!(v, Some(Value::unknown()));
    let bytes = v.and_then(|v| msgpack::encode(&v, &Type::String).ok());
    assert_eq!(bytes.as_deref(), Some(&[0xd4u8, 0x00, 0x00][..]));
}

#[test]
fn any_extension_is_unknown() {
    // ext8 of type 5 with a three-byte body, and fixext1 of type 12.
    for bytes in [&[0xc7u8, 0x03, 0x05, 1, 2, 3][..], &[0xd4, 0x0c, 0x00]] {
        assert_eq!(
            msgpack::decode(bytes, &Type::Number).ok(),
            Some(Value::unknown())
        );
    }
}

#[test]
fn refined_unknown_vector() {
    // ext 12 with payload {1: false, 2: "arn:"}, as go-cty writes a
    // not-null unknown string with a prefix.
    let payload = [0x82, 0x01, 0xc2, 0x02, 0xa4, b'a', b'r', b'n', b':'];
    let mut bytes = vec![0xc7, payload.len() as u8, 0x0c];
    bytes.extend_from_slice(&payload);
    let expected = refined(Refinements {
        not_null: true,
        string_prefix: Some("arn:".into()),
        ..Default::default()
    });
    let v = msgpack::decode(&bytes, &Type::String).ok();
    assert_eq!(v.as_ref(), Some(&expected));
    assert_eq!(
        msgpack::encode(&expected, &Type::String).ok().as_deref(),
        Some(&bytes[..])
    );
    // The same payload at a number position keeps only what applies.
    assert_eq!(
        msgpack::decode(&bytes, &Type::Number).ok(),
        Some(refined(Refinements {
            not_null: true,
            ..Default::default()
        }))
    );
}

#[test]
fn refined_unknown_number_and_length_bounds() {
    let num = refined(Refinements {
        not_null: true,
        number_lower: Some((dec("1.5"), true)),
        number_upper: Some((dec("123456789012345678901234567890"), false)),
        ..Default::default()
    });
    assert_eq!(msgpack_round_trip(&num, &Type::Number), Some(num));
    let list = refined(Refinements {
        length_lower: Some(1),
        length_upper: Some(10),
        ..Default::default()
    });
    let ty = Type::list(Type::String);
    assert_eq!(msgpack_round_trip(&list, &ty), Some(list));
}

#[test]
fn malformed_refinements_are_plain_unknown() {
    // Payload {2: 7}: the prefix is not a string.
    let bytes = [0xc7, 0x03, 0x0c, 0x81, 0x02, 0x07];
    assert_eq!(
        msgpack::decode(&bytes, &Type::String).ok(),
        Some(Value::unknown())
    );
    // Payload that is not a map at all.
    let bytes = [0xc7, 0x02, 0x0c, 0x92, 0x01];
    assert_eq!(
        msgpack::decode(&bytes, &Type::String).ok(),
        Some(Value::unknown())
    );
    // Unknown keys are ignored: {9: 1, 1: false}.
    let bytes = [0xc7, 0x05, 0x0c, 0x82, 0x09, 0x01, 0x01, 0xc2];
    assert_eq!(
        msgpack::decode(&bytes, &Type::String).ok(),
        Some(refined(Refinements {
            not_null: true,
            ..Default::default()
        }))
    );
}

#[test]
fn number_forms_decode_exactly() {
    assert_eq!(
        msgpack::decode(&[0x05], &Type::Number).ok(),
        Some(Value::from(5))
    );
    let mut f = vec![0xcb];
    f.extend_from_slice(&1.5f64.to_be_bytes());
    assert_eq!(
        msgpack::decode(&f, &Type::Number).ok(),
        Some(Value::Number(dec("1.5")))
    );
    let mut f32_bytes = vec![0xca];
    f32_bytes.extend_from_slice(&0.25f32.to_be_bytes());
    assert_eq!(
        msgpack::decode(&f32_bytes, &Type::Number).ok(),
        Some(Value::Number(dec("0.25")))
    );
    let text = "123456789012345678901234567890.5";
    let mut s = vec![0xd9, text.len() as u8];
    s.extend_from_slice(text.as_bytes());
    let v = msgpack::decode(&s, &Type::Number).ok();
    assert_eq!(v, Some(Value::Number(dec(text))));
    // It is written back as the same decimal string.
    assert_eq!(
        v.and_then(|v| msgpack::encode(&v, &Type::Number).ok()),
        Some(s)
    );
    // A float64 that is not exactly decimal decodes to its exact binary value.
    let mut tenth = vec![0xcb];
    tenth.extend_from_slice(&0.1f64.to_be_bytes());
    let v = msgpack::decode(&tenth, &Type::Number).ok();
    assert_eq!(
        v,
        Some(Value::Number(dec(
            "0.1000000000000000055511151231257827021181583404541015625"
        )))
    );
    assert_eq!(
        v.and_then(|v| msgpack::encode(&v, &Type::Number).ok()),
        Some(tenth)
    );
}

#[test]
fn infinities_are_errors() {
    for f in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        let mut bytes = vec![0xcb];
        bytes.extend_from_slice(&f.to_be_bytes());
        assert!(msgpack::decode(&bytes, &Type::Number).is_err());
    }
    for text in ["Infinity", "-Infinity"] {
        let mut bytes = vec![0xa0 | text.len() as u8];
        bytes.extend_from_slice(text.as_bytes());
        assert!(msgpack::decode(&bytes, &Type::Number).is_err());
    }
}

#[test]
fn number_encodings() {
    let enc = |s: &str| msgpack::encode(&Value::Number(dec(s)), &Type::Number).ok();
    assert_eq!(enc("5").as_deref(), Some(&[0x05u8][..]));
    assert_eq!(enc("5.000").as_deref(), Some(&[0x05u8][..]));
    assert_eq!(enc("-1").as_deref(), Some(&[0xffu8][..]));
    let mut u = vec![0xcf];
    u.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(enc("18446744073709551615"), Some(u));
    // 2^64 fits neither i64 nor u64, so it is written as a decimal string.
    let two64 = "18446744073709551616";
    let mut s = vec![0xa0 | two64.len() as u8];
    s.extend_from_slice(two64.as_bytes());
    assert_eq!(enc(two64), Some(s));
    let mut f = vec![0xcb];
    f.extend_from_slice(&1.5f64.to_be_bytes());
    assert_eq!(enc("1.5"), Some(f));
    let mut tenth = vec![0xa3];
    tenth.extend_from_slice(b"0.1");
    assert_eq!(enc("0.1"), Some(tenth));
}

#[test]
fn object_attribute_count_is_checked() {
    let ty = Type::object([("a", Type::String), ("b", Type::String)]);
    // {"a": "x"}
    let bytes = [0x81, 0xa1, b'a', 0xa1, b'x'];
    let err = msgpack::decode(&bytes, &ty).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("an object with 2 attributes is required (1 given)")
    );
    // {"a": "x", "zz": "y"}
    let bytes = [0x82, 0xa1, b'a', 0xa1, b'x', 0xa2, b'z', b'z', 0xa1, b'y'];
    let err = msgpack::decode(&bytes, &ty).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some(r#"unsupported attribute "zz""#));
}

#[test]
fn nested_errors_carry_their_path() {
    let ty = Type::object([(
        "object_lock",
        Type::object([("retention_days", Type::Number)]),
    )]);
    let bytes = json::encode(
        &Value::object([(
            "object_lock",
            Value::object([("retention_days", Value::from("x"))]),
        )]),
        &Type::object([(
            "object_lock",
            Type::object([("retention_days", Type::String)]),
        )]),
    )
    .unwrap_or_default();
    let err = json::decode(&bytes, &ty).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("at object_lock.retention_days: a number is required")
    );
    let err = msgpack::encode(
        &Value::object([(
            "object_lock",
            Value::object([("retention_days", Value::from("x"))]),
        )]),
        &ty,
    )
    .err();
    assert_eq!(
        err.as_ref().map(|e| e.to_string()).as_deref(),
        Some("at object_lock.retention_days: expected number, got string")
    );
    assert_eq!(
        err.as_ref().and_then(|e| e.path()),
        Some(&AttrPath::root("object_lock").attr("retention_days"))
    );
}

#[test]
fn missing_attribute_encodes_as_nil_and_keys_are_sorted() {
    let ty = Type::object([("b", Type::String), ("a", Type::String)]);
    let bytes = msgpack::encode(&Value::object([("b", Value::from("x"))]), &ty).ok();
    assert_eq!(
        bytes.as_deref(),
        Some(&[0x82, 0xa1, b'a', 0xc0, 0xa1, b'b', 0xa1, b'x'][..])
    );
    let extra = msgpack::encode(&Value::object([("c", Value::from("x"))]), &ty);
    assert!(extra.is_err());
}

#[test]
fn dynamic_round_trip() {
    let v = Value::object([
        ("name", Value::from("x")),
        ("ids", Value::List(vec![Value::from(1), Value::from(2)])),
        ("tags", Value::string_map([("env", "prod")])),
        ("none", Value::Null),
    ]);
    let bytes = msgpack::encode(&v, &Type::Dynamic).unwrap_or_default();
    // A two-element array whose first element is the type JSON as bin.
    assert_eq!(bytes.first(), Some(&0x92));
    assert_eq!(bytes.get(1), Some(&0xc4));
    assert_eq!(
        msgpack::decode(&bytes, &Type::Dynamic).ok(),
        Some(v.clone())
    );
    let json_bytes = json::encode(&v, &Type::Dynamic).unwrap_or_default();
    assert_eq!(json::decode(&json_bytes, &Type::Dynamic).ok(), Some(v));
    // The type may also be given as str.
    let t = br#""string""#;
    let mut bytes = vec![0x92, 0xa0 | t.len() as u8];
    bytes.extend_from_slice(t);
    bytes.extend_from_slice(&[0xa1, b'x']);
    assert_eq!(
        msgpack::decode(&bytes, &Type::Dynamic).ok(),
        Some(Value::from("x"))
    );
    // Null and unknown at a dynamic position are plain nil and the plain unknown.
    assert_eq!(
        msgpack::encode(&Value::Null, &Type::Dynamic).ok(),
        Some(vec![0xc0])
    );
    assert_eq!(
        msgpack::decode(&[0xd4, 0, 0], &Type::Dynamic).ok(),
        Some(Value::unknown())
    );
}

#[test]
fn collections_are_interchangeable_on_encode() {
    let ty = Type::set(Type::String);
    let as_list = Value::List(vec![Value::from("a")]);
    assert_eq!(
        msgpack_round_trip(&as_list, &ty),
        Some(Value::Set(vec![Value::from("a")]))
    );
    let map_ty = Type::map(Type::String);
    let as_object = Value::object([("k", Value::from("v"))]);
    assert_eq!(
        msgpack_round_trip(&as_object, &map_ty),
        Some(Value::string_map([("k", "v")]))
    );
    let tuple_ty = Type::Tuple(vec![Type::String, Type::Number]);
    let as_list = Value::List(vec![Value::from("a"), Value::from(1)]);
    assert_eq!(
        msgpack_round_trip(&as_list, &tuple_ty),
        Some(Value::Tuple(vec![Value::from("a"), Value::from(1)]))
    );
    assert!(msgpack::encode(&Value::List(vec![]), &tuple_ty).is_err());
}

#[test]
fn empty_bytes_are_null() {
    assert_eq!(msgpack::decode(&[], &Type::String).ok(), Some(Value::Null));
    assert_eq!(json::decode(&[], &Type::String).ok(), Some(Value::Null));
    assert_eq!(
        json::decode_lenient(&[], &Type::String).ok(),
        Some(Value::Null)
    );
}

// Hostile inputs.

#[test]
fn deep_msgpack_nesting_is_rejected() {
    let mut bytes = vec![0x91; 100_000];
    bytes.push(0xc0);
    let mut ty = Type::String;
    for _ in 0..600 {
        ty = Type::list(ty);
    }
    assert!(msgpack::decode(&bytes, &ty).is_err());
    assert!(msgpack::decode(&bytes, &Type::Dynamic).is_err());
}

#[test]
fn deep_json_nesting_is_rejected() {
    let mut bytes = vec![b'['; 100_000];
    bytes.extend(std::iter::repeat_n(b']', 100_000));
    assert!(json::decode(&bytes, &Type::list(Type::Dynamic)).is_err());
}

#[test]
fn maximum_nesting_fits_a_small_stack() {
    // Tokio worker threads and test threads default to 2 MiB stacks.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let depth = MAX_DEPTH - 1;
            let mut ty = Type::String;
            let mut v = Value::from("x");
            for _ in 0..depth {
                ty = Type::list(ty);
                v = Value::List(vec![v]);
            }
            let bytes = msgpack::encode(&v, &ty).ok()?;
            let back = msgpack::decode(&bytes, &ty).ok()?;
            let json_bytes = json::encode(&v, &ty).ok()?;
            let json_back = json::decode(&json_bytes, &ty).ok()?;
            Some(back == v && json_back == v)
        });
    let ok = handle.ok().and_then(|h| h.join().ok()).flatten();
    assert_eq!(ok, Some(true));
}

#[test]
fn encoders_refuse_what_decoders_would_refuse() {
    let mut ty = Type::String;
    let mut v = Value::from("x");
    for _ in 0..=MAX_DEPTH {
        ty = Type::list(ty);
        v = Value::List(vec![v]);
    }
    let err = msgpack::encode(&v, &ty).err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("nested more than")));
    assert!(json::encode(&v, &ty).is_err());
    // A dynamic wrapper counts as a level too: a list mixing a string and a
    // list infers `list(dynamic)`, so each level below adds two.
    let nest = |levels: usize| {
        let mut v = Value::from("x");
        for _ in 0..levels {
            v = Value::List(vec![Value::from("x"), v]);
        }
        v
    };
    let ok = nest(MAX_DEPTH / 2 - 1);
    let bytes = msgpack::encode(&ok, &Type::Dynamic).unwrap_or_default();
    assert_eq!(
        msgpack::decode(&bytes, &Type::Dynamic).ok().as_ref(),
        Some(&ok)
    );
    let text = json::encode(&ok, &Type::Dynamic).unwrap_or_default();
    assert_eq!(json::decode(&text, &Type::Dynamic).ok().as_ref(), Some(&ok));
    let too_deep = nest(MAX_DEPTH / 2 + 1);
    assert!(msgpack::encode(&too_deep, &Type::Dynamic).is_err());
    assert!(json::encode(&too_deep, &Type::Dynamic).is_err());
}

#[test]
fn huge_lengths_with_short_input_fail_fast() {
    // array32 / map32 / str32 / ext32 claiming 4 billion items or bytes.
    for bytes in [
        &[0xddu8, 0xff, 0xff, 0xff, 0xff, 0xc0][..],
        &[0xdf, 0xff, 0xff, 0xff, 0xff],
        &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
        &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x0c],
    ] {
        assert!(msgpack::decode(bytes, &Type::list(Type::String)).is_err());
    }
}

#[test]
fn huge_exponents_are_rejected() {
    let text = "1e999999999";
    let mut bytes = vec![0xa0 | text.len() as u8];
    bytes.extend_from_slice(text.as_bytes());
    assert!(msgpack::decode(&bytes, &Type::Number).is_err());
    assert!(json::decode(text.as_bytes(), &Type::Number).is_err());
    assert!(json::decode(b"1e-999999999", &Type::Number).is_err());
}

// Paths.

#[test]
fn value_at_nested_paths() {
    let mut v = Value::object([
        (
            "lifecycle_rules",
            Value::List(vec![Value::object([("id", Value::from("r1"))])]),
        ),
        ("tags", Value::string_map([("env", "prod")])),
        (
            "object_lock",
            Value::object([("retention_days", Value::from(30))]),
        ),
    ]);
    let id = AttrPath::root("lifecycle_rules").index(0).attr("id");
    assert_eq!(id.to_string(), "lifecycle_rules[0].id");
    assert_eq!(v.at(&id), Some(&Value::from("r1")));
    let env = AttrPath::root("tags").key("env");
    assert_eq!(env.to_string(), r#"tags["env"]"#);
    assert_eq!(v.at(&env), Some(&Value::from("prod")));
    // Key steps also reach object attributes; attribute steps do not reach map keys.
    let days = AttrPath::from_steps(vec![
        PathStep::Attr("object_lock".into()),
        PathStep::Key("retention_days".into()),
    ]);
    assert_eq!(v.at(&days).and_then(Value::as_i64), Some(30));
    assert_eq!(v.at(&AttrPath::root("tags").attr("env")), None);
    assert_eq!(v.at(&AttrPath::root("lifecycle_rules").index(1)), None);
    assert_eq!(v.at(&AttrPath::root("lifecycle_rules").index(-1)), None);
    assert_eq!(v.at(&AttrPath::new()), Some(&v.clone()));
    if let Some(slot) = v.at_mut(&id) {
        *slot = Value::from("r2");
    }
    assert_eq!(v.at(&id), Some(&Value::from("r2")));
    assert!(v.at_mut(&AttrPath::root("nope")).is_none());
}

// Property tests.

/// Options for generating values.
#[derive(Clone, Copy, Debug)]
struct Gen {
    /// Generate unknown values.
    unknowns: bool,
    /// Generate refined unknown values (not at or below dynamic positions,
    /// where refinements cannot survive encoding).
    refined: bool,
    /// How many dynamic positions enclose the value.
    dynamic_depth: u32,
}

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("id".to_owned()),
        Just("retention_days".to_owned()),
        "[a-z_]{1,6}",
    ]
}

fn leaf_type() -> impl Strategy<Value = Type> {
    prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String)]
}

fn type_strategy() -> BoxedStrategy<Type> {
    prop_oneof![leaf_type(), Just(Type::Dynamic)]
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(Type::list),
                inner.clone().prop_map(Type::set),
                inner.clone().prop_map(Type::map),
                prop::collection::btree_map(attr_name(), inner.clone(), 0..4)
                    .prop_map(Type::Object),
                prop::collection::vec(inner, 0..4).prop_map(Type::Tuple),
            ]
        })
        .boxed()
}

fn number_strategy() -> BoxedStrategy<BigDecimal> {
    prop_oneof![
        any::<i64>().prop_map(BigDecimal::from),
        any::<u64>().prop_map(BigDecimal::from),
        (any::<i128>(), -30i64..40).prop_map(|(m, s)| BigDecimal::new(BigInt::from(m), s)),
        any::<f64>().prop_filter_map("finite", |f| BigDecimal::try_from(f).ok()),
        "-?[1-9][0-9]{20,60}(\\.[0-9]{1,30})?".prop_map(|s| dec(&s)),
    ]
    .boxed()
}

fn refinements_for(ty: &Type) -> BoxedStrategy<Refinements> {
    let not_null = any::<bool>();
    match ty {
        Type::String => (not_null, proptest::option::of("(?s).{1,6}"))
            .prop_map(|(not_null, string_prefix)| Refinements {
                not_null,
                string_prefix,
                ..Default::default()
            })
            .boxed(),
        Type::Number => (
            not_null,
            proptest::option::of((number_strategy(), any::<bool>())),
            proptest::option::of((number_strategy(), any::<bool>())),
        )
            .prop_map(|(not_null, number_lower, number_upper)| Refinements {
                not_null,
                number_lower,
                number_upper,
                ..Default::default()
            })
            .boxed(),
        Type::List(_) | Type::Set(_) | Type::Map(_) => (
            not_null,
            proptest::option::of(0u64..1000),
            proptest::option::of(any::<u64>()),
        )
            .prop_map(|(not_null, length_lower, length_upper)| Refinements {
                not_null,
                length_lower,
                length_upper,
                ..Default::default()
            })
            .boxed(),
        _ => not_null
            .prop_map(|not_null| Refinements {
                not_null,
                ..Default::default()
            })
            .boxed(),
    }
}

fn value_for(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    let mut options: Vec<(u32, BoxedStrategy<Value>)> =
        vec![(1, Just(Value::Null).boxed()), (6, known_value_for(ty, g))];
    if g.unknowns {
        let unknown = if g.refined && g.dynamic_depth == 0 && *ty != Type::Dynamic {
            refinements_for(ty)
                .prop_map(|r| Value::Unknown(Box::new(r)))
                .boxed()
        } else {
            Just(Value::unknown()).boxed()
        };
        options.push((1, unknown));
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}

fn known_value_for(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => number_strategy().prop_map(Value::Number).boxed(),
        Type::String => "(?s).{0,8}".prop_map(Value::String).boxed(),
        Type::Dynamic => {
            let inner = Gen {
                dynamic_depth: g.dynamic_depth + 1,
                ..g
            };
            // Below two dynamic positions only primitives are chosen, which
            // keeps generation finite.
            let types = if g.dynamic_depth >= 1 {
                leaf_type().boxed()
            } else {
                type_strategy()
            };
            types
                .prop_flat_map(move |t| known_value_for(&t, inner))
                .boxed()
        }
        Type::List(elem) => prop::collection::vec(value_for(elem, g), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(elem) => prop::collection::vec(value_for(elem, g), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(elem) => prop::collection::btree_map("(?s).{0,4}", value_for(elem, g), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => attrs
            .iter()
            .map(|(name, aty)| {
                let name = name.clone();
                value_for(aty, g).prop_map(move |v| (name.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<BTreeMap<_, _>>()))
            .boxed(),
        Type::Tuple(elems) => elems
            .iter()
            .map(|ety| value_for(ety, g))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
    }
}

fn typed_value(g: Gen) -> impl Strategy<Value = (Type, Value)> {
    type_strategy().prop_flat_map(move |t| {
        let values = value_for(&t, g);
        (Just(t), values)
    })
}

const WITH_UNKNOWNS: Gen = Gen {
    unknowns: true,
    refined: true,
    dynamic_depth: 0,
};

const KNOWN_ONLY: Gen = Gen {
    unknowns: false,
    refined: false,
    dynamic_depth: 0,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn msgpack_encode_decode_is_identity((ty, v) in typed_value(WITH_UNKNOWNS)) {
        let bytes = msgpack::encode(&v, &ty);
        prop_assert!(bytes.is_ok(), "encode failed: {:?}", bytes.err());
        let bytes = bytes.unwrap_or_default();
        let back = msgpack::decode(&bytes, &ty);
        prop_assert!(back.is_ok(), "decode failed: {:?}", back.err());
        let back = back.unwrap_or(Value::Null);
        prop_assert!(back.semantically_equal(&v), "{:?} != {:?}", back, v);
    }

    #[test]
    fn json_encode_decode_is_identity((ty, v) in typed_value(KNOWN_ONLY)) {
        let bytes = json::encode(&v, &ty);
        prop_assert!(bytes.is_ok(), "encode failed: {:?}", bytes.err());
        let bytes = bytes.unwrap_or_default();
        let back = json::decode(&bytes, &ty);
        prop_assert!(back.is_ok(), "decode failed: {:?}", back.err());
        let back = back.unwrap_or(Value::Null);
        prop_assert!(back.semantically_equal(&v), "{:?} != {:?}", back, v);
        let lenient = json::decode_lenient(&bytes, &ty).unwrap_or(Value::Null);
        prop_assert!(lenient.semantically_equal(&v));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        ty in type_strategy(),
        bytes in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        // Whatever decodes must also encode again.
        if let Ok(v) = msgpack::decode(&bytes, &ty) {
            let again = msgpack::encode(&v, &ty);
            prop_assert!(again.is_ok(), "{:?}", again.err());
        }
        if let Ok(v) = json::decode(&bytes, &ty) {
            let again = json::encode(&v, &ty);
            prop_assert!(again.is_ok(), "{:?}", again.err());
        }
        let _ = json::decode_lenient(&bytes, &ty);
        let _ = Type::from_json_bytes(&bytes);
    }

    #[test]
    fn decoding_mutated_encodings_never_panics(
        (ty, v) in typed_value(WITH_UNKNOWNS),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = msgpack::encode(&v, &ty).unwrap_or_default();
        if !bytes.is_empty() {
            for (at, byte) in &flips {
                let i = at.index(bytes.len());
                bytes[i] = *byte;
            }
        }
        if let Ok(v) = msgpack::decode(&bytes, &ty) {
            prop_assert!(msgpack::encode(&v, &ty).is_ok());
        }
        let known = if v.is_fully_known() { v } else { Value::Null };
        let mut text = json::encode(&known, &ty).unwrap_or_default();
        if !text.is_empty() {
            for (at, byte) in &flips {
                let i = at.index(text.len());
                text[i] = *byte;
            }
        }
        let _ = json::decode(&text, &ty);
    }
}
