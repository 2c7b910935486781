//! `mpc echo`: a party that sends every message straight back.

use std::future::IntoFuture as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use mpc_measure::Usage;
use mpc_pool::{Pool, Value};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinError, JoinSet};

use crate::args::EchoArgs;
use crate::common::{chain, print_ready, start_pool, Signals};

/// How long `--count` keeps answering after the count is reached, at most.
const LINGER: Duration = Duration::from_secs(5);

/// The linger also ends once no message (new or repeated) has come for
/// this long: a retry after a lost answer follows within a fraction of it
/// (the first pause between attempts is 20 ms), and a peer that never
/// announces leaving (a Python party) does not hold the echo for `LINGER`.
const QUIET: Duration = Duration::from_secs(1);

/// The id of a receive that no message ever has: it ends when its peer
/// leaves the pool.
const LINGER_ID: &str = "mpc-echo: waiting for the peer to leave";

/// Keeps the pool answering until every peer has left it (a Rust party
/// announces that when it shuts down), or nothing has come for [`QUIET`],
/// for at most `limit` or until a signal: a peer whose answer to its last
/// message was lost sends it again, and the running pool tells it the
/// message arrived (a duplicate, already echoed) instead of leaving it to
/// fail.
async fn linger(pool: &Pool, limit: Duration, signals: &mut Signals) {
    let peers = pool.peers();
    let all_left = futures_util::future::join_all(peers.iter().map(|peer| {
        pool.recv_with_id::<Value>(peer, LINGER_ID)
            .no_timeout()
            .into_future()
    }));
    // messages and repeats received so far, all peers
    let arrived = || {
        pool.stats()
            .iter()
            .map(|s| s.messages_received + s.duplicates_received)
            .sum::<u64>()
    };
    let quiet = async {
        let (mut seen, mut since) = (arrived(), tokio::time::Instant::now());
        loop {
            tokio::time::sleep(QUIET / 10).await;
            let now = arrived();
            if now != seen {
                (seen, since) = (now, tokio::time::Instant::now());
            } else if since.elapsed() >= QUIET {
                return;
            }
        }
    };
    tokio::select! {
        _ = all_left => tracing::debug!("every peer has left the pool"),
        () = quiet => tracing::info!(seconds = QUIET.as_secs_f64(), "no message for a while and not every peer has left the pool; stopping"),
        () = tokio::time::sleep(limit) => tracing::info!(seconds = limit.as_secs_f64(), "not every peer has left the pool; stopping"),
        s = signals.recv() => tracing::info!(signal = s, "stopping"),
    }
}

/// Echoes under way per peer before the loop waits for some to finish.
const MAX_OUTSTANDING: usize = 256;
/// How often to look whether a peer that left the pool is back.
const DEPARTED_POLL: Duration = Duration::from_millis(50);

/// Counters of one peer's loop.
#[derive(Debug, Default)]
struct Counters {
    /// Messages received.
    received: AtomicU64,
    /// Echoes the peer accepted.
    echoed: AtomicU64,
    /// Echoes that could not be delivered.
    failed: AtomicU64,
    /// Receives that failed (message id skipped, no echo).
    skipped: AtomicU64,
}

/// The `--count` target, shared by all peers' loops.
#[derive(Debug)]
struct Target {
    count: Option<u64>,
    received: AtomicU64,
    reached: Notify,
}

impl Target {
    fn count_one(&self) {
        let n = self.received.fetch_add(1, Ordering::AcqRel) + 1;
        if self.count == Some(n) {
            self.reached.notify_one();
        }
    }
}

