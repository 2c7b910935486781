//! `cargo xtask interop`: the interop suite with the Python package
//! `tno.mpc.communication` 5.0.4 (see `interop/README.md`).
//!
//! 1. makes (once) the virtualenv `target/interop-venv` and installs the
//!    pinned packages of `interop/requirements.txt` into it (again only when
//!    that file changes);
//! 2. builds `mpc-interop-party` (crate `interop/`) and `mpc` (`mpc-cli`);
//! 3. makes fresh certificates for the parties py, py0, py1 and rust (as
//!    `cargo xtask certs` does) in `target/interop/certs`;
//! 4. runs `interop/run.py` with the venv's Python, which runs every scenario
//!    and ends with `N passed, M failed`; its exit status is ours.

use std::process::Command;

use anyhow::{Context, Result};

use crate::shell::{self, run};
use crate::venv;

pub(crate) const USAGE: &str = "\
usage: cargo xtask interop [--only NAME]... [--seed N] [--list]

Runs Python parties (tno.mpc.communication==5.0.4 in target/interop-venv) and
Rust parties against each other over 127.0.0.1 and prints one PASS/FAIL line
per scenario, then `N passed, M failed`. Logs: target/interop/logs.

options (passed on to interop/run.py):
  --only NAME   run only the scenarios whose name contains NAME (repeatable)
  --seed N      seed of the random nested values
  --list        list the scenarios

environment: PYTHON  the Python (3.11 or newer) that creates the venv
             (default python3)
";

pub(crate) fn main(args: impl IntoIterator<Item = String>) -> Result<()> {
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    let root = shell::root();
    let target = shell::target_dir(&root);
    let python = venv::interop_python(&root, &target)?;

    let bin = shell::build_parties(&root, &target)?;

    let work = target.join("interop");
    let certs = work.join("certs");
    let mut make_certs = Command::new(bin("mpc"));
    make_certs
        .args([
            "certs",
            "--parties",
            "py,py0,py1,rust",
            "--days",
            "30",
            "--force",
            "--out",
        ])
        .arg(&certs);
    run(&mut make_certs, "making the test certificates")?;
    let logs = work.join("logs");
    if logs.exists() {
        std::fs::remove_dir_all(&logs).with_context(|| format!("clearing {}", logs.display()))?;
    }

    let mut suite = Command::new(&python);
    suite
        .arg(root.join("interop/run.py"))
        .arg("--rust-bin")
        .arg(bin("mpc-interop-party"))
        .arg("--certs")
        .arg(&certs)
        .arg("--logs")
        .arg(&logs)
        .args(&args)
        .current_dir(root.join("interop"));
    suite.arg("--mpc-bin").arg(bin("mpc"));
    let status = suite
        .status()
        .with_context(|| format!("running interop/run.py with {}", python.display()))?;
    if !status.success() {
        // run.py has printed what failed; keep its exit status
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
