//! Phases as plain data: which phases are active, and what was sent and
//! received while each was. The guard is [`crate::Phase`]; the mailbox
//! holds the book and counts into it under the lock it takes anyway.
//!
//! A phase is pool-wide: while its guard lives, every message of the pool
//! (any task, any channel) counts in it. A phase entered while another is
//! active nests in the innermost active one (`online` then `mult` is
//! `online/mult`); a message counts in every active phase, so a parent's
//! totals include its children's. Entering a phase with a path seen before
//! adds to it (its wall time and rounds are summed over its activations).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The time phases are measured in: tokio's clock, so that in virtual time
/// (a paused clock, with network emulation) a phase's wall time is the
/// emulated time; the real time otherwise.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

use mpc_transport::Sent;
use serde::{Deserialize, Serialize};

/// Separates the labels of a nested phase's path.
pub(crate) const PHASE_SEPARATOR: char = '/';

/// Messages and bytes, both ways: what a phase, a party or the whole pool
/// moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Traffic {
    /// Messages delivered to peers.
    pub messages_sent: u64,
    /// Packet bytes delivered to peers (the serialized packets).
    pub bytes_sent: u64,
    /// Bytes the transport wrote for them (HTTP: request heads and bodies
    /// of every attempt).
    pub wire_bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Packet bytes received.
    pub bytes_received: u64,
    /// Bytes the transport read back for the messages sent (HTTP: response
    /// heads and bodies).
    pub wire_bytes_received: u64,
}

impl Traffic {
    /// Counts one message sent.
    pub(crate) fn sent(&mut self, len: usize, sent: &Sent) {
        self.messages_sent += 1;
        self.bytes_sent += len as u64;
        self.wire_bytes_sent += sent.wire_bytes_sent;
        self.wire_bytes_received += sent.wire_bytes_received;
    }

    /// Counts one message received.
    pub(crate) fn received(&mut self, len: usize) {
        self.messages_received += 1;
        self.bytes_received += len as u64;
    }

    /// Field by field `self + other`.
    pub fn plus(&self, other: &Traffic) -> Traffic {
        Traffic {
            messages_sent: self.messages_sent + other.messages_sent,
            bytes_sent: self.bytes_sent + other.bytes_sent,
            wire_bytes_sent: self.wire_bytes_sent + other.wire_bytes_sent,
            messages_received: self.messages_received + other.messages_received,
            bytes_received: self.bytes_received + other.bytes_received,
            wire_bytes_received: self.wire_bytes_received + other.wire_bytes_received,
        }
    }

    /// Field by field `self - earlier` (0 where `earlier` is larger).
    pub fn since(&self, earlier: &Traffic) -> Traffic {
        Traffic {
            messages_sent: self.messages_sent.saturating_sub(earlier.messages_sent),
            bytes_sent: self.bytes_sent.saturating_sub(earlier.bytes_sent),
            wire_bytes_sent: self.wire_bytes_sent.saturating_sub(earlier.wire_bytes_sent),
            messages_received: self
                .messages_received
                .saturating_sub(earlier.messages_received),
            bytes_received: self.bytes_received.saturating_sub(earlier.bytes_received),
            wire_bytes_received: self
                .wire_bytes_received
                .saturating_sub(earlier.wire_bytes_received),
        }
    }
}

/// One phase in a [`Ledger`](crate::Ledger).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PhaseLedger {
    /// The phase's path (`online/mult`).
    pub phase: String,
    /// What was sent and received while it was active.
    pub traffic: Traffic,
    /// Rounds: the pool's round when it ended minus when it began, summed
    /// over its activations (so far, for an active one).
    pub rounds: u64,
    /// Wall time it was active, in seconds, summed over its activations.
    pub wall_seconds: f64,
    /// How many times it was entered.
    pub activations: u64,
}

#[derive(Debug)]
struct PhaseState {
    ledger: PhaseLedger,
    wall: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    token: u64,
    index: usize,
    round: u64,
    since: Instant,
}

/// Every phase entered so far, and the active ones.
#[derive(Debug, Default)]
pub(crate) struct PhaseBook {
    phases: Vec<PhaseState>,
    by_path: HashMap<String, usize>,
    active: Vec<Active>,
    next_token: u64,
}

