//! The interop venv, `target/interop-venv`: Python 3.11+ with the pinned
//! packages of `interop/requirements.txt` (`tno.mpc.communication` 5.0.4
//! and what the suite uses). Shared by `cargo xtask interop` and
//! `cargo xtask integration`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::shell::run;

/// Where the pins come from and where the venv records them.
const REQUIREMENTS: &str = "interop/requirements.txt";
const STAMP: &str = ".interop-pins";

/// The venv's Python, after making the venv (`target/interop-venv` in
/// `target`) if needed and installing the pins if they changed.
pub(crate) fn interop_python(root: &Path, target: &Path) -> Result<PathBuf> {
    ensure_venv(root, &target.join("interop-venv"))
}

/// Creates the venv if needed and installs the pins if they changed;
/// returns its Python.
fn ensure_venv(root: &Path, venv: &Path) -> Result<PathBuf> {
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    let usable = python.is_file()
        && Command::new(&python)
            .args(["-c", "import sys; sys.exit(sys.version_info < (3, 11))"])
            .status()
            .is_ok_and(|s| s.success());
    if !usable {
        if venv.exists() {
            std::fs::remove_dir_all(venv)
                .with_context(|| format!("removing the broken venv {}", venv.display()))?;
        }
        let base = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        eprintln!("interop: creating the virtualenv {}", venv.display());
        run(
            Command::new(&base).arg("-m").arg("venv").arg(venv),
            "creating the virtualenv (set PYTHON to a Python 3.11+)",
        )?;
    }
    let requirements = root.join(REQUIREMENTS);
    let pins = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = venv.join(STAMP);
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(pins.as_str()) {
        eprintln!(
            "interop: installing the pins of {REQUIREMENTS} into {}",
            venv.display()
        );
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
            "installing the Python packages",
        )?;
        std::fs::write(&stamp, &pins).with_context(|| format!("writing {}", stamp.display()))?;
    }
    Ok(python)
}
