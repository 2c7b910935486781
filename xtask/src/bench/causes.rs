//! Where the time goes: what each process used per message (CPU time,
//! sleeps, page faults, read from `/proc` by the programs themselves), and
//! the measured cause of each target a run misses.

use std::fmt::Write as _;

use super::format::{num, opt, size_label};
use super::results::{PerMessage, Results, Sys};
use super::tables::{head, row};

/// The configurations of the table: (payload, messages in flight).
const CONFIGS: [(u64, u64); 4] = [(16, 1), (16, 64), (1 << 20, 1), (16 << 20, 1)];

/// The section: per configuration and system, CPU per message in each
/// process, cores busy, sleeps and minor faults per message.
pub(super) fn section(w: &mut String, r: &Results) {
    let _ = writeln!(w, "## Where the time goes\n");
    let _ = writeln!(
        w,
        "What the two processes of each run used, per message (one payload there and back), \
         as each program read it from `/proc` for itself: the client (`mpc bench`, `raw-tcp \
         bench`) from its first send to its last echo, the echoing process (`mpc echo`, \
         `raw-tcp echo`) while it served the run. CPU: user + system time (10 ms \
         resolution). Cores busy: both processes' CPU time over the run's wall time. Sleeps: \
         voluntary context switches (the process waited, for the network mostly). Faults: \
         minor page faults (pages the kernel mapped and zeroed anew). Medians over the runs. \
         `MPC_MALLOC=keep`: the same pair with glibc told to keep freed memory for the next \
         message (crates/mpc-cli/src/alloc.rs; not the default, as it raises the peak memory \
         of a party receiving one very large message).\n"
    );
    let mut rows = Vec::new();
    for (size, inflight) in CONFIGS {
        for sys in [Sys::Raw, Sys::Plain, Sys::Tls, Sys::Keep] {
            if let Some(p) = r.per_message(sys, size, inflight) {
                rows.push([
                    format!("{}, {inflight}", size_label(size)),
                    sys.label().to_owned(),
                    format!(
                        "{} ({} + {})",
                        num(p.cpu_us()),
                        num(p.client_cpu_us),
                        num(p.echo_cpu_us)
                    ),
                    format!("{:.2}", p.cores),
                    format!("{:.2} + {:.2}", p.sleeps.0, p.sleeps.1),
                    format!("{} + {}", num(p.faults.0), num(p.faults.1)),
                    p.runs.to_string(),
                ]);
            }
        }
    }
    if rows.is_empty() {
        let _ = writeln!(
            w,
            "Not measured in this run (no program reported its usage)."
        );
    } else {
        head(
            w,
            &[
                "payload, in flight",
                "system",
                "CPU µs/msg client + echo",
                "cores busy",
                "sleeps/msg client + echo",
                "faults/msg client + echo",
                "runs",
            ],
            "llrrrrr",
        );
        for cells in &rows {
            row(w, cells);
        }
    }
    w.push('\n');
}

fn both(r: &Results, a: (Sys, u64, u64), b: (Sys, u64, u64)) -> Option<(PerMessage, PerMessage)> {
    r.per_message(a.0, a.1, a.2)
        .zip(r.per_message(b.0, b.1, b.2))
}

/// 64 messages in flight, the pool over `sys` against raw TCP.
pub(super) fn in_flight(r: &Results, sys: Sys) -> Option<String> {
    let (p, raw) = both(r, (sys, 16, 64), (Sys::Raw, 16, 64))?;
    let bound = if p.cores >= 1.5 && p.cores > raw.cores {
        format!(
            "The rate is bound by CPU: the two processes kept {:.2} cores busy \
             (raw TCP {:.2}).",
            p.cores, raw.cores
        )
    } else {
        format!(
            "The two processes kept {:.2} cores busy (raw TCP {:.2}).",
            p.cores, raw.cores
        )
    };
    Some(format!(
        "{bound} CPU per message, client + echo: {} µs against raw TCP's {} µs ({:.1}x). \
         Every echoed message is two HTTP exchanges (the Python wire makes a message a POST \
         answered by a response, and the echo is a message of its own), each read, parsed, \
         routed and answered; raw TCP writes one frame each way and reads many frames per \
         read. Sleeps per message: {:.2} + {:.2} (raw TCP {:.2} + {:.2}).",
        num(p.cpu_us()),
        num(raw.cpu_us()),
        p.cpu_us() / raw.cpu_us().max(1e-9),
        p.sleeps.0,
        p.sleeps.1,
        raw.sleeps.0,
        raw.sleeps.1
    ))
}

