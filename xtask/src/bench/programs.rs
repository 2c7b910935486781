//! The benchmark programs: how each is started (a fresh pair of processes
//! per run, on 127.0.0.1), and what it measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mpc_measure::{field, Record, Usage};

use super::plan::MIB;
use super::process::{free_port, ready_port, vm_hwm_kb, Proc};
use super::results::{Rss, RssParty};
use crate::shell::run;

/// The TLS options of the echo and the bench party.
pub(super) struct TlsFiles {
    args_echo: Vec<String>,
    args_bench: Vec<String>,
}

impl TlsFiles {
    pub(super) fn new(dir: &Path) -> TlsFiles {
        let f = |n: &str| dir.join(n).display().to_string();
        let args = |me: &str| {
            vec![
                "--tls-key".into(),
                f(&format!("{me}.key")),
                "--tls-cert".into(),
                f(&format!("{me}.crt")),
                "--tls-ca".into(),
                f("ca.crt"),
            ]
        };
        TlsFiles {
            args_echo: args("echo"),
            args_bench: args("bench"),
        }
    }
}

/// How a pair of `mpc echo` and `mpc bench` runs: which `mpc` (`None`:
/// this workspace's release build), over mutual TLS or plain HTTP, with an
/// emulated network (`--net PROFILE`, given to both processes) or not,
/// keeping freed memory (`MPC_MALLOC=keep`, both processes) or not.
#[derive(Clone, Copy, Default)]
pub(super) struct Setup<'a> {
    pub(super) mpc: Option<&'a Path>,
    pub(super) tls: Option<&'a TlsFiles>,
    pub(super) net: Option<&'a str>,
    pub(super) keep_memory: bool,
}

impl Setup<'_> {
    /// The TLS options (`which` of the two parties), `--net` and
    /// `MPC_MALLOC`.
    fn add_args(&self, cmd: &mut Command, which: impl Fn(&TlsFiles) -> &Vec<String>) {
        if self.keep_memory {
            cmd.env("MPC_MALLOC", "keep");
        }
        if let Some(t) = self.tls {
            cmd.args(which(t));
        }
        if let Some(net) = self.net {
            cmd.args(["--net", net]);
        }
    }
}

/// The programs (release builds) and where their logs go.
pub(super) struct Bins {
    mpc: PathBuf,
    raw: PathBuf,
    all: PathBuf,
    probe: PathBuf,
    script: PathBuf,
    python: Option<PathBuf>,
    time: Option<PathBuf>,
    logs: PathBuf,
}

/// `record` with what the echoing process said it used (its `usage`
/// line), if it said.
fn with_peer_usage(record: Record, usage_line: Option<&str>) -> Record {
    Record {
        peer_usage: usage_line.and_then(Usage::from_words),
        ..record
    }
}

/// Deadline of one benchmark client run.
fn run_timeout(size: u64, count: u64) -> Duration {
    Duration::from_secs(60 + size.saturating_mul(count) / (20 * MIB))
}

const READY: Duration = Duration::from_secs(30);

impl Bins {
    /// The programs of the workspace at `root`, built in `release`; the
    /// Python pair if `python` is given.
    pub(super) fn new(root: &Path, release: &Path, python: Option<PathBuf>, logs: &Path) -> Bins {
        let bin = |name: &str| release.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        Bins {
            mpc: bin("mpc"),
            raw: bin("raw-tcp"),
            all: bin("all-to-all"),
            probe: bin("rss-probe"),
            script: root.join("crates/mpc-bench/python/pybench.py"),
            python,
            time: Path::new("/usr/bin/time")
                .is_file()
                .then(|| PathBuf::from("/usr/bin/time")),
            logs: logs.to_owned(),
        }
    }

    /// The Python of the Python pair, if it is measured.
    pub(super) fn python(&self) -> Option<&Path> {
        self.python.as_deref()
    }

    /// Test certificates for the parties "echo" and "bench" (`mpc certs`).
    pub(super) fn make_certs(&self, dir: &Path) -> Result<()> {
        run(
            Command::new(&self.mpc)
                .args(["certs", "--parties", "echo,bench", "--force", "--out"])
                .arg(dir)
                .stdout(Stdio::null()),
            "making the TLS certificates (mpc certs)",
        )
    }

