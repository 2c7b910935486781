//! The ledger: a snapshot of what a party's pool moved, per peer, per
//! channel and per phase, with its rounds ([`crate::Pool::ledger`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::channels::ChannelStats;
use crate::mailbox::{Mailbox, PeerStats};
use crate::phases::{PhaseLedger, Traffic};

/// What a party's pool moved up to a moment: per peer and direction, per
/// channel, per phase, and its rounds. Take one with
/// [`Pool::ledger`](crate::Pool::ledger); [`Ledger::since`] (or `-`) gives
/// what happened between two; serde serializes it (e.g. to JSON); its
/// `Display` is a table for people.
///
/// What is counted (docs/ledger.md): messages and packet bytes (the
/// serialized packets) per peer and direction; the bytes the transport
/// moved for the messages sent (HTTP/1.1 request heads and bodies of every
/// attempt, response heads and bodies; not TLS record overhead, the TLS
/// handshake, nor TCP/IP headers; in memory: the packets); retries,
/// refusals and acknowledged duplicates. Messages received count per peer
/// when they arrive, and in phases when they are handed to a receive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ledger {
    /// The party's name.
    pub party: String,
    /// The pool's round: the highest round stamp sent or received (handed
    /// to a receive). In a difference: the rounds between the two.
    pub rounds: u64,
    /// The totals over all peers.
    pub total: Traffic,
    /// Per peer, in configuration order.
    pub peers: Vec<PeerStats>,
    /// Per channel opened on this party, by path.
    pub channels: Vec<ChannelStats>,
    /// Per phase, in the order they were first entered.
    pub phases: Vec<PhaseLedger>,
}

impl Ledger {
    /// The ledger of `party` from its mailbox, its clock (the highest stamp
    /// read) and its channels' traffic.
    pub(crate) fn snapshot<W>(
        party: &str,
        mailbox: &Mailbox<W>,
        clock: u64,
        channels: Vec<ChannelStats>,
    ) -> Ledger {
        let rounds = mailbox.round_sent().max(clock);
        let phases = mailbox.phases().snapshot(rounds, crate::phases::now());
        Ledger::new(party.to_owned(), rounds, mailbox.stats(), channels, phases)
    }

    /// Assembles a ledger (the totals are summed from the peers).
    pub(crate) fn new(
        party: String,
        rounds: u64,
        peers: Vec<PeerStats>,
        channels: Vec<ChannelStats>,
        phases: Vec<PhaseLedger>,
    ) -> Ledger {
        let total = peers
            .iter()
            .fold(Traffic::default(), |t, p| t.plus(&traffic_of(p)));
        Ledger {
            party,
            rounds,
            total,
            peers,
            channels,
            phases,
        }
    }

    /// What happened since `earlier` (a snapshot of the same pool): every
    /// count minus the earlier one; the rounds between the two; per peer,
    /// the highest stamps sent and received are the later ones; a phase or
    /// channel that did not exist then counts whole.
    pub fn since(&self, earlier: &Ledger) -> Ledger {
        let peers = self
            .peers
            .iter()
            .map(|p| match earlier.peers.iter().find(|e| e.peer == p.peer) {
                Some(e) => peer_since(p, e),
                None => p.clone(),
            })
            .collect();
        let channels = self
            .channels
            .iter()
            .map(
                |c| match earlier.channels.iter().find(|e| e.channel == c.channel) {
                    Some(e) => c.since(e),
                    None => c.clone(),
                },
            )
            .collect();
        let phases = self
            .phases
            .iter()
            .map(
                |p| match earlier.phases.iter().find(|e| e.phase == p.phase) {
                    Some(e) => PhaseLedger {
                        phase: p.phase.clone(),
                        traffic: p.traffic.since(&e.traffic),
                        rounds: p.rounds.saturating_sub(e.rounds),
                        wall_seconds: (p.wall_seconds - e.wall_seconds).max(0.0),
                        activations: p.activations.saturating_sub(e.activations),
                    },
                    None => p.clone(),
                },
            )
            .collect();
        Ledger {
            party: self.party.clone(),
            rounds: self.rounds.saturating_sub(earlier.rounds),
            total: self.total.since(&earlier.total),
            peers,
            channels,
            phases,
        }
    }

