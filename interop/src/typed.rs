//! `typed`: Rust values against a Python party, both directions.
//!
//! Phase 1: every value of [`rust_to_python`] is sent with an automatic id;
//! the Python party checks it received the corresponding Python value
//! (`RUST_TO_PY` in `interop/scenarios.py`, same order) and echoes it; here
//! the echo must decode as the same Rust type and be equal to what was sent.
//!
//! Phase 2: the Python party sends the values of `PY_TO_RUST` (same order as
//! [`python_to_rust`]); each must decode as the expected Rust type and value,
//! and is sent back (re-encoded from the Rust value) for Python to check.

use std::collections::BTreeMap;
use std::fmt::Debug;

use anyhow::{Context, Result};
use mpc_pool::serial::IBig;
use mpc_pool::{BigInt, Bytes, NdArray, Pool, PyClass, Tagged, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checks::Checks;

/// Size of the large payload of `--big`: 33 MiB and one byte.
pub(crate) const BIG_LEN: usize = (33 << 20) + 1;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) x: i64,
    pub(crate) y: i64,
}
impl PyClass for Point {
    const TYPE_NAME: &'static str = "Point";
}

/// The same Python class with coordinates of any size.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct BigPoint {
    x: BigInt,
    y: BigInt,
}
impl PyClass for BigPoint {
    const TYPE_NAME: &'static str = "Point";
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Wrapper {
    #[serde(with = "mpc_pool::tagged")]
    inner: Point,
    pair: (i64, BigInt),
    blob: Bytes,
}
impl PyClass for Wrapper {
    const TYPE_NAME: &'static str = "Wrapper";
}

/// A Python class whose `serialize` returns a bare int (small: Python does
/// not turn tagged data of a class back into an int itself).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Secret(BigInt);
impl PyClass for Secret {
    const TYPE_NAME: &'static str = "Secret";
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Nested {
    points: Vec<Tagged<Point>>,
    pair: (String, Option<Tagged<Point>>),
    big: BigInt,
    map: BTreeMap<String, (i8, BigInt)>,
    arr: NdArray<BigInt>,
    blob: Bytes,
    maybe: Option<f64>,
    ratio: f64,
}

/// Python's `{"pts": [Point(1, 2), (3, 4)]}`, a list of mixed items, as
/// Rust sends it (an untagged enum; serde cannot decode Python's tuples and
/// classes into one, see `PtsTuple`).
#[derive(Serialize, Debug, Clone, PartialEq)]
struct PtsMixed {
    pts: Vec<PtItem>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
enum PtItem {
    P(Tagged<Point>),
    T((i64, i64)),
}

/// The same value received: a list decodes into a Rust tuple.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct PtsTuple {
    pts: (Tagged<Point>, (i64, i64)),
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Cmd {
    Stop,
    Move(i64, i64),
    Set { key: String, value: Option<BigInt> },
}

/// Floats compared by their bits (NaN equals NaN, -0.0 differs from 0.0).
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(transparent)]
struct Floats(Vec<f64>);
impl PartialEq for Floats {
    fn eq(&self, o: &Self) -> bool {
        self.0.len() == o.0.len()
            && self
                .0
                .iter()
                .zip(&o.0)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

/// A large byte string, shown by length only.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
#[serde(transparent)]
struct Big(Bytes);
impl Debug for Big {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Big({} bytes)", self.0.len())
    }
}

fn pow2(n: usize) -> BigInt {
    BigInt(IBig::from(1u8) << n)
}

fn neg(b: BigInt) -> BigInt {
    BigInt(-b.0)
}

fn nested() -> Result<Nested> {
    let mut map = BTreeMap::new();
    map.insert("a".to_owned(), (-1i8, neg(pow2(90))));
    map.insert("é".to_owned(), (127i8, BigInt::from(0)));
    Ok(Nested {
        points: vec![
            Tagged(Point { x: 1, y: -2 }),
            Tagged(Point {
                x: i64::MIN,
                y: i64::MAX,
            }),
        ],
        pair: ("p".into(), Some(Tagged(Point { x: 0, y: 0 }))),
        big: neg(pow2(200)),
        map,
        arr: NdArray::new(vec![1, 2], vec![pow2(70), BigInt::from(-1)])?,
        blob: Bytes::from_static(b"\x00nested"),
        maybe: None,
        ratio: 0.5,
    })
}

fn wrapper() -> Wrapper {
    Wrapper {
        inner: Point { x: 3, y: 4 },
        pair: (1, pow2(70)),
        blob: Bytes::from_static(b"\x00\xffblob"),
    }
}

fn special_floats() -> Floats {
    Floats(vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        1e300,
        5e-324,
    ])
}

/// Sends `v`, receives the echo as `T` and compares.
async fn there_and_back<T>(pool: &Pool, peer: &str, ck: &mut Checks, name: &str, v: T) -> Result<()>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + Clone + Send + 'static,
{
    send_expect(pool, peer, ck, name, &v, v.clone()).await
}

/// Sends `v`, receives the echo as `T` and compares it with `want`.
async fn send_expect<S, T>(
    pool: &Pool,
    peer: &str,
    ck: &mut Checks,
    name: &str,
    v: &S,
    want: T,
) -> Result<()>
where
    S: Serialize + ?Sized,
    T: DeserializeOwned + PartialEq + Debug + Send + 'static,
{
    pool.send(peer, v)
        .await
        .with_context(|| format!("sending {name}"))?;
    match pool.recv::<T>(peer).await {
        Ok(back) => ck.eq(&format!("rust->py->rust {name}"), &back, &want),
        Err(e) => ck.fail(format!(
            "rust->py->rust {name}: the echo does not decode as {}: {e} ({:?})",
            std::any::type_name::<T>(),
            std::error::Error::source(&e).map(|s| s.to_string())
        )),
    }
    Ok(())
}

/// Phase 1, in the order of `RUST_TO_PY` in `interop/scenarios.py`.
async fn rust_to_python(pool: &Pool, peer: &str, ck: &mut Checks, big: bool) -> Result<()> {
    let p = |x, y| Tagged(Point { x, y });
    there_and_back(pool, peer, ck, "point", p(1, 2)).await?;
    there_and_back(pool, peer, ck, "wrapper", Tagged(wrapper())).await?;
    there_and_back(pool, peer, ck, "bigint_2p70", pow2(70)).await?;
    there_and_back(pool, peer, ck, "bigint_neg_2p70", neg(pow2(70))).await?;
    there_and_back(pool, peer, ck, "bigint_small", BigInt::from(5)).await?;
    there_and_back(pool, peer, ck, "u64_max", u64::MAX).await?;
    there_and_back(pool, peer, ck, "i128_below_i64", i128::from(i64::MIN) - 1).await?;
    there_and_back(pool, peer, ck, "u128_2p127", 1u128 << 127).await?;
    there_and_back(pool, peer, ck, "tuple", (1i64, "a".to_owned(), true)).await?;
    there_and_back(pool, peer, ck, "empty_array_as_tuple", [0i64; 0]).await?;
    there_and_back(pool, peer, ck, "empty_tuple_value", Value::Tuple(vec![])).await?;
    there_and_back(pool, peer, ck, "bytes", Bytes::from_static(b"\x00\x01\xff")).await?;
    there_and_back(pool, peer, ck, "vec_u8", vec![1u8, 2]).await?;
    let arr = NdArray::new(
        vec![2, 2],
        vec![pow2(70), BigInt::from(1), BigInt::from(2), BigInt::from(3)],
    )?;
    there_and_back(pool, peer, ck, "ndarray_bigint", arr).await?;
    there_and_back(
        pool,
        peer,
        ck,
        "ndarray_i64",
        NdArray::from_vec(vec![1i64, -2, 3]),
    )
    .await?;
    there_and_back(
        pool,
        peer,
        ck,
        "ndarray_f32",
        NdArray::from_vec(vec![1.5f32, -0.25]),
    )
    .await?;
    there_and_back(pool, peer, ck, "f64", 1234.4321f64).await?;
    there_and_back(pool, peer, ck, "f32", 1.25f32).await?;
    there_and_back(pool, peer, ck, "floats_special", special_floats()).await?;
    there_and_back(pool, peer, ck, "option_none", None::<i64>).await?;
    there_and_back(pool, peer, ck, "option_some", Some(7i64)).await?;
    there_and_back(pool, peer, ck, "unit", ()).await?;
    there_and_back(pool, peer, ck, "unicode", "héllo ✓ 𝄞".to_owned()).await?;
    there_and_back(pool, peer, ck, "char", 'é').await?;
    let mut m: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    m.insert("a".into(), vec![1, 65535]);
    m.insert("b".into(), vec![]);
    there_and_back(pool, peer, ck, "map", m).await?;
    there_and_back(pool, peer, ck, "nested", nested()?).await?;
    there_and_back(pool, peer, ck, "points", vec![p(1, 2), p(-3, 4)]).await?;
    let mixed = PtsMixed {
        pts: vec![PtItem::P(p(1, 2)), PtItem::T((3, 4))],
    };
    let back = PtsTuple {
        pts: (p(1, 2), (3, 4)),
    };
    send_expect(pool, peer, ck, "pts_mixed_list", &mixed, back).await?;
    there_and_back(pool, peer, ck, "enum_unit", Cmd::Stop).await?;
    there_and_back(pool, peer, ck, "enum_tuple", Cmd::Move(1, 2)).await?;
    let set = Cmd::Set {
        key: "k".into(),
        value: Some(pow2(100)),
    };
    there_and_back(pool, peer, ck, "enum_struct", set).await?;
    there_and_back(pool, peer, ck, "mpz_value", Value::Mpz(BigInt::from(-7))).await?;
    let bp = Tagged(BigPoint {
        x: pow2(70),
        y: neg(pow2(64)),
    });
    there_and_back(pool, peer, ck, "bigpoint", bp).await?;
    let ints = (i8::MIN, u16::MAX, i32::MIN, u32::MAX, i64::MIN);
    there_and_back(pool, peer, ck, "ints", ints).await?;
    there_and_back(pool, peer, ck, "secret", Tagged(Secret(pow2(62)))).await?;
    if big {
        let data: Vec<u8> = (0..BIG_LEN).map(|i| i as u8).collect();
        there_and_back(pool, peer, ck, "bytes_33mib", Big(Bytes::from(data))).await?;
    }
    Ok(())
}

/// Receives the next value as `T`, compares it with `want` and sends the
/// Rust value back (an error text if it did not decode, so the Python side
/// is not left waiting).
async fn receive_and_return<T>(
    pool: &Pool,
    peer: &str,
    ck: &mut Checks,
    name: &str,
    want: T,
) -> Result<()>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + Send + 'static,
{
    match pool.recv::<T>(peer).await {
        Ok(got) => {
            ck.eq(&format!("py->rust {name}"), &got, &want);
            pool.send(peer, &got).await
        }
        Err(e) => {
            let msg = format!(
                "py->rust {name}: does not decode as {}: {e} ({:?})",
                std::any::type_name::<T>(),
                std::error::Error::source(&e).map(|s| s.to_string())
            );
            ck.fail(msg.clone());
            pool.send(peer, &msg).await
        }
    }
    .with_context(|| format!("sending {name} back"))
}

/// Phase 2, in the order of `PY_TO_RUST` in `interop/scenarios.py`.
async fn python_to_rust(pool: &Pool, peer: &str, ck: &mut Checks) -> Result<()> {
    let p = |x, y| Tagged(Point { x, y });
    receive_and_return(pool, peer, ck, "str", "Hello!".to_owned()).await?;
    receive_and_return(pool, peer, ck, "int", 1234i64).await?;
    receive_and_return(pool, peer, ck, "negative", -5i32).await?;
    receive_and_return(pool, peer, ck, "float", 1234.4321f64).await?;
    receive_and_return(pool, peer, ck, "bytes", Bytes::from_static(b"\x00\x01")).await?;
    receive_and_return(pool, peer, ck, "none", None::<i64>).await?;
    receive_and_return(pool, peer, ck, "true", true).await?;
    receive_and_return(pool, peer, ck, "list", vec![1i64, 2, 3, 4]).await?;
    let m: BTreeMap<String, i64> = [("1".to_owned(), 1), ("2".to_owned(), 2)].into();
    receive_and_return(pool, peer, ck, "dict", m).await?;
    receive_and_return(pool, peer, ck, "tuple", (1i64, "a".to_owned())).await?;
    receive_and_return(pool, peer, ck, "empty_tuple", [0i64; 0]).await?;
    receive_and_return(pool, peer, ck, "bigint", pow2(70)).await?;
    receive_and_return(pool, peer, ck, "neg_bigint", neg(pow2(70))).await?;
    receive_and_return(pool, peer, ck, "u64_max", u64::MAX).await?;
    receive_and_return(pool, peer, ck, "below_i64", i128::from(i64::MIN) - 1).await?;
    let a = NdArray::new(vec![2, 3], (0i64..6).collect())?;
    receive_and_return(pool, peer, ck, "np_int64", a).await?;
    let a = NdArray::new(vec![2], vec![1.5f32, 2.5])?;
    receive_and_return(pool, peer, ck, "np_float32", a).await?;
    let a = NdArray::new(vec![2], vec![pow2(70), BigInt::from(3)])?;
    receive_and_return(pool, peer, ck, "np_object", a).await?;
    receive_and_return(pool, peer, ck, "mpz_big", pow2(70)).await?;
    receive_and_return(pool, peer, ck, "mpz_small", BigInt::from(-7)).await?;
    receive_and_return(pool, peer, ck, "mpz_small_i128", -7i128).await?;
    receive_and_return(pool, peer, ck, "point", p(1, 2)).await?;
    let pts = PtsTuple {
        pts: (p(1, 2), (3, 4)),
    };
    receive_and_return(pool, peer, ck, "pts", pts).await?;
    receive_and_return(pool, peer, ck, "unicode", "héllo ✓".to_owned()).await?;
    receive_and_return(pool, peer, ck, "wrapper", Tagged(wrapper())).await?;
    let bp = Tagged(BigPoint {
        x: pow2(70),
        y: neg(pow2(64)),
    });
    receive_and_return(pool, peer, ck, "bigpoint", bp).await?;
    receive_and_return(pool, peer, ck, "nested", nested()?).await?;
    receive_and_return(pool, peer, ck, "floats", special_floats()).await?;
    receive_and_return(pool, peer, ck, "enum_unit", Cmd::Stop).await?;
    receive_and_return(pool, peer, ck, "enum_tuple", Cmd::Move(1, 2)).await?;
    receive_and_return(pool, peer, ck, "mpz_value", Value::Mpz(BigInt::from(-7))).await?;
    let secret = Value::tagged("Secret", Value::Int(1 << 62));
    receive_and_return(pool, peer, ck, "secret_value", secret).await?;
    receive_and_return(pool, peer, ck, "secret", Tagged(Secret(pow2(62)))).await?;
    let rows: Vec<Vec<i64>> = vec![vec![0, 1, 2], vec![3, 4, 5]];
    receive_and_return(pool, peer, ck, "np_int64_as_vec", rows).await?;
    receive_and_return(pool, peer, ck, "tuple_as_vec", vec![1i64, 2, 3]).await?;
    receive_and_return(pool, peer, ck, "list_as_tuple", (1i64, 2i64, 3i64)).await?;
    Ok(())
}

pub(crate) async fn run(pool: &Pool, peer: &str, big: bool) -> Result<Checks> {
    let mut ck = Checks::default();
    rust_to_python(pool, peer, &mut ck, big).await?;
    python_to_rust(pool, peer, &mut ck).await?;
    Ok(ck)
}
