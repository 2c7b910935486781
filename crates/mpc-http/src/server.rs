//! The server: accepts connections (plain or mutual TLS), identifies the
//! sender, reads the packet within limits and hands it to the inbox.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use mpc_transport::{Delivery, Rejection, SharedInbox};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::addr::{PeerAddr, PeerDirectory, Resolver};
use crate::config::ServerLimits;
use crate::protocol::{
    RustPeers, DELIVERY_HEADER, DEPARTURE_PATH, POOL_HEADER, REPORT_PATH, ROUND_HEADER,
};
use crate::recycle::Recycler;
use crate::tls::TlsSetup;
use crate::wire::{digits, headers_len, status_line_len};

/// Longest departure reason read.
const MAX_REASON: usize = 1024;

/// How many delivery tokens are remembered per peer for retry detection.
const RECENT_TOKENS: usize = 16_384;

/// Largest request head (request line and headers) read: the exchange's
/// heads are well under 1 KiB. Without it the head could fill the whole
/// read buffer ([`READ_BUFFER`], sized for bodies), before the sender is known.
const MAX_HEAD: usize = 64 << 10;

/// Largest read buffer of a connection: reads of 1 MiB already amortise
/// the cost of a read for bulk transfers, and every connection that is
/// sent data fast can hold this much (in the hostile-input suite's
/// barrage, 12 streaming connections made the server grow by about
/// 50 MiB with 4 MiB buffers, 20 MiB with 1 MiB).
const READ_BUFFER: usize = 1 << 20;

