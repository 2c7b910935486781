//! Hostile input against a real pool over HTTP(S) on 127.0.0.1: every
//! hostile request gets the right status, nothing hostile is delivered,
//! the party keeps serving good traffic after each one, and memory stays
//! bounded.
//!
//! Requests are written as raw bytes over TCP (`common::raw`). The parties
//! are `alice` (a well-behaved peer, the source of good traffic) and `bob`
//! (the party under attack).
//!
//! The tests in this file are serialized (one at a time, see [`run`]), so
//! that the bounds they reach (connection slots, read timeouts) are reached
//! by their own traffic only. The memory bound is measured on a party that
//! runs in a child process of its own (`memory_stays_bounded_under_a_hostile_barrage`),
//! so nothing else in this process counts towards it.

mod common;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::raw::{self, Answer, Ending, HANG_GUARD};
use mpc_http::certs::{self, Bundle, OffsetDateTime};
use mpc_pool::serial::encode_packet_raw;
use mpc_pool::{Pool, ServerLimits, TlsConfig, Value};
use tokio::io::AsyncWriteExt;

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

fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let a = l.local_addr().expect("local address").to_string();
    (l, a)
}

impl Pair {
    /// Over plain HTTP, or over mutual TLS with `tls` = (alice's, bob's)
    /// settings.
    async fn start(bob_limits: ServerLimits, tls: Option<(TlsConfig, TlsConfig)>) -> Pair {
        let ((la, aa), (lb, ba)) = (listener(), listener());
        let mut alice = Pool::builder("alice")
            .listener(la)
            .peer_at("bob", ba)
            .retry_window(Duration::from_secs(30))
            .timeout(Some(HANG_GUARD));
        let mut bob = Pool::builder("bob")
            .listener(lb)
            .peer_at("alice", aa)
            .peer_at("carol", format!("{CAROL_ADDR}:{CAROL_PORT}"))
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

// ------------------------------------------------------ malformed packets

/// Bodies the pool must refuse with 400 (as the Python package does:
/// "Failed processing received message"), each with what it is.
fn malformed_bodies() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = vec![
        // garbage
        ("empty body".into(), vec![]),
        ("a reserved marker".into(), b"\xc1garbage".to_vec()),
        ("text".into(), b"hello, this is not msgpack".to_vec()),
        (
            "an HTTP request as body".into(),
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        ),
        ("nil".into(), b"\xc0".to_vec()),
        // wrong envelope keys
        (
            "key objekt".into(),
            b"\x82\xa6objekt\xc4\x01\xc0\xa2id\xa10".to_vec(),
        ),
        (
            "a third key".into(),
            b"\x83\xa6object\xc4\x01\xc0\xa2id\xa10\xa5extra\xc0".to_vec(),
        ),
        ("no id".into(), b"\x81\xa6object\xc4\x01\xc0".to_vec()),
        (
            "object twice".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa6object\xc4\x01\xc0".to_vec(),
        ),
        ("id twice".into(), b"\x82\xa2id\xa10\xa2id\xa11".to_vec()),
        (
            "an array, not a map".into(),
            b"\x92\xc4\x01\xc0\xa10".to_vec(),
        ),
        (
            "object is a str, not bin".into(),
            b"\x82\xa6object\xa1x\xa2id\xa10".to_vec(),
        ),
        (
            "an int key".into(),
            b"\x82\x01\xc4\x01\xc0\xa2id\xa10".to_vec(),
        ),
        (
            "bytes after the envelope".into(),
            [&packet("0", b"\xc0")[..], b"\x00"].concat(),
        ),
        // an id that is not a string
        (
            "id is an int".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\x05".to_vec(),
        ),
        (
            "id is nil".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xc0".to_vec(),
        ),
        (
            "id is bin".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xc4\x010".to_vec(),
        ),
        (
            "id is a list".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\x91\xa10".to_vec(),
        ),
        (
            "id is a float".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00".to_vec(),
        ),
        // invalid UTF-8 in the id
        (
            "id with invalid bytes".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xa2\xff\xfe".to_vec(),
        ),
        (
            "id with an overlong encoding".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xa2\xc0\x80".to_vec(),
        ),
        (
            "id with a surrogate".into(),
            b"\x82\xa6object\xc4\x01\xc0\xa2id\xa3\xed\xa0\x80".to_vec(),
        ),
        // invalid UTF-8 inside the object
        (
            "a str with invalid bytes".into(),
            packet("0", b"\xa2\xff\xfe"),
        ),
        (
            "a map key with invalid bytes".into(),
            packet("0", b"\x81\xa2\xff\xfe\xc0"),
        ),
        (
            "a surrogate in a list".into(),
            packet("0", b"\x92\x01\xa3\xed\xa0\x80"),
        ),
        // other malformed objects
        ("an empty object".into(), packet("0", b"")),
        ("a msgpack extension".into(), packet("0", b"\xd4\x01\x00")),
        ("two values".into(), packet("0", b"\xc0\xc0")),
    ];
    // every truncation of a good packet, and of the value inside one
    let object = mpc_pool::serial::encode_value(&(7u32, "seven", vec![1.5f64, 2.5], true))
        .expect("encodes")
        .to_vec();
    let good = packet("t", &object);
    for k in 0..good.len() {
        v.push((format!("packet cut at {k}"), good[..k].to_vec()));
    }
    for k in 0..object.len() {
        v.push((format!("object cut at {k}"), packet("t", &object[..k])));
    }
    v
}

#[test]
fn malformed_packets_are_400_and_never_delivered() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let bodies = malformed_bodies();
        assert!(bodies.len() > 60);
        for (what, body) in &bodies {
            let answer = raw::exchange(p.bob_addr, &p.post(body)).await;
            assert_malformed(&answer, what);
            p.still_serving(what).await;
        }
        // the control: the same request with a good packet is accepted
        let answer = raw::exchange(p.bob_addr, &p.post(&packet("control", b"\xa2ok"))).await;
        assert_one(&answer, 200, "a good packet");
        assert_eq!(p.received_raw("control").await, Value::from("ok"));
        p.finish().await;
    });
}

