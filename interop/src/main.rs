//! `mpc-interop-party`: the Rust party of the interop suite with the Python
//! package `tno.mpc.communication` 5.0.4 (`cargo xtask interop`, driven by
//! `interop/run.py`).
//!
//! ```text
//! mpc-interop-party MODE --name NAME [--listen HOST:PORT] --peer NAME=HOST:PORT ...
//!     [--tls-key F --tls-cert F --tls-ca F] [--peer-cert NAME=F ...]
//!     [--deadline SECS] [--timeout SECS] [mode options]
//! ```
//!
//! Modes (each is one side of a scenario in `interop/scenarios.py`):
//!
//! * `echo [--count N]`: relays every message of each peer back as a
//!   dynamic `Value` with automatic ids; exits after N messages (the
//!   fallback of `mpc echo`).
//! * `typed [--with PEER] [--big]`: sends Rust values to a Python party that
//!   echoes them, and checks it gets the same Rust values back; then
//!   receives the values Python sends as typed Rust values, checks them and
//!   sends them back (`typed.rs`).
//! * `ids [--with PEER]`: automatic and custom ids interleaved, both ways.
//! * `broadcast`: broadcasts and `recv_all` in a pool of `py0`, `py1` and
//!   this party.
//! * `sum --input N --expected N [--send-done]`: one party of the three-party
//!   secure sum; with `--send-done` it also sends the closing `done` to every
//!   peer (a pool of Rust `sum` parties, as in `cargo xtask integration`;
//!   the Python sum parties send it only to the Rust party).
//! * `undecodable [--with PEER]`: sends a class the Python party has not
//!   registered and checks the error's one line explains it.
//!
//! Prints `ready name=NAME listen=HOST:PORT` on stdout once serving, then
//! `PASS ...`/`FAIL ...` lines; exits 0 only if every check passed. The
//! whole run is bounded by `--deadline` (default 120 s).

use std::io::Write as _;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use mpc_pool::{Pool, TlsConfig};

mod checks;
mod protocols;
mod typed;

/// The parsed command line.
#[derive(Debug, Default)]
pub(crate) struct Args {
    pub(crate) mode: String,
    pub(crate) name: String,
    pub(crate) listen: String,
    pub(crate) peers: Vec<(String, String)>,
    pub(crate) tls_key: Option<String>,
    pub(crate) tls_cert: Option<String>,
    pub(crate) tls_ca: Option<String>,
    pub(crate) peer_certs: Vec<(String, String)>,
    pub(crate) deadline: Duration,
    pub(crate) timeout: Duration,
    pub(crate) count: Option<u64>,
    pub(crate) with: Option<String>,
    pub(crate) big: bool,
    pub(crate) input: Option<String>,
    pub(crate) expected: Option<String>,
    pub(crate) send_done: bool,
}

const USAGE: &str =
    "usage: mpc-interop-party echo|typed|ids|channels|broadcast|sum|undecodable --name NAME \
[--listen HOST:PORT] --peer NAME=HOST:PORT... [--tls-key F --tls-cert F --tls-ca F] \
[--peer-cert NAME=F]... [--deadline SECS] [--timeout SECS] [--count N] [--with PEER] [--big] \
[--input N --expected N [--send-done]]";

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args> {
    let mut a = Args {
        mode: it.next().context(USAGE)?,
        listen: "127.0.0.1:0".into(),
        deadline: Duration::from_secs(120),
        timeout: Duration::from_secs(60),
        ..Args::default()
    };
    fn pair(s: &str, what: &str) -> Result<(String, String)> {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("{what} wants NAME=VALUE, got {s:?}"))?;
        ensure!(
            !k.is_empty() && !v.is_empty(),
            "{what} wants NAME=VALUE, got {s:?}"
        );
        Ok((k.to_owned(), v.to_owned()))
    }
    while let Some(flag) = it.next() {
        if flag == "--big" {
            a.big = true;
            continue;
        }
        if flag == "--send-done" {
            a.send_done = true;
            continue;
        }
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--name" => a.name = value,
            "--listen" => a.listen = value,
            "--peer" => a.peers.push(pair(&value, "--peer")?),
            "--tls-key" => a.tls_key = Some(value),
            "--tls-cert" => a.tls_cert = Some(value),
            "--tls-ca" => a.tls_ca = Some(value),
            "--peer-cert" => a.peer_certs.push(pair(&value, "--peer-cert")?),
            "--deadline" => a.deadline = Duration::from_secs_f64(value.parse()?),
            "--timeout" => a.timeout = Duration::from_secs_f64(value.parse()?),
            "--count" => a.count = Some(value.parse()?),
            "--with" => a.with = Some(value),
            "--input" => a.input = Some(value),
            "--expected" => a.expected = Some(value),
            _ => bail!("unknown option {flag:?}\n{USAGE}"),
        }
    }
    ensure!(!a.name.is_empty(), "--name is required\n{USAGE}");
    ensure!(
        !a.peers.is_empty(),
        "at least one --peer is required\n{USAGE}"
    );
    Ok(a)
}

