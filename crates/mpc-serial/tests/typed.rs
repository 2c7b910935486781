//! Typed messages (serde) against the golden vectors of the Python package
//! (tests/fixtures/golden.json) and by round trip.

mod common;

use common::hex;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use mpc_serial::{
    decode, decode_value, encode_packet, encode_value, BigInt, Bytes, DecodeError, NdArray, Packet,
    PyClass, Tagged, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

// ---------------------------------------------------------------- helpers

/// The packet bytes of the golden vector `name` (made by Python 5.0.4).
fn golden(name: &str) -> Bytes {
    static ALL: OnceLock<HashMap<String, Bytes>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let doc: Json =
            serde_json::from_str(include_str!("fixtures/golden.json")).expect("golden.json parses");
        assert_eq!(doc["package_version"], "5.0.4");
        doc["vectors"]
            .as_array()
            .expect("vectors")
            .iter()
            .map(|v| {
                let name = v["name"].as_str().expect("name").to_owned();
                (
                    name,
                    Bytes::from(hex(v["packet"].as_str().expect("packet"))),
                )
            })
            .collect()
    });
    all.get(name)
        .unwrap_or_else(|| panic!("no golden vector {name}"))
        .clone()
}

/// Decodes the object of a golden packet as `T`.
fn golden_as<T: serde::de::DeserializeOwned + 'static>(name: &str) -> Result<T, DecodeError> {
    Packet::decode(golden(name))
        .expect("envelope")
        .decode_object::<T>()
}

fn big(s: &str) -> BigInt {
    s.parse().expect("decimal")
}

fn pow2(n: u32) -> BigInt {
    let mut v = BigInt::from(1u8);
    for _ in 0..n {
        v = BigInt(v.0 * 2u8);
    }
    v
}

/// Encodes `v` and decodes it back as `T`.
fn round_trip<T: Serialize + serde::de::DeserializeOwned + 'static>(v: &T) -> T {
    let bytes = encode_value(v).expect("encodes");
    decode::<T>(&bytes).unwrap_or_else(|e| panic!("decode failed: {e}"))
}

