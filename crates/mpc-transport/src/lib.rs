//! The transport seam of the MPC pool.
//!
//! A transport moves opaque packets between named parties, nothing more. It
//! knows neither the wire format of the values inside a packet (that is
//! `mpc-serial`) nor message ids and buffering (that is `mpc-pool`).
//!
//! * Outgoing: [`Transport::send`] delivers one packet to a named peer and
//!   resolves once the peer has *accepted* it.
//! * Incoming: a transport hands each packet it receives from a known peer to
//!   an [`Inbox`], synchronously, and reports the inbox's verdict
//!   ([`Delivery`] or [`Rejection`]) back to the sender.
//!
//! [`MemoryNetwork`] is an in-process transport (the Python package's
//! `MockCommunicator`), and the `compliance` feature offers a suite every
//! transport's tests run ([`compliance`]).
#![deny(missing_docs)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

#[cfg(feature = "compliance")]
pub mod compliance;
mod memory;
mod names;

pub use memory::{BindError, MemoryNetwork, MemoryTransport};
pub use names::{check_peer_names, PeerNameError};

/// Receives the packets a transport accepted from known peers.
///
/// Implemented by the pool. `deliver` is called synchronously from the
/// transport's receive path and must not block: it files the packet and
/// returns its verdict, which the transport reports to the sender.
pub trait Inbox: Send + Sync + 'static {
    /// Files one packet received from the peer named `from`.
    fn deliver(&self, from: &str, packet: Bytes) -> Result<Delivery, Rejection>;

    /// Files one packet received from `from` with the round stamp its
    /// sender put on it (`None`: the sender does not stamp, e.g. a Python
    /// party). Transports that carry stamps call this instead of
    /// [`Inbox::deliver`]. Default: the stamp is dropped and the packet
    /// delivered with [`Inbox::deliver`].
    fn deliver_stamped(
        &self,
        from: &str,
        packet: Bytes,
        stamp: Option<u64>,
    ) -> Result<Delivery, Rejection> {
        let _ = stamp;
        self.deliver(from, packet)
    }

    /// The transport acknowledged a repeated delivery from `from` without
    /// handing it to the inbox again (e.g. an HTTP retry whose delivery
    /// token it remembered). For the counters only. Default: ignored.
    fn duplicate_acknowledged(&self, from: &str) {
        let _ = from;
    }

    /// The transport read `read` bytes from `from` and wrote `written`
    /// bytes back to it to take in one of its packets (HTTP: the request's
    /// head and body, and the response), whatever became of the packet:
    /// the receiving side's share of the wire bytes, which the sender
    /// counts in its [`Sent`]. For the counters only. Default: ignored.
    fn wire_moved(&self, from: &str, read: u64, written: u64) {
        let _ = (from, read, written);
    }

    /// This party's report for a peer that asks for it
    /// ([`Transport::ask_report`]): opaque bytes (the pool: its ledger).
    /// Default: none.
    fn report(&self) -> Option<Bytes> {
        None
    }

    /// The peer named `from` announced that it is leaving the pool (it shut
    /// down, or its protocol failed), with its reason. The pool fails the
    /// receives waiting on that peer at once instead of letting them time
    /// out. Default: ignored.
    fn peer_departed(&self, from: &str, reason: &str) {
        let _ = (from, reason);
    }
}

/// A shared, type-erased inbox.
pub type SharedInbox = Arc<dyn Inbox>;

/// A packet the inbox accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// The packet is new and was filed.
    Accepted,
    /// An identical packet (same sender, id and bytes) was already filed:
    /// this is a retry. It is acknowledged but not delivered twice.
    Duplicate,
}

/// Why an inbox (or a transport on its behalf) refused an incoming packet.
///
/// A transport reports it to the sender, which surfaces it as
/// [`TransportError::Rejected`]. A rejected packet is never delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The packet could not be decoded.
    #[error("malformed packet: {reason}")]
    Malformed {
        /// What was wrong, for the sender's log.
        reason: String,
    },
    /// A different message with the same id from the same sender is still
    /// waiting to be read.
    #[error("a different message with id {id:?} is already waiting to be read")]
    Conflict {
        /// The message id that was reused.
        id: String,
    },
    /// The receiver's buffer for this sender is full; the sender may retry later.
    #[error("receive buffer full: {reason}")]
    BufferFull {
        /// Which bound was hit.
        reason: String,
    },
    /// The sender is not one of the receiver's configured peers.
    #[error("sender is not a known peer")]
    UnknownSender,
    /// The packet is larger than the receiver accepts.
    #[error("packet of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the packet (or its declared size), in bytes.
        size: u64,
        /// The receiver's limit, in bytes.
        limit: u64,
    },
    /// The receiver is shutting down.
    #[error("receiver is shutting down")]
    ShuttingDown,
}