    fn start_raw_echo(&self) -> Result<(Proc, u16)> {
        let mut echo = Proc::start(
            "raw-echo",
            Command::new(&self.raw).args(["echo", "--listen", "127.0.0.1:0"]),
            &self.logs,
        )?;
        let port = ready_port(&echo.wait_line("ready", READY)?)?;
        Ok((echo, port))
    }

    pub(super) fn raw_pair(&self, size: u64, count: u64, inflight: u64) -> Result<Record> {
        let (mut echo, port) = self.start_raw_echo()?;
        let mut bench = Proc::start(
            "raw-bench",
            Command::new(&self.raw)
                .args(["bench", "--connect", &format!("127.0.0.1:{port}")])
                .args(["--size", &size.to_string(), "--count", &count.to_string()])
                .args(["--inflight", &inflight.to_string()]),
            &self.logs,
        )?;
        let lines = bench.finish(run_timeout(size, count))?;
        // printed when the bench's connection has ended
        let usage = echo.wait_line("usage", READY).ok();
        echo.stop();
        Ok(with_peer_usage(
            Record::parse(lines.last().context("raw-tcp bench printed no result")?)?,
            usage.as_deref(),
        ))
    }

    /// Starts `mpc echo` for a bench party that will listen on `bench_port`.
    fn start_mpc_echo(
        &self,
        bench_port: u16,
        count: Option<u64>,
        setup: Setup<'_>,
    ) -> Result<(Proc, u16)> {
        let mut cmd = Command::new(setup.mpc.unwrap_or(&self.mpc));
        cmd.args(["echo", "--name", "echo", "--listen", "127.0.0.1:0"])
            .args(["--peer", &format!("bench=127.0.0.1:{bench_port}")]);
        if let Some(n) = count {
            cmd.args(["--count", &n.to_string()]);
        }
        setup.add_args(&mut cmd, |t| &t.args_echo);
        let mut echo = Proc::start("mpc-echo", &mut cmd, &self.logs)?;
        let port = ready_port(&echo.wait_line("ready", READY)?)?;
        Ok((echo, port))
    }

    fn mpc_bench_cmd(
        &self,
        (bench_port, echo_port): (u16, u16),
        size: u64,
        count: u64,
        inflight: u64,
        setup: Setup<'_>,
    ) -> Command {
        let mut cmd = Command::new(setup.mpc.unwrap_or(&self.mpc));
        cmd.args(["bench", "--name", "bench"])
            .args(["--listen", &format!("127.0.0.1:{bench_port}")])
            .args(["--peer", &format!("echo=127.0.0.1:{echo_port}")])
            .args(["--size", &size.to_string(), "--count", &count.to_string()])
            .args(["--inflight", &inflight.to_string(), "--timeout", "120"]);
        setup.add_args(&mut cmd, |t| &t.args_bench);
        cmd
    }

    /// A fresh `mpc echo` (exits after `count` echoes) and one `mpc bench`,
    /// of this workspace, over plain HTTP or mutual TLS.
    pub(super) fn mpc_pair(
        &self,
        size: u64,
        count: u64,
        inflight: u64,
        tls: Option<&TlsFiles>,
    ) -> Result<Record> {
        let setup = Setup {
            tls,
            ..Setup::default()
        };
        self.mpc_pair_with(setup, size, count, inflight)
    }

    /// A fresh `mpc echo` (exits after `count` echoes) and one `mpc bench`,
    /// as `setup` says (binary, TLS, emulated network).
    pub(super) fn mpc_pair_with(
        &self,
        setup: Setup<'_>,
        size: u64,
        count: u64,
        inflight: u64,
    ) -> Result<Record> {
        let bench_port = free_port()?;
        let (mut echo, echo_port) = self.start_mpc_echo(bench_port, Some(count), setup)?;
        let mut bench = Proc::start(
            "mpc-bench",
            &mut self.mpc_bench_cmd((bench_port, echo_port), size, count, inflight, setup),
            &self.logs,
        )?;
        let lines = bench.finish(run_timeout(size, count))?;
        echo.finish(Duration::from_secs(30))?;
        Ok(with_peer_usage(
            Record::parse(lines.last().context("mpc bench printed no result")?)?,
            echo.printed("usage "),
        ))
    }

