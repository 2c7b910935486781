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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub(crate) const USAGE: &str = "\
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
const SIZES: [u64; 5] = [16, 1 << 10, 64 << 10, 1 << 20, 16 << 20];
const MIB: u64 = 1 << 20;

#[derive(Debug, Clone)]
struct Opts {
    quick: bool,
    python: bool,
    micro: bool,
    reps: usize,
}

fn parse_opts(args: impl IntoIterator<Item = String>) -> Result<Option<Opts>> {
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
fn counts(size: u64, quick: bool) -> (u64, u64, u64) {
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

pub(crate) fn main(args: impl IntoIterator<Item = String>) -> Result<()> {
    let Some(opts) = parse_opts(args)? else {
        return Ok(());
    };
    let root = crate::root();
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
    run_status(
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
        Some(ensure_python(&target)?)
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
    run_status(
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

    // --- latency and throughput: raw, plain, TLS interleaved per size and rep
    let tls = TlsFiles::new(&certs);
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
            res.add(Sys::Tls, bins.mpc_pair(size, n_rust, 1, Some(&tls))?);
        }
        // the first message alone: connections (and TLS handshakes) + one round trip
        res.first_plain.push(bins.mpc_pair(16, 1, 1, None)?.rt_us);
        res.first_tls
            .push(bins.mpc_pair(16, 1, 1, Some(&tls))?.rt_us);
    }

    // --- 64 in flight, 16 B
    let inflight_reps = opts.reps.min(3);
    for _ in 0..inflight_reps {
        load.sample();
        eprintln!("bench: 64 in flight");
        let n = if opts.quick { 3_000 } else { 30_000 };
        res.add(Sys::Raw, bins.raw_pair(16, n * 2, 64)?);
        res.add(Sys::Plain, bins.mpc_pair(16, n, 64, None)?);
        res.add(Sys::Tls, bins.mpc_pair(16, n, 64, Some(&tls))?);
    }

    // --- Python pair
    if bins.python.is_some() {
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
    }

    // --- all-to-all growth (and, for 16 B, the same on the current-thread runtime)
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

    // --- peak RSS with one big message
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
    load.sample();
    res.wall = started.elapsed();

    // --- codec micro-benchmarks
    if opts.micro {
        eprintln!("bench: codec micro-benchmarks (criterion)");
        res.micro = micro(&root, &target, &cargo, opts.quick, &logs)?;
    }
    load.sample();

    std::fs::create_dir_all(&plots)?;
    std::fs::write(plots.join("latency.svg"), latency_svg(&res))?;
    std::fs::write(plots.join("throughput.svg"), throughput_svg(&res))?;
    let md = page_markdown(&res, &machine, &load, &opts);
    if let Some(dir) = page.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&page, md).with_context(|| format!("writing {}", page.display()))?;
    eprintln!("bench: wrote {} and {}", page.display(), plots.display());
    for t in targets(&res) {
        eprintln!("  {} {}: {}", t.verdict(), t.name, t.measured);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// processes
// ---------------------------------------------------------------------------

fn run_status(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("{what}: {cmd:?}"))?;
    if !status.success() {
        bail!("{what} failed: {status}");
    }
    Ok(())
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process whose standard output is read line by line; killed
/// (and reaped) when dropped.
struct Proc {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    out: Vec<String>,
}

impl Proc {
    fn start(name: &str, cmd: &mut Command, logs: &Path) -> Result<Proc> {
        let log = std::fs::File::create(logs.join(format!("{name}.log")))?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .env("RUST_LOG", "warn")
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        let out = child.stdout.take().context("stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Proc {
            name: name.to_owned(),
            child,
            lines,
            out: Vec::new(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line starting with `prefix`.
    fn wait_line(&mut self, prefix: &str, timeout: Duration) -> Result<String> {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.out.push(l.clone());
                    if l.starts_with(prefix) {
                        return Ok(l);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!("{}: no {prefix:?} line within {timeout:?}", self.name)
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    bail!(
                        "{} exited ({status}) before printing a {prefix:?} line; see target/bench/logs/{}.log",
                        self.name,
                        self.name
                    )
                }
            }
        }
    }

    /// Waits for the exit and returns the JSON lines printed (`{...}`).
    fn finish(&mut self, timeout: Duration) -> Result<Vec<String>> {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(l) => self.out.push(l),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if Instant::now() >= until {
                        let _ = self.child.kill();
                        let _ = self.child.wait();
                        bail!("{} did not finish within {timeout:?} (killed)", self.name);
                    }
                }
            }
        }
        let status = wait_deadline(
            &mut self.child,
            until.max(Instant::now() + Duration::from_secs(5)),
        )
        .with_context(|| format!("{} did not exit", self.name))?;
        if !status.success() {
            bail!(
                "{} failed ({status}); see target/bench/logs/{}.log",
                self.name,
                self.name
            );
        }
        Ok(self
            .out
            .iter()
            .filter(|l| l.starts_with('{'))
            .cloned()
            .collect())
    }

    /// Stops the process (SIGKILL; nothing of it is needed any more).
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_deadline(child: &mut Child, until: Instant) -> Result<std::process::ExitStatus> {
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(s);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            bail!("still running at the deadline (killed)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Peak resident set (VmHWM) of a running process, in KiB.
fn vm_hwm_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/PID/status")
}

/// The port of a `ready ... listen=HOST:PORT ...` line.
fn ready_port(line: &str) -> Result<u16> {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix("listen="))
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, p)| p.parse().ok())
        .with_context(|| format!("no listen=HOST:PORT in {line:?}"))
}

/// The number after `"key":` in a JSON line.
fn field(line: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\":");
    let rest = &line[line.find(&pat)? + pat.len()..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sys {
    Raw,
    Plain,
    Tls,
    Python,
}

impl Sys {
    const ALL: [Sys; 4] = [Sys::Raw, Sys::Plain, Sys::Tls, Sys::Python];
    fn label(self) -> &'static str {
        match self {
            Sys::Raw => "raw TCP",
            Sys::Plain => "Rust pool, HTTP",
            Sys::Tls => "Rust pool, mutual TLS",
            Sys::Python => "Python 5.0.4 pair, HTTP",
        }
    }
    fn color(self) -> &'static str {
        match self {
            Sys::Raw => "#555555",
            Sys::Plain => "#1f77b4",
            Sys::Tls => "#2ca02c",
            Sys::Python => "#d62728",
        }
    }
}

