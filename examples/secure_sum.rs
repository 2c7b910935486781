//! Three parties compute the sum of their private inputs with additive
//! secret sharing modulo a prime, over the in-memory transport.
//!
//! Each party splits its input into three random shares that add up to it
//! (mod p), keeps one and sends one to each other party; each party adds
//! the shares it holds and broadcasts that partial sum; everyone adds the
//! partial sums and learns the total — and nothing about the other inputs.
//!
//! The two steps run as phases (`shares`, `partial`): each party prints
//! its ledger, one round per phase, two in total, and the totals of all
//! three parties per phase.
//!
//! Run: `cargo run -p mpc-examples --example secure_sum`

mod logging;

use anyhow::{ensure, Context, Result};
use mpc_pool::{MemoryNetwork, Pool};

/// The Mersenne prime 2^61 - 1.
const P: u64 = (1 << 61) - 1;

fn add(a: u64, b: u64) -> u64 {
    ((a as u128 + b as u128) % P as u128) as u64
}

fn sub(a: u64, b: u64) -> u64 {
    add(a, P - b % P)
}

/// A uniformly random element of Z_p from the operating system's CSPRNG.
fn random_mod_p() -> Result<u64> {
    loop {
        let mut buf = [0u8; 8];
        getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let v = u64::from_le_bytes(buf) >> 3; // 61 bits
        if v < P {
            return Ok(v);
        }
    }
}

async fn party(pool: Pool, input: u64) -> Result<(u64, Pool)> {
    let me = pool.name().to_owned();
    let peers = pool.peers();

    // 1. split the input into shares, one per party, summing to the input
    let mut shares = Vec::new();
    let mut rest = input % P;
    for _ in &peers {
        let s = random_mod_p()?;
        rest = sub(rest, s);
        shares.push(s);
    }
    let mut held = rest; // my own share

    // 2. send one share to each peer, with an explicit message id
    let phase = pool.phase("shares");
    for (peer, share) in peers.iter().zip(&shares) {
        pool.send_with_id(peer, "share", share).await?;
    }
    // 3. add the shares the others sent me
    for (peer, share) in pool.recv_all::<u64>().id("share").await? {
        tracing::debug!(%me, from = %peer, "got a share");
        held = add(held, share);
    }
    phase.end();

    // 4. publish my partial sum and reconstruct the total
    let phase = pool.phase("partial");
    pool.broadcast(&held).id("partial").await?;
    let mut total = held;
    for (_, partial) in pool.recv_all::<u64>().id("partial").await? {
        total = add(total, partial);
    }
    phase.end();
    Ok((total, pool))
}

#[tokio::main]
async fn main() -> Result<()> {
    logging::init();

    let names = ["alice", "bob", "carol"];
    let inputs = [12_345u64, 67_890, 424_242];

    let net = MemoryNetwork::new();
    let mut tasks = Vec::new();
    for (me, input) in names.iter().zip(inputs) {
        let mut builder = Pool::builder(*me);
        for p in names.iter().filter(|p| *p != me) {
            builder = builder.peer(*p);
        }
        let pool = builder.start_in_memory(&net).await?;
        tasks.push((me, tokio::spawn(party(pool, input))));
    }

    let expected = inputs.iter().fold(0, |acc, &x| add(acc, x));
    let mut pools = Vec::new();
    for (me, task) in tasks {
        let (total, pool) = task.await.context("party task")??;
        let ledger = pool.ledger();
        println!("{me}: the sum of all inputs is {total}");
        ensure!(
            total == expected,
            "{me} computed {total}, expected {expected}"
        );
        print!("{ledger}");
        for (phase, rounds) in [("shares", 1), ("partial", 1)] {
            let got = ledger.phase(phase).map(|p| p.rounds);
            ensure!(
                got == Some(rounds),
                "{me}: phase {phase} took {got:?} rounds"
            );
        }
        ensure!(
            ledger.rounds == 2,
            "{me}: {} rounds in total",
            ledger.rounds
        );
        pools.push(pool);
    }
    // the whole pool: alice asks the others for their ledgers (while they
    // are still up) and adds them up per phase
    let all = pools[0].pool_ledger().await;
    print!("{all}");
    ensure!(all.missing.is_empty(), "not reported: {:?}", all.missing);
    for pool in pools {
        pool.shutdown().await;
    }
    Ok(())
}