    /// The phase with path `path`, if it was entered.
    pub fn phase(&self, path: &str) -> Option<&PhaseLedger> {
        self.phases.iter().find(|p| p.phase == path)
    }

    /// The counters of the peer named `peer`.
    pub fn peer(&self, peer: &str) -> Option<&PeerStats> {
        self.peers.iter().find(|p| p.peer == peer)
    }
}

impl std::ops::Sub<&Ledger> for &Ledger {
    type Output = Ledger;
    /// [`Ledger::since`].
    fn sub(self, earlier: &Ledger) -> Ledger {
        self.since(earlier)
    }
}

/// A peer's counters as [`Traffic`].
fn traffic_of(p: &PeerStats) -> Traffic {
    Traffic {
        messages_sent: p.messages_sent,
        bytes_sent: p.bytes_sent,
        wire_bytes_sent: p.wire_bytes_sent,
        messages_received: p.messages_received,
        bytes_received: p.bytes_received,
        wire_bytes_received: p.wire_bytes_received,
    }
}

fn peer_since(p: &PeerStats, e: &PeerStats) -> PeerStats {
    let mut d = p.clone();
    d.messages_sent = p.messages_sent.saturating_sub(e.messages_sent);
    d.bytes_sent = p.bytes_sent.saturating_sub(e.bytes_sent);
    d.messages_received = p.messages_received.saturating_sub(e.messages_received);
    d.bytes_received = p.bytes_received.saturating_sub(e.bytes_received);
    d.wire_bytes_sent = p.wire_bytes_sent.saturating_sub(e.wire_bytes_sent);
    d.wire_bytes_received = p.wire_bytes_received.saturating_sub(e.wire_bytes_received);
    d.retries = p.retries.saturating_sub(e.retries);
    d.refusals_sent = p.refusals_sent.saturating_sub(e.refusals_sent);
    d.duplicates_received = p.duplicates_received.saturating_sub(e.duplicates_received);
    d.refusals_received = p.refusals_received.saturating_sub(e.refusals_received);
    d
}

/// One table row: name, then the traffic columns, then `extra`.
fn row(f: &mut fmt::Formatter<'_>, name: &str, t: &Traffic, extra: &str) -> fmt::Result {
    let line = format!(
        "  {name:<20} {:>9} {:>12} {:>12} {:>9} {:>12} {:>12} {extra}",
        t.messages_sent,
        t.bytes_sent,
        t.wire_bytes_sent,
        t.messages_received,
        t.bytes_received,
        t.wire_bytes_received,
    );
    writeln!(f, "{}", line.trim_end())
}

fn header(f: &mut fmt::Formatter<'_>, what: &str, extra: &str) -> fmt::Result {
    writeln!(
        f,
        "  {what:<20} {:>9} {:>12} {:>12} {:>9} {:>12} {:>12} {extra}",
        "msgs out", "bytes out", "wire out", "msgs in", "bytes in", "wire in"
    )
}

impl fmt::Display for Ledger {
    /// A table per phase and per peer (and per channel, if any).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ledger of {}: {} rounds", self.party, self.rounds)?;
        if !self.phases.is_empty() {
            header(f, "phase", "  rounds   wall (s)")?;
            for p in &self.phases {
                let extra = format!("{:>8} {:>10.3}", p.rounds, p.wall_seconds);
                row(f, &p.phase, &p.traffic, &extra)?;
            }
        }
        header(f, "peer", "retries refusals duplicates")?;
        for p in &self.peers {
            let extra = format!(
                "{:>7} {:>4}/{:<4} {:>10}",
                p.retries, p.refusals_sent, p.refusals_received, p.duplicates_received
            );
            row(f, &p.peer, &traffic_of(p), &extra)?;
        }
        row(f, "total", &self.total, "")?;
        if !self.channels.is_empty() {
            header(f, "channel", "  rounds")?;
            for c in &self.channels {
                let t = Traffic {
                    messages_sent: c.messages_sent,
                    bytes_sent: c.bytes_sent,
                    wire_bytes_sent: c.wire_bytes_sent,
                    messages_received: c.messages_received,
                    bytes_received: c.bytes_received,
                    wire_bytes_received: c.wire_bytes_received,
                };
                row(f, &c.channel, &t, &format!("{:>8}", c.rounds()))?;
            }
        }
        Ok(())
    }
}
