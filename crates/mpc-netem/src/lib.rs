//! Network emulation for the MPC pool: LAN and WAN links on one machine,
//! without privileges, over any transport, in real or in virtual time.
//!
//! The model, per directed link (this party → one peer):
//!
//! * a message of `B` bytes occupies the link for `B · 8 / bandwidth`;
//! * messages on a link queue behind each other in order, as on a real
//!   connection: a large message delays the small ones sent after it;
//! * a message arrives at `max(now, link free) + transmission time +
//!   latency (+ jitter)`, and never before the message sent before it on
//!   the same link (the link keeps order).
//!
//! [`Emulated`] applies it to a [`Transport`]: a send waits until its
//! message's arrival time, then hands it to the transport underneath, and
//! resolves when that one does. With the in-memory transport and tokio's
//! paused clock (`tokio::time::pause`, `#[tokio::test(start_paused =
//! true)]`), a protocol of many rounds under the WAN profile runs in a
//! fraction of a second of real time and its elapsed (virtual) time is the
//! emulated one — deterministic for a given jitter seed.
//!
//! Resolution: a message is handed on when tokio's timer fires, at the
//! first whole millisecond at or after its emulated arrival (tokio's timer
//! resolution), in real and in virtual time (on a real clock, a little
//! later still, when the task wakes). Queueing and bandwidth along a link
//! are computed exactly (to the nanosecond), and this lateness does not add
//! up along a protocol: a party's clock runs behind the real one by how
//! late its latest message was handed over ([`PartyClock`]), so what it
//! sends in answer leaves at the exact arrival plus the time it really
//! worked. Under the `lan` profile (0.25 ms one way) a ping-pong of N
//! exchanges takes exactly 2N × 0.25 ms plus transmission in virtual time;
//! only the last hand-over is late, by less than 1 ms. This works inside
//! one process, with the in-memory transport; across processes (HTTP) each
//! hand-over can be late by up to 1 ms plus the time to wake the task.
//!
//! The bytes of a message are what the transport underneath writes for it
//! ([`Transport::wire_size`]: over HTTP its request head and body; in
//! memory the packet), plus a fixed per-message overhead
//! ([`Emulated::with_overhead`], default 0).
//!
//! ```
//! use mpc_netem::LinkProfile;
//!
//! let wan: LinkProfile = "wan".parse().unwrap();
//! assert_eq!(wan, LinkProfile::wan());
//! let custom: LinkProfile = "20ms,100Mbit".parse().unwrap();
//! assert_eq!(custom.latency, std::time::Duration::from_millis(20));
//! assert_eq!(custom.bandwidth_bps, Some(100_000_000));
//! ```
#![deny(missing_docs)]

mod clock;
mod link;
mod profile;
mod timer;

pub use clock::PartyClock;
pub use link::Link;
pub use profile::{LinkProfile, ProfileError};

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use mpc_transport::{Sent, Transport, TransportError};
use tokio::time::Instant;

/// A transport whose outgoing messages travel over emulated links.
#[derive(Debug)]
pub struct Emulated<T> {
    inner: T,
    default: LinkProfile,
    per_peer: HashMap<String, LinkProfile>,
    overhead: u64,
    /// Sleeps with the precise timer (real clock only).
    precise: bool,
    /// The exact arrival of the last message handed to this party.
    clock: PartyClock,
    /// Time zero of the links' clocks.
    epoch: Instant,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    links: HashMap<String, Link>,
    /// xorshift64* state for the jitter.
    rng: u64,
}

impl<T: Transport> Emulated<T> {
    /// `inner` with every outgoing link shaped by `profile`.
    pub fn new(inner: T, profile: LinkProfile) -> Self {
        Emulated {
            inner,
            default: profile,
            per_peer: HashMap::new(),
            overhead: 0,
            precise: false,
            clock: PartyClock::new(),
            epoch: Instant::now(),
            state: Mutex::new(State {
                links: HashMap::new(),
                rng: 0x9e37_79b9_7f4a_7c15,
            }),
        }
    }

    /// The link to `peer` shaped by `profile` instead.
    pub fn with_peer(mut self, peer: impl Into<String>, profile: LinkProfile) -> Self {
        self.per_peer.insert(peer.into(), profile);
        self
    }

