//! Hostile input against a real pool over HTTP(S) on 127.0.0.1: every
//! hostile request gets the right status, nothing hostile is delivered,
//! the party keeps serving good traffic after each one, and memory stays
//! bounded.
//!
//! Requests are written as raw bytes over TCP (`mpc_test_support::raw`).
//! The parties are `alice` (a well-behaved peer, the source of good
//! traffic) and `bob` (the party under attack).
//!
//! One test binary, one module per concern: [`malformed`] packets,
//! declared and actual [`lengths`], [`cookies`], [`heads`] (garbage,
//! oversized, slow), connection [`slots`], [`tls`] (certificates and the
//! plain-mode warning) and [`memory`]. This file holds the set-up they
//! share.
//!
//! The tests of this binary are serialized (one at a time, see [`run`]), so
//! that the bounds they reach (connection slots, read timeouts) are reached
//! by their own traffic only. The memory bound is measured on a party that
//! runs in a child process of its own
//! (`memory::memory_stays_bounded_under_a_hostile_barrage`), so nothing
//! else in this process counts towards it.

mod cookies;
mod heads;
mod lengths;
mod malformed;
mod memory;
mod slots;
mod tls;

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use mpc_pool::serial::encode_packet_raw;
use mpc_pool::{Pool, ServerLimits, TlsConfig, Value};
use mpc_test_support::listener;
use mpc_test_support::raw::{self, Answer, Ending, HANG_GUARD};

// ------------------------------------------------------------------ set-up

/// One test at a time in this binary (see the module docs).
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `test` on a fresh two-worker runtime, alone in this process.
fn run<F: Future<Output = ()>>(test: F) {
    let _alone = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(test);
}

/// Runs `test` (see [`run`]) on a fresh [`Pair`] over plain HTTP, bob with
/// `bob_limits`; then [`Pair::finish`]: bob received exactly the good
/// traffic and holds nothing unread.
fn attack(bob_limits: ServerLimits, test: impl AsyncFnOnce(&mut Pair)) {
    run(async {
        let mut p = Pair::start(bob_limits, None).await;
        test(&mut p).await;
        p.finish().await;
    });
}

/// A configured peer of bob that never runs: it only exists so that bob
/// knows its port. Its address is not loopback, and the pool treats every
/// loopback address as one host (`127.0.0.2` is `127.0.0.1`, as in the
/// Python package), so a request from 127.0.0.x naming carol's port comes
/// from "another address" than carol's. 10.255.255.1 is never connected to
/// (bob never sends to carol).
const CAROL_ADDR: &str = "10.255.255.1";
const CAROL_PORT: u16 = 40404;

/// Small limits, so the bounds are reached quickly.
fn limits() -> ServerLimits {
    ServerLimits::default()
        .with_max_body_size(1 << 20)
        .with_header_read_timeout(Duration::from_secs(1))
        .with_body_read_timeout(Duration::from_secs(2))
        .with_handshake_timeout(Duration::from_secs(1))
        .with_max_connections(64)
}

/// alice and bob (bob also knows carol, who never runs); bob under attack.
struct Pair {
    alice: Pool,
    bob: Pool,
    bob_addr: SocketAddr,
    alice_port: u16,
    /// Messages bob must have received from alice (good traffic and
    /// deliberately accepted controls).
    delivered: u64,
}

impl Pair {
    /// Over plain HTTP, or over mutual TLS with `tls` = (alice's, bob's)
    /// settings.
    async fn start(bob_limits: ServerLimits, tls: Option<(TlsConfig, TlsConfig)>) -> Pair {
        Pair::start_knowing("carol", bob_limits, tls).await
    }

    /// As [`Pair::start`], with bob's third peer (who never runs, at
    /// [`CAROL_ADDR`]:[`CAROL_PORT`]) named `third`.
    async fn start_knowing(
        third: &str,
        bob_limits: ServerLimits,
        tls: Option<(TlsConfig, TlsConfig)>,
    ) -> Pair {
        let ((la, aa), (lb, ba)) = (listener(), listener());
        let mut alice = Pool::builder("alice")
            .listener(la)
            .peer_at("bob", ba)
            .retry_window(Duration::from_secs(30))
            .timeout(Some(HANG_GUARD));
        let mut bob = Pool::builder("bob")
            .listener(lb)
            .peer_at("alice", aa)
            .peer_at(third, format!("{CAROL_ADDR}:{CAROL_PORT}"))
            .server_limits(bob_limits)
            .timeout(Some(HANG_GUARD));
        if let Some((ta, tb)) = tls {
            alice = alice.tls(ta);
            bob = bob.tls(tb);
        }
        let alice = alice.start().await.expect("alice starts");
        let bob = bob.start().await.expect("bob starts");
        Pair {
            bob_addr: bob.local_addr().expect("bob listens"),
            alice_port: alice.local_addr().expect("alice listens").port(),
            alice,
            bob,
            delivered: 0,
        }
    }

