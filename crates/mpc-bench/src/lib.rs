//! Benchmark programs run by `cargo xtask bench` (see `docs/benchmarks.md`).
//!
//! * `raw-tcp`: the baseline. Length-prefixed frames (8-byte little-endian
//!   length, then the payload) over std `TcpStream`s with `TCP_NODELAY`; the
//!   echo side reads a whole frame and writes it back (a full echo, like
//!   `mpc echo`). `raw-tcp bench` prints the same JSON line as `mpc bench`.
//! * `all-to-all`: every party sends a payload to every other party and
//!   receives one from each, round after round; one `Pool` per party, each
//!   in a process of its own (as parties are deployed), on 127.0.0.1.
//! * `rss-probe`: one big message into a party that only receives it.
//! * `python/pybench.py`: the Python pair (echo and bench parties with the
//!   real `tno.mpc.communication` 5.0.4 `Pool`), same JSON line.
//!
//! The payloads, the JSON line ([`mpc_measure::Record`]) and payload sizes
//! come from `mpc-measure`, shared with `mpc bench` and the xtask; this
//! library holds what only these programs share: their `--size` parser and
//! how they end.

use std::process::ExitCode;

/// Largest payload the programs take (a bound on what they allocate).
pub const MAX_SIZE: u64 = 1 << 30;

/// The `--size` value parser: a byte count with an optional suffix (k, M,
/// Ki, Mi), at most [`MAX_SIZE`].
pub fn parse_size(s: &str) -> Result<u64, String> {
    mpc_measure::parse_size(s, MAX_SIZE).map_err(|e| e.to_string())
}

/// The exit status of `program`, its error (with causes) on standard error.
pub fn exit(program: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16"), Ok(16));
        assert_eq!(parse_size("1Ki"), Ok(1024));
        assert_eq!(parse_size("256Mi"), Ok(256 << 20));
        assert!(parse_size("2Gi").is_err());
        assert!(parse_size("2048Mi").unwrap_err().contains("too large"));
        assert!(parse_size("x").is_err());
    }
}
