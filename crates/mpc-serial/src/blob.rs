//! Large byte strings sent without a copy.

use std::ops::Deref;

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte string (Python `bytes`) that is shared with the outgoing packet
/// instead of copied into it when it is large (64 KiB and more): sending a
/// 256 MiB `Blob` does not make a second 256 MiB buffer. On the wire it is
/// exactly a `bytes::Bytes`; received, it is a slice of the packet when it
/// is the whole message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Blob(pub Bytes);

impl Deref for Blob {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl From<Bytes> for Blob {
    fn from(b: Bytes) -> Self {
        Blob(b)
    }
}

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Self {
        Blob(Bytes::from(v))
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::ser::share_bytes(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Bytes::deserialize(d).map(Blob)
    }
}
