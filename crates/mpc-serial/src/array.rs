//! n-dimensional arrays, as numpy sends them.

use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::tagged::TAGGED;
use crate::Value;

/// An n-dimensional array: a shape and its elements in row-major (C) order.
///
/// numpy arrays travel two ways, and both decode into an `NdArray`:
/// * arrays of native dtypes (`int64`, `float32`, ...) as plain nested
///   lists — indistinguishable on the wire from a list of lists, so the shape
///   is inferred from the nesting (elements must be scalars);
/// * object arrays (`dtype=object`, e.g. of big integers) as
///   `{"type": "ndarray", "data": {"values": <nested lists>, "shape": <tuple>}}`.
///
/// An `NdArray` is always *sent* in the second form, so a Python receiver
/// gets a numpy array (of `dtype=object`) back rather than a list. A Rust
/// receiver may also take an array of n ≥ 1 dimensions (either form) as n
/// nested sequences of its shape: `Vec<T>`, `Vec<Vec<T>>`, `[[T; 3]; 2]`.
/// With the `ndarray` feature it converts to and from `ndarray::ArrayD`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NdArray<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

/// The shape does not match the number of elements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shape {shape:?} needs {expected} elements, got {actual}")]
pub struct ShapeError {
    /// The shape asked for.
    pub shape: Vec<usize>,
    /// Elements that shape holds.
    pub expected: usize,
    /// Elements given.
    pub actual: usize,
}

/// How many more nested lists than elements a shape may stand for.
const MAX_EMPTY_LISTS: usize = 1 << 20;

impl<T> NdArray<T> {
    /// An array of the given shape over `data` in row-major order.
    ///
    /// Fails if the shape does not hold exactly `data.len()` elements, or
    /// stands for over 2^20 more nested lists than it has elements (as
    /// `[usize::MAX, 0]` would).
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Result<Self, ShapeError> {
        let expected = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .unwrap_or(usize::MAX);
        // the nested lists a shape stands for cost memory even when empty
        // (`[n, 0]` is n empty lists): bound them
        let mut lists = 0usize;
        let mut prefix = 1usize;
        for &d in shape.iter().take(shape.len().saturating_sub(1)) {
            prefix = prefix.saturating_mul(d);
            lists = lists.saturating_add(prefix);
        }
        if expected != data.len() || lists > data.len().saturating_add(MAX_EMPTY_LISTS) {
            return Err(ShapeError {
                shape,
                expected,
                actual: data.len(),
            });
        }
        Ok(NdArray { shape, data })
    }

    /// A one-dimensional array.
    pub fn from_vec(data: Vec<T>) -> Self {
        NdArray {
            shape: vec![data.len()],
            data,
        }
    }

    /// The shape (empty for a 0-dimensional array).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// Shape and elements.
    pub fn into_parts(self) -> (Vec<usize>, Vec<T>) {
        (self.shape, self.data)
    }

    /// Applies `f` to every element.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<NdArray<U>, E> {
        Ok(NdArray {
            shape: self.shape,
            data: self.data.into_iter().map(f).collect::<Result<_, E>>()?,
        })
    }
}

impl NdArray<Value> {
    /// Builds an array from the `data` of a tagged `ndarray`
    /// (`{"values": nested, "shape": tuple}`); gives the data back if it is
    /// not exactly that.
    pub(crate) fn from_python_data(data: Value) -> Result<Self, Value> {
        let ok = match &data {
            Value::Map(e) => {
                e.len() == 2
                    && e[0].0.as_str() == Some("values")
                    && e[1].0.as_str() == Some("shape")
                    && matches!(&e[1].1, Value::Tuple(dims) if dims.iter().all(|d| matches!(d, Value::Int(i) if *i >= 0 && usize::try_from(*i).is_ok())))
                    && fits_shape(&e[0].1, &shape_of(&e[1].1))
            }
            _ => false,
        };
        if !ok {
            return Err(data);
        }
        let Value::Map(mut e) = data else {
            return Err(Value::Nil); // unreachable: checked above
        };
        let (_, shape) = e.pop().unwrap_or((Value::Nil, Value::Nil));
        let (_, values) = e.pop().unwrap_or((Value::Nil, Value::Nil));
        let shape = shape_of(&shape);
        let mut flat = Vec::new();
        flatten(values, shape.len(), &mut flat);
        Ok(NdArray { shape, data: flat })
    }

