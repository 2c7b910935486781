//! The rule for the names of a party and its peers, checked in one place
//! for every transport, the pool and the command line.

use std::collections::HashSet;

/// Why a party's own name or its peers' names are unusable
/// ([`check_peer_names`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerNameError {
    /// The party's own name is empty.
    #[error("the pool's name is empty")]
    EmptyName,
    /// A peer's name is empty.
    #[error("a peer name is empty")]
    EmptyPeerName,
    /// A peer has the party's own name.
    #[error("peer {peer:?} has the pool's own name")]
    OwnName {
        /// The peer name.
        peer: String,
    },
    /// A peer is given more than once.
    #[error("peer {peer:?} is configured twice")]
    Duplicate {
        /// The peer name.
        peer: String,
    },
}

/// Checks the names of a party (`own`) and its peers: none empty, no peer
/// with the party's own name, no peer twice. Returns the first problem, in
/// the order of `peers`.
///
/// # Examples
///
/// ```
/// use mpc_transport::{check_peer_names, PeerNameError};
///
/// assert_eq!(check_peer_names("alice", ["bob", "carol"]), Ok(()));
/// assert_eq!(
///     check_peer_names("alice", ["bob", "bob"]),
///     Err(PeerNameError::Duplicate { peer: "bob".into() })
/// );
/// ```
pub fn check_peer_names<'a>(
    own: &str,
    peers: impl IntoIterator<Item = &'a str>,
) -> Result<(), PeerNameError> {
    if own.is_empty() {
        return Err(PeerNameError::EmptyName);
    }
    let mut seen = HashSet::new();
    for peer in peers {
        if peer.is_empty() {
            return Err(PeerNameError::EmptyPeerName);
        }
        if peer == own {
            return Err(PeerNameError::OwnName {
                peer: peer.to_owned(),
            });
        }
        if !seen.insert(peer) {
            return Err(PeerNameError::Duplicate {
                peer: peer.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_in_order() {
        let own = |peer: &str| PeerNameError::OwnName { peer: peer.into() };
        let twice = |peer: &str| PeerNameError::Duplicate { peer: peer.into() };
        let cases: [(&str, &[&str], Result<(), PeerNameError>); 6] = [
            ("alice", &[], Ok(())),
            ("alice", &["bob", "carol"], Ok(())),
            ("", &["bob"], Err(PeerNameError::EmptyName)),
            ("alice", &["bob", ""], Err(PeerNameError::EmptyPeerName)),
            ("alice", &["bob", "alice", "bob"], Err(own("alice"))),
            ("alice", &["bob", "carol", "bob"], Err(twice("bob"))),
        ];
        for (me, peers, want) in cases {
            assert_eq!(
                check_peer_names(me, peers.iter().copied()),
                want,
                "{me:?} {peers:?}"
            );
        }
        assert_eq!(twice("bob").to_string(), "peer \"bob\" is configured twice");
    }
}
