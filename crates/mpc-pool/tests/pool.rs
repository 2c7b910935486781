//! The pool over the in-memory transport: every feature of the facade.

use std::time::Duration;

use mpc_pool::{BigInt, BufferLimits, MemoryNetwork, Pool, PoolBuilder, PyClass, Tagged, Value};
use serde::{Deserialize, Serialize};

/// alice and bob on a network of their own.
async fn pair() -> (Pool, Pool) {
    pair_with(|b| b).await
}

/// alice and bob on a network of their own, bob's builder passed through
/// `bob` first.
async fn pair_with(bob: impl FnOnce(PoolBuilder) -> PoolBuilder) -> (Pool, Pool) {
    let net = MemoryNetwork::new();
    let a = Pool::builder("alice")
        .peer("bob")
        .start_in_memory(&net)
        .await
        .unwrap();
    let b = bob(Pool::builder("bob").peer("alice"))
        .start_in_memory(&net)
        .await
        .unwrap();
    (a, b)
}

/// alice, bob and carol on a network of their own.
async fn trio() -> [Pool; 3] {
    let net = MemoryNetwork::new();
    let names = ["alice", "bob", "carol"];
    let mut out = Vec::new();
    for me in names {
        let others: Vec<&str> = names.into_iter().filter(|p| *p != me).collect();
        out.push(knowing(me, &others).start_in_memory(&net).await.unwrap());
    }
    out.try_into().unwrap()
}

/// `b`'s next receive from alice, with `timeout`, which must time out.
async fn times_out(b: &Pool, timeout: Duration) -> mpc_pool::Error {
    let err = b.recv::<i32>("alice").timeout(timeout).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    err
}

/// The builder of `me`, knowing `peers`.
fn knowing(me: &str, peers: &[&str]) -> PoolBuilder {
    peers.iter().fold(Pool::builder(me), |b, p| b.peer(*p))
}

#[tokio::test]
async fn send_and_recv_typed_with_automatic_ids() {
    let (a, b) = pair().await;
    // receive registered before the send, and sends before receives
    let early = b.arecv::<String>("alice");
    a.send("bob", "first").await.unwrap();
    a.send("bob", &2u64).await.unwrap();
    a.send("bob", &(3i64, "three")).await.unwrap();
    assert_eq!(early.await.unwrap(), "first");
    assert_eq!(b.recv::<u64>("alice").await.unwrap(), 2);
    assert_eq!(
        b.recv::<(i64, String)>("alice").await.unwrap(),
        (3, "three".to_string())
    );
    let report = b.shutdown().await;
    assert!(report.unread.is_empty());
    assert_eq!(report.stats[0].messages_received, 3);
}

#[tokio::test]
async fn receives_are_matched_by_id_not_arrival_order() {
    let (a, b) = pair().await;
    // three receives registered first: ids "0", "1", "2" by call order
    let r0 = b.recv::<i32>("alice");
    let r1 = b.recv::<i32>("alice");
    let r2 = b.recv::<i32>("alice");
    assert_eq!(
        (r0.id(), r1.id(), r2.id()),
        (Some("0"), Some("1"), Some("2"))
    );
    a.send_with_id("bob", "2", &20).await.unwrap();
    a.send_with_id("bob", "0", &0).await.unwrap();
    a.send_with_id("bob", "1", &10).await.unwrap();
    // awaited in another order than registered
    assert_eq!(r2.await.unwrap(), 20);
    assert_eq!(r0.await.unwrap(), 0);
    assert_eq!(r1.await.unwrap(), 10);
}

#[tokio::test]
async fn custom_ids_advance_the_counters_like_python() {
    let (a, b) = pair().await;
    a.send("bob", &"auto0").await.unwrap(); // id "0"
    a.send_with_id("bob", "custom", &"c").await.unwrap(); // counter -> 2
    a.send("bob", &"auto2").await.unwrap(); // id "2"
    assert_eq!(
        b.recv_with_id::<String>("alice", "2").await.unwrap(),
        "auto2"
    );
    assert_eq!(
        b.recv_with_id::<String>("alice", "custom").await.unwrap(),
        "c"
    );
    assert_eq!(
        b.recv_with_id::<String>("alice", "0").await.unwrap(),
        "auto0"
    );
    // the receive counter advanced three times: the next automatic id is "3"
    a.send_with_id("bob", "3", &"x").await.unwrap();
    assert_eq!(b.recv::<String>("alice").id(), Some("3"));
}

