//! Rounds, counted causally: every message carries a stamp, 1 + the
//! highest stamp its sender had received before sending it; the pool's
//! round is the highest stamp sent or received. In memory and over HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

use common::http_pools;
use mpc_pool::transport::{Delivery, Inbox, Rejection, Transport};
use mpc_pool::{Bytes, MemoryNetwork, Pool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn memory(net: &MemoryNetwork, names: &[&str]) -> Vec<Pool> {
    let mut out = Vec::new();
    for me in names {
        let mut b = Pool::builder(*me);
        for p in names.iter().filter(|p| *p != me) {
            b = b.peer(*p);
        }
        out.push(b.start_in_memory(net).await.unwrap());
    }
    out
}

async fn http(names: &[&str]) -> Vec<Pool> {
    http_pools(names, |_, b| b).await
}

/// `n` exchanges: alice sends, bob answers, alice reads the answer.
async fn ping_pong(a: &Pool, b: &Pool, n: u64) {
    let bob = {
        let b = b.clone();
        tokio::spawn(async move {
            for _ in 0..n {
                let v: u64 = b.recv("alice").await.unwrap();
                b.send("alice", &(v + 1)).await.unwrap();
            }
        })
    };
    let start = a.round();
    for i in 0..n {
        a.send("bob", &i).await.unwrap();
        assert_eq!(a.recv::<u64>("bob").await.unwrap(), i + 1);
    }
    bob.await.unwrap();
    assert_eq!(a.round() - start, 2 * n);
    assert_eq!(b.round(), 2 * n);
}

/// Every party sends to every other without waiting, then reads: 1 round;
/// then once more, depending on what was read: 2 rounds.
async fn fan_out(pools: &[Pool]) {
    for p in pools {
        p.broadcast(&1u64).await.unwrap();
    }
    for p in pools {
        let got: Vec<(String, u64)> = p.recv_all().await.unwrap();
        assert_eq!(got.len(), pools.len() - 1);
        assert_eq!(p.round(), 1, "{}", p.name());
    }
    for p in pools {
        p.broadcast(&2u64).await.unwrap();
    }
    for p in pools {
        let _: Vec<(String, u64)> = p.recv_all().await.unwrap();
        assert_eq!(p.round(), 2, "{}", p.name());
    }
}

/// Many sends that do not wait on each other (spawned concurrently, and
/// while messages arrive that nobody has read yet): 1 round.
async fn concurrent(a: &Pool, b: &Pool) {
    let handles: Vec<_> = (0..16u64)
        .map(|i| a.asend_with_id("bob", &format!("c{i}"), &i))
        .collect();
    let back: Vec<_> = (0..16u64)
        .map(|i| b.asend_with_id("alice", &format!("d{i}"), &i))
        .collect();
    for h in handles.into_iter().chain(back) {
        h.await.unwrap();
    }
    assert_eq!(a.round(), 1);
    assert_eq!(b.round(), 1);
    for i in 0..16u64 {
        let _: u64 = b.recv_with_id("alice", &format!("c{i}")).await.unwrap();
    }
    assert_eq!(b.round(), 1);
}

#[tokio::test]
async fn ping_pong_of_n_exchanges_is_2n_rounds_in_memory() {
    let net = MemoryNetwork::new();
    let p = memory(&net, &["alice", "bob"]).await;
    ping_pong(&p[0], &p[1], 5).await;
    let stats = p[0].stats();
    assert_eq!((stats[0].round_sent, stats[0].round_received), (9, 10));
}

#[tokio::test]
async fn fan_out_is_one_round_in_memory() {
    let net = MemoryNetwork::new();
    fan_out(&memory(&net, &["alice", "bob", "carol"]).await).await;
}

#[tokio::test]
async fn concurrent_sends_are_one_round_in_memory() {
    let net = MemoryNetwork::new();
    let p = memory(&net, &["alice", "bob"]).await;
    concurrent(&p[0], &p[1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_pong_of_n_exchanges_is_2n_rounds_over_http() {
    let p = http(&["alice", "bob"]).await;
    ping_pong(&p[0], &p[1], 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_is_one_round_over_http() {
    fan_out(&http(&["alice", "bob", "carol"]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_are_one_round_over_http() {
    let p = http(&["alice", "bob"]).await;
    concurrent(&p[0], &p[1]).await;
}

/// A peer that does not stamp (as a Python party): records what arrives.
#[derive(Default)]
struct Recorder(Mutex<Vec<Option<u64>>>);

impl Inbox for Recorder {
    fn deliver(&self, _from: &str, _packet: Bytes) -> Result<Delivery, Rejection> {
        self.0.lock().unwrap().push(None);
        Ok(Delivery::Accepted)
    }
    fn deliver_stamped(
        &self,
        _from: &str,
        _packet: Bytes,
        stamp: Option<u64>,
    ) -> Result<Delivery, Rejection> {
        self.0.lock().unwrap().push(stamp);
        Ok(Delivery::Accepted)
    }
}

#[tokio::test]
async fn unstamped_peer_counts_one_round_after_our_last_message_in_memory() {
    let net = MemoryNetwork::new();
    let recorder = Arc::new(Recorder::default());
    let py = net.bind("py", ["alice"], recorder.clone()).unwrap();
    let a = Pool::builder("alice")
        .peer("py")
        .start_in_memory(&net)
        .await
        .unwrap();
    // a message from the unstamped peer before we sent anything: round 1
    py.send("alice", mpc_pool::serial::encode_packet("0", &0u8).unwrap())
        .await
        .unwrap();
    let _: u8 = a.recv("py").await.unwrap();
    assert_eq!(a.round(), 1);
    for i in 1..=3u8 {
        a.send("py", &i).await.unwrap();
        py.send(
            "alice",
            mpc_pool::serial::encode_packet(&i.to_string(), &i).unwrap(),
        )
        .await
        .unwrap();
        let _: u8 = a.recv("py").await.unwrap();
    }
    // stamps 2, 4, 6 went out natively; the answers count 3, 5, 7
    assert_eq!(*recorder.0.lock().unwrap(), vec![Some(2), Some(4), Some(6)]);
    assert_eq!(a.round(), 7);
    assert_eq!(a.stats()[0].round_received, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unstamped_request_counts_one_round_after_our_last_message_over_http() {
    let p = http(&["alice", "bob"]).await;
    let (alice, bob) = (&p[0], &p[1]);
    alice.send("bob", &1u8).await.unwrap();
    let _: u8 = bob.recv("alice").await.unwrap();
    bob.send_with_id("alice", "answer", &2u8).await.unwrap();
    let _: u8 = alice.recv_with_id("bob", "answer").await.unwrap();
    alice.send("bob", &3u8).await.unwrap();
    assert_eq!(alice.round(), 3);
    // "bob" answers as a Python party would: no round header
    let body = mpc_pool::serial::encode_packet("0", &4u8).unwrap();
    let bob_port = bob.local_addr().unwrap().port();
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: server_port={bob_port}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let mut s = tokio::net::TcpStream::connect(alice.local_addr().unwrap())
        .await
        .unwrap();
    s.write_all(&req).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
    let _: u8 = alice.recv_with_id("bob", "0").await.unwrap();
    assert_eq!(alice.round(), 4);
    assert_eq!(alice.stats()[0].round_received, 4);
}
