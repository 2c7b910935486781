//! The bookkeeping of channels, as plain data: which channels are open,
//! their per-peer id counters, and their traffic. The async facade is
//! [`crate::Channel`].
//!
//! A channel is a path of labels (`online`, `online/mult.3`); its message
//! ids on the wire are `<path>#<id>`, where `<id>` is the channel's own
//! automatic counter for that peer (`0`, `1`, ...) or a custom id.

use std::collections::{BTreeMap, HashMap};

use mpc_transport::Sent;

/// Separates a channel's path from the id within it, on the wire.
pub(crate) const ID_SEPARATOR: char = '#';
/// Separates the labels of a nested channel's path.
pub(crate) const PATH_SEPARATOR: char = '/';
/// Separates a forked channel's label from its index (`cmp.7`).
pub(crate) const INDEX_SEPARATOR: char = '.';
/// Longest label.
pub(crate) const MAX_LABEL: usize = 64;
/// Deepest nesting.
pub(crate) const MAX_DEPTH: usize = 16;

/// Traffic of one channel, as counted by this party.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ChannelStats {
    /// The channel's path (`online/mult.3`).
    pub channel: String,
    /// Messages sent on the channel (all peers).
    pub messages_sent: u64,
    /// Packet bytes sent on the channel.
    pub bytes_sent: u64,
    /// Messages received on the channel (filed or handed to a receive).
    pub messages_received: u64,
    /// Packet bytes received on the channel.
    pub bytes_received: u64,
    /// Bytes the transport wrote for the messages sent on the channel.
    pub wire_bytes_sent: u64,
    /// Bytes the transport read back for them.
    pub wire_bytes_received: u64,
    /// The lowest round stamp of a message on the channel (0: none).
    pub round_first: u64,
    /// The highest round stamp of a message on the channel.
    pub round_last: u64,
}

impl ChannelStats {
    /// The rounds the channel's messages span, `round_last - round_first + 1`
    /// (0 without messages). Messages from peers that do not stamp are not
    /// included.
    pub fn rounds(&self) -> u64 {
        if self.round_first == 0 {
            0
        } else {
            self.round_last - self.round_first + 1
        }
    }

    /// What happened since `earlier`: counts minus the earlier ones; the
    /// stamps span from after the earlier last one.
    pub fn since(&self, earlier: &ChannelStats) -> ChannelStats {
        ChannelStats {
            channel: self.channel.clone(),
            messages_sent: self.messages_sent.saturating_sub(earlier.messages_sent),
            bytes_sent: self.bytes_sent.saturating_sub(earlier.bytes_sent),
            messages_received: self
                .messages_received
                .saturating_sub(earlier.messages_received),
            bytes_received: self.bytes_received.saturating_sub(earlier.bytes_received),
            wire_bytes_sent: self.wire_bytes_sent.saturating_sub(earlier.wire_bytes_sent),
            wire_bytes_received: self
                .wire_bytes_received
                .saturating_sub(earlier.wire_bytes_received),
            round_first: if self.round_last > earlier.round_last {
                earlier.round_last + 1
            } else {
                0
            },
            round_last: if self.round_last > earlier.round_last {
                self.round_last
            } else {
                0
            },
        }
    }
}

/// Why a channel name is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameError {
    /// A label that is empty, too long, or holds other characters than
    /// ASCII letters, digits, `_` and `-`.
    BadLabel(String),
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The channel is open already (on this party).
    InUse(String),
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::BadLabel(l) => write!(
                f,
                "channel label {l:?} is not 1 to {MAX_LABEL} ASCII letters, digits, '_' or '-'"
            ),
            NameError::TooDeep => write!(f, "channels nest at most {MAX_DEPTH} deep"),
            NameError::InUse(p) => write!(f, "channel {p:?} is already open on this party"),
        }
    }
}

/// Checks one label.
pub(crate) fn check_label(label: &str) -> Result<(), NameError> {
    let ok = !label.is_empty()
        && label.len() <= MAX_LABEL
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(NameError::BadLabel(label.to_owned()))
    }
}