#[test]
fn declared_lengths_beyond_the_body_and_deep_nesting_are_400() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let pad = [0u8; 64];
        let cases: Vec<(&str, Vec<u8>)> = vec![
            // the packet's own bin declares 4 GiB - 1
            (
                "envelope bin of 4 GiB",
                [&b"\x82\xa6object\xc6\xff\xff\xff\xff"[..], &pad].concat(),
            ),
            (
                "envelope map of 2^32 - 1 entries",
                [&b"\xdf\xff\xff\xff\xff\xa6object\xc4\x01\xc0"[..], &pad].concat(),
            ),
            (
                "id of 4 GiB",
                [
                    &b"\x82\xa6object\xc4\x01\xc0\xa2id\xdb\xff\xff\xff\xff"[..],
                    &pad,
                ]
                .concat(),
            ),
            // the value inside declares what is not there
            (
                "bin of 4 GiB",
                packet("0", &[&b"\xc6\xff\xff\xff\xff"[..], &pad].concat()),
            ),
            (
                "str of 4 GiB",
                packet("0", &[&b"\xdb\xff\xff\xff\xff"[..], &pad].concat()),
            ),
            (
                "map of 2^32 - 1 entries",
                packet("0", &[&b"\xdf\xff\xff\xff\xff"[..], &[0xc0; 64]].concat()),
            ),
            (
                "array of 2^32 - 1 entries",
                packet("0", &[&b"\xdd\xff\xff\xff\xff"[..], &[0xc0; 64]].concat()),
            ),
            (
                "array of 2^32 - 1 maps of 2^32 - 1 entries",
                packet("0", &b"\xdd\xff\xff\xff\xff\xdf\xff\xff\xff\xff".repeat(64)),
            ),
            (
                "a tuple of 2^32 - 1 items",
                packet(
                    "0",
                    b"\x82\xa4type\xa5tuple\xa4data\xdd\xff\xff\xff\xff\xc0",
                ),
            ),
            (
                "a big int of 4 GiB",
                packet("0", b"\x82\xa4type\xa3int\xa4data\xc6\xff\xff\xff\xff\x01"),
            ),
            // 100 000 levels
            (
                "100 000 nested arrays",
                packet("0", &nested(b"\x91", 100_000, b"\xc0")),
            ),
            (
                "100 000 nested maps",
                packet("0", &nested(b"\x81\xc0", 100_000, b"\xc0")),
            ),
            (
                "100 000 nested array32 headers",
                packet("0", &nested(b"\xdd\x00\x00\x00\x01", 100_000, b"\xc0")),
            ),
            (
                "257 nested arrays (the limit is 256)",
                packet("0", &nested(b"\x91", 257, b"\xc0")),
            ),
        ];
        for (what, body) in &cases {
            assert!(body.len() < 1 << 20, "{what} fits the body limit");
            let answer = raw::exchange(p.bob_addr, &p.post(body)).await;
            assert_malformed(&answer, what);
            p.still_serving(what).await;
        }
        // the control: 256 levels, the decode depth limit, are accepted
        let answer = raw::exchange(
            p.bob_addr,
            &p.post(&packet("deep", &nested(b"\x91", 256, b"\xc0"))),
        )
        .await;
        assert_one(&answer, 200, "256 levels");
        let mut v = p.received_raw("deep").await;
        let mut depth = 0;
        while let Value::List(mut items) = v {
            depth += 1;
            v = items.pop().expect("one item");
        }
        assert_eq!((depth, v), (256, Value::Nil));
        p.finish().await;
    });
}

// --------------------------------------------------------------- lengths

/// Writes `head`, then `unit` `units` times, then `tail` in one write,
/// while reading the answer at the same time (the server may answer and
/// close before the request is through); returns the answer and the bytes
/// written after `head` (`tail` excluded).
///
/// A server that stops reading a request and closes the connection while
/// bytes of it are still unread makes the kernel send a reset, which can
/// overtake its answer: the client then sees the connection reset and no
/// status. Tests that assert an exact status therefore send nothing past
/// the byte at which the server stops reading (the `tail`, written at
/// once, ends the request).
async fn stream(
    addr: SocketAddr,
    head: &[u8],
    unit: &[u8],
    units: usize,
    tail: &[u8],
) -> (Answer, usize) {
    let s = raw::connect(addr).await;
    let (mut rd, mut wr) = s.into_split();
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        let deadline = tokio::time::Instant::now() + HANG_GUARD;
        let ending = loop {
            match tokio::time::timeout_at(
                deadline,
                tokio::io::AsyncReadExt::read(&mut rd, &mut chunk),
            )
            .await
            {
                Err(_) => break Ending::StillOpen,
                Ok(Ok(0)) => break Ending::Closed,
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Ok(Err(_)) => break Ending::Reset,
            }
        };
        raw::parse(&buf, ending)
    });
    let mut written = 0;
    let writing = async {
        wr.write_all(head).await?;
        for _ in 0..units {
            wr.write_all(unit).await?;
            written += unit.len();
        }
        wr.write_all(tail).await
    };
    // a write error means the server stopped reading: expected
    let _ = tokio::time::timeout(HANG_GUARD, writing).await;
    let answer = reader.await.expect("reader");
    (answer, written)
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

/// A chunked body of `chunks` 64 KiB chunks, then `tail`.
async fn chunked_stream(
    addr: SocketAddr,
    head: &[u8],
    chunks: usize,
    tail: &[u8],
) -> (Answer, usize) {
    stream(addr, head, chunk_unit(), chunks, tail).await
}

fn chunked_head(cookie: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {cookie}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn bodies_over_the_limit_are_413() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let limit = 1u64 << 20;
        // declared too large: refused before a byte of body is read
        for declared in [limit + 1, 4 << 30, u64::MAX - 3] {
            let head = format!(
                "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\nContent-Length: {declared}\r\n\r\n",
                p.cookie()
            );
            let answer = raw::exchange(p.bob_addr, head.as_bytes()).await;
            assert_one(&answer, 413, &format!("Content-Length {declared}"));
            let body = &answer.only().body;
            assert!(
                body.contains(&format!(
                    "packet of {declared} bytes exceeds the limit of {limit} bytes"
                )),
                "{body}"
            );
            p.still_serving("a declared body over the limit").await;
        }
        // a length hyper itself cannot represent (it keeps the top values
        // for internal use): refused by the HTTP layer, as too large a head
        let head = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\nContent-Length: {}\r\n\r\n",
            p.cookie(),
            u64::MAX
        );
        let answer = raw::exchange(p.bob_addr, head.as_bytes()).await;
        assert_one(&answer, 431, "Content-Length 2^64 - 1");
        p.still_serving("Content-Length 2^64 - 1").await;
        // declared too large, with the first bytes of the body: refused
        // before the body is read
        let mut req = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\nContent-Length: {}\r\n\r\n",
            p.cookie(),
            limit + 1
        )
        .into_bytes();
        req.extend_from_slice(&[0x5a; 1000]);
        let answer = raw::exchange(p.bob_addr, &req).await;
        assert_one(&answer, 413, "a declared body over the limit, being sent");
        p.still_serving("a declared body over the limit, being sent")
            .await;
        // chunked, growing past the limit while it is read: the limit, then
        // one byte more
        const LAST: &[u8] = b"1\r\nZ\r\n0\r\n\r\n";
        let (answer, written) =
            chunked_stream(p.bob_addr, &chunked_head(&p.cookie()), 16, LAST).await;
        assert_eq!(written, 16 * (1 << 16) + 9 * 16);
        assert_one(&answer, 413, "a chunked body of the limit and one byte");
        let body = &answer.only().body;
        assert!(
            body.contains(&format!("exceeds the limit of {limit} bytes")),
            "{body}"
        );
        p.still_serving("a chunked body over the limit").await;
        // chunked, 8 times the limit: the server stops reading at the limit
        // (the rest is never read; the answer may be lost to the reset, see
        // `stream`)
        let (answer, _) =
            chunked_stream(p.bob_addr, &chunked_head(&p.cookie()), 128, b"0\r\n\r\n").await;
        assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
        assert!(matches!(answer.statuses()[..], [] | [413]), "{answer:?}");
        p.still_serving("a chunked body of 8 MiB").await;
        // the control: exactly the limit is read (and is a malformed packet: 400)
        let (answer, _) =
            chunked_stream(p.bob_addr, &chunked_head(&p.cookie()), 16, b"0\r\n\r\n").await;
        assert_malformed(&answer, "a chunked body of exactly the limit");
        p.finish().await;
    });
}

