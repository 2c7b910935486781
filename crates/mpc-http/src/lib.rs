//! HTTP(S) transport for the MPC pool, speaking the exchange of the Python
//! package `tno.mpc.communication` 5.x, so Rust and Python parties can share
//! one pool.
//!
//! * One server per party (axum on hyper, HTTP/1.1): a message is a `POST`
//!   whose body is the packet; `GET` on any path answers
//!   `Connection working (GET)`.
//! * One client per peer (reqwest, HTTP/1.1, connection reuse,
//!   `TCP_NODELAY`), every request with a `Content-Length` and
//!   `Cookie: server_port=<advertised port>`.
//! * Without TLS the sender is identified by its address and the cookie's
//!   port; with mutual TLS by its client certificate ([`tls`]).
//! * Sending retries, within a window, while a peer is not up yet, a
//!   connection breaks or an exchange stalls; every retry of a message
//!   carries the same delivery token, so a Rust receiver never delivers it
//!   twice.
//! * Deadlines follow progress ([`HttpConfig::stall_timeout`]): a request
//!   whose body stops moving, or whose response does not start soon after
//!   the request was sent, is abandoned with its connection and retried; a
//!   slow transfer that keeps moving is never cut.
//!
//! Start one with [`HttpTransport::start`]; the pool facade does this for
//! you.
#![deny(missing_docs)]

mod addr;
#[cfg(feature = "certs")]
pub mod certs;
mod client;
mod logsafe;
mod server;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mpc_transport::{SharedInbox, Transport, TransportError};

pub use tls::{TlsConfig, TlsError};

/// The request header carrying a message's delivery token (Rust senders
/// only): retries of one message carry the same token.
pub const DELIVERY_HEADER: &str = "x-mpc-delivery";

/// The path a Rust party posts its departure announcement to (the body is
/// the reason). The Python package answers it with 404 and ignores it.
pub const DEPARTURE_PATH: &str = "/mpc/departure";

/// A response header by which a Rust server shows it understands this
/// crate's additions (departure announcements).
pub const POOL_HEADER: &str = "x-mpc-pool";

/// Peers known to run this crate (they sent a delivery token, or answered
/// with [`POOL_HEADER`]): only they are sent departure announcements, so
/// Python peers never see one.
#[derive(Debug, Default)]
pub(crate) struct RustPeers(std::collections::HashMap<String, AtomicBool>);

impl RustPeers {
    fn new(names: &[String]) -> Self {
        RustPeers(
            names
                .iter()
                .map(|n| (n.clone(), AtomicBool::new(false)))
                .collect(),
        )
    }
    pub(crate) fn mark(&self, peer: &str) {
        if let Some(f) = self.0.get(peer) {
            f.store(true, Ordering::Relaxed);
        }
    }
    pub(crate) fn is_rust(&self, peer: &str) -> bool {
        self.0.get(peer).is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

/// Bounds on what the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// Largest request body (packet) accepted: 512 MiB by default, enough
    /// for bulk transfers of ciphertexts and shares while bounding memory.
    pub max_body_size: usize,
    /// Time allowed to receive a request's headers: 10 s.
    pub header_read_timeout: Duration,
    /// Time allowed to receive a request's body: 300 s.
    pub body_read_timeout: Duration,
    /// Time allowed for a TLS handshake: 10 s.
    pub handshake_timeout: Duration,
    /// Connections from configured peers' hosts served at once: 256.
    /// Further ones wait (at most as many again, each at most the header
    /// read timeout) for a slot, then are closed.
    pub max_connections: usize,
    /// Connections from other hosts (addresses that are no configured
    /// peer's) served at once, apart from the peers' slots: 64. Further
    /// ones are closed at once. Outsiders cannot take the peers' slots.
    pub max_stranger_connections: usize,
}

impl ServerLimits {
    /// The default largest body size: 512 MiB.
    pub const DEFAULT_MAX_BODY_SIZE: usize = 512 << 20;

