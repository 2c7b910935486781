//! A party's emulated clock: how late the emulation handed it its latest
//! message.
//!
//! tokio's timer fires at whole milliseconds, so a message due at 0.25 ms
//! is handed over at 1 ms (and on a real clock a little later still, when
//! the task wakes). Left alone, every hop of a protocol would add that
//! lateness, and a LAN's 0.25 ms would show as 1 ms. Instead, the sending
//! [`Emulated`](crate::Emulated) layer notes the exact emulated arrival on
//! its thread while the transport underneath hands the packet over; a
//! receiving party's inbox wrapped by [`PartyClock::inbox`] reads the note
//! and records how late the hand-over was. That party's clock then runs
//! that much behind the real one: a message it sends `d` after the
//! hand-over leaves at the exact arrival plus `d`. Its own work still
//! counts; the emulation's lateness does not add up. In virtual time
//! (`d` = 0) a protocol's emulated time is exact.
//!
//! The note only travels inside one process, with transports that deliver
//! in the sender's task (the in-memory one); other transports deliver
//! without it, and their parties' messages leave at the real time.

use bytes::Bytes;
use mpc_transport::{Delivery, Inbox, Rejection, SharedInbox};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

thread_local! {
    /// The emulated arrival of the packet being handed over on this thread.
    static HANDOVER: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Round stamps whose arrivals a clock keeps apart; older ones are folded
/// into the oldest kept.
const STAMPS_KEPT: usize = 256;

/// Runs `fut` with `at` as the hand-over note of every poll.
pub(crate) async fn noted<F: Future>(at: Instant, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let before = HANDOVER.replace(Some(at));
        let polled = fut.as_mut().poll(cx);
        HANDOVER.set(before);
        polled
    })
    .await
}

/// How late the emulation handed one party its messages, per round stamp.
/// Shared by its [`Emulated`](crate::Emulated) layer and its wrapped inbox.
///
/// A message stamped `s` was sent after reading messages stamped below `s`
/// only (the pool's causal round stamps), so it leaves after the latest of
/// those, not after messages of later rounds that happened to be handed
/// over first.
#[derive(Debug, Clone, Default)]
pub struct PartyClock {
    /// Per round stamp (0: unstamped), the latest exact arrival and when
    /// it was handed over.
    arrivals: Arc<Mutex<BTreeMap<u64, Arrival>>>,
}

#[derive(Debug, Clone, Copy)]
struct Arrival {
    at: Instant,
    handed: Instant,
}

impl PartyClock {
    /// A clock that has seen no message.
    pub fn new() -> Self {
        Self::default()
    }

    /// `inbox` that records, in this clock, the exact emulated arrival of
    /// every packet an emulated sender in this process hands to it.
    pub fn inbox(&self, inbox: SharedInbox) -> SharedInbox {
        Arc::new(ClockedInbox {
            inner: inbox,
            clock: self.clone(),
        })
    }

    /// The exact emulated arrival of the latest message handed to this
    /// party by an emulated sender in this process, if any.
    pub fn last_arrival(&self) -> Option<Instant> {
        self.lock().values().map(|a| a.at).max()
    }

    /// The emulated time of the real instant `real` for a message stamped
    /// `stamp` (`None`: unstamped): `real` less how late the latest message
    /// it can depend on (stamped below `stamp`, or any for `None`) was
    /// handed over; `real` if there is none.
    pub fn emulated(&self, real: Instant, stamp: Option<u64>) -> Instant {
        let arrivals = self.lock();
        let below = match stamp {
            Some(s) => arrivals.range(..s),
            None => arrivals.range(..),
        };
        match below.map(|(_, a)| *a).max_by_key(|a| a.at) {
            Some(a) if real >= a.handed => a.at + (real - a.handed),
            _ => real,
        }
    }