#[test]
fn lying_or_broken_lengths_are_refused() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let good = packet("lie", b"\xa4lies");
        let cookie = p.cookie();
        let head = |len: &str| {
            format!(
                "POST / HTTP/1.1\r\nHost: bob\r\nCookie: {cookie}\r\nContent-Length: {len}\r\n\r\n"
            )
            .into_bytes()
        };

        // shorter body, then the client closes its side: the body is
        // incomplete, nothing is delivered
        let mut s = raw::connect(p.bob_addr).await;
        s.write_all(&head(&(good.len() + 10).to_string()))
            .await
            .unwrap();
        s.write_all(&good).await.unwrap();
        s.shutdown().await.unwrap();
        let (bytes, ending) = raw::read_to_end(&mut s, HANG_GUARD).await;
        let answer = raw::parse(&bytes, ending);
        assert_one(
            &answer,
            400,
            "a body shorter than its Content-Length, then EOF",
        );
        assert!(
            answer.only().body.starts_with("body could not be read"),
            "{answer:?}"
        );
        p.still_serving("a short body and EOF").await;

        // shorter body, connection held open: the body read times out (2 s here)
        let mut s = raw::connect(p.bob_addr).await;
        s.write_all(&head(&(good.len() + 10).to_string()))
            .await
            .unwrap();
        s.write_all(&good).await.unwrap();
        let started = Instant::now();
        let (bytes, ending) = raw::read_to_end(&mut s, HANG_GUARD).await;
        let waited = started.elapsed();
        let answer = raw::parse(&bytes, ending);
        assert_eq!(answer.statuses(), vec![408], "{answer:?}");
        assert!(
            waited >= Duration::from_millis(1500),
            "answered before the body read timeout: {waited:?}"
        );
        p.still_serving("a short body held open").await;

        // longer body: the declared bytes are a truncated packet (400), and
        // a 400 closes the connection, so the bytes beyond are never read
        // as another request
        let mut req = head("10");
        req.extend_from_slice(&good);
        let answer = raw::exchange(p.bob_addr, &req).await;
        assert_eq!(answer.statuses(), vec![400], "{answer:?}");
        assert_eq!(answer.only().header("connection"), Some("close"));
        assert!(
            answer.responses[0]
                .body
                .starts_with("Failed processing received message"),
            "{answer:?}"
        );
        assert_ne!(answer.ending, Ending::StillOpen);
        p.still_serving("a body longer than its Content-Length")
            .await;

        // not a number, negative, two different values
        for (what, len) in [
            ("not a number", "abc"),
            ("negative", "-1"),
            ("hex", "0x10"),
            ("too big for u64", "99999999999999999999999"),
            ("empty", ""),
        ] {
            let mut req = head(len);
            req.extend_from_slice(&good);
            let answer = raw::exchange(p.bob_addr, &req).await;
            assert_eq!(
                answer.statuses(),
                vec![400],
                "Content-Length {what}: {answer:?}"
            );
            p.still_serving(&format!("a Content-Length that is {what}"))
                .await;
        }
        let mut req = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nCookie: {}\r\nContent-Length: {}\r\nContent-Length: 3\r\n\r\n",
            p.cookie(),
            good.len()
        )
        .into_bytes();
        req.extend_from_slice(&good);
        let answer = raw::exchange(p.bob_addr, &req).await;
        assert_eq!(
            answer.statuses(),
            vec![400],
            "two Content-Lengths: {answer:?}"
        );
        p.still_serving("two different Content-Lengths").await;

        // broken chunked encodings
        for (what, body) in [
            (
                "a chunk size that is not hex",
                &b"zz\r\nabc\r\n0\r\n\r\n"[..],
            ),
            (
                "a chunk size that overflows",
                b"fffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
            ),
            ("a chunk longer than declared", b"2\r\nabcdef\r\n0\r\n\r\n"),
        ] {
            let mut req = chunked_head(&p.cookie());
            req.extend_from_slice(body);
            let answer = raw::exchange(p.bob_addr, &req).await;
            assert_one(&answer, 400, what);
            p.still_serving(what).await;
        }
        p.finish().await;
    });
}

// --------------------------------------------------------------- cookies

#[test]
fn missing_repeated_and_foreign_cookies() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let body = packet("c", b"\xa6cookie");
        let alice = p.cookie();
        const MISSING: &str = "missing server_port cookie";
        const NOT_A_PORT: &str = "server_port cookie is not a port number";
        const CONFLICT: &str = "conflicting server_port cookies";
        const UNKNOWN: &str = "Server did not recognize sender.";
        // (what, (cookie header, extra header lines), status, body)
        type Case<'a> = (&'a str, (Option<String>, String), u16, &'a str);
        let one = |c: &str| (Some(c.to_owned()), String::new());
        let cases: Vec<Case<'_>> = vec![
            ("no cookie", (None, String::new()), 400, MISSING),
            ("another cookie only", one("session=1"), 400, MISSING),
            ("the name in capitals", one("SERVER_PORT=1"), 400, MISSING),
            (
                "a port that is not a number",
                one("server_port=x"),
                400,
                NOT_A_PORT,
            ),
            (
                "a port out of range",
                one("server_port=65536"),
                400,
                NOT_A_PORT,
            ),
            ("a negative port", one("server_port=-1"), 400, NOT_A_PORT),
            ("an empty port", one("server_port="), 400, NOT_A_PORT),
            (
                "two different ports in one header",
                one(&format!("{alice}; server_port={CAROL_PORT}")),
                400,
                CONFLICT,
            ),
            (
                "two different ports in two headers",
                (
                    Some(alice.clone()),
                    format!("Cookie: server_port={CAROL_PORT}\r\n"),
                ),
                400,
                CONFLICT,
            ),
            (
                "a cookie header that is not text",
                one(&format!("{alice}; x=\u{0}")),
                400,
                "cookie header is not text",
            ),
            // foreign: the port of nobody
            ("the port of no peer", one("server_port=9"), 401, UNKNOWN),
            (
                "bob's own port",
                one(&format!("server_port={}", p.bob_addr.port())),
                401,
                UNKNOWN,
            ),
            // carol's port, from an address that is not carol's
            (
                "carol's port from 127.0.0.1",
                one(&format!("server_port={CAROL_PORT}")),
                401,
                UNKNOWN,
            ),
        ];
        for (what, (cookie, extra), status, text) in &cases {
            let mut req = raw::post(cookie.as_deref(), extra, &body);
            if *what == "a cookie header that is not text" {
                // a byte above 0x7f: legal in a header value, not text
                let at = req.windows(3).position(|w| w == b"x=\0").unwrap();
                req[at + 2] = 0xff;
            }
            let answer = raw::exchange(p.bob_addr, &req).await;
            assert_one(&answer, *status, what);
            assert_eq!(answer.only().body, *text, "{what}");
            p.still_serving(what).await;
        }

        // carol's port from another local address (127.0.0.2) is refused too
        let mut s = raw::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), p.bob_addr).await;
        let answer = raw::exchange_on(
            &mut s,
            &raw::post(Some(&format!("server_port={CAROL_PORT}")), "", &body),
        )
        .await;
        assert_one(&answer, 401, "carol's port from 127.0.0.2");
        p.still_serving("carol's port from 127.0.0.2").await;

        // controls: the same request with alice's port from 127.0.0.2 is
        // alice's (every loopback address is one host), and a repeated
        // identical cookie is fine
        let mut s = raw::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), p.bob_addr).await;
        let answer = raw::exchange_on(&mut s, &p.post(&packet("from-2", b"\x01"))).await;
        assert_one(&answer, 200, "alice's port from 127.0.0.2");
        assert_eq!(p.received_raw("from-2").await, Value::Int(1));
        let req = raw::post(
            Some(&alice),
            &format!("Cookie: a=b; {alice}\r\n"),
            &packet("twice", b"\x02"),
        );
        assert_one(
            &raw::exchange(p.bob_addr, &req).await,
            200,
            "one port twice",
        );
        assert_eq!(p.received_raw("twice").await, Value::Int(2));
        p.finish().await;
    });
}