/// One JSON line of `mpc bench` (or its equivalents).
#[derive(Debug, Clone, Copy)]
struct Measure {
    size: u64,
    count: u64,
    inflight: u64,
    seconds: f64,
    rt_us: f64,
    mb_s: f64,
}

impl Measure {
    fn parse(line: &str) -> Result<Measure> {
        let f = |k: &str| field(line, k).with_context(|| format!("no {k:?} in {line:?}"));
        Ok(Measure {
            size: f("size")? as u64,
            count: f("count")? as u64,
            inflight: f("inflight")? as u64,
            seconds: f("seconds")?,
            rt_us: f("roundtrip_us")?,
            mb_s: f("mb_per_s")?,
        })
    }
    fn msgs_per_s(&self) -> f64 {
        self.count as f64 / self.seconds
    }
}

struct TlsFiles {
    args_echo: Vec<String>,
    args_bench: Vec<String>,
}

impl TlsFiles {
    fn new(dir: &Path) -> TlsFiles {
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

struct Bins {
    mpc: PathBuf,
    raw: PathBuf,
    all: PathBuf,
    probe: PathBuf,
    script: PathBuf,
    python: Option<PathBuf>,
    time: Option<PathBuf>,
    logs: PathBuf,
}

/// Deadline of one benchmark client run.
fn run_timeout(size: u64, count: u64) -> Duration {
    Duration::from_secs(60 + size.saturating_mul(count) / (20 * MIB))
}

const READY: Duration = Duration::from_secs(30);

impl Bins {
    fn start_raw_echo(&self) -> Result<(Proc, u16)> {
        let mut echo = Proc::start(
            "raw-echo",
            Command::new(&self.raw).args(["echo", "--listen", "127.0.0.1:0"]),
            &self.logs,
        )?;
        let port = ready_port(&echo.wait_line("ready", READY)?)?;
        Ok((echo, port))
    }

    fn raw_pair(&self, size: u64, count: u64, inflight: u64) -> Result<Measure> {
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
        echo.stop();
        Measure::parse(lines.last().context("raw-tcp bench printed no result")?)
    }

    /// Starts `mpc echo` for a bench party that will listen on `bench_port`.
    fn start_mpc_echo(
        &self,
        bench_port: u16,
        count: Option<u64>,
        tls: Option<&TlsFiles>,
    ) -> Result<(Proc, u16)> {
        let mut cmd = Command::new(&self.mpc);
        cmd.args(["echo", "--name", "echo", "--listen", "127.0.0.1:0"])
            .args(["--peer", &format!("bench=127.0.0.1:{bench_port}")]);
        if let Some(n) = count {
            cmd.args(["--count", &n.to_string()]);
        }
        if let Some(t) = tls {
            cmd.args(&t.args_echo);
        }
        let mut echo = Proc::start("mpc-echo", &mut cmd, &self.logs)?;
        let port = ready_port(&echo.wait_line("ready", READY)?)?;
        Ok((echo, port))
    }

    fn mpc_bench_cmd(
        &self,
        bench_port: u16,
        echo_port: u16,
        size: u64,
        count: u64,
        inflight: u64,
        tls: Option<&TlsFiles>,
    ) -> Command {
        let mut cmd = Command::new(&self.mpc);
        cmd.args(["bench", "--name", "bench"])
            .args(["--listen", &format!("127.0.0.1:{bench_port}")])
            .args(["--peer", &format!("echo=127.0.0.1:{echo_port}")])
            .args(["--size", &size.to_string(), "--count", &count.to_string()])
            .args(["--inflight", &inflight.to_string(), "--timeout", "120"]);
        if let Some(t) = tls {
            cmd.args(&t.args_bench);
        }
        cmd
    }

    /// A fresh `mpc echo` (exits after `count` echoes) and one `mpc bench`.
    fn mpc_pair(
        &self,
        size: u64,
        count: u64,
        inflight: u64,
        tls: Option<&TlsFiles>,
    ) -> Result<Measure> {
        let bench_port = free_port()?;
        let (mut echo, echo_port) = self.start_mpc_echo(bench_port, Some(count), tls)?;
        let mut bench = Proc::start(
            "mpc-bench",
            &mut self.mpc_bench_cmd(bench_port, echo_port, size, count, inflight, tls),
            &self.logs,
        )?;
        let lines = bench.finish(run_timeout(size, count))?;
        echo.finish(Duration::from_secs(30))?;
        Measure::parse(lines.last().context("mpc bench printed no result")?)
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

    fn python_pair(&self, runs: &[(u64, u64, u64)]) -> Result<Vec<Measure>> {
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
        lines.iter().map(|l| Measure::parse(l)).collect()
    }

    fn all_to_all(
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

    fn rss_raw(&self, size: u64) -> Result<Rss> {
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
        Ok(Rss {
            sys: RssParty::Raw,
            idle_kb: idle,
            peak_kb: peak,
            sender_kb: None,
            seconds: lines.last().and_then(|l| field(l, "seconds")),
        })
    }

    /// A Rust party that only receives the message (`rss-probe recv`).
    fn rss_recv(&self, size: u64) -> Result<Rss> {
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
        Ok(Rss {
            sys: RssParty::Recv,
            idle_kb: idle,
            peak_kb: peak,
            sender_kb: None,
            seconds: lines.last().and_then(|l| field(l, "seconds")),
        })
    }

    fn rss_mpc(&self, size: u64) -> Result<Rss> {
        let bench_port = free_port()?;
        // no --count: the echo is read (VmHWM) after the bench, then killed
        let (mut echo, echo_port) = self.start_mpc_echo(bench_port, None, None)?;
        let idle = vm_hwm_kb(echo.pid())?;
        let cmd = self.mpc_bench_cmd(bench_port, echo_port, size, 1, 1, None);
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
        Ok(Rss {
            sys: RssParty::Echo,
            idle_kb: idle,
            peak_kb: peak,
            sender_kb: sender,
            seconds: lines.last().and_then(|l| field(l, "seconds")),
        })
    }

    fn rss_python(&self, size: u64) -> Result<Rss> {
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
        let last = lines.last();
        Ok(Rss {
            sys: RssParty::Python,
            idle_kb: idle,
            peak_kb: peak,
            sender_kb: last.and_then(|l| field(l, "peak_rss_kb")).map(|v| v as u64),
            seconds: last.and_then(|l| field(l, "seconds")),
        })
    }
}

/// The interop venv's Python with tno.mpc.communication 5.0.4; made (as
/// `cargo xtask interop` makes it, without running the suite) if missing.
fn ensure_python(target: &Path) -> Result<PathBuf> {
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

#[derive(Debug, Clone)]
struct AllToAll {
    parties: u64,
    size: u64,
    /// Parties on tokio's current-thread runtime (else multi-thread, as `mpc`).
    current_thread: bool,
    rounds: u64,
    round_us: f64,
    round_us_mean: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RssParty {
    Raw,
    Recv,
    Echo,
    Python,
}

#[derive(Debug, Clone)]
struct Rss {
    sys: RssParty,
    idle_kb: u64,
    peak_kb: u64,
    sender_kb: Option<u64>,
    seconds: Option<f64>,
}

#[derive(Debug, Clone)]
struct Micro {
    id: String,
    median_ns: f64,
    bytes: Option<u64>,
    /// When criterion wrote the result (the order the benchmarks ran in).
    when: std::time::SystemTime,
}

#[derive(Debug, Default)]
struct Results {
    quick: bool,
    reps: usize,
    runs: BTreeMap<(Sys, u64, u64), Vec<Measure>>,
    first_plain: Vec<f64>,
    first_tls: Vec<f64>,
    all_to_all: Vec<AllToAll>,
    rss_size: u64,
    rss: Vec<Rss>,
    micro: Vec<Micro>,
    wall: Duration,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Results {
    fn add(&mut self, sys: Sys, m: Measure) {
        self.runs
            .entry((sys, m.size, m.inflight))
            .or_default()
            .push(m);
    }
    fn get(&self, sys: Sys, size: u64, inflight: u64) -> Option<&Vec<Measure>> {
        self.runs
            .get(&(sys, size, inflight))
            .filter(|v| !v.is_empty())
    }
    /// Median round trip, µs.
    fn rt(&self, sys: Sys, size: u64) -> Option<f64> {
        median(self.get(sys, size, 1)?.iter().map(|m| m.rt_us).collect())
    }
    /// Median throughput (payload both ways), MB/s.
    fn mb_s(&self, sys: Sys, size: u64) -> Option<f64> {
        median(self.get(sys, size, 1)?.iter().map(|m| m.mb_s).collect())
    }
    fn msgs_per_s(&self, sys: Sys, inflight: u64) -> Option<f64> {
        median(
            self.get(sys, 16, inflight)?
                .iter()
                .map(Measure::msgs_per_s)
                .collect(),
        )
    }
    fn count(&self, sys: Sys, size: u64, inflight: u64) -> Option<u64> {
        self.get(sys, size, inflight)
            .and_then(|v| v.first())
            .map(|m| m.count)
    }
    fn reps_of(&self, sys: Sys, size: u64, inflight: u64) -> usize {
        self.get(sys, size, inflight).map_or(0, Vec::len)
    }
    /// The 16 B round trip without the first message (connections, TLS
    /// handshakes): (mean × n − first) / (n − 1), per run, median.
    fn rt_after_handshake(&self, sys: Sys) -> Option<f64> {
        let first = median(match sys {
            Sys::Plain => self.first_plain.clone(),
            Sys::Tls => self.first_tls.clone(),
            _ => return None,
        })?;
        median(
            self.get(sys, 16, 1)?
                .iter()
                .filter(|m| m.count > 1)
                .map(|m| (m.rt_us * m.count as f64 - first) / (m.count - 1) as f64)
                .collect(),
        )
    }
}

struct Target {
    name: String,
    goal: String,
    measured: String,
    pass: Option<bool>,
}

impl Target {
    fn verdict(&self) -> &'static str {
        match self.pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "n/a",
        }
    }
}

fn targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let missing = |what: &str| format!("not measured ({what})");
    // 1. RT 16 B vs raw
    let (plain, raw, py) = (
        r.rt(Sys::Plain, 16),
        r.rt(Sys::Raw, 16),
        r.rt(Sys::Python, 16),
    );
    out.push(match (plain, raw) {
        (Some(p), Some(w)) => Target {
            name: "16 B round trip, Rust pair over HTTP vs raw TCP".into(),
            goal: "at most 2.5x raw TCP".into(),
            measured: format!("{:.2}x ({} µs vs {} µs)", p / w, num(p), num(w)),
            pass: Some(p / w <= 2.5),
        },
        _ => Target {
            name: "16 B round trip, Rust pair over HTTP vs raw TCP".into(),
            goal: "at most 2.5x raw TCP".into(),
            measured: missing("a run failed"),
            pass: None,
        },
    });
    out.push(match (plain, py) {
        (Some(p), Some(y)) => Target {
            name: "16 B round trip, Rust pair vs Python pair".into(),
            goal: "at least 10x faster".into(),
            measured: format!("{:.1}x faster ({} µs vs {} µs)", y / p, num(p), num(y)),
            pass: Some(y / p >= 10.0),
        },
        _ => Target {
            name: "16 B round trip, Rust pair vs Python pair".into(),
            goal: "at least 10x faster".into(),
            measured: missing("no Python pair in this run"),
            pass: None,
        },
    });
    let big = 16 << 20;
    out.push(match (r.mb_s(Sys::Plain, big), r.mb_s(Sys::Raw, big)) {
        (Some(p), Some(w)) => Target {
            name: "16 MiB echo throughput, Rust pair vs raw TCP".into(),
            goal: "at least 60% of raw TCP".into(),
            measured: format!("{:.0}% ({} MB/s vs {} MB/s)", 100.0 * p / w, num(p), num(w)),
            pass: Some(p / w >= 0.6),
        },
        _ => Target {
            name: "16 MiB echo throughput, Rust pair vs raw TCP".into(),
            goal: "at least 60% of raw TCP".into(),
            measured: missing("a run failed"),
            pass: None,
        },
    });
    out.push(match r.msgs_per_s(Sys::Plain, 64) {
        Some(m) => Target {
            name: "16 B messages, 64 in flight, Rust pair over HTTP".into(),
            goal: "at least 50 000 messages/s".into(),
            measured: format!("{} messages/s", group(m)),
            pass: Some(m >= 50_000.0),
        },
        None => Target {
            name: "16 B messages, 64 in flight, Rust pair over HTTP".into(),
            goal: "at least 50 000 messages/s".into(),
            measured: missing("a run failed"),
            pass: None,
        },
    });
    out.push(
        match (
            r.rt_after_handshake(Sys::Tls),
            r.rt_after_handshake(Sys::Plain),
        ) {
            (Some(t), Some(p)) => Target {
                name: "16 B round trip, mutual TLS vs plain, after the handshake".into(),
                goal: "at most 1.3x plain".into(),
                measured: format!("{:.2}x ({} µs vs {} µs)", t / p, num(t), num(p)),
                pass: Some(t / p <= 1.3),
            },
            _ => Target {
                name: "16 B round trip, mutual TLS vs plain, after the handshake".into(),
                goal: "at most 1.3x plain".into(),
                measured: missing("a run failed"),
                pass: None,
            },
        },
    );
    let payload_kb = r.rss_size as f64 / 1024.0;
    for (party, what) in [
        (RssParty::Recv, "a Rust party receiving one"),
        (RssParty::Echo, "`mpc echo` receiving and echoing one"),
    ] {
        let name = format!("peak RSS of {what} {} message", size_label(r.rss_size));
        out.push(match r.rss.iter().find(|x| x.sys == party) {
            Some(x) => Target {
                name,
                goal: "at most 1.5x the payload".into(),
                measured: format!(
                    "{:.2}x ({} MiB peak for {} MiB)",
                    x.peak_kb as f64 / payload_kb,
                    num(x.peak_kb as f64 / 1024.0),
                    r.rss_size >> 20
                ),
                pass: Some(x.peak_kb as f64 <= 1.5 * payload_kb),
            },
            None => Target {
                name,
                goal: "at most 1.5x the payload".into(),
                measured: missing("a run failed"),
                pass: None,
            },
        });
    }
    let growth: Vec<String> = r
        .all_to_all
        .iter()
        .filter(|a| a.size == 16 && !a.current_thread)
        .map(|a| format!("{}: {} µs", a.parties, num(a.round_us)))
        .collect();
    out.push(Target {
        name: "all-to-all growth (2, 4, 8 parties, 16 B)".into(),
        goal: "reported (time per round against the number of parties)".into(),
        measured: if growth.is_empty() {
            missing("a run failed")
        } else {
            format!("per round: {}", growth.join(", "))
        },
        pass: None,
    });
    out
}

// ---------------------------------------------------------------------------
// criterion
// ---------------------------------------------------------------------------

fn micro(
    root: &Path,
    target: &Path,
    cargo: &std::ffi::OsStr,
    quick: bool,
    logs: &Path,
) -> Result<Vec<Micro>> {
    let dir = target.join("criterion");
    // results of earlier runs must not be taken for this run's
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("codec_") || n == "bigint-bytes" {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let (warm, measure) = if quick {
        ("0.1", "0.3")
    } else {
        ("0.5", "1.5")
    };
    let log = std::fs::File::create(logs.join("criterion.log"))?;
    let status = Command::new(cargo)
        .args([
            "bench",
            "-p",
            "mpc-serial",
            "--features",
            "num-bigint",
            "--bench",
            "codec",
            "--",
        ])
        .args(["--warm-up-time", warm, "--measurement-time", measure])
        .current_dir(root)
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running cargo bench")?;
    if !status.success() {
        bail!("cargo bench -p mpc-serial failed ({status}); see target/bench/logs/criterion.log");
    }
    let mut out = Vec::new();
    collect_micro(&dir, &mut out)?;
    out.sort_by(|a, b| a.when.cmp(&b.when).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

fn collect_micro(dir: &Path, out: &mut Vec<Micro>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") {
                let bench = std::fs::read_to_string(p.join("benchmark.json")).unwrap_or_default();
                let est = std::fs::read_to_string(p.join("estimates.json")).unwrap_or_default();
                let id = json_str(&bench, "full_id");
                let median_ns = est
                    .find("\"median\"")
                    .and_then(|i| field(&est[i..], "point_estimate"));
                let when = std::fs::metadata(p.join("estimates.json"))
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                if let (Some(id), Some(median_ns)) = (id, median_ns) {
                    out.push(Micro {
                        id,
                        median_ns,
                        bytes: field(&bench, "Bytes").map(|b| b as u64),
                        when,
                    });
                }
            } else if p.file_name().is_some_and(|n| n != "base" && n != "report") {
                collect_micro(&p, out)?;
            }
        }
    }
    Ok(())
}

/// The string after `"key":"` in a JSON text (no escapes expected).
fn json_str(text: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let rest = &text[text.find(&pat)? + pat.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

// ---------------------------------------------------------------------------
// machine and load
// ---------------------------------------------------------------------------

struct Machine {
    commit: String,
    cpu: String,
    cores: usize,
    memory: String,
    kernel: String,
    rustc: String,
    python: String,
    date: String,
}

fn command_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Machine {
    fn probe(python: Option<&Path>) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or_else(
                || "unknown".into(),
                |kb| format!("{:.1} GiB", kb / 1048576.0),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        let rustc =
            command_line(Command::new("rustc").arg("-V")).unwrap_or_else(|| "unknown".into());
        let python = python
            .and_then(|p| {
                command_line(Command::new(p).args([
                    "-c",
                    "import sys, tno.mpc.communication as t; print(sys.version.split()[0], t.__version__)",
                ]))
            })
            .map_or_else(
                || "not used".into(),
                |s| {
                    let mut it = s.split_whitespace();
                    format!(
                        "Python {}, tno.mpc.communication {}",
                        it.next().unwrap_or("?"),
                        it.next().unwrap_or("?")
                    )
                },
            );
        let date = command_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
            .unwrap_or_else(|| "unknown".into());
        let root = crate::root();
        let commit = command_line(
            Command::new("git")
                .args(["rev-parse", "--short", "HEAD"])
                .current_dir(&root),
        )
        .map_or_else(
            || "unknown".into(),
            |c| {
                let dirty = command_line(
                    Command::new("git")
                        .args(["status", "--porcelain", "--untracked-files=no"])
                        .current_dir(&root),
                )
                .is_some_and(|s| !s.is_empty());
                if dirty {
                    format!("{c} (with uncommitted changes)")
                } else {
                    c
                }
            },
        );
        Machine {
            commit,
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory,
            kernel,
            rustc,
            python,
            date,
        }
    }
}

/// Clock ticks per second of /proc/stat and /proc/PID/stat (USER_HZ).
const TICKS: f64 = 100.0;

/// What else the machine did during the run, sampled between the steps:
/// load average, CPU time not spent by this program and its (waited-for)
/// descendants, the long-running processes that used it, compilers seen.
#[derive(Default)]
struct LoadWatch {
    samples: usize,
    max_load1: f64,
    loads: Vec<f64>,
    busy: usize,
    seen: BTreeMap<String, usize>,
    /// (machine busy ticks, own + children ticks, when) at the first sample.
    first: Option<(u64, u64, Instant)>,
    last: Option<(u64, u64, Instant)>,
    /// Per pid: name and CPU ticks at the last sample.
    procs: BTreeMap<u32, (String, u64)>,
    /// CPU seconds of other long-running processes, by name.
    others: BTreeMap<String, f64>,
}

/// Busy ticks of the whole machine (/proc/stat).
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    Some(v.get(0..3)?.iter().sum::<u64>() + v.get(5..8)?.iter().sum::<u64>())
}

/// (ppid, utime + stime, cutime + cstime) of a process.
fn proc_ticks(pid: &str) -> Option<(u32, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok());
    Some((n(1)? as u32, n(11)? + n(12)?, n(13)? + n(14)?))
}

impl LoadWatch {
    fn sample(&mut self) {
        self.samples += 1;
        if let Some(l) = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        {
            self.max_load1 = f64::max(self.max_load1, l);
            self.loads.push(l);
        }
        let me = std::process::id();
        let own = proc_ticks("self").map_or(0, |(_, a, b)| a + b);
        if let Some(busy) = machine_busy_ticks() {
            let now = (busy, own, Instant::now());
            self.first.get_or_insert(now);
            self.last = Some(now);
        }
        let mut any = false;
        let mut procs = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Ok(pid) = name.parse::<u32>() else {
                    continue;
                };
                let Ok(comm) = std::fs::read_to_string(e.path().join("comm")) else {
                    continue;
                };
                let comm = comm.trim().to_owned();
                if matches!(
                    comm.as_str(),
                    "rustc" | "cc1" | "cc1plus" | "ld" | "cc" | "clippy-driver" | "rustdoc"
                ) {
                    *self.seen.entry(comm.clone()).or_default() += 1;
                    any = true;
                }
                let Some((ppid, ticks, _)) = proc_ticks(&name) else {
                    continue;
                };
                if pid == me || ppid == me {
                    continue;
                }
                if let Some((c, before)) = self.procs.get(&pid) {
                    if *c == comm && ticks > *before {
                        *self.others.entry(comm.clone()).or_default() +=
                            (ticks - before) as f64 / TICKS;
                    }
                }
                procs.insert(pid, (comm, ticks));
            }
        }
        self.procs = procs;
        if any {
            self.busy += 1;
        }
    }

    /// Cores used on average by everything but this run, over the run.
    fn other_cores(&self) -> Option<f64> {
        let ((b0, o0, t0), (b1, o1, t1)) = (self.first?, self.last?);
        let wall = (t1 - t0).as_secs_f64();
        (wall > 0.0).then(|| {
            ((b1.saturating_sub(b0)) as f64 - (o1.saturating_sub(o0)) as f64).max(0.0)
                / TICKS
                / wall
        })
    }

    /// The long-running processes that used the most CPU, with their share
    /// of a core over the run.
    fn top_others(&self) -> Vec<(String, f64)> {
        let wall = match (self.first, self.last) {
            (Some((_, _, t0)), Some((_, _, t1))) => (t1 - t0).as_secs_f64(),
            _ => return Vec::new(),
        };
        let mut v: Vec<(String, f64)> = self
            .others
            .iter()
            .map(|(k, s)| (k.clone(), s / wall.max(1e-9)))
            .filter(|(_, share)| *share >= 0.02)
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.truncate(6);
        v
    }
}

// ---------------------------------------------------------------------------
// the page
// ---------------------------------------------------------------------------

fn size_label(n: u64) -> String {
    if n >= MIB && n & (MIB - 1) == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n & 1023 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

/// A number with about three significant digits, thousands grouped.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x.abs() >= 1000.0 {
        group(x)
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// An integer with thin spaces between groups of three digits.
fn group(x: f64) -> String {
    let s = format!("{:.0}", x.round());
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), num)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "–".into(),
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn page_markdown(r: &Results, m: &Machine, load: &LoadWatch, opts: &Opts) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Generated by `cargo xtask bench{}` (xtask/src/bench.rs) — do not edit by hand; \
         run it again instead. Everything below comes from one run on the machine described \
         here: two processes on one machine talking over loopback (127.0.0.1), full echo of \
         random payloads, every echo checked.\n",
        if opts.quick { " --quick" } else { "" }
    );
    if r.quick {
        let _ = writeln!(
            w,
            "**This is a `--quick` smoke run: one repetition, few messages, {} for the RSS \
             case. Its figures are rough.**\n",
            size_label(r.rss_size)
        );
    }