/// Remembered delivery tokens of one peer (bounded, oldest forgotten first).
#[derive(Default)]
struct Recent {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Recent {
    fn contains(&self, t: &str) -> bool {
        self.set.contains(t)
    }
    fn insert(&mut self, t: String) {
        if self.set.insert(t.clone()) {
            self.order.push_back(t);
            if self.order.len() > RECENT_TOKENS {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

pub(crate) struct ServerState {
    party: String,
    inbox: SharedInbox,
    directory: PeerDirectory,
    recent: HashMap<String, Mutex<Recent>>,
    tls: Option<Arc<TlsSetup>>,
    limits: ServerLimits,
    rust_peers: Arc<RustPeers>,
    /// Receive buffers of large packets, used again.
    recycler: Arc<Recycler>,
}

impl ServerState {
    pub(crate) async fn new(
        party: String,
        inbox: SharedInbox,
        peers: Vec<PeerAddr>,
        resolver: Resolver,
        tls: Option<Arc<TlsSetup>>,
        limits: ServerLimits,
        rust_peers: Arc<RustPeers>,
    ) -> Arc<Self> {
        let recent = peers
            .iter()
            .map(|p| (p.name.clone(), Mutex::new(Recent::default())))
            .collect();
        let state = Arc::new(ServerState {
            party,
            inbox,
            directory: PeerDirectory::new(peers, resolver),
            recent,
            tls,
            limits,
            rust_peers,
            recycler: Arc::default(),
        });
        // the peers' hosts: to identify senders without TLS, and to keep
        // connection slots for peers in both modes
        state.directory.refresh(true).await;
        state
    }

    /// Plain mode: the peer whose server is at the sender's address and
    /// the cookie's port (see [`PeerDirectory::identify`]).
    async fn identify_plain(&self, ip: IpAddr, port: u16) -> Option<String> {
        self.directory.identify(ip, port).await
    }
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
struct Conn {
    remote: SocketAddr,
    /// With TLS: the peer its certificate identifies.
    tls_peer: Option<Option<String>>,
}

#[derive(Debug)]
pub(crate) struct ServerHandle {
    stop: watch::Sender<bool>,
    done: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl ServerHandle {
    pub(crate) async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let task = self.done.lock().await.take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

pub(crate) fn start(listener: TcpListener, state: Arc<ServerState>) -> ServerHandle {
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, state, stop_rx));
    ServerHandle {
        stop,
        done: tokio::sync::Mutex::new(Some(task)),
    }
}

/// Connection slots. Every connection takes one of `max_connections +
/// max_stranger_connections` before it is accepted (the rest wait in the
/// kernel's listen queue, as before); one from a host that is no
/// configured peer's also takes one of `max_stranger_connections`, or is
/// closed at once. So outsiders hold at most their share, and connections
/// from peers' hosts always have `max_connections` slots.
#[derive(Debug)]
struct Slots {
    all: Arc<Semaphore>,
    strangers: Arc<Semaphore>,
}

/// The slot a connection holds while it is served.
#[derive(Debug)]
struct Slot {
    _all: OwnedSemaphorePermit,
    _stranger: Option<OwnedSemaphorePermit>,
}

impl Slots {
    fn new(limits: &ServerLimits) -> Self {
        let peers = limits.max_connections.max(1);
        Slots {
            all: Arc::new(Semaphore::new(peers + limits.max_stranger_connections)),
            strangers: Arc::new(Semaphore::new(limits.max_stranger_connections)),
        }
    }

    /// Waits until a connection may be accepted.
    async fn next(&self) -> Option<OwnedSemaphorePermit> {
        self.all.clone().acquire_owned().await.ok()
    }

    /// The slot of an accepted connection, or `None`: close it.
    fn admit(&self, taken: OwnedSemaphorePermit, from_peer_host: bool) -> Option<Slot> {
        let stranger = if from_peer_host {
            None
        } else {
            Some(self.strangers.clone().try_acquire_owned().ok()?)
        };
        Some(Slot {
            _all: taken,
            _stranger: stranger,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<ServerState>,
    mut stop: watch::Receiver<bool>,
) {
    let router = Router::new().fallback(handle).with_state(state.clone());
    let slots = Arc::new(Slots::new(&state.limits));
    let acceptor = state
        .tls
        .as_ref()
        .map(|t| tokio_rustls::TlsAcceptor::from(t.server_config()));
    let closing = Arc::new(AtomicBool::new(false));
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let taken = tokio::select! {
            p = slots.next() => match p { Some(p) => p, None => break },
            _ = stop.changed() => break,
        };
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(party = %state.party, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let from_peer_host = state.directory.is_peer_host(remote.ip());
        let Some(slot) = slots.admit(taken, from_peer_host) else {
            tracing::debug!(party = %state.party, %remote, "all slots for other hosts than the peers' are taken: connection closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let state = state.clone();
        let acceptor = acceptor.clone();
        let mut stop = stop.clone();
        let closing = closing.clone();
        conns.spawn(async move {
            let _slot = slot;
            match acceptor {
                None => {
                    let conn = Conn { remote, tls_peer: None };
                    serve(TokioIo::new(stream), router, conn, &state, &mut stop, &closing).await
                }
                Some(acc) => {
                    let hs = tokio::time::timeout(state.limits.handshake_timeout, acc.accept(stream)).await;
                    let tls = match hs {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::warn!(party = %state.party, %remote, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(party = %state.party, %remote, "TLS handshake timed out");
                            return;
                        }
                    };
                    let peer = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| state.tls.as_ref().and_then(|t| t.identify(c)));
                    let conn = Conn { remote, tls_peer: Some(peer) };
                    serve(TokioIo::new(tls), router, conn, &state, &mut stop, &closing).await
                }
            }
        });
        // reap finished connection tasks so the set stays small
        while conns.try_join_next().is_some() {}
    }
    closing.store(true, Ordering::Release);
    drop(listener);
    // give open connections a moment to finish the requests in progress
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
    tracing::debug!(party = %state.party, "server stopped");
}

async fn serve<I>(
    io: TokioIo<I>,
    router: Router,
    conn: Conn,
    state: &ServerState,
    stop: &mut watch::Receiver<bool>,
    closing: &AtomicBool,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if closing.load(Ordering::Acquire) {
        return;
    }
    let svc = TowerToHyperService::new(router.layer(Extension(conn)));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.limits.header_read_timeout)
        // large reads for bulk transfers (hyper's default caps them at
        // ~400 KB), but bounded: every connection that is sent data fast
        // can grow its read buffer to this size
        .max_buf_size(READ_BUFFER)
        // but not large heads: 431 beyond MAX_HEAD
        .max_header_size(MAX_HEAD)
        .keep_alive(true);
    let c = builder.serve_connection(io, svc);
    tokio::pin!(c);
    tokio::select! {
        r = c.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(party = %state.party, error = %e, "connection ended with an error");
            }
        }
        _ = stop.changed() => {
            c.as_mut().graceful_shutdown();
            let _ = c.await;
        }
    }
}

fn reply(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::HeaderName::from_static(POOL_HEADER), "1"),
        ],
        text.into(),
    )
        .into_response()
}

/// `resp` with `Retry-After: 1` (a 503: the sender retries).
fn busy(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    resp
}

/// `resp` with `Connection: close`: the connection ends once it is sent.
/// Every answer that does not come from serving a known peer's message
/// (GET and HEAD, other methods, an unidentified sender, a malformed or
/// refused request) closes its connection, so nobody but peers can hold
/// a connection slot across requests.
fn closing(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    resp
}

/// The `server_port` cookie: exactly one value, a port number.
fn cookie_port(headers: &HeaderMap) -> Result<u16, &'static str> {
    let mut found: Option<&str> = None;
    for v in headers.get_all(header::COOKIE) {
        let v = v.to_str().map_err(|_| "cookie header is not text")?;
        for part in v.split(';') {
            if let Some((k, val)) = part.trim().split_once('=') {
                if k.trim() == "server_port" {
                    let val = val.trim();
                    match found {
                        Some(prev) if prev != val => return Err("conflicting server_port cookies"),
                        _ => found = Some(val),
                    }
                }
            }
        }
    }
    let v = found.ok_or("missing server_port cookie")?;
    v.parse::<u16>()
        .map_err(|_| "server_port cookie is not a port number")
}

/// Who sent a request: the peer's name, or the refusal to answer with.
async fn sender(state: &ServerState, conn: &Conn, headers: &HeaderMap) -> Result<String, Response> {
    match &conn.tls_peer {
        Some(Some(p)) => Ok(p.clone()),
        Some(None) => Err(reply(
            StatusCode::UNAUTHORIZED,
            "Server did not recognize sender.",
        )),
        None => {
            let port = cookie_port(headers).map_err(|why| reply(StatusCode::BAD_REQUEST, why))?;
            match state.identify_plain(conn.remote.ip(), port).await {
                Some(p) => Ok(p),
                None => {
                    tracing::warn!(party = %state.party, remote = %conn.remote, cookie_port = port, "request from an unknown sender refused");
                    Err(reply(
                        StatusCode::UNAUTHORIZED,
                        "Server did not recognize sender.",
                    ))
                }
            }
        }
    }
}

enum BodyError {
    TooLarge,
    /// Memory for the body could not be reserved.
    NoMemory,
    Read(axum::Error),
}

/// The first reservation for a body: at most this much (or the declared
/// length, if smaller) before any of it has arrived.
const FIRST_RESERVE: usize = 256 << 10;

/// How much room a body buffer holding `len` bytes and needing `need`
/// should have: growing by four at a time, never past the declared
/// length (nor `limit`), so a sender must really send the bytes it
/// declares before they are reserved.
fn grown_capacity(len: usize, need: usize, declared: Option<usize>, limit: usize) -> usize {
    let cap = len.saturating_mul(4).max(FIRST_RESERVE).max(need);
    let ceiling = match declared {
        Some(d) if d >= need => d,
        _ => limit.max(need),
    };
    cap.min(ceiling)
}

/// Reads a request body into one buffer that grows as bytes arrive (up to
/// the declared length, already checked against `limit`), with fallible
/// reservations: a body that cannot get memory is refused
/// ([`BodyError::NoMemory`]), never an abort of the process. The buffer
/// holds exactly the packet when it is handed on (spare room of a body
/// without a declared length is given back), so what the pool's buffer
/// limits count is what is held. A body that grows past `limit` is
/// refused as soon as it does.
///
/// A body of a declared length in the recycled range is read into a kept
/// buffer of that size if there is one (its pages are in memory already),
/// and every packet in that range is handed on so that its buffer is kept
/// when the application lets go of it ([`Recycler`]).
async fn read_body(
    body: &mut Body,
    declared: Option<usize>,
    limit: usize,
    recycler: &Arc<Recycler>,
) -> Result<Bytes, BodyError> {
    let kept = declared.and_then(|d| recycler.take(d));
    let reused = kept.is_some();
    let mut buf: Vec<u8> = kept.unwrap_or_default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Read)?;
        if let Ok(data) = frame.into_data() {
            let need = buf.len() + data.len();
            if need > limit {
                return Err(BodyError::TooLarge);
            }
            if need > buf.capacity() {
                let cap = grown_capacity(buf.len(), need, declared, limit);
                buf.try_reserve_exact(cap - buf.len())
                    .map_err(|_| BodyError::NoMemory)?;
            }
            buf.extend_from_slice(&data);
        }
    }
    if buf.capacity() > buf.len() && !reused {
        // only a body shorter than its reservation (no declared length):
        // shrinking in place, no new memory (a kept buffer has at most
        // 1/16 of room to spare and stays as it is)
        buf.shrink_to_fit();
    }
    Ok(recycler.share(buf))
}

/// Most of a refused body read and thrown away before answering.
const DRAIN_MAX: usize = 16 << 20;
/// Longest time spent on that.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and discards what is left of a refused request body, up to
/// [`DRAIN_MAX`] bytes and [`DRAIN_TIME`], before the refusal is sent.
/// Closing a connection with unread data makes the kernel reset it, which
/// can destroy the answer before the client reads it; the client would then
/// take the refusal for a broken connection and retry, instead of learning
/// that its packet is too large.
async fn drain(body: &mut Body) {
    let mut seen = 0usize;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen > DRAIN_MAX {
                    break;
                }
            }
        }
    })
    .await;
}

