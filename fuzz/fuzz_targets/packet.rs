//! Untrusted bytes as a received packet body: the envelope, then the value
//! inside. Nothing may panic; `validate` must agree with the decoder; a
//! decoded value must re-encode stably: encode(decode(encode(v))) == encode(v);
//! typed decoding straight from the bytes must agree with the `Value` path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpc_serial::{
    decode_value, encode_packet, encode_value, from_value, validate, BigInt, Bytes, DecodeError,
    DecodeLimits, NdArray, Packet, Value,
};

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    let limits = DecodeLimits::default();

    if let Ok(packet) = Packet::decode(body.clone()) {
        let value = packet.value();
        if let Some(v) = agreed(packet.validate(&limits), value, "validate and value()") {
            // the whole packet, too
            let again = encode_packet(&packet.id, &v).expect("a decoded value encodes");
            let p2 = Packet::decode(again).expect("an encoded packet decodes");
            assert_eq!(p2.id, packet.id);
            assert_eq!(
                encode_value(&p2.value().expect("decodes")).expect("encodes"),
                encode_value(&v).expect("encodes")
            );
        }
        typed(&packet);
    }

    // the same bytes as a bare object, so that mutations reach the value
    // decoder without having to keep the envelope intact
    let value = decode_value(&body);
    agreed(validate(data, &limits), value, "validate and decode_value");
});

/// The decoded value, once the validator's verdict `checked` agrees with
/// the decoder's (the same error, or none; `what` names the two) and the
/// value round-trips (see [`round_trip`]).
fn agreed(
    checked: Result<(), DecodeError>,
    value: Result<Value, DecodeError>,
    what: &str,
) -> Option<Value> {
    assert_eq!(
        checked.err(),
        value.as_ref().err().cloned(),
        "{what} disagree"
    );
    let v = value.ok()?;
    round_trip(&v);
    Some(v)
}

/// encode(decode(encode(v))) == encode(v)
fn round_trip(v: &Value) {
    let e1 = encode_value(v).expect("a decoded value encodes");
    let v2 = decode_value(&e1).expect("an encoding decodes");
    let e2 = encode_value(&v2).expect("encodes");
    assert_eq!(e1, e2, "encode(decode(encode(v))) != encode(v)");
}

/// Typed decoding of anything: errors are fine, panics are not; decoding
/// straight from the bytes (`decode_object`) gives exactly what converting
/// the decoded `Value` gives, value or error.
fn typed(p: &Packet) {
    // a macro, not a generic function: this crate names no serde trait
    macro_rules! same {
        ($($t:ty),*) => {$(
            let direct = p.decode_object::<$t>();
            let via_value = p.value().and_then(from_value::<$t>);
            assert_eq!(
                format!("{direct:?}"),
                format!("{via_value:?}"),
                "decode_object::<{}> and the Value path disagree",
                stringify!($t)
            );
        )*};
    }
    same!(
        BigInt,
        NdArray<i64>,
        NdArray<Value>,
        (i64, String, Vec<u8>),
        Vec<Value>,
        Vec<Vec<i64>>,
        std::collections::BTreeMap<String, Value>,
        u128,
        i8,
        Option<Bytes>,
        Option<String>,
        (Value, f64, bool),
        [Vec<BigInt>; 2]
    );
}
