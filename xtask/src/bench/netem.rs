//! The LAN/WAN section (issue 13): the Rust pool over plain HTTP on
//! 127.0.0.1 with an emulated network (`mpc echo --net PROFILE` and
//! `mpc bench --net PROFILE`, the same profile on both), against what the
//! link model predicts.
//!
//! The model (docs/network-emulation.md): a message of W wire bytes on a
//! link of one-way latency L and bandwidth B arrives L + W·8/B after it is
//! sent (the link being free). An echo is two such messages (the request
//! and the echo's answer, each shaped by its sender), so
//!
//! * round trip = 2·(L + W·8/B) + the unshaped pool's own round trip
//!   (measured in the same run, between the shaped runs);
//! * throughput (payload both ways per second, one message under way) =
//!   2·S / (2·(L + W·8/B)) = S / (L + W·8/B), ≈ B/8 when the transmission
//!   time dominates;
//! * k messages in flight: k / (2·(L + W·8/B) + the pool's round trip).
//!
//! W is the ledger's wire bytes sent per message of the run (request head
//! and body, plus the responses the bench party wrote to the echoes: an
//! upper bound of the request by about 100 bytes); the payload size if the
//! record has no ledger.

use anyhow::Result;
use mpc_measure::Record;

use super::format::size_label;
use super::plan::MIB;
use super::programs::Setup;
use super::results::{median, Results};
use super::Measuring;

/// A profile of `--net`, and its figures for the model.
#[derive(Debug)]
pub(super) struct Profile {
    /// What is given to `--net`.
    pub(super) arg: &'static str,
    /// One-way latency, seconds.
    pub(super) latency_s: f64,
    /// Bits per second, if limited.
    pub(super) bandwidth_bps: Option<f64>,
}

impl Profile {
    /// The time a message of `wire` bytes occupies the link, seconds.
    fn transmission_s(&self, wire: f64) -> f64 {
        self.bandwidth_bps.map_or(0.0, |b| wire * 8.0 / b)
    }

    /// One message there and back, without the pool's own time, seconds.
    fn two_ways_s(&self, wire: f64) -> f64 {
        2.0 * (self.latency_s + self.transmission_s(wire))
    }

    /// Whether the issue's accuracy claim (within 10%) is made for it:
    /// latencies of 1 ms and more.
    pub(super) fn judged(&self) -> bool {
        self.latency_s >= 1e-3
    }

    /// The bandwidth as the page writes it: `100 Mbit/s`.
    pub(super) fn bandwidth_label(&self) -> String {
        match self.bandwidth_bps {
            Some(b) if b >= 1e9 => format!("{} Gbit/s", b / 1e9),
            Some(b) => format!("{} Mbit/s", b / 1e6),
            None => "unlimited".into(),
        }
    }
}

/// The profiles measured: the two named ones and the issue's two examples.
pub(super) const PROFILES: [Profile; 4] = [
    Profile {
        arg: "lan",
        latency_s: 0.25e-3,
        bandwidth_bps: Some(1e9),
    },
    Profile {
        arg: "wan",
        latency_s: 25e-3,
        bandwidth_bps: Some(100e6),
    },
    Profile {
        arg: "20ms",
        latency_s: 20e-3,
        bandwidth_bps: None,
    },
    Profile {
        arg: "1ms,100Mbit",
        latency_s: 1e-3,
        bandwidth_bps: Some(100e6),
    },
];

/// The payload of the throughput rows.
pub(super) const LARGE: u64 = 4 * MIB;
/// Messages in flight of the in-flight row (the `wan` profile only).
pub(super) const IN_FLIGHT: u64 = 64;
/// The profile of the in-flight row.
pub(super) const IN_FLIGHT_PROFILE: &str = "wan";

/// Roughly the HTTP request head of a message, bytes (for planning only).
const HEAD: f64 = 300.0;

/// Messages for a run of about `secs` seconds of `per_msg` each, within
/// `min..=max`.
fn messages(secs: f64, per_msg: f64, min: u64, max: u64) -> u64 {
    ((secs / per_msg).round() as u64).clamp(min, max)
}

/// What a run of the section is: the profile, the payload, the messages
/// in flight, and how many.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    pub(super) profile: &'static Profile,
    pub(super) size: u64,
    pub(super) inflight: u64,
    pub(super) count: u64,
}

