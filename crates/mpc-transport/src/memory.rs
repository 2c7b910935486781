//! An in-process transport: whole protocols in one process, without sockets.
//!
//! The counterpart of the Python package's `MockCommunicator`. A
//! [`MemoryNetwork`] is a registry of endpoints by name; each endpoint
//! ([`MemoryTransport`]) hands packets straight to the receiving endpoint's
//! [`Inbox`](crate::Inbox), synchronously, and reports its verdict.
//!
//! See [`MemoryNetwork`] for the lifecycle of a name.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::{Rejection, Sent, SharedInbox, Transport, TransportError};

/// Why [`MemoryNetwork::bind`] refused to bind an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// Another live endpoint of this network already has the name.
    #[error("the name {name:?} is already bound in this network")]
    AlreadyBound {
        /// The name asked for.
        name: String,
    },
    /// The endpoint's name is empty.
    #[error("an endpoint name must not be empty")]
    EmptyName,
    /// One of the configured peer names is empty.
    #[error("a peer name must not be empty")]
    EmptyPeerName,
}

/// A registry of in-process endpoints by name.
///
/// Cheap to clone: clones share the registry. Bind one endpoint per party
/// with [`MemoryNetwork::bind`].
///
/// # Lifecycle of a name
///
/// A name in a network is in one of three states:
///
/// * **never bound**: a send to it (from an endpoint that lists it as a peer)
///   waits until it is bound, for at most the network's connect timeout, then
///   fails with [`TransportError::Unreachable`]. Parties may thus start in any
///   order.
/// * **bound**: sends are handed to its inbox.
/// * **gone**: it was bound and has shut down (or its [`MemoryTransport`] was
///   dropped). Sends fail at once with [`TransportError::PeerGone`].
///
/// A gone name may be bound again (a party restarting); from then on it is
/// reachable again, also for senders that saw it gone before.
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    inner: Arc<NetworkInner>,
}

struct NetworkInner {
    /// The state of every name ever bound.
    names: Mutex<HashMap<String, Slot>>,
    /// Woken whenever `names` changes or an endpoint shuts down.
    changed: Notify,
    connect_timeout: Duration,
}

