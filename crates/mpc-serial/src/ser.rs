//! The serde serializer: Rust values to msgpack in the Python dialect.

use bytes::Bytes;
use serde::ser::{self, Impossible, Serialize};

use crate::bigint::{is_native_i128, BigInt};
use crate::tagged::TAGGED;
use crate::wire::*;
use crate::EncodeError;

/// Writes msgpack the way the Python package's serializer does.
///
/// * structs and maps → maps (field names as keys); `Option::None`, `()` → nil
/// * tuples, tuple structs, fixed-size arrays → `{"type": "tuple", "data": [..]}`
///   (serde cannot tell `[T; N]` from a tuple: send a `Vec` for a list)
/// * byte strings (`bytes::Bytes`, `serde_bytes`) → bin; a `Vec<u8>` is a list of ints
/// * `i128`/`u128` and [`BigInt`] outside the i64/u64 range → `{"type": "int"}`
/// * [`crate::Tagged`] values → `{"type": name, "data": ..}`
/// * enums: unit variants → their name; others → `{variant: content}`
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    pub(crate) out: Vec<u8>,
    /// Set by a `TAGGED` newtype: the next tuple is a (type name, data) pair.
    pending_tag: bool,
    /// When collecting parts: the finished parts that come before `out`.
    pub(crate) parts: Option<Vec<Part>>,
    /// Nesting of containers whose length was unknown up front (their
    /// items are moved after writing, so shared parts cannot start there).
    buffering: usize,
}

/// A piece of an encoding: bytes written by the encoder, or a large byte
/// string shared with the value instead of copied.
#[derive(Debug)]
pub(crate) enum Part {
    Owned(Vec<u8>),
    Shared(Bytes),
}

/// Byte strings at least this long are shared rather than copied when an
/// encoding is collected in parts.
pub(crate) const SHARE_THRESHOLD: usize = 64 * 1024;

/// The newtype-struct name by which a large byte string offers itself to be
/// shared (see [`share_bytes`]). Other formats see a newtype around bytes.
pub(crate) const SHARED_BYTES: &str = "$__mpc_serial::SharedBytes";

thread_local! {
    /// The byte string being offered through a `SHARED_BYTES` newtype: the
    /// serde data model carries only `&[u8]`, not the `Bytes` that owns it.
    static OFFERED: std::cell::RefCell<Option<Bytes>> = const { std::cell::RefCell::new(None) };
}

/// Serializes `b` as a byte string that this crate's encoder may keep as a
/// shared part of the packet instead of copying it.
pub(crate) fn share_bytes<S: ser::Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    if b.len() < SHARE_THRESHOLD {
        return s.serialize_bytes(b);
    }
    OFFERED.with(|c| *c.borrow_mut() = Some(b.clone()));
    let r = s.serialize_newtype_struct(SHARED_BYTES, &crate::bigint::BinRef(b));
    OFFERED.with(|c| c.borrow_mut().take());
    r
}

impl Encoder {
    pub(crate) fn with_buffer(out: Vec<u8>) -> Self {
        Encoder {
            out,
            pending_tag: false,
            parts: None,
            buffering: 0,
        }
    }

    fn int128(&mut self, v: i128) {
        if let Ok(v) = i64::try_from(v) {
            write_sint(&mut self.out, v);
        } else if let Ok(v) = u64::try_from(v) {
            write_uint(&mut self.out, v);
        } else {
            debug_assert!(!is_native_i128(v));
            let bytes = BigInt::from(v).to_python_bytes();
            // infallible for these short strings
            let _ = write_tag_start(&mut self.out, "int");
            let _ = write_bin(&mut self.out, &bytes);
        }
    }

    fn check_no_tag(&mut self) -> Result<(), EncodeError> {
        if std::mem::take(&mut self.pending_tag) {
            return Err(EncodeError::Message(
                "a tagged value must serialize as a (type name, data) pair".into(),
            ));
        }
        Ok(())
    }

