//! A blocking facade over the pool, for scripts, tests and programs that
//! are not async (the Python package sets its pool up "without taking care
//! of the event loop yourself"; this is the Rust counterpart).
//!
//! A [`blocking::Pool`](Pool) owns a small tokio runtime (one worker
//! thread, which serves the HTTP(S) server and the connections), and each
//! call blocks the calling thread until it is done, as reqwest's `blocking`
//! client does. It is the same pool as the async one
//! ([`Pool::as_async`]): same wire format, ids, timeouts and errors.
//!
//! ```
//! use mpc_pool::{MemoryNetwork, Pool};
//!
//! # fn main() -> Result<(), mpc_pool::Error> {
//! let net = MemoryNetwork::new();
//! let alice = Pool::builder("alice").peer("bob").start_in_memory_blocking(&net)?;
//! let bob = Pool::builder("bob").peer("alice").start_in_memory_blocking(&net)?;
//!
//! alice.send("bob", &(1u32, "hello"))?;                 // id "0"
//! let (n, s): (u32, String) = bob.recv("alice")?;      // id "0"
//! assert_eq!((n, s.as_str()), (1, "hello"));
//!
//! bob.broadcast(&7u64).id("seven").send()?;
//! let got: Vec<(String, u64)> = alice.recv_all().id("seven").recv()?;
//! assert_eq!(got, [("bob".to_string(), 7)]);
//!
//! alice.shutdown();
//! bob.shutdown();
//! # Ok(()) }
//! ```
//!
//! Over HTTP(S): [`PoolBuilder::start_blocking`](crate::PoolBuilder::start_blocking)
//! (example: `cargo run -p mpc-examples --example blocking`). A receive
//! blocks its thread: parties that wait for each other run in different
//! threads or processes. Do not call these methods from async code (they
//! panic inside a tokio runtime); use the async [`crate::Pool`] there.

use std::future::{Future, IntoFuture as _};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::builder::PoolBuilder;
use crate::error::{Error, Kind};
use crate::pool::ShutdownReport;
use crate::MemoryNetwork;

/// A pool whose calls block (see the [module docs](self)).
pub struct Pool {
    /// `None` only while dropping (the pool is dropped inside its runtime).
    pool: Option<crate::Pool>,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Pool").field(&self.pool).finish()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // the transport's tasks and handles belong to this runtime
        let _entered = self.rt.enter();
        self.pool = None;
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("mpc-pool-blocking")
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(Kind::Start(
                "cannot start the blocking pool's runtime".into(),
            ))
            .with_source(e)
        })
}

impl PoolBuilder {
    /// [`PoolBuilder::start`] for programs that are not async: starts the
    /// pool on the HTTP(S) transport in a runtime of its own and returns
    /// its [blocking facade](Pool).
    pub fn start_blocking(self) -> Result<Pool, Error> {
        let rt = runtime()?;
        let pool = rt.block_on(self.start())?;
        Ok(Pool {
            pool: Some(pool),
            rt,
        })
    }

    /// [`PoolBuilder::start_in_memory`] for programs that are not async.
    pub fn start_in_memory_blocking(self, network: &MemoryNetwork) -> Result<Pool, Error> {
        let rt = runtime()?;
        let pool = rt.block_on(self.start_in_memory(network))?;
        Ok(Pool {
            pool: Some(pool),
            rt,
        })
    }
}

impl Pool {
    /// The async pool behind this facade (shared: what one does, the other
    /// sees), for the calls not offered here (channels, phases, the
    /// ledger, `asend`); run its futures with [`Pool::block_on`].
    pub fn as_async(&self) -> &crate::Pool {
        self.pool
            .as_ref()
            .expect("the pool is present until it is dropped")
    }

    /// Runs `fut` on this pool's runtime until it is done.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    /// This party's name.
    pub fn name(&self) -> &str {
        self.as_async().name()
    }

    /// The peers' names, in configuration order.
    pub fn peers(&self) -> Vec<String> {
        self.as_async().peers()
    }

