//! The HTTP exchange as the Python package speaks it, status by status,
//! with raw requests over real sockets on 127.0.0.1.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mpc_http::{HttpConfig, HttpTransport, ServerLimits};
use mpc_test_support::{listeners, raw};
use mpc_transport::compliance::RecordingInbox;
use mpc_transport::{Transport, TransportError};

/// The 5.0.4 packet of "Hello!" with id "0".
const HELLO: &[u8] = b"\x82\xa6object\xc4\x07\xa6Hello!\xa2id\xa10";

/// The cookie of alice's requests (her port).
const ALICE: &str = "server_port=18001";

struct Server {
    transport: HttpTransport,
    inbox: Arc<RecordingInbox>,
    addr: SocketAddr,
}

impl Server {
    /// Sends `request` raw; returns the status and body of the answer.
    async fn raw(&self, request: &[u8]) -> (u16, String) {
        raw::request(self.addr, request).await
    }

    /// POSTs [`HELLO`] with `cookie` (if any) and `extra` header lines;
    /// returns the status of the answer.
    async fn hello(&self, cookie: Option<&str>, extra: &str) -> u16 {
        self.raw(&raw::post(cookie, extra, HELLO)).await.0
    }
}

/// A server "bob" whose one peer "alice" is at 127.0.0.1:`alice_port`.
async fn server(alice_port: u16, limits: ServerLimits) -> Server {
    let inbox = Arc::new(RecordingInbox::new());
    let cfg = HttpConfig::new("bob", "127.0.0.1:0")
        .peer("alice", format!("127.0.0.1:{alice_port}"))
        .limits(limits)
        .retry_window(Duration::from_secs(1));
    let transport = HttpTransport::start(cfg, inbox.shared()).await.unwrap();
    let addr = transport.local_addr();
    Server {
        transport,
        inbox,
        addr,
    }
}

#[tokio::test]
async fn accepts_a_python_style_post() {
    let s = server(18001, ServerLimits::default()).await;
    let (status, body) = s.raw(&raw::post(Some(ALICE), "", HELLO)).await;
    assert_eq!((status, body.as_str()), (200, "Message received"));
    assert_eq!(
        s.inbox.received(),
        vec![("alice".to_string(), Bytes::from_static(HELLO))]
    );
    s.transport.shutdown().await;
}