/// The path of a channel `segment` below `parent` (`None`: the pool).
pub(crate) fn child_path(parent: Option<&str>, segment: &str) -> Result<String, NameError> {
    match parent {
        None => Ok(segment.to_owned()),
        Some(p) => {
            if p.split(PATH_SEPARATOR).count() >= MAX_DEPTH {
                return Err(NameError::TooDeep);
            }
            Ok(format!("{p}{PATH_SEPARATOR}{segment}"))
        }
    }
}

/// The segment of a named channel.
pub(crate) fn named(label: &str) -> Result<String, NameError> {
    check_label(label)?;
    Ok(label.to_owned())
}

/// The segment of a forked channel: `label.index`.
pub(crate) fn forked(label: &str, index: u64) -> Result<String, NameError> {
    check_label(label)?;
    Ok(format!("{label}{INDEX_SEPARATOR}{index}"))
}

/// The wire id of message `local` (a counter value or a custom id) of
/// channel `path`.
pub(crate) fn wire_id(path: &str, local: &str) -> String {
    format!("{path}{ID_SEPARATOR}{local}")
}

/// The channel a wire id belongs to, if it has the form of a channel's id.
pub(crate) fn channel_of(id: &str) -> Option<&str> {
    id.split_once(ID_SEPARATOR).map(|(path, _)| path)
}

/// Python's rule, as for the pool's own counters: an empty custom id
/// means "use the counter", and the counter advances either way.
fn pick(custom: Option<&str>, counter: &mut u64) -> String {
    let id = match custom {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => counter.to_string(),
    };
    *counter += 1;
    id
}

#[derive(Debug, Default)]
struct Counters {
    send: u64,
    recv: u64,
}

/// The open channels of one party and the traffic of every channel it
/// opened. Memory grows with the channels the program opens, never with
/// what the network sends: traffic is counted only for channels opened
/// here.
#[derive(Debug, Default)]
pub(crate) struct ChannelBook {
    /// Open channels: their counters per peer.
    open: HashMap<String, HashMap<String, Counters>>,
    /// Traffic of every channel opened so far (open or closed), by path.
    stats: BTreeMap<String, ChannelStats>,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Sent,
    Received,
}

impl ChannelBook {
    /// Opens `path`: an error if it is open already.
    pub(crate) fn open(&mut self, path: &str) -> Result<(), NameError> {
        if self.open.contains_key(path) {
            return Err(NameError::InUse(path.to_owned()));
        }
        self.open.insert(path.to_owned(), HashMap::new());
        self.stats
            .entry(path.to_owned())
            .or_insert_with(|| ChannelStats {
                channel: path.to_owned(),
                ..ChannelStats::default()
            });
        Ok(())
    }

    /// Closes `path` (its counters are forgotten, its traffic kept).
    pub(crate) fn close(&mut self, path: &str) {
        self.open.remove(path);
    }

    /// Whether `path` is open.
    #[cfg(test)]
    pub(crate) fn is_open(&self, path: &str) -> bool {
        self.open.contains_key(path)
    }

    /// The wire id of the next message of channel `path` to or from
    /// `peer` (the peer is checked by the caller).
    pub(crate) fn next_id(
        &mut self,
        path: &str,
        peer: &str,
        custom: Option<&str>,
        direction: Direction,
    ) -> String {
        let counters = self
            .open
            .entry(path.to_owned())
            .or_default()
            .entry(peer.to_owned())
            .or_default();
        let counter = match direction {
            Direction::Sent => &mut counters.send,
            Direction::Received => &mut counters.recv,
        };
        wire_id(path, &pick(custom, counter))
    }

    /// Counts a message with wire id `id` of `len` packet bytes and round
    /// `stamp` (0: unknown), if it belongs to a channel opened here; for a
    /// message sent, what the transport moved for it.
    pub(crate) fn record(
        &mut self,
        id: &str,
        direction: Direction,
        len: usize,
        stamp: u64,
        sent: Option<&Sent>,
    ) {
        let Some(s) = channel_of(id).and_then(|p| self.stats.get_mut(p)) else {
            return;
        };
        if stamp > 0 {
            if s.round_first == 0 || stamp < s.round_first {
                s.round_first = stamp;
            }
            s.round_last = s.round_last.max(stamp);
        }
        match direction {
            Direction::Sent => {
                s.messages_sent += 1;
                s.bytes_sent += len as u64;
                if let Some(w) = sent {
                    s.wire_bytes_sent += w.wire_bytes_sent;
                    s.wire_bytes_received += w.wire_bytes_received;
                }
            }
            Direction::Received => {
                s.messages_received += 1;
                s.bytes_received += len as u64;
            }
        }
    }

