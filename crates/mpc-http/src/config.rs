//! The configuration of an [`HttpTransport`](crate::HttpTransport): the
//! party, its peers, the server's limits and the clients' timing.

use std::time::Duration;

use crate::error::HttpError;
use crate::tls::TlsConfig;

/// Builder methods that each replace one field: `fn name(arg: Type) =>
/// field = value;` becomes `pub fn name(mut self, arg: Type) -> Self`.
macro_rules! setters {
    ($($(#[$doc:meta])* fn $name:ident($arg:ident: $ty:ty) => $field:ident = $value:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $arg: $ty) -> Self {
                self.$field = $value;
                self
            }
        )*
    };
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

    setters! {
        /// With another largest body size.
        fn with_max_body_size(bytes: usize) => max_body_size = bytes;
        /// With another header read timeout.
        fn with_header_read_timeout(t: Duration) => header_read_timeout = t;
        /// With another body read timeout.
        fn with_body_read_timeout(t: Duration) => body_read_timeout = t;
        /// With another TLS handshake timeout.
        fn with_handshake_timeout(t: Duration) => handshake_timeout = t;
        /// With another bound on concurrent connections from peers' hosts.
        fn with_max_connections(n: usize) => max_connections = n;
        /// With another bound on concurrent connections from other hosts.
        fn with_max_stranger_connections(n: usize) => max_stranger_connections = n;
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
pub(crate) enum Listen {
    Address(String),
    Listener(std::net::TcpListener),
}

/// Configuration of an [`HttpTransport`](crate::HttpTransport).
#[derive(Debug)]
pub struct HttpConfig {
    pub(crate) name: String,
    pub(crate) listen: Listen,
    pub(crate) advertised_port: Option<u16>,
    pub(crate) peers: Vec<(String, String)>,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) limits: ServerLimits,
    pub(crate) retry_window: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) stall_timeout: Duration,
}

impl HttpConfig {
    /// A party named `name` (for logs) listening on `listen`
    /// (`host:port`; port 0 picks a free one; `host` alone means port 80, or 443 with TLS).
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

    /// Adds a peer: its name and its server's address (`host:port`, or `host` for port 80, 443 with TLS, as in the Python package).
    pub fn peer(mut self, name: impl Into<String>, address: impl Into<String>) -> Self {
        self.peers.push((name.into(), address.into()));
        self
    }

    setters! {
        /// Listens on `address` (`host:port`; port 0 picks a free one; `host` alone: port 80, or 443 with TLS)
        /// instead of the address given to [`HttpConfig::new`] or a
        /// [listener](HttpConfig::listener) given before.
        fn listen(address: impl Into<String>) => listen = Listen::Address(address.into());

        /// Serves on an already bound listener instead of the listen address
        /// (for example one bound to port 0 before the peers' configuration
        /// was written, or one handed over by a service manager).
        fn listener(listener: std::net::TcpListener) => listen = Listen::Listener(listener);

        /// The port peers know this party by, sent in the `server_port` cookie
        /// (default: the port actually listened on). Set it when the party is
        /// reached through NAT, a port mapping or a proxy.
        fn advertised_port(port: u16) => advertised_port = Some(port);

        /// Mutual TLS for server and clients.
        fn tls(tls: TlsConfig) => tls = Some(tls);

        /// Server limits.
        fn limits(limits: ServerLimits) => limits = limits;

        /// The overall cap on one attempt to deliver a packet, however it
        /// progresses: this base, 60 s by default, plus one second per MiB of
        /// packet. An attempt that hits it is abandoned (and retried within the
        /// retry window). Connections that go silent are noticed much sooner
        /// by the [stall timeout](HttpConfig::stall_timeout).
        fn request_timeout(base: Duration) => request_timeout = base;

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
        /// more time to answer. It must be more than zero
        /// ([`HttpConfig::validate`]).
        fn stall_timeout(timeout: Duration) => stall_timeout = timeout;

        /// How long a send keeps retrying a peer that is not reachable (not up
        /// yet, connection refused or broken, or busy): 30 s by default, so
        /// parties can be started in any order.
        fn retry_window(window: Duration) => retry_window = window;
    }

    /// Checks the settings that can be wrong on their own (not the names,
    /// addresses or TLS files, which [`HttpTransport::start`] checks): the
    /// stall timeout must be more than zero (with zero, every exchange
    /// stalls).
    ///
    /// [`HttpTransport::start`]: crate::HttpTransport::start
    pub fn validate(&self) -> Result<(), HttpError> {
        if self.stall_timeout.is_zero() {
            return Err(HttpError::ZeroStallTimeout);
        }
        Ok(())
    }
}
