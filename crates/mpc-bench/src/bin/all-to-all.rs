//! `all-to-all`: time per round of an all-to-all exchange among N parties.
//!
//! Each party is a `Pool` over plain HTTP in a process of its own (as
//! parties are deployed; in one process the parties would share one
//! runtime and one allocator), all on 127.0.0.1. A round: every party
//! broadcasts a payload of `--size` bytes to all others (automatic ids, as
//! Python's `broadcast`) while receiving one message from each
//! (`recv_all`); the next round starts when both are done. After
//! `--warmup` rounds (connections made), `--rounds` rounds are timed.
//!
//! * `all-to-all run --parties N --size S --rounds R [--warmup W]` starts
//!   the N party processes (this program, `party` mode), waits for them
//!   (at most `--deadline` seconds, then kills them) and prints one JSON
//!   line: `{"parties":N,"size":S,"rounds":R,"round_us":<slowest party's
//!   mean>,"round_us_mean":<mean over parties>}`.
//! * `all-to-all party ...` is one party (started by `run`); it prints
//!   `{"party":I,"round_us":..}`.

use std::future::IntoFuture;
use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use mpc_bench::{exit, parse_size};
use mpc_measure::{field, Payloads};
use mpc_pool::{Bytes, Pool};

/// Time per round of an all-to-all exchange among N Rust parties
#[derive(Debug, Parser)]
#[command(name = "all-to-all")]
enum Mode {
    /// Start N party processes on 127.0.0.1 and report the time per round.
    Run {
        /// Number of parties (at least 2).
        #[arg(long, value_parser = clap::value_parser!(u64).range(2..=64))]
        parties: u64,
        #[command(flatten)]
        rounds: RoundArgs,
        /// Kill the parties if they have not finished after this many seconds.
        #[arg(long, default_value_t = 120)]
        deadline: u64,
    },
    /// One party (started by `run`).
    Party {
        /// This party's index (its name is p followed by the index: p0, p1, ...).
        #[arg(long)]
        index: usize,
        /// The ports of all parties, by index, comma-separated.
        #[arg(long, value_delimiter = ',')]
        ports: Vec<u16>,
        #[command(flatten)]
        rounds: RoundArgs,
    },
}

#[derive(Debug, clap::Args, Clone, Copy)]
struct RoundArgs {
    /// Payload bytes each party sends to each other party per round.
    #[arg(long, value_parser = parse_size, default_value = "16")]
    size: u64,
    /// Timed rounds.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// Untimed rounds first (connections are made in these).
    #[arg(long, default_value_t = 10)]
    warmup: u64,
    /// Run each party on tokio's current-thread runtime instead of the
    /// multi-thread one (the default, as `mpc` uses).
    #[arg(long)]
    current_thread: bool,
}

fn main() -> ExitCode {
    exit(
        "all-to-all",
        match Mode::parse() {
            Mode::Run {
                parties,
                rounds,
                deadline,
            } => run(parties as usize, rounds, Duration::from_secs(deadline)),
            Mode::Party {
                index,
                ports,
                rounds,
            } => party(index, &ports, rounds),
        },
    )
}

/// Kills the party processes still running when dropped.
struct Parties(Vec<Child>);

impl Drop for Parties {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

fn run(n: usize, r: RoundArgs, deadline: Duration) -> Result<()> {
    // Free ports: bound together (so they differ), released just before
    // the parties bind them.
    let ports: Vec<u16> = {
        let ls: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<std::io::Result<_>>()
            .context("finding free ports")?;
        ls.iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<_>>()?
    };
    let list = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let exe = std::env::current_exe().context("finding this program")?;
    let (tx, rx) = mpsc::channel::<(usize, Result<f64, String>)>();
    let mut parties = Parties(Vec::new());
    for i in 0..n {
        let mut child = Command::new(&exe)
            .args(["party", "--index", &i.to_string(), "--ports", &list])
            .args(["--size", &r.size.to_string()])
            .args(["--rounds", &r.rounds.to_string()])
            .args(["--warmup", &r.warmup.to_string()])
            .args(r.current_thread.then_some("--current-thread"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting party {i}"))?;
        let out = child.stdout.take().context("party stdout")?;
        parties.0.push(child);
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut result = Err("no result line".to_owned());
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(v) = field(&line, "round_us") {
                    result = Ok(v);
                }
            }
            let _ = tx.send((i, result));
        });
    }
    drop(tx);
    let until = Instant::now() + deadline;
    let mut times = vec![None; n];
    for _ in 0..n {
        let left = until.saturating_duration_since(Instant::now());
        let (i, res) = rx
            .recv_timeout(left)
            .map_err(|_| anyhow!("the parties did not finish within {deadline:?}"))?;
        times[i] = Some(res.map_err(|e| anyhow!("party {i}: {e}"))?);
    }
    for (i, c) in parties.0.iter_mut().enumerate() {
        let left = until.saturating_duration_since(Instant::now());
        let status = wait_timeout(c, left)?.with_context(|| format!("party {i} did not exit"))?;
        if !status.success() {
            bail!("party {i} failed: {status}");
        }
    }
    let times: Vec<f64> = times.into_iter().flatten().collect();
    let max = times.iter().copied().fold(0.0, f64::max);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{{\"parties\":{n},\"size\":{},\"rounds\":{},\"round_us\":{max:.1},\"round_us_mean\":{mean:.1}}}",
        r.size, r.rounds
    );
    Ok(())
}

fn wait_timeout(c: &mut Child, left: Duration) -> Result<Option<std::process::ExitStatus>> {
    let until = Instant::now() + left;
    loop {
        if let Some(s) = c.try_wait()? {
            return Ok(Some(s));
        }
        if Instant::now() >= until {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn party(index: usize, ports: &[u16], r: RoundArgs) -> Result<()> {
    if index >= ports.len() || ports.len() < 2 {
        bail!("--index {index} with {} ports", ports.len());
    }
    let rt = if r.current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .context("starting the runtime")?;
    rt.block_on(async move {
        let mut b = Pool::builder(format!("p{index}"))
            .listen(format!("127.0.0.1:{}", ports[index]))
            .timeout(Some(Duration::from_secs(60)));
        for (j, port) in ports.iter().enumerate() {
            if j != index {
                b = b.peer_at(format!("p{j}"), format!("127.0.0.1:{port}"));
            }
        }
        let pool = b.start().await.context("starting the pool")?;
        let payload = Bytes::from(Payloads::new(r.size as usize).payload(index as u64));
        for _ in 0..r.warmup {
            round(&pool, &payload).await?;
        }
        let start = Instant::now();
        for _ in 0..r.rounds {
            round(&pool, &payload).await?;
        }
        let elapsed = start.elapsed();
        // Every peer has accepted this party's last messages (broadcast
        // resolved) and this party has all of theirs: leaving is safe.
        pool.shutdown().await;
        println!(
            "{{\"party\":{index},\"rounds\":{},\"round_us\":{:.1}}}",
            r.rounds,
            elapsed.as_secs_f64() * 1e6 / r.rounds as f64
        );
        Ok(())
    })
}

/// One round: send `payload` to every peer while receiving one message
/// from each.
async fn round(pool: &Pool, payload: &Bytes) -> Result<()> {
    let send = pool.broadcast(payload).into_future();
    let recv = pool.recv_all::<Bytes>().into_future();
    let (sent, got) = tokio::join!(send, recv);
    sent.context("broadcast")?;
    let got = got.context("recv_all")?;
    if got.iter().any(|(_, m)| m.len() != payload.len()) {
        bail!("a message of the wrong size");
    }
    Ok(())
}
