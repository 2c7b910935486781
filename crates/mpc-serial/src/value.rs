//! The dynamic value: everything a Python party can send.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::array::NdArray;
use crate::bigint::{is_native_i128, serialize_tagged_int, BigInt};
use crate::tagged::TAGGED;

/// Any value of the Python package's wire format.
///
/// Decoding then encoding a `Value` reproduces the input bytes whenever the
/// input used msgpack's shortest encodings (as Python always does); in
/// particular a tagged object of a type Rust does not know
/// ([`Value::Tagged`]) survives unchanged, so a Rust party can relay Python
/// classes it has never heard of.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Python `None`.
    Nil,
    /// Python `bool`.
    Bool(bool),
    /// An integer that msgpack carries natively, in `[-2^63, 2^64)`. Values
    /// outside that range are encoded as Python's tagged `int`.
    Int(i128),
    /// An integer that travelled as Python's tagged `{"type": "int"}`; it is
    /// always sent tagged again. Use [`Value::from`]`(BigInt)` to get the
    /// native form for small values.
    BigInt(BigInt),
    /// A `gmpy2.mpz`, tagged `{"type": "mpz"}`.
    Mpz(BigInt),
    /// A 32-bit float (numpy `float32`).
    F32(f32),
    /// A 64-bit float (Python `float`).
    F64(f64),
    /// A string.
    Str(String),
    /// A byte string. When decoded from a packet, a slice of the received
    /// buffer (no copy).
    Bytes(Bytes),
    /// A Python `list` (also how numpy arrays of native dtypes travel).
    List(Vec<Value>),
    /// A Python `tuple`, tagged `{"type": "tuple"}`.
    Tuple(Vec<Value>),
    /// A map, in wire order. Python sends `dict`s with string keys.
    Map(Vec<(Value, Value)>),
    /// A numpy object array, tagged `{"type": "ndarray"}`.
    Array(NdArray<Value>),
    /// Any other tagged object `{"type": type_name, "data": data}`: a
    /// registered Python class.
    Tagged {
        /// The Python class name.
        type_name: String,
        /// What the class's `serialize` returned.
        data: Box<Value>,
    },
}