    /// With another largest body size.
    pub fn with_max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }
    /// With another header read timeout.
    pub fn with_header_read_timeout(mut self, t: Duration) -> Self {
        self.header_read_timeout = t;
        self
    }
    /// With another body read timeout.
    pub fn with_body_read_timeout(mut self, t: Duration) -> Self {
        self.body_read_timeout = t;
        self
    }
    /// With another TLS handshake timeout.
    pub fn with_handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }
    /// With another bound on concurrent connections from peers' hosts.
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }
    /// With another bound on concurrent connections from other hosts.
    pub fn with_max_stranger_connections(mut self, n: usize) -> Self {
        self.max_stranger_connections = n;
        self
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body_size: Self::DEFAULT_MAX_BODY_SIZE,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(10),
            max_connections: 256,
            max_stranger_connections: 64,
        }
    }
}

/// Where the server listens.
#[derive(Debug)]
enum Listen {
    Address(String),
    Listener(std::net::TcpListener),
}

/// Configuration of an [`HttpTransport`].
#[derive(Debug)]
pub struct HttpConfig {
    name: String,
    listen: Listen,
    advertised_port: Option<u16>,
    peers: Vec<(String, String)>,
    tls: Option<TlsConfig>,
    limits: ServerLimits,
    retry_window: Duration,
    request_timeout: Duration,
    stall_timeout: Duration,
}

impl HttpConfig {
    /// A party named `name` (for logs) listening on `listen`
    /// (`host:port`; port 0 picks a free one).
    pub fn new(name: impl Into<String>, listen: impl Into<String>) -> Self {
        HttpConfig {
            name: name.into(),
            listen: Listen::Address(listen.into()),
            advertised_port: None,
            peers: Vec::new(),
            tls: None,
            limits: ServerLimits::default(),
            retry_window: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            stall_timeout: Self::DEFAULT_STALL_TIMEOUT,
        }
    }

    /// The default stall timeout: 5 s.
    pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(5);

    /// Serves on an already bound listener instead of the listen address
    /// (for example one bound to port 0 before the peers' configuration
    /// was written, or one handed over by a service manager).
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listen = Listen::Listener(listener);
        self
    }

    /// Adds a peer: its name and its server's address (`host:port`).
    pub fn peer(mut self, name: impl Into<String>, address: impl Into<String>) -> Self {
        self.peers.push((name.into(), address.into()));
        self
    }

    /// The port peers know this party by, sent in the `server_port` cookie
    /// (default: the port actually listened on). Set it when the party is
    /// reached through NAT, a port mapping or a proxy.
    pub fn advertised_port(mut self, port: u16) -> Self {
        self.advertised_port = Some(port);
        self
    }

    /// Mutual TLS for server and clients.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Server limits.
    pub fn limits(mut self, limits: ServerLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The overall cap on one attempt to deliver a packet, however it
    /// progresses: this base, 60 s by default, plus one second per MiB of
    /// packet. An attempt that hits it is abandoned (and retried within the
    /// retry window). Connections that go silent are noticed much sooner
    /// by the [stall timeout](HttpConfig::stall_timeout).
    pub fn request_timeout(mut self, base: Duration) -> Self {
        self.request_timeout = base;
        self
    }

    /// How long an exchange may make no progress before it counts as
    /// stalled (default [`HttpConfig::DEFAULT_STALL_TIMEOUT`], 5 s): the
    /// request body is not taken by the connection for this long, or, once
    /// all of it was handed to the connection, the response does not start
    /// within this time plus one second per 16 MiB sent (the receiver may
    /// decode the whole message before it answers; a Python party does)
    /// plus the time the body's last 4 MiB took to go out (bytes still in
    /// socket buffers drain at that pace). A new connection that is not
    /// ready to take the request within 10 s plus this time stalled too. A
    /// stalled attempt is abandoned, its connection closed, and the packet
    /// sent again on a fresh connection with the same delivery token.
    ///
    /// A transfer that keeps moving is never cut by it, however slow
    /// overall; raise it for paths where 128 KiB take longer than this
    /// (below about 200 kbit/s at the default) or for receivers that need
    /// more time to answer. It must be more than zero (with zero, every
    /// exchange stalls).
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// How long a send keeps retrying a peer that is not reachable (not up
    /// yet, connection refused or broken, or busy): 30 s by default, so
    /// parties can be started in any order.
    pub fn retry_window(mut self, window: Duration) -> Self {
        self.retry_window = window;
        self
    }
}

