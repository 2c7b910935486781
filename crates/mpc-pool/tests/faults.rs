//! Reliability under network faults, over real sockets on 127.0.0.1:
//! nothing lost, nothing duplicated, failures reach the sender named.

mod common;

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::proxy::Proxy;
use mpc_pool::Pool;

/// alice and bob, each reaching the other only through a faulty proxy.
async fn pair_through_proxies(broken_percent: u64, window: Duration) -> (Pool, Pool, Proxy, Proxy) {
    let (la, lb) = (
        TcpListener::bind("127.0.0.1:0").unwrap(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
    );
    let (aa, ba) = (
        la.local_addr().unwrap().to_string(),
        lb.local_addr().unwrap().to_string(),
    );
    let to_bob = Proxy::start(ba, broken_percent, 0xB0B).await;
    let to_alice = Proxy::start(aa, broken_percent, 0xA11CE).await;
    // each party advertises the port of the proxy in front of it
    let alice = Pool::builder("alice")
        .listener(la)
        .advertised_port(to_alice.port())
        .peer_at("bob", to_bob.addr.clone())
        .retry_window(window)
        .timeout(Some(Duration::from_secs(120)))
        .start()
        .await
        .unwrap();
    let bob = Pool::builder("bob")
        .listener(lb)
        .advertised_port(to_bob.port())
        .peer_at("alice", to_alice.addr.clone())
        .retry_window(window)
        .timeout(Some(Duration::from_secs(120)))
        .start()
        .await
        .unwrap();
    (alice, bob, to_bob, to_alice)
}

/// Sends `n` numbered messages to `peer`, 16 at a time.
async fn send_many(pool: Pool, peer: &'static str, n: u64) {
    let mut inflight = Vec::new();
    for i in 0..n {
        inflight.push(pool.asend(peer, &(i, format!("message {i}"))));
        if inflight.len() == 16 {
            for h in inflight.drain(..) {
                h.await.unwrap();
            }
        }
    }
    for h in inflight {
        h.await.unwrap();
    }
}

/// Receives `n` messages with automatic ids and checks each is the one
/// with that number (so each arrived once, in its slot).
async fn recv_many(pool: Pool, peer: &'static str, n: u64) {
    for i in 0..n {
        let (k, text): (u64, String) = pool.recv(peer).await.unwrap();
        assert_eq!((k, text.as_str()), (i, format!("message {i}").as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_of_connections_broken_and_everything_arrives_exactly_once() {
    let (alice, bob, to_bob, to_alice) = pair_through_proxies(33, Duration::from_secs(60)).await;
    const N: u64 = 1000;
    let tasks = vec![
        tokio::spawn(send_many(alice.clone(), "bob", N)),
        tokio::spawn(send_many(bob.clone(), "alice", N)),
        tokio::spawn(recv_many(alice.clone(), "bob", N)),
        tokio::spawn(recv_many(bob.clone(), "alice", N)),
    ];
    for t in tasks {
        t.await.unwrap();
    }
    for (pool, proxy) in [(&alice, &to_bob), (&bob, &to_alice)] {
        let report = pool.shutdown().await;
        assert!(
            report.unread.is_empty(),
            "a duplicate was filed: {:?}",
            report.unread
        );
        let s = &report.stats[0];
        assert_eq!((s.messages_sent, s.messages_received), (N, N));
        eprintln!("faults dealt by the proxy: {:?}", proxy.tally);
        // the faults really happened, on about a third of connections
        let t = &proxy.tally;
        assert!(t.broken() >= 300, "too few broken connections: {t:?}");
        assert!(
            t.broken() * 100 >= t.total() * 25,
            "fewer than a quarter of connections broken: {t:?}"
        );
        assert!(t.drop_response.load(Ordering::Relaxed) > 0 && t.cut.load(Ordering::Relaxed) > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_unreachable_for_a_while_receives_everything() {
    let (alice, bob, to_bob, _to_alice) = pair_through_proxies(0, Duration::from_secs(30)).await;
    to_bob.set_down(true);
    let sends = tokio::spawn({
        let alice = alice.clone();
        async move { send_many(alice, "bob", 20).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        to_bob.tally.refuse.load(Ordering::Relaxed) > 0,
        "connections were refused meanwhile"
    );
    to_bob.set_down(false);
    sends.await.unwrap();
    recv_many(bob, "alice", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_stays_unreachable_is_a_clear_error_naming_it() {
    let (alice, _bob, to_bob, _to_alice) = pair_through_proxies(0, Duration::from_secs(1)).await;
    to_bob.set_down(true);
    let err = alice.send("bob", &1).await.unwrap_err();
    assert!(err.is_transport(), "{err}");
    assert_eq!(err.peer(), Some("bob"));
    assert_eq!(err.message_id(), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parties_started_in_any_order_complete_a_protocol() {
    let names = ["alice", "bob", "carol"];
    // the parties listen on 127.0.0.7, which no other test binds, so the
    // ports stay free (connections refused) until each party starts
    let ports: Vec<u16> = names
        .iter()
        .map(|_| {
            TcpListener::bind("127.0.0.7:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    // started in the order carol, alice, bob with a second between them:
    // early parties' sends are retried until the others are up
    let order = [2usize, 0, 1];
    let mut tasks = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let ports = ports.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1000 * k as u64)).await;
            let mut b = Pool::builder(names[i])
                .listen(format!("127.0.0.7:{}", ports[i]))
                .retry_window(Duration::from_secs(30))
                .timeout(Some(Duration::from_secs(30)));
            for (j, p) in names.iter().enumerate() {
                if j != i {
                    b = b.peer_at(*p, format!("127.0.0.7:{}", ports[j]));
                }
            }
            let pool = b.start().await.unwrap();
            // everyone sends its index to everyone, then sums what it got
            pool.broadcast(&(i as u64), Some("x")).await.unwrap();
            let got = pool.recv_all::<u64>(None, Some("x")).await.unwrap();
            let sum: u64 = got.iter().map(|(_, v)| v).sum::<u64>() + i as u64;
            pool.shutdown().await;
            sum
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 3);
    }
}
