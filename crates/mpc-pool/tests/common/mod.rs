//! Set-up shared by the pool's test suites over HTTP.
#![allow(dead_code)]

use std::time::Duration;

use mpc_pool::{Pool, PoolBuilder};
use mpc_test_support::listeners;

/// One pool per name on 127.0.0.1 (OS-assigned ports), all knowing each
/// other, with a 5 s retry window and a 20 s receive timeout;
/// `adjust(i, builder)` adds settings of party `i`.
pub(crate) async fn http_pools(
    names: &[&str],
    adjust: impl Fn(usize, PoolBuilder) -> PoolBuilder,
) -> Vec<Pool> {
    let ls = listeners(names.len());
    let addrs: Vec<String> = ls.iter().map(|(_, a)| a.clone()).collect();
    let mut pools = Vec::new();
    for (i, (l, _)) in ls.into_iter().enumerate() {
        let mut b = Pool::builder(names[i])
            .listener(l)
            .retry_window(Duration::from_secs(5))
            .timeout(Some(Duration::from_secs(20)));
        for (j, p) in names.iter().enumerate() {
            if i != j {
                b = b.peer_at(*p, addrs[j].clone());
            }
        }
        pools.push(adjust(i, b).start().await.unwrap());
    }
    pools
}