// ---------------------------------------------------------------- classes

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Point {
    x: i64,
    y: i64,
}
impl PyClass for Point {
    const TYPE_NAME: &'static str = "Point";
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct BigPoint {
    x: BigInt,
    y: BigInt,
}
impl PyClass for BigPoint {
    const TYPE_NAME: &'static str = "Point";
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Wrapper {
    #[serde(with = "mpc_serial::tagged")]
    inner: Point,
    pair: (i64, BigInt),
    blob: Bytes,
}
impl PyClass for Wrapper {
    const TYPE_NAME: &'static str = "Wrapper";
}

// ---------------------------------------------------------------- classes vs Python

#[test]
fn tagged_point_matches_python() {
    let p = Tagged(Point { x: 1, y: 2 });
    let packet = encode_packet("0", &p).expect("encodes");
    assert_eq!(&packet[..], &golden("ref_point_1_2")[..]);

    let back = Packet::decode(packet)
        .expect("envelope")
        .decode_object::<Tagged<Point>>()
        .expect("decodes");
    assert_eq!(back, p);
    // and straight from the Python bytes
    assert_eq!(
        golden_as::<Tagged<Point>>("ref_point_1_2").expect("decodes"),
        p
    );
}

#[test]
fn wrapper_matches_python() {
    // Python: Wrapper(Point(3, 4), (1, 2**70), b'\x00\xffblob')
    let w = Tagged(Wrapper {
        inner: Point { x: 3, y: 4 },
        pair: (1, pow2(70)),
        blob: Bytes::from_static(b"\x00\xffblob"),
    });
    let packet = encode_packet("0", &w).expect("encodes");
    assert_eq!(&packet[..], &golden("wrapper")[..]);
    assert_eq!(golden_as::<Tagged<Wrapper>>("wrapper").expect("decodes"), w);
}

#[test]
fn point_with_bigint_coords_matches_python() {
    // Python: Point(2**70, -(2**64))
    let p = Tagged(BigPoint {
        x: pow2(70),
        y: BigInt(-pow2(64).0),
    });
    assert_eq!(p.y, big("-18446744073709551616"));
    let packet = encode_packet("0", &p).expect("encodes");
    assert_eq!(&packet[..], &golden("point_bigint_coords")[..]);
    assert_eq!(
        golden_as::<Tagged<BigPoint>>("point_bigint_coords").expect("decodes"),
        p
    );
}

#[test]
fn point_with_small_coords_fits_bigint_struct_too() {
    let p = golden_as::<Tagged<BigPoint>>("ref_point_1_2").expect("decodes");
    assert_eq!(
        p.0,
        BigPoint {
            x: BigInt::from(1),
            y: BigInt::from(2)
        }
    );
}

#[test]
fn map_of_points_and_tuples_matches_python() {
    // Python: {"pts": [Point(1, 2), (3, 4)]}; the list is heterogeneous, so
    // model it with an untagged enum.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Item {
        P(Tagged<Point>),
        T((i64, i64)),
    }
    let mut m = BTreeMap::new();
    m.insert(
        "pts".to_owned(),
        vec![Item::P(Tagged(Point { x: 1, y: 2 })), Item::T((3, 4))],
    );
    let packet = encode_packet("0", &m).expect("encodes");
    assert_eq!(&packet[..], &golden("ref_map_pts")[..]);
}

// ---------------------------------------------------------------- tuples

#[test]
fn rust_tuples_travel_as_python_tuples() {
    let packet = encode_packet("0", &(1i64, "a")).expect("encodes");
    assert_eq!(&packet[..], &golden("ref_tuple_1_a")[..]);
    let back: (i64, String) = golden_as("ref_tuple_1_a").expect("decodes");
    assert_eq!(back, (1, "a".to_owned()));

    // the (1, 'a', 2**70) vectors
    let t = (1u8, "a", pow2(70));
    for (name, id) in [
        ("id_0_tuple", "0"),
        ("id_42_tuple", "42"),
        ("id_custom_tuple", "a custom id"),
    ] {
        assert_eq!(
            &encode_packet(id, &t).expect("encodes")[..],
            &golden(name)[..],
            "{name}"
        );
        let back: (u8, String, BigInt) = golden_as(name).expect("decodes");
        assert_eq!(back, (1, "a".to_owned(), pow2(70)));
    }
}

/// `()` is Rust's unit, and serde sends unit as nil (Python `None`): it is
/// not the empty tuple. The empty Python tuple is `Value::Tuple(vec![])` —
/// or, typed, a zero-length array `[T; 0]`, which serde serializes as a
/// tuple of length 0.
#[test]
fn unit_is_none_and_the_empty_tuple_is_something_else() {
    assert_eq!(
        &encode_packet("0", &()).expect("encodes")[..],
        &golden("ref_nil")[..]
    );
    let empty = golden("ref_tuple_empty");
    assert_ne!(&encode_packet("0", &()).expect("encodes")[..], &empty[..]);
    assert_eq!(
        &encode_packet("0", &Value::Tuple(vec![])).expect("encodes")[..],
        &empty[..]
    );
    assert_eq!(
        &encode_packet("0", &[0i64; 0]).expect("encodes")[..],
        &empty[..]
    );

    // receiving Python's ()
    assert_eq!(
        golden_as::<Value>("ref_tuple_empty").expect("decodes"),
        Value::Tuple(vec![])
    );
    let v: Vec<i64> = golden_as("ref_tuple_empty").expect("decodes");
    assert!(v.is_empty());
    let a: [i64; 0] = golden_as("ref_tuple_empty").expect("decodes");
    assert_eq!(a, [0i64; 0]);
    // ...but not into (), which is None
    let e = golden_as::<()>("ref_tuple_empty").expect_err("a tuple is not None");
    assert!(e.to_string().contains("expected None"), "{e}");
    golden_as::<()>("ref_nil").expect("None is ()");
}

#[test]
fn lists_and_tuples_are_interchangeable_when_typed() {
    // a Python list received as a Rust tuple, and a Python tuple as a Vec
    let t: (i64, i64, i64, i64) = golden_as("ref_list_1234").expect("decodes");
    assert_eq!(t, (1, 2, 3, 4));
    let v: Vec<i64> = golden_as("tuple_len_16").expect("decodes");
    assert_eq!(v, (0..16).collect::<Vec<_>>());
}

// ---------------------------------------------------------------- big integers

#[test]
fn bigints_match_python() {
    let cases = [
        ("ref_bigint_2p70", pow2(70)),
        ("ref_bigint_neg_2p70", BigInt(-pow2(70).0)),
        ("ref_int_u64_max", BigInt::from(u64::MAX)),
        (
            "ref_bigint_i64_min_minus1",
            BigInt::from(i128::from(i64::MIN) - 1),
        ),
        ("int_2p64", pow2(64)),
        ("int_minus2p127", BigInt::from(i128::MIN)),
        ("int_minus2p63", BigInt::from(i64::MIN)),
        ("ref_int_1234", BigInt::from(1234)),
    ];
    for (name, v) in cases {
        let packet = encode_packet("0", &v).expect("encodes");
        assert_eq!(&packet[..], &golden(name)[..], "{name}");
        assert_eq!(golden_as::<BigInt>(name).expect("decodes"), v, "{name}");
    }
    // 2**64 - 1 travels natively as uint64 (0xcf)
    let obj = encode_value(&BigInt::from(u64::MAX)).expect("encodes");
    assert_eq!(&obj[..], b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff");
}

#[test]
fn wide_primitives_outside_64_bits_are_tagged_ints() {
    let cases: [(&str, Bytes); 6] = [
        (
            "int_2p64",
            encode_packet("0", &(1u128 << 64)).expect("u128"),
        ),
        (
            "int_2p64",
            encode_packet("0", &(1i128 << 64)).expect("i128"),
        ),
        (
            "int_2p127",
            encode_packet("0", &(1u128 << 127)).expect("u128"),
        ),
        (
            "int_minus2p127",
            encode_packet("0", &i128::MIN).expect("i128"),
        ),
        (
            "ref_bigint_i64_min_minus1",
            encode_packet("0", &(i128::from(i64::MIN) - 1)).expect("i128"),
        ),
        // inside the 64-bit range they stay native
        (
            "ref_int_u64_max",
            encode_packet("0", &u128::from(u64::MAX)).expect("u128"),
        ),
    ];
    for (name, got) in cases {
        assert_eq!(&got[..], &golden(name)[..], "{name}");
    }
    assert_eq!(
        &encode_packet("0", &-5i128).expect("i128")[..],
        &golden("ref_int_minus5")[..]
    );
}

#[test]
fn wide_primitives_round_trip() {
    for v in [
        0i128,
        -5,
        i128::from(i64::MIN),
        i128::from(i64::MIN) - 1,
        1 << 64,
        i128::MIN,
        i128::MAX,
    ] {
        assert_eq!(round_trip(&v), v);
    }
    for v in [0u128, u128::from(u64::MAX), 1 << 64, 1 << 127, u128::MAX] {
        assert_eq!(round_trip(&v), v);
    }
    // received from Python
    assert_eq!(golden_as::<u128>("int_2p127").expect("decodes"), 1 << 127);
    assert_eq!(
        golden_as::<i128>("int_minus2p127").expect("decodes"),
        i128::MIN
    );
    assert_eq!(golden_as::<i128>("ref_mpz_minus7").expect("decodes"), -7);
    // too wide for the type: an error, not a wrap
    let e = golden_as::<i128>("int_2p127").expect_err("2**127 > i128::MAX");
    assert!(e.to_string().contains("i128"), "{e}");
    let e = golden_as::<u128>("int_minus2p64").expect_err("negative");
    assert!(e.to_string().contains("u128"), "{e}");
}

#[test]
fn mpz_vectors_decode_into_bigint() {
    let cases = [
        ("ref_mpz_2p70", pow2(70)),
        ("ref_mpz_minus7", BigInt::from(-7)),
        ("mpz_0", BigInt::from(0)),
        ("mpz_minus2p70", BigInt(-pow2(70).0)),
        ("mpz_2p64", pow2(64)),
    ];
    for (name, v) in cases {
        assert_eq!(golden_as::<BigInt>(name).expect("decodes"), v, "{name}");
    }
    let m = golden_as::<BigInt>("mpz_2p2048_minus1").expect("decodes");
    assert_eq!(m.bit_length(), 2048);
    // a BigInt is sent as Python int, not mpz; Value::Mpz sends mpz
    assert_ne!(
        &encode_packet("0", &pow2(70)).expect("enc")[..],
        &golden("ref_mpz_2p70")[..]
    );
    assert_eq!(
        &encode_packet("0", &Value::Mpz(pow2(70))).expect("enc")[..],
        &golden("ref_mpz_2p70")[..]
    );
}

#[test]
fn a_bigint_is_not_a_string() {
    let e = golden_as::<BigInt>("ref_str_hello").expect_err("str");
    assert!(e.to_string().contains("expected an integer"), "{e}");
    let e = golden_as::<BigInt>("ref_point_1_2").expect_err("Point");
    assert!(
        e.to_string()
            .contains("expected an integer, found a tagged \"Point\""),
        "{e}"
    );
}

// ---------------------------------------------------------------- bytes

mod as_bin {
    //! A `serde_bytes`-style field adapter: `Vec<u8>` as a byte string.
    use serde::de::{Deserializer, Error, SeqAccess, Visitor};
    use serde::Serializer;
    use std::fmt;

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = a.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[test]
fn byte_strings_are_msgpack_bin() {
    for (len, marker, header) in [
        (2usize, 0xc4u8, 2usize),
        (255, 0xc4, 2),
        (256, 0xc5, 3),
        (65535, 0xc5, 3),
        (65536, 0xc6, 5),
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let b = Bytes::from(data.clone());
        let obj = encode_value(&b).expect("encodes");
        assert_eq!(obj[0], marker, "len {len}");
        assert_eq!(
            obj.len(),
            header + len,
            "len {len}: bin, not a list of ints"
        );
        assert_eq!(&obj[header..], &data[..]);
        assert_eq!(decode::<Bytes>(&obj).expect("decodes"), b);
    }
    // Python b'\x00\x01'
    let packet = encode_packet("0", &Bytes::from_static(b"\x00\x01")).expect("encodes");
    assert_eq!(&packet[..], &golden("ref_bytes_0001")[..]);
    // bytes_len_256 was made by Python from the same pattern as above
    let data: Vec<u8> = (0..256usize).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(
        &encode_packet("0", &Bytes::from(data)).expect("encodes")[..],
        &golden("bytes_len_256")[..]
    );
}

#[test]
fn serde_bytes_style_fields_are_bin_but_vec_u8_is_a_list() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Msg {
        #[serde(with = "as_bin")]
        raw: Vec<u8>,
        blob: Bytes,
        /// A plain `Vec<u8>` is a sequence to serde: it travels as a Python
        /// list of ints (what Python would send for `list(b"...")`).
        list: Vec<u8>,
    }
    let m = Msg {
        raw: vec![1, 2, 0xff],
        blob: Bytes::from_static(b"\x00z"),
        list: vec![1, 2, 0xff],
    };
    let obj = encode_value(&m).expect("encodes");
    let want: &[u8] =
        b"\x83\xa3raw\xc4\x03\x01\x02\xff\xa4blob\xc4\x02\x00z\xa4list\x93\x01\x02\xcc\xff";
    assert_eq!(&obj[..], want);
    assert_eq!(round_trip(&m), m);

    // a Vec<u8> also accepts a received byte string (Python bytes)
    let v: Vec<u8> = golden_as("ref_bytes_0001").expect("decodes");
    assert_eq!(v, vec![0, 1]);
    // and a byte-string field accepts a list of small ints
    let raw = decode::<Msg>(
        &encode_value(&Value::Map(vec![
            ("raw".into(), Value::List(vec![Value::from(7u8)])),
            ("blob".into(), Value::Bytes(Bytes::new())),
            ("list".into(), Value::List(vec![])),
        ]))
        .expect("encodes"),
    )
    .expect("decodes");
    assert_eq!(raw.raw, vec![7]);
}

fn inside(b: &Bytes, buf: &Bytes) -> bool {
    let lo = buf.as_ptr() as usize;
    let hi = lo + buf.len();
    let p = b.as_ptr() as usize;
    p >= lo && p + b.len() <= hi
}

#[test]
fn decoded_bytes_are_slices_of_the_received_buffer() {
    let buf = golden("bytes_len_65536");
    let p = Packet::decode(buf.clone()).expect("envelope");
    assert!(inside(&p.object, &buf));
    let Value::Bytes(b) = p.value().expect("decodes") else {
        panic!("not bytes")
    };
    assert_eq!(b.len(), 65536);
    assert!(inside(&b, &buf), "Value::Bytes is a copy");

    let b2 = p.decode_object::<Bytes>().expect("decodes");
    assert_eq!(b2, b);
    assert!(inside(&b2, &buf), "decode_object::<Bytes> copied");
    let b3 = p.decode_object::<mpc_serial::Blob>().expect("decodes");
    assert_eq!(b3.0, b);
    assert!(inside(&b3.0, &buf), "decode_object::<Blob> copied");
    // a byte string asked for inside something else is a copy (serde
    // hands over `&[u8]`), equal all the same
    let (b4,): (Bytes,) =
        mpc_serial::decode(&encode_value(&(b.clone(),)).expect("enc")).expect("dec");
    assert_eq!(b4, b);

    // nested inside a list
    let buf = golden("random_22");
    let v = Packet::decode(buf.clone())
        .expect("envelope")
        .value()
        .expect("decodes");
    let Some(Value::Bytes(b)) = v.as_slice().and_then(|s| s.first()) else {
        panic!("not [bytes]: {v}")
    };
    assert_eq!(b.len(), 17);
    assert!(inside(b, &buf));

    // a copy would not be inside: the check itself can fail
    let copy = Bytes::copy_from_slice(&b[..]);
    assert!(!inside(&copy, &buf));
}

// ---------------------------------------------------------------- arrays

#[test]
fn numpy_native_arrays_decode_into_ndarray() {
    let a: NdArray<i64> = golden_as("ref_np_int64_2x3").expect("decodes");
    assert_eq!(a.shape(), &[2, 3]);
    assert_eq!(a.data(), &[0, 1, 2, 3, 4, 5]);

    let f: NdArray<f32> = golden_as("ref_np_float32").expect("decodes");
    assert_eq!(f.shape(), &[2]);
    assert_eq!(f.data(), &[1.5f32, 2.5]);

    let e: NdArray<i64> = golden_as("np_empty_2x0").expect("decodes");
    assert_eq!(e.shape(), &[2, 0]);
    assert!(e.data().is_empty());

    let d3: NdArray<i8> = golden_as("np_int64_3d").expect("decodes");
    assert_eq!(d3.shape(), &[2, 3, 4]);
    assert_eq!(d3.data(), &(-12..12).collect::<Vec<i8>>()[..]);
}

#[test]
fn numpy_object_arrays_decode_into_ndarray() {
    let a: NdArray<BigInt> = golden_as("ref_np_object_bigint").expect("decodes");
    assert_eq!(a.shape(), &[2]);
    assert_eq!(a.data(), &[pow2(70), BigInt::from(3)]);

    let v: NdArray<Value> = golden_as("np_obj_2d_bigints").expect("decodes");
    assert_eq!(v.shape(), &[2, 3]);
    assert_eq!(
        v.data(),
        &[
            Value::Int(1),
            Value::BigInt(pow2(70)),
            Value::BigInt(BigInt(-pow2(65).0)),
            Value::Int(3),
            Value::Mpz(BigInt::from(9)),
            Value::from("s"),
        ]
    );
    // mixed elements do not fit a BigInt array
    let e = golden_as::<NdArray<BigInt>>("np_obj_2d_bigints").expect_err("'s' is no int");
    assert!(e.to_string().contains("expected an integer"), "{e}");
}

#[test]
fn ndarray_encodes_as_numpy_object_array() {
    let a = NdArray::new(vec![2], vec![pow2(70), BigInt::from(3)]).expect("shape");
    let packet = encode_packet("0", &a).expect("encodes");
    assert_eq!(&packet[..], &golden("ref_np_object_bigint")[..]);

    let m = NdArray::new(vec![2, 3], (0..6i64).collect()).expect("shape");
    assert_eq!(round_trip(&m), m);
    let z = NdArray::new(vec![2, 0], Vec::<i64>::new()).expect("shape");
    assert_eq!(round_trip(&z), z);
    let s = NdArray::new(vec![], vec![5i64]).expect("0-d");
    assert_eq!(round_trip(&s), s);
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_crate_conversion_round_trips() {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), (0..6i64).collect())
        .expect("shape");
    let n = NdArray::from(a.clone());
    assert_eq!(n.shape(), &[2, 3]);
    assert_eq!(n.data(), &[0, 1, 2, 3, 4, 5]);
    let back = ndarray::ArrayD::try_from(n.clone()).expect("shape");
    assert_eq!(back, a);

    // a transposed (non-standard layout) view converts in logical order
    let t = a.t().to_owned();
    let nt = NdArray::from(t.clone());
    assert_eq!(nt.shape(), &[3, 2]);
    assert_eq!(nt.data(), &[0, 3, 1, 4, 2, 5]);
    assert_eq!(ndarray::ArrayD::try_from(nt).expect("shape"), t);

    // through the wire and back
    let wire: NdArray<i64> = round_trip(&n);
    assert_eq!(ndarray::ArrayD::try_from(wire).expect("shape"), a);
    // from Python's int64 2x3 array
    let py: NdArray<i64> = golden_as("ref_np_int64_2x3").expect("decodes");
    assert_eq!(ndarray::ArrayD::try_from(py).expect("shape"), a);
}

#[cfg(feature = "num-bigint")]
#[test]
fn num_bigint_conversion_round_trips() {
    let cases = [
        "0",
        "1",
        "-1",
        "255",
        "-256",
        "9223372036854775807",
        "-9223372036854775809",
        "18446744073709551616",
        "-1180591620717411303424",
        "32317006071311007300714876688669951960444102669715484032130345427524655138867890893197201411522913463688717960921898019494119559150490921095088152386448283120630877367300996091750197750389652106796057638384067568276792218642619756161838094338476170470581645852036305042887575891541065808607552399123930385521914333389668342420684974786564569494856176035326322058077805659331026192708460314150258592864177116725943603718461857357598351152301645904403697613233287231227125684710820209725157101726931323469678542580656697935045997268352998638215525166389437335543602135433229604645318478604952148193555853611059596230655",
        "-32317006071311007300714876688669951960444102669715484032130345427524655138867890893197201411522913463688717960921898019494119559150490921095088152386448283120630877367300996091750197750389652106796057638384067568276792218642619756161838094338476170470581645852036305042887575891541065808607552399123930385521914333389668342420684974786564569494856176035326322058077805659331026192708460314150258592864177116725943603718461857357598351152301645904403697613233287231227125684710820209725157101726931323469678542580656697935045997268352998638215525166389437335543602135433229604645318478604952148193555853611059596230656",
    ];
    for s in cases {
        let ours: BigInt = s.parse().expect("decimal");
        let theirs: num_bigint::BigInt = s.parse().expect("decimal");
        assert_eq!(num_bigint::BigInt::from(&ours), theirs, "{s}");
        assert_eq!(BigInt::from(&theirs), ours, "{s}");
        assert_eq!(
            BigInt::from(num_bigint::BigInt::from(ours.clone())),
            ours,
            "{s}"
        );
        assert_eq!(
            num_bigint::BigInt::from(BigInt::from(theirs.clone())),
            theirs,
            "{s}"
        );
        assert_eq!(num_bigint::BigInt::from(&ours).to_string(), s);
    }
    // and a value received from Python
    let m = golden_as::<BigInt>("mpz_2p2048_minus1").expect("decodes");
    let n = num_bigint::BigInt::from(&m);
    assert_eq!(n.bits(), 2048);
    assert_eq!(n + 1u8, num_bigint::BigInt::from(1u8) << 2048);
}

// ---------------------------------------------------------------- structs and enums

#[test]
fn structs_are_maps_with_field_names() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct S {
        name: String,
        n: u32,
        maybe: Option<i64>,
        flag: bool,
    }
    let s = S {
        name: "x".into(),
        n: 300,
        maybe: None,
        flag: true,
    };
    let obj = encode_value(&s).expect("encodes");
    assert_eq!(
        &obj[..],
        b"\x84\xa4name\xa1x\xa1n\xcd\x01\x2c\xa5maybe\xc0\xa4flag\xc3"
    );
    assert_eq!(round_trip(&s), s);
    let some = S {
        maybe: Some(-7),
        ..s
    };
    assert_eq!(round_trip(&some), some);