    /// Infers an array from nested lists (numpy's native-dtype form), or
    /// takes a decoded object array as it is.
    pub fn from_value(v: Value) -> Result<Self, Value> {
        match v {
            Value::Array(a) => Ok(a),
            Value::List(_) => {
                let mut shape = Vec::new();
                let mut cur = &v;
                while let Value::List(items) = cur {
                    shape.push(items.len());
                    match items.first() {
                        Some(first) => cur = first,
                        None => break,
                    }
                }
                if !fits_shape(&v, &shape) {
                    return Err(v);
                }
                let mut flat = Vec::new();
                flatten(v, shape.len(), &mut flat);
                Ok(NdArray { shape, data: flat })
            }
            other => Err(other),
        }
    }
}

fn shape_of(v: &Value) -> Vec<usize> {
    match v {
        Value::Tuple(dims) => dims
            .iter()
            .map(|d| match d {
                Value::Int(i) => usize::try_from(*i).unwrap_or(0),
                _ => 0,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn fits_shape(v: &Value, shape: &[usize]) -> bool {
    match shape.split_first() {
        None => !matches!(v, Value::List(_)) || shape.is_empty(),
        Some((&n, rest)) => match v {
            Value::List(items) => items.len() == n && items.iter().all(|i| fits_shape(i, rest)),
            _ => false,
        },
    }
}

fn flatten(v: Value, depth: usize, out: &mut Vec<Value>) {
    if depth == 0 {
        out.push(v);
        return;
    }
    if let Value::List(items) = v {
        for i in items {
            flatten(i, depth - 1, out);
        }
    }
}

struct Nested<'a, T> {
    shape: &'a [usize],
    data: &'a [T],
}

impl<T: Serialize> Serialize for Nested<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.shape.split_first() {
            None => match self.data.first() {
                Some(v) => v.serialize(s),
                None => s.serialize_unit(),
            },
            Some((&n, rest)) => {
                // saturating: dimensions after a zero are unbounded
                let step = rest.iter().fold(1usize, |a, &d| a.saturating_mul(d));
                let mut seq = s.serialize_seq(Some(n))?;
                for i in 0..n {
                    let lo = (i * step).min(self.data.len());
                    let hi = ((i + 1) * step).min(self.data.len());
                    seq.serialize_element(&Nested {
                        shape: rest,
                        data: &self.data[lo..hi],
                    })?;
                }
                seq.end()
            }
        }
    }
}

struct Shape<'a>(&'a [usize]);

impl Serialize for Shape<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(self.0.len())?;
        for d in self.0 {
            t.serialize_element(d)?;
        }
        t.end()
    }
}

struct PythonData<'a, T>(&'a NdArray<T>);

impl<T: Serialize> Serialize for PythonData<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(
            "values",
            &Nested {
                shape: &self.0.shape,
                data: &self.0.data,
            },
        )?;
        m.serialize_entry("shape", &Shape(&self.0.shape))?;
        m.end()
    }
}

impl<T: Serialize> Serialize for NdArray<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(TAGGED, &("ndarray", PythonData(self)))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for NdArray<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let kind = v.kind();
        let arr = NdArray::from_value(v).map_err(|_| {
            serde::de::Error::custom(format_args!(
                "expected an array (nested lists of equal lengths or a tagged ndarray), found {kind}"
            ))
        })?;
        arr.try_map(|e| {
            T::deserialize(crate::ValueDeserializer::new(e)).map_err(serde::de::Error::custom)
        })
    }
}

#[cfg(feature = "ndarray")]
mod nd {
    use super::NdArray;

    impl<T: Clone> From<ndarray::ArrayD<T>> for NdArray<T> {
        fn from(a: ndarray::ArrayD<T>) -> Self {
            NdArray {
                shape: a.shape().to_vec(),
                data: a.iter().cloned().collect(),
            }
        }
    }

    impl<T> TryFrom<NdArray<T>> for ndarray::ArrayD<T> {
        type Error = ndarray::ShapeError;
        fn try_from(a: NdArray<T>) -> Result<Self, Self::Error> {
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&a.shape), a.data)
        }
    }
}
