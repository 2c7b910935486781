//! The multi-peer calls, one shape for both: [`Broadcast`] and
//! [`RecvAll`], builders with named settings (`.to(peers)` /
//! `.from(peers)`, `.id(id)`) that take any list of names, awaited like
//! a send or a receive.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;
use crate::pool::{Pending, Pool, Space};

/// Any list of peer names: `&["bob", "carol"]`, `pool.peers()`, a
/// `Vec<String>`, an iterator of `&str`...
fn names<I, S>(peers: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    peers.into_iter().map(|p| p.as_ref().to_owned()).collect()
}

/// A broadcast being set up ([`Pool::broadcast`],
/// [`Channel::broadcast`](crate::Channel::broadcast)): to every peer
/// unless [`to`](Broadcast::to) says otherwise, with each peer's next
/// automatic id unless [`id`](Broadcast::id) gives one. Await it to send.
///
/// ```
/// # use mpc_pool::{MemoryNetwork, Pool};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mpc_pool::Error> {
/// # let net = MemoryNetwork::new();
/// # let pool = Pool::builder("alice").peer("bob").peer("carol").start_in_memory(&net).await?;
/// # let _bob = Pool::builder("bob").peer("alice").start_in_memory(&net).await?;
/// # let _carol = Pool::builder("carol").peer("alice").start_in_memory(&net).await?;
/// pool.broadcast(&42u64).await?;                           // all peers, automatic ids
/// pool.broadcast(&42u64).id("round-1").await?;             // all peers, one custom id
/// pool.broadcast(&42u64).to(["bob"]).await?;               // some peers
/// let others: Vec<String> = pool.peers();
/// pool.broadcast(&42u64).to(&others).id("round-2").await?; // any list of names
/// # Ok(()) }
/// ```
///
/// The value is encoded once. With a custom id every peer gets the same
/// packet; without, each gets its own next automatic id (Python's
/// `broadcast`); automatic ids are unsafe in concurrent tasks (see
/// [`Pool::send`]): use a [`Channel`](crate::Channel) per task. The ids
/// are taken when the broadcast is awaited (or turned into a future).
///
/// It resolves once every send has finished; if any failed, the error
/// names them ([`Error::failed_peers`]).
#[must_use = "a broadcast does nothing until awaited"]
pub struct Broadcast<'a, T: ?Sized> {
    pool: &'a Pool,
    space: Space,
    msg: &'a T,
    peers: Option<Vec<String>>,
    id: Option<String>,
}

impl<T: ?Sized> std::fmt::Debug for Broadcast<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast")
            .field("peers", &self.peers)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<'a, T: Serialize + ?Sized> Broadcast<'a, T> {
    pub(crate) fn new(pool: &'a Pool, space: Space, msg: &'a T) -> Self {
        Broadcast {
            pool,
            space,
            msg,
            peers: None,
            id: None,
        }
    }

    /// Sends to these peers (any list of names) instead of all.
    pub fn to<I, S>(mut self, peers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.peers = Some(names(peers));
        self
    }

    /// Sends with this custom id (the same to every peer; every peer's
    /// automatic counter advances anyway, as in Python). An empty id means
    /// automatic.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// The future of a [`Broadcast`].
pub type BroadcastFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'static>>;

impl<T: Serialize + ?Sized> IntoFuture for Broadcast<'_, T> {
    type Output = Result<(), Error>;
    type IntoFuture = BroadcastFuture;
    fn into_future(self) -> BroadcastFuture {
        let peers = self.peers.unwrap_or_else(|| self.pool.peers());
        Box::pin(
            self.pool
                .broadcast_in(&self.space, &peers, self.msg, self.id.as_deref()),
        )
    }
}

/// A receive from several peers being set up ([`Pool::recv_all`],
/// [`Channel::recv_all`](crate::Channel::recv_all)): one message from
/// every peer unless [`from`](RecvAll::from) says otherwise, with each
/// peer's next automatic id unless [`id`](RecvAll::id) gives one. Await it
/// for `(peer, value)` pairs in the order of the peers.
///
/// ```
/// # use mpc_pool::{MemoryNetwork, Pool};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mpc_pool::Error> {
/// # let net = MemoryNetwork::new();
/// # let pool = Pool::builder("alice").peer("bob").peer("carol").start_in_memory(&net).await?;
/// # let bob = Pool::builder("bob").peer("alice").start_in_memory(&net).await?;
/// # let carol = Pool::builder("carol").peer("alice").start_in_memory(&net).await?;
/// # for p in [&bob, &carol] { p.send("alice", &1u64).await?; p.send_with_id("alice", "x", &2u64).await?; }
/// # bob.send("alice", &3u64).await?;
/// let all: Vec<(String, u64)> = pool.recv_all().await?;          // every peer, automatic ids
/// let by_id: Vec<(String, u64)> = pool.recv_all().id("x").await?; // a custom id
/// let some = pool.recv_all::<u64>().from(["bob"]).await?;         // any list of names
/// assert_eq!(all, [("bob".to_string(), 1), ("carol".to_string(), 1)]);
/// assert_eq!(some, [("bob".to_string(), 3)]);
/// # Ok(()) }
/// ```
///
/// The receives are registered together, so the messages may arrive in
/// any order. The ids are taken when it is awaited or
/// [registered](RecvAll::register); automatic ids are unsafe in
/// concurrent tasks (see [`Pool::recv`]): use a
/// [`Channel`](crate::Channel) per task.
#[must_use = "a receive does nothing until awaited or registered"]
pub struct RecvAll<T> {
    pool: Pool,
    space: Space,
    peers: Option<Vec<String>>,
    id: Option<String>,
    /// `None`: the pool's default.
    timeout: Option<Option<Duration>>,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for RecvAll<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvAll")
            .field("peers", &self.peers)
            .field("id", &self.id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> RecvAll<T> {
    pub(crate) fn new(pool: &Pool, space: Space) -> Self {
        RecvAll {
            pool: pool.clone(),
            space,
            peers: None,
            id: None,
            timeout: None,
            _t: std::marker::PhantomData,
        }
    }

    /// Receives from these peers (any list of names) instead of all.
    pub fn from<I, S>(mut self, peers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.peers = Some(names(peers));
        self
    }

    /// Receives the messages with this custom id (every peer's automatic
    /// counter advances anyway, as in Python). An empty id means automatic.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Waits at most `timeout` for all of them (instead of the pool's
    /// default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(Some(timeout));
        self
    }

    /// Waits without a time limit.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Some(None);
        self
    }

    /// Registers interest in every message now (a message that arrives is
    /// handed straight to its receive) and returns the future of them all.
    pub fn register(self) -> Pending<Vec<(String, T)>> {
        let peers = self.peers.unwrap_or_else(|| self.pool.peers());
        let pending: Vec<(String, Pending<T>)> = peers
            .into_iter()
            .map(|p| {
                let mut r = self.pool.recv_in::<T>(&self.space, &p, self.id.as_deref());
                match self.timeout {
                    Some(Some(d)) => r = r.timeout(d),
                    Some(None) => r = r.no_timeout(),
                    None => {}
                }
                (p, r.register())
            })
            .collect();
        Pending::new(async move {
            let mut out = Vec::with_capacity(pending.len());
            for (p, fut) in pending {
                out.push((p, fut.await?));
            }
            Ok(out)
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> IntoFuture for RecvAll<T> {
    type Output = Result<Vec<(String, T)>, Error>;
    type IntoFuture = Pending<Vec<(String, T)>>;
    fn into_future(self) -> Self::IntoFuture {
        self.register()
    }
}
