//! Two parties over mutual TLS, with certificates from `cargo xtask certs`.
//!
//! ```text
//! cargo xtask certs --parties alice,bob --out target/example-certs
//! cargo run -p mpc-examples --example tls_pair -- target/example-certs
//! ```
//!
//! Each party loads its own key and certificate, the CA, and pins the other
//! party's certificate; then they exchange a few messages over HTTPS on
//! 127.0.0.1 and print what they received.

mod logging;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use mpc_pool::{BigInt, Pool, TlsConfig};

/// Starts `me` over mutual TLS, listening on `listener`, with its one peer
/// `peer` at `peer_addr`: `me`'s key and certificate, the CA and `peer`'s
/// pinned certificate come from `dir`.
async fn party(
    dir: &Path,
    me: &str,
    listener: TcpListener,
    peer: &str,
    peer_addr: String,
) -> Result<Pool> {
    let f = |n: &str| dir.join(n);
    let tls = TlsConfig::from_pem_files(
        f(&format!("{me}.key")),
        f(&format!("{me}.crt")),
        f("ca.crt"),
    )
    .and_then(|t| t.peer_certificate_file(peer, f(&format!("{peer}.crt"))))
    .with_context(|| format!("loading {me}'s TLS files from {}", dir.display()))?;
    Ok(Pool::builder(me)
        .listener(listener)
        .peer_at(peer, peer_addr)
        .tls(tls)
        .start()
        .await?)
}

#[tokio::main]
async fn main() -> Result<()> {
    logging::init();
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/example-certs"));

    // listen on OS-assigned ports, known before either party starts
    let la = TcpListener::bind("127.0.0.1:0")?;
    let lb = TcpListener::bind("127.0.0.1:0")?;
    let (aa, ba) = (la.local_addr()?.to_string(), lb.local_addr()?.to_string());

    let alice = party(&dir, "alice", la, "bob", ba).await?;
    let bob = party(&dir, "bob", lb, "alice", aa).await?;

    let big: BigInt = "340282366920938463463374607431768211457".parse()?; // 2^128 + 1
    alice.send("bob", "hello over mutual TLS").await?;
    alice.send("bob", &big).await?;
    println!("bob received: {:?}", bob.recv::<String>("alice").await?);
    println!("bob received: {}", bob.recv::<BigInt>("alice").await?);

    bob.send("alice", &(1u8, 2u8, 3u8)).await?;
    println!(
        "alice received: {:?}",
        alice.recv::<(u8, u8, u8)>("bob").await?
    );

    alice.shutdown().await;
    bob.shutdown().await;
    Ok(())
}