impl PhaseBook {
    /// Enters phase `name` (nested in the innermost active phase) at the
    /// pool's `round` and time `now`; the token ends it.
    pub(crate) fn enter(&mut self, name: &str, round: u64, now: Instant) -> u64 {
        let path = match self.active.last() {
            Some(a) => format!(
                "{}{PHASE_SEPARATOR}{name}",
                self.phases[a.index].ledger.phase
            ),
            None => name.to_owned(),
        };
        let index = match self.by_path.get(&path) {
            Some(i) => *i,
            None => {
                self.phases.push(PhaseState {
                    ledger: PhaseLedger {
                        phase: path.clone(),
                        ..PhaseLedger::default()
                    },
                    wall: Duration::ZERO,
                });
                self.by_path.insert(path, self.phases.len() - 1);
                self.phases.len() - 1
            }
        };
        self.phases[index].ledger.activations += 1;
        let token = self.next_token;
        self.next_token += 1;
        self.active.push(Active {
            token,
            index,
            round,
            since: now,
        });
        token
    }

    /// The path of the active phase `token`.
    pub(crate) fn path_of(&self, token: u64) -> Option<&str> {
        let a = self.active.iter().find(|a| a.token == token)?;
        Some(&self.phases[a.index].ledger.phase)
    }

    /// Ends the activation `token` at the pool's `round` and time `now`
    /// (guards may end in any order).
    pub(crate) fn leave(&mut self, token: u64, round: u64, now: Instant) {
        let Some(pos) = self.active.iter().position(|a| a.token == token) else {
            return;
        };
        let a = self.active.remove(pos);
        let st = &mut self.phases[a.index];
        st.ledger.rounds += round.saturating_sub(a.round);
        st.wall += now.saturating_duration_since(a.since);
    }

    /// Each active phase once (one entered twice at the same time counts once).
    fn each_active(&mut self, mut f: impl FnMut(&mut Traffic)) {
        for (i, a) in self.active.iter().enumerate() {
            if self.active[..i].iter().any(|b| b.index == a.index) {
                continue;
            }
            f(&mut self.phases[a.index].ledger.traffic);
        }
    }

    /// Counts a message sent in the active phases.
    pub(crate) fn sent(&mut self, len: usize, sent: &Sent) {
        self.each_active(|t| t.sent(len, sent));
    }

    /// Counts a message received (handed to a receive) in the active phases.
    pub(crate) fn received(&mut self, len: usize) {
        self.each_active(|t| t.received(len));
    }

    /// The phases in the order they were first entered, with what the
    /// active ones did so far (at the pool's `round` and time `now`).
    pub(crate) fn snapshot(&self, round: u64, now: Instant) -> Vec<PhaseLedger> {
        let mut out: Vec<PhaseLedger> = Vec::with_capacity(self.phases.len());
        let mut wall: Vec<Duration> = Vec::with_capacity(self.phases.len());
        for st in &self.phases {
            out.push(st.ledger.clone());
            wall.push(st.wall);
        }
        for a in &self.active {
            out[a.index].rounds += round.saturating_sub(a.round);
            wall[a.index] += now.saturating_duration_since(a.since);
        }
        for (l, w) in out.iter_mut().zip(wall) {
            l.wall_seconds = w.as_secs_f64();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_nest_attribute_and_sum_over_activations() {
        let t0 = Instant::now();
        let mut b = PhaseBook::default();
        b.sent(5, &Sent::packet(5)); // no phase active: counted nowhere
        let online = b.enter("online", 0, t0);
        b.sent(10, &Sent::packet(12));
        let mult = b.enter("mult", 1, t0);
        b.received(7);
        b.leave(mult, 3, t0 + Duration::from_secs(1));
        let mult = b.enter("mult", 3, t0);
        b.leave(mult, 4, t0 + Duration::from_secs(2));
        b.leave(online, 4, t0 + Duration::from_secs(5));
        let s = b.snapshot(9, t0);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].phase, "online");
        assert_eq!(s[1].phase, "online/mult");
        assert_eq!(
            (s[0].traffic.messages_sent, s[0].traffic.bytes_sent),
            (1, 10)
        );
        assert_eq!(s[0].traffic.wire_bytes_sent, 12);
        assert_eq!(s[0].traffic.bytes_received, 7);
        assert_eq!(s[1].traffic.messages_sent, 0);
        assert_eq!(s[1].traffic.messages_received, 1);
        assert_eq!((s[0].rounds, s[1].rounds), (4, 3));
        assert_eq!(s[1].activations, 2);
        assert_eq!(s[1].wall_seconds, 3.0);
        assert_eq!(s[0].wall_seconds, 5.0);
        // out of order: the outer guard dropped first
        let a = b.enter("x", 9, t0);
        let c = b.enter("y", 9, t0);
        b.leave(a, 9, t0);
        let d = b.enter("z", 9, t0); // nests in the innermost active: x/y
        b.leave(c, 9, t0);
        b.leave(d, 9, t0);
        let names: Vec<String> = b.snapshot(9, t0).into_iter().map(|p| p.phase).collect();
        assert_eq!(names, ["online", "online/mult", "x", "x/y", "x/y/z"]);
    }
}
