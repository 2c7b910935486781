//! What a run measures: the payload sizes, the messages per run.

/// Payload sizes of the latency/throughput table.
pub(super) const SIZES: [u64; 5] = [16, 1 << 10, 64 << 10, 1 << 20, 16 << 20];
pub(super) const MIB: u64 = 1 << 20;

/// Messages per run: (raw TCP, Rust pool, Python pair) for a payload size.
pub(super) fn counts(size: u64, quick: bool) -> (u64, u64, u64) {
    let full = match size {
        s if s <= 1 << 10 => (20_000, 5_000, 500),
        s if s <= 64 << 10 => (5_000, 2_000, 200),
        s if s <= 1 << 20 => (300, 200, 30),
        _ => (30, 20, 5),
    };
    if quick {
        let q = |n: u64| (n / 10).max(2);
        (q(full.0), q(full.1), q(full.2))
    } else {
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_per_run() {
        assert_eq!(counts(16, false), (20_000, 5_000, 500));
        assert_eq!(counts(1 << 20, false), (300, 200, 30));
        assert_eq!(counts(16 << 20, true), (3, 2, 2));
    }
}
