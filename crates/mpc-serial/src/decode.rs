//! msgpack bytes to [`Value`]s: bounded, zero-copy for byte strings, never
//! panicking on any input.

use bytes::Bytes;

use crate::{DecodeError, Value};

/// Bounds applied while decoding untrusted bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeLimits {
    /// Maximum nesting of lists and maps (a tagged object counts its map).
    pub max_depth: usize,
}

impl DecodeLimits {
    /// The default limits: depth 256.
    pub const DEFAULT: DecodeLimits = DecodeLimits { max_depth: 256 };

    /// These limits with another maximum depth.
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits::DEFAULT
    }
}

/// One msgpack item header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Head {
    Nil,
    Bool(bool),
    UInt(u64),
    SInt(i64),
    F32(f32),
    F64(f64),
    Str(usize),
    Bin(usize),
    Array(usize),
    Map(usize),
}

#[derive(Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Items that may still be reserved up front, over all containers: each
    /// item takes at least one input byte, so an honest input never runs
    /// out, and nested containers cannot each reserve for the same bytes.
    reserve_budget: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            reserve_budget: buf.len(),
        }
    }

    /// How many of `n` declared items to reserve room for.
    pub(crate) fn reserve(&mut self, n: usize) -> usize {
        let k = n.min(self.remaining()).min(self.reserve_budget);
        self.reserve_budget -= k;
        k
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next byte (the marker of the next item), or `0xc1` (a byte no
    /// item starts with) at the end of the input.
    pub(crate) fn marker(&self) -> u8 {
        self.buf.get(self.pos).copied().unwrap_or(0xc1)
    }

    /// The offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEof {
                offset: self.pos,
                needed: (n - self.remaining()) as u64,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn head(&mut self) -> Result<Head, DecodeError> {
        let at = self.pos;
        let m = self.be::<1>()?[0];
        Ok(match m {
            0x00..=0x7f => Head::UInt(m.into()),
            0x80..=0x8f => Head::Map((m & 0x0f).into()),
            0x90..=0x9f => Head::Array((m & 0x0f).into()),
            0xa0..=0xbf => Head::Str((m & 0x1f).into()),
            0xc0 => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => Head::Bin(self.be::<1>()?[0].into()),
            0xc5 => Head::Bin(u16::from_be_bytes(self.be()?).into()),
            0xc6 => Head::Bin(len32(self.be()?)),
            0xca => Head::F32(f32::from_be_bytes(self.be()?)),
            0xcb => Head::F64(f64::from_be_bytes(self.be()?)),
            0xcc => Head::UInt(self.be::<1>()?[0].into()),
            0xcd => Head::UInt(u16::from_be_bytes(self.be()?).into()),
            0xce => Head::UInt(u32::from_be_bytes(self.be()?).into()),
            0xcf => Head::UInt(u64::from_be_bytes(self.be()?)),
            0xd0 => Head::SInt(i8::from_be_bytes(self.be()?).into()),
            0xd1 => Head::SInt(i16::from_be_bytes(self.be()?).into()),
            0xd2 => Head::SInt(i32::from_be_bytes(self.be()?).into()),
            0xd3 => Head::SInt(i64::from_be_bytes(self.be()?)),
            0xd9 => Head::Str(self.be::<1>()?[0].into()),
            0xda => Head::Str(u16::from_be_bytes(self.be()?).into()),
            0xdb => Head::Str(len32(self.be()?)),
            0xdc => Head::Array(u16::from_be_bytes(self.be()?).into()),
            0xdd => Head::Array(len32(self.be()?)),
            0xde => Head::Map(u16::from_be_bytes(self.be()?).into()),
            0xdf => Head::Map(len32(self.be()?)),
            0xe0..=0xff => Head::SInt((m as i8).into()),
            // 0xc1 (never used), 0xc7..=0xc9 and 0xd4..=0xd8 (extension types)
            _ => {
                return Err(DecodeError::UnsupportedMarker {
                    offset: at,
                    marker: m,
                })
            }
        })
    }

    pub(crate) fn str(&mut self, n: usize) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        std::str::from_utf8(self.take(n)?).map_err(|_| DecodeError::InvalidUtf8 { offset: at })
    }

    /// Reads one string item (for envelope keys and ids).
    pub(crate) fn read_str(&mut self) -> Result<Option<&'a str>, DecodeError> {
        match self.head()? {
            Head::Str(n) => self.str(n).map(Some),
            _ => Ok(None),
        }
    }

    /// Reads one bin item's bounds.
    pub(crate) fn read_bin_range(&mut self) -> Result<Option<(usize, usize)>, DecodeError> {
        match self.head()? {
            Head::Bin(n) => {
                let start = self.pos;
                self.take(n)?;
                Ok(Some((start, start + n)))
            }
            _ => Ok(None),
        }
    }

    /// Reads a map header.
    pub(crate) fn read_map_len(&mut self) -> Result<Option<usize>, DecodeError> {
        match self.head()? {
            Head::Map(n) => Ok(Some(n)),
            _ => Ok(None),
        }
    }

    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() > 0 {
            return Err(DecodeError::TrailingBytes {
                offset: self.pos,
                remaining: self.remaining(),
            });
        }
        Ok(())
    }

    /// Reads one value. `src` is the buffer `self` reads, as `Bytes`, so byte
    /// strings become slices of it.
    pub(crate) fn value(
        &mut self,
        src: &Bytes,
        depth: usize,
        limits: &DecodeLimits,
    ) -> Result<Value, DecodeError> {
        let at = self.pos;
        Ok(match self.head()? {
            Head::Nil => Value::Nil,
            Head::Bool(b) => Value::Bool(b),
            Head::UInt(u) => Value::Int(u.into()),
            Head::SInt(i) => Value::Int(i.into()),
            Head::F32(f) => Value::F32(f),
            Head::F64(f) => Value::F64(f),
            Head::Str(n) => Value::Str(self.str(n)?.to_owned()),
            Head::Bin(n) => {
                let start = self.pos;
                self.take(n)?;
                Value::Bytes(src.slice(start..start + n))
            }
            Head::Array(n) => {
                check_depth(at, depth, limits)?;
                // every item takes at least one byte: never trust `n` further
                let mut items = Vec::with_capacity(self.reserve(n));
                for _ in 0..n {
                    items.push(self.value(src, depth + 1, limits)?);
                }
                Value::List(items)
            }
            Head::Map(n) => {
                check_depth(at, depth, limits)?;
                let mut entries = Vec::with_capacity(self.reserve(n.saturating_mul(2)) / 2);
                for _ in 0..n {
                    let k = self.value(src, depth + 1, limits)?;
                    let v = self.value(src, depth + 1, limits)?;
                    entries.push((k, v));
                }
                Value::from_map_entries(entries)
            }
        })
    }

    /// Skips one value without allocating, checking it is well-formed
    /// (lengths, UTF-8, depth). Iterative: no recursion on any input.
    fn skip(&mut self, limits: &DecodeLimits) -> Result<(), DecodeError> {
        self.skip_at(0, limits)
    }

    /// [`Reader::skip`] of a value at nesting `depth` (the depth its own
    /// container, if it is one, has).
    pub(crate) fn skip_at(
        &mut self,
        depth: usize,
        limits: &DecodeLimits,
    ) -> Result<(), DecodeError> {
        // items still to read at each open container level
        let mut pending: Vec<usize> = Vec::new();
        let mut left = 1usize;
        loop {
            while left == 0 {
                match pending.pop() {
                    Some(l) => left = l,
                    None => return Ok(()),
                }
            }
            left -= 1;
            let at = self.pos;
            let children = match self.head()? {
                Head::Str(n) => {
                    self.str(n)?;
                    None
                }
                Head::Bin(n) => {
                    self.take(n)?;
                    None
                }
                Head::Array(n) => Some(n),
                Head::Map(n) => Some(n.saturating_mul(2)),
                _ => None,
            };
            if let Some(children) = children {
                // every container counts, empty ones too (as in `value`)
                check_depth(at, depth.saturating_add(pending.len()), limits)?;
                if children > 0 {
                    pending.push(left);
                    left = children;
                }
            }
        }
    }
}

