//! The clients: one reqwest client per peer, with retries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mpc_transport::{Rejection, TransportError};
use reqwest::header::{HeaderValue, CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;

use crate::addr::PeerAddr;
use crate::tls::TlsSetup;
use crate::{HttpError, RustPeers, DELIVERY_HEADER, DEPARTURE_PATH, POOL_HEADER};

/// First pause between attempts; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Most of an error response body read for the error message.
const MAX_ERROR_BODY: usize = 4096;

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
    retry_window: Duration,
    request_timeout: Duration,
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
        retry_window: Duration,
        request_timeout: Duration,
        closed: Arc<AtomicBool>,
        rust_peers: Arc<RustPeers>,
    ) -> Result<Self, HttpError> {
        let mut map = HashMap::new();
        for p in peers {
            let mut b = reqwest::Client::builder()
                .http1_only()
                .tcp_nodelay(true)
                .no_proxy()
                .connect_timeout(Duration::from_secs(10))
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
            retry_window,
            request_timeout,
            closed,
            rust_peers,
            token_prefix: token_prefix(),
            token_seq: AtomicU64::new(0),
        })
    }

    pub(crate) fn send(
        &self,
        to: &str,
        parts: Vec<Bytes>,
    ) -> impl std::future::Future<Output = Result<(), TransportError>> + Send + 'static {
        let size: usize = parts.iter().map(Bytes::len).sum();
        let peer = self.peers.get(to).cloned();
        let to = to.to_owned();
        let cookie = self.cookie.clone();
        let window = self.retry_window;
        let attempt_timeout = self.request_timeout + Duration::from_secs((size >> 20) as u64);
        let closed = self.closed.clone();
        let rust_peers = self.rust_peers.clone();
        let seq = self.token_seq.fetch_add(1, Ordering::Relaxed);
        let token = format!("{:016x}-{seq:x}", self.token_prefix);
        async move {
            let peer = peer.ok_or_else(|| TransportError::UnknownPeer { peer: to.clone() })?;
            let deadline = tokio::time::Instant::now() + window;
            let mut backoff = FIRST_BACKOFF;
            let mut attempt = 0u32;
            loop {
                if closed.load(Ordering::Acquire) {
                    return Err(TransportError::Closed);
                }
                attempt += 1;
                let res = peer
                    .client
                    .post(peer.url.clone())
                    .header(COOKIE, cookie.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(DELIVERY_HEADER, token.as_str())
                    .timeout(attempt_timeout)
                    .body(PartsBody::body(&parts))
                    .send()
                    .await;
                let why = match res {
                    Ok(resp) if resp.status() == StatusCode::OK => {
                        if resp.headers().contains_key(POOL_HEADER) {
                            rust_peers.mark(&to);
                        }
                        if attempt > 1 {
                            tracing::debug!(to = %to, attempt, "delivered after retries");
                        }
                        return Ok(());
                    }
                    Ok(resp) if resp.status() == StatusCode::SERVICE_UNAVAILABLE => {
                        format!("busy: {}", error_text(resp).await)
                    }
                    Ok(resp) => {
                        let status = resp.status();
                        let text = error_text(resp).await;
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
                    Err(e) => describe(&e),
                };
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    return Err(TransportError::Unreachable {
                        peer: to,
                        reason: format!("{why} (gave up after {attempt} attempts in {window:?})"),
                    });
                }
                tracing::debug!(to = %to, attempt, reason = %why, "send failed, retrying");
                tokio::time::sleep(backoff.min(deadline - now)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
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
/// Python server requires) and no part copied.
struct PartsBody {
    parts: std::collections::VecDeque<Bytes>,
    remaining: u64,
}

impl PartsBody {
    fn body(parts: &[Bytes]) -> reqwest::Body {
        match parts {
            [one] => reqwest::Body::from(one.clone()),
            _ => reqwest::Body::wrap(PartsBody {
                parts: parts.iter().filter(|p| !p.is_empty()).cloned().collect(),
                remaining: parts.iter().map(|p| p.len() as u64).sum(),
            }),
        }
    }
}

impl http_body::Body for PartsBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = self.parts.pop_front();
        if let Some(p) = &next {
            self.remaining -= p.len() as u64;
        }
        std::task::Poll::Ready(next.map(|p| Ok(http_body::Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
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

async fn error_text(resp: reqwest::Response) -> String {
    let mut resp = resp;
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = MAX_ERROR_BODY.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Maps a refusal status to a [`Rejection`]; other statuses to an error text.
fn rejection(status: StatusCode, text: String) -> Result<Rejection, String> {
    Ok(match status {
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
        _ => return Err(format!("HTTP {status}: {text}")),
    })
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
}
