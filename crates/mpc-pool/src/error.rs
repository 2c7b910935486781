//! The pool's one public error type.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

type Source = Box<dyn StdError + Send + Sync>;

/// An error of the pool.
///
/// Opaque on purpose: ask what happened with the `is_*` methods, which peer
/// and message it concerns with [`Error::peer`] and [`Error::message_id`],
/// and walk [`std::error::Error::source`] for the underlying cause.
///
/// The one-line message (`Display`) says why: a message that could not be
/// delivered names the root cause (`could not deliver message "0" to
/// "bob": unreachable: ... Connection refused ... (gave up after 36 attempts
/// in 30.0 s; retry window 30 s)`), so logging `{error}` is enough. A cause
/// that is in the message is not also the [`source`](std::error::Error::source),
/// so printing the whole chain never repeats it.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    peer: Option<String>,
    id: Option<String>,
    /// The cause in words, shown in the one-line message (the transport's
    /// reason); such a cause is not also the source.
    detail: Option<String>,
    /// A failed send's transport error, for [`Error::transport_error`]
    /// (its reason is the detail, so it is not the source).
    transport: Option<mpc_transport::TransportError>,
    source: Option<Source>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// No message within the timeout; `Some(local id)` when the receive
    /// had an automatic id (which is then used up, as in Python).
    Timeout(Duration, Option<String>),
    /// The peer is not configured.
    UnknownPeer,
    /// The transport failed to deliver.
    Transport,
    /// The peer refused the message (its reason is the source).
    Rejected,
    /// The value could not be encoded.
    Encode,
    /// The received value could not be decoded as the requested type.
    Decode,
    /// Someone already waits for this message.
    AlreadyAwaited,
    /// The pool shut down.
    ShutDown,
    /// The pool could not start.
    Start(String),
    /// Some sends of a broadcast failed.
    Broadcast(Vec<String>),
    /// The peer left the pool (its reason).
    PeerDeparted(String),
    /// A channel could not be opened (why).
    Channel(String),
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                peer: None,
                id: None,
                detail: None,
                transport: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_peer(mut self, peer: impl Into<String>) -> Self {
        self.inner.peer = Some(peer.into());
        self
    }

    pub(crate) fn with_id(mut self, id: impl Into<String>) -> Self {
        self.inner.id = Some(id.into());
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.detail = Some(detail.into());
        self
    }

    pub(crate) fn with_transport(mut self, e: mpc_transport::TransportError) -> Self {
        self.inner.transport = Some(e);
        self
    }

    pub(crate) fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// No message arrived within the timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::Timeout(..))
    }

    /// The peer is not one of the pool's peers.
    pub fn is_unknown_peer(&self) -> bool {
        matches!(self.inner.kind, Kind::UnknownPeer)
    }

    /// The message could not be delivered: the peer is unreachable, gone,
    /// or refused it ([`Error::is_rejected`]).
    pub fn is_transport(&self) -> bool {
        matches!(self.inner.kind, Kind::Transport | Kind::Rejected)
    }

    /// The peer received the message and refused it (for example a
    /// different message with the same id is still waiting there).
    pub fn is_rejected(&self) -> bool {
        matches!(self.inner.kind, Kind::Rejected)
    }

    /// The value could not be encoded.
    pub fn is_encode(&self) -> bool {
        matches!(self.inner.kind, Kind::Encode)
    }

    /// A received message could not be decoded as the requested type. The
    /// message stays in the buffer under its id.
    pub fn is_decode(&self) -> bool {
        matches!(self.inner.kind, Kind::Decode)
    }

    /// Another receive is already waiting for this message.
    pub fn is_already_awaited(&self) -> bool {
        matches!(self.inner.kind, Kind::AlreadyAwaited)
    }

    /// The peer announced it left the pool (it shut down or its protocol
    /// failed) before sending the message; [`Error::departure_reason`]
    /// says why. Only Rust peers announce this.
    pub fn is_peer_departed(&self) -> bool {
        matches!(self.inner.kind, Kind::PeerDeparted(_))
    }

    /// The reason a departed peer gave.
    pub fn departure_reason(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::PeerDeparted(r) => Some(r),
            _ => None,
        }
    }

    /// A channel could not be opened: its name is not valid, or it is
    /// open already on this party.
    pub fn is_channel(&self) -> bool {
        matches!(self.inner.kind, Kind::Channel(_))
    }

    /// The pool has shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self.inner.kind, Kind::ShutDown)
    }

    /// The pool could not start (configuration or transport set-up).
    pub fn is_start(&self) -> bool {
        matches!(self.inner.kind, Kind::Start(_))
    }

    /// The peer this error concerns.
    pub fn peer(&self) -> Option<&str> {
        self.inner.peer.as_deref()
    }

    /// The message id this error concerns.
    pub fn message_id(&self) -> Option<&str> {
        self.inner.id.as_deref()
    }

    /// For a failed send: what the transport reported, for programs that
    /// act on it (for example [`Rejection::TooLarge`](mpc_transport::Rejection::TooLarge)
    /// with its size and limit). Its reason is in the message already.
    pub fn transport_error(&self) -> Option<&mpc_transport::TransportError> {
        self.inner.transport.as_ref()
    }

    /// For a failed broadcast: the peers it could not reach (the message
    /// says why the first of them failed).
    pub fn failed_peers(&self) -> &[String] {
        match &self.inner.kind {
            Kind::Broadcast(p) => p,
            _ => &[],
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("mpc_pool::Error");
        d.field("kind", &self.inner.kind);
        if let Some(p) = &self.inner.peer {
            d.field("peer", p);
        }
        if let Some(id) = &self.inner.id {
            d.field("id", id);
        }
        if let Some(why) = &self.inner.detail {
            d.field("detail", why);
        }
        if let Some(t) = &self.inner.transport {
            d.field("transport", t);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peer = self.inner.peer.as_deref().unwrap_or("?");
        let id = self.inner.id.as_deref().unwrap_or("?");
        match &self.inner.kind {
            Kind::Timeout(d, None) => write!(
                f,
                "timed out after {d:?} waiting for message {id:?} from {peer:?}"
            ),
            Kind::Timeout(d, Some(local)) => write!(
                f,
                "timed out after {d:?} waiting for message {id:?} from {peer:?}; \
                 its automatic id is used up (as in Python): the next recv from \
                 {peer:?} waits for the id after it; to read this message later, \
                 use recv_with_id({peer:?}, {local:?})"
            ),
            Kind::UnknownPeer => write!(f, "{peer:?} is not a peer of this pool"),
            Kind::Transport => write!(f, "could not deliver message {id:?} to {peer:?}"),
            Kind::Rejected => write!(f, "{peer:?} refused message {id:?}"),
            Kind::Encode => write!(f, "could not encode message {id:?} for {peer:?}"),
            Kind::Decode => write!(
                f,
                "message {id:?} from {peer:?} does not decode as the requested type"
            ),
            Kind::AlreadyAwaited => write!(
                f,
                "message {id:?} from {peer:?} is already being waited for"
            ),
            Kind::ShutDown => match (&self.inner.peer, &self.inner.id) {
                (Some(_), Some(_)) => write!(
                    f,
                    "pool shut down while waiting for message {id:?} from {peer:?}"
                ),
                _ => f.write_str("pool is shut down"),
            },
            Kind::Start(what) => write!(f, "pool could not start: {what}"),
            Kind::Broadcast(peers) => write!(f, "broadcast of {id:?} failed for {peers:?}"),
            Kind::PeerDeparted(reason) => write!(
                f,
                "{peer:?} left the pool ({reason}) without sending message {id:?}"
            ),
            Kind::Channel(why) => write!(f, "cannot open the channel: {why}"),
        }?;
        match &self.inner.detail {
            Some(detail) => write!(f, ": {detail}"),
            None => Ok(()),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// Unusable TLS settings (`TlsConfig::from_pem_files(..)?` in a function
/// returning this error): the pool cannot start with them
/// ([`Error::is_start`]); the TLS error is the source.
impl From<mpc_http::TlsError> for Error {
    fn from(e: mpc_http::TlsError) -> Self {
        Error::new(Kind::Start(format!("unusable TLS settings: {e}"))).with_source(e)
    }
}

/// An unusable link profile (`"20ms,100Mbit".parse()?`): the pool cannot
/// start with it ([`Error::is_start`]); the profile error is the source.
impl From<mpc_netem::ProfileError> for Error {
    fn from(e: mpc_netem::ProfileError) -> Self {
        Error::new(Kind::Start(format!("unusable link profile: {e}"))).with_source(e)
    }
}