    /// The address the server listens on (HTTP(S) pools).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.as_async().local_addr()
    }

    /// Sends `msg` to `peer` with the next automatic id; returns once the
    /// peer has accepted it ([`crate::Pool::send`]).
    pub fn send<T: Serialize + ?Sized>(&self, peer: &str, msg: &T) -> Result<(), Error> {
        self.block_on(self.as_async().send(peer, msg))
    }

    /// Sends `msg` to `peer` with a custom id ([`crate::Pool::send_with_id`]).
    pub fn send_with_id<T: Serialize + ?Sized>(
        &self,
        peer: &str,
        id: &str,
        msg: &T,
    ) -> Result<(), Error> {
        self.block_on(self.as_async().send_with_id(peer, id, msg))
    }

    /// Receives the next message from `peer` as `T`, waiting at most the
    /// pool's timeout ([`crate::Pool::recv`]). A receive that times out
    /// uses up its automatic id, as in Python (its error says how to read
    /// the message later).
    pub fn recv<T: DeserializeOwned + Send + 'static>(&self, peer: &str) -> Result<T, Error> {
        self.block_on(self.as_async().recv(peer).into_future())
    }

    /// [`Pool::recv`] waiting at most `timeout`.
    pub fn recv_timeout<T: DeserializeOwned + Send + 'static>(
        &self,
        peer: &str,
        timeout: Duration,
    ) -> Result<T, Error> {
        self.block_on(self.as_async().recv(peer).timeout(timeout).into_future())
    }

    /// Receives the message with a custom id from `peer`
    /// ([`crate::Pool::recv_with_id`]).
    pub fn recv_with_id<T: DeserializeOwned + Send + 'static>(
        &self,
        peer: &str,
        id: &str,
    ) -> Result<T, Error> {
        self.block_on(self.as_async().recv_with_id(peer, id).into_future())
    }

    /// Sends `msg` to every peer, or those named by [`Broadcast::to`];
    /// [`Broadcast::send`] sends it (see [`crate::Broadcast`]).
    pub fn broadcast<'a, T: Serialize + ?Sized>(&'a self, msg: &'a T) -> Broadcast<'a, T> {
        Broadcast {
            pool: self,
            inner: self.as_async().broadcast(msg),
        }
    }

    /// Receives one message from every peer, or those named by
    /// [`RecvAll::from`]; [`RecvAll::recv`] waits for them (see
    /// [`crate::RecvAll`]).
    pub fn recv_all<T: DeserializeOwned + Send + 'static>(&self) -> RecvAll<'_, T> {
        RecvAll {
            pool: self,
            inner: self.as_async().recv_all(),
        }
    }

    /// Shuts the pool down gracefully ([`crate::Pool::shutdown`]) and
    /// stops its runtime.
    pub fn shutdown(self) -> ShutdownReport {
        self.block_on(self.as_async().shutdown())
    }

    /// Leaves the pool because the protocol failed ([`crate::Pool::abort`]).
    pub fn abort(self, reason: &str) -> ShutdownReport {
        self.block_on(self.as_async().abort(reason))
    }
}

/// A blocking broadcast being set up ([`Pool::broadcast`]): the settings
/// of [`crate::Broadcast`], then [`Broadcast::send`].
#[must_use = "a broadcast does nothing until sent"]
#[derive(Debug)]
pub struct Broadcast<'a, T: ?Sized> {
    pool: &'a Pool,
    inner: crate::Broadcast<'a, T>,
}

impl<T: Serialize + ?Sized> Broadcast<'_, T> {
    /// Sends to these peers (any list of names) instead of all.
    pub fn to<I, S>(mut self, peers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner = self.inner.to(peers);
        self
    }

    /// Sends with this custom id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.inner = self.inner.id(id);
        self
    }

    /// Sends, and returns once every peer has accepted it (or names those
    /// that did not, [`Error::failed_peers`]).
    pub fn send(self) -> Result<(), Error> {
        self.pool.block_on(self.inner.into_future())
    }
}

/// A blocking receive from several peers being set up
/// ([`Pool::recv_all`]): the settings of [`crate::RecvAll`], then
/// [`RecvAll::recv`].
#[must_use = "a receive does nothing until received"]
#[derive(Debug)]
pub struct RecvAll<'a, T> {
    pool: &'a Pool,
    inner: crate::RecvAll<T>,
}

impl<T: DeserializeOwned + Send + 'static> RecvAll<'_, T> {
    /// Receives from these peers (any list of names) instead of all.
    pub fn from<I, S>(mut self, peers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner = self.inner.from(peers);
        self
    }

    /// Receives the messages with this custom id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.inner = self.inner.id(id);
        self
    }

    /// Waits at most `timeout` for all of them.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.timeout(timeout);
        self
    }

    /// Waits without a time limit.
    pub fn no_timeout(mut self) -> Self {
        self.inner = self.inner.no_timeout();
        self
    }

    /// Waits for the messages: `(peer, value)` in the order of the peers.
    pub fn recv(self) -> Result<Vec<(String, T)>, Error> {
        self.pool.block_on(self.inner.into_future())
    }
}