// ------------------------------------------------------- the HTTP layer

#[test]
fn garbage_and_oversized_heads_are_refused_by_the_http_layer() {
    run(async {
        // a long header read timeout: the endless head must be cut off by
        // size, long before it
        let mut p = Pair::start(
            limits().with_header_read_timeout(Duration::from_secs(10)),
            None,
        )
        .await;
        for (what, req) in [
            (
                "binary garbage",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec(),
            ),
            (
                "not a method",
                b"P\0ST / HTTP/1.1\r\nHost: bob\r\n\r\n".to_vec(),
            ),
            (
                "a header without a colon",
                b"POST / HTTP/1.1\r\nHost bob\r\n\r\n".to_vec(),
            ),
            (
                "a bad version",
                b"POST / HTTP/7.3\r\nHost: bob\r\n\r\n".to_vec(),
            ),
        ] {
            let answer = raw::exchange(p.bob_addr, &req).await;
            assert_one(&answer, 400, what);
            p.still_serving(what).await;
        }
        // more header lines than hyper takes (100), in one complete head: 431
        let mut req = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\n",
            p.cookie()
        )
        .into_bytes();
        for i in 0..200 {
            req.extend_from_slice(format!("X-Filler-{i}: y\r\n").as_bytes());
        }
        req.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let answer = raw::exchange(p.bob_addr, &req).await;
        assert_one(&answer, 431, "200 header lines");
        p.still_serving("200 header lines").await;
        // a head that never ends, 8 MiB of it: cut off at the head limit
        // (64 KiB), long before its end or the header read timeout (the 431
        // may be lost to the reset, see `stream`; a server that took all
        // of it would answer the completed head instead)
        let started = Instant::now();
        let (answer, _) = stream(p.bob_addr, ENDLESS_HEAD, header_unit(), 128, b"\r\n\r\n").await;
        assert!(matches!(answer.statuses()[..], [] | [431]), "{answer:?}");
        assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not cut off before the header read timeout (10 s): {:?}",
            started.elapsed()
        );
        p.still_serving("an endless head").await;
        // a complete head of 1 MiB (100 lines of 10 KiB) with a good packet:
        // refused for its head (431, or the reset), not delivered
        let body = packet("big-head", b"\xc0");
        let mut head = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\nContent-Length: {}\r\n",
            p.cookie(),
            body.len()
        )
        .into_bytes();
        for i in 0..95 {
            head.extend_from_slice(
                format!("X-Big-{i:02}: {}\r\n", "b".repeat(10 << 10)).as_bytes(),
            );
        }
        head.extend_from_slice(b"\r\n");
        let (answer, _) = stream(p.bob_addr, &head, &body, 1, b"").await;
        assert!(matches!(answer.statuses()[..], [] | [431]), "{answer:?}");
        assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
        p.still_serving("a head of 1 MiB").await;
        // a method other than POST and GET
        let answer = raw::exchange(
            p.bob_addr,
            format!("PUT / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\nContent-Length: 0\r\n\r\n", p.cookie()).as_bytes(),
        )
        .await;
        assert_one(&answer, 405, "PUT");
        p.still_serving("PUT").await;
        p.finish().await;
    });
}

// ------------------------------------------------- connection slots

/// An outsider's connection asking `GET /` with keep-alive every `period`
/// (shorter than the header read timeout, so an idle keep-alive connection
/// would never be closed), reconnecting whenever the server closes it,
/// until `stop`. Returns (requests answered, answers that closed their
/// connection).
async fn keep_alive_getter(
    addr: SocketAddr,
    period: Duration,
    stop: Arc<AtomicBool>,
) -> (u32, u32) {
    let (mut answered, mut closed) = (0, 0);
    while !stop.load(Ordering::Acquire) {
        let Ok(Ok(mut s)) =
            tokio::time::timeout(HANG_GUARD, tokio::net::TcpStream::connect(addr)).await
        else {
            continue;
        };
        while !stop.load(Ordering::Acquire) {
            if s.write_all(b"GET / HTTP/1.1\r\nHost: bob\r\n\r\n")
                .await
                .is_err()
            {
                break;
            }
            // the answer, then either the close or silence until the next GET
            let (bytes, ending) = raw::read_to_end(&mut s, period).await;
            let answer = raw::parse(&bytes, ending);
            answered += answer.responses.len() as u32;
            if ending != Ending::StillOpen {
                closed += 1;
                break;
            }
        }
    }
    (answered, closed)
}