/// Why an HTTP transport could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A peer's address is not `host:port`.
    #[error("address {address:?} of peer {peer:?} is not host:port")]
    BadAddress {
        /// The peer.
        peer: String,
        /// The address given.
        address: String,
    },
    /// A peer is configured twice.
    #[error("peer {0:?} is configured twice")]
    DuplicatePeer(String),
    /// The TLS settings are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for {peer:?}: {reason}")]
    Client {
        /// The peer.
        peer: String,
        /// What failed.
        reason: String,
    },
}

/// The HTTP(S) transport of one party.
#[derive(Debug)]
pub struct HttpTransport {
    local_addr: SocketAddr,
    clients: client::Clients,
    server: server::ServerHandle,
    closed: Arc<AtomicBool>,
}

impl HttpTransport {
    /// Binds the server, builds a client per peer and starts serving;
    /// packets from known peers go to `inbox`.
    pub async fn start(config: HttpConfig, inbox: SharedInbox) -> Result<Self, HttpError> {
        let mut seen = std::collections::HashSet::new();
        let mut peers = Vec::new();
        for (name, address) in &config.peers {
            if !seen.insert(name.clone()) {
                return Err(HttpError::DuplicatePeer(name.clone()));
            }
            let (host, port) =
                addr::split_host_port(address).ok_or_else(|| HttpError::BadAddress {
                    peer: name.clone(),
                    address: address.clone(),
                })?;
            peers.push(addr::PeerAddr {
                name: name.clone(),
                host,
                port,
            });
        }
        let names: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
        let tls = match &config.tls {
            Some(t) => Some(Arc::new(tls::TlsSetup::new(t, &names)?)),
            None => {
                tracing::warn!(
                    party = %config.name,
                    "running without TLS: peers are identified by address and port, which anyone on the network path can forge; use mutual TLS between organisations"
                );
                None
            }
        };
        let (listener, what) = match config.listen {
            Listen::Address(a) => (tokio::net::TcpListener::bind(&a).await, a),
            Listen::Listener(l) => {
                let what = format!("{:?}", l.local_addr().ok());
                let l = l
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpListener::from_std(l));
                (l, what)
            }
        };
        let bind_err = |source| HttpError::Bind {
            address: what.clone(),
            source,
        };
        let listener = listener.map_err(bind_err)?;
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let advertised = config.advertised_port.unwrap_or(local_addr.port());
        let closed = Arc::new(AtomicBool::new(false));
        let rust_peers = Arc::new(RustPeers::new(&names));
        let clients = client::Clients::new(
            &peers,
            advertised,
            tls.as_deref(),
            client::Timing {
                retry_window: config.retry_window,
                request_timeout: config.request_timeout,
                stall_timeout: config.stall_timeout,
            },
            closed.clone(),
            rust_peers.clone(),
        )?;
        let server = server::start(
            listener,
            server::ServerState::new(
                config.name.clone(),
                inbox,
                peers,
                addr::system_resolver(),
                tls,
                config.limits,
                rust_peers,
            )
            .await,
        );
        tracing::info!(party = %config.name, %local_addr, advertised_port = advertised, tls = config.tls.is_some(), "HTTP transport listening");
        Ok(HttpTransport {
            local_addr,
            clients,
            server,
            closed,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Transport for HttpTransport {
    fn send(
        &self,
        to: &str,
        packet: Bytes,
    ) -> impl std::future::Future<Output = Result<(), TransportError>> + Send {
        self.clients.send(to, vec![packet])
    }

    fn send_parts(
        &self,
        to: &str,
        parts: Vec<Bytes>,
    ) -> impl std::future::Future<Output = Result<(), TransportError>> + Send {
        self.clients.send(to, parts)
    }

    fn shutdown(&self) -> impl std::future::Future<Output = ()> + Send {
        self.closed.store(true, Ordering::Release);
        self.server.shutdown()
    }

    fn announce_departure(&self, reason: &str) -> impl std::future::Future<Output = ()> + Send {
        self.clients.announce_departure(reason)
    }
}