impl Args {
    /// The one peer a two-party mode talks to.
    pub(crate) fn partner(&self) -> Result<String> {
        match &self.with {
            Some(p) => Ok(p.clone()),
            None if self.peers.len() == 1 => Ok(self.peers[0].0.clone()),
            None => bail!("several peers: say which one with --with"),
        }
    }
}

async fn start_pool(a: &Args) -> Result<Pool> {
    let mut b = Pool::builder(a.name.clone())
        .listen(a.listen.clone())
        .timeout(Some(a.timeout));
    for (name, addr) in &a.peers {
        b = b.peer_at(name.clone(), addr.clone());
    }
    match (&a.tls_key, &a.tls_cert, &a.tls_ca) {
        (Some(k), Some(c), Some(ca)) => {
            let mut tls = TlsConfig::from_pem_files(k, c, ca).context("loading the TLS files")?;
            for (peer, f) in &a.peer_certs {
                tls = tls
                    .peer_certificate_file(peer.clone(), f)
                    .with_context(|| format!("pinning {f} for {peer}"))?;
            }
            b = b.tls(tls);
        }
        (None, None, None) => ensure!(a.peer_certs.is_empty(), "--peer-cert without TLS"),
        _ => bail!("--tls-key, --tls-cert and --tls-ca go together"),
    }
    b.start().await.context("starting the pool")
}

async fn run(a: Args) -> Result<bool> {
    let pool = start_pool(&a).await?;
    let addr = pool.local_addr().context("the pool has no address")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready name={} listen={addr}", a.name)?;
        out.flush()?;
    }
    let outcome = tokio::time::timeout(a.deadline, async {
        match a.mode.as_str() {
            "echo" => protocols::echo(&pool, a.count).await,
            "typed" => typed::run(&pool, &a.partner()?, a.big).await,
            "ids" => protocols::ids(&pool, &a.partner()?).await,
            "channels" => protocols::channels(&pool, &a.partner()?).await,
            "broadcast" => protocols::broadcast(&pool).await,
            "undecodable" => protocols::undecodable(&pool, &a.partner()?).await,
            "sum" => {
                let input = a.input.as_deref().context("sum needs --input")?;
                let expected = a.expected.as_deref().context("sum needs --expected")?;
                protocols::sum(&pool, input, expected, a.send_done).await
            }
            other => bail!("unknown mode {other:?}\n{USAGE}"),
        }
    })
    .await;
    // Every mode ends after its peers confirmed they have what they need,
    // so the server may stop now; the report lists what was left unread.
    let report = pool.shutdown().await;
    let checks = match outcome {
        Ok(r) => r?,
        Err(_) => bail!("the {} run did not finish within {:?}", a.mode, a.deadline),
    };
    checks.print();
    if !report.unread.is_empty() {
        println!("FAIL unread messages at shutdown: {:?}", report.unread);
        return Ok(false);
    }
    Ok(checks.ok())
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let result = parse_args(std::env::args().skip(1)).and_then(|a| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting tokio")?
            .block_on(run(a))
    });
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            println!("FAIL error: {e:#}");
            eprintln!("mpc-interop-party: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
