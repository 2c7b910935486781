//! Malformed packets, lengths declared inside a packet beyond its body, and
//! deep nesting: 400 ("Failed processing received message"), never
//! delivered.

use mpc_pool::Value;
use mpc_test_support::raw;

use crate::{assert_malformed, assert_one, attack, limits, nested, packet};

/// Bodies the pool must refuse with 400 (as the Python package does:
/// "Failed processing received message"), each with what it is.
#[rustfmt::skip] // a table: one case a line
fn malformed_bodies() -> Vec<(String, Vec<u8>)> {
    let case = |what: &str, body: &[u8]| (what.to_owned(), body.to_vec());
    // the envelope {"object": <a bin holding nil>, "id": <`id`, as is>}
    let with_id = |id: &[u8]| [&b"\x82\xa6object\xc4\x01\xc0\xa2id"[..], id].concat();
    let mut v = vec![
        // garbage
        case("empty body", b""),
        case("a reserved marker", b"\xc1garbage"),
        case("text", b"hello, this is not msgpack"),
        case("an HTTP request as body", b"GET / HTTP/1.1\r\n\r\n"),
        case("nil", b"\xc0"),
        // wrong envelope keys
        case("key objekt", b"\x82\xa6objekt\xc4\x01\xc0\xa2id\xa10"),
        case("a third key", b"\x83\xa6object\xc4\x01\xc0\xa2id\xa10\xa5extra\xc0"),
        case("no id", b"\x81\xa6object\xc4\x01\xc0"),
        case("object twice", b"\x82\xa6object\xc4\x01\xc0\xa6object\xc4\x01\xc0"),
        case("id twice", b"\x82\xa2id\xa10\xa2id\xa11"),
        case("an array, not a map", b"\x92\xc4\x01\xc0\xa10"),
        case("object is a str, not bin", b"\x82\xa6object\xa1x\xa2id\xa10"),
        case("an int key", b"\x82\x01\xc4\x01\xc0\xa2id\xa10"),
        case("bytes after the envelope", &[&packet("0", b"\xc0")[..], b"\x00"].concat()),
        // an id that is not a string
        case("id is an int", &with_id(b"\x05")),
        case("id is nil", &with_id(b"\xc0")),
        case("id is bin", &with_id(b"\xc4\x010")),
        case("id is a list", &with_id(b"\x91\xa10")),
        case("id is a float", &with_id(b"\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00")),
        // invalid UTF-8 in the id
        case("id with invalid bytes", &with_id(b"\xa2\xff\xfe")),
        case("id with an overlong encoding", &with_id(b"\xa2\xc0\x80")),
        case("id with a surrogate", &with_id(b"\xa3\xed\xa0\x80")),
        // invalid UTF-8 inside the object
        case("a str with invalid bytes", &packet("0", b"\xa2\xff\xfe")),
        case("a map key with invalid bytes", &packet("0", b"\x81\xa2\xff\xfe\xc0")),
        case("a surrogate in a list", &packet("0", b"\x92\x01\xa3\xed\xa0\x80")),
        // other malformed objects
        case("an empty object", &packet("0", b"")),
        case("a msgpack extension", &packet("0", b"\xd4\x01\x00")),
        case("two values", &packet("0", b"\xc0\xc0")),
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
    attack(limits(), async |p| {
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
    });
}

#[test]
fn declared_lengths_beyond_the_body_and_deep_nesting_are_400() {
    attack(limits(), async |p| {
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
    });
}
