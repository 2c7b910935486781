//! `cargo xtask bench`: measures, in one run, the raw-TCP baseline
//! (`crates/mpc-bench`, `raw-tcp`), the Rust pool over plain HTTP and over
//! mutual TLS (`mpc echo` + `mpc bench`), the Python pair (the real
//! `tno.mpc.communication` 5.0.4 in the interop venv,
//! `crates/mpc-bench/python/pybench.py`), 64 messages in flight, the pool
//! over emulated LAN and WAN links (`--net`, against the link model), the
//! ledger overhead (this `mpc` against the one of the commit before the
//! ledger, built in target/bench/before), the all-to-all growth
//! (`all-to-all`), the peak RSS of a party echoing a 256 MiB message and
//! the codec micro-benchmarks (criterion,
//! `crates/mpc-serial/benches/codec.rs`); then writes `docs/benchmarks.md`
//! with `docs/bench/latency.svg` and `docs/bench/throughput.svg`.
//!
//! Every server listens on 127.0.0.1; every process is started by this
//! program, waited for with a deadline, and killed when it is not needed
//! any more (also on error).
//!
//! This file holds the options and the run, a method a step
//! ([`Measuring`]). The modules, by concern: `plan` (payload sizes,
//! messages per run), `process` (a child process with deadlines),
//! `programs` (starting each benchmark program and reading its result),
//! `machine` (facts about the machine and what else ran on it), `netem`
//! (the LAN/WAN step and its model), `overhead` (the ledger overhead step
//! and the build of the commit before the ledger), `results` (what a run
//! measured), `targets` (the goals), `micro` (the criterion run), `format`
//! (numbers), `tables` (Markdown tables), `chart` (the SVG charts) and
//! `page` (docs/benchmarks.md, a function a section).

mod causes;
mod chart;
mod format;
mod machine;
mod micro;
mod netem;
mod overhead;
mod page;
mod plan;
mod process;
mod programs;
mod results;
mod tables;
mod targets;

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use mpc_measure::field;

use crate::shell::{self, run};
use format::size_label;
use machine::{LoadWatch, Machine};
use plan::{counts, MIB, SIZES};
use programs::{Bins, Setup, TlsFiles};
use results::{AllToAll, Metric, Results, Sys};

pub(crate) const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--no-python] [--no-micro] [--no-overhead]
                         [--reps N]

Builds release (mpc-cli, mpc-bench) and measures in one run: raw TCP
(crates/mpc-bench raw-tcp), the Rust pool over HTTP and mutual TLS
(mpc echo + mpc bench), the Python pair (tno.mpc.communication 5.0.4 in
target/interop-venv), 64 messages in flight, the pool over emulated
networks (--net lan, wan, 20ms, 1ms,100Mbit on both processes) against the
link model, the ledger overhead (16 B, 1 and 64 in flight, against mpc of
the commit before the ledger), all-to-all rounds among 2, 4 and 8 parties,
the peak RSS of a party echoing 256 MiB, and the codec micro-benchmarks
(criterion). Writes docs/benchmarks.md and
docs/bench/{latency,throughput}.svg. Logs: target/bench/logs.

The ledger overhead needs the history: mpc of the first parent of the
ledger's merge (f8f7c96^1) is built once (release, -p mpc-cli) in a git
worktree at target/bench/before/tree, with target/bench/before/target as
its target directory; target/bench/before/commit records the commit built,
so later runs reuse the binary. The worktree is removed after the build.
Without the commit (a shallow clone) or if it does not build, the page
says so and the run goes on.

options:
  --quick      a short smoke run (one repetition, fewer messages, 64 MiB for
               the RSS case, short criterion runs); writes to
               target/bench/quick/ instead of docs/
  --no-python  leave out the Python pair (no venv needed)
  --no-micro   leave out the criterion micro-benchmarks
  --no-overhead
               leave out the ledger overhead (no build of the old commit)
  --reps N     repetitions of each latency/throughput run (default 5; the
               median is reported; the emulated networks: at most 3)

The Python pair needs target/interop-venv (made by `cargo xtask interop`;
made here the same way, without running the suite, if missing).
";

#[derive(Debug, Clone)]
struct Opts {
    quick: bool,
    python: bool,
    micro: bool,
    overhead: bool,
    reps: usize,
}

