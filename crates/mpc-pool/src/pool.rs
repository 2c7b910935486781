//! The pool: the async driver around the [`Mailbox`] and a transport.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use mpc_serial::{DecodeLimits, Packet};
use mpc_transport::{BoxTransport, Delivery, Inbox, Rejection, TransportError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::channels::{self, ChannelBook, ChannelStats, Direction};
use crate::error::{Error, Kind};
use crate::ledger::Ledger;
use crate::mailbox::{
    AskError, Delivered, Incoming, Mailbox, MessageRef, PeerStats, Refused, Taken,
};
use crate::multi::{Broadcast, RecvAll};

/// Where a message's id comes from: the pool's own counters, or a
/// channel's ([`crate::Channel`]).
#[derive(Debug, Clone)]
pub(crate) enum Space {
    Root,
    Channel(Arc<str>),
}

/// The departure reason of a graceful shutdown.
pub(crate) const SHUTDOWN_REASON: &str = "shut down";

/// The default receive timeout: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A message ready to go out: its id, its packet (in parts) and its
/// round stamp.
pub(crate) struct Prepared {
    id: String,
    parts: Vec<Bytes>,
    stamp: u64,
}

pub(crate) type Waiter = oneshot::Sender<Result<Incoming, Error>>;

/// State shared by the pool handle and the transport's inbox.
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) mailbox: Mutex<Mailbox<Waiter>>,
    pub(crate) closed: AtomicBool,
    pub(crate) decode_limits: DecodeLimits,
    pub(crate) channels: Mutex<ChannelBook>,
    /// The highest round stamp of a message handed to a receive of this
    /// party: the next message it sends is stamped one more.
    pub(crate) clock: AtomicU64,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Mailbox<Waiter>> {
        // The mailbox's invariants hold between its calls; a panic in a
        // caller cannot leave it half-updated, so a poisoned lock is usable.
        self.mailbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn book(&self) -> MutexGuard<'_, ChannelBook> {
        // as for the mailbox: consistent between calls
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pool's ledger now.
    pub(crate) fn ledger(&self) -> Ledger {
        let mb = self.lock();
        // lock order: mailbox, then channels
        let channels = self.book().stats();
        Ledger::snapshot(
            &self.name,
            &mb,
            self.clock.load(Ordering::Acquire),
            channels,
        )
    }

    /// Hands `msg` to `waiter`; if the receiver went away meanwhile, files
    /// it again so it is not lost.
    fn wake(&self, peer: &str, id: &str, waiter: Waiter, msg: Incoming) {
        let mut pending = Some((waiter, msg));
        while let Some((waiter, msg)) = pending.take() {
            if let Err(Ok(msg)) = waiter.send(Ok(msg)) {
                pending = self.lock().put_back(peer, id, msg);
            }
        }
    }
}

impl Inbox for Shared {
    fn report(&self) -> Option<Bytes> {
        mpc_serial::encode_value(&self.ledger()).ok()
    }

    fn duplicate_acknowledged(&self, from: &str) {
        self.lock().record_duplicate(from);
    }

    fn wire_moved(&self, from: &str, read: u64, written: u64) {
        self.lock().record_wire_in(from, read, written);
    }

    fn peer_departed(&self, from: &str, reason: &str) {
        let failed = self.lock().depart(from, reason);
        if reason == SHUTDOWN_REASON {
            tracing::info!(pool = %self.name, peer = from, waiting = failed.len(), "peer shut down");
        } else {
            tracing::warn!(pool = %self.name, peer = from, reason = ?reason, waiting = failed.len(), "peer aborted");
        }
        for (id, w) in failed {
            let _ = w.send(Err(Error::new(Kind::PeerDeparted(reason.to_owned()))
                .with_peer(from)
                .with_id(id)));
        }
    }

    fn deliver(&self, from: &str, packet: Bytes) -> Result<Delivery, Rejection> {
        self.deliver_stamped(from, packet, None)
    }

