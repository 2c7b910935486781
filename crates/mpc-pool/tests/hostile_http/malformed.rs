//! Malformed packets, lengths declared inside a packet beyond its body, and
//! deep nesting: 400 ("Failed processing received message"), never
//! delivered.

use mpc_pool::Value;
use mpc_test_support::raw;

use crate::{assert_malformed, assert_one, limits, nested, packet, run, Pair};

/// Bodies the pool must refuse with 400 (as the Python package does:
/// "Failed processing received message"), each with what it is.
fn malformed_bodies() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = vec![
        // garbage
        ("empty body".into(), vec![]),
        ("a reserved marker".into(), b"\xc1garbage".to_vec()),
        ("text".into(), b"hello, this is not msgpack".to_vec()),
        (
            "an HTTP request as body".into(),
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        ),
        ("nil".into(), b"\xc0".to_vec()),
        // wrong envelope keys
        (
            "key objekt".into(),
            b"\x82\xa6objekt\xc4\x01\xc0\xa2id\xa10".to_vec(),
        ),
        (
            "a third key".into(),
            b"\x83\xa6object\xc4\x01\xc0\xa2id\xa10\xa5extra\xc0".to_vec(),
        ),
        ("no id".into(), b"\x81\xa6object\xc4\x01\xc0".to_vec()),
        (
            "object twice".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa6object\xc4\x01\xc0".to_vec(),
        ),
        ("id twice".into(), b"\x82\xa2id\xa10\xa2id\xa11".to_vec()),
        (
            "an array, not a map".into(),
            b"\x92\xc4\x01\xc0\xa10".to_vec(),
        ),
        (
            "object is a str, not bin".into(),
            b"\x82\xa6object\xa1x\xa2id\xa10".to_vec(),
        ),
        (
            "an int key".into(),
            b"\x82\x01\xc4\x01\xc0\xa2id\xa10".to_vec(),
        ),
        (
            "bytes after the envelope".into(),
            [&packet("0", b"\xc0")[..], b"\x00"].concat(),
        ),
        // an id that is not a string
        (
            "id is an int".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\x05".to_vec(),
        ),
        (
            "id is nil".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xc0".to_vec(),
        ),
        (
            "id is bin".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xc4\x010".to_vec(),
        ),
        (
            "id is a list".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\x91\xa10".to_vec(),
        ),
        (
            "id is a float".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00".to_vec(),
        ),
        // invalid UTF-8 in the id
        (
            "id with invalid bytes".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xa2\xff\xfe".to_vec(),
        ),
        (
            "id with an overlong encoding".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xa2\xc0\x80".to_vec(),
        ),
        (
            "id with a surrogate".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xa3\xed\xa0\x80".to_vec(),
        ),
        // invalid UTF-8 inside the object
        (
            "a str with invalid bytes".into(),
            packet("0", b"\xa2\xff\xfe"),
        ),
        (
            "a map key with invalid bytes".into(),
            packet("0", b"\x81\xa2\xff\xfe\xc0"),
        ),
        (
            "a surrogate in a list".into(),
            packet("0", b"\x92\x01\xa3\xed\xa0\x80"),
        ),
        // other malformed objects
        ("an empty object".into(), packet("0", b"")),
        ("a msgpack extension".into(), packet("0", b"\xd4\x01\x00")),
        ("two values".into(), packet("0", b"\xc0\xc0")),
    ];
    // every truncation of a good packet, and of the value inside one
    let object = mpc_pool::serial::encode_value(&(7u32, "seven", vec![1.5f64, 2.5], true))
        .expect("encodes")
        .to_vec();
    let good = packet("t", &object);
    for k in 0..good.len() {
        v.push((format!("packet cut at {k}"), good[..k].to_vec()));
    }
    for k in 0..object.len() {
        v.push((format!("object cut at {k}"), packet("t", &object[..k])));
    }
    v
}

