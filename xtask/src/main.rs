//! Project automation, run as `cargo xtask <command>`.

use std::process::Command;

use anyhow::{bail, Context, Result};

use shell::root;

mod bench;
mod integration;
mod interop;
mod shell;
mod venv;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  golden     regenerate the golden wire vectors from the real Python package
             (creates target/golden-venv, installs tno.mpc.communication==5.0.4)
  certs      generate a test CA and mutual-TLS certificates for some parties:
             cargo xtask certs --parties alice,bob,carol --out DIR [--days N] [--force]
             (runs `mpc certs`, see `cargo xtask certs --help`)
  interop    run Python (tno.mpc.communication==5.0.4, own venv in
             target/interop-venv) and Rust parties against each other:
             cargo xtask interop [--only NAME]... [--seed N] [--list]
             (see `cargo xtask interop --help`)
  bench      build release and measure raw TCP, the Rust pool (HTTP, mutual TLS)
             and the Python pair in one run; writes docs/benchmarks.md:
             cargo xtask bench [--quick] [--no-python] [--no-micro] [--reps N]
             (see `cargo xtask bench --help`)
  integration
             run parties on test hosts of their own (network namespaces,
             real addresses, kernel-shaped links); needs root, exits 77
             (skipped) without it:
             cargo xtask integration [--only NAME]... [--list]
             (see `cargo xtask integration --help`)
";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("golden") => golden(),
        Some("certs") => certs(args),
        Some("interop") => interop::main(args),
        Some("bench") => bench::main(args),
        Some("integration") => integration::main(args),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// `cargo xtask certs ...`: the `mpc certs` command of the `mpc` tool, run
/// through cargo so it needs no installed binary.
fn certs(args: impl Iterator<Item = String>) -> Result<()> {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "run", "--quiet", "-p", "mpc-cli", "--bin", "mpc", "--", "certs",
        ])
        .args(args)
        .current_dir(root())
        .status()
        .context("running `mpc certs`")?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

fn golden() -> Result<()> {
    let root = root();
    let status = Command::new("bash")
        .arg(root.join("scripts/golden/gen.sh"))
        .current_dir(&root)
        .status()
        .context("running scripts/golden/gen.sh")?;
    if !status.success() {
        bail!("golden vector generation failed: {status}");
    }
    Ok(())
}