/// The runs of one repetition, in order: for each profile the 16 B round
/// trip, then the large echoes of the profiles with a bandwidth, then the
/// in-flight run.
pub(super) fn plan(quick: bool) -> Vec<Run> {
    let secs = if quick { 0.5 } else { 2.0 };
    let mut runs = Vec::new();
    for p in &PROFILES {
        // the pool's own round trip: some 300 µs on a busy machine
        let per = p.two_ways_s(16.0 + HEAD) + 300e-6;
        runs.push(Run {
            profile: p,
            size: 16,
            inflight: 1,
            count: messages(secs, per, 20, 5_000),
        });
    }
    for p in PROFILES.iter().filter(|p| p.bandwidth_bps.is_some()) {
        let per = p.two_ways_s(LARGE as f64);
        runs.push(Run {
            profile: p,
            size: LARGE,
            inflight: 1,
            count: messages(secs, per, if quick { 2 } else { 3 }, 10),
        });
    }
    for p in PROFILES.iter().filter(|p| p.arg == IN_FLIGHT_PROFILE) {
        let per = p.two_ways_s(16.0 + HEAD) + 300e-6;
        runs.push(Run {
            profile: p,
            size: 16,
            inflight: IN_FLIGHT,
            count: messages(secs * IN_FLIGHT as f64, per, 4 * IN_FLIGHT, 50_000),
        });
    }
    runs
}

/// Messages of the unshaped 16 B run between the shaped ones.
fn base_count(quick: bool) -> u64 {
    if quick {
        200
    } else {
        1_000
    }
}

/// Repetitions of the section.
pub(super) fn reps(quick: bool, reps: usize) -> usize {
    if quick {
        1
    } else {
        reps.min(3)
    }
}

impl Measuring<'_> {
    /// The LAN/WAN section: per repetition an unshaped 16 B run, then the
    /// runs of [`plan`].
    pub(super) fn netem(&mut self) -> Result<()> {
        let reps = reps(self.opts.quick, self.opts.reps);
        for rep in 0..reps {
            self.load.sample();
            eprintln!(
                "bench: rep {}/{reps} emulated networks ({})",
                rep + 1,
                PROFILES.map(|p| p.arg).join(", ")
            );
            let base = self
                .bins
                .mpc_pair(16, base_count(self.opts.quick), 1, None)?;
            self.res.net.base.push(base);
            for run in plan(self.opts.quick) {
                let setup = Setup {
                    net: Some(run.profile.arg),
                    ..Setup::default()
                };
                let m = self
                    .bins
                    .mpc_pair_with(setup, run.size, run.count, run.inflight)?;
                self.res
                    .net
                    .runs
                    .entry((run.profile.arg, run.size, run.inflight))
                    .or_default()
                    .push(m);
            }
        }
        Ok(())
    }
}

/// What a row of the section shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// 16 B, one in flight: mean round trip, ms.
    RoundTrip,
    /// [`LARGE`], one in flight: payload both ways per second, MB/s.
    Throughput,
    /// 16 B, [`IN_FLIGHT`] in flight: messages per second.
    InFlight,
}

impl Kind {
    /// What is measured, without the unit.
    pub(super) fn what(self) -> String {
        match self {
            Kind::RoundTrip => "16 B round trip".into(),
            Kind::Throughput => format!("{} echoes", size_label(LARGE)),
            Kind::InFlight => format!("16 B, {IN_FLIGHT} in flight"),
        }
    }

    /// What is measured, and the unit.
    pub(super) fn label(self) -> String {
        match self {
            Kind::RoundTrip => "16 B round trip, ms".into(),
            Kind::Throughput => format!("{} echoes, MB/s both ways", size_label(LARGE)),
            Kind::InFlight => format!("16 B, {IN_FLIGHT} in flight, messages/s"),
        }
    }
}

/// One row of the section: measured (median of the runs) against the model.
#[derive(Debug)]
pub(super) struct Row {
    pub(super) profile: &'static Profile,
    pub(super) kind: Kind,
    pub(super) measured: Option<f64>,
    pub(super) predicted: Option<f64>,
    /// Messages per run, and runs.
    pub(super) count: Option<u64>,
    pub(super) runs: usize,
}

impl Row {
    /// Measured / predicted.
    pub(super) fn ratio(&self) -> Option<f64> {
        self.measured
            .zip(self.predicted)
            .filter(|(_, p)| *p > 0.0)
            .map(|(m, p)| m / p)
    }

