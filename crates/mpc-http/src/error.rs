//! Why an HTTP transport could not start.

use mpc_transport::PeerNameError;

use crate::tls::TlsError;

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
    /// A peer's address is not `host:port` or `host` (which means port 80,
    /// or 443 with TLS).
    #[error("address {address:?} of peer {peer:?} is not host:port or host")]
    BadAddress {
        /// The peer.
        peer: String,
        /// The address given.
        address: String,
    },
    /// The party's or a peer's name is unusable: empty, a peer with the
    /// party's own name, or a peer configured twice.
    #[error(transparent)]
    PeerName(#[from] PeerNameError),
    /// The stall timeout is zero ([`HttpConfig::stall_timeout`](crate::HttpConfig::stall_timeout)).
    #[error("the stall timeout must be more than zero")]
    ZeroStallTimeout,
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
