//! A party process on a test host: started with `ip netns exec`, its
//! standard output collected line by line, its standard error in a log
//! file; killed when dropped.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::netns::Host;

/// A running (or finished) party process.
#[derive(Debug)]
pub(crate) struct Party {
    pub(crate) name: String,
    pub(crate) log: PathBuf,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Party {
    /// Starts `program ARGS` on `host`, as party `name`; its standard error
    /// goes to `log`.
    pub(crate) fn spawn(
        host: &Host,
        name: &str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> Result<Party> {
        use std::io::Write as _;
        let mut err = std::fs::File::create(log)
            .with_context(|| format!("creating the log {}", log.display()))?;
        writeln!(
            err,
            "$ ip netns exec {} {} {}",
            host.ns,
            program.display(),
            args.join(" ")
        )?;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &host.ns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {} on {}", program.display(), host.name))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().context("no stdout")?;
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        Ok(Party {
            name: name.to_owned(),
            log: log.to_owned(),
            child,
            lines,
            reader: Some(reader),
            status: None,
        })
    }

    /// The lines of standard output so far.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The last line of standard output that starts with `prefix`.
    pub(crate) fn line(&self, prefix: &str) -> Option<String> {
        self.lines()
            .into_iter()
            .rev()
            .find(|l| l.starts_with(prefix))
    }

    /// Whether the process is still running.
    pub(crate) fn running(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status.is_none()
    }

    /// Waits (up to `timeout`) for its `ready ...` line.
    pub(crate) fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            if self.line("ready ").is_some() {
                return Ok(());
            }
            if !self.running() {
                bail!(
                    "{} exited ({}) before it was ready; log {}",
                    self.name,
                    self.status.map_or("?".into(), |s| s.to_string()),
                    self.log.display()
                );
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} not ready within {timeout:?}; log {}",
                    self.name,
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to `timeout`, then kills it) for the process to exit;
    /// its exit status.
    pub(crate) fn finish(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let start = Instant::now();
        while self.running() {
            if start.elapsed() > timeout {
                self.kill();
                bail!(
                    "{} did not finish within {timeout:?} (killed); log {}",
                    self.name,
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.status.context("no exit status")
    }

    /// Waits for the exit; an error unless it exits with status 0.
    pub(crate) fn succeed(&mut self, timeout: Duration) -> Result<()> {
        let status = self.finish(timeout)?;
        if !status.success() {
            let fails: Vec<String> = self
                .lines()
                .into_iter()
                .filter(|l| l.starts_with("FAIL"))
                .take(3)
                .collect();
            bail!(
                "{} exited with {status}{}; log {}",
                self.name,
                if fails.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", fails.join("; "))
                },
                self.log.display()
            );
        }
        Ok(())
    }

    /// Kills the process (if it still runs) and reaps it.
    pub(crate) fn kill(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for Party {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `key=value` words of a line.
pub(crate) fn fields(line: &str) -> HashMap<&str, &str> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .collect()
}

/// The number `key=N` in `line`.
pub(crate) fn number(line: &str, key: &str) -> Option<u64> {
    fields(line).get(key)?.parse().ok()
}
