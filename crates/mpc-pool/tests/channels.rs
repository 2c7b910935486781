//! Channels: concurrent sub-protocols, each on its own channel, in a
//! different random task order on every party, over memory and HTTP.

use std::sync::Arc;
use std::time::Duration;

use mpc_pool::{LinkProfile, MemoryNetwork, Pool, Value};
use mpc_test_support::{listeners, Rng};
use tokio::sync::Semaphore;

const NAMES: [&str; 3] = ["alice", "bob", "carol"];

/// One party's side of `n` concurrent sub-protocols, each on channel
/// `batch/t.<i>`, started in a random order (`seed`) and interleaved by
/// random yields: every sub-protocol sends `(me, i, round)` to each other
/// party with automatic ids, receives theirs, and answers with the sum of
/// what it got. At most `in_flight` sends are on their way at a time (all
/// tasks run; only their sends wait). Returns the number of sub-protocols
/// whose every message met the right receive (it panics on a wrong one).
async fn party(pool: Pool, me: usize, n: u64, seed: u64, in_flight: usize) -> u64 {
    let batch = pool.channel("batch").expect("open batch");
    assert_eq!(batch.name(), "batch");
    let mut order: Vec<u64> = (0..n).collect();
    let mut rng = Rng(seed);
    rng.shuffle(&mut order);
    let slots = Arc::new(Semaphore::new(in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    for i in order {
        let ch = batch.sub("t", i).expect("open a sub-channel");
        assert_eq!(ch.name(), format!("batch/t.{i}"));
        let yields = rng.next() % 4;
        let slots = slots.clone();
        tasks.spawn(async move {
            for _ in 0..yields {
                tokio::task::yield_now().await;
            }
            let others: Vec<(usize, &str)> = NAMES
                .iter()
                .copied()
                .enumerate()
                .filter(|(j, _)| *j != me)
                .collect();
            // round 1: everyone sends (me, i), automatic ids
            for (_, p) in &others {
                let _slot = slots.acquire().await.expect("open semaphore");
                ch.send(p, &(me as u64, i, 1u64)).await.expect("send");
            }
            let mut sum = 0;
            for (j, p) in &others {
                let (from, k, round): (u64, u64, u64) = ch.recv(p).await.expect("recv");
                assert_eq!((from, k, round), (*j as u64, i, 1), "on {}", ch.name());
                sum += from + k;
            }
            tokio::task::yield_now().await;
            // round 2: each answers with what it got, as a dynamic value
            for (_, p) in &others {
                let _slot = slots.acquire().await.expect("open semaphore");
                ch.send(p, &(me as u64, sum)).await.expect("send");
            }
            for (j, p) in &others {
                let v: Value = ch.recv(p).await.expect("recv");
                let (from, their_sum): (u64, u64) =
                    mpc_pool::serial::from_value(v).expect("a pair");
                assert_eq!(from, *j as u64, "on {}", ch.name());
                // their sum: the other two parties' indices plus 2i
                let expected: u64 = (0..3u64).filter(|x| *x != from).sum::<u64>() + 2 * i;
                assert_eq!(their_sum, expected, "on {}", ch.name());
            }
            let stats = ch.stats();
            assert_eq!(stats.messages_sent, 4, "{stats:?}");
            assert_eq!(stats.messages_received, 4, "{stats:?}");
            assert!(ch.close().is_empty(), "nothing left unread");
        });
    }
    let mut done = 0;
    while let Some(r) = tasks.join_next().await {
        r.expect("a sub-protocol failed");
        done += 1;
    }
    // the pool's statistics hold every channel's traffic
    let stats = pool.channel_stats();
    assert_eq!(stats.len() as u64, n + 1, "batch and its forks");
    assert!(stats
        .iter()
        .filter(|s| s.channel.starts_with("batch/t."))
        .all(|s| s.messages_sent == 4 && s.messages_received == 4));
    drop(batch);
    done
}

async fn run_all(pools: Vec<Pool>, n: u64, in_flight: usize) {
    let mut handles = Vec::new();
    for (me, pool) in pools.iter().enumerate() {
        let seed = 0x9e37_79b9_7f4a_7c15 ^ (me as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        handles.push(tokio::spawn(party(pool.clone(), me, n, seed, in_flight)));
    }
    for h in handles {
        assert_eq!(h.await.expect("party"), n);
    }
    for p in pools {
        let report = p.shutdown().await;
        assert!(report.unread.is_empty(), "{:?}", report.unread);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_channels_in_memory() {
    let net = MemoryNetwork::new();
    let mut pools = Vec::new();
    for me in NAMES {
        let mut b = Pool::builder(me).timeout(Some(Duration::from_secs(60)));
        for p in NAMES.iter().filter(|p| **p != me) {
            b = b.peer(*p);
        }
        pools.push(b.start_in_memory(&net).await.unwrap());
    }
    run_all(pools, 1000, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_channels_over_http() {
    let ls = listeners(3);
    let addrs: Vec<String> = ls.iter().map(|(_, a)| a.clone()).collect();
    let mut pools = Vec::new();
    for (i, (l, _)) in ls.into_iter().enumerate() {
        let mut b = Pool::builder(NAMES[i])
            .listener(l)
            .timeout(Some(Duration::from_secs(120)));
        for (j, p) in NAMES.iter().enumerate() {
            if i != j {
                b = b.peer_at(*p, addrs[j].clone());
            }
        }
        pools.push(b.start().await.unwrap());
    }
    // all 1 000 channels open and their tasks spawned at once; 64 of each
    // party's sends on the wire at a time (connections stay bounded)
    run_all(pools, 1000, 64).await;
}

/// alice and bob on a network of their own.
async fn pair() -> (Pool, Pool) {
    let net = MemoryNetwork::new();
    let mut pools = Vec::new();
    for (me, peer) in [("alice", "bob"), ("bob", "alice")] {
        pools.push(
            Pool::builder(me)
                .peer(peer)
                .start_in_memory(&net)
                .await
                .unwrap(),
        );
    }
    let b = pools.pop().unwrap();
    (pools.pop().unwrap(), b)
}

#[tokio::test]
async fn channels_are_open_once_and_named_the_same_everywhere() {
    let (a, b) = pair().await;
    let online = a.channel("online").unwrap();
    let e = a.channel("online").unwrap_err();
    assert!(e.is_channel(), "{e}");
    assert!(e.to_string().contains("already open"), "{e}");
    assert!(a.channel("on/line").unwrap_err().is_channel());
    assert!(a.channel("").unwrap_err().is_channel());
    let mult = online.sub("mult", 3).unwrap();
    assert_eq!(mult.name(), "online/mult.3");
    let inner = mult.channel("open").unwrap();
    assert_eq!(inner.name(), "online/mult.3/open");
    assert!(online.sub("mult", 3).unwrap_err().is_channel());

    // the wire ids: <path>#<counter> and <path>#<custom id>
    inner.send("bob", &1u8).await.unwrap();
    inner.send_with_id("bob", "x", &2u8).await.unwrap();
    assert_eq!(
        b.recv_with_id::<u8>("alice", "online/mult.3/open#0")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        b.recv_with_id::<u8>("alice", "online/mult.3/open#x")
            .await
            .unwrap(),
        2
    );
    // the pool's own counters are untouched by channels
    a.send("bob", &3u8).await.unwrap();
    assert_eq!(b.recv_with_id::<u8>("alice", "0").await.unwrap(), 3);

    // dropped, a channel can be opened again, and starts its counters over
    drop(online);
    let again = a.channel("online").unwrap();
    again.send("bob", &4u8).await.unwrap();
    let on_b = b.channel("online").unwrap();
    assert_eq!(on_b.recv::<u8>("alice").await.unwrap(), 4);
    drop((mult, inner, again, on_b));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn closing_a_channel_reports_and_frees_what_it_never_read() {
    let (a, b) = pair().await;
    let on_a = a.channel("c").unwrap();
    on_a.send("bob", &1u8).await.unwrap();
    on_a.send("bob", &2u8).await.unwrap();
    a.send("bob", &3u8).await.unwrap();
    let on_b = b.channel("c").unwrap();
    assert_eq!(on_b.recv::<u8>("alice").await.unwrap(), 1);
    let unread = on_b.close();
    assert_eq!(unread.len(), 1);
    assert_eq!(
        (unread[0].peer.as_str(), unread[0].id.as_str()),
        ("alice", "c#1")
    );
    // freed: only the pool's own message is still there
    let report = b.shutdown().await;
    assert_eq!(report.unread.len(), 1);
    assert_eq!(report.unread[0].id, "0");
    drop(on_a);
    a.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_protocol_under_the_wan_profile_runs_in_virtual_time() {
    let net = MemoryNetwork::new();
    let mut pools = Vec::new();
    for (me, peer) in [("alice", "bob"), ("bob", "alice")] {
        let p = Pool::builder(me)
            .peer(peer)
            .net("20ms,100Mbit".parse().unwrap())
            .start_in_memory(&net)
            .await
            .unwrap();
        pools.push(p);
    }
    let (a, b) = (&pools[0], &pools[1]);
    let started = tokio::time::Instant::now();
    let real = std::time::Instant::now();
    for k in 0..100u64 {
        a.send("bob", &k).await.unwrap();
        assert_eq!(b.recv::<u64>("alice").await.unwrap(), k);
        b.send("alice", &(k + 1)).await.unwrap();
        assert_eq!(a.recv::<u64>("bob").await.unwrap(), k + 1);
    }
    // 200 one-way trips of 20 ms, + a few microseconds of transmission
    // each; only the last hand-over waits for the timer's next whole
    // millisecond (the others do not add up)
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(4) && elapsed < Duration::from_millis(4002),
        "{elapsed:?}"
    );
    eprintln!("4 s of WAN in {:?} of real time", real.elapsed());
}

#[tokio::test(start_paused = true)]
async fn emulated_links_keep_the_round_stamps() {
    let (a, b) = pair_on(LinkProfile::wan()).await;
    for k in 0..5u64 {
        a.send("bob", &k).await.unwrap();
        b.recv::<u64>("alice").await.unwrap();
        b.send("alice", &k).await.unwrap();
        a.recv::<u64>("bob").await.unwrap();
    }
    assert_eq!(a.round(), 10, "a ping-pong of 5 exchanges is 10 rounds");
    assert_eq!(b.round(), 10);
    // crossing messages that do not wait on each other stay in one round:
    // only a stamped message can tell (an unstamped one would count as a
    // round after bob's own message)
    let (c, d) = pair_on(LinkProfile::wan()).await;
    d.send("alice", &1u8).await.unwrap();
    c.send("bob", &2u8).await.unwrap();
    assert_eq!(d.recv::<u8>("alice").await.unwrap(), 2);
    assert_eq!(d.round(), 1);
}

/// alice and bob on a network of their own, with emulated links.
async fn pair_on(profile: LinkProfile) -> (Pool, Pool) {
    let net = MemoryNetwork::new();
    let a = Pool::builder("alice")
        .peer("bob")
        .net(profile)
        .start_in_memory(&net)
        .await
        .unwrap();
    let b = Pool::builder("bob")
        .peer("alice")
        .net(profile)
        .start_in_memory(&net)
        .await
        .unwrap();
    (a, b)
}
