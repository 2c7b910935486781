//! Emulated links over the in-memory transport on the real clock: latency
//! and bandwidth within 5% of the profile. No run may be early; the best of
//! several runs must be within 5% (a busy machine only adds delay, by
//! preempting the test's thread, while an error of the emulation itself
//! would show in every run).

use std::time::Duration;

mod common;

use bytes::Bytes;
use common::pair;
use mpc_netem::LinkProfile;
use mpc_transport::Transport;
use tokio::time::Instant;

fn within_5_percent(runs: &[Duration], expected: Duration) {
    for r in runs {
        assert!(*r >= expected, "early: {r:?} < {expected:?}");
    }
    let best = runs.iter().min().unwrap();
    assert!(
        best.as_secs_f64() <= expected.as_secs_f64() * 1.05,
        "the best run, {best:?}, is more than 5% over {expected:?} (runs: {runs:?})"
    );
}

/// Ping-pong exchanges: each message is sent when the one before arrived,
/// so any lateness of the emulation would add up along the chain.
#[tokio::test]
async fn latency_of_a_chain_of_messages_is_within_5_percent() {
    for latency_ms in [1u64, 20] {
        let profile = LinkProfile::latency(Duration::from_millis(latency_ms));
        // 20 one-way trips of 20 ms, 200 of 1 ms: 0.4 s and 0.2 s
        let exchanges = if latency_ms == 1 { 100 } else { 10 };
        let mut runs = Vec::new();
        for _ in 0..5 {
            let ((a, mut a_rx), (b, mut b_rx)) = pair(profile);
            let started = Instant::now();
            for _ in 0..exchanges {
                a.send("bob", Bytes::from_static(&[0; 16])).await.unwrap();
                b_rx.recv().await.unwrap();
                b.send("alice", Bytes::from_static(&[0; 16])).await.unwrap();
                a_rx.recv().await.unwrap();
            }
            // the emulated time of the last arrival: the chain, with the
            // parties' own work but not the timer's lateness
            let last = a.clock().last_arrival().unwrap();
            runs.push(last - started);
        }
        let expected = profile.latency * (2 * exchanges);
        within_5_percent(&runs, expected);
    }
}

/// Back-to-back large messages: the link is busy for their transmission
/// times, one after the other.
#[tokio::test]
async fn bandwidth_is_within_5_percent() {
    // 4 × 1 MB at 80 Mbit/s: 400 ms, plus 1 ms latency
    let profile: LinkProfile = "1ms,80Mbit".parse().unwrap();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let ((a, _a_rx), (_b, mut b_rx)) = pair(profile);
        let started = Instant::now();
        let sends: Vec<_> = (0..4)
            .map(|_| {
                let a = a.clone();
                tokio::spawn(async move { a.send("bob", Bytes::from(vec![9u8; 1_000_000])).await })
            })
            .collect();
        for s in sends {
            s.await.unwrap().unwrap();
        }
        for _ in 0..4 {
            assert_eq!(b_rx.recv().await.unwrap().1.len(), 1_000_000);
        }
        runs.push(started.elapsed());
    }
    within_5_percent(
        &runs,
        profile.transmission_time(4_000_000) + profile.latency,
    );
}
