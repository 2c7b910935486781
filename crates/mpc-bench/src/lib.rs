//! Benchmark programs run by `cargo xtask bench` (see `docs/benchmarks.md`).
//!
//! * `raw-tcp`: the baseline. Length-prefixed frames (8-byte little-endian
//!   length, then the payload) over std `TcpStream`s with `TCP_NODELAY`; the
//!   echo side reads a whole frame and writes it back (a full echo, like
//!   `mpc echo`). `raw-tcp bench` prints the same JSON line as `mpc bench`.
//! * `all-to-all`: every party sends a payload to every other party and
//!   receives one from each, round after round; one `Pool` per party, each
//!   in a process of its own (as parties are deployed), on 127.0.0.1.
//! * `python/pybench.py`: the Python pair (echo and bench parties with the
//!   real `tno.mpc.communication` 5.0.4 `Pool`), same JSON line.
//!
//! This library holds what the programs share: the payloads and the JSON
//! line.

use std::time::Duration;

/// Bytes of each payload that carry the message number (XORed into the
/// random base), so that every payload is distinct (as `mpc bench` does).
pub const STAMP: usize = 8;

/// The payloads of a run: one random buffer; payload `i` is that buffer with
/// `i` XORed into its first [`STAMP`] bytes.
#[derive(Debug, Clone)]
pub struct Payloads {
    base: Vec<u8>,
}

impl Payloads {
    /// Random payloads of `size` bytes (xorshift64*, seeded from the clock:
    /// the bytes only need to be incompressible and distinct).
    pub fn new(size: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64);
        let mut x = seed | 1;
        let mut base = vec![0u8; size];
        for chunk in base.chunks_mut(8) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        Payloads { base }
    }

    /// The payload size.
    pub fn len(&self) -> usize {
        self.base.len()
    }

    /// Whether payloads are empty.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }

    /// Turns `out`, which holds some payload of this run, into payload `i`
    /// (only the stamped bytes differ between payloads).
    pub fn stamp(&self, i: u64, out: &mut [u8]) {
        for ((o, b), s) in out.iter_mut().zip(&self.base).zip(i.to_le_bytes()) {
            *o = b ^ s;
        }
    }

    /// Payload `i`, freshly allocated.
    pub fn payload(&self, i: u64) -> Vec<u8> {
        let mut v = self.base.clone();
        self.stamp(i, &mut v);
        v
    }

    /// Whether `echo` is payload `i`.
    pub fn matches(&self, i: u64, echo: &[u8]) -> bool {
        let n = STAMP.min(self.base.len());
        echo.len() == self.base.len()
            && echo[..n]
                .iter()
                .zip(&self.base[..n])
                .zip(i.to_le_bytes())
                .all(|((e, b), s)| *e == b ^ s)
            && echo[n..] == self.base[n..]
    }
}

/// The JSON line `mpc bench` prints:
/// `{"size":..,"count":..,"inflight":..,"seconds":..,"roundtrip_us":..,"mb_per_s":..}`
/// where `seconds` is the wall time from the first send to the last echo,
/// `roundtrip_us` the mean time from sending a message to receiving its
/// echo, and `mb_per_s` the payload bytes in both directions per second.
pub fn json_line(
    size: u64,
    count: u64,
    inflight: u64,
    elapsed: Duration,
    roundtrips: Duration,
) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let roundtrip_us = roundtrips.as_secs_f64() * 1e6 / count.max(1) as f64;
    let mb_per_s = 2.0 * size as f64 * count as f64 / seconds / 1e6;
    format!(
        "{{\"size\":{size},\"count\":{count},\"inflight\":{inflight},\"seconds\":{seconds:.6},\
         \"roundtrip_us\":{roundtrip_us:.1},\"mb_per_s\":{mb_per_s:.3}}}"
    )
}

/// A byte count with an optional suffix: k, M (10^3, 10^6), Ki, Mi (2^10,
/// 2^20), as `mpc bench --size` takes it.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    let unit: u64 = match suffix {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        _ => {
            return Err(format!(
                "{s:?} is not a size (a number, then k, M, Ki or Mi)"
            ))
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|n| *n <= 1 << 30)
        .ok_or_else(|| format!("{s:?} is not a size of at most 1 GiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_distinct_and_verifiable() {
        for size in [0usize, 1, 7, 8, 9, 1000] {
            let p = Payloads::new(size);
            let a = p.payload(0);
            let b = p.payload(1);
            assert_eq!(a.len(), size);
            if size > 0 {
                assert_ne!(a, b);
            }
            assert!(p.matches(0, &a) && p.matches(1, &b));
            let mut w = a.clone();
            p.stamp(1, &mut w);
            assert_eq!(w, b);
            if size > 0 {
                assert!(!p.matches(0, &b));
                let mut c = b.clone();
                c[size - 1] ^= 1;
                assert!(!p.matches(1, &c));
            }
        }
    }

    #[test]
    fn json_line_has_the_mpc_bench_shape() {
        let l = json_line(
            16,
            1000,
            1,
            Duration::from_millis(100),
            Duration::from_millis(90),
        );
        assert_eq!(
            l,
            "{\"size\":16,\"count\":1000,\"inflight\":1,\"seconds\":0.100000,\
             \"roundtrip_us\":90.0,\"mb_per_s\":0.320}"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16"), Ok(16));
        assert_eq!(parse_size("1Ki"), Ok(1024));
        assert_eq!(parse_size("256Mi"), Ok(256 << 20));
        assert!(parse_size("2Gi").is_err());
        assert!(parse_size("x").is_err());
    }
}
