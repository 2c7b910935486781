//! Reliability under network faults, over real sockets on 127.0.0.1:
//! nothing lost, nothing duplicated, failures reach the sender named.

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mpc_pool::{PeerStats, Pool};
use mpc_test_support::proxy::{Options, Proxy, Tally};
use mpc_test_support::{error_chain, listener};

/// alice and bob, each reaching the other only through a faulty proxy.
async fn pair_through_proxies(broken_percent: u64, window: Duration) -> (Pool, Pool, Proxy, Proxy) {
    pair_with(
        Options {
            broken_percent,
            ..Options::default()
        },
        window,
        None,
    )
    .await
}

/// alice and bob, each reaching the other only through a proxy treating
/// connections as `options` say (each proxy with its own seed), with a
/// retry window and optionally a stall timeout.
async fn pair_with(
    options: Options,
    window: Duration,
    stall: Option<Duration>,
) -> (Pool, Pool, Proxy, Proxy) {
    let ((la, aa), (lb, ba)) = (listener(), listener());
    let proxy = |upstream: String, seed| Proxy::start_with(upstream, Options { seed, ..options });
    let to_bob = proxy(ba, 0xB0B).await;
    let to_alice = proxy(aa, 0xA11CE).await;
    // each party advertises the port of the proxy in front of it, and
    // reaches its peer through the other proxy
    let party = |name: &str, l, in_front: &Proxy, peer: &str, via: &Proxy| {
        let b = Pool::builder(name)
            .listener(l)
            .advertised_port(in_front.port())
            .peer_at(peer, via.addr.clone())
            .retry_window(window)
            .timeout(Some(Duration::from_secs(120)));
        match stall {
            Some(stall) => b.stall_timeout(stall),
            None => b,
        }
    };
    let alice = party("alice", la, &to_alice, "bob", &to_bob);
    let bob = party("bob", lb, &to_bob, "alice", &to_alice);
    (
        alice.start().await.unwrap(),
        bob.start().await.unwrap(),
        to_bob,
        to_alice,
    )
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

/// alice and bob send each other `n` numbered messages, and each receives
/// all of the other's, at the same time.
async fn both_ways(alice: &Pool, bob: &Pool, n: u64) {
    let tasks = vec![
        tokio::spawn(send_many(alice.clone(), "bob", n)),
        tokio::spawn(send_many(bob.clone(), "alice", n)),
        tokio::spawn(recv_many(alice.clone(), "bob", n)),
        tokio::spawn(recv_many(bob.clone(), "alice", n)),
    ];
    for t in tasks {
        t.await.unwrap();
    }
}

/// Shuts `pool` down, asserts nothing was filed twice (nothing is left
/// unread), and returns the stats of its one peer.
async fn shut_down_without_duplicates(pool: &Pool) -> PeerStats {
    let report = pool.shutdown().await;
    assert!(
        report.unread.is_empty(),
        "a duplicate was filed: {:?}",
        report.unread
    );
    report.stats[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_of_connections_broken_and_everything_arrives_exactly_once() {
    let (alice, bob, to_bob, to_alice) = pair_through_proxies(33, Duration::from_secs(60)).await;
    const N: u64 = 1000;
    both_ways(&alice, &bob, N).await;
    for (pool, proxy) in [(&alice, &to_bob), (&bob, &to_alice)] {
        let s = shut_down_without_duplicates(pool).await;
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
            pool.broadcast(&(i as u64)).id("x").await.unwrap();
            let got = pool.recv_all::<u64>().id("x").await.unwrap();
            let sum: u64 = got.iter().map(|(_, v)| v).sum::<u64>() + i as u64;
            pool.shutdown().await;
            sum
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 3);
    }
}

/// Waits (at most a minute: a hang guard, not a speed bound) until every
/// stalled connection that carried a request was closed by the client: an
/// abandoned exchange's connection is dropped, not kept in the pool.
async fn stalled_connections_get_closed(tally: &Tally) {
    let guard = Instant::now() + Duration::from_secs(60);
    loop {
        let used = tally.stall_used.load(Ordering::Relaxed);
        let closed = tally.stall_closed.load(Ordering::Relaxed);
        if used == closed {
            return;
        }
        assert!(
            Instant::now() < guard,
            "the client kept {} stalled connection(s) open: {tally:?}",
            used - closed
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_eaten_on_every_fourth_connection_and_everything_arrives_exactly_once() {
    // a middlebox that forwards requests but swallows the responses of
    // every fourth connection, keeping it open: such an exchange stalls,
    // and is retried (same delivery token) once the stall timeout passes.
    // The old client waited out its per-attempt timeout (60 s) and then
    // failed the send although the peer had the message.
    let (alice, bob, to_bob, to_alice) = pair_with(
        Options {
            stall_every: 4,
            ..Options::default()
        },
        Duration::from_secs(60),
        Some(Duration::from_secs(1)),
    )
    .await;
    const N: u64 = 200;
    // a hang guard only: the old client needed a minute per stalled batch
    tokio::time::timeout(Duration::from_secs(240), both_ways(&alice, &bob, N))
        .await
        .expect("sends hung on stalled exchanges");
    for proxy in [&to_bob, &to_alice] {
        let t = &proxy.tally;
        eprintln!("connections dealt by the proxy: {t:?}");
        assert!(
            t.stall_used.load(Ordering::Relaxed) >= N / 8,
            "too few stalled exchanges: {t:?}"
        );
        stalled_connections_get_closed(t).await;
    }
    let ledgers = [alice.ledger(), bob.ledger()];
    for pool in [&alice, &bob] {
        let s = shut_down_without_duplicates(pool).await;
        assert_eq!((s.messages_sent, s.messages_received), (N, N));
    }
    // the ledger counts the retries, and the receiver the repeats it
    // acknowledged (every retry here follows a request that arrived)
    for (me, other) in [(0, 1), (1, 0)] {
        let (mine, theirs) = (&ledgers[me].peers[0], &ledgers[other].peers[0]);
        assert!(mine.retries >= 1, "{mine:?}");
        assert!(
            (1..=mine.retries).contains(&theirs.duplicates_received),
            "{mine:?} {theirs:?}"
        );
        assert!(mine.wire_bytes_sent > mine.bytes_sent, "{mine:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_mib_over_a_20_mbit_path_are_never_cut() {
    // 16 MiB through 2.5 MB/s take about 7 s, with a stall timeout of 2 s
    // and a retry window of 1 s: a deadline that did not follow progress
    // would abandon the attempt, and the send would fail
    let (alice, bob, to_bob, _to_alice) = pair_with(
        Options {
            rate: Some(2_500_000),
            ..Options::default()
        },
        Duration::from_secs(1),
        Some(Duration::from_secs(2)),
    )
    .await;
    let blob = Bytes::from(
        (0..16u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect::<Vec<u8>>(),
    );
    tokio::time::timeout(Duration::from_secs(180), alice.send("bob", &blob))
        .await
        .expect("hang guard")
        .expect("a slow transfer that progresses is delivered");
    let got: Bytes = bob.recv("alice").await.unwrap();
    assert!(got == blob, "the blob arrived altered");
    // one connection, one attempt: nothing was cut and sent again
    assert_eq!(to_bob.tally.total(), 1, "{:?}", to_bob.tally);
    alice.shutdown().await;
    shut_down_without_duplicates(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_that_stalls_every_exchange_fails_the_send_stating_attempts_and_time() {
    let window = Duration::from_secs(2);
    let (alice, bob, to_bob, _to_alice) = pair_with(
        Options {
            stall_every: 1,
            ..Options::default()
        },
        window,
        Some(Duration::from_millis(500)),
    )
    .await;
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(60), alice.send("bob", &7u64))
        .await
        .expect("hang guard")
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is_transport(), "{err}");
    assert_eq!(err.peer(), Some("bob"));
    let text = error_chain(&err);
    eprintln!("{text}");
    assert!(text.contains("stalled"), "{text}");
    // "... (gave up after N attempts in X s; retry window 2 s)"
    let tail = text
        .split("gave up after ")
        .nth(1)
        .unwrap_or_else(|| panic!("no attempt count in {text:?}"));
    let attempts: u64 = tail.split(' ').next().unwrap().parse().unwrap();
    let unit = if attempts == 1 { "attempt" } else { "attempts" };
    let stated: f64 = tail
        .strip_prefix(&format!("{attempts} {unit} in "))
        .unwrap_or_else(|| panic!("no elapsed time in {text:?}"))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(text.contains("retry window 2 s"), "{text}");
    // truthful: each attempt was one exchange on a connection of its own,
    // and the time stated is the time the send really took
    stalled_connections_get_closed(&to_bob.tally).await;
    assert_eq!(
        attempts,
        to_bob.tally.stall_used.load(Ordering::Relaxed),
        "{text}: {:?}",
        to_bob.tally
    );
    assert!(attempts >= 2, "{text}");
    assert!(stated >= window.as_secs_f64() - 0.05, "{text}");
    assert!(stated <= took.as_secs_f64() + 0.05, "{text}, took {took:?}");
    // the peer had the message all along, and filed it once
    assert_eq!(bob.recv::<u64>("alice").await.unwrap(), 7);
    alice.shutdown().await;
    assert_eq!(
        shut_down_without_duplicates(&bob).await.messages_received,
        1
    );
}