    // Python's {'1': 1, '2': 2} as a struct and as a map
    #[derive(Deserialize, Debug, PartialEq)]
    struct OneTwo {
        #[serde(rename = "1")]
        one: i64,
        #[serde(rename = "2")]
        two: i64,
    }
    assert_eq!(
        golden_as::<OneTwo>("ref_map_str_keys").expect("decodes"),
        OneTwo { one: 1, two: 2 }
    );
    let m: BTreeMap<String, i64> = golden_as("ref_map_str_keys").expect("decodes");
    assert_eq!(m.len(), 2);
    assert_eq!(m["1"], 1);
}

#[test]
fn option_none_is_nil() {
    assert_eq!(&encode_value(&None::<i64>).expect("encodes")[..], b"\xc0");
    assert_eq!(&encode_value(&Some(5i64)).expect("encodes")[..], b"\x05");
    assert_eq!(
        golden_as::<Option<String>>("ref_nil").expect("decodes"),
        None
    );
    assert_eq!(
        golden_as::<Option<String>>("ref_str_hello").expect("decodes"),
        Some("Hello!".into())
    );
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    Stop,
    Go(i64),
    Move(i64, i64),
    Set { key: String, value: Option<BigInt> },
}

#[test]
fn enums() {
    let cases: [(Cmd, &[u8]); 4] = [
        (Cmd::Stop, b"\xa4Stop"),
        (Cmd::Go(3), b"\x81\xa2Go\x03"),
        (
            Cmd::Move(1, 2),
            b"\x81\xa4Move\x82\xa4type\xa5tuple\xa4data\x92\x01\x02",
        ),
        (
            Cmd::Set {
                key: "k".into(),
                value: None,
            },
            b"\x81\xa3Set\x82\xa3key\xa1k\xa5value\xc0",
        ),
    ];
    for (cmd, want) in cases {
        let obj = encode_value(&cmd).expect("encodes");
        assert_eq!(&obj[..], want, "{cmd:?}");
        assert_eq!(round_trip(&cmd), cmd);
    }
    let set = Cmd::Set {
        key: "k".into(),
        value: Some(pow2(100)),
    };
    assert_eq!(round_trip(&set), set);

    // unknown variants and wrong shapes are errors that say what was expected
    let e = decode::<Cmd>(&encode_value("Jump").expect("enc")).expect_err("unknown variant");
    assert!(e.to_string().contains("unknown variant `Jump`"), "{e}");
    let e = decode::<Cmd>(&encode_value(&5i64).expect("enc")).expect_err("int");
    assert!(e.to_string().contains("expected an enum"), "{e}");
}

