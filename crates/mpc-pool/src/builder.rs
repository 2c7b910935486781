//! Configuring and starting a pool: [`PoolBuilder`], over HTTP(S), in
//! memory, or on any transport.

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpc_http::{HttpConfig, HttpTransport, ServerLimits, TlsConfig};
use mpc_netem::{Emulated, LinkProfile, PartyClock};
use mpc_serial::DecodeLimits;
use mpc_transport::{check_peer_names, BoxTransport, MemoryNetwork, SharedInbox, Transport};

use crate::channels::ChannelBook;
use crate::error::{Error, Kind};
use crate::mailbox::{BufferLimits, Mailbox};
use crate::pool::{Pool, PoolInner, Shared, DEFAULT_TIMEOUT};

impl Pool {
    /// Starts configuring a pool whose own name is `name`.
    pub fn builder(name: impl Into<String>) -> PoolBuilder {
        PoolBuilder::new(name.into())
    }
}

/// What a transport factory gets to build a pool's transport
/// ([`PoolBuilder::start_with`]).
#[derive(Clone)]
#[non_exhaustive]
pub struct TransportContext {
    /// The pool's own name.
    pub name: String,
    /// The configured peers, in order.
    pub peers: Vec<PeerConfig>,
    /// Where the transport files incoming packets.
    pub inbox: SharedInbox,
}

impl std::fmt::Debug for TransportContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportContext")
            .field("name", &self.name)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

/// A configured peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerConfig {
    /// The name the pool knows it by.
    pub name: String,
    /// Its network address, for transports that need one.
    pub address: Option<String>,
}

/// Configures and starts a [`Pool`].
#[derive(Debug)]
pub struct PoolBuilder {
    name: String,
    peers: Vec<PeerConfig>,
    timeout: Option<Duration>,
    buffer_limits: BufferLimits,
    decode_limits: DecodeLimits,
    /// The settings of the HTTP(S) transport ([`PoolBuilder::start`]), its
    /// peers added when it starts.
    http: HttpConfig,
    /// Whether a listen address or listener was given.
    listens: bool,
    /// Emulated links for outgoing messages: all peers', and per peer.
    net: Option<LinkProfile>,
    net_to: Vec<(String, LinkProfile)>,
}

/// Builder methods that each set one setting of the HTTP(S) transport:
/// `fn name(arg: Type) => method(value);` becomes `pub fn name(self, arg:
/// Type) -> Self`, which passes `value` on to [`HttpConfig`]'s `method`.
macro_rules! http_settings {
    ($($(#[$doc:meta])* fn $name:ident($arg:ident: $ty:ty) => $method:ident($value:expr);)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $arg: $ty) -> Self {
                self.http = self.http.$method($value);
                self
            }
        )*
    };
}

impl PoolBuilder {
    fn new(name: String) -> Self {
        PoolBuilder {
            http: HttpConfig::new(name.clone(), String::new()),
            name,
            peers: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
            buffer_limits: BufferLimits::default(),
            decode_limits: DecodeLimits::default(),
            listens: false,
            net: None,
            net_to: Vec::new(),
        }
    }

    /// Emulates `profile` on the links to every peer (this party's outgoing
    /// messages; see [`LinkProfile`]): `LinkProfile::lan()`,
    /// `LinkProfile::wan()`, or `"20ms,100Mbit".parse()?`. Works on every
    /// transport; with the in-memory transport on tokio's paused clock, a
    /// protocol runs in virtual time and its elapsed time is the emulated
    /// one. Set it on every party for both directions. A transport with a
    /// socket (HTTP) is taken to run on the real clock: its messages are
    /// handed over by a precise timer thread instead of tokio's timer
    /// (docs/network-emulation.md, "Accuracy").
    pub fn net(mut self, profile: LinkProfile) -> Self {
        self.net = Some(profile);
        self
    }

    /// Emulates `profile` on the link to `peer` (overrides
    /// [`PoolBuilder::net`] for that peer).
    pub fn net_to(mut self, peer: impl Into<String>, profile: LinkProfile) -> Self {
        self.net_to.push((peer.into(), profile));
        self
    }

    /// Adds a peer known by name only (in-memory and custom transports).
    pub fn peer(self, name: impl Into<String>) -> Self {
        self.add_peer(name.into(), None)
    }

    /// Adds a peer with its network address: `host:port`, or `host` alone
    /// for port 80, or 443 with [TLS](PoolBuilder::tls), as in the Python
    /// package (host names such as container names work too).
    pub fn peer_at(self, name: impl Into<String>, address: impl Into<String>) -> Self {
        self.add_peer(name.into(), Some(address.into()))
    }

    fn add_peer(mut self, name: String, address: Option<String>) -> Self {
        self.peers.push(PeerConfig { name, address });
        self
    }

    /// The default receive timeout ([`DEFAULT_TIMEOUT`] unless set);
    /// `None` waits forever.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bounds on unread messages per peer ([`BufferLimits::default`]).
    pub fn buffer_limits(mut self, limits: BufferLimits) -> Self {
        self.buffer_limits = limits;
        self
    }

    /// Bounds applied when decoding received values.
    pub fn decode_limits(mut self, limits: DecodeLimits) -> Self {
        self.decode_limits = limits;
        self
    }

    /// The address the HTTP(S) server listens on (`host:port`, e.g.
    /// `0.0.0.0:8000`; port 0 picks a free port; `host` alone listens on
    /// port 80, or 443 with [TLS](PoolBuilder::tls), as in the Python
    /// package).
    pub fn listen(mut self, address: impl Into<String>) -> Self {
        self.listens = true;
        self.http = self.http.listen(address);
        self
    }