/// The 16 B round trip over plain HTTP against raw TCP.
pub(super) fn round_trip(r: &Results) -> Option<String> {
    let (p, raw) = both(r, (Sys::Plain, 16, 1), (Sys::Raw, 16, 1))?;
    let (rt, raw_rt) = (r.rt(Sys::Plain, 16)?, r.rt(Sys::Raw, 16)?);
    let sleeps = p.sleeps.0 + p.sleeps.1;
    let raw_sleeps = raw.sleeps.0 + raw.sleeps.1;
    let waits = if sleeps <= 1.5 * raw_sleeps {
        format!(
            "Both sleep about as often per round trip as raw TCP's ({:.2} + {:.2} against \
             {:.2} + {:.2}), so the pool does not wait more often: it computes more.",
            p.sleeps.0, p.sleeps.1, raw.sleeps.0, raw.sleeps.1
        )
    } else {
        format!(
            "They also sleep more often per round trip: {:.2} + {:.2} against raw TCP's \
             {:.2} + {:.2}.",
            p.sleeps.0, p.sleeps.1, raw.sleeps.0, raw.sleeps.1
        )
    };
    Some(format!(
        "The round trip is {} µs longer than raw TCP's. The two processes spend {} µs of CPU \
         per round trip ({} + {}) against raw TCP's {} µs: {} µs more, the two HTTP \
         exchanges of an echoed message. {waits}",
        num(rt - raw_rt),
        num(p.cpu_us()),
        num(p.client_cpu_us),
        num(p.echo_cpu_us),
        num(raw.cpu_us()),
        num(p.cpu_us() - raw.cpu_us())
    ))
}

/// The 16 B round trip with mutual TLS against plain.
pub(super) fn tls_round_trip(r: &Results) -> Option<String> {
    let (t, p) = both(r, (Sys::Tls, 16, 1), (Sys::Plain, 16, 1))?;
    Some(format!(
        "CPU per round trip, both processes: {} µs with mutual TLS against {} µs plain \
         (records sealed and opened on every exchange).",
        num(t.cpu_us()),
        num(p.cpu_us())
    ))
}

/// Echoes of `size` over plain HTTP against raw TCP.
pub(super) fn bulk(r: &Results, size: u64) -> Option<String> {
    let (p, raw) = both(r, (Sys::Plain, size, 1), (Sys::Raw, size, 1))?;
    let mib = size as f64 / f64::from(1 << 20);
    let faulted = (p.faults.0 + p.faults.1) * 4096.0 / f64::from(1 << 20);
    let keep = match (r.per_message(Sys::Keep, size, 1), r.mb_s(Sys::Keep, size)) {
        (Some(k), Some(mb_s)) => format!(
            " With freed memory kept for the next message (`MPC_MALLOC=keep`), the same echoes \
             had {} + {} faults per message and ran at {} MB/s ({:.2}x raw TCP's {} MB/s).",
            num(k.faults.0),
            num(k.faults.1),
            num(mb_s),
            mb_s / r.mb_s(Sys::Raw, size).unwrap_or(f64::NAN),
            opt(r.mb_s(Sys::Raw, size))
        ),
        _ => String::new(),
    };
    Some(format!(
        "CPU per MiB of payload echoed, both processes: {} µs against raw TCP's {} µs \
         ({:.1}x; cores busy {:.2} against {:.2}). Minor page faults per message: {} + {} \
         (about {} MiB of pages mapped and zeroed anew per {} message; raw TCP {} + {}). \
         The pool copies each payload it receives out of the socket into a buffer of its own \
         (a kept one of about that size once the application has dropped the last, else a new \
         one that grows as bytes arrive, never past what the sender has sent) and hands it to \
         the application; raw TCP reads into one buffer it keeps. (Both send without a copy: \
         `mpc bench` and `mpc echo` share the payload with the packet.){keep}",
        num(p.cpu_us() / mib),
        num(raw.cpu_us() / mib),
        p.cpu_us() / raw.cpu_us().max(1e-9),
        p.cores,
        raw.cores,
        num(p.faults.0),
        num(p.faults.1),
        num(faulted),
        size_label(size),
        num(raw.faults.0),
        num(raw.faults.1)
    ))
}

/// Echoes of `size` with mutual TLS against plain.
pub(super) fn tls_bulk(r: &Results, size: u64) -> Option<String> {
    let (t, p) = both(r, (Sys::Tls, size, 1), (Sys::Plain, size, 1))?;
    let mib = size as f64 / f64::from(1 << 20);
    Some(format!(
        "CPU per MiB of payload echoed, both processes: {} µs with mutual TLS against {} µs \
         plain ({:.1}x; cores busy {:.2} against {:.2}): each payload byte is also sealed and \
         opened (AES-GCM) once in each direction and copied into and out of TLS records, \
         where plain HTTP hands the kernel the buffer itself.",
        num(t.cpu_us() / mib),
        num(p.cpu_us() / mib),
        t.cpu_us() / p.cpu_us().max(1e-9),
        t.cores,
        p.cores
    ))
}

