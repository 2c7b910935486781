//! `mpc bench`: round trips against a party running `mpc echo`.

use std::collections::VecDeque;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use mpc_measure::{Record, RecordLedger, Usage};
use mpc_pool::{Blob, Bytes, Pending, Pool};
use tokio::task::JoinSet;

use crate::args::BenchArgs;
use crate::common::{chain, start_pool};

/// The payloads of the run (from the system's randomness), each in a
/// buffer of its own sent without a copy ([`Blob`]): the buffer of an
/// earlier message is stamped again and reused once the pool has let go of
/// it (its send is over), so large payloads are neither copied nor faulted
/// in anew for every message, as raw TCP's client reuses its one buffer.
struct Payloads {
    payloads: mpc_measure::Payloads,
    /// Buffers handed out, oldest first; at most [`Payloads::KEPT`].
    out: VecDeque<Bytes>,
}

impl Payloads {
    /// Buffers kept for reuse at most (one per message under way, and one).
    const KEPT: usize = crate::args::MAX_INFLIGHT as usize + 1;

    fn new(size: usize) -> Result<Self> {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).map_err(|e| anyhow!("no system randomness: {e}"))?;
        let payloads = mpc_measure::Payloads::with_seed(size, u64::from_le_bytes(seed));
        Ok(Payloads {
            payloads,
            out: VecDeque::new(),
        })
    }

    /// Payload `i`: the oldest buffer handed out if nobody else holds it
    /// any more (sends finish about in the order they started), stamped
    /// for `i`, or a new one.
    fn payload(&mut self, i: u64) -> Bytes {
        let reused = match self.out.pop_front().map(Bytes::try_into_mut) {
            Some(Ok(m)) => Some(m),
            Some(Err(held)) => {
                self.out.push_front(held);
                None
            }
            None => None,
        };
        let payload = match reused {
            Some(mut m) => {
                // the rest of the buffer is the run's base already
                self.payloads.stamp(i, &mut m);
                m.freeze()
            }
            None => Bytes::from(self.payloads.payload(i)),
        };
        if self.out.len() >= Self::KEPT {
            self.out.pop_front();
        }
        self.out.push_back(payload.clone());
        payload
    }

    /// Whether `echo` is payload `i`.
    fn matches(&self, i: u64, echo: &[u8]) -> bool {
        self.payloads.matches(i, echo)
    }
}

/// A `\r`-updated progress line on standard error, if that is a terminal.
struct Progress {
    total: u64,
    enabled: bool,
    last: Option<Instant>,
}

impl Progress {
    fn new(total: u64) -> Self {
        Progress {
            total,
            enabled: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    fn update(&mut self, done: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if done < self.total
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let width = 30u64;
        let filled = (done * width / self.total.max(1)) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{:<w$}] {done}/{} echoes ({}%)",
            "=".repeat(filled),
            self.total,
            done * 100 / self.total.max(1),
            w = width as usize
        );
        let _ = err.flush();
    }

    fn finish(&mut self) {
        if self.enabled && self.last.is_some() {
            let _ = writeln!(std::io::stderr());
            self.last = None;
        }
    }
}

/// What a finished run measured.
struct Outcome {
    elapsed: Duration,
    /// What this process used from the first send to the last echo.
    usage: Option<Usage>,
    roundtrips: Duration,
    mismatched: Vec<u64>,
}

pub(crate) async fn run(args: BenchArgs) -> Result<ExitCode> {
    let size = usize::try_from(args.size).context("--size does not fit in memory")?;
    let mut payloads = Payloads::new(size)?;
    let pool = start_pool(
        &args.net,
        std::slice::from_ref(&args.peer),
        Some(args.timeout),
    )
    .await?;
    tracing::info!(
        listen = ?pool.local_addr(),
        peer = %args.peer.name,
        size = args.size,
        count = args.count,
        inflight = args.inflight,
        "benchmark started"
    );
    let mut progress = Progress::new(args.count);
    let outcome = measure(&pool, &args, &mut payloads, &mut progress).await;
    progress.finish();
    let report = pool.shutdown().await;
    let outcome = outcome?;

    if !outcome.mismatched.is_empty() {
        let shown: Vec<String> = outcome
            .mismatched
            .iter()
            .take(10)
            .map(u64::to_string)
            .collect();
        bail!(
            "{} of {} echoes differ from what was sent (message ids {}{})",
            outcome.mismatched.len(),
            args.count,
            shown.join(", "),
            if outcome.mismatched.len() > 10 {
                ", ..."
            } else {
                ""
            }
        );
    }
    if !report.unread.is_empty() {
        tracing::warn!(
            count = report.unread.len(),
            "received messages that were not echoes of this benchmark"
        );
    }
    let l = &report.ledger;
    let ledger = RecordLedger {
        messages_sent: l.total.messages_sent,
        messages_received: l.total.messages_received,
        bytes_sent: l.total.bytes_sent,
        bytes_received: l.total.bytes_received,
        wire_bytes_sent: l.total.wire_bytes_sent,
        wire_bytes_received: l.total.wire_bytes_received,
        rounds: l.rounds,
    };
    println!(
        "{}",
        Record::from_run(
            args.size,
            args.count,
            args.inflight,
            outcome.elapsed,
            outcome.roundtrips
        )
        .with_ledger(ledger)
        .with_usage(outcome.usage)
    );
    Ok(ExitCode::SUCCESS)
}