    /// Whether the measurement is within 10% of the model; `None` if not
    /// measured or not judged (latencies under 1 ms).
    pub(super) fn pass(&self) -> Option<bool> {
        if !self.profile.judged() {
            return None;
        }
        self.ratio().map(|r| (r - 1.0).abs() <= 0.10)
    }

    /// The verdict cell.
    pub(super) fn verdict(&self) -> String {
        match (self.ratio(), self.pass()) {
            (None, _) => "not measured".into(),
            (Some(_), None) => "reported (under 1 ms: see below)".into(),
            (Some(r), Some(pass)) => format!(
                "**{}** ({:+.1}%)",
                if pass { "within 10%" } else { "MISS" },
                100.0 * (r - 1.0)
            ),
        }
    }
}

/// The wire bytes per message sent of a run (its ledger), or its payload.
fn wire_per_message(m: &Record) -> f64 {
    m.ledger
        .filter(|l| l.messages_sent > 0)
        .map_or(m.size as f64, |l| {
            l.wire_bytes_sent as f64 / l.messages_sent as f64
        })
}

/// The rows of the section, in the order of [`plan`].
pub(super) fn rows(r: &Results) -> Vec<Row> {
    let base_s = r.net.base_rt().map(|us| us * 1e-6);
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for run in plan(r.quick) {
        let key = (run.profile.arg, run.size, run.inflight);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let kind = match (run.size, run.inflight) {
            (16, 1) => Kind::RoundTrip,
            (_, 1) => Kind::Throughput,
            _ => Kind::InFlight,
        };
        let runs = r.net.get(run.profile.arg, run.size, run.inflight);
        let med = |f: fn(&Record) -> f64| runs.and_then(|v| median(v.iter().map(f).collect()));
        let wire = med(wire_per_message);
        let p = run.profile;
        let (measured, predicted) = match kind {
            Kind::RoundTrip => (
                med(|m| m.roundtrip_us / 1e3),
                wire.zip(base_s).map(|(w, b)| (p.two_ways_s(w) + b) * 1e3),
            ),
            Kind::Throughput => (
                med(|m| m.mb_per_s),
                wire.map(|w| 2.0 * run.size as f64 / p.two_ways_s(w) / 1e6),
            ),
            Kind::InFlight => (
                med(Record::msgs_per_s),
                wire.zip(base_s)
                    .map(|(w, b)| run.inflight as f64 / (p.two_ways_s(w) + b)),
            ),
        };
        out.push(Row {
            profile: p,
            kind,
            measured,
            predicted,
            count: runs.and_then(|v| v.first()).map(|m| m.count),
            runs: runs.map_or(0, Vec::len),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_plan() {
        let full = plan(false);
        // 4 round trips, 3 throughputs (profiles with a bandwidth), 1 in flight
        assert_eq!(full.len(), 8);
        let seconds: f64 = full
            .iter()
            .map(|r| {
                let per = r.profile.two_ways_s(r.size as f64 + HEAD) + 300e-6;
                per * r.count as f64 / r.inflight as f64
            })
            .sum();
        // about 2 s a run, 3 repetitions: well under 2 minutes
        assert!(seconds * 3.0 < 80.0, "{seconds}");
        assert!(full.iter().all(|r| r.count >= 2));
        let rt: Vec<u64> = full
            .iter()
            .filter(|r| r.size == 16 && r.inflight == 1)
            .map(|r| r.count)
            .collect();
        // lan, wan, 20ms, 1ms,100Mbit
        assert_eq!(rt, [2_484, 40, 50, 851]);
        let quick = plan(true);
        assert!(quick.iter().filter(|r| r.size == 16).all(|r| r.count >= 20));
        assert_eq!(reps(true, 5), 1);
        assert_eq!(reps(false, 5), 3);
    }

    #[test]
    fn the_model_gives_the_issues_references() {
        // --net 20ms: a 16 B round trip of about 40 ms (plus the pool's own)
        let p = &PROFILES[2];
        assert!((p.two_ways_s(300.0) - 0.040).abs() < 1e-9);
        // --net 1ms,100Mbit: large echoes at about 12.5 MB/s both ways
        let p = &PROFILES[3];
        let s = LARGE as f64;
        let mb_s = 2.0 * s / p.two_ways_s(s) / 1e6;
        assert!((12.3..12.5).contains(&mb_s), "{mb_s}");
        assert_eq!(PROFILES[0].bandwidth_label(), "1 Gbit/s");
        assert_eq!(PROFILES[1].bandwidth_label(), "100 Mbit/s");
    }
}