#[test]
fn nested_struct_round_trips() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Nest {
        points: Vec<Tagged<Point>>,
        pair: (String, Vec<u16>, Option<Tagged<Point>>),
        big: BigInt,
        map: BTreeMap<String, (i8, BigInt)>,
        arr: NdArray<BigInt>,
        any: Value,
    }
    let mut map = BTreeMap::new();
    map.insert("a".into(), (-1, BigInt(-pow2(90).0)));
    map.insert("é".into(), (127, BigInt::from(0)));
    let n = Nest {
        points: vec![
            Tagged(Point { x: 1, y: -2 }),
            Tagged(Point {
                x: i64::MIN,
                y: i64::MAX,
            }),
        ],
        pair: (
            "p".into(),
            vec![1, 65535],
            Some(Tagged(Point { x: 0, y: 0 })),
        ),
        big: BigInt(-pow2(200).0),
        map,
        arr: NdArray::new(vec![1, 2], vec![pow2(70), BigInt::from(-1)]).expect("shape"),
        any: Value::List(vec![
            Value::Tuple(vec![Value::Nil]),
            Value::tagged("SomethingPythonOnly", Value::from(1u8)),
            Value::Mpz(BigInt::from(-7)),
            Value::BigInt(BigInt::from(5)),
            Value::F32(1.5),
        ]),
    };
    assert_eq!(round_trip(&n), n);

    // the dynamic view of the same bytes agrees
    let v = decode_value(&encode_value(&n).expect("enc")).expect("dec");
    let pts = v.get("points").and_then(Value::as_slice).expect("points");
    assert_eq!(pts.len(), 2);
    assert!(matches!(&pts[0], Value::Tagged { type_name, .. } if type_name == "Point"));
    assert!(matches!(v.get("pair"), Some(Value::Tuple(items)) if items.len() == 3));
    assert_eq!(v.get("big"), Some(&Value::BigInt(BigInt(-pow2(200).0))));
    assert!(matches!(v.get("arr"), Some(Value::Array(a)) if a.shape() == [1, 2]));
}

