//! Child processes with deadlines: started with their standard output read
//! line by line, waited for, killed when not needed any more.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A port on 127.0.0.1 that was free a moment ago.
pub(super) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process whose standard output is read line by line; killed
/// (and reaped) when dropped.
pub(super) struct Proc {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    out: Vec<String>,
}

impl Proc {
    pub(super) fn start(name: &str, cmd: &mut Command, logs: &Path) -> Result<Proc> {
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

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line starting with `prefix`.
    pub(super) fn wait_line(&mut self, prefix: &str, timeout: Duration) -> Result<String> {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
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
            };
            self.out.push(line.clone());
            if line.starts_with(prefix) {
                return Ok(line);
            }
        }
    }

    /// Waits for the exit and returns the JSON lines printed (`{...}`).
    pub(super) fn finish(&mut self, timeout: Duration) -> Result<Vec<String>> {
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

    /// The first line it printed so far that starts with `prefix`.
    pub(super) fn printed(&self, prefix: &str) -> Option<&str> {
        self.out
            .iter()
            .find(|l| l.starts_with(prefix))
            .map(String::as_str)
    }

    /// Stops the process (SIGKILL; nothing of it is needed any more).
    pub(super) fn stop(&mut self) {
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
pub(super) fn vm_hwm_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/PID/status")
}

/// The port of a `ready ... listen=HOST:PORT ...` line.
pub(super) fn ready_port(line: &str) -> Result<u16> {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix("listen="))
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, p)| p.parse().ok())
        .with_context(|| format!("no listen=HOST:PORT in {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines() {
        assert_eq!(
            ready_port("ready name=echo listen=127.0.0.1:4242 peers=bench tls=off").unwrap(),
            4242
        );
        assert_eq!(ready_port("ready listen=127.0.0.1:7").unwrap(), 7);
        assert!(ready_port("ready name=echo").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn lines_and_exit() {
        let logs = std::env::temp_dir();
        let mut p = Proc::start(
            "xtask-bench-process-test",
            Command::new("sh").args(["-c", "echo hello; echo ready x; echo '{\"a\":1}'"]),
            &logs,
        )
        .unwrap();
        assert_eq!(
            p.wait_line("ready", Duration::from_secs(10)).unwrap(),
            "ready x"
        );
        assert_eq!(p.finish(Duration::from_secs(10)).unwrap(), ["{\"a\":1}"]);
        let _ = std::fs::remove_file(logs.join("xtask-bench-process-test.log"));
    }
}