    fn deliver_stamped(
        &self,
        from: &str,
        packet: Bytes,
        stamp: Option<u64>,
    ) -> Result<Delivery, Rejection> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Rejection::ShuttingDown);
        }
        let packet_len = packet.len();
        let p = Packet::decode(packet).map_err(|e| Rejection::Malformed {
            reason: e.to_string(),
        })?;
        p.validate(&self.decode_limits)
            .map_err(|e| Rejection::Malformed {
                reason: e.to_string(),
            })?;
        let msg = Incoming {
            object: p.object,
            packet_len,
            // 0: unstamped, resolved by the mailbox
            stamp: stamp.unwrap_or(0),
        };
        let outcome = {
            let mut mailbox = self.lock();
            let outcome = mailbox.file(from, &p.id, msg);
            if matches!(outcome, Ok(Delivered::Buffered | Delivered::ToWaiter(..))) {
                // counted before anyone can take the message (lock order:
                // mailbox, then channels; never the other way)
                self.book().record(
                    &p.id,
                    Direction::Received,
                    packet_len,
                    stamp.unwrap_or(0),
                    None,
                );
            }
            outcome
        };
        match outcome {
            Ok(Delivered::Buffered) => {
                tracing::trace!(pool = %self.name, from, id = ?p.id, "message buffered");
                Ok(Delivery::Accepted)
            }
            Ok(Delivered::ToWaiter(w, msg)) => {
                tracing::trace!(pool = %self.name, from, id = ?p.id, "message handed to receiver");
                self.wake(from, &p.id, w, msg);
                Ok(Delivery::Accepted)
            }
            Ok(Delivered::Duplicate) => {
                tracing::debug!(pool = %self.name, from, id = ?p.id, "retry of a buffered message acknowledged");
                Ok(Delivery::Duplicate)
            }
            Err(Refused::UnknownPeer) => Err(Rejection::UnknownSender),
            Err(Refused::Conflict) => {
                tracing::warn!(pool = %self.name, from, id = ?p.id, "refused a second, different message with an id that is still unread");
                Err(Rejection::Conflict { id: p.id })
            }
            Err(Refused::Full { reason }) => {
                tracing::warn!(pool = %self.name, from, id = ?p.id, %reason, "receive buffer full");
                Err(Rejection::BufferFull { reason })
            }
        }
    }
}

pub(crate) struct PoolInner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) transport: BoxTransport,
    pub(crate) timeout: Option<Duration>,
}

/// A party's view of the communication pool: its peers by name, and typed
/// messages to and from them by message id.
///
/// Cheap to clone; clones share everything. See the crate docs for an
/// overview.
#[derive(Clone)]
pub struct Pool {
    pub(crate) inner: Arc<PoolInner>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.inner.shared.name)
            .field("peers", &self.peers())
            .finish_non_exhaustive()
    }
}

/// What was left over when a pool shut down.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Traffic per peer.
    pub stats: Vec<PeerStats>,
    /// Messages that arrived but were never read.
    pub unread: Vec<MessageRef>,
    /// Messages that were still being waited for (those receives failed).
    pub awaited: Vec<MessageRef>,
    /// Everything the pool moved, per peer, channel and phase, with its
    /// rounds.
    pub ledger: Ledger,
}