// ---------------------------------------------------------------- mismatches

#[test]
fn type_mismatches_say_what_was_expected() {
    let e = golden_as::<i64>("ref_str_hello").expect_err("str as i64");
    assert!(matches!(e, DecodeError::Message(_)), "{e:?}");
    assert!(e.to_string().contains("expected i64"), "{e}");

    let e = golden_as::<String>("ref_int_1234").expect_err("int as str");
    assert!(e.to_string().contains("expected a string"), "{e}");

    let e = golden_as::<u8>("ref_int_1234").expect_err("1234 > u8");
    assert!(e.to_string().contains("expected u8"), "{e}");

    // a Python class received as a plain struct
    let e = golden_as::<Point>("ref_point_1_2").expect_err("tagged as plain");
    assert!(matches!(e, DecodeError::Message(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("expected a map, found a tagged \"Point\" object"),
        "{e}"
    );

    // the wrong class
    let e = golden_as::<Tagged<Point>>("wrapper").expect_err("Wrapper as Point");
    assert!(
        e.to_string()
            .contains("expected a tagged \"Point\" object, found type \"Wrapper\""),
        "{e}"
    );
    // not a class at all
    let e = golden_as::<Tagged<Point>>("ref_map_str_keys").expect_err("map as Point");
    assert!(e.to_string().contains("expected a tagged object"), "{e}");
    // the right class with the wrong fields
    let e = golden_as::<Tagged<Point>>("point_tuple_coords").expect_err("tuple coords");
    assert!(e.to_string().contains("expected i64"), "{e}");

    let e = golden_as::<Vec<i64>>("ref_str_hello").expect_err("str as list");
    assert!(e.to_string().contains("expected a list"), "{e}");
    let e = golden_as::<(i64, String)>("ref_int_1234").expect_err("int as tuple");
    assert!(e.to_string().contains("expected a tuple"), "{e}");
    let e = golden_as::<NdArray<i64>>("ref_str_hello").expect_err("str as array");
    assert!(e.to_string().contains("expected an array"), "{e}");
    let e = golden_as::<(i64, String, i64)>("ref_tuple_1_a").expect_err("too short");
    assert!(e.to_string().contains("invalid length 2"), "{e}");
}

// ---------------------------------------------------------------- unknown classes

#[test]
fn unknown_tagged_classes_survive_decode_encode() {
    // a class Rust does not know, received and relayed unchanged
    let packet = golden("wrapper");
    let v = Packet::decode(packet.clone())
        .expect("envelope")
        .value()
        .expect("decodes");
    assert!(matches!(&v, Value::Tagged { type_name, .. } if type_name == "Wrapper"));
    assert_eq!(&encode_packet("0", &v).expect("enc")[..], &packet[..]);

    // a hand-made one, with data of every shape
    let data = Value::Map(vec![
        (
            Value::from("a"),
            Value::Tuple(vec![Value::from(1u8), Value::BigInt(pow2(70))]),
        ),
        (
            Value::from(7u8),
            Value::Bytes(Bytes::from_static(b"\x00\x01")),
        ),
        (Value::Nil, Value::tagged("Inner", Value::List(vec![]))),
    ]);
    let v = Value::tagged("SomethingPythonOnly", data.clone());
    let packet = encode_packet("x", &v).expect("enc");
    // the wire form is {"type": "SomethingPythonOnly", "data": ...}
    let obj = &Packet::decode(packet.clone()).expect("envelope").object;
    assert!(obj.starts_with(b"\x82\xa4type\xb3SomethingPythonOnly\xa4data\x83"));
    let back = Packet::decode(packet.clone())
        .expect("envelope")
        .value()
        .expect("dec");
    assert_eq!(back, v);
    assert_eq!(&encode_packet("x", &back).expect("enc")[..], &packet[..]);

    // it also passes through a typed struct holding a Value
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Relay {
        payload: Value,
    }
    let r = Relay { payload: v };
    assert_eq!(round_trip(&r), r);
}

#[test]
fn tagged_encoding_of_unit_like_and_scalar_classes() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Secret(BigInt);
    impl PyClass for Secret {
        const TYPE_NAME: &'static str = "Secret";
    }
    // a newtype struct is transparent: data is the BigInt itself
    let s = Tagged(Secret(pow2(70)));
    let obj = encode_value(&s).expect("enc");
    let v = decode_value(&obj).expect("dec");
    assert_eq!(v, Value::tagged("Secret", Value::BigInt(pow2(70))));
    assert_eq!(round_trip(&s), s);
}

#[test]
fn shapes_standing_for_too_many_empty_lists_are_refused() {
    use mpc_serial::NdArray;
    assert!(NdArray::<i64>::new(vec![usize::MAX, 0], vec![]).is_err());
    assert!(NdArray::<i64>::new(vec![65_535, 65_535, 0], vec![]).is_err());
    assert!(NdArray::<i64>::new(vec![1000, 0], vec![]).is_ok());
    assert!(NdArray::<i64>::new(vec![2, 3], vec![0; 6]).is_ok());
}

#[test]
fn small_mpz_and_tagged_ints_fit_narrow_integer_types() {
    use mpc_serial::{decode, encode_value, BigInt, Bytes, Value};
    // Python's gmpy2.mpz(-7)
    let mpz = Bytes::from(
        (0..40)
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(&"82a474797065a36d707aa464617461c403010207"[i..i + 2], 16)
                    .unwrap()
            })
            .collect::<Vec<u8>>(),
    );
    assert_eq!(decode::<i64>(&mpz).unwrap(), -7);
    assert_eq!(decode::<i8>(&mpz).unwrap(), -7);
    assert!(decode::<u64>(&mpz).is_err(), "negative into unsigned");
    let five = encode_value(&Value::BigInt(BigInt::from(5))).unwrap();
    assert_eq!(decode::<u64>(&five).unwrap(), 5);
    let huge = encode_value(&Value::BigInt("1180591620717411303424".parse().unwrap())).unwrap();
    let err = decode::<i64>(&huge).unwrap_err().to_string();
    assert!(
        err.contains("1180591620717411303424") || err.contains("range"),
        "{err}"
    );
}

