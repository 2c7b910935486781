//! Errors of encoding and decoding.

use std::fmt;

/// Why bytes could not be decoded, or a value could not be converted to the
/// requested Rust type.
///
/// Byte-level variants carry the offset (within the buffer being decoded)
/// where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a complete value: `needed` more bytes were
    /// declared or required at `offset`.
    #[error("truncated input: {needed} more bytes needed at offset {offset}")]
    UnexpectedEof {
        /// Offset of the item that could not be completed.
        offset: usize,
        /// Bytes missing.
        needed: u64,
    },
    /// A byte that starts no value this format supports (`0xc1`, or a
    /// msgpack extension type, which the Python side never sends).
    #[error("unsupported msgpack marker 0x{marker:02x} at offset {offset}")]
    UnsupportedMarker {
        /// Offset of the marker.
        offset: usize,
        /// The marker byte.
        marker: u8,
    },
    /// A string is not valid UTF-8.
    #[error("invalid UTF-8 in string at offset {offset}")]
    InvalidUtf8 {
        /// Offset of the string's first byte.
        offset: usize,
    },
    /// Containers nested deeper than the configured limit.
    #[error("nesting deeper than the limit of {limit} at offset {offset}")]
    TooDeep {
        /// Offset of the container that exceeded the limit.
        offset: usize,
        /// The depth limit.
        limit: usize,
    },
    /// Bytes left over after a complete value.
    #[error("{remaining} trailing bytes after the value at offset {offset}")]
    TrailingBytes {
        /// Offset where the value ended.
        offset: usize,
        /// How many bytes follow it.
        remaining: usize,
    },
    /// The packet is not the `{"object": <bin>, "id": <str>}` envelope.
    #[error("invalid packet envelope: {reason}")]
    Envelope {
        /// What was wrong.
        reason: &'static str,
    },
    /// The packet is larger than the configured limit.
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The value is well-formed but is not what the requested Rust type
    /// expects (reported by serde).
    #[error("{0}")]
    Message(String),
}

impl serde::de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError::Message(msg.to_string())
    }
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A length does not fit the msgpack format (over 2^32 - 1).
    #[error("{what} of length {len} is too long for msgpack")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A `Serialize` implementation reported an error, or produced a shape
    /// the format cannot carry.
    #[error("{0}")]
    Message(String),
}

impl serde::ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EncodeError::Message(msg.to_string())
    }
}