impl Default for NetworkInner {
    fn default() -> Self {
        NetworkInner {
            names: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            connect_timeout: MemoryNetwork::DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

enum Slot {
    Bound(Arc<Endpoint>),
    Gone,
}

/// One bound endpoint, as seen by its senders.
struct Endpoint {
    name: String,
    peers: BTreeSet<String>,
    inbox: SharedInbox,
    /// `true` while the endpoint receives. Deliveries hold the read lock, so
    /// once shutdown has taken the write lock and cleared it, no delivery is
    /// in progress and none follows.
    open: RwLock<bool>,
}

impl Endpoint {
    fn is_open(&self) -> bool {
        *self.open.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryNetwork {
    /// How long a send waits for a configured peer that has not bound yet,
    /// unless the network was made [with another
    /// timeout](MemoryNetwork::with_connect_timeout): 30 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A new, empty network with the default connect timeout
    /// ([`MemoryNetwork::DEFAULT_CONNECT_TIMEOUT`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A new, empty network whose sends wait at most `timeout` for a
    /// configured peer that has not bound yet.
    pub fn with_connect_timeout(timeout: Duration) -> Self {
        MemoryNetwork {
            inner: Arc::new(NetworkInner {
                connect_timeout: timeout,
                ..NetworkInner::default()
            }),
        }
    }

    /// How long a send waits for a configured peer that has not bound yet.
    pub fn connect_timeout(&self) -> Duration {
        self.inner.connect_timeout
    }

    /// Binds the endpoint `name`, which exchanges packets with the parties
    /// named in `peers` and files the packets it receives in `inbox`.
    ///
    /// Fails if the name is empty or bound to a live endpoint, or a peer name
    /// is empty. A name whose endpoint has shut down may be bound again.
    pub fn bind(
        &self,
        name: &str,
        peers: impl IntoIterator<Item = impl Into<String>>,
        inbox: SharedInbox,
    ) -> Result<MemoryTransport, BindError> {
        if name.is_empty() {
            return Err(BindError::EmptyName);
        }
        let peers: BTreeSet<String> = peers.into_iter().map(Into::into).collect();
        if peers.iter().any(String::is_empty) {
            return Err(BindError::EmptyPeerName);
        }
        let endpoint = Arc::new(Endpoint {
            name: name.to_owned(),
            peers,
            inbox,
            open: RwLock::new(true),
        });
        {
            let mut names = self.inner.lock_names();
            match names.entry(name.to_owned()) {
                Entry::Occupied(mut slot) => match slot.get() {
                    Slot::Bound(_) => {
                        return Err(BindError::AlreadyBound {
                            name: name.to_owned(),
                        })
                    }
                    Slot::Gone => {
                        slot.insert(Slot::Bound(Arc::clone(&endpoint)));
                    }
                },
                Entry::Vacant(slot) => {
                    slot.insert(Slot::Bound(Arc::clone(&endpoint)));
                }
            }
        }
        self.inner.changed.notify_waiters();
        tracing::debug!(name, peers = ?endpoint.peers, "memory endpoint bound");
        Ok(MemoryTransport {
            network: self.clone(),
            endpoint,
        })
    }
}

impl fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.inner.lock_names();
        let mut bound: Vec<&str> = Vec::new();
        let mut gone: Vec<&str> = Vec::new();
        for (name, slot) in names.iter() {
            match slot {
                Slot::Bound(_) => bound.push(name),
                Slot::Gone => gone.push(name),
            }
        }
        bound.sort_unstable();
        gone.sort_unstable();
        f.debug_struct("MemoryNetwork")
            .field("bound", &bound)
            .field("gone", &gone)
            .field("connect_timeout", &self.inner.connect_timeout)
            .finish()
    }
}

impl NetworkInner {
    fn lock_names(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One party's endpoint in a [`MemoryNetwork`].
///
/// [`Transport::send`] checks, in this order:
///
/// 1. this endpoint is shut down: [`TransportError::Closed`];
/// 2. `to` is not a configured peer: [`TransportError::UnknownPeer`];
/// 3. `to` was never bound: wait for it up to the network's connect
///    timeout, then [`TransportError::Unreachable`];
/// 4. `to` is gone (shut down or dropped): [`TransportError::PeerGone`], at once;
/// 5. `to` does not list this endpoint among its peers:
///    [`TransportError::Rejected`] with [`Rejection::UnknownSender`];
/// 6. otherwise the packet goes to `to`'s inbox, synchronously, and its
///    verdict is the result (a rejection as [`TransportError::Rejected`]).
///
/// Shutting it down (or dropping it) unbinds its name: the name is then
/// *gone* until an endpoint binds it again (see [`MemoryNetwork`]). Once
/// [`Transport::shutdown`] has returned, nothing more is delivered into this
/// endpoint's inbox, and sends of this endpoint still waiting for a peer
/// fail with [`TransportError::Closed`].
pub struct MemoryTransport {
    network: MemoryNetwork,
    endpoint: Arc<Endpoint>,
}

impl MemoryTransport {
    /// This endpoint's name.
    pub fn name(&self) -> &str {
        &self.endpoint.name
    }

    /// The names of the configured peers, sorted.
    pub fn peers(&self) -> impl Iterator<Item = &str> + '_ {
        self.endpoint.peers.iter().map(String::as_str)
    }

    /// The network this endpoint is bound in.
    pub fn network(&self) -> &MemoryNetwork {
        &self.network
    }

    /// Whether [`Transport::shutdown`] has been called (or begun).
    pub fn is_closed(&self) -> bool {
        !self.endpoint.is_open()
    }

    /// Waits until `to` is bound, is gone, this endpoint closes or the
    /// connect timeout passes.
    async fn resolve(&self, to: &str) -> Result<Arc<Endpoint>, TransportError> {
        let inner = &self.network.inner;
        let deadline = Instant::now() + inner.connect_timeout;
        let mut waited = false;
        loop {
            // Register interest before looking, so that a bind between the
            // look and the wait is not missed.
            let notified = inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            if self.is_closed() {
                return Err(TransportError::Closed);
            }
            match inner.lock_names().get(to) {
                Some(Slot::Bound(endpoint)) => return Ok(Arc::clone(endpoint)),
                Some(Slot::Gone) => {
                    return Err(TransportError::PeerGone {
                        peer: to.to_owned(),
                    })
                }
                None => {}
            }
            if !waited {
                tracing::debug!(
                    from = %self.endpoint.name,
                    to,
                    timeout = ?inner.connect_timeout,
                    "peer not bound yet, waiting"
                );
                waited = true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                tracing::debug!(from = %self.endpoint.name, to, "peer never bound");
                return Err(TransportError::Unreachable {
                    peer: to.to_owned(),
                    reason: format!(
                        "not bound in the in-memory network within {:?}",
                        inner.connect_timeout
                    ),
                });
            }
        }
    }

    /// Hands `packet` to `target`'s inbox, synchronously.
    fn deliver(
        &self,
        target: &Endpoint,
        packet: Bytes,
        stamp: Option<u64>,
    ) -> Result<(), TransportError> {
        let peer = || target.name.clone();
        let open = target.open.read().unwrap_or_else(PoisonError::into_inner);
        if !*open {
            return Err(TransportError::PeerGone { peer: peer() });
        }
        if !target.peers.contains(&self.endpoint.name) {
            tracing::debug!(
                from = %self.endpoint.name,
                to = %target.name,
                "receiver does not know the sender"
            );
            return Err(TransportError::Rejected {
                peer: peer(),
                rejection: Rejection::UnknownSender,
            });
        }
        let size = packet.len();
        // what moved is the packet, whatever becomes of it
        target.inbox.wire_moved(&self.endpoint.name, size as u64, 0);
        match target
            .inbox
            .deliver_stamped(&self.endpoint.name, packet, stamp)
        {
            Ok(delivery) => {
                tracing::trace!(
                    from = %self.endpoint.name,
                    to = %target.name,
                    size,
                    ?delivery,
                    "packet delivered"
                );
                Ok(())
            }
            Err(rejection) => {
                tracing::debug!(
                    from = %self.endpoint.name,
                    to = %target.name,
                    size,
                    %rejection,
                    "packet rejected"
                );
                Err(TransportError::Rejected {
                    peer: peer(),
                    rejection,
                })
            }
        }
    }

    /// Stops receiving and unbinds the name. Idempotent.
    fn close(&self) {
        {
            let mut open = self
                .endpoint
                .open
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if !*open {
                return;
            }
            *open = false;
        }
        {
            let mut names = self.network.inner.lock_names();
            if let Some(slot) = names.get_mut(&self.endpoint.name) {
                if matches!(slot, Slot::Bound(ep) if Arc::ptr_eq(ep, &self.endpoint)) {
                    *slot = Slot::Gone;
                }
            }
        }
        // Wakes our own waiting sends (they fail with `Closed`) and the
        // senders waiting for this name (they see it gone).
        self.network.inner.changed.notify_waiters();
        tracing::debug!(name = %self.endpoint.name, "memory endpoint shut down");
    }
}

impl MemoryTransport {
    /// Sends `packet` to `to`, with `stamp` if any.
    async fn send_with(
        &self,
        to: &str,
        packet: Bytes,
        stamp: Option<u64>,
    ) -> Result<(), TransportError> {
        if self.is_closed() {
            return Err(TransportError::Closed);
        }
        if !self.endpoint.peers.contains(to) {
            return Err(TransportError::UnknownPeer {
                peer: to.to_owned(),
            });
        }
        let target = self.resolve(to).await?;
        if self.is_closed() {
            return Err(TransportError::Closed);
        }
        self.deliver(&target, packet, stamp)
    }
}

impl Transport for MemoryTransport {
    async fn send(&self, to: &str, packet: Bytes) -> Result<(), TransportError> {
        self.send_with(to, packet, None).await
    }

    async fn send_stamped(
        &self,
        to: &str,
        parts: Vec<Bytes>,
        stamp: u64,
    ) -> Result<Sent, TransportError> {
        let packet = crate::join(parts);
        let len = packet.len() as u64;
        self.send_with(to, packet, Some(stamp)).await?;
        Ok(Sent::packet(len))
    }

    async fn shutdown(&self) {
        self.close();
    }

    async fn ask_report(&self, to: &str) -> Result<Option<Bytes>, TransportError> {
        if self.is_closed() {
            return Err(TransportError::Closed);
        }
        if !self.endpoint.peers.contains(to) {
            return Err(TransportError::UnknownPeer {
                peer: to.to_owned(),
            });
        }
        let target = self.resolve(to).await?;
        let open = *target.open.read().unwrap_or_else(PoisonError::into_inner);
        if !open {
            return Err(TransportError::PeerGone {
                peer: to.to_owned(),
            });
        }
        Ok(target.inbox.report())
    }

    async fn announce_departure(&self, reason: &str) {
        let targets: Vec<Arc<Endpoint>> = {
            let names = self.network.inner.lock_names();
            self.endpoint
                .peers
                .iter()
                .filter_map(|p| match names.get(p) {
                    Some(Slot::Bound(ep)) => Some(ep.clone()),
                    _ => None,
                })
                .collect()
        };
        for target in targets {
            let open = target.open.read().unwrap_or_else(PoisonError::into_inner);
            if *open && target.peers.contains(&self.endpoint.name) {
                target.inbox.peer_departed(&self.endpoint.name, reason);
            }
        }
    }
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTransport")
            .field("name", &self.endpoint.name)
            .field("peers", &self.endpoint.peers)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