    fn begin_seq(&mut self, len: Option<usize>) -> Result<Compound<'_>, EncodeError> {
        self.begin_container(len, false)
    }

    fn begin_map(&mut self, len: Option<usize>) -> Result<Compound<'_>, EncodeError> {
        self.begin_container(len, true)
    }

    /// An array (or a map, if `map`) of `len` items, or of as many as come.
    fn begin_container(
        &mut self,
        len: Option<usize>,
        map: bool,
    ) -> Result<Compound<'_>, EncodeError> {
        self.check_no_tag()?;
        let Some(n) = len else {
            return Ok(self.buffered(map));
        };
        if map {
            write_map_len(&mut self.out, n)?;
        } else {
            write_array_len(&mut self.out, n)?;
        }
        Ok(Compound::new(self, Kind::Counted(n)))
    }

    fn buffered(&mut self, map: bool) -> Compound<'_> {
        self.buffering += 1;
        let saved = std::mem::take(&mut self.out);
        Compound::new(self, Kind::Buffered { saved, map })
    }

    fn begin_tuple(&mut self, len: usize) -> Result<Compound<'_>, EncodeError> {
        if std::mem::take(&mut self.pending_tag) {
            if len != 2 {
                return Err(EncodeError::Message(
                    "a tagged value must serialize as a (type name, data) pair".into(),
                ));
            }
            return Ok(Compound::new(self, Kind::Tag));
        }
        write_tag_start(&mut self.out, "tuple")?;
        write_array_len(&mut self.out, len)?;
        Ok(Compound::new(self, Kind::Counted(len)))
    }

    fn variant_key(&mut self, variant: &str) -> Result<(), EncodeError> {
        self.check_no_tag()?;
        self.out.push(0x81);
        write_str(&mut self.out, variant)
    }
}

enum Kind {
    /// A header with this many items was written; check the count.
    Counted(usize),
    /// Length unknown up front: items go to a fresh buffer, the header is
    /// written at the end. `saved` is what came before.
    Buffered { saved: Vec<u8>, map: bool },
    /// A (type name, data) pair written as `{"type": name, "data": data}`.
    Tag,
}

pub(crate) struct Compound<'a> {
    enc: &'a mut Encoder,
    kind: Kind,
    items: usize,
}

impl<'a> Compound<'a> {
    fn new(enc: &'a mut Encoder, kind: Kind) -> Self {
        Compound {
            enc,
            kind,
            items: 0,
        }
    }

    fn element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), EncodeError> {
        if let Kind::Tag = self.kind {
            if self.items == 0 {
                let name = v.serialize(TypeNameCapture)?;
                write_tag_start(&mut self.enc.out, &name)?;
                self.items = 1;
                return Ok(());
            }
        }
        self.items += 1;
        v.serialize(&mut *self.enc)
    }

    fn key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), EncodeError> {
        k.serialize(&mut *self.enc)
    }

    fn finish(self) -> Result<(), EncodeError> {
        match self.kind {
            Kind::Counted(n) if n != self.items => Err(EncodeError::Message(format!(
                "serializer declared {n} items but produced {}",
                self.items
            ))),
            Kind::Counted(_) => Ok(()),
            Kind::Tag if self.items != 2 => Err(EncodeError::Message(
                "a tagged value must serialize as a (type name, data) pair".into(),
            )),
            Kind::Tag => Ok(()),
            Kind::Buffered { saved, map } => {
                self.enc.buffering -= 1;
                let items = std::mem::replace(&mut self.enc.out, saved);
                if map {
                    write_map_len(&mut self.enc.out, self.items)?;
                } else {
                    write_array_len(&mut self.enc.out, self.items)?;
                }
                self.enc.out.extend_from_slice(&items);
                Ok(())
            }
        }
    }
}

/// The serde traits whose items are plain elements (sequences, tuples).
macro_rules! element_items {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = EncodeError;
            fn $method<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), EncodeError> {
                self.element(v)
            }
            fn end(self) -> Result<(), EncodeError> {
                self.finish()
            }
        }
    )*};
}

element_items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The serde traits whose items are named fields (structs): each is written
/// as a key (the field name) and its value.
macro_rules! field_items {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = EncodeError;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), EncodeError> {
                write_str(&mut self.enc.out, key)?;
                self.element(v)
            }
            fn end(self) -> Result<(), EncodeError> {
                self.finish()
            }
        }
    )*};
}

field_items!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), EncodeError> {
        self.key(k)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), EncodeError> {
        self.element(v)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.finish()
    }
}

