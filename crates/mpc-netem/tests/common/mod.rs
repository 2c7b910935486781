//! The parties of the emulation's test suites: emulated transports over
//! the in-memory network, set up as the pool builder does.
#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use mpc_netem::{Emulated, LinkProfile, PartyClock};
use mpc_transport::{Delivery, Inbox, MemoryNetwork, MemoryTransport, Rejection};
use tokio::sync::mpsc;

/// An inbox that hands every packet to a channel.
struct Forward(mpsc::UnboundedSender<(String, Bytes)>);

impl Inbox for Forward {
    fn deliver(&self, from: &str, packet: Bytes) -> Result<Delivery, Rejection> {
        let _ = self.0.send((from.to_owned(), packet));
        Ok(Delivery::Accepted)
    }
}

/// A party: its emulated transport and what it is handed (sender, packet).
pub(crate) type Party = (
    Arc<Emulated<MemoryTransport>>,
    mpsc::UnboundedReceiver<(String, Bytes)>,
);

/// A party `me` knowing `peer`, whose inbox records exact arrivals in its
/// clock, as the pool builder sets it up.
pub(crate) fn party(net: &MemoryNetwork, me: &str, peer: &str, profile: LinkProfile) -> Party {
    let (tx, rx) = mpsc::unbounded_channel();
    let clock = PartyClock::new();
    let t = net
        .bind(me, [peer.to_owned()], clock.inbox(Arc::new(Forward(tx))))
        .expect("bind");
    (Arc::new(Emulated::new(t, profile).with_clock(clock)), rx)
}

/// alice and bob on a network of their own, both links following `profile`.
pub(crate) fn pair(profile: LinkProfile) -> (Party, Party) {
    let net = MemoryNetwork::new();
    (
        party(&net, "alice", "bob", profile),
        party(&net, "bob", "alice", profile),
    )
}