/// A peer announces it leaves the pool; the body is its reason.
async fn departure(state: &ServerState, peer: &str, body: Body) -> Response {
    let reason = match tokio::time::timeout(
        state.limits.header_read_timeout,
        Limited::new(body, MAX_REASON).collect(),
    )
    .await
    {
        Ok(Ok(c)) => String::from_utf8_lossy(&c.to_bytes()).into_owned(),
        _ => return reply(StatusCode::BAD_REQUEST, "reason not readable"),
    };
    state.inbox.peer_departed(peer, &reason);
    reply(StatusCode::OK, "Departure noted")
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    Extension(conn): Extension<Conn>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method == Method::GET || method == Method::HEAD {
        return closing(reply(StatusCode::OK, "Connection working (GET)"));
    }
    if method != Method::POST {
        return closing(reply(StatusCode::METHOD_NOT_ALLOWED, "only POST and GET"));
    }
    let peer = match sender(&state, &conn, &headers).await {
        Ok(p) => p,
        Err(refusal) => return closing(refusal),
    };
    finish(serve_peer(&state, peer, uri, headers, body).await)
}

/// A known peer's answer: closes its connection if it is a refusal of the
/// request (4xx).
fn finish(resp: Response) -> Response {
    if resp.status().is_client_error() {
        closing(resp)
    } else {
        resp
    }
}

