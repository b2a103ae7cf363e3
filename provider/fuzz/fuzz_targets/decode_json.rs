//! Fuzz target: decodes arbitrary bytes as JSON (strictly and leniently) with
//! a type picked from the input's first bytes. Decoding must never panic, and
//! whatever decodes must encode again and decode to a value equal to itself.

#![no_main]

use bankplatform_value_fuzz::{pick_type, value::json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (ty, bytes) = pick_type(data);
    let _ = json::decode_lenient(bytes, &ty);
    if let Ok(v) = json::decode(bytes, &ty) {
        let encoded = match json::encode(&v, &ty) {
            Ok(encoded) => encoded,
            Err(e) => panic!("decoded value does not encode again: {e}"),
        };
        match json::decode(&encoded, &ty) {
            Ok(again) => assert!(again.semantically_equal(&v), "round trip changed the value"),
            Err(e) => panic!("re-encoded value does not decode: {e}"),
        }
    }
});
