//! What a run measured, and the medians the page and the targets read.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use mpc_measure::{Record, Usage};

/// The systems measured against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Sys {
    Raw,
    Plain,
    Tls,
    Python,
    /// The pool over plain HTTP with `MPC_MALLOC=keep` (freed memory kept
    /// for the next message); large payloads only, not in [`Sys::ALL`].
    Keep,
}

impl Sys {
    pub(super) const ALL: [Sys; 4] = [Sys::Raw, Sys::Plain, Sys::Tls, Sys::Python];

    pub(super) fn label(self) -> &'static str {
        match self {
            Sys::Raw => "raw TCP",
            Sys::Plain => "Rust pool, HTTP",
            Sys::Tls => "Rust pool, mutual TLS",
            Sys::Python => "Python 5.0.4 pair, HTTP",
            Sys::Keep => "Rust pool, HTTP, MPC_MALLOC=keep",
        }
    }

    pub(super) fn color(self) -> &'static str {
        match self {
            Sys::Raw => "#555555",
            Sys::Plain => "#1f77b4",
            Sys::Tls => "#2ca02c",
            Sys::Python => "#d62728",
            Sys::Keep => "#9467bd",
        }
    }
}

/// What is shown against the payload size (one message in flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Metric {
    /// Mean round trip, µs (lower is better).
    RoundTrip,
    /// Payload bytes both ways per second, MB/s (higher is better).
    Throughput,
}

impl Metric {
    /// The median of `sys`'s runs with payloads of `size` bytes.
    pub(super) fn of(self, r: &Results, sys: Sys, size: u64) -> Option<f64> {
        match self {
            Metric::RoundTrip => r.rt(sys, size),
            Metric::Throughput => r.mb_s(sys, size),
        }
    }

    pub(super) fn unit(self) -> &'static str {
        match self {
            Metric::RoundTrip => "µs",
            Metric::Throughput => "MB/s",
        }
    }
}

/// One all-to-all run.
#[derive(Debug, Clone)]
pub(super) struct AllToAll {
    pub(super) parties: u64,
    pub(super) size: u64,
    /// Parties on tokio's current-thread runtime (else multi-thread, as `mpc`).
    pub(super) current_thread: bool,
    pub(super) rounds: u64,
    pub(super) round_us: f64,
    pub(super) round_us_mean: f64,
}

/// The party whose memory is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RssParty {
    Raw,
    Recv,
    Echo,
    Python,
}

/// The memory of a party taking one big message.
#[derive(Debug, Clone)]
pub(super) struct Rss {
    pub(super) sys: RssParty,
    pub(super) idle_kb: u64,
    pub(super) peak_kb: u64,
    pub(super) sender_kb: Option<u64>,
    pub(super) seconds: Option<f64>,
}

/// One criterion benchmark.
#[derive(Debug, Clone)]
pub(super) struct Micro {
    pub(super) id: String,
    pub(super) median_ns: f64,
    pub(super) bytes: Option<u64>,
    /// When criterion wrote the result (the order the benchmarks ran in).
    pub(super) when: SystemTime,
}

/// The runs over an emulated network (`--net PROFILE` on both processes,
/// plain HTTP): by profile, payload size and messages in flight; and the
/// unshaped 16 B runs made between them (the pool's own round trip).
#[derive(Debug, Default)]
pub(super) struct NetRuns {
    pub(super) runs: BTreeMap<(&'static str, u64, u64), Vec<Record>>,
    pub(super) base: Vec<Record>,
}

impl NetRuns {
    pub(super) fn get(
        &self,
        profile: &'static str,
        size: u64,
        inflight: u64,
    ) -> Option<&Vec<Record>> {
        self.runs
            .get(&(profile, size, inflight))
            .filter(|v| !v.is_empty())
    }

    /// The unshaped pool's median 16 B round trip, µs.
    pub(super) fn base_rt(&self) -> Option<f64> {
        median(self.base.iter().map(|m| m.roundtrip_us).collect())
    }
}

/// The build the ledger overhead is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Build {
    /// The commit before the ledger landed.
    Before,
    /// This workspace.
    Now,
}

/// The ledger overhead: `mpc` of the commit before the ledger against this
/// workspace's, 16 B over plain HTTP, one and 64 in flight.
#[derive(Debug, Default)]
pub(super) struct Overhead {
    /// The commit before the ledger (short hash), if found.
    pub(super) commit: Option<String>,
    /// Commits from it to HEAD (`git rev-list --count`).
    pub(super) commits: Option<u64>,
    /// Why it was not measured (or not completely).
    pub(super) failed: Option<String>,
    /// Runs by build and messages in flight.
    pub(super) runs: BTreeMap<(Build, u64), Vec<Record>>,
}

impl Overhead {
    pub(super) fn runs_of(&self, build: Build, inflight: u64) -> &[Record] {
        self.runs.get(&(build, inflight)).map_or(&[], Vec::as_slice)
    }

    /// The figure compared: the mean round trip (µs) with one message in
    /// flight, messages per second with more; per run.
    pub(super) fn figures(&self, build: Build, inflight: u64) -> Vec<f64> {
        self.runs_of(build, inflight)
            .iter()
            .map(|m| {
                if inflight == 1 {
                    m.roundtrip_us
                } else {
                    m.msgs_per_s()
                }
            })
            .collect()
    }
}