/// The size of the request head hyper read: the request line and the
/// headers, each `name: value\r\n`, and the empty line.
fn request_head_len(method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> u64 {
    let target = uri.path_and_query().map_or(1, |p| p.as_str().len());
    let line = method.as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    (line + headers_len(headers) + 2) as u64
}

/// The size of `resp` as hyper writes it: the status line, its headers
/// with the `content-length` and `date` hyper adds, the empty line and the
/// body.
fn response_len(resp: &Response) -> u64 {
    use http_body::Body as _;
    let body = resp.body().size_hint().exact().unwrap_or(0);
    let mut head = status_line_len(resp.status()) + headers_len(resp.headers()) + 2;
    if !resp.headers().contains_key(header::CONTENT_LENGTH) {
        head += "content-length: ".len() + digits(body) + 2;
    }
    if !resp.headers().contains_key(header::DATE) {
        // an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
        head += "date: ".len() + 29 + 2;
    }
    head as u64 + body
}

/// A request from `peer`, a known peer.
async fn serve_peer(
    state: &ServerState,
    peer: String,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if uri.path() == DEPARTURE_PATH {
        return departure(state, &peer, body).await;
    }
    if uri.path() == REPORT_PATH {
        drop(body);
        return match state.inbox.report() {
            Some(report) => (StatusCode::OK, report).into_response(),
            None => reply(StatusCode::NOT_FOUND, "no report"),
        };
    }
    // how big
    let limit = state.limits.max_body_size;
    let declared = match headers
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|s| s.parse::<u64>().ok()))
    {
        Some(None) => return reply(StatusCode::BAD_REQUEST, "Content-Length is not a number"),
        Some(Some(n)) if n > limit as u64 => {
            // a body within reach is drained so the answer arrives; a
            // larger one is not worth reading (the connection is reset)
            if n <= DRAIN_MAX as u64 {
                let mut body = body;
                drain(&mut body).await;
            }
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("packet of {n} bytes exceeds the limit of {limit} bytes"),
            );
        }
        Some(Some(n)) => Some(n as usize),
        None => None,
    };
    let mut body = body;
    let read = tokio::time::timeout(
        state.limits.body_read_timeout,
        read_body(&mut body, declared, limit, &state.recycler),
    )
    .await;
    let packet: Bytes = match read {
        Err(_) => return reply(StatusCode::REQUEST_TIMEOUT, "body not received in time"),
        Ok(Err(BodyError::TooLarge)) => {
            drain(&mut body).await;
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("packet exceeds the limit of {limit} bytes"),
            );
        }
        Ok(Err(BodyError::NoMemory)) => {
            tracing::warn!(party = %state.party, from = %peer, declared = ?declared, "no memory for a request body: refused with 503, the sender retries");
            return busy(reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "no memory for the packet now; try again",
            ));
        }
        Ok(Err(BodyError::Read(e))) => {
            return reply(
                StatusCode::BAD_REQUEST,
                format!("body could not be read: {e}"),
            );
        }
        Ok(Ok(b)) => b,
    };
    let read = request_head_len(&Method::POST, &uri, &headers) + packet.len() as u64;
    let resp = finish(take_in(state, &peer, &headers, packet));
    state.inbox.wire_moved(&peer, read, response_len(&resp));
    resp
}

