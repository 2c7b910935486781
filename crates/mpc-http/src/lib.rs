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
mod config;
mod error;
mod logsafe;
mod protocol;
mod recycle;
mod server;
pub mod tls;
mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use mpc_transport::{check_peer_names, Sent, SharedInbox, Transport, TransportError};

pub use config::{HttpConfig, ServerLimits};
pub use error::HttpError;
pub use protocol::{DELIVERY_HEADER, DEPARTURE_PATH, POOL_HEADER, REPORT_PATH, ROUND_HEADER};
pub use tls::{TlsConfig, TlsError};

use config::Listen;
use protocol::RustPeers;

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
        config.validate()?;
        check_peer_names(
            &config.name,
            config.peers.iter().map(|(name, _)| name.as_str()),
        )?;
        // an address without a port means 80, or 443 with TLS (Python's default)
        let default_port = addr::default_port(config.tls.is_some());
        let mut peers = Vec::new();
        for (name, address) in &config.peers {
            let (host, port) = addr::split_host_port(address, default_port).ok_or_else(|| {
                HttpError::BadAddress {
                    peer: name.clone(),
                    address: address.clone(),
                }
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
            Listen::Address(a) => match addr::listen_address(&a, default_port) {
                Some(with_port) => (tokio::net::TcpListener::bind(&with_port).await, with_port),
                None => (tokio::net::TcpListener::bind(&a).await, a),
            },
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
        let sent = self.clients.send(to, vec![packet], None);
        async move { sent.await.map(drop) }
    }

    fn send_parts(
        &self,
        to: &str,
        parts: Vec<Bytes>,
    ) -> impl std::future::Future<Output = Result<(), TransportError>> + Send {
        let sent = self.clients.send(to, parts, None);
        async move { sent.await.map(drop) }
    }

    fn send_stamped(
        &self,
        to: &str,
        parts: Vec<Bytes>,
        stamp: u64,
    ) -> impl std::future::Future<Output = Result<Sent, TransportError>> + Send {
        self.clients.send(to, parts, Some(stamp))
    }

    fn shutdown(&self) -> impl std::future::Future<Output = ()> + Send {
        self.closed.store(true, Ordering::Release);
        self.server.shutdown()
    }

    fn announce_departure(&self, reason: &str) -> impl std::future::Future<Output = ()> + Send {
        self.clients.announce_departure(reason)
    }

    fn ask_report(
        &self,
        to: &str,
    ) -> impl std::future::Future<Output = Result<Option<Bytes>, TransportError>> + Send {
        self.clients.ask_report(to)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        Some(self.local_addr)
    }

    fn wire_size(&self, to: &str, len: u64, stamp: Option<u64>) -> u64 {
        self.clients.wire_size(to, len, stamp)
    }
}
