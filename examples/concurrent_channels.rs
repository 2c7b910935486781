//! One hundred secure multiplications at once, each on its own channel.
//!
//! Three parties (alice, bob, carol) hold additive shares modulo the prime
//! 2^61 - 1. For every i in 0..100, alice's secret x_i = i + 1 and bob's
//! secret y_i = 2i + 3 are multiplied with a Beaver triple (dealt by alice,
//! a trusted dealer for brevity), and the product is opened and checked
//! against x_i * y_i. The hundred sub-protocols run concurrently, started
//! in a different random order on every party, with automatic message ids:
//! each runs on its own channel (`mult.<i>`), so every message meets the
//! receive it was meant for. With the pool's own counters instead, tasks
//! would take ids in whatever order they happen to run, and messages would
//! meet the wrong receives (see `Pool::send`).
//!
//! Exits non-zero on any wrong product.
//!
//! Run: `cargo run -p mpc-examples --example concurrent_channels`

use anyhow::{bail, ensure, Context, Result};
use mpc_pool::{Channel, MemoryNetwork, Pool};

/// The Mersenne prime 2^61 - 1.
const P: u64 = (1 << 61) - 1;
const NAMES: [&str; 3] = ["alice", "bob", "carol"];
const RUNS: u64 = 100;

fn add(a: u64, b: u64) -> u64 {
    ((a as u128 + b as u128) % P as u128) as u64
}

fn sub(a: u64, b: u64) -> u64 {
    add(a, P - b % P)
}

fn mul(a: u64, b: u64) -> u64 {
    ((a as u128 * b as u128) % P as u128) as u64
}

fn random_u64() -> Result<u64> {
    let mut buf = [0u8; 8];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(u64::from_le_bytes(buf))
}

fn random_mod_p() -> Result<u64> {
    loop {
        let v = random_u64()? >> 3; // 61 bits
        if v < P {
            return Ok(v);
        }
    }
}

/// Splits `v` into three additive shares; share k goes to `NAMES[k]`.
fn share(v: u64) -> Result<[u64; 3]> {
    let (s1, s2) = (random_mod_p()?, random_mod_p()?);
    Ok([sub(sub(v, s1), s2), s1, s2])
}

/// Deals `values` from `me` (the owner): sends each other party its
/// shares on `ch`, returns its own.
async fn deal(ch: &Channel, me: usize, values: &[u64]) -> Result<Vec<u64>> {
    let shares: Vec<[u64; 3]> = values.iter().map(|v| share(*v)).collect::<Result<_>>()?;
    for (k, peer) in NAMES.iter().enumerate().filter(|(k, _)| *k != me) {
        let theirs: Vec<u64> = shares.iter().map(|s| s[k]).collect();
        ch.send(peer, &theirs).await?;
    }
    Ok(shares.iter().map(|s| s[me]).collect())
}

/// Opens additively shared values: everyone broadcasts its shares on `ch`
/// and adds everyone's.
async fn open(ch: &Channel, mine: Vec<u64>) -> Result<Vec<u64>> {
    ch.broadcast(&mine).await?;
    let mut sum = mine;
    for (_, theirs) in ch.recv_all::<Vec<u64>>().await? {
        ensure!(
            theirs.len() == sum.len(),
            "a party opened another number of values"
        );
        for (s, t) in sum.iter_mut().zip(theirs) {
            *s = add(*s, t);
        }
    }
    Ok(sum)
}

/// One secure multiplication x_i * y_i on channel `ch`; returns the
/// opened product.
async fn multiply(ch: Channel, me: usize, i: u64) -> Result<u64> {
    // 1. the dealer (alice) deals a triple (a, b, ab); alice shares x, bob y
    let triple = if me == 0 {
        let (a, b) = (random_mod_p()?, random_mod_p()?);
        deal(&ch, me, &[a, b, mul(a, b)]).await?
    } else {
        ch.recv::<Vec<u64>>(NAMES[0]).await?
    };
    let x = if me == 0 {
        deal(&ch, me, &[i + 1]).await?[0]
    } else {
        ch.recv::<Vec<u64>>(NAMES[0]).await?[0]
    };
    let y = if me == 1 {
        deal(&ch, me, &[2 * i + 3]).await?[0]
    } else {
        ch.recv::<Vec<u64>>(NAMES[1]).await?[0]
    };
    let [a, b, c] = triple[..] else {
        bail!("a triple has three shares");
    };
    // 2. open d = x - a and e = y - b
    let de = open(&ch, vec![sub(x, a), sub(y, b)]).await?;
    let (d, e) = (de[0], de[1]);
    // 3. z = c + d b + e a (+ d e, once) is a share of x y; open it
    let mut z = add(add(c, mul(d, b)), mul(e, a));
    if me == 0 {
        z = add(z, mul(d, e));
    }
    let product = open(&ch, vec![z]).await?[0];
    let unread = ch.close();
    ensure!(unread.is_empty(), "messages left unread: {unread:?}");
    Ok(product)
}

/// One party: starts the hundred multiplications in a random order, each
/// on channel `mult.<i>`, and checks every product.
async fn party(pool: Pool, me: usize) -> Result<u64> {
    let mut order: Vec<u64> = (0..RUNS).collect();
    for k in (1..order.len()).rev() {
        let j = (random_u64()? % (k as u64 + 1)) as usize;
        order.swap(k, j);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in order {
        let ch = pool.sub("mult", i)?;
        tasks.spawn(async move { (i, multiply(ch, me, i).await) });
    }
    let mut wrong = 0;
    while let Some(r) = tasks.join_next().await {
        let (i, product) = r.context("a multiplication task failed")?;
        let product = product.with_context(|| format!("multiplication {i}"))?;
        let expected = mul(i + 1, 2 * i + 3);
        if product != expected {
            eprintln!(
                "{}: mult.{i}: got {product}, expected {expected}",
                NAMES[me]
            );
            wrong += 1;
        }
    }
    pool.shutdown().await;
    Ok(wrong)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let net = MemoryNetwork::new();
    let mut parties = Vec::new();
    for (me, name) in NAMES.iter().enumerate() {
        let mut b = Pool::builder(*name);
        for peer in NAMES.iter().filter(|p| *p != name) {
            b = b.peer(*peer);
        }
        let pool = b.start_in_memory(&net).await?;
        parties.push(tokio::spawn(party(pool, me)));
    }
    let mut wrong = 0;
    for (p, name) in parties.into_iter().zip(NAMES) {
        wrong += p.await?.with_context(|| format!("party {name}"))?;
    }
    ensure!(wrong == 0, "{wrong} wrong products");
    println!("{RUNS} concurrent multiplications on {RUNS} channels: every product correct on every party");
    Ok(())
}
