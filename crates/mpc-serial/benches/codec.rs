//! Micro-benchmarks of the wire format: encoding packets, parsing the
//! envelope, decoding the value (dynamic `Value` and typed), for small
//! values, 1 MiB of bytes, 10 000 big integers of ~2048 bits (the size
//! of Paillier ciphertexts), and typed messages holding big integers
//! (a struct of lists and tuples, a list of tagged Python classes).
//!
//!     cargo bench -p mpc-serial --bench codec
//!     cargo bench -p mpc-serial --bench codec --features num-bigint   # + dashu vs num-bigint
//!
//! `cargo xtask bench` runs these in short mode and puts the figures in
//! docs/benchmarks.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mpc_measure::random_bytes;
use mpc_serial::{encode_packet, BigInt, Bytes, DecodeLimits, Packet, PyClass, Tagged, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `n` positive integers of exactly `bits` bits.
fn big_ints(n: usize, bits: usize) -> Vec<BigInt> {
    (0..n)
        .map(|i| {
            let mut b = random_bytes(bits / 8 + 1, i as u64 + 7);
            let last = b.len() - 1;
            b[last] = 0; // two's complement: positive
            b[last - 1] |= 0x80; // top bit set: exactly `bits` bits
            BigInt::from_python_bytes(&b)
        })
        .collect()
}

/// A small protocol message with a few fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Small {
    round: u32,
    party: String,
    share: u64,
    ok: bool,
}

/// A protocol round carrying big integers: lists, tuples, a map of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Round {
    round: u32,
    party: String,
    shares: Vec<BigInt>,
    pairs: Vec<(BigInt, i64)>,
    keys: std::collections::BTreeMap<String, BigInt>,
}

/// A Paillier ciphertext as a registered Python class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ciphertext {
    value: BigInt,
    fresh: bool,
}
impl PyClass for Ciphertext {
    const TYPE_NAME: &'static str = "PaillierCiphertext";
}

/// One value to benchmark: its name, how to encode it, the packet.
struct Case<T> {
    name: &'static str,
    value: T,
}

fn bench_case<T>(c: &mut Criterion, case: &Case<T>)
where
    T: Serialize + DeserializeOwned + 'static,
{
    let packet = encode_packet("0", &case.value).expect("encodes");
    let mut g = c.benchmark_group(format!("codec/{}", case.name));
    g.throughput(Throughput::Bytes(packet.len() as u64));
    g.bench_function("encode_packet", |b| {
        b.iter(|| encode_packet(black_box("0"), black_box(&case.value)).expect("encodes"))
    });
    g.bench_function("Packet::decode", |b| {
        b.iter(|| Packet::decode(black_box(packet.clone())).expect("envelope"))
    });
    let p = Packet::decode(packet.clone()).expect("envelope");
    g.bench_function("validate", |b| {
        b.iter(|| {
            black_box(&p)
                .validate(&DecodeLimits::DEFAULT)
                .expect("valid")
        })
    });
    g.bench_function("value", |b| {
        b.iter(|| black_box(&p).value().expect("value"))
    });
    g.bench_function("decode_object", |b| {
        b.iter(|| black_box(&p).decode_object::<T>().expect("typed"))
    });
    // the same through the dynamic `Value` (what `decode_object` did before
    // it read the bytes directly), measured beside it
    g.bench_function("value+from_value", |b| {
        b.iter(|| {
            mpc_serial::from_value::<T>(black_box(&p).value().expect("value")).expect("typed")
        })
    });
    g.finish();
}

fn small_values(c: &mut Criterion) {
    bench_case(
        c,
        &Case {
            name: "small/int",
            value: 1_234_567u64,
        },
    );
    bench_case(
        c,
        &Case {
            name: "small/str",
            value: "Hello!".to_owned(),
        },
    );
    bench_case(
        c,
        &Case {
            name: "small/tuple",
            value: (1u32, "a".to_owned(), 2.5f64),
        },
    );
    bench_case(
        c,
        &Case {
            name: "small/struct",
            value: Small {
                round: 3,
                party: "alice".into(),
                share: 0xdead_beef,
                ok: true,
            },
        },
    );
    bench_case(
        c,
        &Case {
            name: "small/bigint-2048",
            value: big_ints(1, 2048).remove(0),
        },
    );
}

