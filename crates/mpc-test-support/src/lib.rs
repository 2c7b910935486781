//! Test support shared by the suites of `mpc-http` and `mpc-pool` (as
//! rustls keeps `rustls-test`): nothing here is published or part of an API.
//!
//! - [`raw`]: raw HTTP/1.1 over TCP on 127.0.0.1: write exactly the bytes a
//!   test wants, read whatever the server answers within a bound, split it
//!   into responses.
//! - [`listeners`] / [`listener`]: listeners on 127.0.0.1 with OS-assigned
//!   ports, bound before any party starts (so every address is known).
//! - [`proxy`]: a fault-injecting TCP proxy for the reliability tests.
//! - [`error_chain`]: an error and its causes as one line.
//!
//! It depends on no crate of this workspace (only on tokio), so it stays a
//! leaf for tests.
#![deny(missing_docs)]

pub mod proxy;
pub mod raw;

use std::net::TcpListener;

/// A listener on 127.0.0.1 with an OS-assigned port, and its address.
pub fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let a = l.local_addr().expect("local address").to_string();
    (l, a)
}

/// `n` listeners on 127.0.0.1 with OS-assigned ports, and their addresses.
pub fn listeners(n: usize) -> Vec<(TcpListener, String)> {
    (0..n).map(|_| listener()).collect()
}

/// xorshift64*: a small deterministic generator for tests (fates of
/// connections, task orders), one stream per seed. Not for secrets.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Shuffles `v` (Fisher-Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// `err` and its causes (`source()`s), as one line joined by `": "`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut src = err.source();
    while let Some(e) = src {
        s.push_str(": ");
        s.push_str(&e.to_string());
        src = e.source();
    }
    s
}