#[test]
fn malformed_packets_are_400_and_never_delivered() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let bodies = malformed_bodies();
        assert!(bodies.len() > 60);
        for (what, body) in &bodies {
            let answer = raw::exchange(p.bob_addr, &p.post(body)).await;
            assert_malformed(&answer, what);
            p.still_serving(what).await;
        }
        // the control: the same request with a good packet is accepted
        let answer = raw::exchange(p.bob_addr, &p.post(&packet("control", b"\xa2ok"))).await;
        assert_one(&answer, 200, "a good packet");
        assert_eq!(p.received_raw("control").await, Value::from("ok"));
        p.finish().await;
    });
}

#[test]
fn declared_lengths_beyond_the_body_and_deep_nesting_are_400() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let pad = [0u8; 64];
        let cases: Vec<(&str, Vec<u8>)> = vec![
            // the packet's own bin declares 4 GiB - 1
            (
                "envelope bin of 4 GiB",
                [&b"\x82\xa6object\xc6\xff\xff\xff\xff"[..], &pad].concat(),
            ),
            (
                "envelope map of 2^32 - 1 entries",
                [&b"\xdf\xff\xff\xff\xff\xa6object\xc4\x01\xc0"[..], &pad].concat(),
            ),
            (
                "id of 4 GiB",
                [
                    &b"\x82\xa6object\xc4\x01\xc0\xa2id\xdb\xff\xff\xff\xff"[..],
                    &pad,
                ]
                .concat(),
            ),
            // the value inside declares what is not there
            (
                "bin of 4 GiB",
                packet("0", &[&b"\xc6\xff\xff\xff\xff"[..], &pad].concat()),
            ),
            (
                "str of 4 GiB",
                packet("0", &[&b"\xdb\xff\xff\xff\xff"[..], &pad].concat()),
            ),
            (
                "map of 2^32 - 1 entries",
                packet("0", &[&b"\xdf\xff\xff\xff\xff"[..], &[0xc0; 64]].concat()),
            ),
            (
                "array of 2^32 - 1 entries",
                packet("0", &[&b"\xdd\xff\xff\xff\xff"[..], &[0xc0; 64]].concat()),
            ),
            (
                "array of 2^32 - 1 maps of 2^32 - 1 entries",
                packet("0", &b"\xdd\xff\xff\xff\xff\xdf\xff\xff\xff\xff".repeat(64)),
            ),
            (
                "a tuple of 2^32 - 1 items",
                packet(
                    "0",
                    b"\x82\xa4type\xa5tuple\xa4data\xdd\xff\xff\xff\xff\xc0",
                ),
            ),
            (
                "a big int of 4 GiB",
                packet("0", b"\x82\xa4type\xa3int\xa4data\xc6\xff\xff\xff\xff\x01"),
            ),
            // 100 000 levels
            (
                "100 000 nested arrays",
                packet("0", &nested(b"\x91", 100_000, b"\xc0")),
            ),
            (
                "100 000 nested maps",
                packet("0", &nested(b"\x81\xc0", 100_000, b"\xc0")),
            ),
            (
                "100 000 nested array32 headers",
                packet("0", &nested(b"\xdd\x00\x00\x00\x01", 100_000, b"\xc0")),
            ),
            (
                "257 nested arrays (the limit is 256)",
                packet("0", &nested(b"\x91", 257, b"\xc0")),
            ),
        ];
        for (what, body) in &cases {
            assert!(body.len() < 1 << 20, "{what} fits the body limit");
            let answer = raw::exchange(p.bob_addr, &p.post(body)).await;
            assert_malformed(&answer, what);
            p.still_serving(what).await;
        }
        // the control: 256 levels, the decode depth limit, are accepted
        let answer = raw::exchange(
            p.bob_addr,
            &p.post(&packet("deep", &nested(b"\x91", 256, b"\xc0"))),
        )
        .await;
        assert_one(&answer, 200, "256 levels");
        let mut v = p.received_raw("deep").await;
        let mut depth = 0;
        while let Value::List(mut items) = v {
            depth += 1;
            v = items.pop().expect("one item");
        }
        assert_eq!((depth, v), (256, Value::Nil));
        p.finish().await;
    });
}