impl Pool {
    /// The address the transport listens on: the HTTP(S) server's (pools
    /// started with [`PoolBuilder::start`](crate::PoolBuilder::start)), or what a custom transport
    /// reports ([`mpc_transport::Transport::local_addr`]).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.transport.local_addr_dyn()
    }

    /// This party's name.
    pub fn name(&self) -> &str {
        &self.inner.shared.name
    }

    /// The peers' names, in configuration order.
    pub fn peers(&self) -> Vec<String> {
        self.inner.shared.lock().peers().to_vec()
    }

    /// The pool's round: the highest round stamp this party has sent or
    /// received (0 before any message). The rounds of a stretch of the
    /// protocol are the difference of the rounds at its ends.
    ///
    /// Every message carries a stamp: 1 + the highest stamp of the messages
    /// this party had received (handed to a receive) before the send was
    /// called. A message from a peer that does not stamp (a Python party)
    /// counts as one round after the last message this party sent to it.
    pub fn round(&self) -> u64 {
        let sent = self.inner.shared.lock().round_sent();
        sent.max(self.inner.shared.clock.load(Ordering::Acquire))
    }

    /// Traffic counters per peer, in configuration order.
    pub fn stats(&self) -> Vec<PeerStats> {
        self.inner.shared.lock().stats()
    }

    /// A snapshot of what this pool moved so far: per peer and direction,
    /// per channel and per phase, with its rounds (see [`Ledger`]).
    pub fn ledger(&self) -> Ledger {
        self.inner.shared.ledger()
    }

    /// Traffic per channel, for every channel opened so far, by path.
    pub fn channel_stats(&self) -> Vec<ChannelStats> {
        self.inner.shared.book().stats()
    }

    pub(crate) fn channel_book(&self) -> MutexGuard<'_, ChannelBook> {
        self.inner.shared.book()
    }

    /// Opens channel `path` in the book; messages of it that arrived
    /// before it was opened here count as received now.
    pub(crate) fn open_channel(&self, path: &str) -> Result<(), channels::NameError> {
        let mailbox = self.inner.shared.lock();
        let mut book = self.inner.shared.book();
        book.open(path)?;
        let prefix = channels::wire_id(path, "");
        for (id, len) in mailbox.unread_sizes(|id| id.starts_with(&prefix)) {
            book.record(&id, Direction::Received, len, 0, None);
        }
        Ok(())
    }

    /// Removes the unread messages whose id satisfies `pick`.
    pub(crate) fn discard_unread(&self, pick: impl Fn(&str) -> bool) -> Vec<MessageRef> {
        self.inner.shared.lock().discard_unread(pick)
    }

    /// Messages received but not read yet, sorted.
    pub fn unread(&self) -> Vec<MessageRef> {
        self.inner.shared.lock().unread()
    }

    pub(crate) fn check_open(&self) -> Result<(), Error> {
        if self.inner.shared.closed.load(Ordering::Acquire) {
            return Err(Error::new(Kind::ShutDown));
        }
        Ok(())
    }

    /// The wire id of the next message to (`Sent`) or from (`Received`)
    /// `peer` in `space`: `custom`, or the space's counter for the peer;
    /// for a message sent, also its round stamp (taken now, under the
    /// lock taken anyway).
    fn next_id(
        &self,
        space: &Space,
        peer: &str,
        custom: Option<&str>,
        direction: Direction,
    ) -> Result<(String, u64), Error> {
        self.check_open()?;
        let shared = &self.inner.shared;
        let unknown = || Error::new(Kind::UnknownPeer).with_peer(peer);
        let mut mailbox = shared.lock();
        let id = match space {
            Space::Root => match direction {
                Direction::Sent => mailbox.next_send_id(peer, custom),
                Direction::Received => mailbox.next_recv_id(peer, custom),
            }
            .ok_or_else(unknown)?,
            Space::Channel(path) => {
                if !mailbox.peers().iter().any(|p| p == peer) {
                    return Err(unknown());
                }
                shared.book().next_id(path, peer, custom, direction)
            }
        };
        let stamp = match direction {
            Direction::Sent => mailbox.stamp_send(peer, shared.clock.load(Ordering::Acquire)),
            Direction::Received => 0,
        };
        Ok((id, stamp))
    }

    /// Prepares one message: picks its id and encodes it, now (large byte
    /// strings of a `Value` or `Blob` are shared, not copied).
    fn prepare<T: Serialize + ?Sized>(
        &self,
        space: &Space,
        peer: &str,
        custom: Option<&str>,
        msg: &T,
    ) -> Result<Prepared, Error> {
        let (id, stamp) = self.next_id(space, peer, custom, Direction::Sent)?;
        let (parts, _) = mpc_serial::encode_packet_parts(&id, msg).map_err(|e| {
            Error::new(Kind::Encode)
                .with_peer(peer)
                .with_id(id.clone())
                .with_source(e)
        })?;
        Ok(Prepared { id, parts, stamp })
    }

    /// Sends `msg` to `peer` in `space` with `custom` id or the next
    /// automatic one.
    pub(crate) fn send_in<T: Serialize + ?Sized>(
        &self,
        space: &Space,
        peer: &str,
        custom: Option<&str>,
        msg: &T,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        let prepared = self.prepare(space, peer, custom, msg);
        self.send_prepared(peer, prepared)
    }

    /// Sends `msg` to `peer` with the next automatic id; resolves once the
    /// peer has accepted it.
    ///
    /// The id is taken and the message encoded when `send` is called, not
    /// when the future is first polled, so ids follow call order.
    ///
    /// **Automatic ids and concurrent tasks:** the ids come from one
    /// counter per peer, taken in call order. Tasks that send or receive
    /// concurrently take ids in whatever order the scheduler runs them,
    /// which differs between parties, so messages meet the wrong receives,
    /// silently. Give each concurrent task its own [`Channel`](crate::Channel)
    /// ([`Pool::channel`](crate::Pool::channel), [`Channel::sub`](crate::Channel::sub)), or use custom ids.
    pub fn send<T: Serialize + ?Sized>(
        &self,
        peer: &str,
        msg: &T,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.send_in(&Space::Root, peer, None, msg)
    }

    /// Sends `msg` to `peer` with a custom message id (the automatic
    /// counter advances anyway, as in Python). An empty id means automatic.
    pub fn send_with_id<T: Serialize + ?Sized>(
        &self,
        peer: &str,
        id: &str,
        msg: &T,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.send_in(&Space::Root, peer, Some(id), msg)
    }

    /// Sends without waiting (the seed's `asend`): the send runs in the
    /// background. Await the handle to observe the result; if the handle is
    /// dropped, a failure is logged. Automatic ids: see [`Pool::send`] on
    /// concurrent tasks.
    ///
    /// Must be called within a tokio runtime.
    pub fn asend<T: Serialize + ?Sized>(&self, peer: &str, msg: &T) -> SendHandle {
        SendHandle::spawn(self.send(peer, msg), peer)
    }

    /// [`Pool::asend`] with a custom message id.
    pub fn asend_with_id<T: Serialize + ?Sized>(
        &self,
        peer: &str,
        id: &str,
        msg: &T,
    ) -> SendHandle {
        SendHandle::spawn(self.send_with_id(peer, id, msg), peer)
    }

    /// Sends a prepared message out to `peer` over the transport (the
    /// outgoing direction; incoming packets arrive through [`Inbox::deliver`]).
    fn send_prepared(
        &self,
        peer: &str,
        prepared: Result<Prepared, Error>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        let inner = self.inner.clone();
        let peer = peer.to_owned();
        async move {
            let Prepared { id, parts, stamp } = prepared?;
            let len: usize = parts.iter().map(Bytes::len).sum();
            let sent = inner
                .transport
                .send_stamped_boxed(&peer, parts, stamp)
                .await;
            match sent {
                Ok(sent) => {
                    let mut mailbox = inner.shared.lock();
                    mailbox.record_sent(&peer, len, &sent);
                    // lock order: mailbox, then channels
                    inner
                        .shared
                        .book()
                        .record(&id, Direction::Sent, len, stamp, Some(&sent));
                    drop(mailbox);
                    tracing::trace!(pool = %inner.shared.name, to = %peer, %id, len, stamp, "message sent");
                    Ok(())
                }
                Err(e) => {
                    if matches!(e, TransportError::Rejected { .. }) {
                        inner.shared.lock().record_refused(&peer);
                    }
                    Err(transport_error(e).with_peer(peer).with_id(id))
                }
            }
        }
    }

    /// Sends `msg` to every peer, or to the peers named by
    /// [`Broadcast::to`], with each peer's next automatic id or the id set
    /// by [`Broadcast::id`]; await the [`Broadcast`] to send.
    ///
    /// `pool.broadcast(&msg).await`, `pool.broadcast(&msg).to(&peers).id("x").await`;
    /// see [`Broadcast`].
    pub fn broadcast<'a, T: Serialize + ?Sized>(&'a self, msg: &'a T) -> Broadcast<'a, T> {
        Broadcast::new(self, Space::Root, msg)
    }

    /// A broadcast to `peers` in `space` ([`Broadcast`]).
    pub(crate) fn broadcast_in<T: Serialize + ?Sized>(
        &self,
        space: &Space,
        peers: &[String],
        msg: &T,
        id: Option<&str>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        let sends: Result<Vec<(String, Prepared)>, Error> = (|| {
            let object = mpc_serial::encode_value(msg).map_err(|e| {
                Error::new(Kind::Encode)
                    .with_id(id.unwrap_or_default())
                    .with_source(e)
            })?;
            let mut shared_packet: Option<Bytes> = None;
            let mut out = Vec::with_capacity(peers.len());
            for p in peers {
                let p = p.as_ref();
                let (pid, stamp) = self.next_id(space, p, id, Direction::Sent)?;
                let packet = match (&shared_packet, id.filter(|s| !s.is_empty())) {
                    (Some(pk), Some(_)) => pk.clone(),
                    _ => {
                        let pk = mpc_serial::encode_packet_raw(&pid, &object).map_err(|e| {
                            Error::new(Kind::Encode).with_id(pid.clone()).with_source(e)
                        })?;
                        if id.is_some_and(|s| !s.is_empty()) {
                            shared_packet = Some(pk.clone());
                        }
                        pk
                    }
                };
                out.push((
                    p.to_owned(),
                    Prepared {
                        id: pid,
                        parts: vec![packet],
                        stamp,
                    },
                ));
            }
            Ok(out)
        })();
        let pool = self.clone();
        let bid = id.unwrap_or_default().to_owned();
        async move {
            let handles: Vec<(String, SendHandle)> = sends?
                .into_iter()
                .map(|(peer, prepared)| {
                    let fut = pool.send_prepared(&peer, Ok(prepared));
                    let h = SendHandle::spawn(fut, &peer);
                    (peer, h)
                })
                .collect();
            let mut failed = Vec::new();
            let mut first: Option<Error> = None;
            for (peer, h) in handles {
                if let Err(e) = h.await {
                    failed.push(peer);
                    first.get_or_insert(e);
                }
            }
            match first {
                None => Ok(()),
                Some(e) => Err(Error::new(Kind::Broadcast(failed))
                    .with_id(bid)
                    .with_detail(e.to_string())),
            }
        }
    }

    /// Receives from `peer` in `space`, with `custom` id or the next
    /// automatic one.
    pub(crate) fn recv_in<T: DeserializeOwned + Send + 'static>(
        &self,
        space: &Space,
        peer: &str,
        custom: Option<&str>,
    ) -> Recv<T> {
        let id = self
            .next_id(space, peer, custom, Direction::Received)
            .map(|(id, _)| id);
        // an automatic id is used up by a receive that times out: its
        // error says how to read the message later (the id local to the
        // space, as `recv_with_id` takes it)
        let automatic = match (&id, custom) {
            (Ok(id), None | Some("")) => Some(match space {
                Space::Root => id.clone(),
                Space::Channel(_) => id.rsplit('#').next().unwrap_or(id).to_owned(),
            }),
            _ => None,
        };
        Recv {
            pool: self.clone(),
            peer: peer.to_owned(),
            id,
            automatic,
            timeout: self.inner.timeout,
            _t: std::marker::PhantomData,
        }
    }

    /// Receives the next message from `peer` (automatic id) as `T`; use
    /// [`mpc_serial::Value`] for any value.
    ///
    /// The id is taken when `recv` is called. Await the result; before
    /// that, [`Recv::timeout`] overrides the pool's timeout and
    /// [`Recv::register`] registers interest at once (the seed's `arecv`).
    ///
    /// **A receive that times out uses up its automatic id**, as in
    /// Python: the next `recv` from `peer` waits for the following id. The
    /// message, if it arrives later, stays in the buffer under its id; the
    /// timeout error names that id ([`Error::message_id`]) and says to read
    /// it with [`Pool::recv_with_id`]:
    ///
    /// ```
    /// # use mpc_pool::{MemoryNetwork, Pool};
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), mpc_pool::Error> {
    /// # let net = MemoryNetwork::new();
    /// # let alice = Pool::builder("alice").peer("bob").start_in_memory(&net).await?;
    /// # let bob = Pool::builder("bob").peer("alice").start_in_memory(&net).await?;
    /// let err = bob.recv::<u64>("alice").timeout(Duration::from_millis(10)).await.unwrap_err();
    /// assert!(err.is_timeout());
    /// assert_eq!(err.message_id(), Some("0"));     // id "0" is used up
    /// alice.send("bob", &1u64).await?;             // id "0", late
    /// alice.send("bob", &2u64).await?;             // id "1"
    /// assert_eq!(bob.recv::<u64>("alice").await?, 2);               // waits for "1"
    /// assert_eq!(bob.recv_with_id::<u64>("alice", "0").await?, 1);  // the late one
    /// # Ok(()) }
    /// ```
    ///
    /// **Automatic ids and concurrent tasks:** see [`Pool::send`]: tasks
    /// that receive concurrently with automatic ids may each get another
    /// task's message, silently. Use a [`Channel`](crate::Channel) per task.
    pub fn recv<T: DeserializeOwned + Send + 'static>(&self, peer: &str) -> Recv<T> {
        self.recv_in(&Space::Root, peer, None)
    }

    /// Receives the message with a custom id from `peer` (the automatic
    /// counter advances anyway, as in Python). An empty id means automatic.
    pub fn recv_with_id<T: DeserializeOwned + Send + 'static>(
        &self,
        peer: &str,
        id: &str,
    ) -> Recv<T> {
        self.recv_in(&Space::Root, peer, Some(id))
    }

    /// Registers interest in the next message from `peer` now and returns
    /// a future of it (the seed's `arecv`). Same as `recv(peer).register()`;
    /// automatic ids: see [`Pool::recv`] on concurrent tasks.
    pub fn arecv<T: DeserializeOwned + Send + 'static>(&self, peer: &str) -> Pending<T> {
        self.recv(peer).register()
    }

    /// Receives one message from every peer, or from the peers named by
    /// [`RecvAll::from`], with each peer's next automatic id or the id set
    /// by [`RecvAll::id`], concurrently; await the [`RecvAll`] for
    /// `(peer, value)` pairs in the order of the peers.
    ///
    /// `pool.recv_all::<T>().await`, `pool.recv_all::<T>().from(&peers).id("x").await`;
    /// see [`RecvAll`].
    pub fn recv_all<T: DeserializeOwned + Send + 'static>(&self) -> RecvAll<T> {
        RecvAll::new(self, Space::Root)
    }

    /// Shuts the pool down gracefully: tells the peers it is leaving (Rust
    /// peers then fail their receives from it at once), stops accepting
    /// messages, stops the transport, fails receives still waiting, and
    /// reports (and logs) traffic, unread messages and messages still
    /// awaited. Idempotent.
    pub async fn shutdown(&self) -> ShutdownReport {
        self.leave(SHUTDOWN_REASON).await
    }

    /// Leaves the pool because the protocol failed: like
    /// [`Pool::shutdown`], but the peers are told `reason`, and their
    /// receives from this party fail with it at once (Rust peers; Python
    /// peers ignore the announcement and time out as usual).
    pub async fn abort(&self, reason: &str) -> ShutdownReport {
        tracing::error!(pool = %self.inner.shared.name, reason, "aborting");
        self.leave(reason).await
    }

    async fn leave(&self, reason: &str) -> ShutdownReport {
        let shared = &self.inner.shared;
        if !shared.closed.swap(true, Ordering::AcqRel) {
            self.inner.transport.announce_departure_boxed(reason).await;
        }
        self.inner.transport.shutdown_boxed().await;
        let (waiters, unread, stats) = {
            let mut mb = shared.lock();
            (mb.drain_waiters(), mb.unread(), mb.stats())
        };
        let awaited: Vec<MessageRef> = waiters.iter().map(|(r, _)| r.clone()).collect();
        for (r, w) in waiters {
            let _ = w.send(Err(Error::new(Kind::ShutDown)
                .with_peer(r.peer)
                .with_id(r.id)));
        }
        for s in &stats {
            tracing::info!(
                pool = %shared.name,
                peer = %s.peer,
                messages_sent = s.messages_sent,
                bytes_sent = s.bytes_sent,
                messages_received = s.messages_received,
                bytes_received = s.bytes_received,
                "pool shut down: traffic"
            );
        }
        let ledger = self.ledger();
        tracing::info!(
            pool = %shared.name,
            rounds = ledger.rounds,
            messages_sent = ledger.total.messages_sent,
            bytes_sent = ledger.total.bytes_sent,
            wire_bytes_sent = ledger.total.wire_bytes_sent,
            messages_received = ledger.total.messages_received,
            bytes_received = ledger.total.bytes_received,
            wire_bytes_received = ledger.total.wire_bytes_received,
            "pool shut down: ledger\n{ledger}"
        );
        if !awaited.is_empty() {
            tracing::warn!(pool = %shared.name, count = awaited.len(), messages = ?awaited, "pool shut down while messages were still awaited");
        }
        if !unread.is_empty() {
            tracing::warn!(pool = %shared.name, count = unread.len(), messages = ?unread, "pool shut down with messages received but never read");
        }
        ShutdownReport {
            stats,
            unread,
            awaited,
            ledger,
        }
    }
}

