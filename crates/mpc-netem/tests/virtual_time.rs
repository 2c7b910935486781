//! Emulated links over the in-memory transport, on tokio's paused clock:
//! the elapsed (virtual) time is the emulated one, exactly.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mpc_netem::{Emulated, LinkProfile};
use mpc_transport::{Delivery, Inbox, MemoryNetwork, Rejection, Transport};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// An inbox that hands every packet to a channel.
struct Forward(mpsc::UnboundedSender<(String, Bytes)>);

impl Inbox for Forward {
    fn deliver(&self, from: &str, packet: Bytes) -> Result<Delivery, Rejection> {
        let _ = self.0.send((from.to_owned(), packet));
        Ok(Delivery::Accepted)
    }
}

type Party = (
    Arc<Emulated<mpc_transport::MemoryTransport>>,
    mpsc::UnboundedReceiver<(String, Bytes)>,
);

fn party(net: &MemoryNetwork, me: &str, peer: &str, profile: LinkProfile) -> Party {
    let (tx, rx) = mpsc::unbounded_channel();
    let t = net
        .bind(me, [peer.to_owned()], Arc::new(Forward(tx)))
        .expect("bind");
    (Arc::new(Emulated::new(t, profile)), rx)
}

/// The virtual time `n` ping-pong exchanges of 16 B take between two
/// parties whose links both follow `profile`.
async fn ping_pong(profile: LinkProfile, n: u32) -> Duration {
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
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_ping_pong_of_n_exchanges_takes_2n_one_way_trips() {
    const N: u32 = 50;
    // one way: 25 ms + 16 bytes at 100 Mbit/s (1.28 us), delivered at
    // the next whole millisecond (tokio's timer resolution): 26 ms
    let wan = ping_pong(LinkProfile::wan(), N).await;
    assert_eq!(wan, Duration::from_millis(26) * (2 * N));
    // with whole milliseconds, exactly the latency
    let ms20 = ping_pong(LinkProfile::latency(Duration::from_millis(20)), N).await;
    assert_eq!(ms20, Duration::from_millis(20) * (2 * N));
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
