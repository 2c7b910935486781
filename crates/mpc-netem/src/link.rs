//! One directed link, as plain data: when does a message arrive.

use std::time::Duration;

use crate::profile::LinkProfile;

/// The state of one directed link: when it is free to transmit again, and
/// when its last message arrives. Times are offsets from a clock's zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Link {
    free_at: Duration,
    last_arrival: Duration,
}

impl Link {
    /// Schedules a message of `bytes` bytes handed to the link at `now`
    /// with `jitter` added to its latency; returns its arrival time.
    ///
    /// It is transmitted once the link is free (`max(now, free)`), for
    /// `bytes · 8 / bandwidth`; it arrives `latency + jitter` after its
    /// last bit left, and never before the message before it.
    pub fn schedule(
        &mut self,
        now: Duration,
        bytes: u64,
        profile: &LinkProfile,
        jitter: Duration,
    ) -> Duration {
        let start = now.max(self.free_at);
        let done = start + profile.transmission_time(bytes);
        self.free_at = done;
        let arrival = (done + profile.latency + jitter).max(self.last_arrival);
        self.last_arrival = arrival;
        arrival
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn profile(latency_ms: u64, bandwidth_bps: Option<u64>) -> LinkProfile {
        LinkProfile {
            latency: MS * latency_ms as u32,
            jitter: Duration::ZERO,
            bandwidth_bps,
        }
    }

    #[test]
    fn latency_alone_delays_every_message_by_it() {
        let p = profile(25, None);
        let mut l = Link::default();
        assert_eq!(
            l.schedule(Duration::ZERO, 1 << 20, &p, Duration::ZERO),
            MS * 25
        );
        assert_eq!(l.schedule(MS * 100, 16, &p, Duration::ZERO), MS * 125);
    }

    #[test]
    fn a_large_message_delays_the_small_ones_after_it() {
        // 8 Mbit/s: 1 000 000 bytes take 1 s, 1 000 bytes 1 ms
        let p = profile(10, Some(8_000_000));
        let mut l = Link::default();
        assert_eq!(
            l.schedule(Duration::ZERO, 1_000_000, &p, Duration::ZERO),
            MS * 1010
        );
        // sent 1 ms later, it waits for the link: free at 1 s, +1 ms, +10 ms
        assert_eq!(l.schedule(MS, 1_000, &p, Duration::ZERO), MS * 1011);
        // sent after the link is free again: no queueing
        assert_eq!(l.schedule(MS * 2000, 1_000, &p, Duration::ZERO), MS * 2011);
    }

    #[test]
    fn jitter_never_reorders_a_link() {
        let p = profile(10, None);
        let mut l = Link::default();
        let first = l.schedule(Duration::ZERO, 1, &p, MS * 5);
        let second = l.schedule(MS, 1, &p, Duration::ZERO);
        assert_eq!(first, MS * 15);
        assert_eq!(second, first, "held back behind the first, not before it");
    }
}