#[test]
fn outsiders_asking_get_with_keep_alive_cannot_hold_the_connection_slots() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        // an unidentified request's answer closes its connection
        let answer = raw::exchange(p.bob_addr, b"GET / HTTP/1.1\r\nHost: bob\r\n\r\n").await;
        assert_one(&answer, 200, "GET with keep-alive");
        assert_eq!(answer.only().header("connection"), Some("close"));
        let unknown = raw::exchange(
            p.bob_addr,
            b"POST / HTTP/1.1\r\nHost: bob\r\nCookie: server_port=1\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        assert_one(&unknown, 401, "an unknown sender with keep-alive");
        // 200 outsiders (more than the 64 + 64 slots) ask GET every 300 ms
        // (the header read timeout is 1 s): with keep-alive honoured they
        // would hold every slot for as long as they like, and alice's
        // messages would wait behind them in the listen queue
        let stop = Arc::new(AtomicBool::new(false));
        let mut getters = tokio::task::JoinSet::new();
        for _ in 0..200 {
            getters.spawn(keep_alive_getter(
                p.bob_addr,
                Duration::from_millis(300),
                stop.clone(),
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        for i in 0..20 {
            p.still_serving(&format!(
                "(during) 200 outsiders asking GET with keep-alive, {i}"
            ))
            .await;
        }
        stop.store(true, Ordering::Release);
        let (mut answered, mut closed) = (0, 0);
        while let Some(r) = getters.join_next().await {
            let (a, c) = r.expect("getter");
            answered += a;
            closed += c;
        }
        assert!(answered > 100, "the outsiders were answered: {answered}");
        assert!(
            closed >= answered,
            "every answer closed its connection: {closed} closes, {answered} answers"
        );
        p.finish().await;
    });
}

// ---------------------------------------------------------- slow clients

#[test]
fn a_client_sending_its_head_a_byte_at_a_time_is_cut_off() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let req = p.post(&packet("slow", b"\xa4slow"));
        let head_len = req.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        // 50 ms a byte: the head alone would take several seconds; the
        // header read timeout is 1 s
        assert!(head_len * 50 > 5_000);
        let s = raw::connect(p.bob_addr).await;
        let (mut rd, mut wr) = s.into_split();
        let closed = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let reader = tokio::spawn({
            let closed = closed.clone();
            async move {
                let mut buf = [0u8; 1024];
                let mut got = Vec::new();
                let r = tokio::time::timeout(Duration::from_secs(10), async {
                    loop {
                        match tokio::io::AsyncReadExt::read(&mut rd, &mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                })
                .await;
                closed.store(true, Ordering::Release);
                (r.is_ok(), started.elapsed(), got)
            }
        });
        let mut sent = 0;
        // meanwhile, good traffic is served
        let good = async {
            p.still_serving("(during) a slow head").await;
        };
        let slow = async {
            while sent < req.len() && !closed.load(Ordering::Acquire) {
                if wr.write_all(&req[sent..sent + 1]).await.is_err() {
                    break;
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::join!(good, slow);
        let (was_closed, after, got) = reader.await.unwrap();
        assert!(
            was_closed,
            "the slow client was not disconnected within 10 s"
        );
        assert!(after < Duration::from_secs(10), "{after:?}");
        assert!(
            sent < head_len,
            "the server waited for the whole head ({sent} of {head_len} bytes sent in {after:?})"
        );
        assert!(
            got.is_empty() || !String::from_utf8_lossy(&got).contains(" 200 "),
            "{}",
            String::from_utf8_lossy(&got)
        );
        p.still_serving("a slow head").await;
        p.finish().await;
    });
}

/// Connects `n` clients to `addr`, at most `at_once` at a time; each sends
/// `send(i)` (maybe nothing) and then nothing more, and waits for the
/// server to close its connection. Returns, per client, whether it
/// connected and how long after the start the server closed it (`None`:
/// still open after `bound`).
///
/// Why `at_once`: the kernel queues at most 128 connections the server has
/// not accepted yet (the listen backlog of std's `TcpListener`); beyond
/// that, a connect can complete on the client's side (SYN cookies) while
/// the server's kernel drops it, so the server never hears of it and has
/// nothing to close, and a client that never sends a byte never learns.
/// Keeping `at_once` below `max_connections` + 128 keeps every connection
/// one the server really has.
async fn idle_clients(
    addr: SocketAddr,
    n: usize,
    at_once: usize,
    send: impl Fn(usize) -> &'static [u8],
    bound: Duration,
) -> tokio::task::JoinSet<Option<Option<Duration>>> {
    let mut set = tokio::task::JoinSet::new();
    let started = Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(at_once));
    for i in 0..n {
        let first = send(i);
        let slots = slots.clone();
        set.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("open semaphore");
            let connect = tokio::net::TcpStream::connect(addr);
            let rest = bound.saturating_sub(started.elapsed());
            let Ok(Ok(mut s)) = tokio::time::timeout(rest, connect).await else {
                return None;
            };
            if !first.is_empty() && s.write_all(first).await.is_err() {
                return Some(Some(started.elapsed()));
            }
            let rest = bound.saturating_sub(started.elapsed());
            Some(
                raw::closed_within(&mut s, rest)
                    .await
                    .map(|_| started.elapsed()),
            )
        });
    }
    set
}

#[test]
fn hundreds_of_connections_that_never_finish_are_closed_and_good_traffic_gets_through() {
    run(async {
        let mut p = Pair::start(limits(), None).await;
        let half: &'static [u8] = b"POST / HTTP/1.1\r\nHost: bob\r\nContent-Le";
        // 300 clients, 160 at a time (max_connections is 64): a third send
        // half a head, the others nothing at all
        let mut idle = idle_clients(
            p.bob_addr,
            300,
            160,
            |i| if i % 3 == 0 { half } else { b"" },
            Duration::from_secs(90),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        // good traffic gets through while they hang (once the header read
        // timeout has freed slots)
        p.still_serving("(during) 300 idle connections").await;
        let mut connected = 0;
        let mut closed_after = Vec::new();
        while let Some(r) = idle.join_next().await {
            match r.expect("client task") {
                None => {}
                Some(c) => {
                    connected += 1;
                    closed_after.push(c);
                }
            }
        }
        assert_eq!(connected, 300, "every client got connected eventually");
        let still_open = closed_after.iter().filter(|c| c.is_none()).count();
        assert_eq!(still_open, 0, "connections the server never closed");
        let last = closed_after.iter().flatten().max().copied().unwrap();
        eprintln!("300 idle connections: the last was closed after {last:?}");
        p.still_serving("300 idle connections").await;
        p.finish().await;
    });
}

// -------------------------------------------------- the plain-mode warning

/// The start-up warning of a party without TLS (crates/mpc-http/src/lib.rs,
/// `HttpTransport::start`).
const PLAIN_WARNING: &str = "running without TLS: peers are identified by address and port, which anyone on the network path can forge";

/// While capturing: the parties that logged [`PLAIN_WARNING`].
static WARNED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// A process-wide subscriber that records [`PLAIN_WARNING`]s (and nothing
/// else) while [`CAPTURING`]; the tests run one at a time, so what it
/// records comes from the test that captures.
struct PlainWarnings;

impl tracing::Subscriber for PlainWarnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == tracing::Level::WARN && metadata.target().starts_with("mpc_http")
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String, String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                match field.name() {
                    "message" => self.0 = format!("{value:?}"),
                    "party" => self.1 = format!("{value:?}"),
                    _ => {}
                }
            }
        }
        if CAPTURING.load(Ordering::Acquire) {
            let mut f = Fields(String::new(), String::new());
            event.record(&mut f);
            if f.0.starts_with(PLAIN_WARNING) {
                WARNED.lock().unwrap_or_else(|e| e.into_inner()).push(f.1);
            }
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The parties that logged the plain-mode warning while `start` ran.
fn plain_warnings(start: impl Future<Output = ()>) -> Vec<String> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(PlainWarnings).expect("no other subscriber");
    });
    run(async {
        WARNED.lock().unwrap_or_else(|e| e.into_inner()).clear();
        CAPTURING.store(true, Ordering::Release);
        start.await;
        CAPTURING.store(false, Ordering::Release);
    });
    std::mem::take(&mut *WARNED.lock().unwrap_or_else(|e| e.into_inner()))
}

