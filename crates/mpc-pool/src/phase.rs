//! The phase guard ([`Pool::phase`]); the bookkeeping is plain data in
//! `phases.rs`, held by the mailbox.

use crate::pool::Pool;

/// An active phase of the pool ([`Pool::phase`]): everything the pool
/// sends and receives while it lives is attributed to it. Ends when
/// dropped (or [`Phase::end`]).
#[must_use = "a phase ends when its guard is dropped"]
#[derive(Debug)]
pub struct Phase {
    pool: Pool,
    token: u64,
    path: String,
}

impl Phase {
    /// The phase's path (`online/mult`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Ends the phase (the same as dropping the guard).
    pub fn end(self) {}
}

impl Drop for Phase {
    fn drop(&mut self) {
        let round = self.pool.round();
        let now = crate::phases::now();
        self.pool
            .inner
            .shared
            .lock()
            .phases_mut()
            .leave(self.token, round, now);
    }
}

impl Pool {
    /// Enters the phase `name` and returns its guard: everything this pool
    /// sends and receives until the guard is dropped is attributed to the
    /// phase in the [`Ledger`](crate::Ledger) (messages, packet and wire
    /// bytes, rounds, wall time).
    ///
    /// A phase is **pool-wide**: while its guard lives, the messages of
    /// every task and every channel of this pool count in it. A phase
    /// entered while others are active nests in the innermost one:
    /// `phase("online")` then `phase("mult")` is `online/mult`, and what
    /// counts in `online/mult` counts in `online` too. Concurrent tasks
    /// that each want their own figures should use channels
    /// ([`Pool::channel`]), which are counted separately. A received message
    /// counts in the phases active when it is handed to a receive.
    /// Entering a phase again adds to it.
    pub fn phase(&self, name: &str) -> Phase {
        let round = self.round();
        let now = crate::phases::now();
        let mut mailbox = self.inner.shared.lock();
        let phases = mailbox.phases_mut();
        let token = phases.enter(name, round, now);
        let path = phases.path_of(token).unwrap_or(name).to_owned();
        drop(mailbox);
        Phase {
            pool: self.clone(),
            token,
            path,
        }
    }
}
