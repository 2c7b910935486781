//! Facts about the machine (for the page) and what else it did during the
//! run (sampled between the steps).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::shell;

/// The machine a run was made on.
pub(super) struct Machine {
    /// Cores available to this program.
    pub(super) cores: usize,
    /// The rows of the page's machine table, in order: CPU, cores, memory,
    /// kernel, Rust, Python side, date, commit.
    pub(super) facts: Vec<(&'static str, String)>,
}

fn command_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Machine {
    pub(super) fn probe(python: Option<&Path>) -> Machine {
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
        let root = shell::root();
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
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        Machine {
            cores,
            facts: vec![
                ("CPU", cpu),
                ("cores (nproc)", cores.to_string()),
                ("memory", memory),
                ("kernel", format!("Linux {kernel}")),
                ("Rust", format!("{rustc} (release profile)")),
                ("Python side", python),
                ("date", date),
                ("commit", commit),
            ],
        }
    }
}

/// Clock ticks per second of /proc/stat and /proc/PID/stat (USER_HZ).
const TICKS: f64 = 100.0;

/// What else the machine did during the run, sampled between the steps:
/// load average, CPU time not spent by this program and its (waited-for)
/// descendants, the long-running processes that used it, compilers seen.
#[derive(Default)]
pub(super) struct LoadWatch {
    pub(super) samples: usize,
    pub(super) max_load1: f64,
    pub(super) loads: Vec<f64>,
    pub(super) busy: usize,
    pub(super) seen: BTreeMap<String, usize>,
    /// (machine busy ticks, own + children ticks, when) at the first sample.
    pub(super) first: Option<(u64, u64, Instant)>,
    pub(super) last: Option<(u64, u64, Instant)>,
    /// Per pid: name and CPU ticks at the last sample.
    pub(super) procs: BTreeMap<u32, (String, u64)>,
    /// CPU seconds of other long-running processes, by name.
    pub(super) others: BTreeMap<String, f64>,
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
    pub(super) fn sample(&mut self) {
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
    pub(super) fn other_cores(&self) -> Option<f64> {
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
    pub(super) fn top_others(&self) -> Vec<(String, f64)> {
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
