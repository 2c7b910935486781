//! msgpack write primitives over `rmp` (the encoding layer of rmp-serde),
//! which writes the shortest form of every item, exactly as `ormsgpack`
//! does (pinned by the golden vectors).
//!
//! Writing into a `Vec<u8>` cannot fail for I/O reasons; the only error is
//! a length over msgpack's 2^32 - 1, checked before writing.

use rmp::encode as rmp_enc;

use crate::EncodeError;

fn io(e: impl std::fmt::Display) -> EncodeError {
    EncodeError::Message(format!("msgpack write failed: {e}"))
}

fn len32(what: &'static str, len: usize) -> Result<u32, EncodeError> {
    u32::try_from(len).map_err(|_| EncodeError::TooLong { what, len })
}

pub(crate) fn write_nil(out: &mut Vec<u8>) {
    out.push(rmp::Marker::Null.to_u8());
}

pub(crate) fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.push(
        if v {
            rmp::Marker::True
        } else {
            rmp::Marker::False
        }
        .to_u8(),
    );
}

pub(crate) fn write_uint(out: &mut Vec<u8>, v: u64) {
    // writing to a Vec cannot fail
    let _ = rmp_enc::write_uint(out, v);
}

pub(crate) fn write_sint(out: &mut Vec<u8>, v: i64) {
    // positive values take the unsigned forms, as ormsgpack writes them
    let _ = rmp_enc::write_sint(out, v);
}

pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    let _ = rmp_enc::write_f32(out, v);
}

pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    let _ = rmp_enc::write_f64(out, v);
}

pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), EncodeError> {
    let len = len32("string", s.len())?;
    rmp_enc::write_str_len(out, len).map_err(io)?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The bin header for `len` bytes, and how many of its bytes are used.
pub(crate) fn bin_header(len: usize) -> Result<([u8; 5], usize), EncodeError> {
    let len = len32("byte string", len)?;
    let mut h = Vec::with_capacity(5);
    rmp_enc::write_bin_len(&mut h, len).map_err(io)?;
    let mut out = [0u8; 5];
    out[..h.len()].copy_from_slice(&h);
    Ok((out, h.len()))
}

pub(crate) fn write_bin(out: &mut Vec<u8>, b: &[u8]) -> Result<(), EncodeError> {
    let len = len32("byte string", b.len())?;
    // room for the item and a little more, so that a packet's short
    // trailer after a large byte string does not reallocate (and copy) it
    out.reserve(b.len() + 64);
    rmp_enc::write_bin_len(out, len).map_err(io)?;
    out.extend_from_slice(b);
    Ok(())
}

pub(crate) fn write_array_len(out: &mut Vec<u8>, len: usize) -> Result<(), EncodeError> {
    let len = len32("list", len)?;
    rmp_enc::write_array_len(out, len).map_err(io)?;
    Ok(())
}

pub(crate) fn write_map_len(out: &mut Vec<u8>, len: usize) -> Result<(), EncodeError> {
    let len = len32("map", len)?;
    rmp_enc::write_map_len(out, len).map_err(io)?;
    Ok(())
}

/// Writes the start of a Python tagged object, `{"type": name, "data": `,
/// leaving the data to the caller.
pub(crate) fn write_tag_start(out: &mut Vec<u8>, type_name: &str) -> Result<(), EncodeError> {
    write_map_len(out, 2)?;
    write_str(out, "type")?;
    write_str(out, type_name)?;
    write_str(out, "data")
}