    /// Bytes added to every message for its transmission time, on top of
    /// what the transport reports ([`Transport::wire_size`]).
    pub fn with_overhead(mut self, bytes: u64) -> Self {
        self.overhead = bytes;
        self
    }

    /// Sends leave at `clock`'s emulated time: the real time less how late
    /// the latest message was handed to this party, as recorded by the
    /// inbox [`PartyClock::inbox`] wraps (give the same clock to this
    /// party's transport's inbox).
    pub fn with_clock(mut self, clock: PartyClock) -> Self {
        self.clock = clock;
        self
    }

    /// Hands messages over with a precise timer of its own (a thread that
    /// wakes within tens of microseconds of a deadline) instead of tokio's,
    /// which fires at whole milliseconds and may sleep up to another one.
    /// For transports that move messages between processes on the real
    /// clock (HTTP), where each hand-over's lateness adds to the measured
    /// time. Never under tokio's paused clock: it would wait in real time.
    pub fn with_precise_timer(mut self) -> Self {
        self.precise = true;
        self
    }

    /// This party's clock.
    pub fn clock(&self) -> &PartyClock {
        &self.clock
    }

    /// The seed of the jitter (the same seed gives the same delays).
    pub fn with_seed(self, seed: u64) -> Self {
        self.lock().rng = seed | 1;
        self
    }

    /// The transport underneath.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps until `at`, if it is still ahead (a tokio timer due now or
    /// earlier would only fire at its next tick).
    async fn wait_until(&self, at: Instant) {
        if at <= Instant::now() {
            return;
        }
        if self.precise {
            timer::sleep_until(at.into_std()).await;
        } else {
            tokio::time::sleep_until(at).await;
        }
    }

    /// When a message of `bytes` bytes sent to `to` now arrives.
    fn arrival(&self, to: &str, bytes: u64, stamp: Option<u64>) -> Instant {
        let profile = self.per_peer.get(to).unwrap_or(&self.default);
        let now = self
            .clock
            .emulated(Instant::now(), stamp)
            .saturating_duration_since(self.epoch);
        let mut st = self.lock();
        let jitter = if profile.jitter.is_zero() {
            Duration::ZERO
        } else {
            let r = next(&mut st.rng);
            profile
                .jitter
                .mul_f64((r >> 11) as f64 / (1u64 << 53) as f64)
        };
        let link = st.links.entry(to.to_owned()).or_default();
        self.epoch + link.schedule(now, bytes + self.overhead, profile, jitter)
    }
}

/// xorshift64*.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

impl<T: Transport> Transport for Emulated<T> {
    fn send(
        &self,
        to: &str,
        packet: Bytes,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        let bytes = self.inner.wire_size(to, packet.len() as u64, None);
        let at = self.arrival(to, bytes, None);
        async move {
            self.wait_until(at).await;
            clock::noted(at, self.inner.send(to, packet)).await
        }
    }

    fn send_parts(
        &self,
        to: &str,
        parts: Vec<Bytes>,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        let len: usize = parts.iter().map(Bytes::len).sum();
        let at = self.arrival(to, self.inner.wire_size(to, len as u64, None), None);
        async move {
            self.wait_until(at).await;
            clock::noted(at, self.inner.send_parts(to, parts)).await
        }
    }

    fn send_stamped(
        &self,
        to: &str,
        parts: Vec<Bytes>,
        stamp: u64,
    ) -> impl Future<Output = Result<Sent, TransportError>> + Send {
        let len: usize = parts.iter().map(Bytes::len).sum();
        let bytes = self.inner.wire_size(to, len as u64, Some(stamp));
        let at = self.arrival(to, bytes, Some(stamp));
        async move {
            self.wait_until(at).await;
            clock::noted(at, self.inner.send_stamped(to, parts, stamp)).await
        }
    }

    fn ask_report(
        &self,
        to: &str,
    ) -> impl Future<Output = Result<Option<Bytes>, TransportError>> + Send {
        self.inner.ask_report(to)
    }

    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        self.inner.shutdown()
    }

    fn announce_departure(&self, reason: &str) -> impl Future<Output = ()> + Send {
        self.inner.announce_departure(reason)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.local_addr()
    }

    fn wire_size(&self, to: &str, len: u64, stamp: Option<u64>) -> u64 {
        self.inner.wire_size(to, len, stamp)
    }
}
