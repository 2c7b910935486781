//! Hostile bytes: decoding never panics and reports the right typed
//! `DecodeError`.

mod common;

use common::hex;
use std::collections::BTreeMap;

use mpc_serial::{
    decode_value, decode_value_with, decode_with, encode_packet, encode_packet_raw, from_value,
    validate, BigInt, Bytes, DecodeError, DecodeLimits, Packet, Value,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use serde_json::Value as Json;

// ---------------------------------------------------------------- helpers

/// Every golden packet (made by Python 5.0.4): (name, packet).
fn golden() -> Vec<(String, Bytes)> {
    let doc: Json =
        serde_json::from_str(include_str!("fixtures/golden.json")).expect("golden.json parses");
    doc["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| {
            (
                v["name"].as_str().expect("name").to_owned(),
                Bytes::from(hex(v["packet"].as_str().expect("packet"))),
            )
        })
        .collect()
}

fn limits(max_depth: usize) -> DecodeLimits {
    DecodeLimits::default().with_max_depth(max_depth)
}

/// Decodes `bytes` as a value with both decoders; they must agree exactly,
/// and the result is returned. Typed decoding straight from the bytes must
/// agree too (see [`typed_agree`]).
fn both(bytes: &[u8], lim: &DecodeLimits) -> Result<Value, DecodeError> {
    let b = Bytes::copy_from_slice(bytes);
    let d = decode_value_with(&b, lim);
    let v = validate(bytes, lim);
    assert_eq!(
        d.as_ref().err(),
        v.as_ref().err(),
        "decode_value and validate disagree on {:02x?}",
        &bytes[..bytes.len().min(32)]
    );
    typed_agree(&b, lim, d.as_ref().err());
    d
}

/// Lists of lists of ...: a recursive type, as deep as its input.
#[derive(Deserialize, Debug)]
struct Nest(#[allow(dead_code)] Vec<Nest>);

/// `decode_with` into several types gives `err` when the bytes are bad
/// (`decode_value`'s error: byte-level errors come before type errors),
/// else what converting the `Value` gives.
fn typed_agree(b: &Bytes, lim: &DecodeLimits, err: Option<&DecodeError>) {
    fn one<T: DeserializeOwned + std::fmt::Debug + 'static>(
        b: &Bytes,
        lim: &DecodeLimits,
        err: Option<&DecodeError>,
    ) {
        let new = decode_with::<T>(b, lim);
        let what = std::any::type_name::<T>();
        match err {
            Some(e) => assert_eq!(
                new.as_ref().err(),
                Some(e),
                "{what} {:02x?}",
                &b[..b.len().min(32)]
            ),
            None => {
                let old = decode_value_with(b, lim).and_then(from_value::<T>);
                assert_eq!(format!("{old:?}"), format!("{new:?}"), "{what}");
            }
        }
    }
    one::<Nest>(b, lim, err);
    one::<IgnoredAny>(b, lim, err);
    one::<Vec<Value>>(b, lim, err);
    one::<Vec<Vec<i64>>>(b, lim, err);
    one::<BTreeMap<String, Value>>(b, lim, err);
    one::<(i64, String)>(b, lim, err);
    one::<Option<Vec<u8>>>(b, lim, err);
    one::<BigInt>(b, lim, err);
    one::<String>(b, lim, err);
    one::<Bytes>(b, lim, err);
}

fn err(bytes: &[u8]) -> DecodeError {
    both(bytes, &DecodeLimits::default()).expect_err("must be rejected")
}

