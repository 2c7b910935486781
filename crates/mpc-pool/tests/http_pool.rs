//! Pools over real sockets on 127.0.0.1 with OS-assigned ports: plain HTTP
//! and mutual TLS, two and three parties.

use std::time::Duration;

mod common;

use common::http_pools;
use mpc_http::certs::{self, Bundle};
use mpc_pool::{BigInt, Pool, TlsConfig, Value};
use mpc_test_support::{listeners, raw};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pki(names: &[&str]) -> Bundle {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    certs::generate(&names, 2, certs::OffsetDateTime::now_utc()).unwrap()
}

/// Starts one pool per name, all knowing each other; `tls(name)` gives a
/// party's TLS settings.
async fn start(names: &[&str], tls: impl Fn(&str) -> Option<TlsConfig>) -> Vec<Pool> {
    http_pools(names, |i, b| match tls(names[i]) {
        Some(t) => b.tls(t),
        None => b,
    })
    .await
}

async fn two_party_exchange(pools: &[Pool]) {
    let (a, b) = (&pools[0], &pools[1]);
    a.send("bob", &"hello").await.unwrap();
    let big: BigInt = "-1180591620717411303424".parse().unwrap();
    a.send_with_id("bob", "big", &big).await.unwrap();
    let blob = bytes::Bytes::from(vec![7u8; 3 << 20]);
    a.send("bob", &blob).await.unwrap();
    assert_eq!(b.recv::<String>("alice").await.unwrap(), "hello");
    assert_eq!(b.recv_with_id::<BigInt>("alice", "big").await.unwrap(), big);
    assert_eq!(b.recv::<bytes::Bytes>("alice").await.unwrap(), blob);
    // and back
    b.send("alice", &vec![1, 2, 3]).await.unwrap();
    assert_eq!(a.recv::<Vec<i32>>("bob").await.unwrap(), vec![1, 2, 3]);
    let s = a.stats();
    assert_eq!((s[0].messages_sent, s[0].messages_received), (3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_parties_over_http() {
    let pools = start(&["alice", "bob"], |_| None).await;
    two_party_exchange(&pools).await;
    for p in &pools {
        assert!(p.shutdown().await.unread.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_parties_over_mutual_tls_pinned() {
    let pki = pki(&["alice", "bob"]);
    let pools = start(&["alice", "bob"], |n| {
        Some(pki.tls_config(n, true).unwrap())
    })
    .await;
    two_party_exchange(&pools).await;
    for p in &pools {
        p.shutdown().await;
    }
}

/// Additive secret sharing modulo 2^61 - 1 among all parties.
async fn secure_sum(pools: Vec<Pool>, inputs: Vec<u64>) -> Vec<u64> {
    const P: u128 = (1 << 61) - 1;
    let mut tasks = Vec::new();
    for (pool, x) in pools.into_iter().zip(inputs) {
        tasks.push(tokio::spawn(async move {
            let peers = pool.peers();
            let mut mine = x as u128;
            for (k, p) in peers.iter().enumerate() {
                let share = (k as u128 * 7919 + 17) % P; // deterministic "randomness" for the test
                mine = (mine + P - share) % P;
                pool.send_with_id(p, "share", &(share as u64))
                    .await
                    .unwrap();
            }
            for (_, s) in pool.recv_all::<u64>().id("share").await.unwrap() {
                mine = (mine + s as u128) % P;
            }
            pool.broadcast(&(mine as u64)).id("partial").await.unwrap();
            let mut total = mine;
            for (_, s) in pool.recv_all::<u64>().id("partial").await.unwrap() {
                total = (total + s as u128) % P;
            }
            pool.shutdown().await;
            total as u64
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_parties_secure_sum_over_http() {
    let pools = start(&["alice", "bob", "carol"], |_| None).await;
    assert_eq!(secure_sum(pools, vec![5, 10, 1000]).await, vec![1015; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_parties_secure_sum_over_mutual_tls_by_name() {
    let pki = pki(&["alice", "bob", "carol"]);
    let pools = start(&["alice", "bob", "carol"], |n| {
        Some(pki.tls_config(n, false).unwrap())
    })
    .await;
    assert_eq!(secure_sum(pools, vec![1, 2, 3]).await, vec![6; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_ca_fails_clearly_and_delivers_nothing() {
    let good = pki(&["alice", "bob"]);
    let other = pki(&["alice", "bob"]);
    let pools = start(&["alice", "bob"], |n| {
        // alice's certificate comes from another CA than bob trusts
        let src = if n == "alice" { &other } else { &good };
        Some(src.tls_config(n, false).unwrap())
    })
    .await;
    let err = pools[0]
        .send("bob", &1)
        .await
        .expect_err("a party with an untrusted certificate must not get through");
    assert!(err.is_transport(), "{err}");
    assert_eq!(err.peer(), Some("bob"));
    let report = pools[1].shutdown().await;
    assert_eq!(report.stats[0].messages_received, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pinned_certificate_fails() {
    let pki_ = pki(&["alice", "bob", "carol"]);
    let pools = start(&["alice", "bob"], |n| {
        let mut t = pki_.tls_config(n, false).unwrap();
        if n == "bob" {
            // bob expects alice to present carol's certificate
            let carol = &pki_.party("carol").unwrap().cert_pem;
            t = t.peer_certificate_pem("alice", carol.as_bytes()).unwrap();
        }
        Some(t)
    })
    .await;
    let err = pools[0].send("bob", &1).await.expect_err("pin mismatch");
    assert!(err.is_transport(), "{err}");
    assert_eq!(pools[1].shutdown().await.stats[0].messages_received, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_packet_is_400_and_the_pool_keeps_serving() {
    let pools = start(&["alice", "bob"], |_| None).await;
    let bob = pools[1].local_addr().unwrap();
    let alice_port = pools[0].local_addr().unwrap().port();
    for body in [
        &b"\xc1garbage"[..],
        b"\x82\xa6object\xc4\x07",
        b"\x82\xa6object\xc4\x01\xc0\xa2id\x05",
    ] {
        let req = raw::post(Some(&format!("server_port={alice_port}")), "", body);
        let (status, text) = raw::request(bob, &req).await;
        assert_eq!(status, 400, "{text}");
        assert!(
            text.starts_with("Failed processing received message"),
            "{text}"
        );
    }
    pools[0].send("bob", &"still fine").await.unwrap();
    assert_eq!(
        pools[1].recv::<Value>("alice").await.unwrap(),
        Value::from("still fine")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertised_port_is_what_identifies_the_sender() {
    // alice listens on one port but tells peers another (as behind a port
    // mapping); bob knows alice by the advertised port only
    let ls = listeners(3);
    let mut it = ls.into_iter();
    let (la, _) = it.next().unwrap();
    let (lb, b_addr) = it.next().unwrap();
    let (mapped, mapped_addr) = it.next().unwrap(); // a port alice is "reached at"
    let mapped_port = mapped.local_addr().unwrap().port();
    let alice = Pool::builder("alice")
        .listener(la)
        .advertised_port(mapped_port)
        .peer_at("bob", b_addr)
        .start()
        .await
        .unwrap();
    let bob = Pool::builder("bob")
        .listener(lb)
        .peer_at("alice", mapped_addr)
        .start()
        .await
        .unwrap();
    alice.send("bob", &1).await.unwrap();
    assert_eq!(bob.recv::<i32>("alice").await.unwrap(), 1);
    drop(mapped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_party_is_announced_over_http() {
    let pools = start(&["alice", "bob"], |_| None).await;
    let (a, b) = (&pools[0], &pools[1]);
    a.send("bob", &1).await.unwrap(); // bob learns alice runs this crate
    assert_eq!(b.recv::<i32>("alice").await.unwrap(), 1);
    let waiting = a.recv::<i32>("bob").no_timeout().register();
    b.abort("bob failed").await;
    let err = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the receive fails promptly")
        .unwrap_err();
    assert!(err.is_peer_departed(), "{err}");
    assert_eq!(err.departure_reason(), Some("bob failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn departure_is_never_sent_to_a_peer_not_known_to_run_this_crate() {
    // a stand-in for a Python peer: records every request it gets and
    // answers like the Python package, without the x-mpc-pool header
    let py = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let py_addr = py.local_addr().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = py.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                log.lock().unwrap().push(head);
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\nConnection: close\r\n\r\nMessage received")
                    .await;
            });
        }
    });
    let alice = Pool::builder("alice")
        .listen("127.0.0.1:0")
        .peer_at("py", py_addr)
        .start()
        .await
        .unwrap();
    alice.send("py", &1).await.unwrap();
    alice.abort("failed").await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec!["POST / HTTP/1.1".to_string()],
        "only the message, no announcement"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_body_limit_is_a_clear_rejection_not_a_retry() {
    let ls = listeners(2);
    let addrs: Vec<String> = ls.iter().map(|(_, a)| a.clone()).collect();
    let mut it = ls.into_iter();
    let alice = Pool::builder("alice")
        .listener(it.next().unwrap().0)
        .peer_at("bob", addrs[1].clone())
        // a refusal lost to a connection reset would be retried and, with
        // this short window, end as "unreachable" instead of "too large"
        .retry_window(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let bob = Pool::builder("bob")
        .listener(it.next().unwrap().0)
        .peer_at("alice", addrs[0].clone())
        .server_limits(mpc_pool::ServerLimits::default().with_max_body_size(64 << 10))
        .start()
        .await
        .unwrap();
    // 8 MiB against a 64 KiB limit, several times: each must come back as
    // the receiver's refusal
    for i in 0..5 {
        let blob = mpc_pool::Blob::from(vec![i as u8; 8 << 20]);
        let err = tokio::time::timeout(Duration::from_secs(20), alice.send("bob", &blob))
            .await
            .expect("refused promptly, not retried for the whole window")
            .unwrap_err();
        assert!(err.is_rejected(), "{err}");
        assert!(
            err.to_string().contains("exceeds the limit of 65536 bytes"),
            "{err}"
        );
        let rejection = match err.transport_error() {
            Some(mpc_pool::transport::TransportError::Rejected { rejection, .. }) => rejection,
            other => panic!("{other:?}"),
        };
        assert!(
            matches!(
                rejection,
                mpc_pool::transport::Rejection::TooLarge { limit: 65536, .. }
            ),
            "{rejection:?}"
        );
    }
    // small messages still go through, and nothing large was delivered
    alice.send("bob", &1).await.unwrap();
    assert_eq!(bob.recv_with_id::<i32>("alice", "5").await.unwrap(), 1);
    assert_eq!(bob.stats()[0].messages_received, 1);
}