impl Rejection {
    /// Whether a later retry of the same packet may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Rejection::BufferFull { .. } | Rejection::ShuttingDown)
    }
}

/// Errors of sending a packet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The peer is not configured on this transport.
    #[error("unknown peer {peer:?}")]
    UnknownPeer {
        /// The peer name asked for.
        peer: String,
    },
    /// The peer could not be reached within the transport's retry window.
    #[error("peer {peer:?} unreachable: {reason}")]
    Unreachable {
        /// The peer name.
        peer: String,
        /// The last failure seen.
        reason: String,
    },
    /// The peer has shut down or went away.
    #[error("peer {peer:?} is gone")]
    PeerGone {
        /// The peer name.
        peer: String,
    },
    /// The peer received the packet and refused it.
    #[error("peer {peer:?} refused the packet: {rejection}")]
    Rejected {
        /// The peer name.
        peer: String,
        /// The peer's reason.
        rejection: Rejection,
    },
    /// This transport has been shut down.
    #[error("transport is shut down")]
    Closed,
    /// Any other failure, with its source.
    #[error("sending to {peer:?} failed: {source}")]
    Other {
        /// The peer name.
        peer: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl TransportError {
    /// The peer this error concerns, if any.
    pub fn peer(&self) -> Option<&str> {
        match self {
            TransportError::UnknownPeer { peer }
            | TransportError::Unreachable { peer, .. }
            | TransportError::PeerGone { peer }
            | TransportError::Rejected { peer, .. }
            | TransportError::Other { peer, .. } => Some(peer),
            TransportError::Closed => None,
        }
    }
}

/// Moves packets to named peers.
///
/// Incoming packets do not pass through this trait: a transport is created
/// with a [`SharedInbox`] and delivers into it.
pub trait Transport: Send + Sync + 'static {
    /// Delivers `packet` to the peer named `to`.
    ///
    /// Resolves `Ok` once the peer has accepted the packet (or acknowledged
    /// it as a duplicate of one it accepted before). A transport may retry
    /// internally; a packet must never be delivered twice to the peer's inbox.
    fn send(
        &self,
        to: &str,
        packet: Bytes,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Delivers one packet given as `parts` sent back to back (a large
    /// payload shared with the caller rather than copied into one buffer).
    /// Same contract as [`Transport::send`]. Default: joins the parts and
    /// sends them as one packet.
    fn send_parts(
        &self,
        to: &str,
        parts: Vec<Bytes>,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        let packet = join(parts);
        self.send(to, packet)
    }

    /// Delivers one packet (in `parts`, as [`Transport::send_parts`]) with
    /// the round stamp `stamp`, which the transport carries to the peer's
    /// [`Inbox::deliver_stamped`] if it can, and reports what it moved.
    /// Same contract as [`Transport::send`]. Default: the stamp is dropped,
    /// the parts are sent with [`Transport::send_parts`], and the report is
    /// the packet's size ([`Sent::packet`]).
    fn send_stamped(
        &self,
        to: &str,
        parts: Vec<Bytes>,
        stamp: u64,
    ) -> impl Future<Output = Result<Sent, TransportError>> + Send {
        let _ = stamp;
        let len: usize = parts.iter().map(Bytes::len).sum();
        let sent = self.send_parts(to, parts);
        async move {
            sent.await?;
            Ok(Sent::packet(len as u64))
        }
    }

    /// Stops receiving, fails new sends with [`TransportError::Closed`] and
    /// releases resources. Idempotent.
    fn shutdown(&self) -> impl Future<Output = ()> + Send;

    /// Tells every peer, best effort and briefly, that this party is
    /// leaving the pool with `reason` (their [`Inbox::peer_departed`]).
    /// Peers that do not understand the announcement (the Python package)
    /// must not be disturbed by it. Default: announces nothing.
    fn announce_departure(&self, reason: &str) -> impl Future<Output = ()> + Send {
        let _ = reason;
        async {}
    }

    /// Asks the peer named `to` for its report ([`Inbox::report`]), briefly.
    /// `Ok(None)` if the peer gives none or is not known to understand the
    /// question (a Python party is never asked). Default: `Ok(None)`.
    fn ask_report(
        &self,
        to: &str,
    ) -> impl Future<Output = Result<Option<Bytes>, TransportError>> + Send {
        let _ = to;
        async { Ok(None) }
    }

    /// The local address peers reach this party at, for transports that
    /// listen on one (the HTTP server's socket). Default: `None`.
    fn local_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// The bytes this transport writes to carry a packet of `len` bytes to
    /// `to` in one attempt, stamped with `stamp` if given: what the packet
    /// occupies a link with (a network emulation's transmission time; HTTP:
    /// its request head and body). An estimate made before the send; the
    /// send's [`Sent`] reports what was really written. Default: `len`.
    fn wire_size(&self, to: &str, len: u64, stamp: Option<u64>) -> u64 {
        let _ = (to, stamp);
        len
    }
}

/// What a transport moved for one delivered packet ([`Transport::send_stamped`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// Bytes this party wrote for the packet, over all attempts (HTTP:
    /// request heads and bodies; in memory: the packet).
    pub wire_bytes_sent: u64,
    /// Bytes this party read back for the packet, over all attempts (HTTP:
    /// response heads and bodies; in memory: 0).
    pub wire_bytes_received: u64,
    /// Attempts made (1 when delivered at the first try).
    pub attempts: u32,
}

impl Sent {
    /// A packet of `len` bytes moved as is, at the first attempt.
    pub fn packet(len: u64) -> Self {
        Sent {
            wire_bytes_sent: len,
            wire_bytes_received: 0,
            attempts: 1,
        }
    }

    /// A report of `wire_bytes_sent` and `wire_bytes_received` over `attempts`.
    pub fn new(wire_bytes_sent: u64, wire_bytes_received: u64, attempts: u32) -> Self {
        Sent {
            wire_bytes_sent,
            wire_bytes_received,
            attempts,
        }
    }
}

/// Joins packet parts into one buffer (no copy for a single part).
pub fn join(mut parts: Vec<Bytes>) -> Bytes {
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut buf = bytes::BytesMut::with_capacity(parts.iter().map(Bytes::len).sum());
    for p in parts {
        buf.extend_from_slice(&p);
    }
    buf.freeze()
}

/// A boxed future, as returned by [`DynTransport`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe companion of [`Transport`], for picking a transport at
/// run time. Every [`Transport`] implements it.
pub trait DynTransport: Send + Sync + 'static {
    /// See [`Transport::send`].
    fn send_boxed<'a>(
        &'a self,
        to: &'a str,
        packet: Bytes,
    ) -> BoxFuture<'a, Result<(), TransportError>>;
    /// See [`Transport::send_parts`].
    fn send_parts_boxed<'a>(
        &'a self,
        to: &'a str,
        parts: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<(), TransportError>>;
    /// See [`Transport::send_stamped`].
    fn send_stamped_boxed<'a>(
        &'a self,
        to: &'a str,
        parts: Vec<Bytes>,
        stamp: u64,
    ) -> BoxFuture<'a, Result<Sent, TransportError>>;
    /// See [`Transport::shutdown`].
    fn shutdown_boxed(&self) -> BoxFuture<'_, ()>;
    /// See [`Transport::announce_departure`].
    fn announce_departure_boxed<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, ()>;
    /// See [`Transport::ask_report`].
    fn ask_report_boxed<'a>(
        &'a self,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Option<Bytes>, TransportError>>;
    /// See [`Transport::local_addr`].
    fn local_addr_dyn(&self) -> Option<SocketAddr>;
    /// See [`Transport::wire_size`].
    fn wire_size_dyn(&self, to: &str, len: u64, stamp: Option<u64>) -> u64;
}