#[test]
fn untagged_enums_take_python_tuples_and_classes() {
    use mpc_serial::{decode, encode_value, PyClass, Tagged, Value};
    use serde::{Deserialize, Serialize};
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct P {
        x: i64,
        y: i64,
    }
    impl PyClass for P {
        const TYPE_NAME: &'static str = "Point";
    }
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Item {
        P(Tagged<P>),
        T((i64, i64)),
    }
    // Python's {"pts": [Point(1, 2), (3, 4)]} as a list of items
    let v = Value::List(vec![
        Value::tagged(
            "Point",
            Value::Map(vec![
                (Value::from("x"), Value::from(1)),
                (Value::from("y"), Value::from(2)),
            ]),
        ),
        Value::Tuple(vec![Value::from(3), Value::from(4)]),
    ]);
    let items: Vec<Item> = decode(&encode_value(&v).unwrap()).unwrap();
    assert_eq!(
        items,
        vec![Item::P(Tagged(P { x: 1, y: 2 })), Item::T((3, 4))]
    );
}

#[test]
fn a_value_inside_a_typed_message_keeps_its_tuples() {
    use mpc_serial::{decode, encode_value, Value};
    use serde::{Deserialize, Serialize};
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Envelope {
        meta: Value,
    }
    let e = Envelope {
        meta: Value::Tuple(vec![
            Value::from(1),
            Value::List(vec![Value::Tuple(vec![])]),
        ]),
    };
    let back: Envelope = decode(&encode_value(&e).unwrap()).unwrap();
    assert_eq!(back, e);
}

