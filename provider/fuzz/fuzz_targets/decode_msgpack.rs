//! Fuzz target: decodes arbitrary bytes as msgpack with a type picked from
//! the input's first bytes. Decoding must never panic, and whatever decodes
//! must encode again and decode to a value equal to itself.

#![no_main]

use bankplatform_value_fuzz::{pick_type, value::msgpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (ty, bytes) = pick_type(data);
    if let Ok(v) = msgpack::decode(bytes, &ty) {
        let encoded = match msgpack::encode(&v, &ty) {
            Ok(encoded) => encoded,
            Err(e) => panic!("decoded value does not encode again: {e}"),
        };
        // Refinements below a dynamic position are not kept by the encoder
        // (as in go-cty), so only values without unknowns must round-trip.
        if v.is_fully_known() {
            match msgpack::decode(&encoded, &ty) {
                Ok(again) => assert!(again.semantically_equal(&v), "round trip changed the value"),
                Err(e) => panic!("re-encoded value does not decode: {e}"),
            }
        }
    }
});
