//! The pool's bookkeeping as plain data: message ids, buffered messages,
//! waiting receivers, bounds and statistics — per peer. No I/O, no async,
//! no clock: everything here is deterministic and tested without sockets.
//!
//! `W` is what stands for a waiting receiver (a oneshot sender in the pool,
//! a number in tests). The mailbox never calls it: it hands it back to the
//! caller together with the message, so the caller wakes it after releasing
//! the lock.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use bytes::Bytes;
use mpc_transport::Sent;
use serde::{Deserialize, Serialize};

use crate::phases::PhaseBook;

/// A message that arrived: its encoded value and the size of its packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Incoming {
    /// The msgpack encoding of the value (a slice of the received packet).
    pub(crate) object: Bytes,
    /// Size of the whole packet, for statistics and buffer accounting.
    pub(crate) packet_len: usize,
    /// Its round stamp; 0 as it arrives from a peer that does not stamp,
    /// resolved by [`Mailbox::file`] (one round after the last message
    /// sent to that peer).
    pub(crate) stamp: u64,
}

/// Bounds on what one peer may leave unread in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimits {
    /// Most messages buffered from one peer.
    pub max_messages: usize,
    /// Most packet bytes buffered from one peer.
    pub max_bytes: usize,
}

impl Default for BufferLimits {
    /// 100 000 messages and 512 MiB per peer.
    fn default() -> Self {
        BufferLimits {
            max_messages: 100_000,
            max_bytes: 512 << 20,
        }
    }
}

/// Traffic counters for one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PeerStats {
    /// The peer's name.
    pub peer: String,
    /// Messages delivered to the peer.
    pub messages_sent: u64,
    /// Packet bytes delivered to the peer.
    pub bytes_sent: u64,
    /// Messages accepted from the peer.
    pub messages_received: u64,
    /// Packet bytes accepted from the peer.
    pub bytes_received: u64,
    /// Bytes the transport wrote to the peer: for the messages delivered
    /// to it (HTTP: request heads and bodies of every attempt; in memory:
    /// the packets) and in answer to its messages (HTTP: the response
    /// heads and bodies).
    pub wire_bytes_sent: u64,
    /// Bytes the transport read from the peer: the answers to the messages
    /// sent to it (HTTP: response heads and bodies) and its messages (HTTP:
    /// request heads and bodies; in memory: the packets).
    pub wire_bytes_received: u64,
    /// Attempts beyond the first for the messages delivered to the peer.
    pub retries: u64,
    /// Messages the peer refused (a send failed with a rejection).
    pub refusals_sent: u64,
    /// Repeated deliveries from the peer acknowledged without filing them
    /// twice (retries whose first answer was lost).
    pub duplicates_received: u64,
    /// Messages from the peer this party refused (id conflict, buffer full).
    pub refusals_received: u64,
    /// The highest round stamp sent to the peer (0: none yet).
    pub round_sent: u64,
    /// The highest round stamp received from the peer (0: none yet); an
    /// unstamped message counts one round after the last one sent to it.
    pub round_received: u64,
}

/// A message id, and which peer it concerns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageRef {
    /// The peer's name.
    pub peer: String,
    /// The message id.
    pub id: String,
}

enum Slot<W> {
    Arrived(Incoming),
    Waiting { waiter: W, ticket: u64 },
}

struct PeerState<W> {
    /// Set when the peer announced it left the pool, with its reason.
    departed: Option<String>,
    send_counter: u64,
    recv_counter: u64,
    slots: HashMap<String, Slot<W>>,
    buffered_messages: usize,
    buffered_bytes: usize,
    stats: PeerStats,
}

/// What happened to a delivered message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Delivered<W> {
    /// Filed in the buffer until someone asks.
    Buffered,
    /// Someone was waiting: wake them with the message.
    ToWaiter(W, Incoming),
    /// An identical message with this id is already buffered: a retry.
    Duplicate,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    UnknownPeer,
    Conflict,
    Full { reason: String },
}

