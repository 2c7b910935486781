//! Typed decoding straight from the bytes (`decode_with`, `decode`,
//! `Packet::decode_object`) against the path it replaced: decoding a
//! `Value` and converting it (`decode_value_with` + `from_value`). For
//! random values, random typed messages, random arrays, and corrupted and
//! truncated encodings of all of them, at several depth limits, every
//! target type must get the same result: the same value, or the same error.

mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;

use common::strategies::{apply, bigint, edit, value, Edit};
use mpc_serial::{
    decode_value_with, decode_with, encode_value, from_value, BigInt, Blob, Bytes, DecodeError,
    DecodeLimits, NdArray, Packet, PyClass, Tagged, Value,
};
use proptest::collection::vec;
use proptest::prelude::*;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- targets

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Point {
    x: i64,
    y: BigInt,
}
impl PyClass for Point {
    const TYPE_NAME: &'static str = "Point";
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Secret(BigInt);
impl PyClass for Secret {
    const TYPE_NAME: &'static str = "Secret";
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Kind {
    A,
    B(Option<i32>),
    C { s: String },
    D(i64, String),
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Msg {
    points: Vec<Tagged<Point>>,
    pair: (u8, String),
    wide: i128,
    blob: Bytes,
    kind: Kind,
    floats: Vec<f64>,
    any: Value,
    maybe: Option<Tagged<Point>>,
    grid: Vec<Vec<i64>>,
    arr: NdArray<BigInt>,
    map: BTreeMap<String, (i8, BigInt)>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
#[allow(dead_code)] // read through Debug
enum Item {
    P(Tagged<Point>),
    T((i64, i64)),
    S(String),
    B(BigInt),
}

/// Python's tagged objects read as an adjacently tagged enum.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", content = "data")]
#[allow(dead_code, non_camel_case_types)]
enum Adjacent {
    Point { x: i64, y: BigInt },
    tuple(Vec<Value>),
    int(Bytes),
}

#[derive(Deserialize, Debug)]
#[serde(tag = "type")]
#[allow(dead_code)]
enum Internal {
    Point { x: i64, y: i64 },
    Other,
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Flat {
    x: i64,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Strict {
    x: i64,
    y: Option<BigInt>,
}

#[derive(Deserialize, Debug)]
#[serde(default)]
#[allow(dead_code)]
struct Defaults {
    x: i64,
    s: String,
    v: Vec<Value>,
}
impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            x: -1,
            s: "none".into(),
            v: vec![Value::Nil],
        }
    }
}

/// Lists of lists of ... (a recursive type: depth is the input's).
#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Nest(Vec<Nest>);

#[derive(Deserialize, Debug)]
struct Unit;

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Newtype(i64);

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct TupleStruct(i64, String);

/// A `Deserialize` that does not look at its input.
#[derive(Debug)]
struct Ignores;
impl<'de> Deserialize<'de> for Ignores {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Ok(Ignores)
    }
}

/// Bytes through `deserialize_byte_buf` (a `serde_bytes`-style field).
#[derive(Debug)]
#[allow(dead_code)]
struct ByteBuf(Vec<u8>);
impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.as_bytes().to_vec()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ByteBuf, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = a.next_element()? {
                    out.push(b);
                }
                Ok(ByteBuf(out))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

// ---------------------------------------------------------------- comparison

/// `decode_with::<T>` gives what the `Value` path gives (compared through
/// `Debug`, so floats compare by their digits and sign; NaN equals NaN).
fn agree<T: DeserializeOwned + Debug + 'static>(
    b: &Bytes,
    lim: &DecodeLimits,
) -> Result<Result<T, DecodeError>, TestCaseError> {
    let old = decode_value_with(b, lim).and_then(from_value::<T>);
    let new = decode_with::<T>(b, lim);
    prop_assert_eq!(
        format!("{old:?}"),
        format!("{new:?}"),
        "{} from {:02x?}",
        std::any::type_name::<T>(),
        &b[..b.len().min(64)]
    );
    Ok(new)
}

/// [`agree`] for every target type.
fn agree_on_all(b: &Bytes, lim: &DecodeLimits) -> Result<(), TestCaseError> {
    macro_rules! all {
        ($($t:ty),* $(,)?) => {$( let _ = agree::<$t>(b, lim)?; )*};
    }
    all!(
        Value,
        (),
        bool,
        i8,
        i16,
        i32,
        i64,
        u8,
        u16,
        u32,
        u64,
        i128,
        u128,
        f32,
        f64,
        char,
        String,
        Bytes,
        Blob,
        ByteBuf,
        BigInt,
        Option<i64>,
        Option<String>,
        Option<Value>,
        Vec<u8>,
        Vec<i64>,
        Vec<BigInt>,
        Vec<Option<BigInt>>,
        Vec<Value>,
        Vec<Vec<i64>>,
        Vec<Vec<Value>>,
        Vec<Vec<Vec<i64>>>,
        Vec<(Value, Value)>,
        [i64; 2],
        [[i64; 2]; 2],
        [Value; 3],
        (Value,),
        (i64, String),
        (u8, String, BigInt),
        (Value, Value, Value),
        BTreeMap<String, Value>,
        BTreeMap<String, i64>,
        BTreeMap<i64, Value>,
        NdArray<i64>,
        NdArray<BigInt>,
        NdArray<Value>,
        Vec<NdArray<i64>>,
        Point,
        Tagged<Point>,
        Option<Tagged<Point>>,
        Vec<Tagged<Point>>,
        Tagged<Secret>,
        Kind,
        Vec<Kind>,
        Msg,
        Item,
        Vec<Item>,
        Adjacent,
        Vec<Adjacent>,
        Internal,
        Flat,
        Strict,
        Defaults,
        Nest,
        Unit,
        Newtype,
        TupleStruct,
        Ignores,
        Vec<Ignores>,
        IgnoredAny,
        serde_json::Value,
    );
    Ok(())
}

// ---------------------------------------------------------------- inputs

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::A),
        any::<Option<i32>>().prop_map(Kind::B),
        "[a-z]{0,4}".prop_map(|s| Kind::C { s }),
        (any::<i64>(), "[a-z]{0,4}").prop_map(|(i, s)| Kind::D(i, s)),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    (any::<i64>(), bigint()).prop_map(|(x, y)| Point { x, y })
}

