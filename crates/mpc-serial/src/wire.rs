//! msgpack write primitives, producing exactly the encodings `ormsgpack`
//! produces (always the shortest form).

use crate::EncodeError;

pub(crate) fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

pub(crate) fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xc3 } else { 0xc2 });
}

pub(crate) fn write_uint(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
    } else if v <= u8::MAX as u64 {
        out.extend_from_slice(&[0xcc, v as u8]);
    } else if v <= u16::MAX as u64 {
        out.push(0xcd);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v <= u32::MAX as u64 {
        out.push(0xce);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

pub(crate) fn write_sint(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_uint(out, v as u64);
    } else if v >= -32 {
        out.push(v as i8 as u8);
    } else if v >= i8::MIN as i64 {
        out.extend_from_slice(&[0xd0, v as i8 as u8]);
    } else if v >= i16::MIN as i64 {
        out.push(0xd1);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= i32::MIN as i64 {
        out.push(0xd2);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    out.push(0xca);
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

fn len32(what: &'static str, len: usize) -> Result<u32, EncodeError> {
    u32::try_from(len).map_err(|_| EncodeError::TooLong { what, len })
}

pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), EncodeError> {
    let len = len32("string", s.len())?;
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= u8::MAX as u32 {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= u16::MAX as u32 {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Writes a bin header into `out` and returns the number of bytes written.
pub(crate) fn bin_header(len: usize) -> Result<([u8; 5], usize), EncodeError> {
    let len = len32("byte string", len)?;
    let mut h = [0u8; 5];
    let n = if len <= u8::MAX as u32 {
        h[0] = 0xc4;
        h[1] = len as u8;
        2
    } else if len <= u16::MAX as u32 {
        h[0] = 0xc5;
        h[1..3].copy_from_slice(&(len as u16).to_be_bytes());
        3
    } else {
        h[0] = 0xc6;
        h[1..5].copy_from_slice(&len.to_be_bytes());
        5
    };
    Ok((h, n))
}

pub(crate) fn write_bin(out: &mut Vec<u8>, b: &[u8]) -> Result<(), EncodeError> {
    let (h, n) = bin_header(b.len())?;
    out.extend_from_slice(&h[..n]);
    out.extend_from_slice(b);
    Ok(())
}

pub(crate) fn write_array_len(out: &mut Vec<u8>, len: usize) -> Result<(), EncodeError> {
    let len = len32("list", len)?;
    if len < 16 {
        out.push(0x90 | len as u8);
    } else if len <= u16::MAX as u32 {
        out.push(0xdc);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

pub(crate) fn write_map_len(out: &mut Vec<u8>, len: usize) -> Result<(), EncodeError> {
    let len = len32("map", len)?;
    if len < 16 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as u32 {
        out.push(0xde);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// Writes the start of a Python tagged object, `{"type": name, "data": `,
/// leaving the data to the caller.
pub(crate) fn write_tag_start(out: &mut Vec<u8>, type_name: &str) -> Result<(), EncodeError> {
    out.push(0x82);
    write_str(out, "type")?;
    write_str(out, type_name)?;
    write_str(out, "data")
}
