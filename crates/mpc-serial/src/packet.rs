//! The packet envelope of the Python 5.x release:
//! `{"object": <bin: the msgpack-encoded value>, "id": <str>}`.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::decode::{decode_value_with, validate, DecodeLimits, Reader};
use crate::ser::Encoder;
use crate::wire::{bin_header, write_str};
use crate::{DecodeError, EncodeError, Value};

const KEY_OBJECT: &[u8] = b"\xa6object";
/// Room reserved in front of an encoded value for `{"object": <bin header>`:
/// map marker (1) + key (7) + bin header (at most 5).
const HEAD_ROOM: usize = 1 + KEY_OBJECT.len() + 5;

/// A received packet: its message id and its still-encoded value.
///
/// `object` is a slice of the received buffer, not a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The message id.
    pub id: String,
    /// The msgpack encoding of the value.
    pub object: Bytes,
}

impl Packet {
    /// Parses the envelope of a received packet (keys in either order),
    /// without decoding the value inside.
    pub fn decode(body: Bytes) -> Result<Packet, DecodeError> {
        let mut r = Reader::new(&body);
        if r.read_map_len()? != Some(2) {
            return Err(DecodeError::Envelope {
                reason: "not a map of two entries",
            });
        }
        let mut id = None;
        let mut object = None;
        for _ in 0..2 {
            match r.read_str()? {
                Some("object") if object.is_none() => {
                    object = Some(r.read_bin_range()?.ok_or(DecodeError::Envelope {
                        reason: "\"object\" is not a byte string",
                    })?);
                }
                Some("id") if id.is_none() => {
                    id = Some(
                        r.read_str()?
                            .ok_or(DecodeError::Envelope {
                                reason: "\"id\" is not a string",
                            })?
                            .to_owned(),
                    );
                }
                _ => {
                    return Err(DecodeError::Envelope {
                        reason: "keys are not exactly \"object\" and \"id\"",
                    })
                }
            }
        }
        r.finish()?;
        match (id, object) {
            (Some(id), Some((a, b))) => Ok(Packet {
                id,
                object: body.slice(a..b),
            }),
            _ => Err(DecodeError::Envelope {
                reason: "keys are not exactly \"object\" and \"id\"",
            }),
        }
    }

    /// Checks that the value inside is well-formed msgpack within `limits`,
    /// without building it.
    pub fn validate(&self, limits: &DecodeLimits) -> Result<(), DecodeError> {
        validate(&self.object, limits)
    }

    /// Decodes the value inside.
    pub fn value(&self) -> Result<Value, DecodeError> {
        decode_value_with(&self.object, &DecodeLimits::DEFAULT)
    }

    /// Decodes the value inside as `T` (within the default limits), straight
    /// from the bytes: see [`decode_with`].
    pub fn decode_object<T: DeserializeOwned + 'static>(&self) -> Result<T, DecodeError> {
        decode_with(&self.object, &DecodeLimits::DEFAULT)
    }

    /// [`Packet::decode_object`] within `limits`.
    pub fn decode_object_with<T: DeserializeOwned + 'static>(
        &self,
        limits: &DecodeLimits,
    ) -> Result<T, DecodeError> {
        decode_with(&self.object, limits)
    }
}

/// Encodes `value` as a complete packet with message id `id`, exactly as
/// Python's `DefaultPacker().pack(value, msg_id=id)`.
///
/// The value is written once, straight into the packet buffer (the envelope
/// header is filled in in front of it afterwards): no copy of the payload.
pub fn encode_packet<T: Serialize + ?Sized>(id: &str, value: &T) -> Result<Bytes, EncodeError> {
    let mut enc = Encoder::with_buffer(vec![0u8; HEAD_ROOM]);
    value.serialize(&mut enc)?;
    let mut buf = enc.out;
    let len = buf.len() - HEAD_ROOM;
    let (h, n) = bin_header(len)?;
    let start = HEAD_ROOM - n - KEY_OBJECT.len() - 1;
    buf[start] = 0x82;
    buf[start + 1..start + 1 + KEY_OBJECT.len()].copy_from_slice(KEY_OBJECT);
    buf[HEAD_ROOM - n..HEAD_ROOM].copy_from_slice(&h[..n]);
    write_str(&mut buf, "id")?;
    write_str(&mut buf, id)?;
    Ok(Bytes::from(buf).slice(start..))
}

