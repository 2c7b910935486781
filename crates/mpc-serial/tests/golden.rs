//! Golden vectors made by the real Python package (`cargo xtask golden`,
//! scripts/golden/gen.py): for every vector, the Rust encoder produces the
//! same bytes from an independent description of the value, and the decoder
//! gives back that value.

mod common;

use common::{hex, same};
use mpc_serial::{encode_packet, BigInt, Bytes, NdArray, Packet, Value};
use serde_json::Value as Json;

/// Builds the value a description stands for, without msgpack.
fn build(d: &Json) -> Value {
    let obj = d.as_object().expect("description is an object");
    assert_eq!(obj.len(), 1, "description {d} has one key");
    let (k, v) = obj.iter().next().expect("one key");
    match k.as_str() {
        "nil" => Value::Nil,
        "bool" => Value::Bool(v.as_bool().expect("bool")),
        "int" => Value::from(v.as_str().expect("int").parse::<BigInt>().expect("decimal")),
        "mpz" => Value::Mpz(v.as_str().expect("mpz").parse::<BigInt>().expect("decimal")),
        "f64" => Value::F64(f64::from_bits(
            u64::from_str_radix(v.as_str().expect("f64"), 16).expect("hex"),
        )),
        "f32" => Value::F32(f32::from_bits(
            u32::from_str_radix(v.as_str().expect("f32"), 16).expect("hex"),
        )),
        "str" => Value::Str(v.as_str().expect("str").to_owned()),
        "bytes" => Value::Bytes(Bytes::from(hex(v.as_str().expect("bytes")))),
        "list" => Value::List(v.as_array().expect("list").iter().map(build).collect()),
        "tuple" => Value::Tuple(v.as_array().expect("tuple").iter().map(build).collect()),
        "map" => Value::Map(
            v.as_array()
                .expect("map")
                .iter()
                .map(|kv| {
                    let kv = kv.as_array().expect("pair");
                    (build(&kv[0]), build(&kv[1]))
                })
                .collect(),
        ),
        "ndarray" => {
            let shape = v["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().expect("dim") as usize)
                .collect();
            let values = v["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(build)
                .collect();
            Value::Array(NdArray::new(shape, values).expect("consistent shape"))
        }
        "tagged" => Value::tagged(v["type"].as_str().expect("type"), build(&v["data"])),
        other => panic!("unknown description kind {other}"),
    }
}

struct Vector {
    name: String,
    id: String,
    packet: Vec<u8>,
    value: Value,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("fixtures/golden.json");
    let doc: Json = serde_json::from_str(text).expect("golden.json parses");
    assert_eq!(doc["package_version"], "5.0.4");
    doc["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| Vector {
            name: v["name"].as_str().expect("name").to_owned(),
            id: v["id"].as_str().expect("id").to_owned(),
            packet: hex(v["packet"].as_str().expect("packet")),
            value: build(&v["value"]),
        })
        .collect()
}

#[test]
fn there_are_many_vectors() {
    assert!(vectors().len() >= 200);
}

#[test]
fn encoder_matches_python_byte_for_byte() {
    let mut failed = Vec::new();
    for v in vectors() {
        let got = encode_packet(&v.id, &v.value).expect("encodes");
        if got[..] != v.packet[..] {
            failed.push(v.name);
        }
    }
    assert!(failed.is_empty(), "encoding differs for {failed:?}");
}

#[test]
fn decoder_gives_back_the_python_value() {
    let mut failed = Vec::new();
    for v in vectors() {
        let p = Packet::decode(Bytes::from(v.packet.clone())).expect("envelope decodes");
        assert_eq!(p.id, v.id, "{}", v.name);
        let got = p.value().expect("value decodes");
        if !same(&got, &v.value) {
            failed.push(format!("{}: got {got}, want {}", v.name, v.value));
        }
    }
    assert!(
        failed.is_empty(),
        "decoding differs:\n{}",
        failed.join("\n")
    );
}

#[test]
fn decode_then_encode_is_identity() {
    for v in vectors() {
        let p = Packet::decode(Bytes::from(v.packet.clone())).expect("envelope");
        let value = p.value().expect("value");
        let again = encode_packet(&p.id, &value).expect("encodes");
        assert_eq!(&again[..], &v.packet[..], "{}", v.name);
    }
}

#[test]
fn every_packet_validates() {
    for v in vectors() {
        let p = Packet::decode(Bytes::from(v.packet.clone())).expect("envelope");
        p.validate(&Default::default())
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
    }
}
