//! The in-memory transport: the compliance suite and its own behaviour.
#![cfg(feature = "compliance")]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mpc_transport::compliance::{self, Harness, RecordingInbox};
use mpc_transport::{
    BindError, BoxTransport, DynTransport, MemoryNetwork, MemoryTransport, Rejection, SharedInbox,
    Transport, TransportError,
};

/// Starts the parties of each case in a fresh network.
struct MemoryHarness;

impl Harness for MemoryHarness {
    type Transport = MemoryTransport;

    async fn start(&self, names: &[&str], inboxes: Vec<SharedInbox>) -> Vec<MemoryTransport> {
        let network = MemoryNetwork::new();
        names
            .iter()
            .zip(inboxes)
            .map(|(name, inbox)| {
                let peers = names.iter().filter(|peer| *peer != name).copied();
                network
                    .bind(name, peers, inbox)
                    .expect("binding in a fresh network")
            })
            .collect()
    }
}

fn inbox() -> Arc<RecordingInbox> {
    Arc::new(RecordingInbox::new())
}

/// alice, bound on `network`, sends to bob, who is not bound: the send
/// waits for him. Returns alice and the send, a second later (still waiting).
async fn send_waiting_for_bob(
    network: &MemoryNetwork,
) -> (
    Arc<MemoryTransport>,
    tokio::task::JoinHandle<Result<(), TransportError>>,
) {
    let alice = Arc::new(network.bind("alice", ["bob"], inbox().shared()).unwrap());
    let sender = Arc::clone(&alice);
    let send = tokio::spawn(async move { sender.send("bob", Bytes::new()).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    (alice, send)
}

#[tokio::test]
async fn compliance_suite_current_thread() {
    compliance::run_all(&MemoryHarness).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_suite_multi_thread() {
    compliance::run_all(&MemoryHarness).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_cases_individually() {
    compliance::delivery(&MemoryHarness).await;
    compliance::shutdown_while_sending(&MemoryHarness).await;
}

#[tokio::test(start_paused = true)]
async fn send_waits_for_a_peer_that_binds_later() {
    let network = MemoryNetwork::with_connect_timeout(Duration::from_secs(10));
    let bob_inbox = inbox();
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();

    let send = tokio::spawn(async move {
        let result = alice.send("bob", Bytes::from_static(b"hello")).await;
        (alice, result)
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!send.is_finished(), "the send must wait for bob");
    assert!(bob_inbox.is_empty());

    let bob = network.bind("bob", ["alice"], bob_inbox.shared()).unwrap();
    let (alice, result) = send.await.unwrap();
    result.unwrap();
    assert_eq!(
        bob_inbox.received(),
        vec![("alice".to_owned(), Bytes::from_static(b"hello"))]
    );
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn never_bound_peer_is_unreachable_after_the_connect_timeout() {
    let timeout = Duration::from_secs(5);
    let network = MemoryNetwork::with_connect_timeout(timeout);
    assert_eq!(network.connect_timeout(), timeout);
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();

    let started = tokio::time::Instant::now();
    let result = alice.send("bob", Bytes::from_static(b"x")).await;
    let waited = started.elapsed();
    match result {
        Err(TransportError::Unreachable { peer, .. }) => assert_eq!(peer, "bob"),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(
        waited >= timeout && waited < timeout + Duration::from_secs(1),
        "waited {waited:?}"
    );
}

#[test]
fn default_connect_timeout_is_30_seconds() {
    assert_eq!(
        MemoryNetwork::new().connect_timeout(),
        Duration::from_secs(30)
    );
    assert_eq!(
        MemoryNetwork::DEFAULT_CONNECT_TIMEOUT,
        Duration::from_secs(30)
    );
}

#[tokio::test(start_paused = true)]
async fn own_shutdown_ends_a_waiting_send_with_closed() {
    let network = MemoryNetwork::new();
    let (alice, send) = send_waiting_for_bob(&network).await;
    assert!(!send.is_finished());
    alice.shutdown().await;
    match send.await.unwrap() {
        Err(TransportError::Closed) => {}
        other => panic!("expected Closed, got {other:?}"),
    }
    // Far before the 30 s connect timeout.
    assert!(tokio::time::Instant::now().elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn unknown_sender_is_rejected() {
    let network = MemoryNetwork::new();
    let bob_inbox = inbox();
    // Alice knows bob, but bob does not know alice.
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    let _bob = network.bind("bob", ["carol"], bob_inbox.shared()).unwrap();
    match alice.send("bob", Bytes::from_static(b"hi")).await {
        Err(TransportError::Rejected { peer, rejection }) => {
            assert_eq!(peer, "bob");
            assert_eq!(rejection, Rejection::UnknownSender);
        }
        other => panic!("expected Rejected(UnknownSender), got {other:?}"),
    }
    assert!(bob_inbox.is_empty());
    assert_eq!(bob_inbox.rejected(), 0, "the inbox was never asked");
}

#[tokio::test]
async fn unknown_peer_fails_at_once() {
    let network = MemoryNetwork::new();
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    match alice.send("carol", Bytes::new()).await {
        Err(err @ TransportError::UnknownPeer { .. }) => assert_eq!(err.peer(), Some("carol")),
        other => panic!("expected UnknownPeer, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn peer_gone_is_prompt() {
    let network = MemoryNetwork::new();
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    let bob = network.bind("bob", ["alice"], inbox().shared()).unwrap();
    bob.shutdown().await;
    assert!(bob.is_closed());

    let started = tokio::time::Instant::now();
    match alice.send("bob", Bytes::new()).await {
        Err(TransportError::PeerGone { peer }) => assert_eq!(peer, "bob"),
        other => panic!("expected PeerGone, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::ZERO, "no waiting at all");
}

#[tokio::test]
async fn dropped_endpoint_is_gone() {
    let network = MemoryNetwork::new();
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    drop(network.bind("bob", ["alice"], inbox().shared()).unwrap());
    assert!(matches!(
        alice.send("bob", Bytes::new()).await,
        Err(TransportError::PeerGone { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_send_waiting_for_a_peer_that_binds_and_leaves_fails() {
    let network = MemoryNetwork::new();
    let (_alice, send) = send_waiting_for_bob(&network).await;
    // Bound and shut down before the waiting send ran again: it sees either
    // the packet delivered or bob gone, and never waits out the timeout.
    let bob = network.bind("bob", ["alice"], inbox().shared()).unwrap();
    bob.shutdown().await;
    let result = tokio::time::timeout(Duration::from_secs(1), send)
        .await
        .expect("the send must not wait for the connect timeout")
        .unwrap();
    assert!(
        matches!(result, Ok(()) | Err(TransportError::PeerGone { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn shutdown_is_idempotent_and_closes_sends() {
    let network = MemoryNetwork::new();
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    let bob_inbox = inbox();
    let _bob = network.bind("bob", ["alice"], bob_inbox.shared()).unwrap();
    alice.shutdown().await;
    alice.shutdown().await;
    assert!(matches!(
        alice.send("bob", Bytes::new()).await,
        Err(TransportError::Closed)
    ));
    // Closed wins over UnknownPeer after shutdown.
    assert!(matches!(
        alice.send("nobody", Bytes::new()).await,
        Err(TransportError::Closed)
    ));
    assert!(bob_inbox.is_empty());
}

#[tokio::test]
async fn binding_a_name_twice_fails_until_it_is_shut_down() {
    let network = MemoryNetwork::new();
    let first = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    match network.bind("alice", ["bob"], inbox().shared()) {
        Err(BindError::AlreadyBound { name }) => assert_eq!(name, "alice"),
        other => panic!("expected AlreadyBound, got {other:?}"),
    }
    first.shutdown().await;
    let second = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    // The old endpoint's drop must not unbind the new one.
    drop(first);
    assert!(matches!(
        network.bind("alice", Vec::<String>::new(), inbox().shared()),
        Err(BindError::AlreadyBound { .. })
    ));
    drop(second);
}

#[test]
fn empty_names_are_refused() {
    let network = MemoryNetwork::new();
    assert_eq!(
        network.bind("", ["bob"], inbox().shared()).unwrap_err(),
        BindError::EmptyName
    );
    assert_eq!(
        network
            .bind("alice", ["bob", ""], inbox().shared())
            .unwrap_err(),
        BindError::EmptyPeerName
    );
}

#[tokio::test]
async fn rebound_name_is_reachable_again() {
    let network = MemoryNetwork::new();
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    let bob = network.bind("bob", ["alice"], inbox().shared()).unwrap();
    bob.shutdown().await;
    assert!(matches!(
        alice.send("bob", Bytes::new()).await,
        Err(TransportError::PeerGone { .. })
    ));
    let new_bob_inbox = inbox();
    let _bob = network
        .bind("bob", ["alice"], new_bob_inbox.shared())
        .unwrap();
    alice
        .send("bob", Bytes::from_static(b"again"))
        .await
        .unwrap();
    assert_eq!(
        new_bob_inbox.received_from("alice"),
        vec![Bytes::from_static(b"again")]
    );
}

#[tokio::test]
async fn full_inbox_rejection_is_reported() {
    let network = MemoryNetwork::new();
    let bob_inbox = Arc::new(RecordingInbox::with_capacity(1));
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    let _bob = network.bind("bob", ["alice"], bob_inbox.shared()).unwrap();
    alice.send("bob", Bytes::from_static(b"1")).await.unwrap();
    match alice.send("bob", Bytes::from_static(b"2")).await {
        Err(TransportError::Rejected { rejection, .. }) => assert!(rejection.is_transient()),
        other => panic!("expected Rejected(BufferFull), got {other:?}"),
    }
    assert_eq!(bob_inbox.len(), 1);
    assert_eq!(bob_inbox.rejected(), 1);
}

#[tokio::test]
async fn dyn_and_box_transport_work() {
    let network = MemoryNetwork::new();
    let bob_inbox = inbox();
    let alice: BoxTransport = Arc::new(network.bind("alice", ["bob"], inbox().shared()).unwrap());
    let bob: Box<dyn DynTransport> =
        Box::new(network.bind("bob", ["alice"], bob_inbox.shared()).unwrap());
    alice
        .send_boxed("bob", Bytes::from_static(b"boxed"))
        .await
        .unwrap();
    assert_eq!(
        bob_inbox.received(),
        vec![("alice".to_owned(), Bytes::from_static(b"boxed"))]
    );
    bob.shutdown_boxed().await;
    assert!(matches!(
        alice.send_boxed("bob", Bytes::new()).await,
        Err(TransportError::PeerGone { .. })
    ));
    alice.shutdown_boxed().await;
    assert!(matches!(
        alice.send_boxed("bob", Bytes::new()).await,
        Err(TransportError::Closed)
    ));
}

#[tokio::test]
async fn recording_inbox_wait_for() {
    let network = MemoryNetwork::new();
    let bob_inbox = inbox();
    let alice = Arc::new(network.bind("alice", ["bob"], inbox().shared()).unwrap());
    let _bob = network.bind("bob", ["alice"], bob_inbox.shared()).unwrap();
    let err = bob_inbox
        .wait_for(1, Duration::from_millis(10))
        .await
        .unwrap_err();
    assert_eq!((err.wanted, err.got), (1, 0));
    let sender = Arc::clone(&alice);
    tokio::spawn(async move {
        for i in 0u8..3 {
            sender.send("bob", Bytes::from(vec![i])).await.unwrap();
        }
    });
    bob_inbox
        .wait_for(3, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(bob_inbox.len(), 3);
}

#[test]
fn debug_output_names_the_endpoint() {
    let network = MemoryNetwork::new();
    let alice = network.bind("alice", ["bob"], inbox().shared()).unwrap();
    let text = format!("{alice:?}");
    assert!(text.contains("alice") && text.contains("bob"), "{text}");
    assert_eq!(alice.name(), "alice");
    assert_eq!(alice.peers().collect::<Vec<_>>(), ["bob"]);
    assert!(format!("{network:?}").contains("alice"));
}
