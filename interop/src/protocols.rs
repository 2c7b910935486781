//! The `echo`, `ids`, `channels`, `broadcast` and `sum` modes. Each mirrors a Python
//! side in `interop/scenarios.py`; the message ids and values of the two
//! must agree exactly (the ledgers are written out there).

use anyhow::{bail, ensure, Context, Result};
use mpc_pool::serial::IBig;
use mpc_pool::{BigInt, Pool, Tagged, Value};
use tokio::sync::mpsc;

use crate::checks::Checks;
use crate::typed::Point;

/// Relays every message of each peer back to it (as a dynamic [`Value`],
/// automatic ids both ways) until `count` messages were relayed in all.
pub(crate) async fn echo(pool: &Pool, count: Option<u64>) -> Result<Checks> {
    let count = count.context("echo needs --count N")?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Result<String>>();
    let mut tasks = Vec::new();
    for peer in pool.peers() {
        let (pool, tx) = (pool.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let r = async {
                    let v: Value = pool.recv(&peer).no_timeout().await?;
                    pool.send(&peer, &v).await?;
                    Ok::<_, mpc_pool::Error>(())
                }
                .await
                .with_context(|| format!("relaying a message of {peer}"))
                .map(|()| peer.clone());
                let failed = r.is_err();
                if tx.send(r).is_err() || failed {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut ck = Checks::default();
    let mut relayed = 0u64;
    while relayed < count {
        match rx.recv().await {
            Some(Ok(peer)) => {
                relayed += 1;
                ck.pass(format!("relayed message {relayed} of {peer}"));
            }
            Some(Err(e)) => {
                ck.fail(format!("{e:#}"));
                break;
            }
            None => bail!("every relay stopped after {relayed} messages"),
        }
    }
    for t in tasks {
        t.abort();
    }
    Ok(ck)
}

type Msg = (String, i64, String);

fn msg(part: &str, k: i64, id: &str) -> Msg {
    (part.to_owned(), k, id.to_owned())
}

/// Automatic and custom ids interleaved, both directions, against the
/// Python party `peer` (`ids` in `interop/scenarios.py`).
pub(crate) async fn ids(pool: &Pool, peer: &str) -> Result<Checks> {
    let mut ck = Checks::default();

    // Part A, Python -> Rust, all buffered before they are asked for.
    // Python sent (position: id): 0:"0" 1:"alpha" 2:"2" 3:"3" (custom)
    // 4:"beta" 5:"5" 6:"6" (empty custom id) 7:"A-done" 8:"8".
    // Receive calls here, in this order: custom A-done, custom beta, auto
    // (-> "2"), auto (-> "3"), custom alpha, auto (-> "5"), custom "6",
    // custom "0", auto (-> "8").
    let plan: [(Option<&str>, i64, &str); 9] = [
        (Some("A-done"), 7, "A-done"),
        (Some("beta"), 4, "beta"),
        (None, 2, "2"),
        (None, 3, "3"),
        (Some("alpha"), 1, "alpha"),
        (None, 5, "5"),
        (Some("6"), 6, "6"),
        (Some("0"), 0, "0"),
        (None, 8, "8"),
    ];
    for (custom, k, id) in plan {
        let r = match custom {
            Some(c) => pool.recv_with_id::<Msg>(peer, c),
            None => pool.recv::<Msg>(peer),
        };
        ck.eq(
            &format!("A: receive id {id}"),
            &r.id().map(str::to_owned),
            &Some(id.to_owned()),
        );
        match r.await {
            Ok(got) => ck.eq(&format!("A: message {id}"), &got, &msg("A", k, id)),
            Err(e) => ck.fail(format!("A: message {id}: {e}")),
        }
    }

    // Part B, Rust -> Python, whose receives are registered before the
    // messages exist: wait for its "B-go" (its 10th message: ids 0..9 above).
    let go: String = pool.recv_with_id(peer, "B-go").await.context("B-go")?;
    ck.eq("B: go", &go, &"go".to_owned());
    pool.send(peer, &msg("B", 0, "0")).await?;
    pool.send_with_id(peer, "gamma", &msg("B", 1, "gamma"))
        .await?;
    pool.send(peer, &msg("B", 2, "2")).await?;
    pool.send_with_id(peer, "3", &msg("B", 3, "3")).await?;
    pool.send_with_id(peer, "delta", &msg("B", 4, "delta"))
        .await?;
    pool.asend(peer, &msg("B", 5, "5")).await?;
    pool.send_with_id(peer, "", &msg("B", 6, "6")).await?;
    pool.asend_with_id(peer, "B-done", &msg("B", 7, "B-done"))
        .await?;
    pool.broadcast(&msg("B", 8, "8")).to([peer]).await?;

    // Part C, both directions at once: 20 messages each way, every third
    // (k % 3 == 1) with the custom id "C{k}", the others automatic. Python
    // -> Rust automatic ids start at 10, Rust -> Python at 9. All receives
    // are registered first (ids follow call order) and awaited in reverse.
    let pending: Vec<_> = (0..20i64)
        .map(|k| {
            let r = if k % 3 == 1 {
                pool.recv_with_id::<Msg>(peer, &format!("C{k}"))
            } else {
                pool.recv::<Msg>(peer)
            };
            (k, r.register())
        })
        .collect();
    let mut sends = Vec::new();
    for k in 0..20i64 {
        if k % 3 == 1 {
            let id = format!("C{k}");
            sends.push(pool.asend_with_id(peer, &id, &msg("C", k, &id)));
        } else {
            sends.push(pool.asend(peer, &msg("C", k, &(9 + k).to_string())));
        }
    }
    for (k, p) in pending.into_iter().rev() {
        let id = if k % 3 == 1 {
            format!("C{k}")
        } else {
            (10 + k).to_string()
        };
        match p.await {
            Ok(got) => ck.eq(&format!("C: message {id}"), &got, &msg("C", k, &id)),
            Err(e) => ck.fail(format!("C: message {id}: {e}")),
        }
    }
    for s in sends {
        s.await.context("C: a send failed")?;
    }
    // Python confirms it got all of B and C before anyone shuts down.
    let done: String = pool.recv(peer).await.context("final message")?;
    ck.eq("final message", &done, &"done".to_owned());
    Ok(ck)
}

type Tagged3<T> = (String, String, T);

fn t3<T>(a: &str, b: &str, v: T) -> Tagged3<T> {
    (a.to_owned(), b.to_owned(), v)
}

/// Broadcasts and `recv_all` in the pool py0, py1, rust (`broadcast` in
/// `interop/scenarios.py`, with the ledger of ids per direction).
/// Channels with a Python peer, which takes part by sending and receiving
/// the channels' wire ids (`<path>#<id>`). Python sends, for k in 0..10,
/// `("cmp", k)` as `stage/cmp.<k>#0` and `k + 100` as `stage/cmp.<k>#x`,
/// then waits for the answers `stage/cmp.<k>#0` (= 11 k + 100), then sends
/// `"done"` as `stage#0`. Here the ten forks run concurrently, opened in
/// reverse order, with automatic ids.
pub(crate) async fn channels(pool: &Pool, peer: &str) -> Result<Checks> {
    let mut ck = Checks::default();
    let stage = pool.channel("stage")?;
    let mut tasks = tokio::task::JoinSet::new();
    for k in (0..10u64).rev() {
        let ch = stage.sub("cmp", k)?;
        let peer = peer.to_owned();
        tasks.spawn(async move {
            let first: (String, u64) = ch.recv(&peer).await?;
            let second: u64 = ch.recv_with_id(&peer, "x").await?;
            ch.send(&peer, &(first.1 * 10 + second)).await?;
            let unread = ch.close();
            Ok::<_, mpc_pool::Error>((k, first, second, unread))
        });
    }
    while let Some(r) = tasks.join_next().await {
        match r? {
            Ok((k, first, second, unread)) => {
                ck.eq(&format!("stage/cmp.{k}#0"), &first, &("cmp".to_owned(), k));
                ck.eq(&format!("stage/cmp.{k}#x"), &second, &(k + 100));
                ck.eq(&format!("stage/cmp.{k}: nothing unread"), &unread.len(), &0);
            }
            Err(e) => ck.fail(format!("a fork of stage: {e}")),
        }
    }
    let done: String = stage.recv(peer).await.context("stage#0")?;
    ck.eq("stage#0", &done, &"done".to_owned());
    let stats = pool.channel_stats();
    ck.eq("channels counted", &stats.len(), &11);
    Ok(ck)
}

pub(crate) async fn broadcast(pool: &Pool) -> Result<Checks> {
    let mut ck = Checks::default();
    let peers = pool.peers();
    ensure!(
        peers == ["py0", "py1"],
        "broadcast wants the peers py0, py1 in that order, got {peers:?}"
    );
    let p = |x, y| Tagged(Point { x, y });

    // R1: py0 broadcasts with the custom id "bc-py0"
    let r1: Tagged3<i64> = pool.recv_with_id("py0", "bc-py0").await.context("R1")?;
    ck.eq("R1 from py0", &r1, &t3("R1", "py0", 1));
    // R2a: py0 sends to us alone (id "1"), then R2: broadcasts with automatic
    // ids, which gives us "2" (py1 gets "1")
    let r2a: (String, String) = pool.recv("py0").await.context("R2a")?;
    ck.eq(
        "R2a from py0",
        &r2a,
        &("R2a".to_owned(), "direct".to_owned()),
    );
    let r2: Tagged3<Tagged<Point>> = pool.recv("py0").await.context("R2")?;
    ck.eq("R2 from py0", &r2, &t3("R2", "py0", p(7, 8)));

    // R3: we broadcast with a custom id; R4a: a message to py1 alone; R4:
    // we broadcast with automatic ids (py0 gets "1", py1 gets "2")
    pool.broadcast(&t3("R3", "rust", 3i64))
        .id("bc-rust")
        .await
        .context("R3")?;
    pool.send("py1", &("R4a", "direct")).await.context("R4a")?;
    pool.broadcast(&t3("R4", "rust", p(9, 10)))
        .await
        .context("R4")?;

    // R5: everyone broadcasts with the id "all" and receives with recv_all
    let base = BigInt(IBig::from(1u8) << 70);
    let plus = |k: u8| BigInt(&base.0 + IBig::from(k));
    pool.broadcast(&t3("R5", "rust", plus(2)))
        .id("all")
        .await
        .context("R5")?;
    let got: Vec<(String, Tagged3<BigInt>)> =
        pool.recv_all().id("all").await.context("R5 recv_all")?;
    let want = vec![
        ("py0".to_owned(), t3("R5", "py0", plus(0))),
        ("py1".to_owned(), t3("R5", "py1", plus(1))),
    ];
    ck.eq("R5 recv_all(id all)", &got, &want);

    // R6: everyone broadcasts with automatic ids; recv_all with automatic ids
    pool.broadcast(&t3("R6", "rust", vec![2i64]))
        .await
        .context("R6")?;
    let got: Vec<(String, Tagged3<Vec<i64>>)> = pool.recv_all().await.context("R6 recv_all")?;
    let want = vec![
        ("py0".to_owned(), t3("R6", "py0", vec![0])),
        ("py1".to_owned(), t3("R6", "py1", vec![1])),
    ];
    ck.eq("R6 recv_all(automatic ids)", &got, &want);

    // R7: the Python parties confirm they got everything before we stop
    let done: Vec<(String, String)> = pool.recv_all().id("done").await.context("R7 recv_all")?;
    ck.eq(
        "R7 done",
        &done,
        &vec![
            ("py0".to_owned(), "done".to_owned()),
            ("py1".to_owned(), "done".to_owned()),
        ],
    );
    Ok(ck)
}

/// The Mersenne prime 2^127 - 1: shares are beyond 64 bits, so they travel
/// as Python's tagged big ints.
fn modulus() -> IBig {
    (IBig::from(1u8) << 127) - IBig::from(1u8)
}

fn random_below(p: &IBig) -> Result<IBig> {
    loop {
        let mut buf = [0u8; 16];
        getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let v = IBig::from(u128::from_le_bytes(buf) >> 1);
        if &v < p {
            return Ok(v);
        }
    }
}

/// One party of the three-party secure sum (additive sharing mod 2^127-1):
/// split the input into shares, send one to each peer with id "share", add
/// what the peers sent, broadcast that partial sum with id "partial", add
/// the partial sums. The result must be `expected`. Then every peer says
/// "done" (with `send_done` this party says it too, to every peer).
pub(crate) async fn sum(
    pool: &Pool,
    input: &str,
    expected: &str,
    send_done: bool,
) -> Result<Checks> {
    let p = modulus();
    let input: IBig = input
        .parse()
        .map_err(|e| anyhow::anyhow!("--input: {e:?}"))?;
    let expected: IBig = expected
        .parse()
        .map_err(|e| anyhow::anyhow!("--expected: {e:?}"))?;
    let peers = pool.peers();
    let mut own = &input % &p;
    for peer in &peers {
        let share = random_below(&p)?;
        own = (&own + &p - &share) % &p;
        pool.send_with_id(peer, "share", &BigInt(share))
            .await
            .with_context(|| format!("sending a share to {peer}"))?;
    }
    let mut held = own;
    for (_, share) in pool
        .recv_all::<BigInt>()
        .id("share")
        .await
        .context("receiving shares")?
    {
        held = (held + share.0) % &p;
    }
    pool.broadcast(&BigInt(held.clone()))
        .id("partial")
        .await
        .context("broadcasting the partial sum")?;
    let mut total = held;
    for (_, partial) in pool
        .recv_all::<BigInt>()
        .id("partial")
        .await
        .context("receiving partial sums")?
    {
        total = (total + partial.0) % &p;
    }
    println!("sum={total}");
    let mut ck = Checks::default();
    ck.eq("secure sum", &total, &expected);
    // Everyone has the result before anyone stops serving.
    if send_done {
        pool.broadcast(&"done")
            .id("done")
            .await
            .context("saying done")?;
    }
    let done: Vec<(String, String)> = pool.recv_all().id("done").await.context("done")?;
    ck.eq(
        "done",
        &done.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
        &vec!["done".to_owned(); peers.len()],
    );
    Ok(ck)
}

/// A class no Python party registers.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct NotRegistered {
    x: i64,
}

impl mpc_pool::PyClass for NotRegistered {
    const TYPE_NAME: &'static str = "NotRegisteredAnywhere";
}

/// Sends `peer` a class it has not registered and checks the send's error
/// says, once and in its one line, what a Python peer's failure to decode
/// most likely means; then tells it `done` (custom id).
pub(crate) async fn undecodable(pool: &Pool, peer: &str) -> Result<Checks> {
    let mut ck = Checks::default();
    match pool.send(peer, &Tagged(NotRegistered { x: 1 })).await {
        Ok(()) => ck.fail("a class the Python side has not registered was accepted"),
        Err(e) => {
            let line = e.to_string();
            println!("error: {line}");
            ck.eq(
                "the send fails as a delivery failure",
                &e.is_transport(),
                &true,
            );
            ck.eq(
                "the one line says the Python peer could not decode it",
                &(line.contains("the peer failed to handle the message")
                    || line.contains("the Python peer could not decode it")),
                &true,
            );
            ck.eq(
                "the one line names the likely causes",
                &(line.contains("numpy") && line.contains("has not registered")),
                &true,
            );
            ck.eq(
                "the peer's status text appears once",
                &(line.matches("Internal Server Error").count() <= 1
                    && line.matches("got itself in trouble").count() <= 1),
                &true,
            );
        }
    }
    pool.send_with_id(peer, "done", &"done")
        .await
        .context("sending done")?;
    Ok(ck)
}