    // machine
    let _ = writeln!(w, "## Machine\n");
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| CPU | {} |", m.cpu);
    let _ = writeln!(w, "| cores (nproc) | {} |", m.cores);
    let _ = writeln!(w, "| memory | {} |", m.memory);
    let _ = writeln!(w, "| kernel | Linux {} |", m.kernel);
    let _ = writeln!(w, "| Rust | {} (release profile) |", m.rustc);
    let _ = writeln!(w, "| Python side | {} |", m.python);
    let _ = writeln!(w, "| date | {} |", m.date);
    let _ = writeln!(w, "| commit | {} |", m.commit);
    let _ = writeln!(
        w,
        "| duration | {:.0} s of measurements (micro-benchmarks not included) |",
        r.wall.as_secs_f64()
    );
    let loads: Vec<String> = load.loads.iter().map(|l| format!("{l:.2}")).collect();
    let _ = writeln!(
        w,
        "| load average (1 min) | sampled {} times between the steps: {} (max {:.2}) |",
        load.samples,
        loads.join(", "),
        load.max_load1
    );
    let mut seen = match load.other_cores() {
        Some(c) => format!(
            "other processes used {c:.2} of the {} cores on average during the measurements \
             (CPU time of the machine not spent by this run)",
            m.cores
        ),
        None => "not known".to_owned(),
    };
    let top = load.top_others();
    if !top.is_empty() {
        let names: Vec<String> = top
            .iter()
            .map(|(k, v)| format!("{k} {:.0}%", v * 100.0))
            .collect();
        let _ = write!(seen, "; long-running: {}", names.join(", "));
    }
    if load.busy > 0 {
        let names: Vec<String> = load.seen.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
        let _ = write!(
            seen,
            "; compilers were running at {} of {} samples ({}): other builds shared the cores",
            load.busy,
            load.samples,
            names.join(", ")
        );
    }
    if load.other_cores().is_some_and(|c| c >= 0.1) || load.busy > 0 {
        seen.push_str(
            ". Round trips are sensitive to this (a process woken by a message may have to \
             wait for a core): figures are slower and noisier than on an idle machine",
        );
    }
    let _ = writeln!(w, "| other work on the machine | {seen} |\n");

