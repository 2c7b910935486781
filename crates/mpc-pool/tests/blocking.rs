//! The blocking facade: the pool without async code.

use std::thread;
use std::time::Duration;

use mpc_pool::{blocking, MemoryNetwork, Pool};
use mpc_test_support::listeners;

/// Three blocking pools over HTTP on 127.0.0.1 (pre-bound listeners).
fn http_trio() -> Vec<blocking::Pool> {
    let names = ["alice", "bob", "carol"];
    let ls = listeners(3);
    let addrs: Vec<String> = ls.iter().map(|(_, a)| a.clone()).collect();
    ls.into_iter()
        .enumerate()
        .map(|(i, (l, _))| {
            let mut b = Pool::builder(names[i])
                .listener(l)
                .retry_window(Duration::from_secs(5))
                .timeout(Some(Duration::from_secs(20)));
            for (j, name) in names.iter().enumerate() {
                if i != j {
                    b = b.peer_at(*name, addrs[j].clone());
                }
            }
            b.start_blocking().unwrap()
        })
        .collect()
}

#[test]
fn three_parties_over_http_without_async_code() {
    let pools = http_trio();
    let threads: Vec<_> = pools
        .into_iter()
        .enumerate()
        .map(|(i, pool)| {
            thread::spawn(move || {
                assert!(pool.local_addr().is_some());
                let peers = pool.peers();
                // automatic ids, a custom id, broadcast and recv_all
                for p in &peers {
                    pool.send(p, &(i as u64)).unwrap();
                }
                let mut got: Vec<u64> = peers.iter().map(|p| pool.recv(p).unwrap()).collect();
                got.sort();
                pool.broadcast(&format!("from {}", pool.name()))
                    .id("hello")
                    .send()
                    .unwrap();
                let all = pool.recv_all::<String>().id("hello").recv().unwrap();
                let senders: Vec<&str> = all.iter().map(|(p, _)| p.as_str()).collect();
                assert_eq!(
                    senders,
                    peers.iter().map(String::as_str).collect::<Vec<_>>()
                );
                for (p, s) in &all {
                    assert_eq!(s, &format!("from {p}"));
                }
                let report = pool.shutdown();
                (i, got, report.stats.len())
            })
        })
        .collect();
    let mut first_of = Vec::new();
    for t in threads {
        let (i, got, stats) = t.join().unwrap();
        let want: Vec<u64> = (0..3u64).filter(|j| *j != i as u64).collect();
        assert_eq!(got, want);
        assert_eq!(stats, 2);
        first_of.push(i);
    }
    assert_eq!(first_of, [0, 1, 2]);
}

#[test]
fn in_memory_timeouts_and_the_async_pool_behind_it() {
    let net = MemoryNetwork::new();
    let a = Pool::builder("alice")
        .peer("bob")
        .start_in_memory_blocking(&net)
        .unwrap();
    let b = Pool::builder("bob")
        .peer("alice")
        .start_in_memory_blocking(&net)
        .unwrap();
    // a timed-out receive uses up its automatic id, and says so
    let err = b
        .recv_timeout::<u64>("alice", Duration::from_millis(20))
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(
        err.to_string().contains(r#"recv_with_id("alice", "0")"#),
        "{err}"
    );
    a.send("bob", &1u64).unwrap(); // "0"
    a.send("bob", &2u64).unwrap(); // "1"
    a.send_with_id("bob", "x", &3u64).unwrap(); // never read
                                                // as in Python: the next receive waits for "1"; "0" is read by its id
    assert_eq!(b.recv::<u64>("alice").unwrap(), 2);
    assert_eq!(b.recv_with_id::<u64>("alice", "0").unwrap(), 1);
    let err = b
        .recv_all::<u64>()
        .id("never")
        .timeout(Duration::from_millis(20))
        .recv()
        .unwrap_err();
    assert!(err.is_timeout());
    // the async pool behind it is the same pool
    let ch = b.as_async().channel("c").unwrap();
    let ca = a.as_async().channel("c").unwrap();
    a.block_on(ca.send("bob", &5u8)).unwrap();
    assert_eq!(
        b.block_on(async { ch.recv::<u8>("alice").await }).unwrap(),
        5
    );
    drop(ch);
    drop(ca);
    let report = b.shutdown();
    assert_eq!(report.unread.len(), 1, "{:?}", report.unread); // "x"
                                                               // dropped without shutdown: no panic
    drop(a);
}
