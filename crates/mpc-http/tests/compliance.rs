//! The transport compliance suite over HTTP and over HTTPS (mutual TLS).

mod common;

use std::time::Duration;

use mpc_http::{HttpConfig, HttpTransport};
use mpc_transport::compliance::{run_all, Harness};
use mpc_transport::SharedInbox;

struct HttpHarness {
    tls: bool,
}

impl Harness for HttpHarness {
    type Transport = HttpTransport;

    async fn start(&self, names: &[&str], inboxes: Vec<SharedInbox>) -> Vec<HttpTransport> {
        let pki = self.tls.then(|| common::Pki::new("compliance CA", names));
        let ls = mpc_test_support::listeners(names.len());
        let addrs: Vec<String> = ls.iter().map(|(_, a)| a.clone()).collect();
        let mut out = Vec::new();
        for ((i, name), ((l, _), inbox)) in
            names.iter().enumerate().zip(ls.into_iter().zip(inboxes))
        {
            let mut cfg = HttpConfig::new(*name, "")
                .listener(l)
                .retry_window(Duration::from_secs(3));
            for (j, peer) in names.iter().enumerate() {
                if j != i {
                    cfg = cfg.peer(*peer, addrs[j].clone());
                }
            }
            if let Some(pki) = &pki {
                cfg = cfg.tls(pki.tls_pinned(name));
            }
            out.push(
                HttpTransport::start(cfg, inbox)
                    .await
                    .expect("transport starts"),
            );
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_over_http() {
    run_all(&HttpHarness { tls: false }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_over_https() {
    run_all(&HttpHarness { tls: true }).await;
}