    // targets
    let _ = writeln!(w, "## Targets\n");
    let _ = writeln!(
        w,
        "| target | goal | measured | verdict |\n|---|---|---|---|"
    );
    let ts = targets(r);
    for t in &ts {
        let _ = writeln!(
            w,
            "| {} | {} | {} | **{}** |",
            t.name,
            t.goal,
            t.measured,
            t.verdict()
        );
    }
    let misses: Vec<&str> = ts
        .iter()
        .filter(|t| t.pass == Some(false))
        .map(|t| t.name.as_str())
        .collect();
    if misses.is_empty() {
        let _ = writeln!(w, "\nAll measured targets hold in this run.\n");
    } else {
        let _ = writeln!(
            w,
            "\n**Not met in this run:** {}. The measured values are in the table above.\n",
            misses.join("; ")
        );
    }

    // latency and throughput
    let _ = writeln!(w, "## Round trip and throughput against payload size\n");
    let _ = writeln!(
        w,
        "![Round trip against payload size](bench/latency.svg)\n\n\
         ![Throughput against payload size](bench/throughput.svg)\n"
    );
    let _ = writeln!(
        w,
        "Median of {} runs each (Python: {}), one message under way at a time. \
         Round trip: mean time from sending a message to receiving its echo, µs. \
         Throughput: payload bytes in both directions per second, MB/s (10^6 bytes). \
         Ratios: Rust/raw and TLS/plain are slowdowns (lower is better), Python/Rust is \
         how many times the Rust pair is faster.\n",
        r.reps,
        r.reps_of(Sys::Python, 16, 1)
    );
    let _ = writeln!(
        w,
        "| payload | raw TCP µs | Rust HTTP µs | Rust TLS µs | Python µs | Rust/raw | Python/Rust | TLS/plain |"
    );
    let _ = writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &size in &SIZES {
        let (a, b, c, d) = (
            r.rt(Sys::Raw, size),
            r.rt(Sys::Plain, size),
            r.rt(Sys::Tls, size),
            r.rt(Sys::Python, size),
        );
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            size_label(size),
            opt(a),
            opt(b),
            opt(c),
            opt(d),
            ratio(b, a),
            ratio(d, b),
            ratio(c, b)
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "| payload | raw TCP MB/s | Rust HTTP MB/s | Rust TLS MB/s | Python MB/s | Rust/raw | Rust/Python | TLS/plain |"
    );
    let _ = writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &size in &SIZES {
        let (a, b, c, d) = (
            r.mb_s(Sys::Raw, size),
            r.mb_s(Sys::Plain, size),
            r.mb_s(Sys::Tls, size),
            r.mb_s(Sys::Python, size),
        );
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            size_label(size),
            opt(a),
            opt(b),
            opt(c),
            opt(d),
            ratio(b, a),
            ratio(b, d),
            ratio(c, b)
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "Messages per run (repetitions):\n");
    let _ = writeln!(
        w,
        "| payload | raw TCP | Rust HTTP | Rust TLS | Python |\n|---:|---:|---:|---:|---:|"
    );
    for &size in &SIZES {
        let c = |sys| match r.count(sys, size, 1) {
            Some(n) => format!("{n} (×{})", r.reps_of(sys, size, 1)),
            None => "not run".into(),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            size_label(size),
            c(Sys::Raw),
            c(Sys::Plain),
            c(Sys::Tls),
            c(Sys::Python)
        );
    }
    let (fp, ft) = (median(r.first_plain.clone()), median(r.first_tls.clone()));
    let _ = writeln!(
        w,
        "\nThe first message of a run also makes the connections (both directions): \
         {} µs over plain HTTP, {} µs with mutual TLS (handshakes included; median of {} runs \
         of one message). The TLS target compares round trips after the handshake: \
         (mean × n − first message) / (n − 1) for the 16 B runs, which gives {} µs (TLS) and \
         {} µs (plain).\n",
        opt(fp),
        opt(ft),
        r.first_plain.len(),
        opt(r.rt_after_handshake(Sys::Tls)),
        opt(r.rt_after_handshake(Sys::Plain))
    );