    /// The cookie alice's requests carry.
    fn cookie(&self) -> String {
        format!("server_port={}", self.alice_port)
    }

    /// A POST from "alice" (her cookie) of `body`.
    fn post(&self, body: &[u8]) -> Vec<u8> {
        raw::post(Some(&self.cookie()), "", body)
    }

    /// Good traffic: alice sends bob a message and bob receives it.
    async fn still_serving(&mut self, after: &str) {
        self.delivered += 1;
        let id = format!("good-{}", self.delivered);
        let text = format!("good message {} after {after}", self.delivered);
        tokio::time::timeout(HANG_GUARD, self.alice.send_with_id("bob", &id, &text))
            .await
            .unwrap_or_else(|_| panic!("alice's send after {after} hangs"))
            .unwrap_or_else(|e| panic!("alice's send after {after} fails: {e}"));
        let got: String = self
            .bob
            .recv_with_id("alice", &id)
            .timeout(HANG_GUARD)
            .await
            .unwrap_or_else(|e| panic!("bob's receive after {after} fails: {e}"));
        assert_eq!(got, text);
    }

    /// A message alice's address sent raw and bob accepted on purpose (a
    /// control): bob receives it.
    async fn received_raw(&mut self, id: &str) -> Value {
        self.delivered += 1;
        self.bob
            .recv_with_id::<Value>("alice", id)
            .timeout(HANG_GUARD)
            .await
            .unwrap_or_else(|e| panic!("control message {id:?} not received: {e}"))
    }

    /// Bob received exactly the good messages and nothing else, and holds
    /// nothing unread.
    async fn finish(self) {
        let stats = self.bob.stats();
        for s in &stats {
            let expected = if s.peer == "alice" { self.delivered } else { 0 };
            assert_eq!(
                s.messages_received, expected,
                "messages bob accepted from {}: {stats:?}",
                s.peer
            );
        }
        let report = self.bob.shutdown().await;
        assert!(
            report.unread.is_empty(),
            "hostile input was delivered: {:?}",
            report.unread
        );
        self.alice.shutdown().await;
    }
}

/// A packet with message id `id` around `object` (any bytes).
fn packet(id: &str, object: &[u8]) -> Vec<u8> {
    encode_packet_raw(id, object).expect("wraps").to_vec()
}

/// `prefix` repeated `n` times, then `end`.
fn nested(prefix: &[u8], n: usize, end: &[u8]) -> Vec<u8> {
    let mut v = prefix.repeat(n);
    v.extend_from_slice(end);
    v
}

/// Asserts `answer` is exactly one response with `status`, and that the
/// server closed the connection afterwards.
fn assert_one(answer: &Answer, status: u16, what: &str) {
    assert_eq!(
        answer.statuses(),
        vec![status],
        "{what}: expected one {status}, got {answer:?}"
    );
    assert_ne!(
        answer.ending,
        Ending::StillOpen,
        "{what}: connection left open"
    );
}

/// The pool's refusal of a malformed packet.
fn assert_malformed(answer: &Answer, what: &str) {
    assert_one(answer, 400, what);
    let body = &answer.only().body;
    assert!(
        body.starts_with("Failed processing received message"),
        "{what}: {body}"
    );
}

// ---------------------------------------------------------------- requests

/// The head of a POST from `cookie` declaring `length` bytes of body (any
/// text), with `Connection: close`.
fn declaring(cookie: &str, length: impl Display) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Length: {length}\r\n\r\n"
    )
    .into_bytes()
}

/// One 64 KiB chunk of a chunked body, with its framing.
fn chunk_unit() -> &'static [u8] {
    static UNIT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    UNIT.get_or_init(|| [&b"10000\r\n"[..], &[0x5a; 1 << 16], b"\r\n"].concat())
}

/// 64 KiB of one header value (a head that sends it again and again has a
/// single line that never ends: under the limit on header lines).
fn header_unit() -> &'static [u8] {
    static UNIT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    UNIT.get_or_init(|| vec![b'z'; 1 << 16])
}

/// The start of a head whose last line goes on with [`header_unit`]s.
const ENDLESS_HEAD: &[u8] = b"POST / HTTP/1.1\r\nHost: bob\r\nX-Flood: ";

/// A chunked body of `chunks` 64 KiB chunks, then `tail` (see
/// [`raw::stream`]).
async fn chunked_stream(
    addr: SocketAddr,
    head: &[u8],
    chunks: usize,
    tail: &[u8],
) -> (Answer, usize) {
    raw::stream(addr, head, chunk_unit(), chunks, tail).await
}

/// The head of a chunked POST from `cookie`, with `Connection: close`.
fn chunked_head(cookie: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {cookie}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes()
}
