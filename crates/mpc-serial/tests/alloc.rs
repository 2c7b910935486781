//! Memory reserved while decoding hostile input stays proportional to the
//! input: declared lengths are never trusted, not even through nesting.
//!
//! `unsafe_code` is forbidden in this workspace, so there is no counting
//! allocator here; instead each check re-runs this test binary as a child
//! process under `ulimit -v` (address space), where reserving too much makes
//! the allocation fail and the child abort. Linux only.
#![cfg(target_os = "linux")]

use std::process::Command;

use mpc_serial::{decode, decode_value, Bytes, DecodeError, Value};
use serde::Deserialize;

/// Lists of lists (or maps of maps) of ... that reserve whatever the
/// decoder's size hint says: only the hint bounds what they reserve.
#[derive(Debug)]
struct Trusting;

impl<'de> Deserialize<'de> for Trusting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Trusting;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("nested lists or maps")
            }
            fn visit_unit<E>(self) -> Result<Trusting, E> {
                Ok(Trusting)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Trusting, A::Error> {
                let mut items: Vec<[u64; 8]> = Vec::with_capacity(a.size_hint().unwrap_or(0));
                while let Some(Trusting) = a.next_element()? {
                    items.push([0; 8]);
                }
                Ok(Trusting)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Trusting, A::Error> {
                let mut items: Vec<[u64; 8]> = Vec::with_capacity(a.size_hint().unwrap_or(0));
                while let Some((Trusting, Trusting)) = a.next_entry()? {
                    items.push([0; 8]);
                }
                Ok(Trusting)
            }
        }
        d.deserialize_any(V)
    }
}

/// Lists of lists, or maps of maps, of ...: as deep as the input.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Nest {
    List(#[allow(dead_code)] Vec<Nest>),
    Map(#[allow(dead_code)] std::collections::BTreeMap<Option<()>, Nest>),
    Nil(()),
}

const CHILD: &str = "MPC_SERIAL_ALLOC_CHILD";
/// Address-space limit of the child: 1 GiB.
const LIMIT_KIB: u64 = 1 << 20;

/// True in the child process (run the body); in the parent, runs `test` in a
/// child under the address-space limit and returns whether it succeeded.
fn in_child_or_run(test: &str) -> Result<(), bool> {
    if std::env::var_os(CHILD).is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {LIMIT_KIB} && exec \"$0\" --exact {test} --test-threads=1 --nocapture"
        ))
        .arg(exe)
        .env(CHILD, "1")
        .output()
        .expect("runs sh");
    let ok = out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed");
    if !ok {
        eprintln!(
            "child {test}: {:?}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Err(ok)
}

/// The limit works: reserving 2 GiB under it fails (the check can fail).
#[test]
fn control_reserving_too_much_aborts_the_child() {
    match in_child_or_run("control_reserving_too_much_aborts_the_child") {
        Ok(()) => {
            let v: Vec<u64> = Vec::with_capacity(1 << 28); // 2 GiB, untouched
            std::hint::black_box(&v);
        }
        Err(ok) => assert!(
            !ok,
            "the address-space limit did not stop a 2 GiB reservation"
        ),
    }
}

/// In the child process of `test`: 255 levels of `level` (a container
/// declaring 2^32 - 1 items, whose last item is the next level), then
/// 200 000 nils, decode to a clean error. Every level sees ~200 000 bytes
/// remaining, but those hold 200 000 items in all: reserving
/// `min(declared, remaining)` at every level would reserve 255 × 200 000
/// values (gigabytes) for a 200 KB input.
fn nested_huge_declarations_in_child(test: &str, level: &[u8]) {
    match in_child_or_run(test) {
        Ok(()) => {
            let mut v = level.repeat(255);
            v.extend(std::iter::repeat_n(0xc0u8, 200_000));
            let v = Bytes::from(v);
            let r = decode_value(&v);
            assert!(matches!(r, Err(DecodeError::UnexpectedEof { .. })), "{r:?}");
            // typed, straight from the bytes: sequences' size hints share
            // the same budget
            let r = decode::<Nest>(&v);
            assert!(matches!(r, Err(DecodeError::UnexpectedEof { .. })), "{r:?}");
            let r = decode::<Vec<Vec<Vec<Value>>>>(&v);
            assert!(matches!(r, Err(DecodeError::UnexpectedEof { .. })), "{r:?}");
            let r = decode::<Trusting>(&v);
            assert!(matches!(r, Err(DecodeError::UnexpectedEof { .. })), "{r:?}");
            let r = decode::<serde::de::IgnoredAny>(&v);
            assert!(matches!(r, Err(DecodeError::UnexpectedEof { .. })), "{r:?}");
        }
        Err(ok) => assert!(ok, "decoding reserved more than 1 GiB"),
    }
}

/// Nested lists, each declaring 2^32 - 1 items.
#[test]
fn nested_huge_declared_lists_do_not_multiply_reservations() {
    nested_huge_declarations_in_child(
        "nested_huge_declared_lists_do_not_multiply_reservations",
        b"\xdd\xff\xff\xff\xff",
    );
}

/// The same with maps (keys nil, values the next map).
#[test]
fn nested_huge_declared_maps_do_not_multiply_reservations() {
    nested_huge_declarations_in_child(
        "nested_huge_declared_maps_do_not_multiply_reservations",
        b"\xdf\xff\xff\xff\xff\xc0",
    );
}

/// A genuinely large input still decodes under the limit.
#[test]
fn large_honest_input_decodes_under_the_limit() {
    match in_child_or_run("large_honest_input_decodes_under_the_limit") {
        Ok(()) => {
            // [[0] * 1000] * 1000 and a 4 MiB byte string
            let mut v = vec![0xdc, 0x03, 0xe9];
            for _ in 0..1000 {
                v.extend_from_slice(&[0xdc, 0x03, 0xe8]);
                v.extend(std::iter::repeat_n(0u8, 1000));
            }
            v.extend_from_slice(&[0xc6, 0x00, 0x40, 0x00, 0x00]);
            v.extend(std::iter::repeat_n(7u8, 4 << 20));
            let v = Bytes::from(v);
            let r = decode_value(&v).expect("decodes");
            assert_eq!(r.as_slice().map(<[_]>::len), Some(1001));
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Row {
                Ints(Vec<u8>),
                Blob(Bytes),
            }
            let rows: Vec<Row> = decode(&v).expect("typed");
            let ints: usize = rows
                .iter()
                .map(|r| match r {
                    Row::Ints(i) => i.len(),
                    Row::Blob(b) => b.len(),
                })
                .sum();
            assert_eq!((rows.len(), ints), (1001, 1000 * 1000 + (4 << 20)));
        }
        Err(ok) => assert!(ok, "honest input failed under the limit"),
    }
}
