//! TLS: certificates from an unknown CA, expired or wrongly signed are
//! refused by the handshake, plain and idle connections get nothing; and a
//! party without TLS warns at start-up.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use mpc_http::certs::{self, Bundle, OffsetDateTime};
use mpc_pool::{Pool, TlsConfig};
use mpc_test_support::raw::{self, HANG_GUARD};
use mpc_test_support::{error_chain, listener};

use crate::{limits, packet, run, Pair, CAROL_ADDR, CAROL_PORT};

// -------------------------------------------------- the plain-mode warning

/// The start-up warning of a party without TLS (crates/mpc-http/src/lib.rs,
/// `HttpTransport::start`).
const PLAIN_WARNING: &str = "running without TLS: peers are identified by address and port, which anyone on the network path can forge";

/// While capturing: the parties that logged [`PLAIN_WARNING`].
static WARNED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// A process-wide subscriber that records [`PLAIN_WARNING`]s (and nothing
/// else) while [`CAPTURING`]; the tests run one at a time, so what it
/// records comes from the test that captures.
struct PlainWarnings;

impl tracing::Subscriber for PlainWarnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == tracing::Level::WARN && metadata.target().starts_with("mpc_http")
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String, String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                match field.name() {
                    "message" => self.0 = format!("{value:?}"),
                    "party" => self.1 = format!("{value:?}"),
                    _ => {}
                }
            }
        }
        if CAPTURING.load(Ordering::Acquire) {
            let mut f = Fields(String::new(), String::new());
            event.record(&mut f);
            if f.0.starts_with(PLAIN_WARNING) {
                WARNED.lock().unwrap_or_else(|e| e.into_inner()).push(f.1);
            }
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The parties that logged the plain-mode warning while `start` ran.
fn plain_warnings(start: impl Future<Output = ()>) -> Vec<String> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(PlainWarnings).expect("no other subscriber");
    });
    run(async {
        WARNED.lock().unwrap_or_else(|e| e.into_inner()).clear();
        CAPTURING.store(true, Ordering::Release);
        start.await;
        CAPTURING.store(false, Ordering::Release);
    });
    std::mem::take(&mut *WARNED.lock().unwrap_or_else(|e| e.into_inner()))
}

#[test]
fn a_party_without_tls_warns_at_start_up_and_one_with_tls_does_not() {
    let plain = plain_warnings(async {
        let p = Pair::start(limits(), None).await;
        p.alice.shutdown().await;
        p.bob.shutdown().await;
    });
    assert_eq!(plain, vec!["alice".to_owned(), "bob".to_owned()]);
    let tls = plain_warnings(async {
        let pki = pki(&["alice", "bob"], 2, OffsetDateTime::now_utc());
        let tls = Some((
            pki.tls_config("alice", true).unwrap(),
            pki.tls_config("bob", false).unwrap(),
        ));
        let p = Pair::start(limits(), tls).await;
        p.alice.shutdown().await;
        p.bob.shutdown().await;
    });
    assert_eq!(tls, Vec::<String>::new());
}

// ------------------------------------------------------------------- TLS

fn pki(names: &[&str], days: u32, now: OffsetDateTime) -> Bundle {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    certs::generate(&names, days, now).expect("certificates")
}

/// The Python package's test certificates (X.509 v1, another CA).
fn tno(name: &str) -> &'static [u8] {
    match name {
        "party_0.crt" => include_bytes!("../../../mpc-http/tests/fixtures/tno-certs/party_0.crt"),
        "party_0.pem" => include_bytes!("../../../mpc-http/tests/fixtures/tno-certs/party_0.pem"),
        "ca-combined.crt" => {
            include_bytes!("../../../mpc-http/tests/fixtures/tno-certs/ca-combined.crt")
        }
        _ => unreachable!(),
    }
}

/// A party named `name` with `tls`, whose one peer is bob at `bob`,
/// retrying for `window`.
async fn party(name: &str, bob: SocketAddr, tls: TlsConfig, window: Duration) -> Pool {
    let (l, _) = listener();
    Pool::builder(name)
        .listener(l)
        .peer_at("bob", bob.to_string())
        .tls(tls)
        .retry_window(window)
        .start()
        .await
        .unwrap_or_else(|e| panic!("{name} starts: {e}"))
}

/// A hostile party named `name` that reaches bob at `bob` with `tls`;
/// sends once and returns the error (a refused handshake must fail the send).
async fn hostile_send(name: &str, bob: SocketAddr, tls: TlsConfig) -> String {
    // a refused certificate ends the send at once, without retries; the
    // window only covers attempts whose alert was lost to a connection
    // reset (TLS 1.3: the client may be writing its request when the server
    // refuses it and closes)
    let m = party(name, bob, tls, Duration::from_secs(10)).await;
    let r = tokio::time::timeout(HANG_GUARD, m.send_with_id("bob", "hostile", &"hostile"))
        .await
        .expect("the hostile send ends");
    m.shutdown().await;
    let e = r.expect_err("bob must refuse the certificate");
    assert!(e.is_transport(), "{e}");
    error_chain(&e)
}