// ---------------------------------------------------------------- arrays as nested sequences

#[test]
fn ndarrays_arrive_as_nested_vecs_of_their_shape() {
    let a = NdArray::new(vec![2, 3], (0..6i64).collect()).expect("shape");
    let bytes = encode_value(&a).expect("encodes");
    // sent by Rust in numpy's object-array form...
    assert!(matches!(decode_value(&bytes), Ok(Value::Array(_))));
    // ...and received as nested sequences of any kind
    let v: Vec<Vec<i64>> = decode(&bytes).expect("Vec<Vec>");
    assert_eq!(v, vec![vec![0, 1, 2], vec![3, 4, 5]]);
    let f: [[i64; 3]; 2] = decode(&bytes).expect("[[T; 3]; 2]");
    assert_eq!(f, [[0, 1, 2], [3, 4, 5]]);
    let t: Vec<(i64, i64, i64)> = decode(&bytes).expect("Vec<(..)>");
    assert_eq!(t, vec![(0, 1, 2), (3, 4, 5)]);
    let rows: Vec<Value> = decode(&bytes).expect("rows as values");
    assert_eq!(
        rows,
        vec![
            Value::List(vec![Value::Int(0), Value::Int(1), Value::Int(2)]),
            Value::List(vec![Value::Int(3), Value::Int(4), Value::Int(5)]),
        ]
    );
    // the Value path agrees
    let v2: Vec<Vec<i64>> =
        mpc_serial::from_value(decode_value(&bytes).expect("decodes")).expect("from_value");
    assert_eq!(v2, v);

    // one dimension: a plain Vec
    let big = NdArray::from_vec(vec![pow2(70), BigInt::from(-3)]);
    let got: Vec<BigInt> = decode(&encode_value(&big).expect("encodes")).expect("Vec<BigInt>");
    assert_eq!(got, vec![pow2(70), BigInt::from(-3)]);
    // from Python: np.array([2**70, 3], dtype=object) and a 2x3 object array
    let py: Vec<BigInt> = golden_as("ref_np_object_bigint").expect("decodes");
    assert_eq!(py, vec![pow2(70), BigInt::from(3)]);
    let py: Vec<Vec<Value>> = golden_as("np_obj_2d_bigints").expect("decodes");
    assert_eq!((py.len(), py[0].len(), py[1].len()), (2, 3, 3));
    assert_eq!(py[0][1], Value::BigInt(pow2(70)));

    // three dimensions, and empty ones
    let d3 = NdArray::new(vec![2, 1, 2], vec![1i8, 2, 3, 4]).expect("shape");
    let got: Vec<Vec<Vec<i8>>> = decode(&encode_value(&d3).expect("enc")).expect("3-d");
    assert_eq!(got, vec![vec![vec![1, 2]], vec![vec![3, 4]]]);
    let e = NdArray::new(vec![2, 0], Vec::<i64>::new()).expect("shape");
    let got: Vec<Vec<i64>> = decode(&encode_value(&e).expect("enc")).expect("2x0");
    assert_eq!(got, vec![Vec::<i64>::new(), vec![]]);
    let huge = NdArray::new(vec![0, usize::MAX, usize::MAX], Vec::<i64>::new()).expect("0 items");
    let got: Vec<Vec<Vec<i64>>> = decode(&encode_value(&huge).expect("enc")).expect("0xMAXxMAX");
    assert!(got.is_empty());
}

