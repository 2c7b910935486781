//! The pool without async code: three parties compute the sum of their
//! private inputs (additive secret sharing modulo 2^61 - 1) over HTTP on
//! 127.0.0.1, each in a plain thread, with the blocking facade
//! (`mpc_pool::blocking`), which runs its own runtime.
//!
//! Run: `cargo run -p mpc-examples --example blocking`

mod logging;

use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, ensure, Result};
use mpc_pool::{blocking, Pool};

/// The Mersenne prime 2^61 - 1.
const P: u64 = (1 << 61) - 1;

fn add(a: u64, b: u64) -> u64 {
    ((a as u128 + b as u128) % P as u128) as u64
}

/// A uniformly random element of Z_p from the operating system's CSPRNG.
fn random_mod_p() -> Result<u64> {
    loop {
        let mut buf = [0u8; 8];
        getrandom::fill(&mut buf).map_err(|e| anyhow!("no randomness: {e}"))?;
        let v = u64::from_le_bytes(buf) >> 3; // 61 bits
        if v < P {
            return Ok(v);
        }
    }
}

/// One party: shares its input, adds what it holds, opens the sum.
fn party(pool: blocking::Pool, input: u64) -> Result<u64> {
    let peers = pool.peers();
    // one random share per peer; this party keeps the rest
    let mut held = input % P;
    for peer in &peers {
        let share = random_mod_p()?;
        held = add(held, P - share);
        pool.send_with_id(peer, "share", &share)?;
    }
    for (_, share) in pool.recv_all::<u64>().id("share").recv()? {
        held = add(held, share);
    }
    // open: everyone learns the sum of the partial sums
    pool.broadcast(&held).id("partial").send()?;
    let mut total = held;
    for (_, partial) in pool.recv_all::<u64>().from(&peers).id("partial").recv()? {
        total = add(total, partial);
    }
    let report = pool.shutdown();
    ensure!(
        report.unread.is_empty(),
        "unread messages: {:?}",
        report.unread
    );
    Ok(total)
}

fn main() -> Result<()> {
    logging::init();
    let names = ["alice", "bob", "carol"];
    let inputs = [12u64, 30, 100];
    // listeners bound here, so every party knows every port before any starts
    let listeners = names
        .iter()
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    let addrs = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut threads = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let mut builder = Pool::builder(names[i])
            .listener(listener)
            .timeout(Some(Duration::from_secs(20)));
        for (j, name) in names.iter().enumerate() {
            if j != i {
                builder = builder.peer_at(*name, addrs[j].clone());
            }
        }
        let input = inputs[i];
        threads.push(thread::spawn(move || -> Result<u64> {
            party(builder.start_blocking()?, input)
        }));
    }
    let want = inputs.iter().sum::<u64>();
    for (name, t) in names.iter().zip(threads) {
        let total = t.join().map_err(|_| anyhow!("{name} panicked"))??;
        println!("{name}: the sum is {total}");
        ensure!(total == want, "{name} computed {total}, expected {want}");
    }
    Ok(())
}