/// The result of asking for a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// It was there.
    Ready(Incoming),
    /// It is not there yet; the waiter is registered under this ticket.
    Waiting(u64),
}

/// Why asking for a message failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AskError {
    UnknownPeer,
    AlreadyAwaited,
    /// The peer left the pool (its reason) and the message is not here.
    Departed(String),
}

pub(crate) struct Mailbox<W> {
    peers: HashMap<String, PeerState<W>>,
    order: Vec<String>,
    limits: BufferLimits,
    next_ticket: u64,
    /// The highest stamp sent.
    round: u64,
    /// The phases, counted as messages are sent and handed to receives.
    phases: PhaseBook,
}

/// Python's rule: an empty custom id means "use the counter".
fn pick_id(custom: Option<&str>, counter: u64) -> String {
    match custom {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => counter.to_string(),
    }
}

impl<W> PeerState<W> {
    /// Removes and returns every waiter of this peer, with the id it waits for.
    fn take_waiters(&mut self) -> Vec<(String, W)> {
        let ids: Vec<String> = self
            .slots
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Waiting { .. }))
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(Slot::Waiting { waiter, .. }) = self.slots.remove(&id) {
                out.push((id, waiter));
            }
        }
        out
    }
}

impl<W> Mailbox<W> {
    pub(crate) fn new(peers: impl IntoIterator<Item = String>, limits: BufferLimits) -> Self {
        let mut map = HashMap::new();
        let mut order = Vec::new();
        for p in peers {
            if map.contains_key(&p) {
                continue;
            }
            order.push(p.clone());
            map.insert(
                p.clone(),
                PeerState {
                    departed: None,
                    send_counter: 0,
                    recv_counter: 0,
                    slots: HashMap::new(),
                    buffered_messages: 0,
                    buffered_bytes: 0,
                    stats: PeerStats {
                        peer: p,
                        ..PeerStats::default()
                    },
                },
            );
        }
        Mailbox {
            peers: map,
            order,
            limits,
            next_ticket: 0,
            round: 0,
            phases: PhaseBook::default(),
        }
    }

    /// Peer names in configuration order.
    pub(crate) fn peers(&self) -> &[String] {
        &self.order
    }

    /// The id of the next message sent to `peer`: `custom`, or the send
    /// counter. The counter advances either way (as in Python).
    pub(crate) fn next_send_id(&mut self, peer: &str, custom: Option<&str>) -> Option<String> {
        let st = self.peers.get_mut(peer)?;
        let id = pick_id(custom, st.send_counter);
        st.send_counter += 1;
        Some(id)
    }

    /// The round stamp of a message to `peer` sent by a party whose highest
    /// stamp read so far is `known`: `known + 1`. Records it as the last
    /// stamp sent to `peer` and in the pool's round.
    pub(crate) fn stamp_send(&mut self, peer: &str, known: u64) -> u64 {
        let stamp = known.saturating_add(1);
        if let Some(st) = self.peers.get_mut(peer) {
            st.stats.round_sent = st.stats.round_sent.max(stamp);
        }
        self.round = self.round.max(stamp);
        stamp
    }

    /// The highest stamp sent so far.
    pub(crate) fn round_sent(&self) -> u64 {
        self.round
    }

    /// The phases.
    pub(crate) fn phases(&self) -> &PhaseBook {
        &self.phases
    }

    /// The phases, to enter and leave them.
    pub(crate) fn phases_mut(&mut self) -> &mut PhaseBook {
        &mut self.phases
    }

    /// The id of the next message received from `peer`: `custom`, or the
    /// receive counter. The counter advances either way (as in Python).
    pub(crate) fn next_recv_id(&mut self, peer: &str, custom: Option<&str>) -> Option<String> {
        let st = self.peers.get_mut(peer)?;
        let id = pick_id(custom, st.recv_counter);
        st.recv_counter += 1;
        Some(id)
    }