pub(crate) async fn run(args: EchoArgs) -> Result<ExitCode> {
    let mut signals = Signals::new()?;
    let pool = start_pool(&args.net, &args.peers, None).await?;
    let target = Arc::new(Target {
        count: args.count,
        received: AtomicU64::new(0),
        reached: Notify::new(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut loops = JoinSet::new();
    let mut counters = Vec::new();
    for peer in pool.peers() {
        let c = Arc::new(Counters::default());
        counters.push((peer.clone(), c.clone()));
        loops.spawn(peer_loop(
            pool.clone(),
            peer,
            stop_rx.clone(),
            c,
            target.clone(),
        ));
    }
    print_ready(&pool, &args.net);
    let ready = Usage::of_this_process();
    tracing::info!(count = ?args.count, "echoing; stop with SIGINT or SIGTERM");

    let reason = tokio::select! {
        () = target.reached.notified(), if args.count.is_some() => {
            tracing::info!("count reached: waiting for echoes under way");
            "count".to_owned()
        }
        s = signals.recv() => {
            tracing::info!(signal = s, "stopping: waiting for echoes under way (again to stop at once)");
            s.to_owned()
        }
    };
    let _ = stop_tx.send(true);
    let drained = tokio::select! {
        () = async { while loops.join_next().await.is_some() {} } => true,
        s = signals.recv() => {
            tracing::warn!(signal = s, "not waiting for echoes still under way");
            false
        }
    };
    if drained && reason == "count" {
        linger(&pool, args.linger.unwrap_or(LINGER), &mut signals).await;
    }
    // what the process used while it echoed (`cargo xtask bench` reads it)
    if let Some(u) = ready.zip(Usage::of_this_process()).map(|(b, a)| a.since(b)) {
        println!("usage {}", u.words());
    }
    let report = pool.shutdown().await;
    drop(loops);

    let mut totals = [0u64; 4];
    for (peer, c) in &counters {
        let row = [
            c.received.load(Ordering::Acquire),
            c.echoed.load(Ordering::Acquire),
            c.failed.load(Ordering::Acquire),
            c.skipped.load(Ordering::Acquire),
        ];
        println!(
            "peer name={peer} received={} echoed={} failed={} skipped={}",
            row[0], row[1], row[2], row[3]
        );
        for (t, v) in totals.iter_mut().zip(row) {
            *t += v;
        }
    }
    let [received, echoed, failed, skipped] = totals;
    let unfinished = received.saturating_sub(echoed + failed);
    println!(
        "stopped name={} reason={reason} received={received} echoed={echoed} failed={failed} \
         skipped={skipped} unfinished={unfinished} unread={}",
        pool.name(),
        report.unread.len()
    );
    print!("{}", report.ledger);
    let complete = match args.count {
        Some(n) => reason == "count" && received >= n,
        None => true,
    };
    let ok = complete && drained && failed == 0 && skipped == 0 && unfinished == 0;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Receives `peer`'s messages in id order and sends each back with the id
/// it came with, until `stop`; then waits for the echoes under way.
///
/// The loop counts ids itself (0, 1, 2, ...: the automatic ids of the
/// peer's sends) and receives each by that id, so that it can retry an id
/// and start again at 0 when the peer comes back after leaving the pool.
async fn peer_loop(
    pool: Pool,
    peer: String,
    mut stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
    target: Arc<Target>,
) {
    let mut sends: JoinSet<Result<(), mpc_pool::Error>> = JoinSet::new();
    let mut next: u64 = 0;
    let mut departed = false;
    loop {
        if *stop.borrow() {
            break;
        }
        let id = next.to_string();
        // The receive is made once per id and kept across the select below
        // until it completes or the loop stops.
        let mut pending = pool
            .recv_with_id::<Value>(&peer, &id)
            .no_timeout()
            .into_future();
        let got = loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break None,
                Some(done) = sends.join_next(), if !sends.is_empty() => {
                    account(&peer, done, &counters);
                }
                r = &mut pending => break Some(r),
            }
        };
        // Dropping an unfinished receive withdraws it; a message that
        // arrived for it stays in the buffer (reported at shutdown).
        drop(pending);
        let value = match got {
            None => break,
            Some(Ok(value)) => value,
            Some(Err(e)) if e.is_shutdown() => break,
            Some(Err(e)) if e.is_peer_departed() => {
                // Everything it sent before leaving has been echoed: its
                // session is over. A party that comes back is a new pool
                // whose ids start at 0 again.
                if !departed {
                    tracing::info!(
                        peer = %peer,
                        reason = e.departure_reason().unwrap_or("?"),
                        messages = next,
                        "peer left the pool; waiting for it to come back (its ids start again at 0)"
                    );
                    departed = true;
                }
                next = 0;
                tokio::select! {
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(DEPARTED_POLL) => {}
                }
                continue;
            }
            Some(Err(e)) => {
                counters.skipped.fetch_add(1, Ordering::AcqRel);
                tracing::warn!(
                    from = %peer,
                    id = %id,
                    error = %chain(&e),
                    "could not receive a message; no echo for it, going on with the next id"
                );
                next += 1;
                if !e.is_decode() {
                    // Not expected for dynamic values; do not spin on it.
                    tokio::time::sleep(DEPARTED_POLL).await;
                }
                continue;
            }
        };
        if departed {
            tracing::info!(peer = %peer, "peer is back");
            departed = false;
        }
        next += 1;
        counters.received.fetch_add(1, Ordering::AcqRel);
        while sends.len() >= MAX_OUTSTANDING {
            if let Some(done) = sends.join_next().await {
                account(&peer, done, &counters);
            }
        }
        // The echo goes back under the id its message came with: the
        // automatic id the peer expects for it.
        tracing::debug!(to = %peer, %id, kind = value.kind(), "echoing");
        sends.spawn(pool.send_with_id(&peer, &id, &value));
        target.count_one();
    }
    while let Some(done) = sends.join_next().await {
        account(&peer, done, &counters);
    }
}

fn account(peer: &str, done: Result<Result<(), mpc_pool::Error>, JoinError>, counters: &Counters) {
    match done {
        Ok(Ok(())) => {
            counters.echoed.fetch_add(1, Ordering::AcqRel);
        }
        Ok(Err(e)) => {
            counters.failed.fetch_add(1, Ordering::AcqRel);
            tracing::warn!(
                to = %peer,
                id = e.message_id().unwrap_or("?"),
                error = %chain(&e),
                "echo not delivered"
            );
        }
        Err(e) => {
            counters.failed.fetch_add(1, Ordering::AcqRel);
            tracing::error!(to = %peer, error = %e, "echo task failed");
        }
    }
}
