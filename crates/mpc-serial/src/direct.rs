//! Typed decoding straight from the msgpack bytes: a serde deserializer
//! over the encoded value, without building the [`Value`] tree first.
//!
//! It gives exactly what decoding to a [`Value`] and converting it with
//! [`ValueDeserializer`] gives, results and errors alike:
//!
//! * every byte is checked as [`Reader::value`] checks it (markers, lengths
//!   against the bytes present, UTF-8, nesting depth, trailing bytes):
//!   what is not deserialized is skipped with [`Reader::skip_at`], which
//!   checks the same; so a success means the bytes were valid;
//! * the forms whose typed meaning depends on more than their first bytes
//!   are recognised by looking ahead, as [`Value::from_map_entries`] would
//!   classify them (tuples, tagged objects); the rare ones (big integers
//!   asked for as primitives, numpy object arrays, tagged objects where
//!   something else was asked for, every error) are decoded as a `Value`
//!   for that one item and handed to [`ValueDeserializer`];
//! * on any failure the bytes are checked with [`validate`]: a byte-level
//!   error there is what the `Value` path reports first (it decodes all
//!   bytes before converting), otherwise the typed error stands.
//!
//! Sequences and maps report a size hint capped by the bytes remaining and
//! by a budget over the whole input ([`Reader::reserve`]), so no declared
//! length reserves memory the input cannot back.

use std::any::TypeId;

use bytes::Bytes;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use crate::de::{from_value, unexpected, ValueDeserializer, VALUE};
use crate::decode::{check_depth, decode_value_with, validate, DecodeLimits, Head, Reader};
use crate::tagged::TAGGED;
use crate::{Blob, DecodeError, Value};

/// Decodes `bytes` (one msgpack value) as `T`, straight from the bytes.
///
/// The same as `from_value(decode_value_with(bytes, limits)?)`, faster.
pub(crate) fn decode_direct<T: DeserializeOwned + 'static>(
    bytes: &Bytes,
    limits: &DecodeLimits,
) -> Result<T, DecodeError> {
    let id = TypeId::of::<T>();
    if id == TypeId::of::<Bytes>() || id == TypeId::of::<Blob>() {
        // a byte string: a slice of the input, not a copy
        let mut r = Reader::new(bytes);
        if let Ok(Some((start, end))) = r.read_bin_range() {
            if r.finish().is_ok() {
                let b = bytes.slice(start..end);
                if let Some(t) = cast::<T, _>(b.clone()).or_else(|| cast::<T, _>(Blob(b))) {
                    return Ok(t);
                }
            }
        }
    }
    if id == TypeId::of::<Value>() || id == TypeId::of::<Bytes>() || id == TypeId::of::<Blob>() {
        // handed over without conversion (byte strings as slices)
        return decode_value_with(bytes, limits).and_then(from_value);
    }
    let mut cx = Ctx {
        r: Reader::new(bytes),
        src: bytes,
        limits: *limits,
    };
    let got = cx
        .item(0, |d| T::deserialize(d))
        .and_then(|t| cx.r.finish().map(|()| t));
    match got {
        Ok(t) => Ok(t),
        Err(e) => match validate(bytes, limits) {
            // what decoding the `Value` would have reported first
            Err(first) => Err(first),
            Ok(()) if matches!(e, DecodeError::Message(_)) => Err(e),
            // valid bytes yet a byte-level error: a `Deserialize` that
            // left part of the value unread; take the `Value` path
            Ok(()) => decode_value_with(bytes, limits).and_then(from_value),
        },
    }
}

/// `u` as a `T`, if `U` is `T`.
fn cast<T: 'static, U: 'static>(u: U) -> Option<T> {
    let mut slot = Some(u);
    (&mut slot as &mut dyn std::any::Any)
        .downcast_mut::<Option<T>>()
        .and_then(Option::take)
}

/// The input and what is shared while decoding it.
struct Ctx<'a> {
    r: Reader<'a>,
    /// The input as `Bytes` (for the items decoded as a `Value`).
    src: &'a Bytes,
    limits: DecodeLimits,
}

