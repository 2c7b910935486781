//! What every benchmark program shares: `mpc bench` (crates/mpc-cli),
//! `raw-tcp`, `all-to-all` and `rss-probe` (crates/mpc-bench), the codec
//! micro-benchmarks (crates/mpc-serial/benches) and `cargo xtask bench`,
//! which reads their output.
//!
//! * [`Record`]: the measurement of one run, the JSON line `mpc bench`
//!   prints (and `raw-tcp bench` and `python/pybench.py` print alike), with
//!   its one writer ([`Display`](std::fmt::Display)) and parser
//!   ([`Record::parse`]);
//! * [`Payloads`]: the random, distinct, verifiable payloads of a run;
//! * [`parse_size`]: a byte count with a k, M, Ki or Mi suffix;
//! * [`Usage`]: the CPU time, page faults and sleeps of a process (Linux).
//!
//! No dependencies, so that `cargo xtask` stays quick to build.

mod payload;
mod record;
mod size;
mod usage;

pub use payload::{random_bytes, Payloads, STAMP};
pub use record::{field, Record, RecordError, RecordLedger};
pub use size::{parse_size, SizeError};
pub use usage::Usage;