    fn note(&self, stamp: Option<u64>) {
        let Some(at) = HANDOVER.get() else {
            return;
        };
        let handed = Instant::now().max(at);
        let mut arrivals = self.lock();
        let entry = arrivals
            .entry(stamp.unwrap_or(0))
            .or_insert(Arrival { at, handed });
        if at >= entry.at {
            *entry = Arrival { at, handed };
        }
        if arrivals.len() > STAMPS_KEPT {
            // fold the oldest stamp into the next one
            if let Some((_, oldest)) = arrivals.pop_first() {
                if let Some(mut next) = arrivals.first_entry() {
                    if oldest.at > next.get().at {
                        *next.get_mut() = oldest;
                    }
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arrival>> {
        self.arrivals.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An inbox that records hand-over notes in a [`PartyClock`].
struct ClockedInbox {
    inner: SharedInbox,
    clock: PartyClock,
}

impl Inbox for ClockedInbox {
    fn deliver(&self, from: &str, packet: Bytes) -> Result<Delivery, Rejection> {
        self.clock.note(None);
        self.inner.deliver(from, packet)
    }

    fn deliver_stamped(
        &self,
        from: &str,
        packet: Bytes,
        stamp: Option<u64>,
    ) -> Result<Delivery, Rejection> {
        self.clock.note(stamp);
        self.inner.deliver_stamped(from, packet, stamp)
    }

    fn duplicate_acknowledged(&self, from: &str) {
        self.inner.duplicate_acknowledged(from);
    }

    fn wire_moved(&self, from: &str, read: u64, written: u64) {
        self.inner.wire_moved(from, read, written);
    }

    fn report(&self) -> Option<Bytes> {
        self.inner.report()
    }

    fn peer_departed(&self, from: &str, reason: &str) {
        self.inner.peer_departed(from, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_party_runs_behind_by_the_lateness_of_what_it_can_depend_on() {
        use std::time::Duration;
        let us = Duration::from_micros;
        let clock = PartyClock::new();
        let t0 = Instant::now();
        let hand = |at: Instant, stamp: Option<u64>| {
            HANDOVER.set(Some(at));
            clock.note(stamp);
            HANDOVER.set(None);
        };
        assert_eq!(clock.emulated(t0, Some(1)), t0, "no message yet: real time");
        // stamp 1 due at 0.25 ms, handed over at 1 ms
        tokio::time::advance(us(1000)).await;
        hand(t0 + us(250), Some(1));
        assert_eq!(clock.emulated(t0 + us(1000), Some(2)), t0 + us(250));
        // its own work counts: 0.5 ms after the hand-over
        assert_eq!(clock.emulated(t0 + us(1500), Some(2)), t0 + us(750));
        // a message of the next round handed over in the same tick does not
        // delay an answer to the first round...
        hand(t0 + us(500), Some(2));
        assert_eq!(clock.emulated(t0 + us(1000), Some(2)), t0 + us(250));
        // ...but does one that read it, and an unstamped one
        assert_eq!(clock.emulated(t0 + us(1000), Some(3)), t0 + us(500));
        assert_eq!(clock.emulated(t0 + us(1000), None), t0 + us(500));
        assert_eq!(clock.last_arrival(), Some(t0 + us(500)));
        // no note on this thread: nothing recorded
        clock.note(Some(9));
        assert_eq!(clock.emulated(t0 + us(1000), Some(10)), t0 + us(500));
        // an earlier arrival of a stamp noted later does not move it back
        hand(t0 + us(100), Some(1));
        assert_eq!(clock.emulated(t0 + us(1000), Some(2)), t0 + us(250));
    }

    #[test]
    fn old_stamps_are_folded_and_memory_stays_bounded() {
        let clock = PartyClock::new();
        let t0 = Instant::now();
        for s in 1..=1000u64 {
            HANDOVER.set(Some(t0 + std::time::Duration::from_micros(s)));
            clock.note(Some(s));
        }
        HANDOVER.set(None);
        assert_eq!(clock.lock().len(), STAMPS_KEPT);
        assert_eq!(
            clock.last_arrival(),
            Some(t0 + std::time::Duration::from_micros(1000))
        );
    }
}
