//! The clients: one reqwest client per peer, with retries and
//! progress-based deadlines.
//!
//! An attempt is watched while it runs (see [`Progress`]): the request body
//! is handed to hyper in slices, and hyper asks for the next slice only when
//! its write buffer has room, so the time of the last slice handed out
//! follows what the connection really carries. An attempt whose body makes
//! no progress for the stall timeout, or whose response does not start
//! within the response deadline after the last slice went out, has
//! stalled: it is dropped (which closes its connection: hyper's connection
//! task closes a connection whose request was abandoned, and such a
//! connection is never put back in the pool) and the message is sent again
//! on a fresh connection with the same delivery token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use bytes::Bytes;
use mpc_transport::{Rejection, Sent, TransportError};
use reqwest::header::{HeaderValue, CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;

use crate::addr::PeerAddr;
use crate::error::HttpError;
use crate::protocol::{
    RustPeers, DELIVERY_HEADER, DEPARTURE_PATH, POOL_HEADER, REPORT_PATH, ROUND_HEADER,
};
use crate::tls::TlsSetup;
use crate::wire::{digits, headers_len, status_line_len};

/// First pause between attempts; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Most of an error response body read for the error message.
const MAX_ERROR_BODY: usize = 4096;
/// Time allowed to open a connection (TCP; the TLS handshake is watched by
/// the stall deadline on top of it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest slice of a request body handed to hyper at once: hyper asks for
/// the next one when its write buffer has room, so progress is seen at
/// this granularity (128 KiB take 50 ms at 20 Mbit/s, 5 s at 210 kbit/s).
const BODY_SLICE: usize = 128 << 10;
/// The receiver's allowance for reading what it received before it
/// answers: a Python party decodes the whole message first. The response
/// deadline grows by one second per this many bytes sent.
const RECEIVER_BYTES_PER_SEC: u64 = 16 << 20;
/// Bytes that may still sit in socket buffers (ours, a proxy's, the
/// peer's) when the last slice has been handed to the connection: they
/// drain at the pace the body went out, and the response deadline allows
/// for that.
const BUFFERED_ALLOWANCE: u64 = 4 << 20;

/// The timing settings of the clients.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// How long a send keeps retrying.
    pub(crate) retry_window: Duration,
    /// The overall cap of one attempt: this plus a second per MiB.
    pub(crate) request_timeout: Duration,
    /// No progress for this long means the exchange stalled.
    pub(crate) stall_timeout: Duration,
}

#[derive(Debug)]
struct PeerClient {
    client: reqwest::Client,
    /// The peer's server, parsed once (not at every request).
    url: reqwest::Url,
}

#[derive(Debug)]
pub(crate) struct Clients {
    peers: HashMap<String, Arc<PeerClient>>,
    cookie: HeaderValue,
    timing: Timing,
    closed: Arc<AtomicBool>,
    rust_peers: Arc<RustPeers>,
    /// Delivery tokens: a random prefix for this transport and a counter.
    token_prefix: u64,
    token_seq: AtomicU64,
}

/// A prefix for delivery tokens that differs between runs and parties
/// (not a secret: it only tells retries of one message from new messages).
fn token_prefix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish()
}