#[test]
fn a_party_without_tls_warns_at_start_up_and_one_with_tls_does_not() {
    let plain = plain_warnings(async {
        let p = Pair::start(limits(), None).await;
        p.alice.shutdown().await;
        p.bob.shutdown().await;
    });
    assert_eq!(plain, vec!["alice".to_owned(), "bob".to_owned()]);
    let tls = plain_warnings(async {
        let pki = pki(&["alice", "bob"], 2, OffsetDateTime::now_utc());
        let tls = Some((
            pki.tls_config("alice", true).unwrap(),
            pki.tls_config("bob", false).unwrap(),
        ));
        let p = Pair::start(limits(), tls).await;
        p.alice.shutdown().await;
        p.bob.shutdown().await;
    });
    assert_eq!(tls, Vec::<String>::new());
}

// ------------------------------------------------------------------- TLS

fn pki(names: &[&str], days: u32, now: OffsetDateTime) -> Bundle {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    certs::generate(&names, days, now).expect("certificates")
}

/// The Python package's test certificates (X.509 v1, another CA).
fn tno(name: &str) -> &'static [u8] {
    match name {
        "party_0.crt" => include_bytes!("../../mpc-http/tests/fixtures/tno-certs/party_0.crt"),
        "party_0.pem" => include_bytes!("../../mpc-http/tests/fixtures/tno-certs/party_0.pem"),
        "ca-combined.crt" => {
            include_bytes!("../../mpc-http/tests/fixtures/tno-certs/ca-combined.crt")
        }
        _ => unreachable!(),
    }
}

/// A hostile party named `name` that reaches bob at `bob` with `tls`;
/// sends once and returns the error (a refused handshake must fail the send).
async fn hostile_send(name: &str, bob: SocketAddr, tls: TlsConfig) -> String {
    let (l, _) = listener();
    let m = Pool::builder(name)
        .listener(l)
        .peer_at("bob", bob.to_string())
        .tls(tls)
        // a refused certificate ends the send at once, without retries;
        // the window only covers attempts whose alert was lost to a
        // connection reset (TLS 1.3: the client may be writing its request
        // when the server refuses it and closes)
        .retry_window(Duration::from_secs(10))
        .start()
        .await
        .expect("the hostile party starts");
    let r = tokio::time::timeout(HANG_GUARD, m.send_with_id("bob", "hostile", &"hostile"))
        .await
        .expect("the hostile send ends");
    m.shutdown().await;
    let e = r.expect_err("bob must refuse the certificate");
    assert!(e.is_transport(), "{e}");
    let mut text = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}

#[test]
fn unknown_expired_and_wrongly_signed_client_certificates_are_refused() {
    run(async {
        let now = OffsetDateTime::now_utc();
        let good = pki(&["alice", "bob"], 2, now);
        // valid from 31 to 29 days ago
        let old = pki(&["alice"], 1, now - Duration::from_secs(30 * 86_400));
        // same CA name as `good` (every generated CA is "mpc-pool test CA"),
        // another key
        let other = pki(&["alice"], 2, now);
        let g_bob = good.party("bob").unwrap();

        // bob trusts good's CA and old's CA, knows alice by her CN (so
        // any valid certificate with CN alice from those CAs would do) and
        // pins the Python package's party_0 certificate for peer party_0
        let bundle = format!("{}{}", good.ca.cert_pem, old.ca.cert_pem);
        let bob_tls = |extra_ca: &[u8]| {
            let mut ca = bundle.clone().into_bytes();
            ca.extend_from_slice(extra_ca);
            TlsConfig::from_pem(g_bob.key_pem.as_bytes(), g_bob.cert_pem.as_bytes(), &ca)
                .unwrap()
                .peer_certificate_pem("party_0", tno("party_0.crt"))
                .unwrap()
        };
        let alice_tls = good.tls_config("alice", false).unwrap();
        let ((la, aa), (lb, ba)) = (listener(), listener());
        let alice = Pool::builder("alice")
            .listener(la)
            .peer_at("bob", ba.clone())
            .tls(alice_tls)
            .retry_window(Duration::from_secs(30))
            .start()
            .await
            .unwrap();
        let bob = Pool::builder("bob")
            .listener(lb)
            .peer_at("alice", aa)
            .peer_at("party_0", format!("{CAROL_ADDR}:{CAROL_PORT}"))
            .tls(bob_tls(b""))
            .server_limits(limits())
            .timeout(Some(HANG_GUARD))
            .start()
            .await
            .unwrap();
        let bob_addr = bob.local_addr().unwrap();
        let mut p = Pair {
            alice_port: alice.local_addr().unwrap().port(),
            alice,
            bob,
            bob_addr,
            delivered: 0,
        };
        p.still_serving("start").await;
        // each hostile party trusts good's CA, so it accepts bob's server
        // certificate and the refusal is bob's

        // 1. unknown CA: party_0's certificate is pinned by bob, but its
        // issuer (the Python package's intermediate CA) is in no bundle
        let unknown = TlsConfig::from_pem(
            tno("party_0.pem"),
            tno("party_0.crt"),
            good.ca.cert_pem.as_bytes(),
        )
        .unwrap();
        let e = hostile_send("party_0", p.bob_addr, unknown.clone()).await;
        assert!(
            e.contains("received fatal alert: CertificateUnknown"),
            "{e}"
        );
        p.still_serving("a certificate from an unknown CA").await;

        // 2. expired: CN alice, issued by a CA bob trusts, expired 29 days ago
        let o_alice = old.party("alice").unwrap();
        let expired = TlsConfig::from_pem(
            o_alice.key_pem.as_bytes(),
            o_alice.cert_pem.as_bytes(),
            good.ca.cert_pem.as_bytes(),
        )
        .unwrap();
        let e = hostile_send("alice", p.bob_addr, expired).await;
        assert!(
            e.contains("received fatal alert: CertificateExpired"),
            "{e}"
        );
        p.still_serving("an expired certificate").await;

        // 3. wrongly signed: CN alice, issuer name that of bob's CA, but
        // signed with another key
        let x_alice = other.party("alice").unwrap();
        let forged = TlsConfig::from_pem(
            x_alice.key_pem.as_bytes(),
            x_alice.cert_pem.as_bytes(),
            good.ca.cert_pem.as_bytes(),
        )
        .unwrap();
        assert!(format!("{forged:?}").contains("CN=alice (mpc-pool test CA:"));
        assert!(format!("{:?}", good.tls_config("alice", false).unwrap())
            .contains("CN=alice (mpc-pool test CA:"));
        let e = hostile_send("alice", p.bob_addr, forged).await;
        assert!(
            e.contains("received fatal alert: CertificateUnknown"),
            "{e}"
        );
        p.still_serving("a wrongly signed certificate").await;

        // 4. no TLS at all, and connections that never start a handshake
        let answer = raw::exchange(p.bob_addr, &p.post(&packet("plain", b"\xc0"))).await;
        assert!(answer.responses.is_empty(), "{answer:?}");
        let mut idle = idle_clients(p.bob_addr, 100, 100, |_| b"", Duration::from_secs(60)).await;
        p.still_serving("(during) idle TLS connections").await;
        while let Some(r) = idle.join_next().await {
            let c = r.unwrap().expect("connected");
            assert!(c.is_some(), "an idle TLS connection was never closed");
        }
        p.still_serving("idle TLS connections").await;

        // the control for 1: a bob that also trusts the Python package's
        // CAs accepts the very same party_0
        let (lc, _) = listener();
        let bob2 = Pool::builder("bob")
            .listener(lc)
            .peer_at("alice", format!("127.0.0.1:{}", p.alice_port))
            .peer_at("party_0", format!("{CAROL_ADDR}:{CAROL_PORT}"))
            .tls(bob_tls(tno("ca-combined.crt")))
            .start()
            .await
            .unwrap();
        let (lm, _) = listener();
        let m = Pool::builder("party_0")
            .listener(lm)
            .peer_at("bob", bob2.local_addr().unwrap().to_string())
            .tls(unknown)
            .retry_window(Duration::from_secs(5))
            .start()
            .await
            .unwrap();
        m.send_with_id("bob", "x", &1)
            .await
            .expect("trusted CA: accepted");
        assert_eq!(bob2.recv_with_id::<i32>("party_0", "x").await.unwrap(), 1);
        m.shutdown().await;
        bob2.shutdown().await;
        p.finish().await;
    });
}

