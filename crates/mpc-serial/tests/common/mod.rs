//! Helpers shared by the test suites of this crate.
// Each suite is its own crate and uses only some of these.
#![allow(dead_code)]

use mpc_serial::Value;

pub(crate) mod strategies;

/// The bytes of the hex digits in `s` (two per byte, no separators).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Equality with floats compared by their bits (NaN equals itself).
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    fn all(x: &[Value], y: &[Value]) -> bool {
        x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
    }
    match (a, b) {
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => all(x, y),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        (Value::Array(x), Value::Array(y)) => x.shape() == y.shape() && all(x.data(), y.data()),
        (
            Value::Tagged {
                type_name: ta,
                data: da,
            },
            Value::Tagged {
                type_name: tb,
                data: db,
            },
        ) => ta == tb && same(da, db),
        (Value::F32(_) | Value::F64(_), _) | (_, Value::F32(_) | Value::F64(_)) => false,
        _ => a == b,
    }
}
