//! Rust types that travel as Python classes: `{"type": name, "data": ...}`.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use serde::de::{self, DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The newtype-struct name by which [`Tagged`] (and the other tagged forms)
/// signal this crate's serializer to write `{"type": .., "data": ..}`.
/// Other serde formats see a newtype around the pair `(type_name, data)`.
pub(crate) const TAGGED: &str = "$__mpc_serial::Tagged";

/// A Rust type that corresponds to a Python class registered with
/// `Serialization.register_class` (or `set_serialization_logic`) on the
/// Python side.
///
/// Where the Python package checks `serialize`/`deserialize` annotations at
/// run time, here the compiler checks: the type's own `Serialize` /
/// `Deserialize` give the `data` part (what the Python class's `serialize`
/// returns), and [`PyClass::TYPE_NAME`] the `type` part (the Python class
/// name). Wrap a value in [`Tagged`] to send it tagged, or annotate a field
/// with `#[serde(with = "mpc_serial::tagged")]`.
///
/// ```
/// use mpc_serial::{PyClass, Tagged};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Point { x: i64, y: i64 }
/// impl PyClass for Point { const TYPE_NAME: &'static str = "Point"; }
///
/// let packet = mpc_serial::encode_packet("0", &Tagged(Point { x: 1, y: 2 })).unwrap();
/// // exactly the bytes Python's DefaultPacker makes for Point(1, 2)
/// assert_eq!(
///     format!("{:02x?}", &packet[..]).replace(", ", "").trim_matches(&['[', ']'][..]),
///     "82a66f626a656374c41882a474797065a5506f696e74a46461746182a17801a17902a26964a130"
/// );
/// ```
pub trait PyClass {
    /// The Python class name, the `type` of the tagged object.
    const TYPE_NAME: &'static str;
}

/// A value sent as the Python class `T::TYPE_NAME`: `{"type": .., "data": T}`.
///
/// Decoding checks that the type name matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tagged<T>(pub T);

impl<T> Tagged<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Tagged<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Tagged<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Tagged<T> {
    fn from(v: T) -> Self {
        Tagged(v)
    }
}

impl<T: PyClass + Serialize> Serialize for Tagged<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, s)
    }
}

impl<'de, T: PyClass + DeserializeOwned> Deserialize<'de> for Tagged<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize(d).map(Tagged)
    }
}

/// Serializes `value` tagged with `T::TYPE_NAME`; for
/// `#[serde(with = "mpc_serial::tagged")]`.
pub fn serialize<T: PyClass + Serialize, S: Serializer>(
    value: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_newtype_struct(TAGGED, &(T::TYPE_NAME, value))
}

/// Deserializes a value tagged with `T::TYPE_NAME`; for
/// `#[serde(with = "mpc_serial::tagged")]`.
pub fn deserialize<'de, T: PyClass + DeserializeOwned, D: Deserializer<'de>>(
    d: D,
) -> Result<T, D::Error> {
    d.deserialize_newtype_struct(TAGGED, TaggedVisitor::<T>(PhantomData))
}

struct TaggedVisitor<T>(PhantomData<T>);

impl<'de, T: PyClass + DeserializeOwned> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a tagged {:?} object", T::TYPE_NAME)
    }

    /// Other deserializers: the pair `(type name, data)` as another serde
    /// format writes it, or the `{"type", "data"}` map a buffering
    /// deserializer (`#[serde(untagged)]`) keeps.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }

    /// The `{"type": .., "data": ..}` map, as buffering deserializers (for
    /// `#[serde(untagged)]` enums) present a tagged object.
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut name: Option<String> = None;
        let mut data: Option<T> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    let n: String = map.next_value()?;
                    if n != T::TYPE_NAME {
                        return Err(de::Error::custom(format_args!(
                            "expected a tagged {:?} object, found type {n:?}",
                            T::TYPE_NAME
                        )));
                    }
                    name = Some(n);
                }
                "data" => data = Some(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, &["type", "data"])),
            }
        }
        name.ok_or_else(|| de::Error::missing_field("type"))?;
        data.ok_or_else(|| de::Error::missing_field("data"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let name: String = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        if name != T::TYPE_NAME {
            return Err(de::Error::custom(format_args!(
                "expected a tagged {:?} object, found type {name:?}",
                T::TYPE_NAME
            )));
        }
        seq.next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))
    }
}
