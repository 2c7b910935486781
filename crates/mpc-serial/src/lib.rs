//! The wire format of the Python package `tno.mpc.communication` 5.x.
//!
//! A packet is the msgpack map `{"object": <bin>, "id": <str>}` whose
//! `object` is itself the msgpack encoding of the value ([`encode_packet`],
//! [`Packet::decode`]). Inside, values follow the Python package's rules:
//! native msgpack for `None`, bools, integers in the i64/u64 range, floats,
//! strings, bytes, lists and string-keyed maps; everything else as a tagged
//! object `{"type": <name>, "data": ..}` — tuples, big integers, gmpy2
//! `mpz`, numpy object arrays and registered user classes.
//!
//! Two ways to handle values:
//! * dynamically, as a [`Value`] (anything Python can send; unknown tagged
//!   objects survive decode → encode unchanged);
//! * typed, as any `T: Serialize + DeserializeOwned`: structs travel as maps,
//!   tuples as Python tuples, [`BigInt`]s with Python's big-int rules, and
//!   types implementing [`PyClass`] as Python classes (via [`Tagged`]).
//!   [`decode_with`] (and [`decode`], [`Packet::decode_object`]) reads them
//!   straight from the bytes, with exactly the results and errors of
//!   decoding a [`Value`] and converting it ([`from_value`]), only faster.
//!
//! Decoding is made for untrusted input: it never panics, never recurses
//! deeper than [`DecodeLimits::max_depth`], never allocates from a declared
//! length before the bytes are there, and reports a typed [`DecodeError`].
//!
//! This crate knows no networking.
#![deny(missing_docs)]

mod array;
mod bigint;
mod blob;
mod de;
mod decode;
mod direct;
mod error;
mod packet;
mod ser;
pub mod tagged;
mod value;
mod wire;

pub use array::{NdArray, ShapeError};
pub use bigint::{BigInt, IntRangeError};
pub use blob::Blob;
pub use bytes::Bytes;
pub use dashu_int::IBig;
pub use de::{from_value, ValueDeserializer};
pub use decode::{decode_value, decode_value_with, validate, DecodeLimits};
pub use error::{DecodeError, EncodeError};
pub use packet::{
    decode, decode_with, encode_packet, encode_packet_parts, encode_packet_raw, encode_value,
    Packet,
};
pub use tagged::{PyClass, Tagged};
pub use value::Value;