#[tokio::test]
async fn second_message_with_waiting_id_is_refused_and_first_kept() {
    let (a, b) = pair().await;
    a.send_with_id("bob", "x", &1).await.unwrap();
    let err = a.send_with_id("bob", "x", &2).await.unwrap_err();
    assert!(err.is_rejected(), "{err}");
    assert_eq!(err.peer(), Some("bob"));
    assert_eq!(err.message_id(), Some("x"));
    // an identical retry is acknowledged and not delivered twice
    a.send_with_id("bob", "x", &1).await.unwrap();
    assert_eq!(b.recv_with_id::<i32>("alice", "x").await.unwrap(), 1);
    assert!(b.shutdown().await.unread.is_empty());
}

#[tokio::test]
async fn buffer_is_bounded_per_peer() {
    let (a, b) = pair_with(|b| {
        b.buffer_limits(BufferLimits {
            max_messages: 3,
            max_bytes: 1 << 20,
        })
    })
    .await;
    for i in 0..3 {
        a.send("bob", &i).await.unwrap();
    }
    let err = a.send("bob", &3).await.unwrap_err();
    assert!(err.is_rejected() && err.is_transport(), "{err}");
    // reading makes room; nothing accepted was lost
    assert_eq!(b.recv::<i32>("alice").await.unwrap(), 0);
    a.send_with_id("bob", "3", &3).await.unwrap();
    for i in 1..4 {
        assert_eq!(b.recv::<i32>("alice").await.unwrap(), i);
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_names_peer_and_id() {
    let (_a, b) = pair().await;
    let err = times_out(&b, Duration::from_secs(2)).await;
    assert_eq!(err.peer(), Some("alice"));
    assert_eq!(err.message_id(), Some("0"));
    let text = err.to_string();
    assert!(text.contains("alice") && text.contains("\"0\""), "{text}");
}

#[tokio::test(start_paused = true)]
async fn pool_default_timeout_applies() {
    let (_a, b) = pair_with(|b| b.timeout(Some(Duration::from_millis(500)))).await;
    let start = tokio::time::Instant::now();
    let err = b.recv::<i32>("alice").await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(start.elapsed(), Duration::from_millis(500));
}

#[tokio::test]
async fn message_arriving_after_timeout_is_kept() {
    let (a, b) = pair().await;
    times_out(&b, Duration::from_millis(10)).await;
    a.send("bob", &5).await.unwrap();
    assert_eq!(b.recv_with_id::<i32>("alice", "0").await.unwrap(), 5);
}

#[tokio::test]
async fn dropped_receive_leaves_message_in_buffer() {
    let (a, b) = pair().await;
    let pending = b.arecv::<i32>("alice");
    a.send("bob", &7).await.unwrap(); // handed to the pending receive
    drop(pending);
    assert_eq!(b.recv_with_id::<i32>("alice", "0").await.unwrap(), 7);
}

#[tokio::test]
async fn two_receives_for_one_message_is_an_error() {
    let (a, b) = pair().await;
    let first = b.recv_with_id::<i32>("alice", "m").register();
    let err = b.recv_with_id::<i32>("alice", "m").await.unwrap_err();
    assert!(err.is_already_awaited());
    a.send_with_id("bob", "m", &1).await.unwrap();
    assert_eq!(first.await.unwrap(), 1);
}

#[tokio::test]
async fn asend_result_is_observable() {
    let (a, b) = pair().await;
    let h = a.asend("bob", &"bg");
    h.await.unwrap();
    assert_eq!(b.recv::<String>("alice").await.unwrap(), "bg");
    b.shutdown().await;
    let err = a.asend("bob", &"gone").await.unwrap_err();
    assert!(err.is_transport(), "{err}");
    assert_eq!(err.peer(), Some("bob"));
}

#[tokio::test]
async fn unknown_peer_is_an_error() {
    let (a, _b) = pair().await;
    let err = a.send("mallory", &1).await.unwrap_err();
    assert!(err.is_unknown_peer());
    assert_eq!(err.peer(), Some("mallory"));
    let err = a.recv::<i32>("mallory").await.unwrap_err();
    assert!(err.is_unknown_peer());
}

#[tokio::test]
async fn decode_failure_keeps_the_message() {
    let (a, b) = pair().await;
    a.send("bob", "not a number").await.unwrap();
    let err = b.recv::<i64>("alice").await.unwrap_err();
    assert!(err.is_decode(), "{err}");
    assert_eq!(err.message_id(), Some("0"));
    assert_eq!(
        b.recv_with_id::<String>("alice", "0").await.unwrap(),
        "not a number"
    );
}

#[tokio::test]
async fn broadcast_reaches_every_peer_encoded_once() {
    let [a, b, c] = trio().await;
    // automatic ids: each recipient's own counter
    b.send("alice", &0).await.unwrap(); // nothing to do with a's counters
    a.send("carol", &"c0").await.unwrap(); // carol's counter at a is now 1
    a.broadcast(&"all").await.unwrap();
    assert_eq!(b.recv_with_id::<String>("alice", "0").await.unwrap(), "all");
    assert_eq!(c.recv_with_id::<String>("alice", "1").await.unwrap(), "all");
    // custom id, subset
    a.broadcast(&42).to(["carol"]).id("b").await.unwrap();
    assert_eq!(c.recv_with_id::<i32>("alice", "b").await.unwrap(), 42);
    // recv_all from everyone with a custom id
    b.send_with_id("carol", "r", &1).await.unwrap();
    a.send_with_id("carol", "r", &2).await.unwrap();
    let mut all = c.recv_all::<i32>().id("r").await.unwrap();
    all.sort();
    assert_eq!(all, vec![("alice".to_string(), 2), ("bob".to_string(), 1)]);
    // failure of one recipient is reported by name
    b.shutdown().await;
    let err = a.broadcast(&1).id("z").await.unwrap_err();
    assert_eq!(err.failed_peers(), ["bob".to_string()]);
    assert_eq!(c.recv_with_id::<i32>("alice", "z").await.unwrap(), 1);
}

#[tokio::test]
async fn multi_peer_calls_take_any_list_of_names_with_named_settings() {
    let [a, b, c] = trio().await;
    // what `peers()` returns goes straight in, as do arrays, slices of
    // `&str`, `Vec<&str>` and iterators
    let peers: Vec<String> = a.peers();
    a.broadcast(&1u8).to(&peers).id("v").await.unwrap();
    a.broadcast(&2u8).to(peers.clone()).id("w").await.unwrap();
    a.broadcast(&3u8).to(["bob"]).id("x").await.unwrap();
    a.broadcast(&4u8)
        .to(peers.iter().filter(|p| *p != "bob"))
        .id("y")
        .await
        .unwrap();
    let names: &[&str] = &["alice"];
    let got = b.recv_all::<u8>().from(names).id("v").await.unwrap();
    assert_eq!(got, [("alice".to_string(), 1)]);
    let got = b
        .recv_all::<u8>()
        .from(vec!["alice"])
        .id("w")
        .await
        .unwrap();
    assert_eq!(got, [("alice".to_string(), 2)]);
    let from_c: Vec<String> = c.peers().into_iter().filter(|p| p == "alice").collect();
    let got = c.recv_all::<u8>().from(&from_c).id("v").await.unwrap();
    assert_eq!(got, [("alice".to_string(), 1)]);
    assert_eq!(b.recv_with_id::<u8>("alice", "x").await.unwrap(), 3);
    assert_eq!(c.recv_with_id::<u8>("alice", "y").await.unwrap(), 4);
    // a receive from several peers takes a timeout like a single receive,
    // and names the peer and id that did not come
    let err = c
        .recv_all::<u8>()
        .id("never")
        .timeout(Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.message_id(), Some("never"));
    // registered now, answered later
    let pending = b.recv_all::<u8>().from(["alice", "carol"]).register();
    c.send("bob", &6u8).await.unwrap();
    a.send("bob", &5u8).await.unwrap();
    assert_eq!(
        pending.await.unwrap(),
        [("alice".to_string(), 5), ("carol".to_string(), 6)]
    );
    // on a channel, the same shape
    let (ca, cb) = (a.channel("ch").unwrap(), b.channel("ch").unwrap());
    ca.broadcast(&7u8).to(["bob"]).await.unwrap();
    assert_eq!(
        cb.recv_all::<u8>().from(["alice"]).await.unwrap(),
        [("alice".to_string(), 7)]
    );
}

#[tokio::test]
async fn shutdown_reports_unread_and_fails_waiting_receives() {
    let (a, b) = pair().await;
    a.send_with_id("bob", "never-read", &1).await.unwrap();
    let waiting = b
        .recv_with_id::<i32>("alice", "never-sent")
        .no_timeout()
        .register();
    let report = b.shutdown().await;
    assert_eq!(report.unread.len(), 1);
    assert_eq!(report.unread[0].id, "never-read");
    assert_eq!(report.awaited.len(), 1);
    assert_eq!(report.awaited[0].id, "never-sent");
    let err = waiting.await.unwrap_err();
    assert!(err.is_shutdown());
    assert_eq!(err.message_id(), Some("never-sent"));
    assert!(b.send("alice", &1).await.unwrap_err().is_shutdown());
    // stats were counted
    let s = a.stats();
    assert_eq!(s[0].messages_sent, 1);
    assert!(s[0].bytes_sent > 0);
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Point {
    x: BigInt,
    y: i64,
}
impl PyClass for Point {
    const TYPE_NAME: &'static str = "Point";
}

#[tokio::test]
async fn dynamic_and_tagged_values_cross_the_pool() {
    let (a, b) = pair().await;
    let big: BigInt = "1180591620717411303424".parse().unwrap();
    let p = Point {
        x: big.clone(),
        y: -3,
    };
    a.send("bob", &Tagged(p.clone())).await.unwrap();
    a.send("bob", &Tagged(p.clone())).await.unwrap();
    a.send("bob", &vec![Tagged(p.clone())]).await.unwrap();
    let v: Value = b.recv("alice").await.unwrap();
    match &v {
        Value::Tagged { type_name, data } => {
            assert_eq!(type_name, "Point");
            assert_eq!(data.get("x"), Some(&Value::BigInt(big.clone())));
        }
        other => panic!("expected a tagged Point, got {other}"),
    }
    assert_eq!(b.recv::<Tagged<Point>>("alice").await.unwrap().0, p);
    assert_eq!(b.recv::<Vec<Tagged<Point>>>("alice").await.unwrap()[0].0, p);
    // a relayed value is re-sent unchanged
    b.send("alice", &v).await.unwrap();
    assert_eq!(a.recv::<Tagged<Point>>("bob").await.unwrap().0, p);
}

#[tokio::test]
async fn bad_configuration_is_refused() {
    let net = MemoryNetwork::new();
    for (what, me, peers) in [
        ("itself as a peer", "a", &["a"][..]),
        ("a peer twice", "a", &["b", "b"]),
    ] {
        let err = knowing(me, peers).start_in_memory(&net).await.unwrap_err();
        assert!(err.is_start(), "{what}: {err}");
    }
    let _a = knowing("a", &["b"]).start_in_memory(&net).await.unwrap();
    let err = knowing("a", &["b"])
        .start_in_memory(&net)
        .await
        .unwrap_err();
    assert!(err.is_start(), "a name bound twice on one network");
}

#[tokio::test(start_paused = true)]
async fn aborting_peer_fails_waiting_receives_at_once() {
    let [a, b, c] = trio().await;
    a.send("bob", &1).await.unwrap(); // bob read this before failing
    let waiting = a.recv::<i32>("bob").no_timeout().register();
    let from_carol = a
        .recv::<i32>("carol")
        .timeout(Duration::from_secs(60))
        .register();
    assert_eq!(b.recv::<i32>("alice").await.unwrap(), 1);
    b.send_with_id("alice", "early", &5).await.unwrap();
    let start = tokio::time::Instant::now();
    b.abort("bob's protocol failed").await;
    let err = waiting.await.unwrap_err();
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "failed at once, not after a timeout"
    );
    assert!(err.is_peer_departed(), "{err}");
    assert_eq!(err.peer(), Some("bob"));
    assert_eq!(err.departure_reason(), Some("bob's protocol failed"));
    assert!(err.to_string().contains("bob's protocol failed"), "{err}");
    // what bob sent before leaving is still there; anything else fails fast
    assert_eq!(a.recv_with_id::<i32>("bob", "early").await.unwrap(), 5);
    assert!(a.recv::<i32>("bob").await.unwrap_err().is_peer_departed());
    // other peers are unaffected
    c.send("alice", &3).await.unwrap();
    assert_eq!(from_carol.await.unwrap(), 3);
}

#[tokio::test]
async fn graceful_shutdown_is_announced_too() {
    let (a, b) = pair().await;
    let waiting = a.recv::<i32>("bob").no_timeout().register();
    b.shutdown().await;
    let err = waiting.await.unwrap_err();
    assert!(err.is_peer_departed());
    assert_eq!(err.departure_reason(), Some("shut down"));
}

#[tokio::test(start_paused = true)]
async fn a_registered_receive_times_out_counting_from_registration() {
    let (_a, b) = pair().await;
    let pending = b
        .recv::<i32>("alice")
        .timeout(Duration::from_secs(2))
        .register();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = tokio::time::Instant::now();
    let err = pending.await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(start.elapsed(), Duration::ZERO);
}