    // in flight
    let _ = writeln!(w, "## Small messages, 64 in flight\n");
    let _ = writeln!(
        w,
        "16 B messages, 64 under way at once (sent, echo not yet back); messages per second \
         (one message = one payload there and back), median of runs.\n"
    );
    let _ = writeln!(
        w,
        "| system | messages/s | mean round trip µs | messages (runs) |\n|---|---:|---:|---:|"
    );
    for sys in Sys::ALL {
        if let Some(v) = r.get(sys, 16, 64) {
            let rt = median(v.iter().map(|m| m.rt_us).collect());
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} (×{}) |",
                sys.label(),
                opt(r.msgs_per_s(sys, 64)),
                opt(rt),
                v[0].count,
                v.len()
            );
        }
    }
    let _ = writeln!(w);

    // all to all
    let _ = writeln!(w, "## Growth: all-to-all rounds\n");
    let _ = writeln!(
        w,
        "Every party sends a payload to every other party and receives one from each \
         (`broadcast` + `recv_all`), round after round. Each party is a `Pool` over plain HTTP \
         in a process of its own on 127.0.0.1 (`crates/mpc-bench` `all-to-all`); all parties \
         share the machine's {} cores. Time per round after 10 untimed rounds, the slowest \
         party's mean; messages per round = n(n−1). Runtime: the parties run on tokio's \
         multi-thread runtime (as `mpc` does with `MPC_THREADS` > 1); the current-thread rows \
         run the same parties on tokio's current-thread runtime (the `mpc` default), for \
         comparison.\n",
        m.cores
    );
    let _ = writeln!(
        w,
        "| payload | runtime | parties | messages per round | time per round µs | mean over parties µs | per message µs | vs 2 parties | rounds |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for a in &r.all_to_all {
        let base = r
            .all_to_all
            .iter()
            .find(|b| b.size == a.size && b.current_thread == a.current_thread && b.parties == 2)
            .map(|b| b.round_us);
        let msgs = a.parties * (a.parties - 1);
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            size_label(a.size),
            if a.current_thread {
                "current-thread"
            } else {
                "multi-thread"
            },
            a.parties,
            msgs,
            num(a.round_us),
            num(a.round_us_mean),
            num(a.round_us / msgs as f64),
            ratio(Some(a.round_us), base),
            a.rounds
        );
    }
    let _ = writeln!(w);

    // rss
    let _ = writeln!(w, "## Memory: one {} message\n", size_label(r.rss_size));
    let _ = writeln!(
        w,
        "One message of {} over plain HTTP on 127.0.0.1, into a party that receives it and \
         sends it back (echo) or only receives it (and answers with 2 bytes). Peak RSS is that \
         party's VmHWM (/proc/PID/status) read after the answer came back; idle is the same \
         before the message. The sending side's peak is for information (`mpc bench` keeps \
         two copies of the payload by design; measured with /usr/bin/time where present).\n",
        size_label(r.rss_size)
    );
    let _ = writeln!(
        w,
        "| party | idle MiB | peak MiB | peak / payload | sender peak MiB | seconds |\n|---|---:|---:|---:|---:|---:|"
    );
    let payload_kb = r.rss_size as f64 / 1024.0;
    for x in &r.rss {
        let label = match x.sys {
            RssParty::Raw => "raw-tcp echo (receives and echoes)",
            RssParty::Recv => "Rust pool party that only receives (`rss-probe recv`)",
            RssParty::Echo => "`mpc echo` (Rust pool, receives and echoes)",
            RssParty::Python => "Python 5.0.4 echo (pybench.py, receives and echoes)",
        };
        let _ = writeln!(
            w,
            "| {label} | {} | {} | {:.2}x | {} | {} |",
            num(x.idle_kb as f64 / 1024.0),
            num(x.peak_kb as f64 / 1024.0),
            x.peak_kb as f64 / payload_kb,
            x.sender_kb
                .map_or_else(|| "–".into(), |k| num(k as f64 / 1024.0)),
            x.seconds.map_or_else(|| "–".into(), |s| format!("{s:.2}"))
        );
    }
    let _ = writeln!(w);

    // micro
    if !r.micro.is_empty() {
        let _ = writeln!(w, "## Codec micro-benchmarks\n");
        let _ = writeln!(
            w,
            "criterion (`crates/mpc-serial/benches/codec.rs`, run with `--features num-bigint`), \
             median time per operation; throughput over the packet size. `encode_packet`: value \
             to packet; `Packet::decode`: envelope only (the value stays a slice); `validate`: \
             checks the value without building it; `value`: the dynamic `Value`; \
             `decode_object`: the typed value (through `Value`). Big integers: random 2048-bit \
             positive ints. `bigint-bytes`: conversion to and from Python's two's-complement \
             bytes, dashu (used) against num-bigint.\n"
        );
        let _ = writeln!(w, "| benchmark | median | throughput |\n|---|---:|---:|");
        for x in &r.micro {
            let thr = x.bytes.map_or_else(
                || "–".into(),
                |b| {
                    let bps = b as f64 / (x.median_ns * 1e-9);
                    if bps >= 100e9 {
                        "(no copy)".to_owned()
                    } else if bps >= 1e9 {
                        format!("{:.2} GB/s", bps / 1e9)
                    } else {
                        format!("{:.0} MB/s", bps / 1e6)
                    }
                },
            );
            let _ = writeln!(w, "| `{}` | {} | {} |", x.id, fmt_ns(x.median_ns), thr);
        }
        let _ = writeln!(w);
        let get = |id: String| r.micro.iter().find(|x| x.id == id).map(|x| x.median_ns);
        let mut lines = Vec::new();
        for bits in [256, 2048, 4096] {
            for op in ["to_bytes", "from_bytes"] {
                let d = get(format!("bigint-bytes/dashu/{op}/{bits}"));
                let n = get(format!("bigint-bytes/num-bigint/{op}/{bits}"));
                if let (Some(d), Some(n)) = (d, n) {
                    lines.push(format!(
                        "{bits}-bit {op}: dashu {} vs num-bigint {} ({})",
                        fmt_ns(d),
                        fmt_ns(n),
                        if d <= n {
                            format!("dashu {:.1}x faster", n / d)
                        } else {
                            format!("num-bigint {:.1}x faster", d / n)
                        }
                    ));
                }
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(w, "dashu against num-bigint:\n");
            for l in lines {
                let _ = writeln!(w, "* {l}");
            }
            let _ = writeln!(w);
        }
    }

    // method
    let _ = writeln!(w, "## How it was measured\n");
    let _ = writeln!(
        w,
        "* **raw TCP** (`crates/mpc-bench`, `raw-tcp`): 8-byte length prefix and payload over std \
         `TcpStream`s with `TCP_NODELAY`, one connection, blocking I/O; the echo reads each whole \
         frame into a reused buffer and writes it back in one write. The bench writes each frame \
         in one write (a writer thread when messages are in flight).\n\
         * **Rust pool**: `mpc echo` and `mpc bench` (release build), a fresh pair of processes for \
         every run; mutual TLS with certificates from `mpc certs` (ECDSA P-256, rustls with ring). \
         The first message of each run makes the connections; it is part of the mean round trip \
         (see above for its cost).\n\
         * **Python pair** (`crates/mpc-bench/python/pybench.py`, the interop venv): the real \
         `tno.mpc.communication` 5.0.4 `Pool` and `HttpCommunicator` on both sides, plain HTTP, \
         one warm-up message first; same JSON line as `mpc bench`. {}\n\
         * Payloads are random bytes sent as msgpack bin; every echo is compared with what was \
         sent, inside the timed loop, in all three programs.\n\
         * All servers listen on 127.0.0.1; every process is started and ended by the xtask, with \
         deadlines. Logs of the last run: `target/bench/logs`.\n\
         * Small-message round trips depend on what else the machine does, more than on anything \
         else: most of a 16 B round trip is waking the process a message is for. On a virtual \
         machine an idle vCPU halts and waking it takes tens of microseconds, while a busy one \
         is woken at once, so raw TCP gets several times faster when other work keeps the cores \
         busy, and the ratios to raw TCP at small sizes move with it. The machine table above \
         says how busy the machine was; compare runs with that in mind.\n",
        if r.get(Sys::Python, 16, 1).is_some() {
            "All sizes were run."
        } else {
            "Not run this time (`--no-python`)."
        }
    );
    s
}