    fn start_python_echo(&self, port: u16, bench_port: u16) -> Result<Proc> {
        let py = self.python.as_ref().context("no Python")?;
        let mut echo = Proc::start(
            "py-echo",
            Command::new(py)
                .arg(&self.script)
                .args(["echo", "--port", &port.to_string()])
                .args(["--peer-port", &bench_port.to_string()]),
            &self.logs,
        )?;
        echo.wait_line("ready", READY)?;
        Ok(echo)
    }

    pub(super) fn python_pair(&self, runs: &[(u64, u64, u64)]) -> Result<Vec<Record>> {
        let py = self.python.as_ref().context("no Python")?;
        let (port, bench_port) = (free_port()?, free_port()?);
        let mut echo = self.start_python_echo(port, bench_port)?;
        let mut cmd = Command::new(py);
        cmd.arg(&self.script)
            .args(["bench", "--port", &bench_port.to_string()])
            .args(["--peer-port", &port.to_string()]);
        let mut total = Duration::from_secs(60);
        for (size, count, inflight) in runs {
            cmd.args(["--run", &format!("{size}:{count}:{inflight}")]);
            total += run_timeout(*size, *count);
        }
        let mut bench = Proc::start("py-bench", &mut cmd, &self.logs)?;
        let lines = bench.finish(total)?;
        echo.stop();
        lines
            .iter()
            .map(|l| Record::parse(l).map_err(Into::into))
            .collect()
    }

    pub(super) fn all_to_all(
        &self,
        parties: u64,
        size: u64,
        rounds: u64,
        current_thread: bool,
    ) -> Result<String> {
        let mut p = Proc::start(
            &format!("all-to-all-{parties}"),
            Command::new(&self.all)
                .args(["run", "--parties", &parties.to_string()])
                .args(["--size", &size.to_string(), "--rounds", &rounds.to_string()])
                .args(["--deadline", "240"])
                .args(current_thread.then_some("--current-thread")),
            &self.logs,
        )?;
        let lines = p.finish(Duration::from_secs(300))?;
        lines
            .last()
            .cloned()
            .context("all-to-all printed no result")
    }

    pub(super) fn rss_raw(&self, size: u64) -> Result<Rss> {
        let (mut echo, port) = self.start_raw_echo()?;
        let idle = vm_hwm_kb(echo.pid())?;
        let mut bench = Proc::start(
            "rss-raw-bench",
            Command::new(&self.raw)
                .args(["bench", "--connect", &format!("127.0.0.1:{port}")])
                .args(["--size", &size.to_string(), "--count", "1"]),
            &self.logs,
        )?;
        let lines = bench.finish(run_timeout(size, 4))?;
        let peak = vm_hwm_kb(echo.pid())?;
        echo.stop();
        Ok(rss(RssParty::Raw, (idle, peak), None, &lines))
    }

    /// A Rust party that only receives the message (`rss-probe recv`).
    pub(super) fn rss_recv(&self, size: u64) -> Result<Rss> {
        let send_port = free_port()?;
        let mut recv = Proc::start(
            "rss-probe-recv",
            Command::new(&self.probe)
                .args(["recv", "--listen", "127.0.0.1:0"])
                .args(["--peer", &format!("send=127.0.0.1:{send_port}")]),
            &self.logs,
        )?;
        let port = ready_port(&recv.wait_line("ready", READY)?)?;
        let idle = vm_hwm_kb(recv.pid())?;
        let mut send = Proc::start(
            "rss-probe-send",
            Command::new(&self.probe)
                .args(["send", "--listen", &format!("127.0.0.1:{send_port}")])
                .args(["--peer", &format!("recv=127.0.0.1:{port}")])
                .args(["--size", &size.to_string()]),
            &self.logs,
        )?;
        let lines = send.finish(run_timeout(size, 4))?;
        recv.wait_line("{", READY)?;
        let peak = vm_hwm_kb(recv.pid())?;
        recv.stop();
        Ok(rss(RssParty::Recv, (idle, peak), None, &lines))
    }