/// The pool's error for a failed send: the transport's reason goes into
/// the one-line message (without the peer, which the message names). It
/// is not also the source, which would repeat it in every printed chain.
fn transport_error(e: TransportError) -> Error {
    let (kind, detail) = match &e {
        TransportError::Rejected { rejection, .. } => (Kind::Rejected, Some(rejection.to_string())),
        TransportError::UnknownPeer { .. } => (Kind::UnknownPeer, None),
        TransportError::Closed => (Kind::ShutDown, None),
        TransportError::Unreachable { reason, .. } => {
            (Kind::Transport, Some(format!("unreachable: {reason}")))
        }
        TransportError::PeerGone { .. } => (Kind::Transport, Some("the peer is gone".into())),
        TransportError::Other { source, .. } => (Kind::Transport, Some(source.to_string())),
        _ => (Kind::Transport, Some(e.to_string())),
    };
    match detail {
        Some(d) => Error::new(kind).with_detail(d).with_transport(e),
        None => Error::new(kind).with_source(e),
    }
}

/// A receive that has not started yet: await it, or [`Recv::register`] it.
#[must_use = "a receive does nothing until awaited or registered"]
pub struct Recv<T> {
    pool: Pool,
    peer: String,
    id: Result<String, Error>,
    /// The local id, when it is automatic.
    automatic: Option<String>,
    timeout: Option<Duration>,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Recv<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recv")
            .field("peer", &self.peer)
            .field("id", &self.id.as_ref().ok())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<T: DeserializeOwned + Send + 'static> Recv<T> {
    /// Waits at most `timeout` (instead of the pool's default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Waits without a time limit.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// The message id this receive is for.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref().ok()
    }

    /// The pool, the peer, the id (or why there is none), the timeout and
    /// the local id if it is automatic.
    fn into_parts(self) -> (Target, Result<String, Error>, Option<Duration>) {
        let target = Target {
            pool: self.pool,
            peer: self.peer,
            automatic: self.automatic,
        };
        (target, self.id, self.timeout)
    }

    /// Registers interest now (a message that arrives is handed straight to
    /// this receive) and returns a future of the message that may be
    /// stored, moved to another task, or awaited later (the seed's `arecv`).
    pub fn register(self) -> Pending<T> {
        let (target, id, timeout) = self.into_parts();
        // the time limit runs from registration, not from the first poll
        let deadline = timeout.map(|d| (tokio::time::Instant::now() + d, d));
        let registered =
            id.and_then(|id| register(&target.pool, &target.peer, &id).map(|slot| (id, slot)));
        Pending {
            fut: Box::pin(async move {
                let (id, slot) = registered?;
                finish(target, id, slot, deadline).await
            }),
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> IntoFuture for Recv<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Pending<T>;
    fn into_future(self) -> Pending<T> {
        let (target, id, timeout) = self.into_parts();
        Pending {
            fut: Box::pin(async move {
                let id = id?;
                let deadline = timeout.map(|d| (tokio::time::Instant::now() + d, d));
                let slot = register(&target.pool, &target.peer, &id)?;
                finish(target, id, slot, deadline).await
            }),
        }
    }
}

/// A receive in progress; resolves to the message. Dropping it withdraws
/// the interest, and a message that arrived for it stays in the buffer.
#[must_use = "futures do nothing unless awaited"]
pub struct Pending<T> {
    fut: Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>,
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl<T> Pending<T> {
    pub(crate) fn new(fut: impl Future<Output = Result<T, Error>> + Send + 'static) -> Self {
        Pending { fut: Box::pin(fut) }
    }
}

impl<T> Future for Pending<T> {
    type Output = Result<T, Error>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.fut.as_mut().poll(cx)
    }
}

enum Slot {
    Ready(Incoming),
    Waiting(WaitGuard),
}

/// A registered waiter. Dropping it withdraws the registration; a message
/// already handed to it goes back into the buffer.
struct WaitGuard {
    shared: Arc<Shared>,
    peer: String,
    id: String,
    ticket: u64,
    rx: oneshot::Receiver<Result<Incoming, Error>>,
    done: bool,
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let cancelled = self.shared.lock().cancel(&self.peer, &self.id, self.ticket);
        if !cancelled {
            if let Ok(Ok(msg)) = self.rx.try_recv() {
                if let Some((w, msg)) = self.shared.lock().put_back(&self.peer, &self.id, msg) {
                    self.shared.wake(&self.peer, &self.id, w, msg);
                }
            }
        }
    }
}

