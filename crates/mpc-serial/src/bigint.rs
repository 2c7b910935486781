//! Arbitrary-precision integers with Python's wire rules.

use std::fmt;
use std::str::FromStr;

use dashu_base::BitTest;
use dashu_int::ops::UnsignedAbs;
use dashu_int::{IBig, Sign, UBig};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::tagged::TAGGED;

/// An integer of any size, as Python's `int`.
///
/// On the wire it follows Python 5.x: inside the i64/u64 range it is a
/// native msgpack integer, outside it is `{"type": "int", "data": <bin>}`
/// with the two's-complement little-endian bytes Python's
/// `int.to_bytes((bit_length + 8) // 8, "little", signed=True)` makes.
/// Decoding also accepts gmpy2's `{"type": "mpz", ...}`.
///
/// It converts from every primitive integer type (`From`) and to each of
/// them (`TryFrom`, failing with an [`IntRangeError`] outside the type's
/// range), from and to [`IBig`], and from decimal strings (`FromStr`).
///
/// Backed by [`dashu_int::IBig`] (re-exported as [`crate::IBig`]), chosen
/// because it converts to and from byte strings several times faster than
/// `num-bigint`; the `num-bigint` feature adds conversions to and from
/// `num_bigint::BigInt`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BigInt(pub IBig);

impl BigInt {
    /// The value, if it lies in `i128`'s range.
    pub fn to_i128(&self) -> Option<i128> {
        i128::try_from(&self.0).ok()
    }

    /// Whether Python would encode this value as a native msgpack integer
    /// (it lies in `[-2^63, 2^64)`).
    pub fn is_native(&self) -> bool {
        self.to_i128().is_some_and(is_native_i128)
    }

    /// Python's `int.bit_length()`: bits of the magnitude.
    pub fn bit_length(&self) -> usize {
        (&self.0).unsigned_abs().bit_len()
    }

    /// The `data` bytes of Python's `{"type": "int"}` encoding.
    pub fn to_python_bytes(&self) -> Vec<u8> {
        let want = (self.bit_length() + 8) / 8;
        let mut bytes = self.0.to_le_bytes().into_vec();
        let fill = if self.0.sign() == Sign::Negative {
            0xff
        } else {
            0x00
        };
        bytes.resize(want, fill);
        bytes
    }

    /// Decodes the `data` bytes of Python's `{"type": "int"}` encoding
    /// (any length of two's-complement little-endian bytes).
    pub fn from_python_bytes(bytes: &[u8]) -> BigInt {
        BigInt(IBig::from_le_bytes(bytes))
    }

    /// Whether `bytes` is exactly what Python would write for its value.
    pub(crate) fn is_canonical_python_bytes(bytes: &[u8]) -> bool {
        BigInt::from_python_bytes(bytes).to_python_bytes() == bytes
    }

    /// The bytes `gmpy2.to_binary(mpz)` produces: `0x01`, a sign byte
    /// (`0x00` zero, `0x01` positive, `0x02` negative), the magnitude
    /// little-endian.
    pub fn to_gmpy_bytes(&self) -> Vec<u8> {
        let mut out = vec![0x01];
        match self.0.sign() {
            _ if self.0 == IBig::ZERO => out.push(0x00),
            Sign::Positive => out.push(0x01),
            Sign::Negative => out.push(0x02),
        }
        out.extend_from_slice(&(&self.0).unsigned_abs().to_le_bytes());
        out
    }

    /// Decodes `gmpy2.to_binary` bytes of an `mpz`; `None` if they are not
    /// an mpz encoding.
    pub fn from_gmpy_bytes(bytes: &[u8]) -> Option<BigInt> {
        match bytes {
            [0x01, 0x00] => Some(BigInt(IBig::ZERO)),
            [0x01, 0x00, rest @ ..] if rest.iter().all(|&b| b == 0) => Some(BigInt(IBig::ZERO)),
            [0x01, sign @ (0x01 | 0x02), mag @ ..] => {
                let m = IBig::from(UBig::from_le_bytes(mag));
                Some(BigInt(if *sign == 0x02 { -m } else { m }))
            }
            _ => None,
        }
    }
}

pub(crate) fn is_native_i128(v: i128) -> bool {
    v >= i64::MIN as i128 && v <= u64::MAX as i128
}

impl fmt::Debug for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BigInt({})", self.0)
    }
}

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for BigInt {
    type Err = dashu_base::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IBig::from_str(s).map(BigInt)
    }
}

impl From<IBig> for BigInt {
    fn from(v: IBig) -> Self {
        BigInt(v)
    }
}

impl From<BigInt> for IBig {
    fn from(v: BigInt) -> Self {
        v.0
    }
}

macro_rules! from_prim {
    ($($t:ty),*) => {$(
        impl From<$t> for BigInt {
            fn from(v: $t) -> Self { BigInt(IBig::from(v)) }
        }
    )*};
}
from_prim!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

/// A [`BigInt`] does not fit the primitive integer type it was converted to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} integer of {bit_length} bits does not fit in {target}", if *.negative { "a negative" } else { "an" })]
pub struct IntRangeError {
    /// The primitive type asked for (`"u8"`, `"i128"`, ...).
    pub target: &'static str,
    /// Whether the value is negative.
    pub negative: bool,
    /// The value's [`BigInt::bit_length`].
    pub bit_length: usize,
}

