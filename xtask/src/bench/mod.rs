//! `cargo xtask bench`: measures, in one run, the raw-TCP baseline
//! (`crates/mpc-bench`, `raw-tcp`), the Rust pool over plain HTTP and over
//! mutual TLS (`mpc echo` + `mpc bench`), the Python pair (the real
//! `tno.mpc.communication` 5.0.4 in the interop venv,
//! `crates/mpc-bench/python/pybench.py`), 64 messages in flight, the
//! all-to-all growth (`all-to-all`), the peak RSS of a party echoing a
//! 256 MiB message and the codec micro-benchmarks (criterion,
//! `crates/mpc-serial/benches/codec.rs`); then writes `docs/benchmarks.md`
//! with `docs/bench/latency.svg` and `docs/bench/throughput.svg`.
//!
//! Every server listens on 127.0.0.1; every process is started by this
//! program, waited for with a deadline, and killed when it is not needed
//! any more (also on error).
//!
//! The modules, by concern: `process` (a child process with deadlines),
//! `programs` (starting each benchmark program and reading its result),
//! `machine` (facts about the machine and what else ran on it),
//! `results` (what a run measured), `targets` (the goals), `micro` (the
//! criterion run), `plan` (options, sizes, messages per run), `format` (numbers), `tables` (Markdown tables), `chart`
//! (the SVG charts) and `page` (docs/benchmarks.md, a function a section).

mod chart;
mod format;
mod machine;
mod micro;
mod page;
mod plan;
mod process;
mod programs;
mod results;
mod tables;
mod targets;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};
use mpc_measure::field;

use crate::shell::{self, run};
use format::size_label;
use machine::{LoadWatch, Machine};
use plan::{counts, parse_opts, Opts, MIB, SIZES};
use programs::{Bins, TlsFiles};
use results::{AllToAll, Metric, Results, Sys};

pub(crate) fn main(args: impl IntoIterator<Item = String>) -> Result<()> {
    let Some(opts) = parse_opts(args)? else {
        return Ok(());
    };
    let root = shell::root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
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
    let bin = |name: &str| {
        target
            .join("release")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    };
    let python = if opts.python {
        Some(programs::ensure_python(&target)?)
    } else {
        None
    };
    let bins = Bins {
        mpc: bin("mpc"),
        raw: bin("raw-tcp"),
        all: bin("all-to-all"),
        probe: bin("rss-probe"),
        script: root.join("crates/mpc-bench/python/pybench.py"),
        python,
        time: Path::new("/usr/bin/time")
            .is_file()
            .then(|| PathBuf::from("/usr/bin/time")),
        logs: logs.clone(),
    };
    let certs = work.join("certs");
    run(
        Command::new(&bins.mpc)
            .args(["certs", "--parties", "echo,bench", "--force", "--out"])
            .arg(&certs)
            .stdout(Stdio::null()),
        "making the TLS certificates (mpc certs)",
    )?;

    let mut load = LoadWatch::default();
    let machine = Machine::probe(bins.python.as_deref());
    let started = Instant::now();
    let mut res = Results {
        quick: opts.quick,
        reps: opts.reps,
        ..Results::default()
    };
    let tls = TlsFiles::new(&certs);
    by_size(&bins, &tls, &opts, &mut res, &mut load)?;
    in_flight(&bins, &tls, &opts, &mut res, &mut load)?;
    if bins.python.is_some() {
        python_pair(&bins, &opts, &mut res, &mut load)?;
    }
    all_to_all(&bins, &opts, &mut res, &mut load)?;
    memory(&bins, &opts, &mut res, &mut load)?;
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
    let md = page::markdown(&res, &machine, &load, &opts);
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

/// Latency and throughput against the payload size: raw, plain, TLS
/// interleaved per size and repetition.
fn by_size(
    bins: &Bins,
    tls: &TlsFiles,
    opts: &Opts,
    res: &mut Results,
    load: &mut LoadWatch,
) -> Result<()> {
    for rep in 0..opts.reps {
        for &size in &SIZES {
            load.sample();
            let (n_raw, n_rust, _) = counts(size, opts.quick);
            eprintln!(
                "bench: rep {}/{} size {}: raw, Rust plain, Rust TLS",
                rep + 1,
                opts.reps,
                size_label(size)
            );
            res.add(Sys::Raw, bins.raw_pair(size, n_raw, 1)?);
            res.add(Sys::Plain, bins.mpc_pair(size, n_rust, 1, None)?);
            res.add(Sys::Tls, bins.mpc_pair(size, n_rust, 1, Some(tls))?);
        }
        // the first message alone: connections (and TLS handshakes) + one round trip
        res.first_plain
            .push(bins.mpc_pair(16, 1, 1, None)?.roundtrip_us);
        res.first_tls
            .push(bins.mpc_pair(16, 1, 1, Some(tls))?.roundtrip_us);
    }
    Ok(())
}

/// 16 B messages, 64 in flight.
fn in_flight(
    bins: &Bins,
    tls: &TlsFiles,
    opts: &Opts,
    res: &mut Results,
    load: &mut LoadWatch,
) -> Result<()> {
    let inflight_reps = opts.reps.min(3);
    for _ in 0..inflight_reps {
        load.sample();
        eprintln!("bench: 64 in flight");
        let n = if opts.quick { 3_000 } else { 30_000 };
        res.add(Sys::Raw, bins.raw_pair(16, n * 2, 64)?);
        res.add(Sys::Plain, bins.mpc_pair(16, n, 64, None)?);
        res.add(Sys::Tls, bins.mpc_pair(16, n, 64, Some(tls))?);
    }
    Ok(())
}

/// The Python pair: every size, then 64 in flight, in one pair of processes.
fn python_pair(bins: &Bins, opts: &Opts, res: &mut Results, load: &mut LoadWatch) -> Result<()> {
    load.sample();
    eprintln!("bench: Python pair");
    let mut runs = Vec::new();
    for _ in 0..opts.reps.min(3) {
        for &size in &SIZES {
            runs.push((size, counts(size, opts.quick).2, 1));
        }
    }
    runs.push((16, if opts.quick { 200 } else { 2_000 }, 64));
    for m in bins.python_pair(&runs)? {
        res.add(Sys::Python, m);
    }
    Ok(())
}

/// All-to-all growth (and, for 16 B, the same on the current-thread runtime).
fn all_to_all(bins: &Bins, opts: &Opts, res: &mut Results, load: &mut LoadWatch) -> Result<()> {
    for (size, rounds, current_thread) in [
        (16u64, 200u64, false),
        (64 << 10, 50, false),
        (16, 200, true),
    ] {
        for parties in [2u64, 4, 8] {
            load.sample();
            eprintln!(
                "bench: all-to-all, {parties} parties, {}{}",
                size_label(size),
                if current_thread {
                    ", current-thread runtime"
                } else {
                    ""
                }
            );
            let rounds = if opts.quick { rounds / 10 } else { rounds };
            let line = bins.all_to_all(parties, size, rounds, current_thread)?;
            res.all_to_all.push(AllToAll {
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
fn memory(bins: &Bins, opts: &Opts, res: &mut Results, load: &mut LoadWatch) -> Result<()> {
    let big = if opts.quick { 64 * MIB } else { 256 * MIB };
    res.rss_size = big;
    load.sample();
    eprintln!("bench: peak RSS, {}", size_label(big));
    res.rss.push(bins.rss_raw(big)?);
    res.rss.push(bins.rss_recv(big)?);
    res.rss.push(bins.rss_mpc(big)?);
    if bins.python.is_some() {
        res.rss.push(bins.rss_python(big)?);
    }
    Ok(())
}