fn register(pool: &Pool, peer: &str, id: &str) -> Result<Slot, Error> {
    let shared = &pool.inner.shared;
    let mut rx = None;
    let taken = shared.lock().take_or_wait(peer, id, || {
        let (tx, r) = oneshot::channel();
        rx = Some(r);
        tx
    });
    match taken {
        Ok(Taken::Ready(msg)) => Ok(Slot::Ready(msg)),
        Ok(Taken::Waiting(ticket)) => match rx {
            Some(rx) => Ok(Slot::Waiting(WaitGuard {
                shared: shared.clone(),
                peer: peer.to_owned(),
                id: id.to_owned(),
                ticket,
                rx,
                done: false,
            })),
            None => Err(Error::new(Kind::ShutDown).with_peer(peer).with_id(id)),
        },
        Err(AskError::UnknownPeer) => Err(Error::new(Kind::UnknownPeer).with_peer(peer)),
        Err(AskError::AlreadyAwaited) => {
            Err(Error::new(Kind::AlreadyAwaited).with_peer(peer).with_id(id))
        }
        Err(AskError::Departed(reason)) => Err(Error::new(Kind::PeerDeparted(reason))
            .with_peer(peer)
            .with_id(id)),
    }
}

/// Whom a receive waits for: the pool, the peer, and the local id if it
/// is automatic.
struct Target {
    pool: Pool,
    peer: String,
    automatic: Option<String>,
}