// ---------------------------------------------------------------------------
// plots (hand-written SVG: log-log line charts)
// ---------------------------------------------------------------------------

struct Series {
    name: &'static str,
    color: &'static str,
    points: Vec<(f64, f64)>,
}

fn latency_svg(r: &Results) -> String {
    let series = Sys::ALL
        .iter()
        .map(|&s| Series {
            name: s.label(),
            color: s.color(),
            points: SIZES
                .iter()
                .filter_map(|&z| r.rt(s, z).map(|v| (z as f64, v)))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect::<Vec<_>>();
    chart(
        "Round trip against payload size (one message in flight)",
        "round trip (µs, log scale)",
        &series,
    )
}

fn throughput_svg(r: &Results) -> String {
    let series = Sys::ALL
        .iter()
        .map(|&s| Series {
            name: s.label(),
            color: s.color(),
            points: SIZES
                .iter()
                .filter_map(|&z| r.mb_s(s, z).map(|v| (z as f64, v)))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect::<Vec<_>>();
    chart(
        "Echo throughput against payload size (payload both ways)",
        "throughput (MB/s, log scale)",
        &series,
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A line chart with log-scale x (the payload sizes) and log-scale y.
fn chart(title: &str, y_label: &str, series: &[Series]) -> String {
    const W: f64 = 760.0;
    const H: f64 = 460.0;
    let (left, right, top, bottom) = (80.0, 230.0, 50.0, 60.0);
    let (pw, ph) = (W - left - right, H - top - bottom);
    let xs: Vec<f64> = SIZES.iter().map(|&s| s as f64).collect();
    let (x0, x1) = (xs[0].log10(), xs[xs.len() - 1].log10());
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| *v > 0.0)
        .collect();
    let (mut y0, mut y1) = if ys.is_empty() {
        (0.0, 1.0)
    } else {
        (
            ys.iter().copied().fold(f64::MAX, f64::min).log10().floor(),
            ys.iter().copied().fold(f64::MIN, f64::max).log10().ceil(),
        )
    };
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    if !y0.is_finite() {
        y0 = 0.0;
    }
    let px = |x: f64| left + (x.log10() - x0) / (x1 - x0) * pw;
    let py = |y: f64| top + ph - (y.max(1e-300).log10() - y0) / (y1 - y0) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Helvetica, Arial, sans-serif" font-size="12">"##
    );
    let _ = writeln!(s, r##"<rect width="{W}" height="{H}" fill="white"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{}" y="28" font-size="15" text-anchor="middle">{}</text>"##,
        left + pw / 2.0,
        esc(title)
    );
    // grid and y ticks: each power of ten, with 2 and 5 as light lines
    let mut e = y0 as i32;
    while f64::from(e) <= y1 {
        for (k, major) in [(1.0, true), (2.0, false), (5.0, false)] {
            let v = k * 10f64.powi(e);
            if v.log10() > y1 + 1e-9 {
                continue;
            }
            let y = py(v);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="1"/>"##,
                left + pw,
                if major { "#cccccc" } else { "#eeeeee" }
            );
            if major {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                    left - 6.0,
                    y + 4.0,
                    esc(&tick(v))
                );
            }
        }
        e += 1;
    }
    // x ticks: the payload sizes
    for &x in &xs {
        let xp = px(x);
        let _ = writeln!(
            s,
            r##"<line x1="{xp:.1}" y1="{top}" x2="{xp:.1}" y2="{:.1}" stroke="#eeeeee" stroke-width="1"/>"##,
            top + ph
        );
        let _ = writeln!(
            s,
            r##"<text x="{xp:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            top + ph + 18.0,
            esc(&size_label(x as u64))
        );
    }
    // axes
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333333" stroke-width="1"/>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">payload size (log scale)</text>"##,
        left + pw / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        s,
        r##"<text x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">{}</text>"##,
        top + ph / 2.0,
        top + ph / 2.0,
        esc(y_label)
    );
    // lines
    for (i, ser) in series.iter().enumerate() {
        let pts: Vec<String> = ser
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            s,
            r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"##,
            pts.join(" "),
            ser.color
        );
        for &(x, y) in &ser.points {
            let _ = writeln!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"><title>{}: {} — {}</title></circle>"##,
                px(x),
                py(y),
                ser.color,
                esc(ser.name),
                esc(&size_label(x as u64)),
                esc(&num(y))
            );
        }
        // legend
        let ly = top + 10.0 + i as f64 * 22.0;
        let lx = left + pw + 16.0;
        let _ = writeln!(
            s,
            r##"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{}" stroke-width="2"/><circle cx="{:.1}" cy="{ly}" r="3.5" fill="{}"/>"##,
            lx + 24.0,
            ser.color,
            lx + 12.0,
            ser.color
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}">{}</text>"##,
            lx + 30.0,
            ly + 4.0,
            esc(ser.name)
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}