#[tokio::test]
async fn get_answers_connection_working() {
    let s = server(18001, ServerLimits::default()).await;
    let (status, body) = s
        .raw(b"GET /anything HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!((status, body.as_str()), (200, "Connection working (GET)"));
}

#[tokio::test]
async fn refusals_have_the_right_status_and_deliver_nothing() {
    let s = server(18001, ServerLimits::default()).await;
    // no cookie
    assert_eq!(s.hello(None, "").await, 400);
    // a cookie that is not a port, or two different ones
    assert_eq!(s.hello(Some("server_port=x"), "").await, 400);
    assert_eq!(
        s.hello(Some(ALICE), "Cookie: server_port=18002\r\n").await,
        400
    );
    // a port that is not a peer's
    let (st, body) = s.raw(&raw::post(Some("server_port=9"), "", HELLO)).await;
    assert_eq!(
        (st, body.as_str()),
        (401, "Server did not recognize sender.")
    );
    // (undecodable packets are refused by the pool's inbox: tested with the pool)
    // a Content-Length that is not a number
    let req = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: server_port=18001\r\nContent-Length: abc\r\n\r\n";
    assert_eq!(s.raw(req).await.0, 400);
    assert!(s.inbox.is_empty());
    // the server still serves good traffic
    assert_eq!(s.hello(Some(ALICE), "").await, 200);
    assert_eq!(s.inbox.len(), 1);
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let limits = ServerLimits::default().with_max_body_size(1000);
    let s = server(18001, limits).await;
    // declared too large: refused before reading
    let req = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: server_port=18001\r\nContent-Length: 4294967296\r\n\r\n";
    assert_eq!(s.raw(req).await.0, 413);
    // chunked, growing past the limit while read
    let mut req = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: server_port=18001\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"200\r\n");
        req.extend_from_slice(&[0u8; 0x200]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(s.raw(&req).await.0, 413);
    assert!(s.inbox.is_empty());
}

#[tokio::test]
async fn conflicting_id_is_409_and_retry_with_token_is_not_delivered_twice() {
    let s = server(18001, ServerLimits::default()).await;
    s.inbox
        .reject_with(Some(mpc_transport::Rejection::Conflict { id: "0".into() }));
    assert_eq!(s.hello(Some(ALICE), "").await, 409);
    s.inbox.reject_with(None);
    let tok = "x-mpc-delivery: 00ff-1\r\n";
    assert_eq!(s.hello(Some(ALICE), tok).await, 200);
    assert_eq!(s.hello(Some(ALICE), tok).await, 200);
    assert_eq!(
        s.inbox.len(),
        1,
        "a retry with the same token was delivered twice"
    );
    let other = "x-mpc-delivery: 00ff-2\r\n";
    assert_eq!(s.hello(Some(ALICE), other).await, 200);
    assert_eq!(s.inbox.len(), 2);
}

#[tokio::test]
async fn sender_waits_for_a_peer_that_starts_later() {
    let ls = listeners(2);
    let (la, aa) = (&ls[0].0, ls[0].1.clone());
    let bob_addr = ls[1].1.clone();
    let a_inbox = Arc::new(RecordingInbox::new());
    let alice = HttpTransport::start(
        HttpConfig::new("alice", "")
            .listener(la.try_clone().unwrap())
            .peer("bob", bob_addr.clone())
            .retry_window(Duration::from_secs(20)),
        a_inbox.shared(),
    )
    .await
    .unwrap();
    // bob's port is reserved but nothing serves it yet: free it, start later
    let (lb, _) = ls.into_iter().nth(1).unwrap();
    drop(lb);
    let send = tokio::spawn(async move {
        let r = alice.send("bob", Bytes::from_static(HELLO)).await;
        (alice, r)
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let b_inbox = Arc::new(RecordingInbox::new());
    let bob = HttpTransport::start(
        HttpConfig::new("bob", bob_addr).peer("alice", aa),
        b_inbox.shared(),
    )
    .await
    .unwrap();
    let (alice, r) = send.await.unwrap();
    r.unwrap();
    assert_eq!(
        b_inbox.received_from("alice"),
        vec![Bytes::from_static(HELLO)]
    );
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test]
async fn unreachable_peer_is_a_clear_error_naming_it() {
    let ls = listeners(2);
    let dead = ls[1].1.clone();
    drop(ls.into_iter().nth(1));
    let inbox = Arc::new(RecordingInbox::new());
    let alice = HttpTransport::start(
        HttpConfig::new("alice", "127.0.0.1:0")
            .peer("bob", dead)
            .retry_window(Duration::from_millis(300)),
        inbox.shared(),
    )
    .await
    .unwrap();
    match alice.send("bob", Bytes::from_static(HELLO)).await {
        Err(TransportError::Unreachable { peer, reason }) => {
            assert_eq!(peer, "bob");
            assert!(!reason.is_empty());
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_client_against_tls_server_delivers_nothing() {
    let pki = common::Pki::new("ca", &["alice", "bob"]);
    let inbox = Arc::new(RecordingInbox::new());
    let bob = HttpTransport::start(
        HttpConfig::new("bob", "127.0.0.1:0")
            .peer("alice", "127.0.0.1:18001")
            .tls(pki.tls("bob")),
        inbox.shared(),
    )
    .await
    .unwrap();
    let (status, _) = raw::request(bob.local_addr(), &raw::post(Some(ALICE), "", HELLO)).await;
    assert_ne!(status, 200);
    assert!(inbox.is_empty());
}

/// `wire_size`, the estimate a network emulation schedules a packet with,
/// is what the first attempt really writes.
#[tokio::test]
async fn wire_size_predicts_what_a_send_writes() {
    let ls = listeners(2);
    let (alice_addr, bob_addr) = (ls[0].1.clone(), ls[1].1.clone());
    let mut ls = ls.into_iter();
    let start = |name: &str, peer: &str, addr: String, l: std::net::TcpListener| {
        let inbox = Arc::new(RecordingInbox::new());
        let cfg = HttpConfig::new(name, "127.0.0.1:0")
            .listener(l)
            .peer(peer, addr)
            .retry_window(Duration::from_secs(5));
        (cfg, inbox)
    };
    let (ca, ia) = start("alice", "bob", bob_addr, ls.next().unwrap().0);
    let (cb, ib) = start("bob", "alice", alice_addr, ls.next().unwrap().0);
    let alice = HttpTransport::start(ca, ia.shared()).await.unwrap();
    let bob = HttpTransport::start(cb, ib.shared()).await.unwrap();
    for (len, stamp) in [(0usize, 1u64), (16, 9), (100_000, 12345), (3, u64::MAX)] {
        let predicted = alice.wire_size("bob", len as u64, Some(stamp));
        let sent = alice
            .send_stamped("bob", vec![Bytes::from(vec![5u8; len])], stamp)
            .await
            .unwrap();
        assert_eq!(sent.attempts, 1);
        assert_eq!(
            predicted, sent.wire_bytes_sent,
            "{len} bytes, stamp {stamp}"
        );
    }
    assert_eq!(alice.wire_size("nobody", 10, None), 10);
    assert_eq!(ib.received().len(), 4);
    alice.shutdown().await;
    bob.shutdown().await;
}