impl Value {
    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an `i128`, if it is an integer that fits.
    pub fn as_i128(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            Value::BigInt(b) | Value::Mpz(b) => b.to_i128(),
            _ => None,
        }
    }

    /// The value as a big integer, if it is an integer of any kind.
    pub fn to_bigint(&self) -> Option<BigInt> {
        match self {
            Value::Int(i) => Some(BigInt::from(*i)),
            Value::BigInt(b) | Value::Mpz(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// The value as a float, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::F64(f) => Some(*f),
            Value::F32(f) => Some(f64::from(*f)),
            _ => None,
        }
    }

    /// The byte string, if it is one.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The items of a list or tuple.
    pub fn as_slice(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Looks a string key up in a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A tagged object of a registered Python class.
    pub fn tagged(type_name: impl Into<String>, data: Value) -> Value {
        Value::Tagged {
            type_name: type_name.into(),
            data: Box::new(data),
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::BigInt(_) => "big int",
            Value::Mpz(_) => "mpz",
            Value::F32(_) => "float32",
            Value::F64(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Map(_) => "map",
            Value::Array(_) => "ndarray",
            Value::Tagged { .. } => "tagged object",
        }
    }

    /// Builds the value of a decoded map, recognising Python's tagged
    /// objects: a map whose entries are exactly `"type"` (a string) then
    /// `"data"`. Known tags whose data is not exactly what Python would
    /// write stay generic [`Value::Tagged`], so re-encoding is lossless.
    pub(crate) fn from_map_entries(mut entries: Vec<(Value, Value)>) -> Value {
        let is_tagged = entries.len() == 2
            && entries[0].0.as_str() == Some("type")
            && entries[1].0.as_str() == Some("data")
            && matches!(entries[0].1, Value::Str(_));
        if !is_tagged {
            return Value::Map(entries);
        }
        let (_, data) = entries.pop().unwrap_or((Value::Nil, Value::Nil));
        let (_, name) = entries.pop().unwrap_or((Value::Nil, Value::Nil));
        let Value::Str(type_name) = name else {
            return Value::Nil; // unreachable: checked above
        };
        match (type_name.as_str(), data) {
            ("tuple", Value::List(items)) => Value::Tuple(items),
            ("int", Value::Bytes(b)) if BigInt::is_canonical_python_bytes(&b) => {
                Value::BigInt(BigInt::from_python_bytes(&b))
            }
            ("mpz", Value::Bytes(b)) => match BigInt::from_gmpy_bytes(&b) {
                Some(v) if v.to_gmpy_bytes() == b => Value::Mpz(v),
                _ => Value::tagged(type_name, Value::Bytes(b)),
            },
            ("ndarray", data) => match NdArray::<Value>::from_python_data(data) {
                Ok(a) => Value::Array(a),
                Err(data) => Value::tagged(type_name, data),
            },
            (_, data) => Value::tagged(type_name, data),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(
            f: &mut fmt::Formatter<'_>,
            items: &[Value],
            open: &str,
            close: &str,
        ) -> fmt::Result {
            f.write_str(open)?;
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            if items.len() == 1 && open == "(" {
                f.write_str(",")?;
            }
            f.write_str(close)
        }
        match self {
            Value::Nil => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(i) => write!(f, "{i}"),
            Value::BigInt(b) => write!(f, "{b}"),
            Value::Mpz(b) => write!(f, "mpz({b})"),
            Value::F32(x) => write!(f, "float32({x:?})"),
            Value::F64(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "b\"{}\"", b.escape_ascii()),
            Value::List(v) => seq(f, v, "[", "]"),
            Value::Tuple(v) => seq(f, v, "(", ")"),
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Array(a) => {
                write!(f, "ndarray(shape={:?}, ", a.shape())?;
                seq(f, a.data(), "[", "]")?;
                f.write_str(")")
            }
            Value::Tagged { type_name, data } => write!(f, "{type_name}({data})"),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::Int(v as i128) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

impl From<BigInt> for Value {
    /// A native integer if Python would send it natively, else a big int.
    fn from(v: BigInt) -> Self {
        match v.to_i128() {
            Some(i) if is_native_i128(i) => Value::Int(i),
            _ => Value::BigInt(v),
        }
    }
}

/// `From` conversions that wrap a Rust value in one variant.
macro_rules! value_from {
    ($($t:ty => |$v:ident| $value:expr;)*) => {$(
        impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $value
            }
        }
    )*};
}

value_from! {
    bool => |v| Value::Bool(v);
    f64 => |v| Value::F64(v);
    f32 => |v| Value::F32(v);
    &str => |v| Value::Str(v.to_owned());
    String => |v| Value::Str(v);
    Bytes => |v| Value::Bytes(v);
    Vec<u8> => |v| Value::Bytes(Bytes::from(v));
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}
impl From<()> for Value {
    fn from(_: ()) -> Self {
        Value::Nil
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    s.serialize_i64(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    s.serialize_u64(v)
                } else {
                    serialize_tagged_int(&BigInt::from(*i).to_python_bytes(), "int", s)
                }
            }
            Value::BigInt(b) => serialize_tagged_int(&b.to_python_bytes(), "int", s),
            Value::Mpz(b) => serialize_tagged_int(&b.to_gmpy_bytes(), "mpz", s),
            Value::F32(x) => s.serialize_f32(*x),
            Value::F64(x) => s.serialize_f64(*x),
            Value::Str(x) => s.serialize_str(x),
            Value::Bytes(b) => crate::ser::share_bytes(b, s),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Tuple(items) => {
                let mut t = s.serialize_tuple(items.len())?;
                for v in items {
                    t.serialize_element(v)?;
                }
                t.end()
            }
            Value::Map(entries) => {
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Value::Array(a) => a.serialize(s),
            Value::Tagged { type_name, data } => {
                s.serialize_newtype_struct(TAGGED, &(type_name.as_str(), &**data))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // asks this crate's deserializer for the wire form (tuples as
        // tagged maps); other formats see a plain newtype
        d.deserialize_newtype_struct(crate::de::VALUE, ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::from(BigInt::from(v)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Value::from(BigInt::from(v)))
    }
    fn visit_f32<E: de::Error>(self, v: f32) -> Result<Value, E> {
        Ok(Value::F32(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::F64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(e) = map.next_entry()? {
            entries.push(e);
        }
        Ok(Value::from_map_entries(entries))
    }
}