/// The options; `None` if only the help was asked for.
fn parse_opts(args: impl IntoIterator<Item = String>) -> Result<Option<Opts>> {
    let mut o = Opts {
        quick: false,
        python: true,
        micro: true,
        overhead: true,
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
            "--no-overhead" => o.overhead = false,
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

pub(crate) fn main(args: impl IntoIterator<Item = String>) -> Result<()> {
    let Some(opts) = parse_opts(args)? else {
        return Ok(());
    };
    let root = shell::root();
    let target = shell::target_dir(&root);
    let work = target.join("bench");
    let logs = work.join("logs");
    if logs.exists() {
        std::fs::remove_dir_all(&logs).with_context(|| format!("clearing {}", logs.display()))?;
    }
    std::fs::create_dir_all(&logs)?;
    let (page, plots) = if opts.quick {
        let q = work.join("quick");
        (q.join("benchmarks.md"), q.join("bench"))
    } else {
        (root.join("docs/benchmarks.md"), root.join("docs/bench"))
    };

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: building release (mpc-cli, mpc-bench)");
    run(
        Command::new(&cargo)
            .args(["build", "--release", "-p", "mpc-cli", "-p", "mpc-bench"])
            .current_dir(&root),
        "building the release binaries",
    )?;
    let python = if opts.python {
        Some(programs::ensure_python(&target)?)
    } else {
        None
    };
    let before = opts
        .overhead
        .then(|| overhead::prepare(&root, &work, &cargo, &logs));
    let bins = Bins::new(&root, &target.join("release"), python, &logs);
    let certs = work.join("certs");
    bins.make_certs(&certs)?;

    let machine = Machine::probe(bins.python());
    let started = Instant::now();
    let mut m = Measuring {
        bins: &bins,
        tls: TlsFiles::new(&certs),
        opts: &opts,
        res: Results {
            quick: opts.quick,
            reps: opts.reps,
            ..Results::default()
        },
        load: LoadWatch::default(),
    };
    m.by_size()?;
    m.in_flight()?;
    m.netem()?;
    if let Some(before) = before {
        m.overhead(before);
    }
    if bins.python().is_some() {
        m.python_pair()?;
    }
    m.all_to_all()?;
    m.memory()?;
    let Measuring {
        mut res, mut load, ..
    } = m;
    load.sample();
    res.wall = started.elapsed();

    // --- codec micro-benchmarks
    if opts.micro {
        eprintln!("bench: codec micro-benchmarks (criterion)");
        res.micro = micro::run(&root, &target, &cargo, opts.quick, &logs)?;
    }
    load.sample();

    std::fs::create_dir_all(&plots)?;
    std::fs::write(
        plots.join("latency.svg"),
        chart::by_size(&res, Metric::RoundTrip),
    )?;
    std::fs::write(
        plots.join("throughput.svg"),
        chart::by_size(&res, Metric::Throughput),
    )?;
    let md = page::markdown(&res, &machine, &load);
    if let Some(dir) = page.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&page, md).with_context(|| format!("writing {}", page.display()))?;
    eprintln!("bench: wrote {} and {}", page.display(), plots.display());
    for t in targets::targets(&res) {
        eprintln!("  {} {}: {}", t.verdict(), t.name, t.measured);
    }
    Ok(())
}

/// A run under way: the programs, the options, what was measured so far
/// and the load seen; a method a step.
struct Measuring<'a> {
    bins: &'a Bins,
    tls: TlsFiles,
    opts: &'a Opts,
    res: Results,
    load: LoadWatch,
}