impl<'a> Ctx<'a> {
    /// Deserializes the next item (at nesting `depth`) with `f`; if `f`
    /// did not read it at all (a `Deserialize` that ignores its input),
    /// skips it so the next item is read from the right place.
    fn item<T>(
        &mut self,
        depth: usize,
        f: impl FnOnce(Direct<'_, 'a>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        let start = self.r.pos();
        let out = f(Direct {
            cx: self,
            depth,
            wire: false,
        })?;
        if self.r.pos() == start {
            self.skip(depth)?;
        }
        Ok(out)
    }

    fn skip(&mut self, depth: usize) -> Result<(), DecodeError> {
        self.r.skip_at(depth, &self.limits)
    }
}

/// What a map is as a `Value`, as far as choosing a path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// A map that is no tagged object.
    Map,
    /// `{"type": "tuple", "data": [..]}`
    Tuple,
    /// Any other map of exactly `"type"` (a string) then `"data"`.
    Tagged,
}

/// The deserializer of one item.
struct Direct<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    /// Nesting depth of the item (the depth its container would have).
    depth: usize,
    /// Show tuples as the maps they are on the wire (for `Value`).
    wire: bool,
}

/// Markers of msgpack integers, arrays, maps, strings and byte strings.
fn is_int(m: u8) -> bool {
    matches!(m, 0x00..=0x7f | 0xcc..=0xd3 | 0xe0..=0xff)
}
fn is_array(m: u8) -> bool {
    matches!(m, 0x90..=0x9f | 0xdc | 0xdd)
}
fn is_map(m: u8) -> bool {
    matches!(m, 0x80..=0x8f | 0xde | 0xdf)
}
/// A map that may have two entries (the tagged objects).
fn may_be_tagged(m: u8) -> bool {
    matches!(m, 0x82 | 0xde | 0xdf)
}
fn is_str_or_bin(m: u8) -> bool {
    matches!(m, 0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6)
}
const NIL: u8 = 0xc0;

impl<'c, 'a> Direct<'c, 'a> {
    fn marker(&self) -> u8 {
        self.cx.r.marker()
    }

    /// The form of the map that comes next (called at a map marker).
    fn form(&self) -> Result<Form, DecodeError> {
        let mut p = self.cx.r.clone();
        match p.head()? {
            Head::Map(2) => tag_form(&mut p),
            _ => Ok(Form::Map),
        }
    }

    /// Decodes the item as a [`Value`] and gives its deserializer: the
    /// path for the rare forms and for errors.
    fn fallback(self) -> Result<ValueDeserializer, DecodeError> {
        let depth = self.depth;
        let cx = self.cx;
        Ok(ValueDeserializer::new(
            cx.r.value(cx.src, depth, &cx.limits)?,
        ))
    }

    /// Reads a container header (checking the depth) and gives its length.
    fn open(&mut self) -> Result<usize, DecodeError> {
        let at = self.cx.r.pos();
        let n = match self.cx.r.head()? {
            Head::Array(n) | Head::Map(n) => n,
            _ => return Err(DecodeError::Message("expected a container".into())),
        };
        check_depth(at, self.depth, &self.cx.limits)?;
        Ok(n)
    }

    /// Opens a tagged object: its map and the `"type"` key; the type name
    /// comes next (at depth + 1).
    fn open_tag(&mut self) -> Result<(), DecodeError> {
        self.open()?;
        self.cx.skip(self.depth + 1)
    }

    /// The items of an array whose header was read, as a sequence.
    fn items<'de, V: Visitor<'de>>(self, n: usize, visitor: V) -> Result<V::Value, DecodeError> {
        let hint = self.cx.r.reserve(n);
        let mut s = Items {
            cx: self.cx,
            left: n,
            depth: self.depth + 1,
            hint,
        };
        let out = visitor.visit_seq(&mut s)?;
        s.finish()?;
        Ok(out)
    }

    /// The entries of a map whose header was read.
    fn entries<'de, V: Visitor<'de>>(self, n: usize, visitor: V) -> Result<V::Value, DecodeError> {
        let hint = self.cx.r.reserve(n.saturating_mul(2)) / 2;
        let mut m = Entries {
            cx: self.cx,
            left: n,
            depth: self.depth + 1,
            hint,
            value_due: false,
        };
        let out = visitor.visit_map(&mut m)?;
        m.finish()?;
        Ok(out)
    }

    /// A tagged tuple as the sequence of its items.
    fn tuple<'de, V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DecodeError> {
        self.open_tag()?;
        let inner = self.depth + 1;
        self.cx.skip(inner)?; // "tuple"
        self.cx.skip(inner)?; // "data"
        let mut data = Direct {
            cx: self.cx,
            depth: inner,
            wire: false,
        };
        let n = data.open()?;
        data.items(n, visitor)
    }

    fn int<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.cx.r.head()? {
            Head::UInt(u) => match i64::try_from(u) {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => visitor.visit_u64(u),
            },
            Head::SInt(i) => visitor.visit_i64(i),
            _ => Err(DecodeError::Message("expected an integer".into())),
        }
    }
}