fn len32(b: [u8; 4]) -> usize {
    // usize is at least 32 bits on every supported target
    usize::try_from(u32::from_be_bytes(b)).unwrap_or(usize::MAX)
}

pub(crate) fn check_depth(
    offset: usize,
    depth: usize,
    limits: &DecodeLimits,
) -> Result<(), DecodeError> {
    if depth >= limits.max_depth {
        return Err(DecodeError::TooDeep {
            offset,
            limit: limits.max_depth,
        });
    }
    Ok(())
}

/// Decodes one msgpack value (the `object` of a packet) into a [`Value`].
///
/// Byte strings in the result are slices of `bytes`, not copies. The whole
/// input must be one value.
pub fn decode_value(bytes: &Bytes) -> Result<Value, DecodeError> {
    decode_value_with(bytes, &DecodeLimits::DEFAULT)
}

/// [`decode_value`] with explicit limits.
pub fn decode_value_with(bytes: &Bytes, limits: &DecodeLimits) -> Result<Value, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = r.value(bytes, 0, limits)?;
    r.finish()?;
    Ok(v)
}

/// Checks that `bytes` holds exactly one well-formed msgpack value within
/// `limits`, without building it (no allocation proportional to the input).
pub fn validate(bytes: &[u8], limits: &DecodeLimits) -> Result<(), DecodeError> {
    let mut r = Reader::new(bytes);
    r.skip(limits)?;
    r.finish()
}