impl Clients {
    pub(crate) fn new(
        peers: &[PeerAddr],
        advertised_port: u16,
        tls: Option<&TlsSetup>,
        timing: Timing,
        closed: Arc<AtomicBool>,
        rust_peers: Arc<RustPeers>,
    ) -> Result<Self, HttpError> {
        let mut map = HashMap::new();
        for p in peers {
            let mut b = reqwest::Client::builder()
                .http1_only()
                .tcp_nodelay(true)
                .no_proxy()
                .connect_timeout(CONNECT_TIMEOUT)
                .pool_idle_timeout(Duration::from_secs(60))
                .redirect(reqwest::redirect::Policy::none());
            let scheme = match tls {
                Some(t) => {
                    let cfg = t.client_config(&p.name).ok_or_else(|| HttpError::Client {
                        peer: p.name.clone(),
                        reason: "no TLS client configuration for this peer".into(),
                    })?;
                    b = b.tls_backend_preconfigured((*cfg).clone());
                    "https"
                }
                None => {
                    // never used for http:// URLs, but the client needs a
                    // TLS configuration with our (ring) provider to build
                    b = b.tls_backend_preconfigured(plain_tls_config()?);
                    "http"
                }
            };
            let client = b.build().map_err(|e| HttpError::Client {
                peer: p.name.clone(),
                reason: e.to_string(),
            })?;
            let host = if p.host.contains(':') {
                format!("[{}]", p.host)
            } else {
                p.host.clone()
            };
            map.insert(
                p.name.clone(),
                Arc::new(PeerClient {
                    client,
                    url: reqwest::Url::parse(&format!("{scheme}://{host}:{}/", p.port)).map_err(
                        |e| HttpError::BadAddress {
                            peer: p.name.clone(),
                            address: format!("{host}:{} ({e})", p.port),
                        },
                    )?,
                }),
            );
        }
        let cookie =
            HeaderValue::from_str(&format!("server_port={advertised_port}")).map_err(|e| {
                HttpError::Client {
                    peer: String::new(),
                    reason: e.to_string(),
                }
            })?;
        Ok(Clients {
            peers: map,
            cookie,
            timing,
            closed,
            rust_peers,
            token_prefix: token_prefix(),
            token_seq: AtomicU64::new(0),
        })
    }

    /// The request head and body one attempt of a packet of `len` bytes to
    /// `to` writes (what [`Sent`] will report for a first attempt); `len`
    /// for a peer not known.
    pub(crate) fn wire_size(&self, to: &str, len: u64, stamp: Option<u64>) -> u64 {
        let Some(peer) = self.peers.get(to) else {
            return len;
        };
        // the token of the next send: 16 hex digits, `-`, the sequence in hex
        let seq = self.token_seq.load(Ordering::Relaxed);
        let token = 17 + (u64::BITS - seq.leading_zeros()).div_ceil(4).max(1) as usize;
        request_head_len(&peer.url, self.cookie.len(), token, stamp, len as usize) + len
    }