async fn finish<T: DeserializeOwned + 'static>(
    target: Target,
    id: String,
    slot: Slot,
    deadline: Option<(tokio::time::Instant, Duration)>,
) -> Result<T, Error> {
    let Target {
        pool,
        peer,
        automatic,
    } = target;
    let shared = pool.inner.shared.clone();
    let msg = match slot {
        Slot::Ready(msg) => msg,
        Slot::Waiting(mut guard) => {
            let got = match deadline {
                None => (&mut guard.rx).await,
                Some((at, d)) => match tokio::time::timeout_at(at, &mut guard.rx).await {
                    Ok(r) => r,
                    Err(_) => {
                        if shared.lock().cancel(&peer, &id, guard.ticket) {
                            guard.done = true;
                            return Err(Error::new(Kind::Timeout(d, automatic))
                                .with_peer(peer)
                                .with_id(id));
                        }
                        // handed to us just now: it is (about to be) in the channel
                        (&mut guard.rx).await
                    }
                },
            };
            guard.done = true;
            match got {
                Ok(Ok(msg)) => msg,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(Error::new(Kind::ShutDown).with_peer(peer).with_id(id)),
            }
        }
    };
    // straight from the bytes, with the same limits and outcome as
    // decoding a `Value` first
    let decoded = mpc_serial::decode_with::<T>(&msg.object, &shared.decode_limits);
    match decoded {
        Ok(v) => {
            // the program now knows this message: what it sends next is
            // one round later
            shared.clock.fetch_max(msg.stamp, Ordering::AcqRel);
            Ok(v)
        }
        Err(e) => {
            // reported once, by the error returned (not logged as well)
            tracing::debug!(pool = %shared.name, from = %peer, ?id, error = ?e.to_string(), "received message does not decode as the requested type; kept in the buffer");
            if let Some((w, msg)) = shared.lock().put_back(&peer, &id, msg) {
                shared.wake(&peer, &id, w, msg);
            }
            Err(Error::new(Kind::Decode)
                .with_peer(peer)
                .with_id(id)
                .with_source(e))
        }
    }
}

/// A send running in the background ([`Pool::asend`]). Await it for the
/// result; if it is dropped, a failure is logged instead.
#[must_use = "drop the handle explicitly to detach the send; its failure is then only logged"]
pub struct SendHandle {
    rx: oneshot::Receiver<Result<(), Error>>,
}

impl std::fmt::Debug for SendHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendHandle").finish_non_exhaustive()
    }
}

impl SendHandle {
    pub(crate) fn spawn(
        fut: impl Future<Output = Result<(), Error>> + Send + 'static,
        peer: &str,
    ) -> Self {
        let (tx, rx) = oneshot::channel();
        let peer = peer.to_owned();
        tokio::spawn(async move {
            let res = fut.await;
            if let Err(Err(e)) = tx.send(res) {
                tracing::error!(to = %peer, error = %e, "background send failed");
            }
        });
        SendHandle { rx }
    }
}

impl Future for SendHandle {
    type Output = Result<(), Error>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(r)) => Poll::Ready(r),
            Poll::Ready(Err(_)) => Poll::Ready(Err(Error::new(Kind::ShutDown))),
            Poll::Pending => Poll::Pending,
        }
    }
}