    /// The traffic of one channel.
    pub(crate) fn stats_of(&self, path: &str) -> ChannelStats {
        self.stats
            .get(path)
            .cloned()
            .unwrap_or_else(|| ChannelStats {
                channel: path.to_owned(),
                ..ChannelStats::default()
            })
    }

    /// The traffic of every channel opened so far, by path.
    pub(crate) fn stats(&self) -> Vec<ChannelStats> {
        self.stats.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_nest_and_fork_deterministically() {
        let online = named("online").unwrap();
        let mult = child_path(Some(&online), &forked("mult", 3).unwrap()).unwrap();
        assert_eq!(mult, "online/mult.3");
        assert_eq!(wire_id(&mult, "0"), "online/mult.3#0");
        assert_eq!(channel_of("online/mult.3#0"), Some("online/mult.3"));
        assert_eq!(channel_of("online/mult.3#x#y"), Some("online/mult.3"));
        assert_eq!(channel_of("7"), None);
        for bad in ["", "a/b", "a#b", "a.b", "a b", "é", &"x".repeat(65)] {
            assert!(matches!(named(bad), Err(NameError::BadLabel(_))), "{bad:?}");
        }
        let mut path = "c".to_owned();
        for _ in 1..MAX_DEPTH {
            path = child_path(Some(&path), "c").unwrap();
        }
        assert_eq!(child_path(Some(&path), "c"), Err(NameError::TooDeep));
    }

    #[test]
    fn a_channel_is_open_once_and_counts_its_own_ids() {
        let mut b = ChannelBook::default();
        b.open("a").unwrap();
        assert_eq!(b.open("a"), Err(NameError::InUse("a".into())));
        b.open("b").unwrap();
        let s = |b: &mut ChannelBook, path, peer, custom| {
            b.next_id(path, peer, custom, Direction::Sent)
        };
        assert_eq!(s(&mut b, "a", "bob", None), "a#0");
        assert_eq!(s(&mut b, "a", "bob", None), "a#1");
        assert_eq!(s(&mut b, "b", "bob", None), "b#0", "channels count apart");
        assert_eq!(s(&mut b, "a", "carol", None), "a#0", "peers count apart");
        assert_eq!(s(&mut b, "a", "bob", Some("x")), "a#x");
        assert_eq!(s(&mut b, "a", "bob", Some("")), "a#3", "custom ids advance");
        assert_eq!(b.next_id("a", "bob", None, Direction::Received), "a#0");
        b.close("a");
        assert!(!b.is_open("a"));
        b.open("a").unwrap();
        assert_eq!(
            s(&mut b, "a", "bob", None),
            "a#0",
            "a reopened channel starts over"
        );
    }

    #[test]
    fn traffic_is_counted_for_channels_opened_here_only() {
        let mut b = ChannelBook::default();
        b.open("a").unwrap();
        b.record("a#0", Direction::Sent, 10, 2, Some(&Sent::packet(10)));
        b.record("a#7", Direction::Received, 5, 3, None);
        b.record("zzz#0", Direction::Received, 5, 1, None);
        b.record("0", Direction::Received, 5, 1, None);
        b.close("a");
        b.record("a#1", Direction::Sent, 1, 4, Some(&Sent::new(7, 3, 2)));
        assert_eq!(
            b.stats(),
            vec![ChannelStats {
                channel: "a".into(),
                messages_sent: 2,
                bytes_sent: 11,
                messages_received: 1,
                bytes_received: 5,
                wire_bytes_sent: 17,
                wire_bytes_received: 3,
                round_first: 2,
                round_last: 4,
            }]
        );
        assert_eq!(b.stats()[0].rounds(), 3);
        assert_eq!(b.stats_of("zzz").messages_received, 0);
    }
}