/// Encodes `value` as a packet like [`encode_packet`], in parts sent back
/// to back: large byte strings of a [`Value::Bytes`] or [`Blob`](crate::Blob)
/// (64 KiB and more, outside containers of unknown length) are shared with
/// the value rather than copied, so sending a large payload does not
/// duplicate it in memory. Returns the parts and their total length.
pub fn encode_packet_parts<T: Serialize + ?Sized>(
    id: &str,
    value: &T,
) -> Result<(Vec<Bytes>, usize), EncodeError> {
    use crate::ser::Part;
    let mut enc = Encoder::with_buffer(vec![0u8; HEAD_ROOM]);
    enc.parts = Some(Vec::new());
    value.serialize(&mut enc)?;
    let mut parts = enc.parts.take().unwrap_or_default();
    parts.push(Part::Owned(std::mem::take(&mut enc.out)));
    let total: usize = parts
        .iter()
        .map(|p| match p {
            Part::Owned(v) => v.len(),
            Part::Shared(b) => b.len(),
        })
        .sum();
    let object_len = total - HEAD_ROOM;
    let (h, n) = bin_header(object_len)?;
    let start = HEAD_ROOM - n - KEY_OBJECT.len() - 1;
    if let Some(Part::Owned(first)) = parts.first_mut() {
        first[start] = 0x82;
        first[start + 1..start + 1 + KEY_OBJECT.len()].copy_from_slice(KEY_OBJECT);
        first[HEAD_ROOM - n..HEAD_ROOM].copy_from_slice(&h[..n]);
    }
    if let Some(Part::Owned(last)) = parts.last_mut() {
        write_str(last, "id")?;
        write_str(last, id)?;
    }
    let mut out = Vec::with_capacity(parts.len());
    let mut len = 0;
    for (i, p) in parts.into_iter().enumerate() {
        let b = match p {
            Part::Owned(v) if i == 0 => Bytes::from(v).slice(start..),
            Part::Owned(v) => Bytes::from(v),
            Part::Shared(b) => b,
        };
        if !b.is_empty() {
            len += b.len();
            out.push(b);
        }
    }
    Ok((out, len))
}

/// Wraps an already encoded value (see [`encode_value`]) in a packet with
/// message id `id`. Used to send one encoding under several ids.
pub fn encode_packet_raw(id: &str, object: &[u8]) -> Result<Bytes, EncodeError> {
    let (h, n) = bin_header(object.len())?;
    let mut buf = Vec::with_capacity(HEAD_ROOM + object.len() + 5 + id.len());
    buf.push(0x82);
    buf.extend_from_slice(KEY_OBJECT);
    buf.extend_from_slice(&h[..n]);
    buf.extend_from_slice(object);
    write_str(&mut buf, "id")?;
    write_str(&mut buf, id)?;
    Ok(Bytes::from(buf))
}

/// Encodes `value` alone (the `object` of a packet).
pub fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, EncodeError> {
    let mut enc = Encoder::default();
    value.serialize(&mut enc)?;
    Ok(Bytes::from(enc.out))
}

/// Decodes a value encoded by [`encode_value`] (or by Python) as `T`,
/// within the default limits: see [`decode_with`].
pub fn decode<T: DeserializeOwned + 'static>(bytes: &Bytes) -> Result<T, DecodeError> {
    decode_with(bytes, &DecodeLimits::DEFAULT)
}

/// Decodes one msgpack value (the `object` of a packet) as `T` within
/// `limits`, straight from the bytes.
///
/// The result, and the error, are exactly those of
/// `decode_value_with(bytes, limits).and_then(from_value::<T>)` — the same
/// leniency, the same limits, the same byte-level error first when the
/// input is malformed — without building the [`Value`] tree in between, so
/// typed receives are several times faster (big integers are converted
/// once, strings that become field names are not allocated). Asking for
/// [`Value`], [`Bytes`] or [`Blob`](crate::Blob) itself takes the `Value`
/// path, where byte strings stay slices of `bytes`.
pub fn decode_with<T: DeserializeOwned + 'static>(
    bytes: &Bytes,
    limits: &DecodeLimits,
) -> Result<T, DecodeError> {
    crate::direct::decode_direct(bytes, limits)
}