fn bytes_1mib(c: &mut Criterion) {
    bench_case(
        c,
        &Case {
            name: "bytes-1MiB",
            value: Bytes::from(random_bytes(1 << 20, 1)),
        },
    );
}

fn bigint_list(c: &mut Criterion) {
    bench_case(
        c,
        &Case {
            name: "bigint-2048x10000",
            value: big_ints(10_000, 2048),
        },
    );
    // the same list received as a dynamic `Value` and sent on unchanged
    // (what `mpc echo` does)
    let packet = encode_packet("0", &big_ints(10_000, 2048)).expect("encodes");
    let value: Value = Packet::decode(packet.clone())
        .expect("envelope")
        .value()
        .expect("value");
    let mut g = c.benchmark_group("codec/bigint-2048x10000");
    g.throughput(Throughput::Bytes(packet.len() as u64));
    g.bench_function("encode_packet(Value)", |b| {
        b.iter(|| encode_packet(black_box("0"), black_box(&value)).expect("encodes"))
    });
    g.finish();
}

/// Typed messages holding big integers (what MPC protocols send).
fn typed_bigints(c: &mut Criterion) {
    let ints = big_ints(1_000, 2048);
    bench_case(
        c,
        &Case {
            name: "typed/round-bigint-2048x1000",
            value: Round {
                round: 7,
                party: "alice".into(),
                shares: ints[..400].to_vec(),
                pairs: ints[400..800]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (b.clone(), -(i as i64)))
                    .collect(),
                keys: ints[800..]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (format!("k{i}"), b.clone()))
                    .collect(),
            },
        },
    );
    bench_case(
        c,
        &Case {
            name: "typed/ciphertexts-2048x1000",
            value: ints
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    Tagged(Ciphertext {
                        value: b.clone(),
                        fresh: i % 2 == 0,
                    })
                })
                .collect::<Vec<_>>(),
        },
    );
    bench_case(
        c,
        &Case {
            name: "typed/bigint-64-128-bitsx10000",
            value: (0..10_000u64)
                .map(|i| BigInt::from(u128::from(i) << 64 | u128::from(i)))
                .collect::<Vec<_>>(),
        },
    );
}

/// Byte conversions of the big-integer backends (the crate chose dashu
/// for these): to and from Python's two's-complement little-endian bytes.
fn bigint_backends(c: &mut Criterion) {
    let mut g = c.benchmark_group("bigint-bytes");
    for bits in [256usize, 2048, 4096] {
        let v = big_ints(1, bits).remove(0);
        let bytes = v.to_python_bytes();
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("dashu/to_bytes", bits), &v, |b, v| {
            b.iter(|| black_box(v).to_python_bytes())
        });
        g.bench_with_input(
            BenchmarkId::new("dashu/from_bytes", bits),
            &bytes,
            |b, x| b.iter(|| BigInt::from_python_bytes(black_box(x))),
        );
        #[cfg(feature = "num-bigint")]
        {
            let n = num_bigint::BigInt::from(&v);
            assert_eq!(n.to_signed_bytes_le(), bytes);
            g.bench_with_input(BenchmarkId::new("num-bigint/to_bytes", bits), &n, |b, n| {
                b.iter(|| black_box(n).to_signed_bytes_le())
            });
            g.bench_with_input(
                BenchmarkId::new("num-bigint/from_bytes", bits),
                &bytes,
                |b, x| b.iter(|| num_bigint::BigInt::from_signed_bytes_le(black_box(x))),
            );
        }
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = codec;
    config = config();
    targets = small_values, bytes_1mib, bigint_list, typed_bigints, bigint_backends
}
criterion_main!(codec);
