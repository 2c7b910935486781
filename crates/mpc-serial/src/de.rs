//! The serde deserializer: a decoded [`Value`] into any `Deserialize` type.

use bytes::Bytes;
use serde::de::{
    self, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};
use serde::forward_to_deserialize_any;

use crate::bigint::BigInt;
use crate::tagged::TAGGED;
use crate::{DecodeError, Value};

/// The newtype-struct name by which [`Value`]'s `Deserialize` asks this
/// deserializer for the wire form (tuples as tagged maps), so a `Value`
/// nested in a typed message keeps its tuples.
pub(crate) const VALUE: &str = "$__mpc_serial::Value";

/// Deserializes an owned [`Value`].
///
/// `deserialize_any` shows a tuple as a sequence (so `#[serde(untagged)]`
/// enums and other buffering types can take it as a Rust tuple), and a big
/// integer, object array or tagged object as the map `{"type": .., "data": ..}`
/// it is on the wire. Typed requests are lenient where Python is: a list or
/// a tuple satisfies both `Vec<T>` and `(A, B)`, and an integer of any
/// encoding (native, big int, mpz) satisfies any integer type it fits. A
/// numpy array of one or more dimensions (an [`NdArray`](crate::NdArray)
/// on the wire) satisfies nested sequences of as many levels — `Vec<T>`
/// for one dimension, `Vec<Vec<T>>` or `[[T; 3]; 2]` for two — whose
/// lengths must be those of its shape.
#[derive(Debug)]
pub struct ValueDeserializer {
    value: Value,
    /// Show tuples as tagged maps too (asked for by `Value`'s `Deserialize`).
    pub(crate) wire: bool,
}

impl ValueDeserializer {
    /// A deserializer of `value`.
    pub fn new(value: Value) -> Self {
        ValueDeserializer { value, wire: false }
    }

    /// Integers narrower than 128 bits from any integer encoding.
    fn small_int<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::BigInt(b) | Value::Mpz(b) => {
                if let Ok(v) = i64::try_from(&b.0) {
                    visitor.visit_i64(v)
                } else if let Ok(v) = u64::try_from(&b.0) {
                    visitor.visit_u64(v)
                } else {
                    Err(out_of_range(&b, &visitor))
                }
            }
            v => de::Deserializer::deserialize_any(ValueDeserializer::new(v), visitor),
        }
    }

    /// The wire form (type name, data) of a tagged value, if it is one.
    fn into_tag(self) -> Result<(String, Value), Value> {
        Ok(match self.value {
            Value::Tuple(items) => ("tuple".into(), Value::List(items)),
            Value::BigInt(b) => ("int".into(), Value::Bytes(b.to_python_bytes().into())),
            Value::Mpz(b) => ("mpz".into(), Value::Bytes(b.to_gmpy_bytes().into())),
            Value::Int(i) if i64::try_from(i).is_err() && u64::try_from(i).is_err() => (
                "int".into(),
                Value::Bytes(BigInt::from(i).to_python_bytes().into()),
            ),
            Value::Array(a) => {
                let (shape, data) = a.into_parts();
                let values = nest(&shape, data);
                let shape = Value::Tuple(shape.into_iter().map(Value::from).collect());
                (
                    "ndarray".into(),
                    Value::Map(vec![
                        (Value::from("values"), values),
                        (Value::from("shape"), shape),
                    ]),
                )
            }
            Value::Tagged { type_name, data } => (type_name, *data),
            other => return Err(other),
        })
    }
}

pub(crate) fn nest(shape: &[usize], data: Vec<Value>) -> Value {
    match shape.split_first() {
        None => data.into_iter().next().unwrap_or(Value::Nil),
        Some((&n, rest)) => {
            // saturating: dimensions after a zero are unbounded
            let step = rest.iter().fold(1usize, |a, &d| a.saturating_mul(d));
            let mut it = data.into_iter();
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let chunk: Vec<Value> = it.by_ref().take(step).collect();
                out.push(nest(rest, chunk));
            }
            Value::List(out)
        }
    }
}