#[test]
fn unknown_expired_and_wrongly_signed_client_certificates_are_refused() {
    run(async {
        let now = OffsetDateTime::now_utc();
        let good = pki(&["alice", "bob"], 2, now);
        // valid from 31 to 29 days ago
        let old = pki(&["alice"], 1, now - Duration::from_secs(30 * 86_400));
        // same CA name as `good` (every generated CA is "mpc-pool test CA"),
        // another key
        let other = pki(&["alice"], 2, now);
        let g_bob = good.party("bob").unwrap();

        // bob trusts good's CA and old's CA, knows alice by her CN (so
        // any valid certificate with CN alice from those CAs would do) and
        // pins the Python package's party_0 certificate for peer party_0
        let bundle = format!("{}{}", good.ca.cert_pem, old.ca.cert_pem);
        let bob_tls = |extra_ca: &[u8]| {
            let mut ca = bundle.clone().into_bytes();
            ca.extend_from_slice(extra_ca);
            TlsConfig::from_pem(g_bob.key_pem.as_bytes(), g_bob.cert_pem.as_bytes(), &ca)
                .unwrap()
                .peer_certificate_pem("party_0", tno("party_0.crt"))
                .unwrap()
        };
        let alice_tls = good.tls_config("alice", false).unwrap();
        let mut p = Pair::start_knowing("party_0", limits(), Some((alice_tls, bob_tls(b"")))).await;
        p.still_serving("start").await;
        // each hostile party trusts good's CA, so it accepts bob's server
        // certificate and the refusal is bob's

        // trusting good's CA, with the key and certificate given
        let trusting_good = |key: &str, cert: &str| {
            TlsConfig::from_pem(key.as_bytes(), cert.as_bytes(), good.ca.cert_pem.as_bytes())
                .unwrap()
        };
        // 1. unknown CA: party_0's certificate is pinned by bob, but its
        // issuer (the Python package's intermediate CA) is in no bundle
        let unknown = TlsConfig::from_pem(
            tno("party_0.pem"),
            tno("party_0.crt"),
            good.ca.cert_pem.as_bytes(),
        )
        .unwrap();
        // 2. expired: CN alice, issued by a CA bob trusts, expired 29 days ago
        let o_alice = old.party("alice").unwrap();
        let expired = trusting_good(&o_alice.key_pem, &o_alice.cert_pem);
        // 3. wrongly signed: CN alice, issuer name that of bob's CA, but
        // signed with another key
        let x_alice = other.party("alice").unwrap();
        let forged = trusting_good(&x_alice.key_pem, &x_alice.cert_pem);
        assert!(format!("{forged:?}").contains("CN=alice (mpc-pool test CA:"));
        assert!(format!("{:?}", good.tls_config("alice", false).unwrap())
            .contains("CN=alice (mpc-pool test CA:"));
        for (what, name, tls, alert) in [
            (
                "a certificate from an unknown CA",
                "party_0",
                unknown.clone(),
                "CertificateUnknown",
            ),
            (
                "an expired certificate",
                "alice",
                expired,
                "CertificateExpired",
            ),
            (
                "a wrongly signed certificate",
                "alice",
                forged,
                "CertificateUnknown",
            ),
        ] {
            let e = hostile_send(name, p.bob_addr, tls).await;
            assert!(
                e.contains(&format!("received fatal alert: {alert}")),
                "{what}: {e}"
            );
            p.still_serving(what).await;
        }

        // 4. no TLS at all, and connections that never start a handshake
        let answer = raw::exchange(p.bob_addr, &p.post(&packet("plain", b"\xc0"))).await;
        assert!(answer.responses.is_empty(), "{answer:?}");
        let mut idle =
            raw::idle_clients(p.bob_addr, 100, 100, |_| b"", Duration::from_secs(60)).await;
        p.still_serving("(during) idle TLS connections").await;
        while let Some(r) = idle.join_next().await {
            let c = r.unwrap().expect("connected");
            assert!(c.is_some(), "an idle TLS connection was never closed");
        }
        p.still_serving("idle TLS connections").await;

        // the control for 1: a bob that also trusts the Python package's
        // CAs accepts the very same party_0
        let (lc, _) = listener();
        let bob2 = Pool::builder("bob")
            .listener(lc)
            .peer_at("alice", format!("127.0.0.1:{}", p.alice_port))
            .peer_at("party_0", format!("{CAROL_ADDR}:{CAROL_PORT}"))
            .tls(bob_tls(tno("ca-combined.crt")))
            .start()
            .await
            .unwrap();
        let bob2_addr = bob2.local_addr().unwrap();
        let m = party("party_0", bob2_addr, unknown, Duration::from_secs(5)).await;
        m.send_with_id("bob", "x", &1)
            .await
            .expect("trusted CA: accepted");
        assert_eq!(bob2.recv_with_id::<i32>("party_0", "x").await.unwrap(), 1);
        m.shutdown().await;
        bob2.shutdown().await;
        p.finish().await;
    });
}