macro_rules! scalar {
    ($($name:ident($t:ty) => |$s:ident, $v:ident| $body:expr;)*) => {$(
        fn $name(self, $v: $t) -> Result<(), EncodeError> {
            self.check_no_tag()?;
            let $s = self;
            $body;
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Encoder {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    scalar! {
        serialize_bool(bool) => |s, v| write_bool(&mut s.out, v);
        serialize_i8(i8) => |s, v| write_sint(&mut s.out, v.into());
        serialize_i16(i16) => |s, v| write_sint(&mut s.out, v.into());
        serialize_i32(i32) => |s, v| write_sint(&mut s.out, v.into());
        serialize_i64(i64) => |s, v| write_sint(&mut s.out, v);
        serialize_u8(u8) => |s, v| write_uint(&mut s.out, v.into());
        serialize_u16(u16) => |s, v| write_uint(&mut s.out, v.into());
        serialize_u32(u32) => |s, v| write_uint(&mut s.out, v.into());
        serialize_u64(u64) => |s, v| write_uint(&mut s.out, v);
        serialize_i128(i128) => |s, v| s.int128(v);
        serialize_f32(f32) => |s, v| write_f32(&mut s.out, v);
        serialize_f64(f64) => |s, v| write_f64(&mut s.out, v);
        serialize_str(&str) => |s, v| write_str(&mut s.out, v)?;
        serialize_bytes(&[u8]) => |s, v| write_bin(&mut s.out, v)?;
    }

    fn serialize_u128(self, v: u128) -> Result<(), EncodeError> {
        self.check_no_tag()?;
        match i128::try_from(v) {
            Ok(i) => self.int128(i),
            Err(_) => {
                let bytes = BigInt::from(v).to_python_bytes();
                write_tag_start(&mut self.out, "int")?;
                write_bin(&mut self.out, &bytes)?;
            }
        }
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
    }

    fn serialize_none(self) -> Result<(), EncodeError> {
        self.serialize_unit()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), EncodeError> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), EncodeError> {
        self.check_no_tag()?;
        write_nil(&mut self.out);
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), EncodeError> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), EncodeError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<(), EncodeError> {
        if name == SHARED_BYTES && self.parts.is_some() && self.buffering == 0 {
            if let Some(b) = OFFERED.with(|c| c.borrow_mut().take()) {
                self.check_no_tag()?;
                let (h, n) = crate::wire::bin_header(b.len())?;
                self.out.extend_from_slice(&h[..n]);
                let done = std::mem::take(&mut self.out);
                if let Some(parts) = self.parts.as_mut() {
                    parts.push(Part::Owned(done));
                    parts.push(Part::Shared(b));
                }
                return Ok(());
            }
        }
        if name == TAGGED {
            self.check_no_tag()?;
            self.pending_tag = true;
            v.serialize(&mut *self)?;
            return self.check_no_tag();
        }
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), EncodeError> {
        self.variant_key(variant)?;
        v.serialize(self)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a>, EncodeError> {
        self.begin_seq(len)
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, EncodeError> {
        self.begin_tuple(len)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, EncodeError> {
        self.check_no_tag()?;
        self.begin_tuple(len)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, EncodeError> {
        self.variant_key(variant)?;
        self.begin_tuple(len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a>, EncodeError> {
        self.begin_map(len)
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, EncodeError> {
        self.begin_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, EncodeError> {
        self.variant_key(variant)?;
        self.begin_map(Some(len))
    }
}

/// Captures the type name of a tagged pair (which must be a string).
struct TypeNameCapture;

fn not_a_name() -> EncodeError {
    EncodeError::Message("the type name of a tagged value must be a string".into())
}

macro_rules! reject {
    ($($name:ident($($t:ty),*);)*) => {$(
        fn $name(self, $(_: $t),*) -> Result<String, EncodeError> { Err(not_a_name()) }
    )*};
    ($($name:ident($($t:ty),*) -> $compound:ident;)*) => {$(
        fn $name(self, $(_: $t),*) -> Result<Self::$compound, EncodeError> { Err(not_a_name()) }
    )*};
}

impl ser::Serializer for TypeNameCapture {
    type Ok = String;
    type Error = EncodeError;
    type SerializeSeq = Impossible<String, EncodeError>;
    type SerializeTuple = Impossible<String, EncodeError>;
    type SerializeTupleStruct = Impossible<String, EncodeError>;
    type SerializeTupleVariant = Impossible<String, EncodeError>;
    type SerializeMap = Impossible<String, EncodeError>;
    type SerializeStruct = Impossible<String, EncodeError>;
    type SerializeStructVariant = Impossible<String, EncodeError>;

    fn serialize_str(self, v: &str) -> Result<String, EncodeError> {
        Ok(v.to_owned())
    }

    reject! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<String, EncodeError> {
        Err(not_a_name())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, EncodeError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, EncodeError> {
        Err(not_a_name())
    }
    reject! {
        serialize_seq(Option<usize>) -> SerializeSeq;
        serialize_tuple(usize) -> SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> SerializeTupleVariant;
        serialize_map(Option<usize>) -> SerializeMap;
        serialize_struct(&'static str, usize) -> SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> SerializeStructVariant;
    }
}