    pub(crate) fn send(
        &self,
        to: &str,
        parts: Vec<Bytes>,
        stamp: Option<u64>,
    ) -> impl std::future::Future<Output = Result<Sent, TransportError>> + Send + 'static {
        let size: usize = parts.iter().map(Bytes::len).sum();
        let peer = self.peers.get(to).cloned();
        let to = to.to_owned();
        let cookie = self.cookie.clone();
        let Timing {
            retry_window: window,
            request_timeout,
            stall_timeout,
        } = self.timing;
        let attempt_timeout = request_timeout + Duration::from_secs((size >> 20) as u64);
        let closed = self.closed.clone();
        let rust_peers = self.rust_peers.clone();
        let seq = self.token_seq.fetch_add(1, Ordering::Relaxed);
        let token = format!("{:016x}-{seq:x}", self.token_prefix);
        async move {
            let peer = peer.ok_or_else(|| TransportError::UnknownPeer { peer: to.clone() })?;
            let started = Instant::now();
            let deadline = started + window;
            let mut backoff = FIRST_BACKOFF;
            let mut attempt = 0u32;
            let mut wire = Wire::default();
            loop {
                if closed.load(Ordering::Acquire) {
                    return Err(TransportError::Closed);
                }
                attempt += 1;
                let progress = Arc::new(Progress::new(size as u64));
                let mut request = peer
                    .client
                    .post(peer.url.clone())
                    .header(COOKIE, cookie.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(DELIVERY_HEADER, token.as_str());
                if let Some(stamp) = stamp {
                    request = request.header(ROUND_HEADER, stamp);
                }
                let request = request
                    .timeout(attempt_timeout)
                    .body(PartsBody::body(&parts, progress.clone()));
                let head = request_head_len(&peer.url, cookie.len(), token.len(), stamp, size);
                let request = request.send();
                // the attempt is raced against its watchdog; when the
                // watchdog wins, the request future is dropped here, and
                // its connection with it
                let res = tokio::select! {
                    biased;
                    res = request => match res {
                        Ok(r) => Ok(r),
                        Err(e) => {
                            if let Some(refusal) = tls_refusal(&e) {
                                // a certificate refused (by the peer or by
                                // us) is refused again on every retry
                                return Err(TransportError::Other {
                                    peer: to,
                                    source: format!("{refusal} ({}; not retried)", describe(&e)).into(),
                                });
                            }
                            Err(describe(&e))
                        }
                    },
                    stall = progress.watch(stall_timeout) => {
                        tracing::debug!(to = %to, attempt, reason = %stall, "exchange stalled, dropping its connection");
                        Err(stall.to_string())
                    }
                };
                // what this attempt wrote: its head, and the body slices
                // hyper took
                wire.sent += head + progress.taken();
                if let Ok(resp) = &res {
                    wire.received += response_len(resp);
                }
                let why = match res {
                    Ok(resp) if resp.status() == StatusCode::OK => {
                        if resp.headers().contains_key(POOL_HEADER) {
                            rust_peers.mark(&to);
                        }
                        if attempt > 1 {
                            tracing::debug!(to = %to, attempt, "delivered after retries");
                        }
                        return Ok(Sent::new(wire.sent, wire.received, attempt));
                    }
                    Ok(resp) if resp.status() == StatusCode::SERVICE_UNAVAILABLE => {
                        format!("busy: {}", error_text(resp, stall_timeout).await)
                    }
                    Ok(resp) => {
                        let status = resp.status();
                        let text = error_text(resp, stall_timeout).await;
                        return Err(match rejection(status, text) {
                            Ok(rejection) => TransportError::Rejected {
                                peer: to,
                                rejection,
                            },
                            Err(other) => TransportError::Other {
                                peer: to,
                                source: other.into(),
                            },
                        });
                    }
                    Err(why) => why,
                };
                let now = Instant::now();
                if now >= deadline {
                    return Err(TransportError::Unreachable {
                        peer: to,
                        reason: format!(
                            "{why} (gave up after {} in {}; retry window {})",
                            attempts(attempt),
                            seconds(now - started),
                            seconds(window),
                        ),
                    });
                }
                tracing::debug!(to = %to, attempt, reason = %why, "send failed, retrying");
                tokio::time::sleep(backoff.min(deadline - now)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Bytes moved for one message over its attempts.
#[derive(Debug, Default, Clone, Copy)]
struct Wire {
    sent: u64,
    received: u64,
}

/// The size of the HTTP/1.1 head hyper writes for `request`: the request
/// line, the headers set here, and those the client adds (`host`,
/// `accept`, `content-length`), each `name: value\r\n`, and the empty line.
fn request_head_len(
    url: &reqwest::Url,
    cookie: usize,
    token: usize,
    stamp: Option<u64>,
    size: usize,
) -> u64 {
    const CRLF: usize = 2;
    let line = "POST ".len() + url.path().len() + " HTTP/1.1".len() + CRLF;
    let host = url.host_str().map_or(0, str::len) + url.port().map_or(0, |p| 1 + digits(p.into()));
    let fixed = "host: ".len() + host + CRLF + "accept: */*".len() + CRLF;
    let length = "content-length: ".len() + digits(size as u64) + CRLF;
    let set = "cookie: ".len()
        + cookie
        + CRLF
        + "content-type: application/octet-stream".len()
        + CRLF
        + DELIVERY_HEADER.len()
        + 2
        + token
        + CRLF
        + stamp.map_or(0, |s| ROUND_HEADER.len() + 2 + digits(s) + CRLF);
    (line + fixed + length + set + CRLF) as u64
}

/// The size of a response as read: its status line, headers, and the body
/// it declared.
fn response_len(resp: &reqwest::Response) -> u64 {
    (status_line_len(resp.status()) + headers_len(resp.headers()) + 2) as u64
        + resp.content_length().unwrap_or(0)
}

/// "1 attempt", "2 attempts".
fn attempts(n: u32) -> String {
    if n == 1 {
        "1 attempt".into()
    } else {
        format!("{n} attempts")
    }
}

/// A duration for people: "0.25 s", "7.2 s", "30 s".
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{s:.2} s")
    } else if d.subsec_nanos() == 0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// How a stalled exchange was noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stall {
    /// No connection ready to take the request.
    Connecting(Duration),
    /// The request body made no progress.
    Body(Duration),
    /// The whole request was handed over, the response did not start.
    Response(Duration),
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stall::Connecting(d) => write!(
                f,
                "stalled: no connection ready to take the request within {}",
                seconds(*d)
            ),
            Stall::Body(d) => write!(
                f,
                "stalled: the request made no progress for {}",
                seconds(*d)
            ),
            Stall::Response(d) => write!(
                f,
                "stalled: no response within {} after the request was sent",
                seconds(*d)
            ),
        }
    }
}

/// What an attempt's body has done so far, written by the body as hyper
/// takes slices of it and read by the watchdog.
#[derive(Debug)]
struct Progress {
    size: u64,
    started: Instant,
    state: Mutex<ProgressState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct ProgressState {
    /// When the first slice was taken (the connection was ready).
    first: Option<Instant>,
    /// When the latest slice was taken.
    last: Option<Instant>,
    /// When the last slice was taken: the whole request is with the
    /// connection.
    ended: Option<Instant>,
    /// Body bytes handed to the connection so far.
    taken: u64,
}

impl Progress {
    fn new(size: u64) -> Self {
        let started = Instant::now();
        let mut state = ProgressState::default();
        if size == 0 {
            // hyper never asks an empty body for anything
            state = ProgressState {
                first: Some(started),
                last: Some(started),
                ended: Some(started),
                taken: 0,
            };
        }
        Progress {
            size,
            started,
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> ProgressState {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Body bytes handed to the connection so far.
    fn taken(&self) -> u64 {
        self.state().taken
    }

    /// Records that a slice of `len` bytes was handed out, the last one if `end`.
    fn record(&self, len: u64, end: bool) {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.taken += len;
        s.first.get_or_insert(now);
        s.last = Some(now);
        if end {
            s.ended = Some(now);
        }
    }

    /// When the attempt counts as stalled, given what happened so far.
    fn deadline(&self, stall: Duration) -> (Instant, Stall) {
        let s = self.state();
        match (s.first, s.last, s.ended) {
            (Some(first), _, Some(ended)) => {
                let wait = response_deadline(stall, self.size, ended - first);
                (ended + wait, Stall::Response(wait))
            }
            (_, Some(last), None) => (last + stall, Stall::Body(stall)),
            _ => {
                let wait = CONNECT_TIMEOUT + stall;
                (self.started + wait, Stall::Connecting(wait))
            }
        }
    }

    /// Resolves when the attempt has stalled (never, while it progresses).
    async fn watch(&self, stall: Duration) -> Stall {
        loop {
            let (at, why) = self.deadline(stall);
            let now = Instant::now();
            if now >= at {
                return why;
            }
            // deadlines only move later, except when the connection gets
            // ready (the long connecting allowance ends): look again
            // within a stall timeout
            tokio::time::sleep_until(at.min(now + stall)).await;
        }
    }
}

/// How long after the last byte of a request was handed to the connection
/// its response may take to start: the stall timeout, plus a second per
/// 16 MiB sent (the receiver may read the whole message before it
/// answers), plus the time the body's last 4 MiB took to go out (that much
/// may still be in socket buffers on the way, draining at that pace).
fn response_deadline(stall: Duration, size: u64, upload: Duration) -> Duration {
    let reading = Duration::from_secs_f64(size as f64 / RECEIVER_BYTES_PER_SEC as f64);
    let draining = if size == 0 {
        Duration::ZERO
    } else {
        upload.mul_f64(size.min(BUFFERED_ALLOWANCE) as f64 / size as f64)
    };
    stall + reading + draining
}

impl Clients {
    /// Posts `reason` to the departure path of every peer known to run this
    /// crate (never to a Python peer, which would take it for a message),
    /// concurrently, once, waiting at most [`DEPARTURE_TIMEOUT`]. Failures
    /// are only logged: a peer that is gone needs nothing.
    pub(crate) fn announce_departure(
        &self,
        reason: &str,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut reason = reason.to_owned();
        if reason.len() > 1000 {
            let mut cut = 1000;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        let posts: Vec<_> = self
            .peers
            .iter()
            .filter(|(name, _)| self.rust_peers.is_rust(name))
            .map(|(name, p)| {
                let mut url = p.url.clone();
                url.set_path(DEPARTURE_PATH);
                let req = p
                    .client
                    .post(url)
                    .header(COOKIE, self.cookie.clone())
                    .timeout(DEPARTURE_TIMEOUT)
                    .body(reason.clone());
                let name = name.clone();
                tokio::spawn(async move {
                    match req.send().await {
                        Ok(r) => {
                            tracing::debug!(to = %name, status = %r.status(), "departure announced")
                        }
                        Err(e) => {
                            tracing::debug!(to = %name, error = %e, "departure not announced")
                        }
                    }
                })
            })
            .collect();
        async move {
            for p in posts {
                let _ = p.await;
            }
        }
    }
}

impl Clients {
    /// Asks `to` for its report, if it is known to run this crate (never a
    /// Python peer); `Ok(None)` otherwise or if it has none.
    pub(crate) fn ask_report(
        &self,
        to: &str,
    ) -> impl std::future::Future<Output = Result<Option<Bytes>, TransportError>> + Send + 'static
    {
        let peer = self.peers.get(to).cloned();
        let rust = self.rust_peers.is_rust(to);
        let cookie = self.cookie.clone();
        let to = to.to_owned();
        async move {
            let peer = peer.ok_or_else(|| TransportError::UnknownPeer { peer: to.clone() })?;
            if !rust {
                return Ok(None);
            }
            let mut url = peer.url.clone();
            url.set_path(REPORT_PATH);
            let resp = peer
                .client
                .post(url)
                .header(COOKIE, cookie)
                .timeout(REPORT_TIMEOUT)
                .send()
                .await
                .map_err(|e| TransportError::Unreachable {
                    peer: to.clone(),
                    reason: describe(&e),
                })?;
            if resp.status() != StatusCode::OK
                || resp.content_length().is_none_or(|n| n > MAX_REPORT)
            {
                return Ok(None);
            }
            let body = resp
                .bytes()
                .await
                .map_err(|e| TransportError::Unreachable {
                    peer: to.clone(),
                    reason: describe(&e),
                })?;
            Ok(Some(body))
        }
    }
}

/// Largest report read from a peer (a ledger is a few KiB per phase and
/// peer).
const MAX_REPORT: u64 = 16 << 20;

/// How long asking a peer for its report may take.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a departure announcement may take per peer.
const DEPARTURE_TIMEOUT: Duration = Duration::from_secs(2);

/// A client TLS configuration that trusts nothing, for clients that only
/// speak plain HTTP.
fn plain_tls_config() -> Result<rustls::ClientConfig, HttpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Client {
            peer: String::new(),
            reason: e.to_string(),
        })?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

/// A request body of packet parts sent back to back, with its exact length
/// known up front (so the request carries a Content-Length, which the
/// Python server requires) and no part copied. It hands the parts out in
/// slices of at most [`BODY_SLICE`] bytes (sharing, not copying, the
/// part) and records each in its [`Progress`].
struct PartsBody {
    parts: std::collections::VecDeque<Bytes>,
    remaining: u64,
    progress: Arc<Progress>,
}

impl PartsBody {
    fn body(parts: &[Bytes], progress: Arc<Progress>) -> reqwest::Body {
        reqwest::Body::wrap(PartsBody {
            parts: parts.iter().filter(|p| !p.is_empty()).cloned().collect(),
            remaining: parts.iter().map(|p| p.len() as u64).sum(),
            progress,
        })
    }
}

impl http_body::Body for PartsBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let Some(part) = this.parts.front_mut() else {
            return std::task::Poll::Ready(None);
        };
        let slice = if part.len() > BODY_SLICE {
            part.split_to(BODY_SLICE)
        } else {
            this.parts.pop_front().unwrap_or_default()
        };
        this.remaining -= slice.len() as u64;
        this.progress
            .record(slice.len() as u64, this.remaining == 0);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(slice))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

/// What a TLS refusal of a certificate in `e`'s causes means, if there
/// is one: the peer sent a fatal alert (it refused this party's
/// certificate), or this party refused the peer's certificate.
fn tls_refusal(e: &reqwest::Error) -> Option<&'static str> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = next {
        // an io::Error's `source()` skips the error it wraps: look inside
        let inner = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        for candidate in [Some(c), inner].into_iter().flatten() {
            match candidate.downcast_ref::<rustls::Error>() {
                Some(rustls::Error::AlertReceived(_)) => {
                    return Some(
                        "the peer refused the TLS handshake (most likely this party's certificate)",
                    )
                }
                Some(rustls::Error::InvalidCertificate(_)) => {
                    return Some("the peer's certificate was refused")
                }
                _ => {}
            }
        }
        next = c.source();
    }
    None
}

/// A reqwest error with its causes, for the log and the final error.
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The start of an error response's body, read for at most `wait` (a
/// body that stalls is not waited for).
async fn error_text(resp: reqwest::Response, wait: Duration) -> String {
    let mut resp = resp;
    let mut out = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = resp.chunk().await {
            let room = MAX_ERROR_BODY.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= MAX_ERROR_BODY {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(wait, read).await;
    peer_text(&out)
}

/// Text a peer sent (an error response's body), as it goes into errors and
/// logs: lossy UTF-8, with control and other invisible characters escaped
/// (a peer cannot forge log lines through its answers).
fn peer_text(bytes: &[u8]) -> String {
    crate::logsafe::escape(&String::from_utf8_lossy(bytes)).into_owned()
}

/// Maps a refusal status to a [`Rejection`]; other statuses to an error text.
fn rejection(status: StatusCode, text: String) -> Result<Rejection, String> {
    Ok(match status {
        // the Python package's answer when decoding the message raised
        // (with a one-line reason; otherwise it answers 500, below)
        StatusCode::BAD_REQUEST if text.contains("Failed processing received message") => {
            Rejection::Malformed {
                reason: format!(
                    "the Python peer could not decode it ({}); most likely numpy is not \
                     installed there (needed for an NdArray) or the message holds a class \
                     the Python side has not registered (a Tagged PyClass)",
                    text.strip_prefix("400: ").unwrap_or(&text)
                ),
            }
        }
        StatusCode::BAD_REQUEST => Rejection::Malformed { reason: text },
        StatusCode::UNAUTHORIZED => Rejection::UnknownSender,
        StatusCode::CONFLICT => Rejection::Conflict {
            id: text
                .split('"')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_default(),
        },
        StatusCode::PAYLOAD_TOO_LARGE => Rejection::TooLarge {
            size: number_after(&text, "packet of ").unwrap_or(0),
            limit: number_after(&text, "limit of ").unwrap_or(0),
        },
        StatusCode::INTERNAL_SERVER_ERROR => {
            return Err(format!(
                "the peer failed to handle the message (HTTP {status}{}); a Python \
                 peer answers so when it cannot decode it: most likely numpy is not \
                 installed there (needed for an NdArray) or the message holds a \
                 class the Python side has not registered (a Tagged PyClass); its \
                 log has the traceback",
                body_after_status(status, &text)
            ))
        }
        _ => return Err(format!("HTTP {status}{}", body_after_status(status, &text))),
    })
}

/// An error body as it follows the status in a message: `: <body>`, with
/// a leading repetition of the status line dropped (aiohttp answers
/// `500 Internal Server Error\n\nServer got itself in trouble`), or
/// nothing when the body says no more than the status.
fn body_after_status(status: StatusCode, text: &str) -> String {
    let rest = text.strip_prefix(&status.to_string()).unwrap_or(text);
    // the body is escaped already: its line breaks are `\n`, `\r`
    let mut rest = rest.trim_start();
    while let Some(r) = rest
        .strip_prefix("\\n")
        .or_else(|| rest.strip_prefix("\\r"))
    {
        rest = r.trim_start();
    }
    let rest = rest.trim_end();
    if rest.is_empty() {
        String::new()
    } else {
        format!(": {rest}")
    }
}

fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_go_out_in_shared_slices_and_record_progress() {
        use http_body::Body as _;
        use http_body_util::BodyExt as _;
        let big = Bytes::from(vec![1u8; 2 * BODY_SLICE + 5]);
        let small = Bytes::from_static(b"abc");
        let size = (big.len() + small.len()) as u64;
        let progress = Arc::new(Progress::new(size));
        let mut body = PartsBody {
            parts: [big.clone(), Bytes::new(), small.clone()]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect(),
            remaining: size,
            progress: progress.clone(),
        };
        assert_eq!(body.size_hint().exact(), Some(size));
        assert!(progress.state().first.is_none());
        let mut lens = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            // slices of the part itself, not copies
            if data.len() > 3 {
                let offset = data.as_ptr() as usize - big.as_ptr() as usize;
                assert!(offset + data.len() <= big.len());
            }
            lens.push(data.len());
            let s = progress.state();
            assert_eq!(s.ended.is_some(), body.remaining == 0);
        }
        assert_eq!(lens, [BODY_SLICE, BODY_SLICE, 5, 3]);
        assert!(body.is_end_stream());
        let s = progress.state();
        assert!(s.first.is_some() && s.last.is_some() && s.ended.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_progress() {
        let stall = Duration::from_secs(5);
        let p = Progress::new(64 << 20);
        // waiting for a connection: the connect timeout plus the stall
        let (at, why) = p.deadline(stall);
        assert_eq!(why, Stall::Connecting(CONNECT_TIMEOUT + stall));
        assert_eq!(at, p.started + CONNECT_TIMEOUT + stall);
        // each slice taken pushes the deadline on
        tokio::time::advance(Duration::from_secs(1)).await;
        p.record(1, false);
        let (at, why) = p.deadline(stall);
        assert_eq!((at, why), (Instant::now() + stall, Stall::Body(stall)));
        tokio::time::advance(Duration::from_secs(4)).await;
        p.record(1, false);
        assert_eq!(p.deadline(stall).0, Instant::now() + stall);
        // the last slice: the response may take the stall timeout, plus a
        // second per 16 MiB, plus the time the last 4 MiB took to go out
        tokio::time::advance(Duration::from_secs(3)).await;
        p.record(1, true);
        let (at, why) = p.deadline(stall);
        let wait = stall + Duration::from_secs(4) + Duration::from_micros(7_000_000 / 16);
        assert_eq!((at, why), (Instant::now() + wait, Stall::Response(wait)));
        // the watchdog fires then, not before
        let watch = p.watch(stall);
        tokio::pin!(watch);
        assert!(
            tokio::time::timeout(wait - Duration::from_millis(1), &mut watch)
                .await
                .is_err()
        );
        assert_eq!(watch.await, Stall::Response(wait));
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_notices_a_stall_soon_after_the_connection_got_ready() {
        let stall = Duration::from_secs(2);
        let p = Arc::new(Progress::new(10));
        let watch = tokio::spawn({
            let p = p.clone();
            async move { p.watch(stall).await }
        });
        tokio::time::advance(Duration::from_millis(100)).await;
        p.record(1, true);
        let fired = tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .expect("the watchdog slept through the connecting allowance")
            .unwrap();
        assert!(matches!(fired, Stall::Response(_)));
    }

    #[test]
    fn an_empty_body_counts_as_sent() {
        let p = Progress::new(0);
        assert!(matches!(
            p.deadline(Duration::from_secs(1)).1,
            Stall::Response(_)
        ));
    }

    #[test]
    fn give_up_messages_read_well() {
        assert_eq!(attempts(1), "1 attempt");
        assert_eq!(attempts(3), "3 attempts");
        assert_eq!(seconds(Duration::from_millis(250)), "0.25 s");
        assert_eq!(seconds(Duration::from_millis(7240)), "7.2 s");
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
        assert_eq!(seconds(Duration::from_millis(61_500)), "61.5 s");
        assert_eq!(
            Stall::Response(Duration::from_millis(5500)).to_string(),
            "stalled: no response within 5.5 s after the request was sent"
        );
    }

    #[test]
    fn a_peers_error_text_cannot_forge_log_lines() {
        let t = peer_text(b"busy\nERROR forged line\x1b[2J\xff");
        assert!(!t.chars().any(char::is_control), "{t:?}");
        assert!(t.starts_with("busy\\nERROR forged line"), "{t}");
        assert_eq!(peer_text(b"Message received"), "Message received");
    }

    #[test]
    fn statuses_map_to_rejections() {
        assert_eq!(
            rejection(
                StatusCode::CONFLICT,
                "a different message with id \"7\" is already waiting to be read".into()
            ),
            Ok(Rejection::Conflict { id: "7".into() })
        );
        assert_eq!(
            rejection(
                StatusCode::PAYLOAD_TOO_LARGE,
                "packet of 100 bytes exceeds the limit of 10 bytes".into()
            ),
            Ok(Rejection::TooLarge {
                size: 100,
                limit: 10
            })
        );
        assert_eq!(
            rejection(StatusCode::UNAUTHORIZED, String::new()),
            Ok(Rejection::UnknownSender)
        );
        assert!(matches!(
            rejection(StatusCode::BAD_REQUEST, "x".into()),
            Ok(Rejection::Malformed { .. })
        ));
        assert!(rejection(StatusCode::INTERNAL_SERVER_ERROR, "boom".into()).is_err());
    }

    #[test]
    fn a_python_500_says_what_it_likely_means_and_shows_its_text_once() {
        // aiohttp's body, as `error_text` escapes it
        let body = peer_text(b"500 Internal Server Error\n\nServer got itself in trouble");
        let text = rejection(StatusCode::INTERNAL_SERVER_ERROR, body).unwrap_err();
        assert!(
            text.starts_with(
                "the peer failed to handle the message (HTTP 500 Internal Server Error: \
                 Server got itself in trouble); a Python peer answers so when it cannot decode it"
            ),
            "{text}"
        );
        assert!(text.contains("numpy is not installed"), "{text}");
        assert!(text.contains("has not registered"), "{text}");
        assert_eq!(text.matches("Internal Server Error").count(), 1, "{text}");
        // a one-line failure is a 400 with the Python exception's text
        let rejected = rejection(
            StatusCode::BAD_REQUEST,
            "400: Failed processing received message: 'No module named numpy'".into(),
        )
        .unwrap();
        let Rejection::Malformed { reason } = rejected else {
            panic!("{rejected:?}")
        };
        assert!(
            reason.starts_with(
                "the Python peer could not decode it (Failed processing received message: 'No module named numpy'); most likely numpy"
            ),
            "{reason}"
        );
        // other statuses: the body once, without the repeated status line
        assert_eq!(
            rejection(StatusCode::BAD_GATEWAY, "502 Bad Gateway".into()).unwrap_err(),
            "HTTP 502 Bad Gateway"
        );
        assert_eq!(
            rejection(StatusCode::IM_A_TEAPOT, "short and stout".into()).unwrap_err(),
            "HTTP 418 I'm a teapot: short and stout"
        );
    }
}
