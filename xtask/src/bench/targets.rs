//! The performance targets and whether a run meets them.

use super::format::{group, num, size_label};
use super::results::{Results, RssParty, Sys};

/// One target: what, the goal, what was measured, and the verdict (`None`:
/// not measured, or only reported).
pub(super) struct Target {
    pub(super) name: String,
    pub(super) goal: String,
    pub(super) measured: String,
    pub(super) pass: Option<bool>,
}

impl Target {
    /// A target judged by `outcome` (what was measured, whether it holds),
    /// or not measured because of `missing`.
    fn judged(name: &str, goal: &str, outcome: Option<(String, bool)>, missing: &str) -> Target {
        let (measured, pass) = match outcome {
            Some((measured, pass)) => (measured, Some(pass)),
            None => (format!("not measured ({missing})"), None),
        };
        Target {
            name: name.to_owned(),
            goal: goal.to_owned(),
            measured,
            pass,
        }
    }

    pub(super) fn verdict(&self) -> &'static str {
        match self.pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "n/a",
        }
    }
}

const FAILED: &str = "a run failed";

pub(super) fn targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    // round trip, 16 B, against raw TCP and the Python pair
    let (plain, raw, py) = (
        r.rt(Sys::Plain, 16),
        r.rt(Sys::Raw, 16),
        r.rt(Sys::Python, 16),
    );
    out.push(Target::judged(
        "16 B round trip, Rust pair over HTTP vs raw TCP",
        "at most 2.5x raw TCP",
        plain.zip(raw).map(|(p, w)| {
            (
                format!("{:.2}x ({} µs vs {} µs)", p / w, num(p), num(w)),
                p / w <= 2.5,
            )
        }),
        FAILED,
    ));
    out.push(Target::judged(
        "16 B round trip, Rust pair vs Python pair",
        "at least 10x faster",
        plain.zip(py).map(|(p, y)| {
            (
                format!("{:.1}x faster ({} µs vs {} µs)", y / p, num(p), num(y)),
                y / p >= 10.0,
            )
        }),
        "no Python pair in this run",
    ));
    let big = 16 << 20;
    out.push(Target::judged(
        "16 MiB echo throughput, Rust pair vs raw TCP",
        "at least 60% of raw TCP",
        r.mb_s(Sys::Plain, big)
            .zip(r.mb_s(Sys::Raw, big))
            .map(|(p, w)| {
                (
                    format!("{:.0}% ({} MB/s vs {} MB/s)", 100.0 * p / w, num(p), num(w)),
                    p / w >= 0.6,
                )
            }),
        FAILED,
    ));
    out.push(Target::judged(
        "16 B messages, 64 in flight, Rust pair over HTTP",
        "at least 50 000 messages/s",
        r.msgs_per_s(Sys::Plain, 64)
            .map(|m| (format!("{} messages/s", group(m)), m >= 50_000.0)),
        FAILED,
    ));
    out.push(Target::judged(
        "16 B round trip, mutual TLS vs plain, after the handshake",
        "at most 1.3x plain",
        r.rt_after_handshake(Sys::Tls)
            .zip(r.rt_after_handshake(Sys::Plain))
            .map(|(t, p)| {
                (
                    format!("{:.2}x ({} µs vs {} µs)", t / p, num(t), num(p)),
                    t / p <= 1.3,
                )
            }),
        FAILED,
    ));
    // memory
    let payload_kb = r.rss_size as f64 / 1024.0;
    for (party, what) in [
        (RssParty::Recv, "a Rust party receiving one"),
        (RssParty::Echo, "`mpc echo` receiving and echoing one"),
    ] {
        let name = format!("peak RSS of {what} {} message", size_label(r.rss_size));
        out.push(Target::judged(
            &name,
            "at most 1.5x the payload",
            r.rss.iter().find(|x| x.sys == party).map(|x| {
                (
                    format!(
                        "{:.2}x ({} MiB peak for {} MiB)",
                        x.peak_kb as f64 / payload_kb,
                        num(x.peak_kb as f64 / 1024.0),
                        r.rss_size >> 20
                    ),
                    x.peak_kb as f64 <= 1.5 * payload_kb,
                )
            }),
            FAILED,
        ));
    }
    // growth: reported, not judged
    let growth: Vec<String> = r
        .all_to_all
        .iter()
        .filter(|a| a.size == 16 && !a.current_thread)
        .map(|a| format!("{}: {} µs", a.parties, num(a.round_us)))
        .collect();
    let mut t = Target::judged(
        "all-to-all growth (2, 4, 8 parties, 16 B)",
        "reported (time per round against the number of parties)",
        (!growth.is_empty()).then(|| (format!("per round: {}", growth.join(", ")), true)),
        FAILED,
    );
    t.pass = None;
    out.push(t);
    out
}
