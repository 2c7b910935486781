//! How long would this protocol take on a WAN? Three parties run 100 rounds
//! of all-to-all 16 B messages under the `wan` profile (25 ms one way,
//! 100 Mbit/s), over the in-memory transport in virtual time (tokio's
//! paused clock): the run takes a fraction of a second of real time and
//! reports the emulated time, the same on every run.
//!
//! The rounds run as a phase, `all-to-all`; the ledger reports its rounds
//! and its wall time, which in virtual time is the emulated time. Prints
//! one line, `rounds=R emulated_seconds=E real_seconds=S` (`R` and `E` from
//! alice's ledger), and exits non-zero unless `R` is the number of rounds
//! run and `E` is within 5% of R × the profile's one-way latency.
//!
//! Run: `cargo run -p mpc-examples --example wan_simulation [-- PROFILE [ROUNDS]]`
//! (`PROFILE`: `wan` (default), `lan`, or `LATENCY[,BANDWIDTH]` such as
//! `20ms,100Mbit`; `ROUNDS`: default 100).

mod logging;

use anyhow::{ensure, Context, Result};
use mpc_pool::{LinkProfile, MemoryNetwork, Pool};

const PARTIES: [&str; 3] = ["alice", "bob", "carol"];

fn main() -> Result<()> {
    logging::init();
    let mut args = std::env::args().skip(1);
    let profile: LinkProfile = args
        .next()
        .unwrap_or_else(|| "wan".into())
        .parse()
        .context("the first argument is a link profile")?;
    let rounds: u64 = match args.next() {
        Some(r) => r
            .parse()
            .context("the second argument is a number of rounds")?,
        None => 100,
    };
    ensure!(rounds > 0, "at least one round");
    // virtual time: the clock stands still while a task can run, and jumps
    // to the next timer when none can
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    let real = std::time::Instant::now();
    let (measured, emulated) = runtime.block_on(simulate(profile, rounds))?;
    let real = real.elapsed();
    println!(
        "rounds={measured} emulated_seconds={:.6} real_seconds={:.3}",
        emulated.as_secs_f64(),
        real.as_secs_f64()
    );
    ensure!(
        measured == rounds,
        "the ledger counts {measured} rounds, not {rounds}"
    );
    let expected = profile.latency.as_secs_f64() * rounds as f64;
    let error = (emulated.as_secs_f64() - expected).abs() / expected;
    ensure!(
        error <= 0.05,
        "emulated time {emulated:?} is {:.1}% off {rounds} x the one-way latency",
        error * 100.0
    );
    Ok(())
}

/// Runs the rounds; returns the rounds and the (emulated) wall time of the
/// phase they ran in, from alice's ledger.
async fn simulate(profile: LinkProfile, rounds: u64) -> Result<(u64, std::time::Duration)> {
    let network = MemoryNetwork::new();
    let mut pools = Vec::new();
    for me in PARTIES {
        let mut b = Pool::builder(me).net(profile);
        for peer in PARTIES.iter().filter(|p| **p != me) {
            b = b.peer(*peer);
        }
        pools.push(b.start_in_memory(&network).await?);
    }
    let runs: Vec<_> = pools
        .iter()
        .cloned()
        .map(|pool| tokio::spawn(party(pool, rounds)))
        .collect();
    for run in runs {
        run.await??;
    }
    let ledger = pools[0].ledger();
    let phase = ledger
        .phase("all-to-all")
        .context("alice's ledger has the phase")?;
    let result = (
        phase.rounds,
        std::time::Duration::from_secs_f64(phase.wall_seconds),
    );
    for pool in pools {
        pool.shutdown().await;
    }
    Ok(result)
}

/// One party: every round, 16 bytes to each peer, then one from each.
async fn party(pool: Pool, rounds: u64) -> Result<()> {
    let _phase = pool.phase("all-to-all");
    let peers = pool.peers();
    for round in 0..rounds {
        let message = [round as u8; 16];
        let sends: Vec<_> = peers.iter().map(|p| pool.asend(p, &message)).collect();
        for p in &peers {
            let got: [u8; 16] = pool.recv(p).await?;
            ensure!(
                got == [round as u8; 16],
                "round {round}: wrong message from {p}"
            );
        }
        for s in sends {
            s.await?;
        }
    }
    Ok(())
}
