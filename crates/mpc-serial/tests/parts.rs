//! Packets in parts: large byte strings shared with the value, not copied.

use mpc_serial::{encode_packet, encode_packet_parts, Blob, Bytes, Packet, Value};

fn concat(parts: &[Bytes]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

#[test]
fn parts_are_the_same_bytes_as_one_packet_and_share_the_payload() {
    let big = Bytes::from(vec![7u8; 300_000]);
    let values = vec![
        Value::Bytes(big.clone()),
        Value::List(vec![
            Value::from(1),
            Value::Bytes(big.clone()),
            Value::from("x"),
        ]),
        Value::Tuple(vec![Value::Bytes(big.clone()), Value::Bytes(big.clone())]),
        Value::tagged("Blobby", Value::Bytes(big.clone())),
        Value::Bytes(Bytes::from_static(b"small")),
    ];
    for v in &values {
        let one = encode_packet("17", v).unwrap();
        let (parts, len) = encode_packet_parts("17", v).unwrap();
        assert_eq!(len, one.len());
        assert_eq!(concat(&parts), one.to_vec(), "{}", v.kind());
    }
    // the payload itself is a part, not a copy
    let (parts, _) = encode_packet_parts("0", &Value::Bytes(big.clone())).unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[1].as_ptr(), big.as_ptr());
    // and the receiver gets it back
    let p = Packet::decode(Bytes::from(concat(&parts))).unwrap();
    assert_eq!(p.decode_object::<Blob>().unwrap(), Blob(big.clone()));
    // a typed Blob too
    let (parts, _) = encode_packet_parts("0", &(1u8, Blob(big.clone()))).unwrap();
    assert!(parts.iter().any(|p| p.as_ptr() == big.as_ptr()));
    assert_eq!(
        concat(&parts),
        encode_packet("0", &(1u8, Blob(big))).unwrap().to_vec()
    );
}