    /// Files a message from `peer`.
    pub(crate) fn file(
        &mut self,
        peer: &str,
        id: &str,
        mut msg: Incoming,
    ) -> Result<Delivered<W>, Refused> {
        let limits = self.limits;
        let st = self.peers.get_mut(peer).ok_or(Refused::UnknownPeer)?;
        // a message from a peer that had left means it is back
        st.departed = None;
        if msg.stamp == 0 {
            // an unstamped peer: one round after our last message to it
            msg.stamp = st.stats.round_sent.saturating_add(1);
        }
        match st.slots.get(id) {
            Some(Slot::Arrived(existing)) => {
                return if existing.object == msg.object {
                    st.stats.duplicates_received += 1;
                    Ok(Delivered::Duplicate)
                } else {
                    st.stats.refusals_received += 1;
                    Err(Refused::Conflict)
                };
            }
            Some(Slot::Waiting { .. }) => {
                let Some(Slot::Waiting { waiter, .. }) = st.slots.remove(id) else {
                    return Err(Refused::Conflict); // unreachable: matched above
                };
                st.stats.messages_received += 1;
                st.stats.bytes_received += msg.packet_len as u64;
                st.stats.round_received = st.stats.round_received.max(msg.stamp);
                self.phases.received(msg.packet_len);
                return Ok(Delivered::ToWaiter(waiter, msg));
            }
            None => {}
        }
        if st.buffered_messages >= limits.max_messages {
            st.stats.refusals_received += 1;
            return Err(Refused::Full {
                reason: format!("{} messages unread", st.buffered_messages),
            });
        }
        if st.buffered_bytes.saturating_add(msg.packet_len) > limits.max_bytes {
            st.stats.refusals_received += 1;
            return Err(Refused::Full {
                reason: format!(
                    "{} bytes unread, limit {}",
                    st.buffered_bytes, limits.max_bytes
                ),
            });
        }
        st.stats.messages_received += 1;
        st.stats.bytes_received += msg.packet_len as u64;
        st.stats.round_received = st.stats.round_received.max(msg.stamp);
        st.buffered_messages += 1;
        st.buffered_bytes += msg.packet_len;
        st.slots.insert(id.to_owned(), Slot::Arrived(msg));
        Ok(Delivered::Buffered)
    }

    /// Takes the message `id` from `peer` if it is there, else registers
    /// the waiter `make()` for it.
    pub(crate) fn take_or_wait(
        &mut self,
        peer: &str,
        id: &str,
        make: impl FnOnce() -> W,
    ) -> Result<Taken, AskError> {
        let ticket = self.next_ticket;
        let st = self.peers.get_mut(peer).ok_or(AskError::UnknownPeer)?;
        match st.slots.entry(id.to_owned()) {
            Entry::Occupied(e) => match e.get() {
                Slot::Waiting { .. } => Err(AskError::AlreadyAwaited),
                Slot::Arrived(_) => {
                    let Slot::Arrived(msg) = e.remove() else {
                        return Err(AskError::AlreadyAwaited); // unreachable
                    };
                    st.buffered_messages -= 1;
                    st.buffered_bytes -= msg.packet_len;
                    self.phases.received(msg.packet_len);
                    Ok(Taken::Ready(msg))
                }
            },
            Entry::Vacant(_) if st.departed.is_some() => {
                Err(AskError::Departed(st.departed.clone().unwrap_or_default()))
            }
            Entry::Vacant(e) => {
                e.insert(Slot::Waiting {
                    waiter: make(),
                    ticket,
                });
                self.next_ticket += 1;
                Ok(Taken::Waiting(ticket))
            }
        }
    }

    /// Withdraws the waiter registered under `ticket`. `false` if it is no
    /// longer registered (a message was handed to it meanwhile).
    pub(crate) fn cancel(&mut self, peer: &str, id: &str, ticket: u64) -> bool {
        let Some(st) = self.peers.get_mut(peer) else {
            return false;
        };
        match st.slots.get(id) {
            Some(Slot::Waiting { ticket: t, .. }) if *t == ticket => {
                st.slots.remove(id);
                true
            }
            _ => false,
        }
    }