impl<T: Transport> DynTransport for T {
    fn send_boxed<'a>(
        &'a self,
        to: &'a str,
        packet: Bytes,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(Transport::send(self, to, packet))
    }
    fn send_parts_boxed<'a>(
        &'a self,
        to: &'a str,
        parts: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(Transport::send_parts(self, to, parts))
    }
    fn send_stamped_boxed<'a>(
        &'a self,
        to: &'a str,
        parts: Vec<Bytes>,
        stamp: u64,
    ) -> BoxFuture<'a, Result<Sent, TransportError>> {
        Box::pin(Transport::send_stamped(self, to, parts, stamp))
    }
    fn shutdown_boxed(&self) -> BoxFuture<'_, ()> {
        Box::pin(Transport::shutdown(self))
    }
    fn announce_departure_boxed<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(Transport::announce_departure(self, reason))
    }
    fn ask_report_boxed<'a>(
        &'a self,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Option<Bytes>, TransportError>> {
        Box::pin(Transport::ask_report(self, to))
    }
    fn local_addr_dyn(&self) -> Option<SocketAddr> {
        Transport::local_addr(self)
    }
    fn wire_size_dyn(&self, to: &str, len: u64, stamp: Option<u64>) -> u64 {
        Transport::wire_size(self, to, len, stamp)
    }
}

/// A type-erased transport.
pub type BoxTransport = Arc<dyn DynTransport>;