// ---------------------------------------------------------------- memory
//
// The party under attack runs in a child process of its own (this test
// binary, run again with [`TARGET_ENV`] set, see [`barrage_target`]), so
// the resident memory measured is the target's alone: not the attacking
// clients', and not that of any other test of this binary, whatever runs
// beside it.

/// A field of `/proc/<pid>/status`, in KiB (Linux); `None` once the
/// process is gone.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Set in the environment of the child process that runs
/// [`barrage_target`].
const TARGET_ENV: &str = "MPC_POOL_BARRAGE_TARGET";

/// The target of `memory_stays_bounded_under_a_hostile_barrage`, run only
/// in its child process (with [`TARGET_ENV`] set; elsewhere it returns at
/// once, hence ignored). It starts alice and bob, prints
/// `READY <bob's address> <alice's port>`, then follows commands on stdin,
/// one per line: `serve <what>` (good traffic, answered `SERVED`) and
/// `finish` (bob received exactly the good traffic and holds nothing
/// unread, answered `FINISHED`). Any failure panics, which fails the child
/// and so the parent test.
#[test]
#[ignore = "runs only as the child process of memory_stays_bounded_under_a_hostile_barrage"]
fn barrage_target() {
    if std::env::var_os(TARGET_ENV).is_none() {
        return;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut bob_limits = limits();
    if let Some(v) = std::env::var_os(BODY_LIMIT_ENV) {
        let max = v
            .to_str()
            .and_then(|v| v.parse().ok())
            .expect("a body limit");
        bob_limits = bob_limits.with_max_body_size(max);
    }
    run(async move {
        let mut p = Pair::start(bob_limits, None).await;
        p.still_serving("start").await;
        println!("READY {} {}", p.bob_addr, p.alice_port);
        while let Some(line) = rx.recv().await {
            if let Some(what) = line.strip_prefix("serve ") {
                p.still_serving(what).await;
                println!("SERVED");
            } else if line == "finish" {
                p.finish().await;
                println!("FINISHED");
                return;
            } else {
                panic!("unknown command {line:?}");
            }
        }
        panic!("stdin closed before `finish`");
    });
}

/// Set in the child's environment: bob's body limit (default: [`limits`]).
const BODY_LIMIT_ENV: &str = "MPC_POOL_BARRAGE_BODY_LIMIT";

/// The child process running [`barrage_target`], and its stdio.
struct Target {
    child: std::process::Child,
    input: Option<std::process::ChildStdin>,
    output: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Target {
    /// Starts the child; returns it with bob's address and alice's port.
    fn start() -> (Target, SocketAddr, u16) {
        Self::start_with(None, None)
    }

    /// As [`Target::start`], with bob's body limit and a limit on the
    /// child's address space (`ulimit -v`, KiB: an allocation beyond it
    /// fails, as on a host with little memory and no overcommit).
    fn start_with(
        body_limit: Option<usize>,
        address_space_kib: Option<u64>,
    ) -> (Target, SocketAddr, u16) {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().expect("this test binary");
        let mut command = match address_space_kib {
            None => Command::new(exe),
            Some(kib) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
                    .arg(exe);
                c
            }
        };
        if let Some(b) = body_limit {
            command.env(BODY_LIMIT_ENV, b.to_string());
        }
        let mut child = command
            .args(["barrage_target", "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(TARGET_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the target process starts");
        let input = child.stdin.take();
        let output = std::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut t = Target {
            child,
            input,
            output,
        };
        let ready = t.expect_line("READY ");
        let mut words = ready.split(' ');
        let bob_addr = words
            .next()
            .and_then(|a| a.parse().ok())
            .expect("bob's address");
        let alice_port = words
            .next()
            .and_then(|a| a.parse().ok())
            .expect("alice's port");
        (t, bob_addr, alice_port)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What follows `prefix` on the first line of the child's output that
    /// holds it (libtest's own output is skipped; it may also start the
    /// line: `test barrage_target ... READY ..`). Blocking: call it where
    /// the child answers promptly.
    fn expect_line(&mut self, prefix: &str) -> String {
        for line in self.output.by_ref() {
            let line = line.expect("the target's output");
            if let Some(at) = line.find(prefix) {
                return line[at + prefix.len()..].to_owned();
            }
        }
        let status = self.child.wait();
        panic!("the target process ended without printing {prefix:?}: {status:?}");
    }

    /// Sends `command`, waits for the line starting with `answer`.
    fn command(&mut self, command: &str, answer: &str) {
        use std::io::Write;
        let input = self.input.as_mut().expect("the target's stdin is open");
        writeln!(input, "{command}").expect("the target reads its commands");
        input.flush().expect("the target reads its commands");
        self.expect_line(answer);
    }

    /// Good traffic inside the target (see [`Pair::still_serving`]).
    fn still_serving(&mut self, after: &str) {
        let command = format!("serve {after}");
        tokio::task::block_in_place(|| self.command(&command, "SERVED"));
    }

    /// The target's final checks ([`Pair::finish`]); it must then exit
    /// successfully.
    fn finish(mut self) {
        tokio::task::block_in_place(|| {
            self.command("finish", "FINISHED");
            self.input = None;
            let status = self.child.wait().expect("the target process ends");
            assert!(status.success(), "the target process failed: {status}");
        });
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // a no-op after `finish`; otherwise the test failed: stop the child
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn declared_lengths_reserve_nothing_until_the_bytes_arrive() {
    run(async {
        // bob accepts packets of up to 512 MiB (the default) and runs with
        // 2.4 GiB of address space: reserving the declared length up front,
        // the eight requests below would need 4 GiB and abort the process
        const DECLARED: usize = 512 << 20;
        let (mut target, addr, alice_port) = Target::start_with(Some(DECLARED), Some(2_500_000));
        let pid = target.pid();
        let before = status_kib(pid, "VmSize").expect("VmSize of the target (Linux)");
        let head = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nCookie: server_port={alice_port}\r\nContent-Length: {DECLARED}\r\n\r\nab"
        );
        let mut held = Vec::new();
        for _ in 0..8 {
            let mut s = raw::connect(addr).await;
            s.write_all(head.as_bytes())
                .await
                .expect("the request is sent");
            held.push(s);
        }
        // bob keeps serving while the eight wait for their bodies
        tokio::time::sleep(Duration::from_millis(500)).await;
        target.still_serving("(during) eight requests declaring 512 MiB each");
        let during = status_kib(pid, "VmSize").expect("the target is alive");
        let grown = during.saturating_sub(before);
        eprintln!("address space of the target: {before} KiB before, {during} KiB with the eight requests (+{grown} KiB)");
        assert!(
            grown < 256 << 10,
            "the target reserved {grown} KiB of address space for 16 bytes of bodies"
        );
        drop(held);
        target.still_serving("eight requests declaring 512 MiB each");
        target.finish();
    });
}

#[test]
fn memory_stays_bounded_under_a_hostile_barrage() {
    run(async {
        let (mut target, addr, alice_port) = Target::start();
        let pid = target.pid();
        let cookie = format!("server_port={alice_port}");
        // What would happen without the bounds: each chunked body below
        // would be buffered whole (8 x 64 MiB = 512 MiB), and so would each
        // endless head (4 x 64 MiB); the stalled heads would each hold a
        // read buffer of up to 4 MiB until the header read timeout (48 x
        // 4 MiB: +190 MiB measured with only the 4 MiB read buffer as the
        // limit); each 2^32-entry map or array would reserve room for its
        // declared entries (tens of GiB: an allocation failure aborts the
        // process); 4 GiB bins would be awaited or reserved; 100 000 levels
        // would overflow a recursive decoder's stack; idle connections
        // would pile up. With them, the target grows by a few tens of MiB
        // at most.
        const BOUND_KIB: u64 = 64 << 10;
        let before = status_kib(pid, "VmRSS").expect("VmRSS of the target (Linux)");
        // reset the target's peak (VmHWM) to its current size, if the
        // kernel allows
        let peak_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let stop = Arc::new(AtomicBool::new(false));
        let sampled = Arc::new(AtomicU64::new(before));
        let sampler = std::thread::spawn({
            let (stop, sampled) = (stop.clone(), sampled.clone());
            move || {
                while !stop.load(Ordering::Acquire) {
                    if let Some(kib) = status_kib(pid, "VmRSS") {
                        sampled.fetch_max(kib, Ordering::AcqRel);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        });

        // heads of almost 4 MiB that stall: each would hold its buffer until
        // the header read timeout (48 x 4 MiB) if heads were not limited
        let mut stalled = tokio::task::JoinSet::new();
        for _ in 0..48 {
            stalled.spawn(async move { stream(addr, ENDLESS_HEAD, header_unit(), 63, b"").await });
        }
        while let Some(r) = stalled.join_next().await {
            let (answer, _) = r.expect("stalling client");
            assert!(matches!(answer.statuses()[..], [] | [431]), "{answer:?}");
            assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
        }
        // idle connections, held during the rest of the barrage
        let idle = idle_clients(addr, 200, 100, |_| b"", Duration::from_secs(90)).await;
        let pad = [0u8; 64];
        let malformed: Vec<Vec<u8>> = vec![
            [&b"\x82\xa6object\xc6\xff\xff\xff\xff"[..], &pad].concat(),
            packet("0", &[&b"\xc6\xff\xff\xff\xff"[..], &pad].concat()),
            packet("0", &[&b"\xdf\xff\xff\xff\xff"[..], &[0xc0; 64]].concat()),
            packet("0", &[&b"\xdd\xff\xff\xff\xff"[..], &[0xc0; 64]].concat()),
            packet("0", &b"\xdd\xff\xff\xff\xff\xdf\xff\xff\xff\xff".repeat(64)),
            packet("0", &nested(b"\x91", 100_000, b"\xc0")),
            packet("0", &nested(b"\x81\xc0", 100_000, b"\xc0")),
        ];
        // all at once: bodies over the limit, chunked, and heads that never
        // end, each trying to send 64 MiB (their answers may be lost to the
        // reset, see `stream`); the kernel's socket buffers can take a few
        // MiB of each, the server reads 1 MiB or 64 KiB
        const STREAMED: usize = 64 << 20;
        let mut streams = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let head = chunked_head(&cookie);
            streams.spawn(async move {
                let (answer, written) = chunked_stream(addr, &head, 1024, b"0\r\n\r\n").await;
                (answer, written, 413)
            });
        }
        for _ in 0..4 {
            streams.spawn(async move {
                let tail = b"\r\n\r\n";
                let (answer, written) = stream(addr, ENDLESS_HEAD, header_unit(), 1024, tail).await;
                (answer, written, 431)
            });
        }
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            for body in &malformed {
                let req = raw::post(Some(&cookie), "", body);
                set.spawn(async move { (raw::exchange(addr, &req).await.statuses(), vec![400]) });
            }
            // a declared 4 GiB body
            let head = format!(
                "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Length: {}\r\n\r\n",
                4u64 << 30
            );
            set.spawn(async move {
                (
                    raw::exchange(addr, head.as_bytes()).await.statuses(),
                    vec![413],
                )
            });
            // don't let the test's own buffers pile up: a round at a time
            while let Some(r) = set.join_next().await {
                let (got, want) = r.expect("hostile client");
                assert_eq!(got, want);
            }
        }
        while let Some(r) = streams.join_next().await {
            let (answer, written, status) = r.expect("streaming client");
            assert!(
                answer.statuses().is_empty() || answer.statuses() == [status],
                "{answer:?}"
            );
            assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
            assert!(
                written < STREAMED,
                "the server read all {written} bytes of a request over its limits"
            );
        }
        target.still_serving("(during) the barrage");
        let mut idle = idle;
        while let Some(r) = idle.join_next().await {
            assert!(
                r.unwrap().expect("connected").is_some(),
                "an idle connection stayed open"
            );
        }
        stop.store(true, Ordering::Release);
        sampler.join().unwrap();
        let peak = if peak_reset {
            let hwm = status_kib(pid, "VmHWM").expect("VmHWM of the target");
            hwm.max(sampled.load(Ordering::Acquire))
        } else {
            sampled.load(Ordering::Acquire)
        };
        let grown = peak.saturating_sub(before);
        eprintln!(
            "memory of the target: {before} KiB before, peak {peak} KiB during the barrage (+{grown} KiB; peak reset: {peak_reset})"
        );
        assert!(
            grown < BOUND_KIB,
            "the target's resident memory grew by {grown} KiB (bound {BOUND_KIB} KiB)"
        );
        target.still_serving("the barrage");
        target.finish();
    });
}