/// A packet whose object is `object` (any bytes).
fn packet_with(object: &[u8]) -> Bytes {
    encode_packet_raw("0", object).expect("wraps")
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------- basics

#[test]
fn empty_input() {
    assert_eq!(
        err(b""),
        DecodeError::UnexpectedEof {
            offset: 0,
            needed: 1
        }
    );
    assert_eq!(
        Packet::decode(Bytes::new()).expect_err("empty"),
        DecodeError::UnexpectedEof {
            offset: 0,
            needed: 1
        }
    );
    let p = Packet::decode(packet_with(b"")).expect("envelope with empty object");
    assert_eq!(p.object.len(), 0);
    assert!(matches!(p.value(), Err(DecodeError::UnexpectedEof { .. })));
    assert!(matches!(
        p.validate(&DecodeLimits::default()),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    assert!(matches!(
        p.decode_object::<Value>(),
        Err(DecodeError::UnexpectedEof { .. })
    ));
}

/// Which prefix lengths of an `n`-byte input to try: all of the first few
/// hundred and the last few dozen.
fn prefix_lengths(n: usize) -> impl Iterator<Item = usize> {
    (0..n.min(300)).chain(n.saturating_sub(64).max(300)..n)
}

#[test]
fn every_truncation_of_every_golden_packet_is_unexpected_eof() {
    let vectors = golden();
    assert!(vectors.len() >= 200);
    let mut tried = 0usize;
    for (name, packet) in &vectors {
        // the whole packet is fine
        let p = Packet::decode(packet.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        both(&p.object, &DecodeLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));

        for k in prefix_lengths(packet.len()) {
            match Packet::decode(packet.slice(..k)) {
                Err(DecodeError::UnexpectedEof { offset, needed }) => {
                    assert!(
                        offset <= k && needed > 0,
                        "{name}[..{k}]: {offset} {needed}"
                    )
                }
                other => panic!("{name}[..{k}]: {other:?}"),
            }
            tried += 1;
        }
        // msgpack is prefix-free: no strict prefix of a value is a value
        let obj = &p.object;
        for k in prefix_lengths(obj.len()) {
            match both(&obj[..k], &DecodeLimits::default()) {
                Err(DecodeError::UnexpectedEof { offset, needed }) => {
                    assert!(
                        offset <= k && needed > 0,
                        "{name} object[..{k}]: {offset} {needed}"
                    )
                }
                other => panic!("{name} object[..{k}]: {other:?}"),
            }
            // the envelope of a truncated object is fine; its value is not
            let q = Packet::decode(packet_with(&obj[..k])).expect("envelope");
            assert!(matches!(q.value(), Err(DecodeError::UnexpectedEof { .. })));
            assert!(matches!(
                q.validate(&DecodeLimits::default()),
                Err(DecodeError::UnexpectedEof { .. })
            ));
            tried += 1;
        }
    }
    assert!(tried > 20_000, "{tried}");
}

// ---------------------------------------------------------------- depth

const DEEP: usize = 100_000;

fn deep(open: &[u8], close: &[u8]) -> Vec<u8> {
    let mut v = open.repeat(DEEP);
    v.extend_from_slice(close);
    v
}

/// Checks that `bytes` is rejected as too deep (default limit 256) at the
/// container header at `offset`, by every entry point.
fn assert_too_deep(bytes: &[u8], offset: usize, what: &str) {
    let lim = DecodeLimits::default();
    let want = DecodeError::TooDeep { offset, limit: 256 };
    assert_eq!(both(bytes, &lim).expect_err(what), want, "{what}");
    assert_eq!(
        decode_value(&Bytes::copy_from_slice(bytes)).expect_err(what),
        want,
        "{what}"
    );
    // inside a packet
    let p = Packet::decode(packet_with(bytes)).expect("envelope");
    assert_eq!(p.value().expect_err(what), want, "{what}");
    assert_eq!(p.validate(&lim).expect_err(what), want, "{what}");
    assert_eq!(p.decode_object::<Value>().expect_err(what), want, "{what}");
    assert_eq!(
        p.decode_object::<Vec<Value>>().expect_err(what),
        want,
        "{what}"
    );
    // typed, straight from the bytes: a recursive type follows the input
    // down to the limit (no stack overflow), others fail there too
    assert_eq!(p.decode_object::<Nest>().expect_err(what), want, "{what}");
    assert_eq!(
        p.decode_object::<IgnoredAny>().expect_err(what),
        want,
        "{what}"
    );
    assert_eq!(
        p.decode_object::<Vec<Vec<i64>>>().expect_err(what),
        want,
        "{what}"
    );
}

#[test]
fn deeply_nested_arrays_are_too_deep() {
    // the 257th list (offset 256) is one too many
    assert_too_deep(&deep(b"\x91", b"\xc0"), 256, "fixarray");
    assert_too_deep(&deep(b"\xdc\x00\x01", b"\xc0"), 3 * 256, "array16");
    assert_too_deep(&deep(b"\xdd\x00\x00\x00\x01", b"\xc0"), 5 * 256, "array32");
}

#[test]
fn deeply_nested_maps_are_too_deep() {
    // nested as values: {nil: {nil: ...}}
    assert_too_deep(&deep(b"\x81\xc0", b"\xc0"), 2 * 256, "map values");
    // nested as keys: {{{...: nil}: nil}: nil} (ends without the values)
    assert_too_deep(&deep(b"\x81", b"\xc0"), 256, "map keys");
    assert_too_deep(
        &deep(b"\xdf\x00\x00\x00\x01", b"\xc0"),
        5 * 256,
        "map32 keys",
    );
    // alternating lists and maps: the 257th container is a list at 128 * 4
    assert_too_deep(&deep(b"\x91\x81\xa1k", b"\xc0"), 128 * 4, "mixed");
}

#[test]
fn max_depth_boundary() {
    // `max_depth` n admits n levels of nested containers (a top-level list
    // is level 1; scalars need none) and rejects the container that would
    // be level n + 1, reporting its offset.
    for n in [0usize, 1, 2, 3, 7, 256] {
        let lim = limits(n);
        for k in 0..=n + 2 {
            for (what, bytes) in [
                (
                    "innermost empty list",
                    cat(&[
                        &b"\x91".repeat(k.saturating_sub(1)),
                        if k > 0 { b"\x90" } else { b"\xc0" },
                    ]),
                ),
                ("innermost holds nil", cat(&[&b"\x91".repeat(k), b"\xc0"])),
                (
                    "innermost empty map",
                    cat(&[
                        &b"\x81\xa0".repeat(k.saturating_sub(1)),
                        if k > 0 { b"\x80" } else { b"\x05" },
                    ]),
                ),
                ("map chain", cat(&[&b"\x81\xa0".repeat(k), b"\x05"])),
            ] {
                let got = both(&bytes, &lim);
                if k <= n {
                    got.unwrap_or_else(|e| panic!("n={n} k={k} {what}: {e}"));
                } else {
                    let unit = if what.contains("map") { 2 } else { 1 };
                    assert_eq!(
                        got.expect_err("too deep"),
                        DecodeError::TooDeep {
                            offset: n * unit,
                            limit: n
                        },
                        "n={n} k={k} {what}"
                    );
                }
            }
        }
    }
    // depth 0 still admits any scalar
    for s in [
        &b"\xc0"[..],
        b"\x05",
        b"\xa1x",
        b"\xc4\x01\x00",
        b"\xcb\0\0\0\0\0\0\0\0",
    ] {
        both(s, &limits(0)).expect("scalar");
    }
}

#[test]
fn tagged_objects_count_their_map() {
    // Python's (1,) is {"type": "tuple", "data": [1]}: two levels
    let t = encode_packet("0", &Value::Tuple(vec![Value::from(1u8)])).expect("enc");
    let p = Packet::decode(t).expect("envelope");
    assert!(matches!(
        p.validate(&limits(1)),
        Err(DecodeError::TooDeep {
            offset: 17,
            limit: 1
        })
    ));
    p.validate(&limits(2)).expect("two levels");
    assert_eq!(
        both(&p.object, &limits(2)).expect("ok"),
        Value::Tuple(vec![Value::from(1u8)])
    );
    // and a big int one level
    let b = encode_packet("0", &Value::BigInt(1u8.into())).expect("enc");
    let p = Packet::decode(b).expect("envelope");
    assert!(both(&p.object, &limits(0)).is_err());
    both(&p.object, &limits(1)).expect("one level");
}

#[test]
fn validate_and_decode_value_agree_on_golden_objects_at_every_depth() {
    for (name, packet) in golden() {
        let p = Packet::decode(packet).expect("envelope");
        // rejected below its depth, accepted from it on (and `both`
        // checks the two decoders agree at every limit)
        let depth = (0..64)
            .find(|&n| both(&p.object, &limits(n)).is_ok())
            .unwrap_or_else(|| panic!("{name}: deeper than 64"));
        for n in depth..depth + 3 {
            both(&p.object, &limits(n)).unwrap_or_else(|e| panic!("{name} at {n}: {e}"));
        }
        if depth > 0 {
            assert!(matches!(
                both(&p.object, &limits(depth - 1)),
                Err(DecodeError::TooDeep { limit, .. }) if limit == depth - 1
            ));
        }
    }
}

// ---------------------------------------------------------------- lengths

#[test]
fn huge_declared_bin_and_str_are_unexpected_eof() {
    // 4 GiB declared, 3 bytes present: an error, not an allocation
    let bin = b"\xc6\xff\xff\xff\xff\x00\x01\x02";
    assert_eq!(
        err(bin),
        DecodeError::UnexpectedEof {
            offset: 5,
            needed: 0xffff_ffff - 3
        }
    );
    let s = b"\xdb\xff\xff\xff\xffabc";
    assert_eq!(
        err(s),
        DecodeError::UnexpectedEof {
            offset: 5,
            needed: 0xffff_ffff - 3
        }
    );
    assert!(matches!(
        err(b"\xc5\xff\xff\x00"),
        DecodeError::UnexpectedEof {
            offset: 3,
            needed: 65534
        }
    ));
    assert!(matches!(
        err(b"\xc4\xff"),
        DecodeError::UnexpectedEof {
            offset: 2,
            needed: 255
        }
    ));

    // inside a list, and as the packet's object itself
    assert!(matches!(
        err(&cat(&[b"\x92\xc0", bin])),
        DecodeError::UnexpectedEof { offset: 7, .. }
    ));
    let p = Packet::decode(packet_with(bin)).expect("envelope");
    assert!(matches!(p.value(), Err(DecodeError::UnexpectedEof { .. })));
    let env = cat(&[b"\x82\xa6object", bin]);
    assert!(matches!(
        Packet::decode(Bytes::from(env)),
        Err(DecodeError::UnexpectedEof { offset: 13, .. })
    ));
    let env = cat(&[b"\x82\xa6object\xc4\x01\xc0\xa2id", s]);
    assert!(matches!(
        Packet::decode(Bytes::from(env)),
        Err(DecodeError::UnexpectedEof { .. })
    ));
}

#[test]
fn huge_declared_array_and_map_are_unexpected_eof() {
    assert_eq!(
        err(b"\xdd\xff\xff\xff\xff"),
        DecodeError::UnexpectedEof {
            offset: 5,
            needed: 1
        }
    );
    assert_eq!(
        err(b"\xdf\xff\xff\xff\xff"),
        DecodeError::UnexpectedEof {
            offset: 5,
            needed: 1
        }
    );
    assert_eq!(
        err(b"\xdc\xff\xff\x01\x02"),
        DecodeError::UnexpectedEof {
            offset: 5,
            needed: 1
        }
    );
    assert_eq!(
        err(b"\xde\xff\xff\xa1k"),
        DecodeError::UnexpectedEof {
            offset: 5,
            needed: 1
        }
    );
    // with some items present
    let mut v = b"\xdd\xff\xff\xff\xff".to_vec();
    v.extend(std::iter::repeat_n(0xc0u8, 1000));
    assert_eq!(
        err(&v),
        DecodeError::UnexpectedEof {
            offset: 1005,
            needed: 1
        }
    );
    // nested: every level declares 2^32 - 1
    let v = b"\xdd\xff\xff\xff\xff".repeat(200);
    assert_eq!(
        err(&v),
        DecodeError::UnexpectedEof {
            offset: 1000,
            needed: 1
        }
    );
    let v = b"\xdf\xff\xff\xff\xff\xa0".repeat(200);
    assert_eq!(
        err(&v),
        DecodeError::UnexpectedEof {
            offset: 1200,
            needed: 1
        }
    );
    // a packet whose envelope map declares 2^32 - 1 entries
    assert!(matches!(
        Packet::decode(Bytes::from_static(b"\xdf\xff\xff\xff\xff")),
        Err(DecodeError::Envelope { .. })
    ));
}

// ---------------------------------------------------------------- bad bytes

#[test]
fn invalid_utf8_in_strings() {
    assert_eq!(err(b"\xa2\xff\xfe"), DecodeError::InvalidUtf8 { offset: 1 });
    // a lone continuation byte, a truncated sequence, a surrogate, overlong
    for bad in [
        &b"\xa1\x80"[..],
        b"\xa2\xc3x",
        b"\xa3\xed\xa0\x80",
        b"\xa2\xc0\xaf",
    ] {
        assert_eq!(
            err(bad),
            DecodeError::InvalidUtf8 { offset: 1 },
            "{bad:02x?}"
        );
    }
    // as a map key, long-form, nested
    assert_eq!(
        err(b"\x81\xa1\xff\xc0"),
        DecodeError::InvalidUtf8 { offset: 2 }
    );
    assert_eq!(
        err(b"\x91\xd9\x01\xff"),
        DecodeError::InvalidUtf8 { offset: 3 }
    );
    // in the envelope: the id, and a key
    let env = cat(&[b"\x82\xa6object\xc4\x01\xc0\xa2id\xa1\xff"]);
    assert_eq!(
        Packet::decode(Bytes::from(env)).expect_err("bad id"),
        DecodeError::InvalidUtf8 { offset: 15 }
    );
    let env = cat(&[b"\x82\xa6objec\xff\xc4\x01\xc0\xa2id\xa10"]);
    assert_eq!(
        Packet::decode(Bytes::from(env)).expect_err("bad key"),
        DecodeError::InvalidUtf8 { offset: 2 }
    );
    // but invalid UTF-8 inside bytes is just bytes
    assert_eq!(
        both(b"\xc4\x02\xff\xfe", &DecodeLimits::default()).expect("bin"),
        Value::Bytes(Bytes::from_static(b"\xff\xfe"))
    );
}

#[test]
fn extension_and_reserved_markers_are_unsupported() {
    let markers = [0xc1u8, 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8];
    for m in markers {
        // followed by plausible extension bytes
        let bytes = [
            m, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(
            err(&bytes[..1]),
            DecodeError::UnsupportedMarker {
                offset: 0,
                marker: m
            }
        );
        assert_eq!(
            err(&bytes),
            DecodeError::UnsupportedMarker {
                offset: 0,
                marker: m
            }
        );
        assert_eq!(
            err(&[0x92, 0xc0, m]),
            DecodeError::UnsupportedMarker {
                offset: 2,
                marker: m
            }
        );
        let p = Packet::decode(packet_with(&bytes)).expect("envelope");
        assert_eq!(
            p.value().expect_err("ext"),
            DecodeError::UnsupportedMarker {
                offset: 0,
                marker: m
            }
        );
        // in the envelope itself
        let env = cat(&[
            b"\x82\xa6object\xc4\x01\xc0\xa2id",
            &[m, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ]);
        assert_eq!(
            Packet::decode(Bytes::from(env)).expect_err("ext id"),
            DecodeError::UnsupportedMarker {
                offset: 14,
                marker: m
            }
        );
        let env = [0x82, m];
        assert_eq!(
            Packet::decode(Bytes::copy_from_slice(&env)).expect_err("ext key"),
            DecodeError::UnsupportedMarker {
                offset: 1,
                marker: m
            }
        );
    }
}

#[test]
fn trailing_bytes() {
    assert_eq!(
        err(b"\xc0\xc0"),
        DecodeError::TrailingBytes {
            offset: 1,
            remaining: 1
        }
    );
    assert_eq!(
        err(b"\x92\x01\x02\x03\x04"),
        DecodeError::TrailingBytes {
            offset: 3,
            remaining: 2
        }
    );
    // after a complete packet
    let mut p = encode_packet("0", &Value::from(1u8)).expect("enc").to_vec();
    let n = p.len();
    p.push(0xc0);
    assert_eq!(
        Packet::decode(Bytes::from(p)).expect_err("trailing"),
        DecodeError::TrailingBytes {
            offset: n,
            remaining: 1
        }
    );
    // two packets back to back
    let one = encode_packet("0", "x").expect("enc");
    let two = Bytes::from(cat(&[&one, &one]));
    assert!(matches!(
        Packet::decode(two),
        Err(DecodeError::TrailingBytes { .. })
    ));
}

// ---------------------------------------------------------------- envelopes

fn envelope_err(bytes: &[u8]) -> &'static str {
    match Packet::decode(Bytes::copy_from_slice(bytes)) {
        Err(DecodeError::Envelope { reason }) => reason,
        other => panic!("{bytes:02x?}: not an envelope error: {other:?}"),
    }
}

#[test]
fn bad_envelopes() {
    const OBJ: &[u8] = b"\xa6object\xc4\x01\xc0";
    const ID: &[u8] = b"\xa2id\xa10";
    // the good ones, in both orders
    let good = Packet::decode(Bytes::from(cat(&[b"\x82", OBJ, ID]))).expect("good");
    assert_eq!((good.id.as_str(), &good.object[..]), ("0", &b"\xc0"[..]));
    let rev = Packet::decode(Bytes::from(cat(&[b"\x82", ID, OBJ]))).expect("keys swapped");
    assert_eq!(rev, good);
    // map16 header for two entries is still a map of two entries
    Packet::decode(Bytes::from(cat(&[b"\xde\x00\x02", OBJ, ID]))).expect("map16");

    let cases: [(&str, Vec<u8>); 16] = [
        ("wrong key", cat(&[b"\x82\xa3obj\xc4\x01\xc0", ID])),
        ("wrong id key", cat(&[b"\x82", OBJ, b"\xa3ids\xa10"])),
        ("3 keys", cat(&[b"\x83", OBJ, ID, b"\xa1x\x01"])),
        ("1 key", cat(&[b"\x81", OBJ])),
        ("0 keys", b"\x80".to_vec()),
        ("int id", cat(&[b"\x82", OBJ, b"\xa2id\x00"])),
        ("nil id", cat(&[b"\x82", OBJ, b"\xa2id\xc0"])),
        ("bin id", cat(&[b"\x82", OBJ, b"\xa2id\xc4\x010"])),
        ("object not bin (str)", cat(&[b"\x82\xa6object\xa1x", ID])),
        (
            "object not bin (4.x: inline value)",
            cat(&[b"\x82\xa6object\x01", ID]),
        ),
        ("duplicated id", cat(&[b"\x82", ID, ID])),
        ("duplicated object", cat(&[b"\x82", OBJ, OBJ])),
        ("int key", cat(&[b"\x82\x00\xc4\x01\xc0", ID])),
        ("non-map: list", cat(&[b"\x92", OBJ])),
        ("non-map: nil", b"\xc0".to_vec()),
        (
            "non-map: 2.x JSON",
            br#"{"type": "str", "data": "x", "id": 0}"#.to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let reason = envelope_err(&bytes);
        assert!(!reason.is_empty(), "{what}");
    }
    // a non-map value that is a complete msgpack value by itself
    for v in [&b"\xa1x"[..], b"\x05", b"\xc4\x01\x00", b"\xc3"] {
        envelope_err(v);
    }
    // the reasons say what is wrong
    assert!(envelope_err(b"\xc0").contains("map"));
    assert!(envelope_err(&cat(&[b"\x82", OBJ, b"\xa2id\x00"])).contains("\"id\""));
    assert!(envelope_err(&cat(&[b"\x82\xa6object\xa1x", ID])).contains("\"object\""));
}

#[test]
fn bad_tagged_objects_stay_generic_and_round_trip() {
    // forms that look like known tags but are not what Python writes: they
    // must neither panic nor be "fixed", and must re-encode unchanged
    let cases: [&[u8]; 14] = [
        b"\x82\xa4type\xa3int\xa4data\xc4\x00",           // empty int bytes
        b"\x82\xa4type\xa3int\xa4data\xc4\x02\x05\x00",   // non-minimal int
        b"\x82\xa4type\xa3int\xa4data\x05",               // int data not bin
        b"\x82\xa4type\xa3mpz\xa4data\xc4\x00",           // empty mpz
        b"\x82\xa4type\xa3mpz\xa4data\xc4\x02\x02\x01",   // bad mpz version
        b"\x82\xa4type\xa3mpz\xa4data\xc4\x03\x01\x01\x00", // non-minimal mpz
        b"\x82\xa4type\xa5tuple\xa4data\x80",             // tuple of a map
        b"\x82\xa4type\xa7ndarray\xa4data\xc0",           // ndarray of nil
        // values/shape mismatch
        b"\x82\xa4type\xa7ndarray\xa4data\x82\xa6values\x92\x01\x02\xa5shape\x82\xa4type\xa5tuple\xa4data\x91\x03",
        // negative dimension
        b"\x82\xa4type\xa7ndarray\xa4data\x82\xa6values\x90\xa5shape\x82\xa4type\xa5tuple\xa4data\x91\xff",
        // shape a list, not a tuple
        b"\x82\xa4type\xa7ndarray\xa4data\x82\xa6values\x90\xa5shape\x91\x00",
        // huge dimensions after a zero
        b"\x82\xa4type\xa7ndarray\xa4data\x82\xa6values\x90\xa5shape\x82\xa4type\xa5tuple\xa4data\x93\x00\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
        // type not a string: a plain map
        b"\x82\xa4type\x01\xa4data\x02",
        // data before type: a plain map
        b"\x82\xa4data\x02\xa4type\xa1x",
    ];
    for c in cases {
        let v = both(c, &DecodeLimits::default()).unwrap_or_else(|e| panic!("{c:02x?}: {e}"));
        let again = mpc_serial::encode_value(&v).expect("encodes");
        assert_eq!(&again[..], c, "{v}");
    }
}

#[test]
fn bad_python_data_into_typed_values_is_an_error_not_a_panic() {
    use mpc_serial::{BigInt, NdArray};
    let huge_dims = b"\x82\xa4type\xa7ndarray\xa4data\x82\xa6values\x90\xa5shape\x82\xa4type\xa5tuple\xa4data\x93\x00\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xcf\xff\xff\xff\xff\xff\xff\xff\xff";
    let b = Bytes::from_static(huge_dims);
    let a: NdArray<i64> = mpc_serial::decode(&b).expect("an empty array of a huge shape");
    assert!(a.data().is_empty());
    assert_eq!(a.shape(), &[0, usize::MAX, usize::MAX]);
    // through `deserialize_any` (a Value inside a struct) and back out
    let v: Vec<Value> = mpc_serial::decode(&Bytes::from(cat(&[b"\x91", huge_dims]))).expect("ok");
    assert_eq!(&mpc_serial::encode_value(&v).expect("enc")[1..], huge_dims);

    // lenient where harmless: an empty "int" is zero...
    let zero =
        mpc_serial::decode::<BigInt>(&Bytes::from_static(b"\x82\xa4type\xa3int\xa4data\xc4\x00"));
    assert_eq!(zero, Ok(BigInt::from(0)));
    // ...but a bad mpz is an error
    let e = mpc_serial::decode::<BigInt>(&Bytes::from_static(
        b"\x82\xa4type\xa3mpz\xa4data\xc4\x02\x02\x01",
    ))
    .expect_err("bad mpz");
    assert!(e.to_string().contains("mpz"), "{e}");
}

#[test]
fn arrays_of_huge_empty_shapes_do_not_overflow() {
    use mpc_serial::NdArray;
    let a = NdArray::new(vec![0, usize::MAX, usize::MAX], Vec::<i64>::new()).expect("0 elements");
    let bytes = mpc_serial::encode_value(&a).expect("encodes");
    let back: NdArray<i64> = mpc_serial::decode(&bytes).expect("decodes");
    assert_eq!(back, a);
    let v = decode_value(&bytes).expect("decodes");
    assert!(matches!(&v, Value::Array(x) if x.shape() == [0, usize::MAX, usize::MAX]));
    assert_eq!(mpc_serial::encode_value(&v).expect("encodes"), bytes);
    #[cfg(feature = "ndarray")]
    assert!(ndarray::ArrayD::try_from(a).is_err());
}

// ---------------------------------------------------------------- typed

/// A typed decode reports what decoding the `Value` would: a malformed
/// input's byte-level error, even where the type does not fit earlier on.
#[test]
fn typed_errors_come_after_byte_errors() {
    let lim = DecodeLimits::default();
    let typed = |bytes: &[u8]| decode_with::<Vec<i64>>(&Bytes::copy_from_slice(bytes), &lim);
    // ["x", <truncated string>]: "x" is no i64, but the input is cut
    assert_eq!(
        typed(b"\x92\xa1x\xa5ab"),
        Err(DecodeError::UnexpectedEof {
            offset: 4,
            needed: 3
        })
    );
    // ["x", <257 levels of lists>]
    let mut deep_after = b"\x92\xa1x".to_vec();
    deep_after.extend(b"\x91".repeat(300));
    deep_after.push(0xc0);
    assert_eq!(
        typed(&deep_after),
        Err(DecodeError::TooDeep {
            offset: 3 + 255,
            limit: 256
        })
    );
    // ["x", <invalid UTF-8>], ["x", <extension>], ["x", 1] + trailing
    assert_eq!(
        typed(b"\x92\xa1x\xa1\xff"),
        Err(DecodeError::InvalidUtf8 { offset: 4 })
    );
    assert_eq!(
        typed(b"\x92\xa1x\xd4\x00\x00"),
        Err(DecodeError::UnsupportedMarker {
            offset: 3,
            marker: 0xd4
        })
    );
    assert_eq!(
        typed(b"\x92\xa1x\x01\xc0"),
        Err(DecodeError::TrailingBytes {
            offset: 4,
            remaining: 1
        })
    );
    // ...and the type error when the bytes are fine
    let e = typed(b"\x92\xa1x\x01").expect_err("a string is no i64");
    assert!(matches!(e, DecodeError::Message(_)), "{e:?}");
    assert!(e.to_string().contains("expected i64"), "{e}");
    // the same as the Value path, which the check can tell apart
    let old =
        from_value::<Vec<i64>>(decode_value(&Bytes::from_static(b"\x92\xa1x\x01")).expect("valid"));
    assert_eq!(old, Err(e));
    assert_ne!(old, Ok(vec![0, 1]));
}

/// Lengths are checked against the bytes present by the typed decoder too:
/// huge declared lengths are an error, not an allocation.
#[test]
fn typed_huge_declared_lengths_are_unexpected_eof() {
    let lim = DecodeLimits::default();
    let b = |x: &[u8]| Bytes::copy_from_slice(x);
    let eof = |offset, needed| Some(DecodeError::UnexpectedEof { offset, needed });
    // 4 GiB string and byte string, 3 bytes present
    assert_eq!(
        decode_with::<String>(&b(b"\xdb\xff\xff\xff\xffabc"), &lim).err(),
        eof(5, 0xffff_fffc)
    );
    assert_eq!(
        decode_with::<Option<Vec<u8>>>(&b(b"\xc6\xff\xff\xff\xff\x00\x01\x02"), &lim).err(),
        eof(5, 0xffff_fffc)
    );
    // lists and maps of 2^32 - 1 items, a few present
    let mut v = b"\xdd\xff\xff\xff\xff".to_vec();
    v.extend(std::iter::repeat_n(0x01u8, 1000));
    assert_eq!(decode_with::<Vec<i64>>(&b(&v), &lim).err(), eof(1005, 1));
    assert_eq!(decode_with::<Vec<u8>>(&b(&v), &lim).err(), eof(1005, 1));
    let v = b"\xdf\xff\xff\xff\xff\xa1k\x01";
    assert_eq!(
        decode_with::<BTreeMap<String, i64>>(&b(v), &lim).err(),
        eof(8, 1)
    );
    // nested: every level declares 2^32 - 1
    let v = b"\xdd\xff\xff\xff\xff".repeat(200);
    assert_eq!(decode_with::<Nest>(&b(&v), &lim).err(), eof(1000, 1));
    // a tagged big int whose bytes are cut
    let v = b"\x82\xa4type\xa3int\xa4data\xc5\x01\x00\x01\x02";
    assert_eq!(decode_with::<BigInt>(&b(v), &lim).err(), eof(18, 254));
    assert_eq!(decode_with::<u64>(&b(v), &lim).err(), eof(18, 254));
}