/// A message whose echo is awaited.
struct InFlight {
    i: u64,
    sent: Instant,
    echo: Pending<Bytes>,
}

async fn measure(
    pool: &Pool,
    args: &BenchArgs,
    payloads: &mut Payloads,
    progress: &mut Progress,
) -> Result<Outcome> {
    let peer = args.peer.name.as_str();
    let inflight = usize::try_from(args.inflight).unwrap_or(usize::MAX);
    let mut window: VecDeque<InFlight> = VecDeque::with_capacity(inflight);
    let mut sends: JoinSet<Result<(), mpc_pool::Error>> = JoinSet::new();
    let mut roundtrips = Duration::ZERO;
    let mut mismatched = Vec::new();
    let mut done = 0u64;

    let before = Usage::of_this_process();
    let start = Instant::now();
    for i in 0..args.count {
        if window.len() >= inflight {
            if let Some(m) = window.pop_front() {
                complete(m, payloads, &mut sends, &mut roundtrips, &mut mismatched).await?;
                done += 1;
                progress.update(done);
            }
        }
        // `recv` and `send` take ids when called: the receive registered
        // here is for automatic id i, the send below sends id i, and the
        // echo party sends message i back as id i.
        let echo = pool.recv::<Bytes>(peer).register();
        let sent = Instant::now();
        sends.spawn(pool.send(peer, &Blob(payloads.payload(i))));
        window.push_back(InFlight { i, sent, echo });
        while let Some(r) = sends.try_join_next() {
            check_send(r)?;
        }
    }
    while let Some(m) = window.pop_front() {
        complete(m, payloads, &mut sends, &mut roundtrips, &mut mismatched).await?;
        done += 1;
        progress.update(done);
    }
    let elapsed = start.elapsed();
    let usage = before
        .zip(Usage::of_this_process())
        .map(|(b, a)| a.since(b));
    while let Some(r) = sends.join_next().await {
        check_send(r)?;
    }
    Ok(Outcome {
        elapsed,
        usage,
        roundtrips,
        mismatched,
    })
}

/// Waits for the echo of `m` (watching the sends meanwhile, so a failed
/// send is reported at once instead of as a missing echo later).
async fn complete(
    mut m: InFlight,
    payloads: &Payloads,
    sends: &mut JoinSet<Result<(), mpc_pool::Error>>,
    roundtrips: &mut Duration,
    mismatched: &mut Vec<u64>,
) -> Result<()> {
    let got = loop {
        tokio::select! {
            biased;
            r = &mut m.echo => break r,
            Some(r) = sends.join_next(), if !sends.is_empty() => check_send(r)?,
        }
    };
    *roundtrips += m.sent.elapsed();
    match got {
        Ok(echo) => {
            if !payloads.matches(m.i, &echo) {
                tracing::error!(
                    id = m.i,
                    len = echo.len(),
                    "echo differs from what was sent"
                );
                mismatched.push(m.i);
            }
        }
        Err(e) if e.is_decode() => {
            tracing::error!(id = m.i, error = %chain(&e), "echo is not a byte string");
            mismatched.push(m.i);
        }
        Err(e) => {
            return Err(anyhow!("{}", chain(&e)).context(format!("no echo of message {}", m.i)))
        }
    }
    Ok(())
}

fn check_send(r: Result<Result<(), mpc_pool::Error>, tokio::task::JoinError>) -> Result<()> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow!("{}", chain(&e)).context("sending a payload")),
        Err(e) => Err(anyhow!("send task failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_buffers_are_reused_once_free() {
        for size in [0usize, 1, 7, 8, 9, 1000] {
            let mut p = Payloads::new(size).unwrap();
            let a = p.payload(0);
            let b = p.payload(1);
            assert_eq!(a.len(), size);
            if size > 0 {
                assert_ne!(a, b);
            }
            assert!(p.matches(0, &a) && p.matches(1, &b));
            // still held here: payload 2 gets a buffer of its own
            let c = p.payload(2);
            assert!(p.matches(2, &c) && p.matches(0, &a), "{size}");
            if size > 0 {
                assert_ne!(c.as_ptr(), a.as_ptr());
            }
            // once let go of, a buffer is stamped again for a later payload
            let reused = a.as_ptr();
            drop(a);
            let d = p.payload(3);
            assert!(p.matches(3, &d) && p.matches(1, &b));
            if size > 0 {
                assert_eq!(d.as_ptr(), reused, "{size}");
            }
        }
    }
}