impl Measuring<'_> {
    /// Latency and throughput against the payload size: raw, plain, TLS
    /// interleaved per size and repetition.
    fn by_size(&mut self) -> Result<()> {
        for rep in 0..self.opts.reps {
            for &size in &SIZES {
                self.load.sample();
                let (n_raw, n_rust, _) = counts(size, self.opts.quick);
                eprintln!(
                    "bench: rep {}/{} size {}: raw, Rust plain, Rust TLS (and MPC_MALLOC=keep from 1 MiB)",
                    rep + 1,
                    self.opts.reps,
                    size_label(size)
                );
                self.rust_and_raw(size, (n_raw, n_rust), 1)?;
                if size >= MIB {
                    let keep = Setup {
                        keep_memory: true,
                        ..Setup::default()
                    };
                    self.res
                        .add(Sys::Keep, self.bins.mpc_pair_with(keep, size, n_rust, 1)?);
                }
            }
            // the first message alone: connections (and TLS handshakes) + one round trip
            self.res
                .first_plain
                .push(self.bins.mpc_pair(16, 1, 1, None)?.roundtrip_us);
            self.res
                .first_tls
                .push(self.bins.mpc_pair(16, 1, 1, Some(&self.tls))?.roundtrip_us);
        }
        Ok(())
    }

    /// 16 B messages, 64 in flight.
    fn in_flight(&mut self) -> Result<()> {
        let inflight_reps = self.opts.reps.min(3);
        for _ in 0..inflight_reps {
            self.load.sample();
            eprintln!("bench: 64 in flight");
            let n = if self.opts.quick { 3_000 } else { 30_000 };
            self.rust_and_raw(16, (n * 2, n), 64)?;
        }
        Ok(())
    }

    /// One run each of raw TCP, the Rust pool over HTTP and over mutual TLS;
    /// `counts`: the messages of the raw run and of the Rust runs.
    fn rust_and_raw(
        &mut self,
        size: u64,
        (n_raw, n_rust): (u64, u64),
        inflight: u64,
    ) -> Result<()> {
        self.res
            .add(Sys::Raw, self.bins.raw_pair(size, n_raw, inflight)?);
        self.res.add(
            Sys::Plain,
            self.bins.mpc_pair(size, n_rust, inflight, None)?,
        );
        self.res.add(
            Sys::Tls,
            self.bins
                .mpc_pair(size, n_rust, inflight, Some(&self.tls))?,
        );
        Ok(())
    }

    /// The Python pair: every size, then 64 in flight, in one pair of processes.
    fn python_pair(&mut self) -> Result<()> {
        self.load.sample();
        eprintln!("bench: Python pair");
        let mut runs = Vec::new();
        for _ in 0..self.opts.reps.min(3) {
            for &size in &SIZES {
                runs.push((size, counts(size, self.opts.quick).2, 1));
            }
        }
        runs.push((16, if self.opts.quick { 200 } else { 2_000 }, 64));
        for m in self.bins.python_pair(&runs)? {
            self.res.add(Sys::Python, m);
        }
        Ok(())
    }

    /// All-to-all growth (and, for 16 B, the same on the current-thread runtime).
    fn all_to_all(&mut self) -> Result<()> {
        for (size, rounds, current_thread) in [
            (16u64, 200u64, false),
            (64 << 10, 50, false),
            (16, 200, true),
        ] {
            for parties in [2u64, 4, 8] {
                self.load.sample();
                eprintln!(
                    "bench: all-to-all, {parties} parties, {}{}",
                    size_label(size),
                    if current_thread {
                        ", current-thread runtime"
                    } else {
                        ""
                    }
                );
                let rounds = if self.opts.quick { rounds / 10 } else { rounds };
                let line = self
                    .bins
                    .all_to_all(parties, size, rounds, current_thread)?;
                self.res.all_to_all.push(AllToAll {
                    parties,
                    size,
                    current_thread,
                    rounds,
                    round_us: field(&line, "round_us").context("all-to-all: no round_us")?,
                    round_us_mean: field(&line, "round_us_mean").unwrap_or(f64::NAN),
                });
            }
        }
        Ok(())
    }

    /// Peak RSS with one big message.
    fn memory(&mut self) -> Result<()> {
        let big = if self.opts.quick { 64 * MIB } else { 256 * MIB };
        self.res.rss_size = big;
        self.load.sample();
        eprintln!("bench: peak RSS, {}", size_label(big));
        self.res.rss.push(self.bins.rss_raw(big)?);
        self.res.rss.push(self.bins.rss_recv(big)?);
        self.res.rss.push(self.bins.rss_mpc(big)?);
        if self.bins.python().is_some() {
            self.res.rss.push(self.bins.rss_python(big)?);
        }
        Ok(())
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
        assert!(o.quick && !o.python && o.micro && o.overhead);
        assert_eq!(o.reps, 1);
        let o = parse_opts(["--reps", "3"].map(String::from))
            .unwrap()
            .unwrap();
        assert!(!o.quick && o.python && o.reps == 3);
        let o = parse_opts(["--no-overhead"].map(String::from))
            .unwrap()
            .unwrap();
        assert!(!o.overhead && o.reps == 5);
        assert!(parse_opts(["--reps", "0"].map(String::from)).is_err());
        assert!(parse_opts(["--nope"].map(String::from)).is_err());
        assert!(parse_opts(["--help"].map(String::from)).unwrap().is_none());
    }
}