    pub(super) fn rss_mpc(&self, size: u64) -> Result<Rss> {
        let bench_port = free_port()?;
        // no --count: the echo is read (VmHWM) after the bench, then killed
        let (mut echo, echo_port) = self.start_mpc_echo(bench_port, None, Setup::default())?;
        let idle = vm_hwm_kb(echo.pid())?;
        let cmd = self.mpc_bench_cmd((bench_port, echo_port), size, 1, 1, Setup::default());
        let time_file = self.logs.join("rss-mpc-bench.time");
        let mut cmd = match &self.time {
            Some(time) => {
                let mut c = Command::new(time);
                c.args(["-f", "maxrss_kb=%M", "-o"])
                    .arg(&time_file)
                    .arg(cmd.get_program())
                    .args(cmd.get_args());
                c
            }
            None => cmd,
        };
        let mut bench = Proc::start("rss-mpc-bench", &mut cmd, &self.logs)?;
        let lines = bench.finish(run_timeout(size, 4))?;
        let peak = vm_hwm_kb(echo.pid())?;
        echo.stop();
        let sender = std::fs::read_to_string(&time_file).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("maxrss_kb="))
                .and_then(|v| v.trim().parse().ok())
        });
        Ok(rss(RssParty::Echo, (idle, peak), sender, &lines))
    }

    pub(super) fn rss_python(&self, size: u64) -> Result<Rss> {
        let py = self.python.as_ref().context("no Python")?;
        let (port, bench_port) = (free_port()?, free_port()?);
        let mut echo = self.start_python_echo(port, bench_port)?;
        let idle = vm_hwm_kb(echo.pid())?;
        let mut bench = Proc::start(
            "rss-py-bench",
            Command::new(py)
                .arg(&self.script)
                .args(["bench", "--port", &bench_port.to_string()])
                .args(["--peer-port", &port.to_string()])
                .args(["--run", &format!("{size}:1:1")]),
            &self.logs,
        )?;
        let lines = bench.finish(Duration::from_secs(60) + run_timeout(size, 20))?;
        let peak = vm_hwm_kb(echo.pid())?;
        echo.stop();
        let sender = lines
            .last()
            .and_then(|l| field(l, "peak_rss_kb"))
            .map(|v| v as u64);
        Ok(rss(RssParty::Python, (idle, peak), sender, &lines))
    }
}

/// The memory of a party: VmHWM before and after the message (KiB), the
/// sender's peak if known, and the time the sender reported last.
fn rss(
    sys: RssParty,
    (idle_kb, peak_kb): (u64, u64),
    sender_kb: Option<u64>,
    lines: &[String],
) -> Rss {
    Rss {
        sys,
        idle_kb,
        peak_kb,
        sender_kb,
        seconds: lines.last().and_then(|l| field(l, "seconds")),
    }
}

/// The interop venv's Python with tno.mpc.communication 5.0.4; made (as
/// `cargo xtask interop` makes it, without running the suite) if missing.
pub(super) fn ensure_python(target: &Path) -> Result<PathBuf> {
    let python = target.join("interop-venv").join(if cfg!(windows) {
        "Scripts/python.exe"
    } else {
        "bin/python"
    });
    let check = || {
        python.is_file()
            && Command::new(&python)
                .args([
                    "-c",
                    "import tno.mpc.communication as t, sys; sys.exit(t.__version__ != '5.0.4')",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    };
    if !check() {
        eprintln!(
            "bench: {} has no tno.mpc.communication 5.0.4; making the interop venv \
             (`cargo xtask interop --list`: creates the venv, runs no scenario)",
            python.display()
        );
        crate::interop::main(vec!["--list".to_owned()]).context(
            "making the interop venv; run `cargo xtask interop` first, or pass --no-python",
        )?;
        if !check() {
            bail!(
                "{} still cannot import tno.mpc.communication 5.0.4: run `cargo xtask interop` \
                 first (or pass --no-python)",
                python.display()
            );
        }
    }
    Ok(python)
}

// ---------------------------------------------------------------------------
// results
// ---------------------------------------------------------------------------