fn out_of_range(b: &BigInt, exp: &dyn de::Expected) -> DecodeError {
    de::Error::invalid_value(de::Unexpected::Other(&format!("integer {b}")), exp)
}

pub(crate) fn unexpected(v: &Value, what: &str) -> DecodeError {
    DecodeError::Message(format!("expected {what}, found {}", v.kind()))
}

impl<'de> IntoDeserializer<'de, DecodeError> for Value {
    type Deserializer = ValueDeserializer;
    fn into_deserializer(self) -> ValueDeserializer {
        ValueDeserializer::new(self)
    }
}

/// `deserialize_*` methods for the integer types up to 64 bits, which all
/// go through `small_int`.
macro_rules! small_ints {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            self.small_int(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let wire = self.wire;
        match self.value {
            Value::Nil => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(i) => {
                if let Ok(v) = i64::try_from(i) {
                    visitor.visit_i64(v)
                } else if let Ok(v) = u64::try_from(i) {
                    visitor.visit_u64(v)
                } else {
                    visitor.visit_i128(i)
                }
            }
            Value::F32(f) => visitor.visit_f32(f),
            Value::F64(f) => visitor.visit_f64(f),
            Value::Str(s) => visitor.visit_string(s),
            Value::Bytes(b) => visitor.visit_byte_buf(Vec::from(b)),
            Value::List(items) => visitor.visit_seq(Seq(items.into_iter())),
            Value::Tuple(items) if !wire => visitor.visit_seq(Seq(items.into_iter())),
            Value::Map(entries) => visitor.visit_map(Map {
                it: entries.into_iter(),
                value: None,
            }),
            other => match ValueDeserializer::new(other).into_tag() {
                Ok((name, data)) => visitor.visit_map(Map {
                    it: vec![
                        (Value::from("type"), Value::Str(name)),
                        (Value::from("data"), data),
                    ]
                    .into_iter(),
                    value: None,
                }),
                Err(v) => Err(unexpected(&v, "a value")),
            },
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Nil => visitor.visit_none(),
            v => visitor.visit_some(ValueDeserializer::new(v)),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Nil => visitor.visit_unit(),
            v => Err(unexpected(&v, "None")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if name == VALUE {
            return visitor.visit_newtype_struct(ValueDeserializer {
                value: self.value,
                wire: true,
            });
        }
        if name == TAGGED {
            return match self.into_tag() {
                Ok((name, data)) => {
                    visitor.visit_seq(Seq(vec![Value::Str(name), data].into_iter()))
                }
                Err(v) => Err(unexpected(&v, "a tagged object")),
            };
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::List(items) | Value::Tuple(items) => visitor.visit_seq(Seq(items.into_iter())),
            Value::Array(a) if !a.shape().is_empty() => visit_ndarray(a, visitor),
            // a byte string requested as a sequence (e.g. Vec<u8>)
            Value::Bytes(b) => visitor.visit_seq(Seq(b
                .iter()
                .map(|&x| Value::Int(x.into()))
                .collect::<Vec<_>>()
                .into_iter())),
            v => Err(unexpected(&v, "a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::List(items) | Value::Tuple(items) => visitor.visit_seq(Seq(items.into_iter())),
            Value::Array(a) if !a.shape().is_empty() => visit_ndarray(a, visitor),
            v => Err(unexpected(&v, "a tuple")),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Map(entries) => visitor.visit_map(Map {
                it: entries.into_iter(),
                value: None,
            }),
            Value::Tagged { type_name, .. } => Err(DecodeError::Message(format!(
                "expected a map, found a tagged {type_name:?} object (receive it as Tagged<T>)"
            ))),
            v => Err(unexpected(&v, "a map")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Str(s) => visitor.visit_enum(s.into_deserializer()),
            Value::Map(mut entries) if entries.len() == 1 => {
                let (k, v) = entries.pop().unwrap_or((Value::Nil, Value::Nil));
                match k {
                    Value::Str(variant) => visitor.visit_enum(Enum { variant, value: v }),
                    k => Err(unexpected(&k, "an enum variant name")),
                }
            }
            v => Err(unexpected(
                &v,
                "an enum (a variant name or a one-entry map)",
            )),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Bytes(b) => visitor.visit_byte_buf(Vec::from(b)),
            Value::Str(s) => visitor.visit_string(s),
            Value::List(items) => visitor.visit_seq(Seq(items.into_iter())),
            v => Err(unexpected(&v, "bytes")),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_bytes(visitor)
    }

    // A tagged big integer is a map to `deserialize_any`; 128-bit integers
    // accept it when its value fits (they are sent tagged outside 64 bits).
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::BigInt(b) | Value::Mpz(b) => match b.to_i128() {
                Some(v) => visitor.visit_i128(v),
                None => Err(out_of_range(&b, &visitor)),
            },
            v => ValueDeserializer::new(v).deserialize_any(visitor),
        }
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::BigInt(b) | Value::Mpz(b) => match u128::try_from(&b.0) {
                Ok(v) => visitor.visit_u128(v),
                Err(_) => Err(out_of_range(&b, &visitor)),
            },
            v => ValueDeserializer::new(v).deserialize_any(visitor),
        }
    }

    small_ints! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
    }

    forward_to_deserialize_any! {
        bool f32 f64 char str string identifier ignored_any
    }
}

/// An array of at least one dimension as the sequence of its first
/// dimension (see [`NdSeq`]).
fn visit_ndarray<'de, V: Visitor<'de>>(
    a: crate::NdArray<Value>,
    visitor: V,
) -> Result<V::Value, DecodeError> {
    let (shape, data) = a.into_parts();
    NdSeq::new(shape, data).visit(visitor)
}

/// The rows of an n-dimensional array (n >= 1) as a sequence: its elements
/// for one dimension, else sub-arrays ([`NdRow`]). The visitor must take
/// every row: a shorter fixed-size target (`[T; 2]` for 3 rows) is a shape
/// mismatch, not a truncation.
struct NdSeq {
    /// The shape of a row (empty: rows are elements).
    rest: Vec<usize>,
    /// Elements per row.
    step: usize,
    /// Rows in all and rows not yet taken.
    len: usize,
    left: usize,
    data: std::vec::IntoIter<Value>,
}

impl NdSeq {
    fn new(shape: Vec<usize>, data: Vec<Value>) -> Self {
        let (len, rest) = match shape.split_first() {
            Some((&n, rest)) => (n, rest.to_vec()),
            None => (0, Vec::new()),
        };
        // saturating: dimensions after a zero are unbounded (as in `nest`)
        let step = rest.iter().fold(1usize, |a, &d| a.saturating_mul(d));
        NdSeq {
            rest,
            step,
            len,
            left: len,
            data: data.into_iter(),
        }
    }

    fn visit<'de, V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DecodeError> {
        let out = visitor.visit_seq(&mut self)?;
        if self.left > 0 {
            return Err(DecodeError::Message(format!(
                "an ndarray dimension of length {} received as a sequence of {}",
                self.len,
                self.len - self.left
            )));
        }
        Ok(out)
    }
}

impl<'de> SeqAccess<'de> for NdSeq {
    type Error = DecodeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        if self.rest.is_empty() {
            let v = self.data.next().unwrap_or(Value::Nil);
            return seed.deserialize(ValueDeserializer::new(v)).map(Some);
        }
        let data: Vec<Value> = self.data.by_ref().take(self.step).collect();
        seed.deserialize(NdRow {
            shape: self.rest.clone(),
            data,
        })
        .map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// A row of an n-dimensional array: a sequence (strict, see [`NdSeq`])
/// when one is asked for, otherwise the nested lists it is on the wire.
struct NdRow {
    shape: Vec<usize>,
    data: Vec<Value>,
}

impl NdRow {
    fn nested(self) -> ValueDeserializer {
        ValueDeserializer::new(nest(&self.shape, self.data))
    }
}

/// `deserialize_*` methods of [`NdRow`] that see the row as nested lists.
macro_rules! as_nested {
    ($($name:ident($($arg:ident: $t:ty),*);)*) => {$(
        fn $name<V: Visitor<'de>>(self, $($arg: $t,)* visitor: V) -> Result<V::Value, DecodeError> {
            self.nested().$name($($arg,)* visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NdRow {
    type Error = DecodeError;

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        NdSeq::new(self.shape, self.data).visit(visitor)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    as_nested! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16();
        deserialize_i32(); deserialize_i64(); deserialize_i128(); deserialize_u8();
        deserialize_u16(); deserialize_u32(); deserialize_u64(); deserialize_u128();
        deserialize_f32(); deserialize_f64(); deserialize_char(); deserialize_str();
        deserialize_string(); deserialize_bytes(); deserialize_byte_buf();
        deserialize_option(); deserialize_unit(); deserialize_map();
        deserialize_identifier(); deserialize_ignored_any();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }
}

pub(crate) struct Seq(pub(crate) std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Seq {
    type Error = DecodeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        self.0
            .next()
            .map(|v| seed.deserialize(ValueDeserializer::new(v)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Map {
    it: std::vec::IntoIter<(Value, Value)>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Map {
    type Error = DecodeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        match self.it.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(ValueDeserializer::new(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let v = self
            .value
            .take()
            .ok_or_else(|| DecodeError::Message("map value requested before its key".into()))?;
        seed.deserialize(ValueDeserializer::new(v))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.it.len())
    }
}

struct Enum {
    variant: String,
    value: Value,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = DecodeError;
    type Variant = ValueDeserializer;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, ValueDeserializer), DecodeError> {
        let name = seed.deserialize(ValueDeserializer::new(Value::Str(self.variant)))?;
        Ok((name, ValueDeserializer::new(self.value)))
    }
}

impl<'de> VariantAccess<'de> for ValueDeserializer {
    type Error = DecodeError;
    fn unit_variant(self) -> Result<(), DecodeError> {
        match self.value {
            Value::Nil => Ok(()),
            v => Err(unexpected(&v, "a unit variant")),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, DecodeError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_tuple(self, len, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

/// Converts a decoded [`Value`] into `T`.
///
/// Asking for [`Value`] itself, or for [`Bytes`] when the value is a byte
/// string, hands the value over as it is (byte strings stay slices of the
/// received buffer).
pub fn from_value<T: de::DeserializeOwned + 'static>(v: Value) -> Result<T, DecodeError> {
    use std::any::Any;
    let mut slot = Some(v);
    if let Some(out) = (&mut slot as &mut dyn Any).downcast_mut::<Option<T>>() {
        if let Some(t) = out.take() {
            return Ok(t);
        }
    }
    if let Some(Value::Bytes(_)) = slot {
        let mut bytes: Option<Bytes> = match slot.take() {
            Some(Value::Bytes(b)) => Some(b),
            _ => None,
        };
        if let Some(out) = (&mut bytes as &mut dyn Any).downcast_mut::<Option<T>>() {
            if let Some(t) = out.take() {
                return Ok(t);
            }
        }
        let mut blob = bytes.take().map(crate::Blob);
        if let Some(out) = (&mut blob as &mut dyn Any).downcast_mut::<Option<T>>() {
            if let Some(t) = out.take() {
                return Ok(t);
            }
        }
        let bytes = blob.map(|b| b.0);
        slot = bytes.map(Value::Bytes);
    }
    let v = slot.unwrap_or(Value::Nil);
    T::deserialize(ValueDeserializer::new(v))
}