/// The Rust pair against the Python pair.
pub(super) fn python(r: &Results) -> Option<String> {
    let (rt, raw_rt) = (r.rt(Sys::Plain, 16)?, r.rt(Sys::Raw, 16)?);
    Some(format!(
        "The Rust pair's round trip is {:.2}x raw TCP's on this machine ({} µs against {} µs); \
         its cost is that of the round-trip target above.",
        rt / raw_rt,
        num(rt),
        num(raw_rt)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::record;
    use mpc_measure::Usage;

    fn usage(cpu_s: f64, minor_faults: u64, sleeps: u64) -> Option<Usage> {
        Some(Usage {
            cpu_s,
            minor_faults,
            sleeps,
        })
    }

    #[test]
    fn per_message_figures_and_causes() {
        let mut r = Results::default();
        // 64 in flight: raw 20 000 messages in 1 s with 0.3 + 0.2 s of CPU;
        // the pool 10 000 in 1 s with 0.9 + 0.9 s
        let mut raw = record(16, 20_000, 64, 1.0, 6.0, 0.3);
        raw.usage = usage(0.3, 10, 4000);
        raw.peer_usage = usage(0.2, 4, 2000);
        r.add(Sys::Raw, raw);
        let mut plain = record(16, 10_000, 64, 1.0, 10.0, 0.2);
        plain.usage = usage(0.9, 100, 5000);
        plain.peer_usage = usage(0.9, 50, 5000);
        r.add(Sys::Plain, plain);
        // a run without the echo's usage is left out of the medians
        r.add(Sys::Tls, record(16, 8_000, 64, 1.0, 12.0, 0.2));
        let p = r.per_message(Sys::Plain, 16, 64).unwrap();
        assert_eq!(
            (p.client_cpu_us, p.echo_cpu_us, p.cores, p.runs),
            (90.0, 90.0, 1.8, 1)
        );
        assert_eq!((p.sleeps, p.faults), ((0.5, 0.5), (0.01, 0.005)));
        assert_eq!(r.per_message(Sys::Tls, 16, 64), None);
        let why = in_flight(&r, Sys::Plain).unwrap();
        assert!(
            why.starts_with(
                "The rate is bound by CPU: the two processes kept 1.80 cores busy (raw TCP 0.50). \
                 CPU per message, client + echo: 180 µs against raw TCP's 25.0 µs (7.2x)."
            ),
            "{why}"
        );
        assert_eq!(in_flight(&r, Sys::Tls), None);
        let mut page = String::new();
        section(&mut page, &r);
        assert!(
            page.contains(
                "| 16 B, 64 | Rust pool, HTTP | 180 (90.0 + 90.0) | 1.80 | 0.50 + 0.50 |"
            ),
            "{page}"
        );
    }

    #[test]
    fn large_echoes_are_explained_with_the_kept_memory_run() {
        let mib = 1 << 20;
        let mut r = Results::default();
        // 10 messages of 1 MiB each: raw 2\u{2009}000 MB/s, plain 1 000, kept 1\u{2009}800
        for (sys, mb_s, cpu, faults) in [
            (Sys::Raw, 2000.0, 0.02, 0),
            (Sys::Plain, 1000.0, 0.04, 2560),
            (Sys::Keep, 1800.0, 0.02, 30),
        ] {
            let mut m = record(mib, 10, 1, 0.1, 1000.0, mb_s);
            m.usage = usage(cpu, faults, 10);
            m.peer_usage = usage(cpu, faults, 10);
            r.add(sys, m);
        }
        let why = bulk(&r, mib).unwrap();
        assert!(
            why.starts_with(
                "CPU per MiB of payload echoed, both processes: 8\u{2009}000 µs against raw TCP's \
                 4\u{2009}000 µs (2.0x; cores busy 0.80 against 0.40). Minor page faults per message: \
                 256 + 256 (about 2.00 MiB of pages"
            ),
            "{why}"
        );
        assert!(
            why.ends_with(
                "had 3.00 + 3.00 faults per message and ran at 1\u{2009}800 MB/s (0.90x raw TCP's \
                 2\u{2009}000 MB/s)."
            ),
            "{why}"
        );
        assert_eq!(bulk(&r, 16 * mib), None);
    }
}
