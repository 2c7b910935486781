//! Raw HTTP/1.1 over TCP on 127.0.0.1, for the hostile-input tests: write
//! exactly the bytes a test wants, then read whatever the server answers,
//! within a bound, and split it into responses.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How long any single wait of these helpers may take: a hang guard, far
/// above what the server needs.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// One parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
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
    pub responses: Vec<Response>,
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

/// Reads until the server closes the connection or `bound` runs out.
pub async fn read_to_end(s: &mut TcpStream, bound: Duration) -> (Vec<u8>, Ending) {
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