/// Shapes of up to 3 dimensions of up to 3 each.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    vec(0usize..4, 1..4)
}

fn int_array() -> impl Strategy<Value = NdArray<i64>> {
    shape().prop_flat_map(|shape| {
        let n: usize = shape.iter().product();
        vec(any::<i64>(), n)
            .prop_map(move |data| NdArray::new(shape.clone(), data).expect("consistent shape"))
    })
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        (
            vec(point().prop_map(Tagged), 0..3),
            (any::<u8>(), "[a-z]{0,4}"),
            any::<i128>(),
            vec(any::<u8>(), 0..8),
            kind(),
            vec(any::<f64>(), 0..3),
        ),
        (
            value(),
            proptest::option::of(point().prop_map(Tagged)),
            vec(vec(any::<i64>(), 0..3), 0..3),
            vec(bigint(), 0..4),
            vec(("[a-z]{0,3}", any::<i8>(), bigint()), 0..3),
        ),
    )
        .prop_map(
            |((points, pair, wide, blob, kind, floats), (any, maybe, grid, arr, map))| Msg {
                points,
                pair,
                wide,
                blob: Bytes::from(blob),
                kind,
                floats,
                any,
                maybe,
                grid,
                arr: NdArray::from_vec(arr),
                map: map.into_iter().map(|(k, i, b)| (k, (i, b))).collect(),
            },
        )
}

/// The encoding of something worth decoding as the targets above.
fn encoding() -> impl Strategy<Value = Vec<u8>> {
    let enc = |r: Result<Bytes, mpc_serial::EncodeError>| r.expect("encodes").to_vec();
    prop_oneof![
        4 => value().prop_map(move |v| enc(encode_value(&v))),
        2 => msg().prop_map(move |m| enc(encode_value(&m))),
        1 => int_array().prop_map(move |a| enc(encode_value(&a))),
        // the same array as numpy sends a native dtype: nested lists
        1 => int_array().prop_map(move |a| {
            let v = Value::Array(a.try_map(|x| Ok::<_, ()>(Value::from(x))).expect("ints"));
            let nested = match decode_value_with(&encode_value(&v).expect("encodes"), &DecodeLimits::default()) {
                Ok(Value::Array(a)) => {
                    let (shape, data) = a.into_parts();
                    nest(&shape, data)
                }
                other => panic!("not an array: {other:?}"),
            };
            enc(encode_value(&nested))
        }),
        1 => vec(point(), 0..3).prop_map(move |p| enc(encode_value(&p.into_iter().map(Tagged).collect::<Vec<_>>()))),
        1 => kind().prop_map(move |k| enc(encode_value(&k))),
        1 => (any::<i64>(), any::<u64>(), bigint()).prop_map(move |t| enc(encode_value(&t))),
    ]
}

/// Nested lists of `shape` over `data`.
fn nest(shape: &[usize], data: Vec<Value>) -> Value {
    match shape.split_first() {
        None => data.into_iter().next().unwrap_or(Value::Nil),
        Some((&n, rest)) => {
            let step: usize = rest.iter().product();
            let mut it = data.into_iter();
            Value::List(
                (0..n)
                    .map(|_| nest(rest, it.by_ref().take(step).collect()))
                    .collect(),
            )
        }
    }
}

