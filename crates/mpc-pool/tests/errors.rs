//! Errors that say why, in their one-line message (issue 15).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mpc_pool::{MemoryNetwork, Pool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn memory_pair() -> (Pool, Pool) {
    let net = MemoryNetwork::new();
    let alice = Pool::builder("alice")
        .peer("bob")
        .start_in_memory(&net)
        .await
        .unwrap();
    let bob = Pool::builder("bob")
        .peer("alice")
        .start_in_memory(&net)
        .await
        .unwrap();
    (alice, bob)
}

/// alice over HTTP on 127.0.0.1, her one peer bob at `bob`, retrying for
/// `window`.
async fn alice_over_http(bob: impl std::fmt::Display, window: Duration) -> Pool {
    let (l, _) = mpc_test_support::listener();
    Pool::builder("alice")
        .listener(l)
        .peer_at("bob", bob.to_string())
        .retry_window(window)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unreachable_peer_names_the_root_cause_in_the_message() {
    // a port nobody listens on: bound, then closed
    let closed = {
        let (l, addr) = mpc_test_support::listener();
        drop(l);
        addr
    };
    let alice = alice_over_http(closed, Duration::from_millis(300)).await;
    let err = alice.send("bob", &1u8).await.unwrap_err();
    assert!(err.is_transport(), "{err:?}");
    let line = err.to_string();
    assert!(
        line.starts_with(r#"could not deliver message "0" to "bob": unreachable: "#),
        "{line}"
    );
    assert!(line.to_lowercase().contains("connection refused"), "{line}");
    assert!(line.contains("gave up after"), "{line}");
    assert!(!line.contains('\n'), "one line: {line}");
    // the cause is in the line, not repeated by the source chain, and
    // programs still get the transport's error
    assert_eq!(mpc_test_support::error_chain(&err), line);
    assert!(
        matches!(
            err.transport_error(),
            Some(mpc_pool::transport::TransportError::Unreachable { .. })
        ),
        "{err:?}"
    );
    alice.shutdown().await;
}

/// A peer that answers every request as aiohttp does when the Python
/// handler raised (as it does for a packet it cannot decode).
async fn python_500_peer() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                // read the head and the body (its Content-Length)
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let body = "500 Internal Server Error\n\nServer got itself in trouble";
                let resp = format!(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_python_peer_answering_500_is_explained_once() {
    let peer = python_500_peer().await;
    let alice = alice_over_http(peer, Duration::from_secs(5)).await;
    let err = alice.send("bob", &1u8).await.unwrap_err();
    assert!(err.is_transport(), "{err:?}");
    let line = err.to_string();
    assert!(
        line.starts_with(
            r#"could not deliver message "0" to "bob": the peer failed to handle the message (HTTP 500 Internal Server Error: Server got itself in trouble); a Python peer answers so when it cannot decode it"#
        ),
        "{line}"
    );
    assert!(line.contains("numpy"), "{line}");
    assert!(line.contains("not registered"), "{line}");
    assert_eq!(line.matches("Internal Server Error").count(), 1, "{line}");
    assert_eq!(line.matches("got itself in trouble").count(), 1, "{line}");
    let chain = mpc_test_support::error_chain(&err);
    assert_eq!(chain.matches("got itself in trouble").count(), 1, "{chain}");
    alice.shutdown().await;
}

/// Counts the events at WARN or above from the pool.
#[derive(Clone, Default)]
struct Warnings(Arc<AtomicUsize>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let m = event.metadata();
        if m.target().starts_with("mpc_pool") && *m.level() <= tracing::Level::WARN {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_typed_receive_that_fails_to_decode_is_reported_once_by_its_error() {
    let warnings = Warnings::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(warnings.clone(), || {
        rt.block_on(async {
            let (alice, bob) = memory_pair().await;
            alice.send("bob", &"not a number").await.unwrap();
            let err = bob.recv::<u64>("alice").await.unwrap_err();
            assert!(err.is_decode(), "{err:?}");
            assert!(
                err.to_string().starts_with(
                    r#"message "0" from "alice" does not decode as the requested type"#
                ),
                "{err}"
            );
            assert_eq!(
                warnings.0.load(Ordering::SeqCst),
                0,
                "the decode failure was also logged at WARN"
            );
            // kept: it can still be read as what it is
            let s: String = bob.recv_with_id("alice", "0").await.unwrap();
            assert_eq!(s, "not a number");
            alice.shutdown().await;
            bob.shutdown().await;
        })
    });
    // the counter does count the pool's warnings (here: unread at shutdown)
    tracing::subscriber::with_default(warnings.clone(), || {
        rt.block_on(async {
            let (alice, bob) = memory_pair().await;
            alice.send("bob", &1u8).await.unwrap();
            bob.shutdown().await;
            alice.shutdown().await;
        })
    });
    assert!(warnings.0.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn a_timed_out_automatic_receive_names_its_id_and_how_to_read_it_later() {
    let (alice, bob) = memory_pair().await;
    let err = bob
        .recv::<u64>("alice")
        .timeout(Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.message_id(), Some("0"));
    let line = err.to_string();
    assert!(
        line.starts_with(r#"timed out after 20ms waiting for message "0" from "alice"; its automatic id is used up"#),
        "{line}"
    );
    assert!(line.contains(r#"use recv_with_id("alice", "0")"#), "{line}");
    // the semantics stay Python's: the next recv waits for id "1"
    alice.send("bob", &10u64).await.unwrap(); // id "0"
    alice.send("bob", &11u64).await.unwrap(); // id "1"
    assert_eq!(bob.recv::<u64>("alice").await.unwrap(), 11);
    assert_eq!(bob.recv_with_id::<u64>("alice", "0").await.unwrap(), 10);

    // a custom id is not used up: the message says nothing about it
    let err = bob
        .recv_with_id::<u64>("alice", "x")
        .timeout(Duration::from_millis(20))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"timed out after 20ms waiting for message "x" from "alice""#
    );

    // on a channel: the wire id, and the channel's own id to read it with
    let ch = bob.channel("online").unwrap();
    let err = ch
        .recv::<u64>("alice")
        .timeout(Duration::from_millis(20))
        .await
        .unwrap_err();
    assert_eq!(err.message_id(), Some("online#0"));
    assert!(
        err.to_string()
            .contains(r#"use recv_with_id("alice", "0")"#),
        "{err}"
    );
    alice.shutdown().await;
    bob.shutdown().await;
}

#[test]
fn settings_errors_convert_with_question_mark_and_say_why() {
    fn tls() -> Result<mpc_pool::TlsConfig, mpc_pool::Error> {
        Ok(mpc_pool::TlsConfig::from_pem_files(
            "/nonexistent/alice.key",
            "/nonexistent/alice.crt",
            "/nonexistent/ca.crt",
        )?)
    }
    let err = tls().unwrap_err();
    assert!(err.is_start(), "{err:?}");
    let line = err.to_string();
    assert!(
        line.starts_with("pool could not start: unusable TLS settings: "),
        "{line}"
    );
    assert!(line.contains("/nonexistent/alice.key"), "{line}");

    fn profile() -> Result<mpc_pool::LinkProfile, mpc_pool::Error> {
        Ok("fast please".parse::<mpc_pool::LinkProfile>()?)
    }
    let err = profile().unwrap_err();
    assert!(err.is_start(), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("pool could not start: unusable link profile: "),
        "{err}"
    );
}
