//! Raw HTTP/1.1 over TCP on 127.0.0.1, for the status-by-status and
//! hostile-input tests: write exactly the bytes a test wants, then read
//! whatever the server answers, within a bound, and split it into
//! responses.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How long any single wait of these helpers may take: a hang guard, far
/// above what the server needs.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// One parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The header lines, trimmed, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked), as text (lossy).
    pub body: String,
}

impl Response {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the server's side of the connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Orderly close (FIN).
    Closed,
    /// Reset, or another read error.
    Reset,
    /// Still open when the bound ran out.
    StillOpen,
}

/// Everything the server sent on one connection.
#[derive(Debug)]
pub struct Answer {
    /// The complete responses, in order.
    pub responses: Vec<Response>,
    /// How the connection ended.
    pub ending: Ending,
    /// Bytes after the last complete response (should be none).
    pub rest: Vec<u8>,
}

impl Answer {
    /// The statuses of the responses, in order.
    pub fn statuses(&self) -> Vec<u16> {
        self.responses.iter().map(|r| r.status).collect()
    }

    /// The one response; panics if there is not exactly one.
    pub fn only(&self) -> &Response {
        assert_eq!(
            self.responses.len(),
            1,
            "expected exactly one response, got {self:?}"
        );
        &self.responses[0]
    }
}

/// Connects to `addr` (bounded).
pub async fn connect(addr: SocketAddr) -> TcpStream {
    let s = tokio::time::timeout(HANG_GUARD, TcpStream::connect(addr))
        .await
        .expect("connect within the hang guard")
        .expect("connect");
    let _ = s.set_nodelay(true);
    s
}

/// Connects to `addr` from the local address `from` (any port), e.g. from
/// 127.0.0.2 (all of 127.0.0.0/8 is local on Linux).
pub async fn connect_from(from: IpAddr, addr: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().expect("socket");
    sock.bind(SocketAddr::new(from, 0))
        .expect("bind the client side");
    let s = tokio::time::timeout(HANG_GUARD, sock.connect(addr))
        .await
        .expect("connect within the hang guard")
        .expect("connect");
    let _ = s.set_nodelay(true);
    s
}

/// Reads until the server closes the connection (or its read side: any
/// reader) or `bound` runs out.
pub async fn read_to_end(s: &mut (impl AsyncRead + Unpin), bound: Duration) -> (Vec<u8>, Ending) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => return (buf, Ending::StillOpen),
            Ok(Ok(0)) => return (buf, Ending::Closed),
            Ok(Ok(n)) => {
                // a server never answers hostile input at length
                assert!(buf.len() < 1 << 20, "unbounded answer from the server");
                buf.extend_from_slice(&chunk[..n]);
            }
            Ok(Err(_)) => return (buf, Ending::Reset),
        }
    }
}

/// Writes `request` on a fresh connection and reads everything the server
/// sends until it closes (at most [`HANG_GUARD`]). A write error (the server
/// closed early) is not a failure: the answer read is what counts.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut s = connect(addr).await;
    exchange_on(&mut s, request).await
}

/// As [`exchange`], on a given connection.
pub async fn exchange_on(s: &mut TcpStream, request: &[u8]) -> Answer {
    let _ = s.write_all(request).await;
    let (bytes, ending) = read_to_end(s, HANG_GUARD).await;
    parse(&bytes, ending)
}

/// Writes `request` on a fresh connection and returns the status and body
/// of the first response: (0, "") if none came (not HTTP, or nothing).
pub async fn request(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut answer = exchange(addr, request).await;
    if answer.responses.is_empty() {
        return (0, String::new());
    }
    let first = answer.responses.swap_remove(0);
    (first.status, first.body)
}

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
pub async fn stream(
    addr: SocketAddr,
    head: &[u8],
    unit: &[u8],
    units: usize,
    tail: &[u8],
) -> (Answer, usize) {
    let s = connect(addr).await;
    let (mut rd, mut wr) = s.into_split();
    let reader = tokio::spawn(async move {
        let (bytes, ending) = read_to_end(&mut rd, HANG_GUARD).await;
        parse(&bytes, ending)
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

/// Splits `bytes` into HTTP/1.1 responses (Content-Length or chunked bodies).
pub fn parse(bytes: &[u8], ending: Ending) -> Answer {
    let mut responses = Vec::new();
    let mut at = 0;
    while let Some((r, used)) = parse_one(&bytes[at..]) {
        responses.push(r);
        at += used;
    }
    Answer {
        responses,
        ending,
        rest: bytes[at..].to_vec(),
    }
}

fn parse_one(b: &[u8]) -> Option<(Response, usize)> {
    let head_end = b.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&b[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status: u16 = parts.next()?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut at = head_end + 4;
    let body: Vec<u8> = if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = at + b[at..].windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&b[at..line_end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            at = line_end + 2;
            if size == 0 {
                // no trailers from this server
                if b.len() < at + 2 {
                    return None;
                }
                at += 2;
                break body;
            }
            if b.len() < at + size + 2 {
                return None;
            }
            body.extend_from_slice(&b[at..at + size]);
            at += size + 2;
        }
    } else {
        let n: usize = find("content-length").map_or(Some(0), |v| v.parse().ok())?;
        if b.len() < at + n {
            return None;
        }
        let body = b[at..at + n].to_vec();
        at += n;
        body
    };
    Some((
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        },
        at,
    ))
}

/// A POST of `body` with `Connection: close`, a Content-Length, the given
/// cookie header (if any) and extra header lines (each ending in `\r\n`).
pub fn post(cookie: Option<&str>, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(c) = cookie {
        r.push_str(&format!("Cookie: {c}\r\n"));
    }
    r.push_str(extra);
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

/// Waits until the server closes `s` (EOF or reset), reading and
/// discarding whatever it sends; the time it took, or `None` if it was
/// still open after `bound`.
pub async fn closed_within(s: &mut TcpStream, bound: Duration) -> Option<Duration> {
    let start = Instant::now();
    let (_, ending) = read_to_end(s, bound).await;
    (ending != Ending::StillOpen).then(|| start.elapsed())
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
/// Keeping `at_once` below the server's connection slots + 128 keeps every
/// connection one the server really has.
pub async fn idle_clients(
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
            let connect = TcpStream::connect(addr);
            let rest = bound.saturating_sub(started.elapsed());
            let Ok(Ok(mut s)) = tokio::time::timeout(rest, connect).await else {
                return None;
            };
            if !first.is_empty() && s.write_all(first).await.is_err() {
                return Some(Some(started.elapsed()));
            }
            let rest = bound.saturating_sub(started.elapsed());
            Some(closed_within(&mut s, rest).await.map(|_| started.elapsed()))
        });
    }
    set
}