#[test]
fn ndarrays_as_sequences_must_match_the_shape() {
    let a = NdArray::new(vec![2, 3], (0..6i64).collect()).expect("shape");
    let bytes = encode_value(&a).expect("encodes");
    // too few levels: the rows are no integers
    let e = decode::<Vec<i64>>(&bytes).expect_err("2-d as Vec<i64>");
    assert!(e.to_string().contains("expected i64"), "{e}");
    // too many levels: the elements are no sequences
    let e = decode::<Vec<Vec<Vec<i64>>>>(&bytes).expect_err("2-d as 3 levels");
    assert!(e.to_string().contains("expected a list, found int"), "{e}");
    // fixed sizes must be the shape's, shorter ones too
    let e = decode::<[[i64; 2]; 2]>(&bytes).expect_err("3 columns as 2");
    assert!(
        e.to_string()
            .contains("an ndarray dimension of length 3 received as a sequence of 2"),
        "{e}"
    );
    let e = decode::<[[i64; 3]; 1]>(&bytes).expect_err("2 rows as 1");
    assert!(
        e.to_string()
            .contains("length 2 received as a sequence of 1"),
        "{e}"
    );
    let e = decode::<[[i64; 4]; 2]>(&bytes).expect_err("3 columns as 4");
    assert!(e.to_string().contains("invalid length 3"), "{e}");
    // a 0-dimensional array is no sequence
    let s = NdArray::new(vec![], vec![5i64]).expect("0-d");
    let e = decode::<Vec<i64>>(&encode_value(&s).expect("enc")).expect_err("0-d");
    assert!(
        e.to_string().contains("expected a list, found ndarray"),
        "{e}"
    );
    // nor is a malformed ndarray (values not of the shape): a tagged object
    let bad = b"\x82\xa4type\xa7ndarray\xa4data\x82\xa6values\x92\x01\x02\xa5shape\x82\xa4type\xa5tuple\xa4data\x91\x03";
    let e = decode::<Vec<i64>>(&Bytes::from_static(bad)).expect_err("bad shape");
    assert!(
        e.to_string()
            .contains("expected a list, found tagged object"),
        "{e}"
    );
}

// ---------------------------------------------------------------- BigInt and primitives

#[test]
fn bigint_converts_from_and_to_every_primitive() {
    macro_rules! check {
        ($($t:ty),*) => {$(
            for v in [<$t>::MIN, <$t>::MAX, 0 as $t, 1 as $t, <$t>::MAX / 3] {
                let b = BigInt::from(v);
                assert_eq!(b.to_string(), v.to_string(), stringify!($t));
                assert_eq!(<$t>::try_from(&b), Ok(v), stringify!($t));
                assert_eq!(<$t>::try_from(b), Ok(v), stringify!($t));
            }
            // one past each end
            let above = BigInt(BigInt::from(<$t>::MAX).0 + 1u8);
            let e = <$t>::try_from(&above).expect_err("above MAX");
            assert_eq!(e.target, stringify!($t));
            assert!(!e.negative);
            assert_eq!(e.bit_length, above.bit_length());
            assert!(e.to_string().contains(concat!("does not fit in ", stringify!($t))), "{e}");
            let below = BigInt(BigInt::from(<$t>::MIN).0 - 1u8);
            let e = <$t>::try_from(below).expect_err("below MIN");
            assert_eq!((e.target, e.negative), (stringify!($t), true));
            assert!(e.to_string().starts_with("a negative integer of"), "{e}");
        )*};
    }
    check!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

    // a Paillier-sized value fits none of them
    let m = golden_as::<BigInt>("mpz_2p2048_minus1").expect("decodes");
    let e = u128::try_from(&m).expect_err("2048 bits");
    assert_eq!(
        e.to_string(),
        "an integer of 2048 bits does not fit in u128"
    );
    assert_eq!(i64::try_from(BigInt::from(-7i8)), Ok(-7));
    assert_eq!(
        u8::try_from(BigInt::from(-1i64)).map_err(|e| e.negative),
        Err(true)
    );
}
