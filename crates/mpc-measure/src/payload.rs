//! The payloads of a run: random bytes, made distinct per message.

/// Bytes of each payload that carry the message number (XORed into the
/// random base), so that every payload is distinct.
pub const STAMP: usize = 8;

/// `n` pseudo-random bytes (xorshift64*) from `seed`: incompressible,
/// the same for the same seed.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    // a zero state would stay zero
    let mut x = seed | 1;
    let mut out = vec![0u8; n];
    for chunk in out.chunks_mut(8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    out
}

/// The payloads of a run: one random buffer; payload `i` is that buffer with
/// `i` (little-endian) XORed into its first [`STAMP`] bytes.
#[derive(Debug, Clone)]
pub struct Payloads {
    base: Vec<u8>,
}

impl Payloads {
    /// Random payloads of `size` bytes, seeded from the clock (the bytes
    /// only need to be incompressible and distinct).
    pub fn new(size: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64);
        Self::with_seed(size, seed)
    }

    /// Payloads of `size` bytes from a given seed.
    pub fn with_seed(size: usize, seed: u64) -> Self {
        Payloads {
            base: random_bytes(size, seed),
        }
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
            assert!(!p.matches(1, &[b.as_slice(), &[0]].concat()));
        }
    }

    #[test]
    fn payload_zero_is_the_random_bytes_of_the_seed() {
        let p = Payloads::with_seed(13, 42);
        assert_eq!(p.payload(0), random_bytes(13, 42));
        assert_eq!(random_bytes(13, 42), random_bytes(13, 42));
        assert_ne!(random_bytes(13, 42), random_bytes(13, 44));
    }
}