/// Everything one `cargo xtask bench` measured.
#[derive(Debug, Default)]
pub(super) struct Results {
    pub(super) quick: bool,
    pub(super) reps: usize,
    pub(super) runs: BTreeMap<(Sys, u64, u64), Vec<Record>>,
    pub(super) first_plain: Vec<f64>,
    pub(super) first_tls: Vec<f64>,
    pub(super) all_to_all: Vec<AllToAll>,
    pub(super) rss_size: u64,
    pub(super) rss: Vec<Rss>,
    pub(super) micro: Vec<Micro>,
    /// The LAN/WAN section (empty if not run).
    pub(super) net: NetRuns,
    /// The ledger overhead (`None`: not asked for, `--no-overhead`).
    pub(super) overhead: Option<Overhead>,
    pub(super) wall: Duration,
}

/// What the two processes of a configuration used per message (medians
/// over its runs that reported both sides).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PerMessage {
    /// CPU time of the client (`bench`) per message, µs.
    pub(super) client_cpu_us: f64,
    /// CPU time of the echoing process per message, µs.
    pub(super) echo_cpu_us: f64,
    /// Cores kept busy: both processes' CPU time over the run's wall time.
    pub(super) cores: f64,
    /// Sleeps (voluntary context switches) per message, client and echo.
    pub(super) sleeps: (f64, f64),
    /// Minor page faults per message, client and echo.
    pub(super) faults: (f64, f64),
    /// Runs the medians are taken over.
    pub(super) runs: usize,
}

impl PerMessage {
    /// Both processes' CPU time per message, µs.
    pub(super) fn cpu_us(&self) -> f64 {
        self.client_cpu_us + self.echo_cpu_us
    }
}

pub(super) fn median(mut v: Vec<f64>) -> Option<f64> {
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
    pub(super) fn add(&mut self, sys: Sys, m: Record) {
        self.runs
            .entry((sys, m.size, m.inflight))
            .or_default()
            .push(m);
    }

    pub(super) fn get(&self, sys: Sys, size: u64, inflight: u64) -> Option<&Vec<Record>> {
        self.runs
            .get(&(sys, size, inflight))
            .filter(|v| !v.is_empty())
    }

    /// Median round trip, µs.
    pub(super) fn rt(&self, sys: Sys, size: u64) -> Option<f64> {
        median(
            self.get(sys, size, 1)?
                .iter()
                .map(|m| m.roundtrip_us)
                .collect(),
        )
    }

    /// Median throughput (payload both ways), MB/s.
    pub(super) fn mb_s(&self, sys: Sys, size: u64) -> Option<f64> {
        median(self.get(sys, size, 1)?.iter().map(|m| m.mb_per_s).collect())
    }

    pub(super) fn msgs_per_s(&self, sys: Sys, inflight: u64) -> Option<f64> {
        median(
            self.get(sys, 16, inflight)?
                .iter()
                .map(Record::msgs_per_s)
                .collect(),
        )
    }

    /// What the processes of a configuration used per message.
    pub(super) fn per_message(&self, sys: Sys, size: u64, inflight: u64) -> Option<PerMessage> {
        let runs: Vec<_> = self
            .get(sys, size, inflight)?
            .iter()
            .filter_map(|m| Some((m, m.usage?, m.peer_usage?)))
            .collect();
        let med = |f: &dyn Fn(&Record, &Usage, &Usage) -> f64| {
            median(runs.iter().map(|(m, c, e)| f(m, c, e)).collect())
        };
        let per = |m: &Record, x: f64| x / m.count.max(1) as f64;
        Some(PerMessage {
            client_cpu_us: med(&|m, c, _| per(m, c.cpu_s * 1e6))?,
            echo_cpu_us: med(&|m, _, e| per(m, e.cpu_s * 1e6))?,
            cores: med(&|m, c, e| (c.cpu_s + e.cpu_s) / m.seconds)?,
            sleeps: (
                med(&|m, c, _| per(m, c.sleeps as f64))?,
                med(&|m, _, e| per(m, e.sleeps as f64))?,
            ),
            faults: (
                med(&|m, c, _| per(m, c.minor_faults as f64))?,
                med(&|m, _, e| per(m, e.minor_faults as f64))?,
            ),
            runs: runs.len(),
        })
    }

    pub(super) fn count(&self, sys: Sys, size: u64, inflight: u64) -> Option<u64> {
        self.get(sys, size, inflight)
            .and_then(|v| v.first())
            .map(|m| m.count)
    }

    pub(super) fn reps_of(&self, sys: Sys, size: u64, inflight: u64) -> usize {
        self.get(sys, size, inflight).map_or(0, Vec::len)
    }

    /// The 16 B round trip without the first message (connections, TLS
    /// handshakes): (mean × n − first) / (n − 1), per run, median.
    pub(super) fn rt_after_handshake(&self, sys: Sys) -> Option<f64> {
        let first = median(match sys {
            Sys::Plain => self.first_plain.clone(),
            Sys::Tls => self.first_tls.clone(),
            _ => return None,
        })?;
        median(
            self.get(sys, 16, 1)?
                .iter()
                .filter(|m| m.count > 1)
                .map(|m| (m.roundtrip_us * m.count as f64 - first) / (m.count - 1) as f64)
                .collect(),
        )
    }
}

/// A run's record, for the tests of the page and the targets: `rt` µs
/// round trip, `mb` MB/s.
#[cfg(test)]
pub(super) fn record(
    size: u64,
    count: u64,
    inflight: u64,
    seconds: f64,
    rt: f64,
    mb: f64,
) -> Record {
    Record {
        size,
        count,
        inflight,
        seconds,
        roundtrip_us: rt,
        mb_per_s: mb,
        ledger: None,
        usage: None,
        peer_usage: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![f64::NAN, 1.0]), Some(1.0));
        assert_eq!(median(vec![]), None);
    }
}