fn tick(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else if v >= 1.0 {
        format!("{v}")
    } else {
        format!("{v:.3}").trim_end_matches('0').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_lines() {
        let m = Measure::parse(
            "{\"size\":16,\"count\":5000,\"inflight\":1,\"seconds\":0.546078,\"roundtrip_us\":108.7,\"mb_per_s\":0.293}",
        )
        .unwrap();
        assert_eq!((m.size, m.count, m.inflight), (16, 5000, 1));
        assert!((m.rt_us - 108.7).abs() < 1e-9);
        assert_eq!(
            ready_port("ready name=echo listen=127.0.0.1:4242 peers=bench tls=off").unwrap(),
            4242
        );
        assert_eq!(ready_port("ready listen=127.0.0.1:7").unwrap(), 7);
        assert_eq!(
            json_str("{\"group_id\":\"g\",\"full_id\":\"codec/x/y\"}", "full_id").as_deref(),
            Some("codec/x/y")
        );
    }

    #[test]
    fn medians_and_numbers() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
        assert_eq!(num(105.26), "105");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(42891.3), "42\u{2009}891");
        assert_eq!(size_label(16), "16 B");
        assert_eq!(size_label(64 << 10), "64 KiB");
        assert_eq!(size_label(256 << 20), "256 MiB");
        assert_eq!(tick(1000.0), "1k");
        assert_eq!(tick(0.01), "0.01");
    }

    #[test]
    fn chart_is_svg() {
        let svg = chart(
            "t",
            "y",
            &[Series {
                name: "a <b>",
                color: "#000",
                points: vec![(16.0, 50.0), (16.0 * 1024.0 * 1024.0, 40000.0)],
            }],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt;"));
    }
}
