//! The exchange between parties, as both the server and the clients speak
//! it: this crate's additions to the Python package's exchange (headers and
//! paths), and which peers are known to understand them.
//!
//! The Python exchange itself (a `POST` whose body is the packet, the
//! `server_port` cookie, the status codes) is described in the crate docs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// The request header carrying a message's delivery token (Rust senders
/// only): retries of one message carry the same token.
pub const DELIVERY_HEADER: &str = "x-mpc-delivery";

/// The request header carrying a message's round stamp (Rust senders
/// only; the Python package ignores it, as it ignores
/// [`DELIVERY_HEADER`]): 1 + the highest stamp its sender had received.
pub const ROUND_HEADER: &str = "x-mpc-round";

/// The path a Rust party posts its departure announcement to (the body is
/// the reason). The Python package answers it with 404 and ignores it.
pub const DEPARTURE_PATH: &str = "/mpc/departure";

/// The path a Rust party posts to ask a peer known to run this crate for
/// its report (its ledger); the answer's body is the report, 404 if it has
/// none. Never sent to Python peers.
pub const REPORT_PATH: &str = "/mpc/report";

/// A response header by which a Rust server shows it understands this
/// crate's additions (departure announcements).
pub const POOL_HEADER: &str = "x-mpc-pool";

/// Peers known to run this crate (they sent a delivery token, or answered
/// with [`POOL_HEADER`]): only they are sent departure announcements, so
/// Python peers never see one.
#[derive(Debug, Default)]
pub(crate) struct RustPeers(HashMap<String, AtomicBool>);

impl RustPeers {
    pub(crate) fn new(names: &[String]) -> Self {
        RustPeers(
            names
                .iter()
                .map(|n| (n.clone(), AtomicBool::new(false)))
                .collect(),
        )
    }
    pub(crate) fn mark(&self, peer: &str) {
        if let Some(f) = self.0.get(peer) {
            f.store(true, Ordering::Relaxed);
        }
    }
    pub(crate) fn is_rust(&self, peer: &str) -> bool {
        self.0.get(peer).is_some_and(|f| f.load(Ordering::Relaxed))
    }
}