fn limits() -> impl Strategy<Value = DecodeLimits> {
    prop_oneof![
        3 => Just(DecodeLimits::default()),
        1 => (0usize..6).prop_map(|d| DecodeLimits::default().with_max_depth(d)),
    ]
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn valid_encodings_decode_alike(b in encoding(), lim in limits()) {
        agree_on_all(&Bytes::from(b), &lim)?;
    }

    #[test]
    fn corrupted_encodings_decode_alike(b in encoding(), edits in vec(edit(), 1..4), lim in limits()) {
        agree_on_all(&Bytes::from(apply(b, &edits)), &lim)?;
    }

    #[test]
    fn truncated_encodings_decode_alike(b in encoding(), cut in any::<usize>()) {
        let n = b.len();
        let e = [Edit::Truncate(cut % n.max(1))];
        agree_on_all(&Bytes::from(apply(b, &e)), &DecodeLimits::default())?;
    }

    #[test]
    fn random_bytes_decode_alike(b in vec(any::<u8>(), 0..64)) {
        agree_on_all(&Bytes::from(b), &DecodeLimits::default())?;
    }

    /// Typed messages come back as they were sent, by every entry point.
    #[test]
    fn typed_messages_round_trip(m in msg()) {
        let bytes = encode_value(&m).expect("encodes");
        let lim = DecodeLimits::default();
        let back = agree::<Msg>(&bytes, &lim)?.map_err(|e| TestCaseError::fail(e.to_string()))?;
        // floats by bits: NaN != NaN
        prop_assert_eq!(format!("{back:?}"), format!("{m:?}"));
        let packet = mpc_serial::encode_packet("7", &m).expect("encodes");
        let p = Packet::decode(packet).expect("envelope");
        let again: Msg = p.decode_object().expect("decodes");
        prop_assert_eq!(format!("{again:?}"), format!("{m:?}"));
        let third: Msg = mpc_serial::decode(&bytes).expect("decodes");
        prop_assert_eq!(format!("{third:?}"), format!("{m:?}"));
    }

    /// An n-dimensional array is received as nested `Vec`s of its shape.
    #[test]
    fn arrays_arrive_as_nested_vecs(a in int_array()) {
        let bytes = encode_value(&a).expect("encodes");
        let lim = DecodeLimits::default();
        let (shape, data) = a.clone().into_parts();
        match shape.len() {
            1 => {
                let v = agree::<Vec<i64>>(&bytes, &lim)?.expect("1-d as Vec");
                prop_assert_eq!(&v, &data);
                prop_assert!(agree::<Vec<Vec<i64>>>(&bytes, &lim)?.is_err() || data.is_empty());
            }
            2 => {
                let v = agree::<Vec<Vec<i64>>>(&bytes, &lim)?.expect("2-d as Vec<Vec>");
                prop_assert_eq!(v.len(), shape[0]);
                prop_assert!(v.iter().all(|r| r.len() == shape[1]));
                prop_assert_eq!(v.concat(), data);
            }
            _ => {
                let v = agree::<Vec<Vec<Vec<i64>>>>(&bytes, &lim)?.expect("3-d");
                prop_assert_eq!(v.len(), shape[0]);
                let flat: Vec<i64> = v.into_iter().flatten().flatten().collect();
                prop_assert_eq!(flat, data);
            }
        }
    }
}

// ---------------------------------------------------------------- the comparison can fail

#[test]
fn the_comparison_sees_differences() {
    // two results that differ only in a float's sign, or in the error
    let a: Result<f64, DecodeError> = Ok(0.0);
    let b: Result<f64, DecodeError> = Ok(-0.0);
    assert_ne!(format!("{a:?}"), format!("{b:?}"));
    let e1: Result<i64, DecodeError> = Err(DecodeError::UnexpectedEof {
        offset: 1,
        needed: 1,
    });
    let e2: Result<i64, DecodeError> = Err(DecodeError::UnexpectedEof {
        offset: 1,
        needed: 2,
    });
    assert_ne!(format!("{e1:?}"), format!("{e2:?}"));
}

#[test]
fn the_inputs_reach_successes_and_errors_for_structs() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut ok, mut err) = (0, 0);
    let lim = DecodeLimits::default();
    for _ in 0..300 {
        let b = Bytes::from(encoding().new_tree(&mut runner).expect("tree").current());
        match decode_with::<Msg>(&b, &lim) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert!(ok > 20 && err > 20, "ok {ok}, err {err}");
}
