//! A communication pool for secure multi-party computation, wire-compatible
//! with the Python package `tno.mpc.communication` 5.x.
//!
//! Each party runs a [`Pool`]: it knows its peers by name and exchanges
//! typed messages with them by message id. Messages that arrive before
//! anyone asks wait in a bounded buffer; ids are automatic (the same
//! counters as the Python package, so Rust and Python parties agree) or
//! custom.
//!
//! ```
//! use mpc_pool::{MemoryNetwork, Pool};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mpc_pool::Error> {
//! let net = MemoryNetwork::new();
//! let alice = Pool::builder("alice").peer("bob").start_in_memory(&net).await?;
//! let bob = Pool::builder("bob").peer("alice").start_in_memory(&net).await?;
//!
//! alice.send("bob", &(1u32, "hello")).await?;
//! let (n, s): (u32, String) = bob.recv("alice").await?;
//! assert_eq!((n, s.as_str()), (1, "hello"));
//! # alice.shutdown().await; bob.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Values: any `T: Serialize + DeserializeOwned` (see [`mpc_serial`] for the
//! mapping to Python types), [`Value`] for anything, [`BigInt`] for Python
//! ints of any size, [`NdArray`] for numpy arrays, and [`PyClass`] +
//! [`Tagged`] for the Python side's registered classes.
//!
//! Transports: HTTP(S) with optional mutual TLS, speaking the Python
//! package's exchange ([`PoolBuilder::start`]), in memory
//! ([`PoolBuilder::start_in_memory`]), or any [`transport::Transport`]
//! ([`PoolBuilder::start_with`]).
#![deny(missing_docs)]

pub mod blocking;
mod builder;
mod channel;
mod channels;
#[cfg(doctest)]
mod doc_snippets;
mod error;
mod ledger;
mod mailbox;
mod multi;
mod phase;
mod phases;
mod pool;
mod report;

pub use builder::{PeerConfig, PoolBuilder, TransportContext};
pub use channel::Channel;
pub use channels::ChannelStats;
pub use error::Error;
pub use ledger::Ledger;
pub use mailbox::{BufferLimits, MessageRef, PeerStats};
pub use multi::{Broadcast, BroadcastFuture, RecvAll};
pub use phase::Phase;
pub use phases::{PhaseLedger, Traffic};
pub use pool::{Pending, Pool, Recv, SendHandle, ShutdownReport, DEFAULT_TIMEOUT};
pub use report::PoolLedger;

pub use mpc_http::{ServerLimits, TlsConfig, TlsError};
pub use mpc_netem::{LinkProfile, ProfileError};
pub use mpc_serial::{
    tagged, BigInt, Blob, Bytes, DecodeLimits, IBig, NdArray, PyClass, ShapeError, Tagged, Value,
};
pub use mpc_transport::MemoryNetwork;

/// The transport seam, for running a pool on a custom transport.
pub mod transport {
    pub use mpc_transport::*;
}

/// The wire format, for working with packets directly.
pub mod serial {
    pub use mpc_serial::*;
}