/// After a `Map(2)` header: a tagged object's form, or a plain map.
fn tag_form(p: &mut Reader<'_>) -> Result<Form, DecodeError> {
    let Head::Str(n) = p.head()? else {
        return Ok(Form::Map);
    };
    if p.take(n)? != b"type" {
        return Ok(Form::Map);
    }
    let Head::Str(n) = p.head()? else {
        return Ok(Form::Map);
    };
    let name = p.str(n)?;
    let Head::Str(n) = p.head()? else {
        return Ok(Form::Map);
    };
    if p.take(n)? != b"data" {
        return Ok(Form::Map);
    }
    let data = p.head()?;
    Ok(if name == "tuple" && matches!(data, Head::Array(_)) {
        Form::Tuple
    } else {
        Form::Tagged
    })
}

/// `deserialize_*` methods for integer types: native integers directly,
/// tagged objects (big ints, mpz) through a `Value`, the rest as
/// `deserialize_any` (which gives the visitor's type error).
macro_rules! ints {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            let m = self.marker();
            if is_int(m) {
                self.int(visitor)
            } else if may_be_tagged(m) && self.form()? == Form::Tagged {
                self.fallback()?.$name(visitor)
            } else {
                self.deserialize_any(visitor)
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Direct<'_, '_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        // a tagged object other than a tuple is shown as the map it is on
        // the wire, as `ValueDeserializer` shows it
        if !self.wire && may_be_tagged(self.marker()) && self.form()? == Form::Tuple {
            return self.tuple(visitor);
        }
        let at = self.cx.r.pos();
        match self.cx.r.head()? {
            Head::Nil => visitor.visit_unit(),
            Head::Bool(b) => visitor.visit_bool(b),
            Head::UInt(u) => match i64::try_from(u) {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => visitor.visit_u64(u),
            },
            Head::SInt(i) => visitor.visit_i64(i),
            Head::F32(f) => visitor.visit_f32(f),
            Head::F64(f) => visitor.visit_f64(f),
            Head::Str(n) => visitor.visit_str(self.cx.r.str(n)?),
            Head::Bin(n) => visitor.visit_bytes(self.cx.r.take(n)?),
            Head::Array(n) => {
                check_depth(at, self.depth, &self.cx.limits)?;
                self.items(n, visitor)
            }
            Head::Map(n) => {
                check_depth(at, self.depth, &self.cx.limits)?;
                self.entries(n, visitor)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.marker() == NIL {
            self.cx.r.head()?;
            return visitor.visit_none();
        }
        visitor.visit_some(Direct {
            wire: false,
            ..self
        })
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.marker() == NIL {
            self.cx.r.head()?;
            return visitor.visit_unit();
        }
        self.fallback()?.deserialize_unit(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if name == VALUE {
            return visitor.visit_newtype_struct(Direct { wire: true, ..self });
        }
        if name == TAGGED {
            if !(may_be_tagged(self.marker()) && self.form()? != Form::Map) {
                return self.fallback()?.deserialize_newtype_struct(name, visitor);
            }
            self.open_tag()?;
            let mut t = TagItems {
                cx: self.cx,
                depth: self.depth + 1,
                next: 0,
            };
            let out = visitor.visit_seq(&mut t)?;
            t.finish()?;
            return Ok(out);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DecodeError> {
        let m = self.marker();
        if is_array(m) {
            let n = self.open()?;
            self.items(n, visitor)
        } else if may_be_tagged(m) && self.form()? == Form::Tuple {
            self.tuple(visitor)
        } else {
            self.fallback()?.deserialize_seq(visitor)
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        mut self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let m = self.marker();
        if is_array(m) {
            let n = self.open()?;
            self.items(n, visitor)
        } else if may_be_tagged(m) && self.form()? == Form::Tuple {
            self.tuple(visitor)
        } else {
            self.fallback()?.deserialize_tuple(len, visitor)
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

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DecodeError> {
        let m = self.marker();
        if is_map(m) && (!may_be_tagged(m) || self.form()? == Form::Map) {
            let n = self.open()?;
            self.entries(n, visitor)
        } else {
            self.fallback()?.deserialize_map(visitor)
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
        mut self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let mut p = self.cx.r.clone();
        match p.head()? {
            Head::Str(n) => {
                self.cx.r.head()?;
                let s = self.cx.r.str(n)?;
                visitor.visit_enum(s.into_deserializer())
            }
            // `{variant: content}`
            Head::Map(1) if matches!(p.head()?, Head::Str(_)) => {
                self.open()?;
                let Head::Str(n) = self.cx.r.head()? else {
                    return Err(DecodeError::Message("expected a variant name".into()));
                };
                let variant = self.cx.r.str(n)?;
                visitor.visit_enum(Variant {
                    cx: self.cx,
                    variant,
                    depth: self.depth + 1,
                })
            }
            _ => self.fallback()?.deserialize_enum(name, variants, visitor),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DecodeError> {
        let m = self.marker();
        if is_str_or_bin(m) {
            self.deserialize_any(visitor)
        } else if is_array(m) {
            let n = self.open()?;
            self.items(n, visitor)
        } else {
            self.fallback()?.deserialize_bytes(visitor)
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.cx.skip(self.depth)?;
        visitor.visit_unit()
    }

    ints! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    }

    forward_to_deserialize_any! {
        bool f32 f64 char str string identifier
    }
}

/// The items of an array.
struct Items<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    left: usize,
    depth: usize,
    hint: usize,
}

impl Items<'_, '_> {
    /// Skips the items the visitor did not take.
    fn finish(self) -> Result<(), DecodeError> {
        for _ in 0..self.left {
            self.cx.skip(self.depth)?;
        }
        Ok(())
    }
}

impl<'de> SeqAccess<'de> for Items<'_, '_> {
    type Error = DecodeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.cx.item(self.depth, |d| seed.deserialize(d)).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.hint.min(self.left))
    }
}

/// The entries of a map.
struct Entries<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    left: usize,
    depth: usize,
    hint: usize,
    /// A key was given, its value not yet.
    value_due: bool,
}

impl Entries<'_, '_> {
    /// Skips the entries the visitor did not take.
    fn finish(self) -> Result<(), DecodeError> {
        if self.value_due {
            self.cx.skip(self.depth)?;
        }
        for _ in 0..self.left {
            self.cx.skip(self.depth)?;
            self.cx.skip(self.depth)?;
        }
        Ok(())
    }
}

impl<'de> MapAccess<'de> for Entries<'_, '_> {
    type Error = DecodeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        if std::mem::take(&mut self.value_due) {
            self.cx.skip(self.depth)?;
        }
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let k = self.cx.item(self.depth, |d| seed.deserialize(d))?;
        self.value_due = true;
        Ok(Some(k))
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        if !std::mem::take(&mut self.value_due) {
            return Err(DecodeError::Message(
                "map value requested before its key".into(),
            ));
        }
        self.cx.item(self.depth, |d| seed.deserialize(d))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.hint.min(self.left))
    }
}

/// A tagged object as the pair (type name, data), positioned at the name.
struct TagItems<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    depth: usize,
    /// 0: the name comes next, 1: the data, 2: done.
    next: u8,
}

impl TagItems<'_, '_> {
    fn finish(self) -> Result<(), DecodeError> {
        if self.next == 0 {
            self.cx.skip(self.depth)?;
        }
        if self.next <= 1 {
            self.cx.skip(self.depth)?; // "data"
            self.cx.skip(self.depth)?;
        }
        Ok(())
    }
}

impl<'de> SeqAccess<'de> for TagItems<'_, '_> {
    type Error = DecodeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        match self.next {
            0 => {}
            1 => self.cx.skip(self.depth)?, // "data"
            _ => return Ok(None),
        }
        self.next += 1;
        self.cx.item(self.depth, |d| seed.deserialize(d)).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(2 - usize::from(self.next))
    }
}

/// An enum variant `{variant: content}`, positioned at the content.
struct Variant<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    variant: &'a str,
    depth: usize,
}

impl<'c, 'a, 'de> EnumAccess<'de> for Variant<'c, 'a> {
    type Error = DecodeError;
    type Variant = Direct<'c, 'a>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Direct<'c, 'a>), DecodeError> {
        let name = seed.deserialize(self.variant.into_deserializer())?;
        Ok((
            name,
            Direct {
                cx: self.cx,
                depth: self.depth,
                wire: false,
            },
        ))
    }
}

impl<'de> VariantAccess<'de> for Direct<'_, '_> {
    type Error = DecodeError;
    fn unit_variant(self) -> Result<(), DecodeError> {
        if self.marker() == NIL {
            self.cx.r.head()?;
            return Ok(());
        }
        let depth = self.depth;
        let cx = self.cx;
        let v = cx.r.value(cx.src, depth, &cx.limits)?;
        Err(unexpected(&v, "a unit variant"))
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, DecodeError> {
        self.cx.item(self.depth, |d| seed.deserialize(d))
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
