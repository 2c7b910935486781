//! `rss-probe`: one big message into a party that only receives it, to
//! measure the receiving side's peak memory (`cargo xtask bench` reads the
//! receiver's VmHWM from /proc; `mpc echo` is measured the same way for the
//! receive-and-echo case).
//!
//! * `rss-probe recv --listen ADDR --peer NAME=ADDR` (party "recv"): prints
//!   `ready listen=HOST:PORT`, receives one message (as a dynamic `Value`,
//!   as `mpc echo` does), answers with a 2-byte byte string, prints
//!   `{"received":N}` and keeps running (so its memory can be read) until
//!   killed.
//! * `rss-probe send --listen ADDR --peer recv=ADDR --size N` (party
//!   "send"): sends N random bytes, waits for the answer and prints
//!   `{"size":N,"seconds":..}`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use mpc_bench::{exit, parse_size};
use mpc_measure::Payloads;
use mpc_pool::{Bytes, Pool, Value};

/// One big message into a party that only receives it
#[derive(Debug, Parser)]
#[command(name = "rss-probe")]
enum Mode {
    /// The receiving party ("recv").
    Recv {
        #[arg(long)]
        listen: String,
        /// The sender, NAME=HOST:PORT.
        #[arg(long)]
        peer: String,
    },
    /// The sending party ("send").
    Send {
        #[arg(long)]
        listen: String,
        /// The receiver, NAME=HOST:PORT.
        #[arg(long)]
        peer: String,
        #[arg(long, value_parser = parse_size)]
        size: u64,
    },
}

fn main() -> ExitCode {
    let mode = Mode::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run(mode)));
    exit("rss-probe", result)
}

async fn start(name: &str, listen: &str, peer: &str) -> Result<(Pool, String)> {
    let (peer_name, addr) = peer.split_once('=').context("--peer NAME=HOST:PORT")?;
    let pool = Pool::builder(name)
        .listen(listen)
        .peer_at(peer_name, addr)
        .timeout(Some(Duration::from_secs(300)))
        .start()
        .await
        .context("starting the pool")?;
    Ok((pool, peer_name.to_owned()))
}

async fn run(mode: Mode) -> Result<()> {
    match mode {
        Mode::Recv { listen, peer } => {
            let (pool, peer) = start("recv", &listen, &peer).await?;
            let addr = pool.local_addr().context("no local address")?;
            println!("ready listen={addr}");
            let v: Value = pool.recv(&peer).await.context("receiving")?;
            let n = match &v {
                Value::Bytes(b) => b.len(),
                _ => bail!("not a byte string"),
            };
            drop(v);
            pool.send(&peer, &Bytes::from_static(b"ok"))
                .await
                .context("answering")?;
            println!("{{\"received\":{n}}}");
            std::future::pending::<()>().await;
            Ok(())
        }
        Mode::Send { listen, peer, size } => {
            let (pool, peer) = start("send", &listen, &peer).await?;
            let payload = Bytes::from(Payloads::new(size as usize).payload(0));
            let t = Instant::now();
            pool.send(&peer, &payload).await.context("sending")?;
            let ack: Bytes = pool.recv(&peer).await.context("no answer")?;
            let seconds = t.elapsed().as_secs_f64();
            if &ack[..] != b"ok" {
                bail!("unexpected answer");
            }
            pool.shutdown().await;
            println!("{{\"size\":{size},\"seconds\":{seconds:.6}}}");
            Ok(())
        }
    }
}