    /// Puts back a message that was taken but not consumed (its receiver
    /// went away, or it did not decode as the requested type). Bypasses
    /// the limits: it had been accepted already. If someone is waiting for
    /// it by now, they get it instead.
    pub(crate) fn put_back(
        &mut self,
        peer: &str,
        id: &str,
        msg: Incoming,
    ) -> Option<(W, Incoming)> {
        let st = self.peers.get_mut(peer)?;
        match st.slots.remove(id) {
            Some(Slot::Waiting { waiter, .. }) => Some((waiter, msg)),
            Some(Slot::Arrived(other)) => {
                // A second message with this id arrived meanwhile: keep the
                // first (ours), as delivery would have.
                st.buffered_bytes -= other.packet_len;
                st.buffered_messages -= 1;
                st.buffered_messages += 1;
                st.buffered_bytes += msg.packet_len;
                st.slots.insert(id.to_owned(), Slot::Arrived(msg));
                None
            }
            None => {
                st.buffered_messages += 1;
                st.buffered_bytes += msg.packet_len;
                st.slots.insert(id.to_owned(), Slot::Arrived(msg));
                None
            }
        }
    }

    /// Records that `peer` left the pool with `reason`, and removes and
    /// returns every waiter for it (they fail with that reason).
    pub(crate) fn depart(&mut self, peer: &str, reason: &str) -> Vec<(String, W)> {
        let Some(st) = self.peers.get_mut(peer) else {
            return Vec::new();
        };
        st.departed = Some(reason.to_owned());
        st.take_waiters()
    }

