//! What every command needs: the workspace root, running a tool.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The target directory (`CARGO_TARGET_DIR`, or target/ in `root`).
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Runs `cmd` to the end; an error saying `what` failed unless it succeeds.
pub(crate) fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("{what}: {cmd:?}"))?;
    if !status.success() {
        bail!("{what} failed: {status}");
    }
    Ok(())
}

/// Builds the Rust parties of the interop and integration runs
/// (`mpc-interop-party` and `mpc`, debug); returns where a binary of that
/// build is, by name.
pub(crate) fn build_parties(root: &Path, target: &Path) -> Result<impl Fn(&str) -> PathBuf> {
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build
        .args(["build", "-p", "mpc-interop", "-p", "mpc-cli"])
        .current_dir(root);
    run(&mut build, "building the Rust parties")?;
    let debug = target.join("debug");
    Ok(move |name: &str| debug.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}
