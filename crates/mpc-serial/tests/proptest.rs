//! Property tests: arbitrary values round trip; arbitrary bytes never panic.

mod common;

use common::same;
use common::strategies::{apply, bigint, edit, value};
use mpc_serial::{
    decode_value, encode_packet, encode_value, validate, BigInt, Bytes, DecodeLimits, NdArray,
    Packet, PyClass, Tagged, Value,
};
use proptest::collection::vec;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- typed

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Point {
    x: i64,
    y: BigInt,
}
impl PyClass for Point {
    const TYPE_NAME: &'static str = "Point";
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Kind {
    A,
    B(Option<i32>),
    C { s: String },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Msg {
    points: Vec<Tagged<Point>>,
    pair: (u8, String),
    wide: i128,
    blob: Bytes,
    kind: Kind,
    floats: Vec<f64>,
}

fn msg() -> impl Strategy<Value = Msg> {
    let point = (any::<i64>(), bigint()).prop_map(|(x, y)| Tagged(Point { x, y }));
    let kind = prop_oneof![
        Just(Kind::A),
        any::<Option<i32>>().prop_map(Kind::B),
        any::<String>().prop_map(|s| Kind::C { s }),
    ];
    (
        vec(point, 0..4),
        (any::<u8>(), any::<String>()),
        any::<i128>(),
        vec(any::<u8>(), 0..32),
        kind,
        vec(
            any::<f64>().prop_filter("NaN != NaN", |f| !f.is_nan()),
            0..4,
        ),
    )
        .prop_map(|(points, pair, wide, blob, kind, floats)| Msg {
            points,
            pair,
            wide,
            blob: Bytes::from(blob),
            kind,
            floats,
        })
}

/// Decodes `bytes` as several Rust types; none may panic.
fn decode_typed(bytes: &Bytes) {
    let _ = mpc_serial::decode::<Msg>(bytes);
    let _ = mpc_serial::decode::<Tagged<Point>>(bytes);
    let _ = mpc_serial::decode::<NdArray<i64>>(bytes);
    let _ = mpc_serial::decode::<NdArray<Value>>(bytes);
    let _ = mpc_serial::decode::<BigInt>(bytes);
    let _ = mpc_serial::decode::<(i64, String, Vec<u8>)>(bytes);
    let _ = mpc_serial::decode::<Vec<Value>>(bytes);
    let _ = mpc_serial::decode::<u128>(bytes);
}

/// Decodes untrusted bytes every way; checks that `validate` agrees with
/// `decode_value` and that a decoded value re-encodes stably.
fn check_untrusted(bytes: &[u8]) -> Result<(), TestCaseError> {
    let b = Bytes::copy_from_slice(bytes);
    let lim = DecodeLimits::default();
    let decoded = decode_value(&b);
    let validated = validate(&b, &lim);
    prop_assert_eq!(decoded.as_ref().err(), validated.as_ref().err());
    if let Ok(v) = decoded {
        let e1 = encode_value(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let v2 = decode_value(&e1).map_err(|e| TestCaseError::fail(format!("re-decode: {e}")))?;
        prop_assert!(same(&v, &v2), "{} vs {}", v, v2);
        let e2 = encode_value(&v2).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(e1, e2);
    }
    decode_typed(&b);
    if let Ok(p) = Packet::decode(b.clone()) {
        let v = p.value();
        let checked = p.validate(&lim);
        prop_assert_eq!(v.as_ref().err(), checked.as_ref().err());
        decode_typed(&p.object);
    }
    Ok(())
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_gives_the_value(v in value()) {
        let bytes = encode_value(&v).expect("encodes");
        let back = decode_value(&bytes).expect("decodes");
        prop_assert!(same(&back, &v), "got {}\nwant {}", back, v);
    }

    #[test]
    fn decode_then_encode_gives_the_bytes(v in value()) {
        let bytes = encode_value(&v).expect("encodes");
        let back = decode_value(&bytes).expect("decodes");
        prop_assert_eq!(encode_value(&back).expect("encodes"), bytes);
    }

    #[test]
    fn validate_accepts_every_encoding(v in value()) {
        let bytes = encode_value(&v).expect("encodes");
        prop_assert_eq!(validate(&bytes, &DecodeLimits::default()), Ok(()));
    }

    #[test]
    fn packets_round_trip_with_any_id(v in value(), id in any::<String>()) {
        let packet = encode_packet(&id, &v).expect("encodes");
        let p = Packet::decode(packet.clone()).expect("envelope");
        prop_assert_eq!(&p.id, &id);
        prop_assert_eq!(p.object.clone(), encode_value(&v).expect("encodes"));
        prop_assert!(same(&p.value().expect("decodes"), &v));
        prop_assert_eq!(p.validate(&DecodeLimits::default()), Ok(()));
        // the raw form gives the same packet
        let raw = mpc_serial::encode_packet_raw(&id, &p.object).expect("encodes");
        prop_assert_eq!(raw, packet);
    }

    #[test]
    fn typed_messages_round_trip(m in msg()) {
        let bytes = encode_value(&m).expect("encodes");
        prop_assert_eq!(mpc_serial::decode::<Msg>(&bytes).expect("decodes"), m);
        // and the dynamic view re-encodes to the same bytes
        let v = decode_value(&bytes).expect("decodes");
        prop_assert_eq!(encode_value(&v).expect("encodes"), bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        check_untrusted(&bytes)?;
    }

    #[test]
    fn random_packet_like_bytes_never_panic(obj in vec(any::<u8>(), 0..64), tail in vec(any::<u8>(), 0..8)) {
        // a valid envelope start, so the object and id parts get exercised
        let mut b = b"\x82\xa6object".to_vec();
        b.push(0xc4);
        b.push(obj.len() as u8);
        b.extend_from_slice(&obj);
        b.extend_from_slice(b"\xa2id");
        b.extend_from_slice(&tail);
        check_untrusted(&b)?;
        check_untrusted(&obj)?;
    }

    #[test]
    fn mutated_encodings_never_panic(v in value(), edits in vec(edit(), 1..4)) {
        let bytes = encode_value(&v).expect("encodes").to_vec();
        check_untrusted(&apply(bytes, &edits))?;
        let packet = encode_packet("0", &v).expect("encodes").to_vec();
        check_untrusted(&apply(packet, &edits))?;
    }
}

#[test]
fn the_value_strategy_reaches_every_variant() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    fn visit(v: &Value, seen: &mut std::collections::BTreeSet<&'static str>) {
        seen.insert(v.kind());
        match v {
            Value::List(x) | Value::Tuple(x) => x.iter().for_each(|v| visit(v, seen)),
            Value::Map(e) => e.iter().for_each(|(k, v)| {
                visit(k, seen);
                visit(v, seen)
            }),
            Value::Array(a) => a.data().iter().for_each(|v| visit(v, seen)),
            Value::Tagged { data, .. } => visit(data, seen),
            _ => {}
        }
    }
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..500 {
        let v = value().new_tree(&mut runner).expect("tree").current();
        visit(&v, &mut seen);
    }
    for kind in [
        "nil",
        "bool",
        "int",
        "big int",
        "mpz",
        "float32",
        "float",
        "str",
        "bytes",
        "list",
        "tuple",
        "map",
        "ndarray",
        "tagged object",
    ] {
        assert!(seen.contains(kind), "never generated: {kind}");
    }
}

#[test]
fn same_distinguishes() {
    // the comparison used above can fail
    assert!(!same(&Value::F64(0.0), &Value::F64(-0.0)));
    assert!(same(&Value::F64(f64::NAN), &Value::F64(f64::NAN)));
    assert!(!same(&Value::F32(1.0), &Value::F64(1.0)));
    assert!(!same(&Value::List(vec![]), &Value::Tuple(vec![])));
    assert!(!same(&Value::Int(5), &Value::BigInt(BigInt::from(5))));
}