macro_rules! try_into_prim {
    ($($t:ty),*) => {$(
        impl TryFrom<&BigInt> for $t {
            type Error = IntRangeError;
            /// The value, if it lies in the type's range.
            fn try_from(v: &BigInt) -> Result<Self, IntRangeError> {
                <$t>::try_from(&v.0).map_err(|_| IntRangeError {
                    target: stringify!($t),
                    negative: v.0.sign() == Sign::Negative,
                    bit_length: v.bit_length(),
                })
            }
        }
        impl TryFrom<BigInt> for $t {
            type Error = IntRangeError;
            /// The value, if it lies in the type's range.
            fn try_from(v: BigInt) -> Result<Self, IntRangeError> {
                <$t>::try_from(&v)
            }
        }
    )*};
}
try_into_prim!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

#[cfg(feature = "num-bigint")]
mod num {
    use super::BigInt;
    use dashu_int::IBig;

    impl From<&num_bigint::BigInt> for BigInt {
        fn from(v: &num_bigint::BigInt) -> Self {
            BigInt(IBig::from_le_bytes(&v.to_signed_bytes_le()))
        }
    }
    impl From<num_bigint::BigInt> for BigInt {
        fn from(v: num_bigint::BigInt) -> Self {
            BigInt::from(&v)
        }
    }
    impl From<&BigInt> for num_bigint::BigInt {
        fn from(v: &BigInt) -> Self {
            num_bigint::BigInt::from_signed_bytes_le(&v.0.to_le_bytes())
        }
    }
    impl From<BigInt> for num_bigint::BigInt {
        fn from(v: BigInt) -> Self {
            num_bigint::BigInt::from(&v)
        }
    }
}

/// The `data` of a tagged big integer, serialized as msgpack bin.
pub(crate) struct BinRef<'a>(pub(crate) &'a [u8]);

impl Serialize for BinRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl Serialize for BigInt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Ok(v) = i64::try_from(&self.0) {
            s.serialize_i64(v)
        } else if let Ok(v) = u64::try_from(&self.0) {
            s.serialize_u64(v)
        } else {
            serialize_tagged_int(&self.to_python_bytes(), "int", s)
        }
    }
}

pub(crate) fn serialize_tagged_int<S: Serializer>(
    bytes: &[u8],
    type_name: &'static str,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_newtype_struct(TAGGED, &(type_name, BinRef(bytes)))
}

impl<'de> Deserialize<'de> for BigInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BigIntVisitor)
    }
}

struct BigIntVisitor;

/// `visit_*` methods for the native integer types: every one is a `BigInt`.
macro_rules! visit_integers {
    ($($name:ident($t:ty)),*) => {$(
        fn $name<E: de::Error>(self, v: $t) -> Result<BigInt, E> {
            Ok(BigInt::from(v))
        }
    )*};
}

impl<'de> Visitor<'de> for BigIntVisitor {
    type Value = BigInt;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, or a tagged \"int\" or \"mpz\" object")
    }
    visit_integers!(
        visit_i64(i64),
        visit_u64(u64),
        visit_i128(i128),
        visit_u128(u128)
    );
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BigInt, A::Error> {
        let mut kind: Option<Name> = None;
        let mut data: Option<serde_bytes_buf::ByteBuf> = None;
        while let Some(key) = map.next_key::<Name>()? {
            match key {
                Name::Type => kind = Some(map.next_value()?),
                Name::Data => {
                    // report a tagged object of another class as such, not
                    // as data that is not bytes
                    if let Some(k) = kind
                        .as_ref()
                        .filter(|k| !matches!(k, Name::Int | Name::Mpz))
                    {
                        return Err(de::Error::custom(format_args!(
                            "expected an integer, found a tagged {:?} object",
                            k.as_str()
                        )));
                    }
                    data = Some(map.next_value()?)
                }
                other => return Err(de::Error::unknown_field(other.as_str(), &["type", "data"])),
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        let data = data.ok_or_else(|| de::Error::missing_field("data"))?;
        match kind {
            Name::Int => Ok(BigInt::from_python_bytes(&data.0)),
            Name::Mpz => BigInt::from_gmpy_bytes(&data.0)
                .ok_or_else(|| de::Error::custom("invalid gmpy2 mpz bytes")),
            other => Err(de::Error::custom(format_args!(
                "expected an integer, found a tagged {:?} object",
                other.as_str()
            ))),
        }
    }
}

/// A string of a tagged big integer (key or type name), read like a
/// `String` but without allocating for the ones it expects.
enum Name {
    Type,
    Data,
    Int,
    Mpz,
    Other(String),
}

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Type => "type",
            Name::Data => "data",
            Name::Int => "int",
            Name::Mpz => "mpz",
            Name::Other(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name;
            // as serde's `String`, whose errors these are
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name, E> {
                Ok(match v {
                    "type" => Name::Type,
                    "data" => Name::Data,
                    "int" => Name::Int,
                    "mpz" => Name::Mpz,
                    _ => Name::Other(v.to_owned()),
                })
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Name, E> {
                match std::str::from_utf8(v) {
                    Ok(s) => self.visit_str(s),
                    Err(_) => Err(de::Error::invalid_value(de::Unexpected::Bytes(v), &self)),
                }
            }
        }
        d.deserialize_string(V)
    }
}

/// A minimal owned byte buffer that deserializes from msgpack bin.
pub(crate) mod serde_bytes_buf {
    use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
    use std::fmt;

    pub(crate) struct ByteBuf(pub(crate) Vec<u8>);

    impl<'de> Deserialize<'de> for ByteBuf {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_byte_buf(V)
        }
    }

    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = ByteBuf;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
            Ok(ByteBuf(v.to_vec()))
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
            Ok(ByteBuf(v))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(ByteBuf(out))
        }
    }
}