    /// Counts a message delivered to `peer`: its packet size and what the
    /// transport moved for it.
    pub(crate) fn record_sent(&mut self, peer: &str, packet_len: usize, sent: &Sent) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.stats.messages_sent += 1;
            st.stats.bytes_sent += packet_len as u64;
            st.stats.wire_bytes_sent += sent.wire_bytes_sent;
            st.stats.wire_bytes_received += sent.wire_bytes_received;
            st.stats.retries += u64::from(sent.attempts.saturating_sub(1));
            self.phases.sent(packet_len, sent);
        }
    }

    /// Counts the wire bytes the transport moved to take in a packet from
    /// `peer` (read: its request; written: the answer).
    pub(crate) fn record_wire_in(&mut self, peer: &str, read: u64, written: u64) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.stats.wire_bytes_received += read;
            st.stats.wire_bytes_sent += written;
        }
    }

    /// Counts a repeated delivery from `peer` the transport acknowledged
    /// without delivering it again.
    pub(crate) fn record_duplicate(&mut self, peer: &str) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.stats.duplicates_received += 1;
        }
    }

    /// Counts a message `peer` refused.
    pub(crate) fn record_refused(&mut self, peer: &str) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.stats.refusals_sent += 1;
        }
    }

    /// Statistics per peer, in configuration order.
    pub(crate) fn stats(&self) -> Vec<PeerStats> {
        self.order
            .iter()
            .filter_map(|p| self.peers.get(p).map(|s| s.stats.clone()))
            .collect()
    }

    /// Messages received but not read, sorted.
    pub(crate) fn unread(&self) -> Vec<MessageRef> {
        self.refs(|s| matches!(s, Slot::Arrived(_)))
    }

    /// Messages being waited for, sorted.
    #[cfg(test)]
    pub(crate) fn awaited(&self) -> Vec<MessageRef> {
        self.refs(|s| matches!(s, Slot::Waiting { .. }))
    }

    fn refs(&self, pick: impl Fn(&Slot<W>) -> bool) -> Vec<MessageRef> {
        let mut out: Vec<MessageRef> = self
            .peers
            .iter()
            .flat_map(|(p, st)| {
                st.slots
                    .iter()
                    .filter(|(_, s)| pick(s))
                    .map(|(id, _)| MessageRef {
                        peer: p.clone(),
                        id: id.clone(),
                    })
            })
            .collect();
        out.sort();
        out
    }

    /// The ids and packet sizes of the unread messages whose id satisfies
    /// `pick`.
    pub(crate) fn unread_sizes(&self, pick: impl Fn(&str) -> bool) -> Vec<(String, usize)> {
        self.peers
            .values()
            .flat_map(|st| st.slots.iter())
            .filter_map(|(id, s)| match s {
                Slot::Arrived(m) if pick(id) => Some((id.clone(), m.packet_len)),
                _ => None,
            })
            .collect()
    }

    /// Removes the unread messages whose id satisfies `pick` (the messages
    /// of a channel that closes) and returns which they were, sorted.
    pub(crate) fn discard_unread(&mut self, pick: impl Fn(&str) -> bool) -> Vec<MessageRef> {
        let mut out = Vec::new();
        for (p, st) in &mut self.peers {
            let ids: Vec<String> = st
                .slots
                .iter()
                .filter(|(id, s)| matches!(s, Slot::Arrived(_)) && pick(id))
                .map(|(id, _)| id.clone())
                .collect();
            for id in ids {
                if let Some(Slot::Arrived(msg)) = st.slots.remove(&id) {
                    st.buffered_messages -= 1;
                    st.buffered_bytes -= msg.packet_len;
                    out.push(MessageRef {
                        peer: p.clone(),
                        id,
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// Removes and returns every waiter (at shutdown), with what it waits for.
    pub(crate) fn drain_waiters(&mut self) -> Vec<(MessageRef, W)> {
        let mut out = Vec::new();
        for (p, st) in &mut self.peers {
            out.extend(st.take_waiters().into_iter().map(|(id, waiter)| {
                let peer = p.clone();
                (MessageRef { peer, id }, waiter)
            }));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> Incoming {
        Incoming {
            object: Bytes::copy_from_slice(s.as_bytes()),
            packet_len: s.len() + 10,
            stamp: 1,
        }
    }

    fn mb() -> Mailbox<u32> {
        Mailbox::new(
            ["bob".to_string(), "carol".to_string()],
            BufferLimits::default(),
        )
    }

    #[test]
    fn ids_follow_python_counters() {
        let mut m = mb();
        assert_eq!(m.next_send_id("bob", None).as_deref(), Some("0"));
        assert_eq!(m.next_send_id("bob", Some("x")).as_deref(), Some("x"));
        // the counter advanced for the custom id too
        assert_eq!(m.next_send_id("bob", None).as_deref(), Some("2"));
        // an empty custom id means the counter, as `msg_id or str(counter)`
        assert_eq!(m.next_send_id("bob", Some("")).as_deref(), Some("3"));
        // counters are per peer and per direction
        assert_eq!(m.next_send_id("carol", None).as_deref(), Some("0"));
        assert_eq!(m.next_recv_id("bob", None).as_deref(), Some("0"));
        assert_eq!(m.next_recv_id("bob", None).as_deref(), Some("1"));
        assert_eq!(m.next_send_id("mallory", None), None);
    }

    #[test]
    fn early_message_waits_in_buffer() {
        let mut m = mb();
        assert_eq!(m.file("bob", "0", msg("a")), Ok(Delivered::Buffered));
        assert_eq!(
            m.unread(),
            vec![MessageRef {
                peer: "bob".into(),
                id: "0".into()
            }]
        );
        assert_eq!(m.take_or_wait("bob", "0", || 1), Ok(Taken::Ready(msg("a"))));
        assert!(m.unread().is_empty());
        let s = &m.stats()[0];
        assert_eq!((s.messages_received, s.bytes_received), (1, 11));
    }

    #[test]
    fn waiter_gets_message_when_it_arrives() {
        let mut m = mb();
        assert_eq!(m.take_or_wait("bob", "7", || 42), Ok(Taken::Waiting(0)));
        assert_eq!(m.awaited().len(), 1);
        assert_eq!(
            m.take_or_wait("bob", "7", || 43),
            Err(AskError::AlreadyAwaited)
        );
        assert_eq!(
            m.file("bob", "7", msg("x")),
            Ok(Delivered::ToWaiter(42, msg("x")))
        );
        assert!(m.awaited().is_empty());
        assert!(m.unread().is_empty());
    }

    #[test]
    fn duplicate_id_is_refused_and_first_kept() {
        let mut m = mb();
        m.file("bob", "0", msg("first")).unwrap();
        assert_eq!(m.file("bob", "0", msg("second")), Err(Refused::Conflict));
        // an identical retry is acknowledged, not filed twice
        assert_eq!(m.file("bob", "0", msg("first")), Ok(Delivered::Duplicate));
        assert_eq!(
            m.take_or_wait("bob", "0", || 0),
            Ok(Taken::Ready(msg("first")))
        );
        assert_eq!(m.stats()[0].messages_received, 1);
        // same id from another peer is another message
        assert_eq!(m.file("carol", "0", msg("second")), Ok(Delivered::Buffered));
    }

    #[test]
    fn unknown_peer_is_refused() {
        let mut m = mb();
        assert_eq!(m.file("mallory", "0", msg("a")), Err(Refused::UnknownPeer));
        assert_eq!(
            m.take_or_wait("mallory", "0", || 0),
            Err(AskError::UnknownPeer)
        );
    }

    #[test]
    fn buffer_is_bounded_by_count_and_bytes() {
        let mut m: Mailbox<u32> = Mailbox::new(
            ["bob".to_string(), "carol".to_string()],
            BufferLimits {
                max_messages: 2,
                max_bytes: 100,
            },
        );
        m.file("bob", "0", msg("a")).unwrap();
        m.file("bob", "1", msg("b")).unwrap();
        assert!(matches!(
            m.file("bob", "2", msg("c")),
            Err(Refused::Full { .. })
        ));
        // a waiter still gets its message: waiting receivers are not buffered
        m.take_or_wait("bob", "9", || 5).unwrap();
        assert!(matches!(
            m.file("bob", "9", msg("c")),
            Ok(Delivered::ToWaiter(5, _))
        ));
        // reading frees room
        m.take_or_wait("bob", "0", || 0).unwrap();
        assert_eq!(m.file("bob", "2", msg("c")), Ok(Delivered::Buffered));
        // bytes: 100 bytes allowed, each message 10 + len
        let big = "x".repeat(85);
        assert!(matches!(
            m.file("carol", "0", msg(&big)),
            Ok(Delivered::Buffered)
        ));
        assert!(matches!(
            m.file("carol", "1", msg("yy")),
            Err(Refused::Full { .. })
        ));
    }

    #[test]
    fn cancel_only_removes_own_ticket() {
        let mut m = mb();
        let Ok(Taken::Waiting(t1)) = m.take_or_wait("bob", "0", || 1) else {
            panic!()
        };
        assert!(m.cancel("bob", "0", t1));
        assert!(!m.cancel("bob", "0", t1));
        let Ok(Taken::Waiting(t2)) = m.take_or_wait("bob", "0", || 2) else {
            panic!()
        };
        assert_ne!(t1, t2);
        assert!(
            !m.cancel("bob", "0", t1),
            "a stale ticket must not cancel a newer waiter"
        );
        assert_eq!(m.awaited().len(), 1);
        assert!(m.cancel("bob", "0", t2));
    }

    #[test]
    fn put_back_keeps_the_message() {
        let mut m = mb();
        m.file("bob", "0", msg("a")).unwrap();
        let Ok(Taken::Ready(got)) = m.take_or_wait("bob", "0", || 0) else {
            panic!()
        };
        assert!(m.put_back("bob", "0", got).is_none());
        assert_eq!(m.unread().len(), 1);
        let Ok(Taken::Ready(got)) = m.take_or_wait("bob", "0", || 0) else {
            panic!()
        };
        m.take_or_wait("bob", "0", || 9).unwrap();
        assert_eq!(m.put_back("bob", "0", got.clone()), Some((9, got)));
    }

    #[test]
    fn stamps_and_rounds_and_unstamped_peers() {
        let mut m = mb();
        assert_eq!(m.round_sent(), 0);
        // sends stamp one past what was read
        assert_eq!(m.stamp_send("bob", 0), 1);
        assert_eq!(m.stamp_send("bob", 4), 5);
        assert_eq!(m.round_sent(), 5);
        // an unstamped message from bob counts one past our last to bob
        let mut un = msg("a");
        un.stamp = 0;
        m.file("bob", "0", un).unwrap();
        let Ok(Taken::Ready(got)) = m.take_or_wait("bob", "0", || 0) else {
            panic!()
        };
        assert_eq!(got.stamp, 6);
        // from carol, to whom nothing was sent: round 1
        let mut un = msg("b");
        un.stamp = 0;
        m.file("carol", "0", un).unwrap();
        let s = m.stats();
        assert_eq!((s[0].round_sent, s[0].round_received), (5, 6));
        assert_eq!((s[1].round_sent, s[1].round_received), (0, 1));
        // duplicates and refusals are counted
        m.file("carol", "0", msg("b")).unwrap();
        assert!(m.file("carol", "0", msg("c")).is_err());
        let s = m.stats();
        assert_eq!((s[1].duplicates_received, s[1].refusals_received), (1, 1));
        assert_eq!(s[1].messages_received, 1);
    }

    #[test]
    fn drain_waiters_at_shutdown() {
        let mut m = mb();
        m.take_or_wait("bob", "0", || 1).unwrap();
        m.take_or_wait("carol", "5", || 2).unwrap();
        m.file("bob", "1", msg("a")).unwrap();
        let mut w = m.drain_waiters();
        w.sort();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].1, 1);
        assert_eq!(w[1].0.id, "5");
        assert!(m.awaited().is_empty());
        assert_eq!(m.unread().len(), 1);
    }

    #[test]
    fn departed_peer_fails_waiters_but_buffered_messages_stay_readable() {
        let mut m = mb();
        m.file("bob", "0", msg("a")).unwrap();
        m.take_or_wait("bob", "1", || 7).unwrap();
        let failed = m.depart("bob", "protocol failed");
        assert_eq!(failed, vec![("1".to_string(), 7)]);
        // what arrived before the departure can still be read
        assert_eq!(m.take_or_wait("bob", "0", || 0), Ok(Taken::Ready(msg("a"))));
        // anything else fails at once, naming the reason
        assert_eq!(
            m.take_or_wait("bob", "2", || 0),
            Err(AskError::Departed("protocol failed".into()))
        );
        // other peers are not affected
        assert!(matches!(
            m.take_or_wait("carol", "0", || 0),
            Ok(Taken::Waiting(_))
        ));
        // a new message from bob means bob is back
        m.file("bob", "5", msg("b")).unwrap();
        assert!(matches!(
            m.take_or_wait("bob", "6", || 0),
            Ok(Taken::Waiting(_))
        ));
    }

    #[test]
    fn discarding_a_channels_unread_messages_frees_their_room() {
        let mut m = Mailbox::<u32>::new(
            ["bob".to_string()],
            BufferLimits {
                max_messages: 2,
                max_bytes: 1000,
            },
        );
        m.file("bob", "c#0", msg("a")).unwrap();
        m.file("bob", "7", msg("b")).unwrap();
        assert!(m.file("bob", "c#1", msg("c")).is_err(), "full");
        let gone = m.discard_unread(|id| id.starts_with("c#"));
        assert_eq!(
            gone,
            vec![MessageRef {
                peer: "bob".into(),
                id: "c#0".into()
            }]
        );
        m.file("bob", "c#1", msg("c")).unwrap();
        assert_eq!(m.unread().len(), 2);
    }

    #[test]
    fn stats_count_sent() {
        let mut m = mb();
        m.record_sent("carol", 100, &Sent::packet(100));
        m.record_sent("carol", 20, &Sent::packet(20));
        let s = m.stats();
        assert_eq!(s[0].peer, "bob");
        assert_eq!((s[1].messages_sent, s[1].bytes_sent), (2, 120));
    }
}
