//! What `echo` and `bench` share: starting the pool, signals, error text.

use std::error::Error as StdError;
use std::io::Write as _;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use mpc_pool::{Pool, PoolBuilder, TlsConfig};

use crate::args::{check_names, NetArgs, Peer, TlsArgs};

/// Loads the TLS settings, if the TLS flags are given.
fn load_tls(tls: &TlsArgs) -> Result<Option<TlsConfig>> {
    let (Some(key), Some(cert), Some(ca)) = (&tls.tls_key, &tls.tls_cert, &tls.tls_ca) else {
        // clap makes the three flags go together; --peer-cert requires them.
        return Ok(None);
    };
    let mut cfg = TlsConfig::from_pem_files(key, cert, ca).with_context(|| {
        format!(
            "loading TLS files (--tls-key {}, --tls-cert {}, --tls-ca {})",
            key.display(),
            cert.display(),
            ca.display()
        )
    })?;
    for pin in &tls.peer_certs {
        cfg = cfg
            .peer_certificate_file(pin.name.clone(), &pin.file)
            .with_context(|| format!("loading --peer-cert {}={}", pin.name, pin.file.display()))?;
    }
    Ok(Some(cfg))
}

/// Starts a pool on HTTP(S) as the command line says.
pub(crate) async fn start_pool(
    net: &NetArgs,
    peers: &[Peer],
    timeout: Option<Duration>,
) -> Result<Pool> {
    check_names(&net.name, peers, &net.tls.peer_certs).map_err(|e| anyhow!(e))?;
    let builder = peers.iter().fold(
        Pool::builder(net.name.clone())
            .listen(net.listen.clone())
            .timeout(timeout),
        |b, p| b.peer_at(p.name.clone(), p.address.clone()),
    );
    let builder = set(builder, net.advertise_port, PoolBuilder::advertised_port);
    let builder = set(builder, net.retry_window, PoolBuilder::retry_window);
    let builder = set(builder, net.stall_timeout, PoolBuilder::stall_timeout);
    let builder = set(builder, net.net, PoolBuilder::net);
    let builder = set(builder, load_tls(&net.tls)?, PoolBuilder::tls);
    builder
        .start()
        .await
        .with_context(|| format!("starting party {:?} on {}", net.name, net.listen))
}

/// `setter(builder, value)` if an option gave a value, else `builder`.
fn set<T>(
    builder: PoolBuilder,
    value: Option<T>,
    setter: fn(PoolBuilder, T) -> PoolBuilder,
) -> PoolBuilder {
    match value {
        Some(v) => setter(builder, v),
        None => builder,
    }
}

/// The `ready` line scripts wait for.
pub(crate) fn print_ready(pool: &Pool, net: &NetArgs) {
    let listen = pool
        .local_addr()
        .map_or_else(|| net.listen.clone(), |a| a.to_string());
    let tls = if net.tls.tls_key.is_none() {
        "off"
    } else if net.tls.peer_certs.is_empty() {
        "mutual"
    } else {
        "mutual-pinned"
    };
    println!(
        "ready name={} listen={listen} peers={} tls={tls}",
        pool.name(),
        pool.peers().join(",")
    );
    let _ = std::io::stdout().flush();
}

/// An error with its chain of sources, `a: b: c`.
pub(crate) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let text = src.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = src.source();
    }
    s
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere).
pub(crate) struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (from now on these signals no longer kill the
    /// process).
    pub(crate) fn new() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
                term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next signal and names it.
    pub(crate) async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                Some(()) = self.int.recv() => "SIGINT",
                Some(()) = self.term.recv() => "SIGTERM",
                else => std::future::pending().await,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
