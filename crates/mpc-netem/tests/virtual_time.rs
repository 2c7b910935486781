//! Emulated links over the in-memory transport, on tokio's paused clock:
//! the elapsed (virtual) time is the emulated one, exactly.

use std::sync::Arc;
use std::time::Duration;

mod common;

use bytes::Bytes;
use common::party;
use mpc_netem::LinkProfile;
use mpc_transport::{MemoryNetwork, Transport};
use tokio::time::Instant;

/// `n` ping-pong exchanges of 16 B between two parties whose links both
/// follow `profile`: the exact emulated time of the last arrival (alice's
/// clock) and the elapsed virtual time, from the start.
async fn ping_pong(profile: LinkProfile, n: u32) -> (Duration, Duration) {
    let net = MemoryNetwork::new();
    let (a, mut a_rx) = party(&net, "alice", "bob", profile);
    let (b, mut b_rx) = party(&net, "bob", "alice", profile);
    let started = Instant::now();
    for _ in 0..n {
        a.send("bob", Bytes::from_static(&[0; 16])).await.unwrap();
        b_rx.recv().await.unwrap();
        b.send("alice", Bytes::from_static(&[0; 16])).await.unwrap();
        a_rx.recv().await.unwrap();
    }
    let last = a.clock().last_arrival().expect("alice was handed messages");
    (last - started, started.elapsed())
}

/// One way: the latency and 16 bytes at the bandwidth.
fn one_way(profile: LinkProfile) -> Duration {
    profile.latency + profile.transmission_time(16)
}

#[tokio::test(start_paused = true)]
async fn a_ping_pong_of_n_exchanges_takes_2n_one_way_trips_exactly() {
    const N: u32 = 50;
    for profile in [
        LinkProfile::wan(),
        LinkProfile::lan(),
        LinkProfile::latency(Duration::from_millis(20)),
        "300us".parse().unwrap(),
    ] {
        let (emulated, elapsed) = ping_pong(profile, N).await;
        // sub-millisecond latencies too: the timer's rounding does not add
        // up along the exchanges
        assert_eq!(emulated, one_way(profile) * (2 * N), "{profile:?}");
        // the last hand-over waits for the timer's next whole millisecond
        assert!(
            elapsed >= emulated && elapsed - emulated < Duration::from_millis(1),
            "{profile:?}: {elapsed:?} vs {emulated:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_large_message_delays_a_small_one_behind_it() {
    // 1 MB then 16 B, at once, on a 100 Mbit/s link without latency: the
    // small one arrives after the 80 ms the large one occupies the link
    let net = MemoryNetwork::new();
    let profile = LinkProfile::latency(Duration::ZERO).with_bandwidth(100_000_000);
    let (a, _a_rx) = party(&net, "alice", "bob", profile);
    let (_b, mut b_rx) = party(&net, "bob", "alice", profile);
    let started = Instant::now();
    let big = a.send("bob", Bytes::from(vec![1u8; 1_000_000]));
    let small = a.send("bob", Bytes::from_static(&[2u8; 16]));
    let (big, small) = tokio::join!(big, small);
    big.unwrap();
    small.unwrap();
    assert_eq!(b_rx.recv().await.unwrap().1.len(), 1_000_000);
    assert_eq!(b_rx.recv().await.unwrap().1.len(), 16);
    let small_arrival = Duration::from_millis(80) + profile.transmission_time(16);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= small_arrival && elapsed < small_arrival + Duration::from_millis(1),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn bandwidth_and_queueing_follow_the_model() {
    let net = MemoryNetwork::new();
    // 1 ms one-way, 8 Mbit/s: 1 MB takes 1 s on the link
    let profile: LinkProfile = "1ms,8Mbit".parse().unwrap();
    let (a, _a_rx) = party(&net, "alice", "bob", profile);
    let (_b, mut b_rx) = party(&net, "bob", "alice", profile);
    let started = Instant::now();
    let big = {
        let a = a.clone();
        tokio::spawn(async move { a.send("bob", Bytes::from(vec![1u8; 1_000_000])).await })
    };
    tokio::task::yield_now().await;
    let small = {
        let a = a.clone();
        tokio::spawn(async move { a.send("bob", Bytes::from_static(&[2u8; 1_000])).await })
    };
    big.await.unwrap().unwrap();
    let (_, first) = b_rx.recv().await.unwrap();
    assert_eq!(first.len(), 1_000_000);
    assert_eq!(started.elapsed(), Duration::from_millis(1001));
    small.await.unwrap().unwrap();
    let (_, second) = b_rx.recv().await.unwrap();
    assert_eq!(
        second.len(),
        1_000,
        "the small one queued behind the large one"
    );
    assert_eq!(started.elapsed(), Duration::from_millis(1002));
}

#[tokio::test(start_paused = true)]
async fn jitter_is_deterministic_for_a_seed_and_keeps_order() {
    async fn run(seed: u64) -> Vec<Duration> {
        let net = MemoryNetwork::new();
        let profile =
            LinkProfile::latency(Duration::from_millis(10)).with_jitter(Duration::from_millis(5));
        let (a, _a_rx) = party(&net, "alice", "bob", profile);
        let a = Arc::new(Arc::try_unwrap(a).unwrap().with_seed(seed));
        let (_b, mut b_rx) = party(&net, "bob", "alice", profile);
        let started = Instant::now();
        let mut sends = Vec::new();
        for k in 0..20u8 {
            let a = a.clone();
            sends.push(tokio::spawn(async move {
                a.send("bob", Bytes::from(vec![k])).await
            }));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut times = Vec::new();
        for k in 0..20u8 {
            let (_, p) = b_rx.recv().await.unwrap();
            assert_eq!(p[0], k, "in order");
            times.push(started.elapsed());
        }
        for s in sends {
            s.await.unwrap().unwrap();
        }
        times
    }
    let one = run(7).await;
    assert_eq!(one, run(7).await, "same seed, same times");
    assert_ne!(one, run(8).await, "another seed, other times");
    assert!(one.windows(2).all(|w| w[0] <= w[1]));
}
