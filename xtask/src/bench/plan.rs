//! What a run measures: the options, the payload sizes, the messages per run.

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--no-python] [--no-micro] [--reps N]

Builds release (mpc-cli, mpc-bench) and measures in one run: raw TCP
(crates/mpc-bench raw-tcp), the Rust pool over HTTP and mutual TLS
(mpc echo + mpc bench), the Python pair (tno.mpc.communication 5.0.4 in
target/interop-venv), 64 messages in flight, all-to-all rounds among 2, 4
and 8 parties, the peak RSS of a party echoing 256 MiB, and the codec
micro-benchmarks (criterion). Writes docs/benchmarks.md and
docs/bench/{latency,throughput}.svg. Logs: target/bench/logs.

options:
  --quick      a short smoke run (one repetition, fewer messages, 64 MiB for
               the RSS case, short criterion runs); writes to
               target/bench/quick/ instead of docs/
  --no-python  leave out the Python pair (no venv needed)
  --no-micro   leave out the criterion micro-benchmarks
  --reps N     repetitions of each latency/throughput run (default 5; the
               median is reported)

The Python pair needs target/interop-venv (made by `cargo xtask interop`;
made here the same way, without running the suite, if missing).
";

/// Payload sizes of the latency/throughput table.
pub(super) const SIZES: [u64; 5] = [16, 1 << 10, 64 << 10, 1 << 20, 16 << 20];
pub(super) const MIB: u64 = 1 << 20;

#[derive(Debug, Clone)]
pub(super) struct Opts {
    pub(super) quick: bool,
    pub(super) python: bool,
    pub(super) micro: bool,
    pub(super) reps: usize,
}

/// The options; `None` if only the help was asked for.
pub(super) fn parse_opts(args: impl IntoIterator<Item = String>) -> Result<Option<Opts>> {
    let mut o = Opts {
        quick: false,
        python: true,
        micro: true,
        reps: 0,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--quick" => o.quick = true,
            "--no-python" => o.python = false,
            "--no-micro" => o.micro = false,
            "--reps" => {
                let n = it.next().context("--reps needs a number")?;
                o.reps = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .with_context(|| format!("--reps {n:?}: a number from 1 to 100"))?;
            }
            other => bail!("unknown option {other:?}\n\n{USAGE}"),
        }
    }
    if o.reps == 0 {
        o.reps = if o.quick { 1 } else { 5 };
    }
    Ok(Some(o))
}

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
    fn options() {
        let o = parse_opts(["--quick", "--no-python"].map(String::from))
            .unwrap()
            .unwrap();
        assert!(o.quick && !o.python && o.micro);
        assert_eq!(o.reps, 1);
        let o = parse_opts(["--reps", "3"].map(String::from))
            .unwrap()
            .unwrap();
        assert!(!o.quick && o.python && o.reps == 3);
        assert!(parse_opts(["--reps", "0"].map(String::from)).is_err());
        assert!(parse_opts(["--nope"].map(String::from)).is_err());
        assert!(parse_opts(["--help"].map(String::from)).unwrap().is_none());
        assert_eq!(counts(16, false), (20_000, 5_000, 500));
        assert_eq!(counts(16 << 20, true), (3, 2, 2));
    }
}