/// Hands a packet from `peer` to the inbox, once per delivery token.
fn take_in(state: &ServerState, peer: &str, headers: &HeaderMap, packet: Bytes) -> Response {
    let token = headers
        .get(DELIVERY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .map(str::to_owned);
    if token.is_some() {
        state.rust_peers.mark(peer);
    }
    // the sender's round stamp; absent (a Python sender) or unreadable:
    // the inbox counts the message one round after our last one to it
    let stamp = headers
        .get(ROUND_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0);
    let Some(recent) = state.recent.get(peer) else {
        return reply(StatusCode::UNAUTHORIZED, "Server did not recognize sender.");
    };
    // check the token, deliver and remember the token as one step per peer
    let verdict = {
        let mut recent = recent.lock().unwrap_or_else(|e| e.into_inner());
        if token.as_deref().is_some_and(|t| recent.contains(t)) {
            // the inbox never sees this repeat: tell it, for its counters
            state.inbox.duplicate_acknowledged(peer);
            Ok(Delivery::Duplicate)
        } else {
            let v = state.inbox.deliver_stamped(peer, packet, stamp);
            if let (Ok(_), Some(t)) = (&v, token) {
                recent.insert(t);
            }
            v
        }
    };
    match verdict {
        Ok(Delivery::Duplicate) => {
            tracing::debug!(party = %state.party, from = %peer, "retry acknowledged, not delivered twice");
            reply(StatusCode::OK, "Message received")
        }
        Ok(_) => reply(StatusCode::OK, "Message received"),
        Err(r) => rejection_response(&r),
    }
}

fn rejection_response(r: &Rejection) -> Response {
    match r {
        Rejection::Malformed { reason } => reply(
            StatusCode::BAD_REQUEST,
            format!("Failed processing received message: '{reason}'"),
        ),
        Rejection::Conflict { .. } => reply(StatusCode::CONFLICT, r.to_string()),
        Rejection::UnknownSender => {
            reply(StatusCode::UNAUTHORIZED, "Server did not recognize sender.")
        }
        Rejection::TooLarge { .. } => reply(StatusCode::PAYLOAD_TOO_LARGE, r.to_string()),
        Rejection::BufferFull { .. } | Rejection::ShuttingDown => {
            busy(reply(StatusCode::SERVICE_UNAVAILABLE, r.to_string()))
        }
        _ => reply(StatusCode::BAD_REQUEST, r.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(cookies: &[&str]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for c in cookies {
            m.append(header::COOKIE, c.parse().unwrap());
        }
        m
    }

    #[test]
    fn cookie_rules() {
        assert_eq!(cookie_port(&h(&["server_port=8001"])), Ok(8001));
        assert_eq!(cookie_port(&h(&["a=b; server_port=8001; c=d"])), Ok(8001));
        assert_eq!(
            cookie_port(&h(&["server_port=8001", "server_port=8001"])),
            Ok(8001)
        );
        assert!(cookie_port(&h(&[])).is_err());
        assert!(cookie_port(&h(&["other=1"])).is_err());
        assert!(cookie_port(&h(&["server_port=1", "server_port=2"])).is_err());
        assert!(cookie_port(&h(&["server_port=99999"])).is_err());
        assert!(cookie_port(&h(&["server_port=abc"])).is_err());
    }

    fn limits(peers: usize, strangers: usize) -> ServerLimits {
        ServerLimits::default()
            .with_max_connections(peers)
            .with_max_stranger_connections(strangers)
    }

    #[tokio::test]
    async fn strangers_never_take_the_peers_slots() {
        let slots = Slots::new(&limits(2, 3));
        let mut held = Vec::new();
        // strangers fill their share, then are refused at once
        for _ in 0..3 {
            let taken = slots.next().await.unwrap();
            held.push(slots.admit(taken, false).expect("a stranger's slot"));
        }
        let taken = slots.next().await.unwrap();
        assert!(slots.admit(taken, false).is_none());
        // the refused one gave its place back; the peers' slots are all there
        for _ in 0..2 {
            let taken = slots.next().await.unwrap();
            held.push(slots.admit(taken, true).expect("a peer host's slot"));
        }
        // then nobody is accepted until a slot is free
        let more = tokio::time::timeout(Duration::from_millis(50), slots.next()).await;
        assert!(more.is_err(), "a sixth connection was accepted");
        // a stranger leaving frees a slot for either kind
        held.remove(0);
        let taken = slots.next().await.unwrap();
        held.push(slots.admit(taken, true).expect("a peer host's slot"));
    }

    #[test]
    fn body_reservations_follow_what_arrived() {
        const MIB: usize = 1 << 20;
        let limit = 512 * MIB;
        // a sender declaring 512 MiB and sending two bytes gets 256 KiB
        assert_eq!(grown_capacity(0, 2, Some(limit), limit), FIRST_RESERVE);
        // then four times what it really sent, never past the declared length
        assert_eq!(grown_capacity(MIB, MIB + 1, Some(limit), limit), 4 * MIB);
        assert_eq!(
            grown_capacity(16 * MIB, 16 * MIB + 1, Some(20 * MIB), limit),
            20 * MIB
        );
        // a small declared body is reserved exactly
        assert_eq!(grown_capacity(0, 10, Some(100), limit), 100);
        // without a declared length: the same growth, up to the limit
        assert_eq!(grown_capacity(200 * MIB, 200 * MIB + 1, None, limit), limit);
        // a body longer than declared (hyper refuses it first): room for it
        assert_eq!(grown_capacity(0, 10, Some(5), limit), FIRST_RESERVE);
    }

    /// A body of `frames`, with a declared length or none.
    fn body_of(frames: Vec<&'static [u8]>) -> Body {
        let stream = futures_util::stream::iter(
            frames
                .into_iter()
                .map(|f| Ok::<_, std::io::Error>(Bytes::from_static(f))),
        );
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn a_body_holds_exactly_its_bytes() {
        let frames: Vec<&'static [u8]> = vec![&[1; 1000], &[2; 300_000], &[3; 5]];
        let total = 301_005;
        for declared in [Some(total), None] {
            let mut body = body_of(frames.clone());
            let Ok(b) = read_body(&mut body, declared, 1 << 20, &Arc::default()).await else {
                panic!("read")
            };
            assert_eq!(b.len(), total);
            // converting back gives the allocation itself: no spare room
            let v: Vec<u8> = b.into();
            assert_eq!(v.capacity(), total, "declared {declared:?}");
        }
        let mut body = body_of(frames);
        assert!(matches!(
            read_body(&mut body, None, 300_000, &Arc::default()).await,
            Err(BodyError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn a_large_body_reuses_the_buffer_of_the_last_one() {
        let chunk: &'static [u8] = &[9; 256 << 10];
        let frames = vec![chunk; 8]; // 2 MiB
        let total = 8 * chunk.len();
        let recycler = Arc::default();
        let read = |frames| {
            let recycler = Arc::clone(&recycler);
            async move {
                let mut body = body_of(frames);
                match read_body(&mut body, Some(total), 4 << 20, &recycler).await {
                    Ok(b) => b,
                    Err(_) => panic!("read"),
                }
            }
        };
        let first = read(frames.clone()).await;
        let ptr = first.as_ptr();
        // still held by the application: the next body gets a buffer of its own
        let second = read(frames.clone()).await;
        assert_ne!(second.as_ptr(), ptr);
        assert_eq!(&second[..], &first[..]);
        drop(first);
        let third = read(frames).await;
        assert_eq!((third.as_ptr(), third.len()), (ptr, total));
        assert!(third.iter().all(|&b| b == 9));
    }

    #[test]
    fn recent_tokens_are_bounded() {
        let mut r = Recent::default();
        for i in 0..(RECENT_TOKENS + 10) {
            r.insert(i.to_string());
        }
        assert!(!r.contains("0"));
        assert!(r.contains(&(RECENT_TOKENS + 9).to_string()));
        assert_eq!(r.order.len(), RECENT_TOKENS);
        assert_eq!(r.set.len(), RECENT_TOKENS);
    }
}
