//! A precise timer for emulation on the real clock.
//!
//! tokio's timer fires at whole milliseconds, and its driver may sleep up
//! to another millisecond past that: a message on a 1 ms link could wait
//! 3 ms. This timer sleeps on a thread of its own (one per process, started
//! on first use) with the operating system's fine-grained sleep, and wakes
//! within tens of microseconds of the deadline; it fires early by the time
//! a task has recently taken to run after it fires, and the task yields
//! away what is left, so that the message is handed over about at its
//! deadline and never before. It runs on the real clock only: never use it
//! under tokio's paused clock (virtual time).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long, in nanoseconds, a task takes to run after the timer thread
/// fires for it (the thread's own lateness and the task's wake-up): an
/// average over recent sleeps, used to fire that much early.
static WAKE_NS: AtomicU64 = AtomicU64::new(0);

/// Firing early never by more than this (the rest of a sleep is a spin).
const MAX_EARLY: Duration = Duration::from_micros(500);

/// Resolves at `at` (at once if it has passed), never before it.
///
/// The timer thread fires early by the recent wake-up time (at most
/// [`MAX_EARLY`]), so that the task runs about when `at` comes; what is left
/// then, the task spends yielding until `at`.
pub(crate) fn sleep_until(at: Instant) -> impl Future<Output = ()> + Send {
    let (tx, rx) = oneshot::channel();
    let early = Duration::from_nanos(WAKE_NS.load(Ordering::Relaxed)).min(MAX_EARLY);
    let fire = at.checked_sub(early).unwrap_or(at);
    let timer = timer();
    if fire <= Instant::now() {
        let _ = tx.send(());
    } else if let Some(timer) = timer {
        timer.add(fire, tx);
    }
    async move {
        if timer.is_none() {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
            return;
        }
        // a timer thread that is gone (cannot happen: it never returns)
        // ends the wait rather than hanging it
        let fired = rx.await.is_ok();
        let now = Instant::now();
        if fired && now > fire {
            let took = (now - fire).as_nanos().min(u128::from(u64::MAX)) as u64;
            // exponential average, 1/8 for the newest
            let old = WAKE_NS.load(Ordering::Relaxed);
            let new = if old == 0 {
                took
            } else {
                old - old / 8 + took / 8
            };
            WAKE_NS.store(new, Ordering::Relaxed);
        }
        while Instant::now() < at {
            tokio::task::yield_now().await;
        }
    }
}

/// The timer thread, started on first use; `None` if the thread could not
/// be started (then sleeps fall back to tokio's timer).
fn timer() -> Option<&'static Timer> {
    static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
    *TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            due: Mutex::new(BinaryHeap::new()),
            wake: Condvar::new(),
        }));
        match std::thread::Builder::new()
            .name("mpc-netem-timer".into())
            .spawn(move || timer.run())
        {
            Ok(_) => Some(timer),
            Err(e) => {
                tracing::warn!(error = %e, "no thread for the precise timer: emulated hand-overs use tokio's timer (up to 2 ms late)");
                None
            }
        }
    })
}

struct Timer {
    due: Mutex<BinaryHeap<Reverse<Entry>>>,
    wake: Condvar,
}

struct Entry {
    at: Instant,
    seq: u64,
    tx: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl Timer {
    fn lock(&self) -> std::sync::MutexGuard<'_, BinaryHeap<Reverse<Entry>>> {
        self.due.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, at: Instant, tx: oneshot::Sender<()>) {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let mut due = self.lock();
        let earliest = due.peek().is_none_or(|Reverse(e)| at < e.at);
        due.push(Reverse(Entry { at, seq, tx }));
        drop(due);
        if earliest {
            self.wake.notify_one();
        }
    }

    fn run(&self) {
        let mut due = self.lock();
        loop {
            let now = Instant::now();
            due = match due.peek() {
                None => self.wake.wait(due).unwrap_or_else(|e| e.into_inner()),
                Some(Reverse(e)) if e.at <= now => {
                    if let Some(Reverse(e)) = due.pop() {
                        let _ = e.tx.send(());
                    }
                    due
                }
                Some(Reverse(e)) => {
                    let wait = e.at - now;
                    self.wake
                        .wait_timeout(due, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_in_order_and_never_early() {
        let start = Instant::now();
        let delays = [30u64, 10, 20, 0, 10];
        let waits: Vec<_> = delays
            .iter()
            .map(|ms| {
                let at = start + Duration::from_millis(*ms);
                tokio::spawn(async move {
                    sleep_until(at).await;
                    Instant::now()
                        .checked_duration_since(at)
                        .expect("never before its deadline")
                })
            })
            .collect();
        for w in waits {
            // how late it woke is the machine's business; that it did not
            // wake early is ours
            let _late: Duration = w.await.unwrap();
        }
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