    /// Serves on an already bound listener (instead of [`PoolBuilder::listen`]).
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listens = true;
        self.http = self.http.listener(listener);
        self
    }

    http_settings! {
        /// The port peers know this party by (default: the port listened on);
        /// for parties behind NAT, port mappings or proxies.
        fn advertised_port(port: u16) => advertised_port(port);

        /// Mutual TLS (see [`TlsConfig`]). Without it, peers are identified by
        /// address and port only — do not run between organisations that way.
        fn tls(tls: TlsConfig) => tls(tls);

        /// Limits of the HTTP server ([`ServerLimits::default`]).
        fn server_limits(limits: ServerLimits) => limits(limits);

        /// How long a send keeps retrying an unreachable peer (30 s by
        /// default, so parties can start in any order).
        fn retry_window(window: Duration) => retry_window(window);

        /// The overall cap on one delivery attempt, however it progresses:
        /// this base (60 s by default) plus a second per MiB; an attempt that
        /// hits it is abandoned and retried. Silent connections are noticed
        /// much sooner by the [stall timeout](PoolBuilder::stall_timeout).
        fn request_timeout(base: Duration) => request_timeout(base);

        /// How long an exchange may make no progress before it counts as
        /// stalled (5 s by default): the message is not taken by the
        /// connection for this long, or the response does not start within
        /// this time after the whole message was sent (plus a second per
        /// 16 MiB sent, for the receiver to read it, and an allowance for bytes
        /// still in flight). A stalled attempt is abandoned with its connection
        /// and the message sent again on a fresh one; the peer acknowledges a
        /// message it already has without filing it twice. A slow transfer
        /// that keeps moving is never cut. Must be more than zero.
        fn stall_timeout(timeout: Duration) => stall_timeout(timeout);
    }

    /// Starts the pool on the HTTP(S) transport: a server on the
    /// [`listen`](PoolBuilder::listen) address and a client per peer
    /// (peers added with [`PoolBuilder::peer_at`]).
    pub async fn start(mut self) -> Result<Pool, Error> {
        let start_error = |what: String| Error::new(Kind::Start(what));
        if !self.listens {
            return Err(start_error(
                "no listen address (PoolBuilder::listen)".into(),
            ));
        }
        let mut http = std::mem::replace(&mut self.http, HttpConfig::new("", ""));
        for p in &self.peers {
            let Some(addr) = &p.address else {
                return Err(start_error(format!(
                    "peer {:?} has no address (use PoolBuilder::peer_at)",
                    p.name
                )));
            };
            http = http.peer(p.name.clone(), addr.clone());
        }
        http.validate().map_err(|e| start_error(e.to_string()))?;
        self.start_with(|ctx| HttpTransport::start(http, ctx.inbox))
            .await
    }

    /// Starts the pool on a transport made by `make` from the pool's
    /// [`TransportContext`]: the way to run a pool on a custom transport.
    pub async fn start_with<F, Fut, T, E>(self, make: F) -> Result<Pool, Error>
    where
        F: FnOnce(TransportContext) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        T: Transport,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        check_peer_names(&self.name, self.peers.iter().map(|p| p.name.as_str()))
            .map_err(|e| Error::new(Kind::Start(e.to_string())))?;
        let shared = Arc::new(Shared {
            name: self.name.clone(),
            mailbox: Mutex::new(Mailbox::new(
                self.peers.iter().map(|p| p.name.clone()),
                self.buffer_limits,
            )),
            closed: AtomicBool::new(false),
            decode_limits: self.decode_limits,
            channels: Mutex::new(ChannelBook::default()),
            clock: std::sync::atomic::AtomicU64::new(0),
        });
        let emulate = self.net.is_some() || !self.net_to.is_empty();
        // an emulated party learns the exact arrival of what it is handed
        let clock = PartyClock::new();
        let ctx = TransportContext {
            name: self.name.clone(),
            peers: self.peers.clone(),
            inbox: if emulate {
                clock.inbox(shared.clone())
            } else {
                shared.clone()
            },
        };
        let transport = make(ctx).await.map_err(|e| {
            Error::new(Kind::Start("the transport failed to start".into())).with_source(e)
        })?;
        let transport: BoxTransport = if !emulate {
            Arc::new(transport)
        } else {
            let unshaped = LinkProfile::latency(Duration::ZERO);
            let mut emulated =
                Emulated::new(transport, self.net.unwrap_or(unshaped)).with_clock(clock);
            if emulated.inner().local_addr().is_some() {
                // a transport with a socket runs on the real clock
                emulated = emulated.with_precise_timer();
            }
            for (peer, profile) in self.net_to {
                emulated = emulated.with_peer(peer, profile);
            }
            Arc::new(emulated)
        };
        tracing::info!(pool = %self.name, peers = self.peers.len(), emulated = self.net.is_some(), "pool started");
        Ok(Pool {
            inner: Arc::new(PoolInner {
                shared,
                transport,
                timeout: self.timeout,
            }),
        })
    }

    /// Starts the pool on an in-process [`MemoryNetwork`] (the Python
    /// package's `MockCommunicator`): whole protocols in one process,
    /// without sockets.
    pub async fn start_in_memory(self, network: &MemoryNetwork) -> Result<Pool, Error> {
        let network = network.clone();
        self.start_with(|ctx| async move {
            network.bind(
                &ctx.name,
                ctx.peers.iter().map(|p| p.name.clone()),
                ctx.inbox,
            )
        })
        .await
    }
}
