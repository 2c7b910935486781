//! The ledger: phases, byte counts against the real packets, differences,
//! JSON, the table, the shutdown report, and wire bytes over HTTP.

use std::net::TcpListener;
use std::time::Duration;

mod common;

use common::http_pools;
use mpc_pool::{Ledger, MemoryNetwork, Pool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn trio(net: &MemoryNetwork) -> Vec<Pool> {
    let names = ["alice", "bob", "carol"];
    let mut out = Vec::new();
    for me in names {
        let mut b = Pool::builder(me);
        for p in names.iter().filter(|p| **p != me) {
            b = b.peer(*p);
        }
        out.push(b.start_in_memory(net).await.unwrap());
    }
    out
}

fn packet_len(id: &str, v: u64) -> u64 {
    mpc_pool::serial::encode_packet(id, &v).unwrap().len() as u64
}

/// Secure sum in two phases: shares to everyone (1 round), then the
/// partial sums to everyone (1 round).
async fn secure_sum(p: Pool, input: u64) -> (u64, Ledger) {
    let n = p.peers().len() as u64 + 1;
    let partial = {
        let _phase = p.phase("shares");
        p.broadcast(&(input / n)).await.unwrap();
        let got: Vec<(String, u64)> = p.recv_all().await.unwrap();
        input - input / n * (n - 1) + got.iter().map(|(_, v)| v).sum::<u64>()
    };
    let total = {
        let _phase = p.phase("sums");
        p.broadcast(&partial).await.unwrap();
        let got: Vec<(String, u64)> = p.recv_all().await.unwrap();
        partial + got.iter().map(|(_, v)| v).sum::<u64>()
    };
    (total, p.ledger())
}

#[tokio::test]
async fn phases_attribute_messages_bytes_and_rounds() {
    let net = MemoryNetwork::new();
    let pools = trio(&net).await;
    let before = pools[0].ledger();
    assert_eq!(before.rounds, 0);
    let tasks: Vec<_> = pools
        .iter()
        .cloned()
        .zip([10u64, 20, 30])
        .map(|(p, x)| tokio::spawn(secure_sum(p, x)))
        .collect();
    for t in tasks {
        let (total, ledger) = t.await.unwrap();
        assert_eq!(total, 60);
        assert_eq!(ledger.rounds, 2);
        let shares = ledger.phase("shares").unwrap();
        let sums = ledger.phase("sums").unwrap();
        assert_eq!((shares.rounds, sums.rounds), (1, 1));
        assert_eq!(shares.traffic.messages_sent, 2);
        assert_eq!(shares.traffic.messages_received, 2);
        assert_eq!(sums.traffic.messages_sent, 2);
        assert_eq!(ledger.total.messages_sent, 4);
        // packet bytes are the real packets' sizes
        assert_eq!(
            shares.traffic.bytes_sent + sums.traffic.bytes_sent,
            ledger.total.bytes_sent
        );
        // in memory, the wire bytes are the packets
        assert_eq!(ledger.total.wire_bytes_sent, ledger.total.bytes_sent);
        assert!(shares.wall_seconds >= 0.0 && shares.activations == 1);
    }
    // alice sent 10/3 = 3 to bob and carol with ids "0", then her partial sum
    let alice = pools[0].ledger();
    let bob = alice.peer("bob").unwrap();
    assert_eq!(
        bob.bytes_sent,
        packet_len("0", 3) + packet_len("1", 3 + 6 + 10)
    );
    assert_eq!(bob.round_sent, 2);
    // differences between snapshots
    let d = alice.since(&before);
    assert_eq!(d.rounds, 2);
    assert_eq!(d.total.messages_sent, 4);
    assert_eq!((&alice - &alice).total.messages_sent, 0);
    // JSON both ways
    let json = serde_json::to_string(&alice).unwrap();
    assert!(json.contains("\"phases\""), "{json}");
    let back: Ledger = serde_json::from_str(&json).unwrap();
    assert_eq!(back, alice);
    // the table names the phases and the peers
    let table = alice.to_string();
    for word in ["shares", "sums", "bob", "carol", "total", "rounds"] {
        assert!(table.contains(word), "{table}");
    }
    let report = pools[0].shutdown().await;
    assert_eq!(report.ledger.total.messages_sent, 4);
    assert_eq!(report.ledger.rounds, 2);
}

#[tokio::test]
async fn phases_nest_and_count_in_their_parents() {
    let net = MemoryNetwork::new();
    let pools = trio(&net).await;
    let (a, b) = (&pools[0], &pools[1]);
    let online = a.phase("online");
    a.send("bob", &1u8).await.unwrap();
    {
        let mult = a.phase("mult");
        assert_eq!(mult.path(), "online/mult");
        a.send("bob", &2u8).await.unwrap();
        let _: u8 = b.recv("alice").await.unwrap();
        b.send("alice", &3u8).await.unwrap();
        let _: u8 = a.recv("bob").await.unwrap();
    }
    online.end();
    a.send("bob", &4u8).await.unwrap(); // outside any phase
    let l = a.ledger();
    let on = l.phase("online").unwrap();
    let mult = l.phase("online/mult").unwrap();
    assert_eq!(on.traffic.messages_sent, 2);
    assert_eq!(mult.traffic.messages_sent, 1);
    assert_eq!(mult.traffic.messages_received, 1);
    assert_eq!(on.traffic.messages_received, 1);
    assert_eq!(l.total.messages_sent, 3);

    // online: round 0 -> 2; mult began at round 1 (the first send)
    assert_eq!((on.rounds, mult.rounds), (2, 1));
}

#[tokio::test]
async fn channels_report_rounds_and_wire_bytes() {
    let net = MemoryNetwork::new();
    let pools = trio(&net).await;
    let (a, b) = (&pools[0], &pools[1]);
    let ca = a.channel("pp").unwrap();
    let cb = b.channel("pp").unwrap();
    for i in 0..3u8 {
        ca.send("bob", &i).await.unwrap();
        let v: u8 = cb.recv("alice").await.unwrap();
        cb.send("alice", &v).await.unwrap();
        let _: u8 = ca.recv("bob").await.unwrap();
    }
    let l = a.ledger();
    let c = &l.channels[0];
    assert_eq!(c.channel, "pp");
    assert_eq!(c.rounds(), 6);
    assert_eq!(c.wire_bytes_sent, c.bytes_sent);
    assert_eq!(l.rounds, 6);
}

/// A peer that speaks HTTP/1.1 by hand, counting the bytes of each
/// request and answering with a known response.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 16\r\n\r\nMessage received";

async fn counting_peer(l: tokio::net::TcpListener) -> u64 {
    let (mut s, _) = l.accept().await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    s.write_all(RESPONSE).await.unwrap();
    buf.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_bytes_over_http_are_the_request_and_response_moved() {
    let peer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let counted = tokio::spawn(counting_peer(peer));
    let me = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = Pool::builder("alice")
        .listener(me)
        .peer_at("py", peer_addr.to_string())
        .retry_window(Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    a.send("py", &"hello, wire").await.unwrap();
    let request = counted.await.unwrap();
    let l = a.ledger();
    let py = l.peer("py").unwrap();
    assert_eq!(py.bytes_sent, {
        mpc_pool::serial::encode_packet("0", &"hello, wire")
            .unwrap()
            .len() as u64
    });
    assert_eq!(py.wire_bytes_sent, request, "request head and body");
    assert_eq!(py.wire_bytes_received, RESPONSE.len() as u64);
    assert_eq!(py.retries, 0);
}

#[tokio::test]
async fn all_party_totals_in_memory_name_who_could_not_report() {
    let net = MemoryNetwork::new();
    let pools = trio(&net).await;
    let tasks: Vec<_> = pools
        .iter()
        .cloned()
        .zip([1u64, 2, 3])
        .map(|(p, x)| tokio::spawn(secure_sum(p, x)))
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let all = pools[0].pool_ledger().await;
    assert!(all.missing.is_empty(), "{:?}", all.missing);
    assert_eq!(all.parties.len(), 3);
    assert_eq!(all.total.messages_sent, 12);
    assert_eq!(all.rounds, 2);
    let shares = all.phase("shares").unwrap();
    assert_eq!((shares.traffic.messages_sent, shares.rounds), (6, 1));
    assert_eq!(all.phase("sums").unwrap().traffic.messages_sent, 6);
    assert!(all.to_string().contains("all parties (alice, bob, carol)"));
    // a party gone cannot report
    pools[2].shutdown().await;
    let all = pools[0].pool_ledger().await;
    assert_eq!(all.missing, ["carol"]);
    assert_eq!(all.parties.len(), 2);
}

async fn http_trio_and_python(py: std::net::SocketAddr) -> Vec<Pool> {
    let names = ["alice", "bob", "carol"];
    http_pools(&names, |i, b| {
        if i == 0 {
            b.peer_at("py", py.to_string())
        } else {
            b
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_party_totals_over_http_skip_python_peers() {
    let py = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let py_addr = py.local_addr().unwrap();
    let pools = http_trio_and_python(py_addr).await;
    let (a, b, c) = (&pools[0], &pools[1], &pools[2]);
    {
        let _p = a.phase("step");
        let _q = b.phase("step");
        let _r = c.phase("step");
        for (me, others) in [
            (a, ["bob", "carol"]),
            (b, ["alice", "carol"]),
            (c, ["alice", "bob"]),
        ] {
            for o in others {
                me.send(o, &7u64).await.unwrap();
            }
        }
        for (me, others) in [
            (a, ["bob", "carol"]),
            (b, ["alice", "carol"]),
            (c, ["alice", "bob"]),
        ] {
            for o in others {
                let _: u64 = me.recv(o).await.unwrap();
            }
        }
    }
    let all = a.pool_ledger().await;
    // "py" never spoke this crate's additions: never asked, named missing
    assert_eq!(all.missing, ["py"]);
    assert_eq!(all.parties.len(), 3);
    assert_eq!(all.total.messages_sent, 6);
    assert!(all.total.wire_bytes_sent > all.total.bytes_sent);
    let step = all.phase("step").unwrap();
    assert_eq!((step.traffic.messages_sent, step.rounds), (6, 1));
    // the Python peer saw no request at all
    let accepted = tokio::time::timeout(Duration::from_millis(200), py.accept()).await;
    assert!(accepted.is_err(), "the Python peer was asked");
}

/// Both ends of a link count the same wire bytes: what the sender wrote
/// (request heads and bodies) the receiver read, and what the receiver
/// wrote back (responses) the sender read.
#[tokio::test]
async fn both_ends_of_an_http_link_count_the_same_wire_bytes() {
    let pools = http_pools(&["alice", "bob"], |_, b| b).await;
    let (a, b) = (&pools[0], &pools[1]);
    for n in [0usize, 1, 100, 70_000] {
        a.send("bob", &vec![7u8; n]).await.unwrap();
        let got: Vec<u8> = b.recv("alice").await.unwrap();
        assert_eq!(got.len(), n);
    }
    b.send("alice", &"and back").await.unwrap();
    let _: String = a.recv("bob").await.unwrap();
    let (la, lb) = (a.ledger(), b.ledger());
    let (ab, ba) = (la.peer("bob").unwrap(), lb.peer("alice").unwrap());
    assert!(ab.wire_bytes_sent > ab.bytes_sent, "heads are counted");
    assert_eq!(ab.wire_bytes_sent, ba.wire_bytes_received);
    assert_eq!(ab.wire_bytes_received, ba.wire_bytes_sent);
    assert_eq!((ab.retries, ba.retries), (0, 0));
    for p in pools {
        p.shutdown().await;
    }
}

/// In memory the packet is what moves, and both ends count it.
#[tokio::test]
async fn both_ends_of_a_memory_link_count_the_packets() {
    let net = MemoryNetwork::new();
    let pools = trio(&net).await;
    pools[0].send("bob", &vec![1u8; 1000]).await.unwrap();
    let _: Vec<u8> = pools[1].recv("alice").await.unwrap();
    let (ab, ba) = (
        pools[0].ledger().peer("bob").unwrap().clone(),
        pools[1].ledger().peer("alice").unwrap().clone(),
    );
    assert_eq!(ab.wire_bytes_sent, ab.bytes_sent);
    assert_eq!(ba.wire_bytes_received, ab.wire_bytes_sent);
    assert_eq!((ab.wire_bytes_received, ba.wire_bytes_sent), (0, 0));
}
