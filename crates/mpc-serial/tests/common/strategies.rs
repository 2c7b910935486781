//! proptest strategies shared by the property suites: any `Value` the
//! wire format can carry.

use mpc_serial::{BigInt, Bytes, NdArray, Value};
use proptest::collection::vec;
use proptest::prelude::*;

pub(crate) const RESERVED: [&str; 4] = ["tuple", "int", "mpz", "ndarray"];

/// Any integer of up to 48 bytes (Python's two's-complement bytes), plus
/// values around the edges of the native range.
pub(crate) fn bigint() -> impl Strategy<Value = BigInt> {
    prop_oneof![
        vec(any::<u8>(), 1..48).prop_map(|b| BigInt::from_python_bytes(&b)),
        (any::<bool>(), 0u64..4).prop_map(|(neg, d)| {
            // 2^64 + d, -(2^63) - 1 - d, -(2^64) - d
            let v = i128::from(u64::MAX) + 1 + i128::from(d);
            BigInt::from(if neg {
                -v
            } else {
                i128::from(i64::MIN) - 1 - i128::from(d)
            })
        }),
    ]
}

/// A native integer: the range Python sends as msgpack ints.
pub(crate) fn native_int() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|i| Value::Int(i.into())),
        any::<u64>().prop_map(|u| Value::Int(u.into())),
        (-40i64..300).prop_map(|i| Value::Int(i.into())),
    ]
}

pub(crate) fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        native_int(),
        // tagged ints of any value (even small ones) come back as BigInt
        bigint().prop_map(Value::BigInt),
        bigint().prop_map(Value::Mpz),
        any::<u32>().prop_map(|b| Value::F32(f32::from_bits(b))),
        any::<u64>().prop_map(|b| Value::F64(f64::from_bits(b))),
        any::<String>().prop_map(Value::Str),
        "[a-z]{0,3}".prop_map(Value::Str),
        vec(any::<u8>(), 0..48).prop_map(|b| Value::Bytes(Bytes::from(b))),
    ]
}

/// Would decoding turn this map into a tagged object? (Exactly the entries
/// `"type"` (a string) then `"data"`: see `Value::from_map_entries`.)
pub(crate) fn looks_tagged(entries: &[(Value, Value)]) -> bool {
    entries.len() == 2
        && entries[0].0.as_str() == Some("type")
        && matches!(entries[0].1, Value::Str(_))
        && entries[1].0.as_str() == Some("data")
}

pub(crate) fn map_key() -> impl Strategy<Value = String> {
    prop_oneof!["type|data|values|shape|x", "[a-z]{0,4}", any::<String>()]
}

pub(crate) fn array(inner: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = Value> {
    vec(0usize..4, 0..4).prop_flat_map(move |shape| {
        let n: usize = shape.iter().product();
        vec(inner.clone(), n).prop_map(move |data| {
            Value::Array(NdArray::new(shape.clone(), data).expect("consistent shape"))
        })
    })
}

pub(crate) fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::List),
            vec(inner.clone(), 0..6).prop_map(Value::Tuple),
            vec((map_key().prop_map(Value::Str), inner.clone()), 0..5)
                .prop_filter("looks tagged", |e| !looks_tagged(e))
                .prop_map(Value::Map),
            vec((inner.clone(), inner.clone()), 0..4)
                .prop_filter("looks tagged", |e| !looks_tagged(e))
                .prop_map(Value::Map),
            // a tagged-looking map in everything but the key order
            inner.clone().prop_map(|d| Value::Map(vec![
                (Value::from("data"), d),
                (Value::from("type"), Value::from("Point")),
            ])),
            array(inner.clone()),
            (
                any::<String>().prop_filter("reserved", |s| !RESERVED.contains(&s.as_str())),
                inner.clone()
            )
                .prop_map(|(t, d)| Value::tagged(t, d)),
            ("[A-Z][a-z]{0,8}", inner).prop_map(|(t, d)| Value::tagged(t, d)),
        ]
    })
}

/// One change to an encoding.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

/// Any edit (positions are taken modulo the length).
pub(crate) fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// `b` with `edits` applied in order.
pub(crate) fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = b.len();
        match *e {
            Edit::Set(i, x) if n > 0 => b[i % n] = x,
            Edit::Insert(i, x) => b.insert(i % (n + 1), x),
            Edit::Remove(i) if n > 0 => {
                b.remove(i % n);
            }
            Edit::Truncate(i) => b.truncate(i % (n + 1)),
            _ => {}
        }
    }
    b
}
