//! `mpc`: a command-line tool for people deploying parties of an MPC
//! communication pool (wire-compatible with `tno.mpc.communication` 5.x).
//!
//! * `mpc echo`: a party that sends every message straight back;
//! * `mpc bench`: round trips and throughput against `mpc echo`;
//! * `mpc inspect`: decode a packet and show its id and value;
//! * `mpc certs`: a test CA and mutual-TLS certificates per party.
//!
//! Run `mpc help COMMAND` for the details of each.

mod alloc;
mod args;
mod bench;
mod certs;
mod common;
mod echo;
mod inspect;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    alloc::keep_freed_memory_if_asked();
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(&a),
        Command::Certs(a) => certs::run(&a),
        Command::Echo(a) => runtime().and_then(|rt| rt.block_on(echo::run(a))),
        Command::Bench(a) => runtime().and_then(|rt| rt.block_on(bench::run(a))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// `a: b: c` for an error and its sources, leaving out a source whose text
/// the message before it already ends with (some errors repeat their
/// source in their own message).
fn error_text(e: &anyhow::Error) -> String {
    let mut s = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if s.is_empty() {
            s = text;
        } else if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
    }
    s
}

/// The async runtime: one thread by default, which gives the lowest round
/// trips (no wake-ups across threads; measured in docs/benchmarks.md);
/// `MPC_THREADS=N` (N > 1) runs N worker threads instead, for parties that
/// decode or encode large messages concurrently.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let threads = std::env::var("MPC_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    let mut b = if threads > 1 {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("starting the async runtime: {e}"))
}

/// Logs to standard error; `RUST_LOG` filters (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
