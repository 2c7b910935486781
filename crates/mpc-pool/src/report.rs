//! The ledger of the whole pool: every party's, asked from the Rust peers
//! at the end of a run ([`Pool::pool_ledger`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ledger::Ledger;
use crate::phases::{PhaseLedger, Traffic};
use crate::pool::Pool;

/// The ledgers of all parties that could report, and their totals (what
/// MP-SPDZ calls "global data sent"): [`Pool::pool_ledger`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PoolLedger {
    /// Each party's ledger: this party's first, then its peers' that
    /// reported, in configuration order.
    pub parties: Vec<Ledger>,
    /// Peers that could not report (Python parties, peers gone or
    /// unreachable), by name.
    pub missing: Vec<String>,
    /// What the reporting parties sent (and received), added up.
    pub total: Traffic,
    /// The highest round of any reporting party.
    pub rounds: u64,
    /// Per phase, by path in the order first seen: traffic added up over
    /// the parties; rounds and wall time the highest of any party.
    pub phases: Vec<PhaseLedger>,
}

impl PoolLedger {
    /// Adds up `parties`' ledgers; `missing` names those that did not report.
    pub fn new(parties: Vec<Ledger>, missing: Vec<String>) -> PoolLedger {
        let mut total = Traffic::default();
        let mut rounds = 0;
        let mut phases: Vec<PhaseLedger> = Vec::new();
        for l in &parties {
            total = total.plus(&l.total);
            rounds = rounds.max(l.rounds);
            for p in &l.phases {
                match phases.iter_mut().find(|q| q.phase == p.phase) {
                    Some(q) => {
                        q.traffic = q.traffic.plus(&p.traffic);
                        q.rounds = q.rounds.max(p.rounds);
                        q.wall_seconds = q.wall_seconds.max(p.wall_seconds);
                        q.activations += p.activations;
                    }
                    None => phases.push(p.clone()),
                }
            }
        }
        PoolLedger {
            parties,
            missing,
            total,
            rounds,
            phases,
        }
    }

    /// The totals of phase `path`, if any party entered it.
    pub fn phase(&self, path: &str) -> Option<&PhaseLedger> {
        self.phases.iter().find(|p| p.phase == path)
    }
}

impl fmt::Display for PoolLedger {
    /// A line per phase and the totals, over the parties that reported.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.parties.iter().map(|l| l.party.as_str()).collect();
        writeln!(
            f,
            "all parties ({}): {} rounds",
            names.join(", "),
            self.rounds
        )?;
        let line = |f: &mut fmt::Formatter<'_>, name: &str, t: &Traffic, extra: String| {
            let text = format!(
                "  {name:<20} {:>9} messages {:>12} bytes {:>12} wire bytes sent {extra}",
                t.messages_sent, t.bytes_sent, t.wire_bytes_sent
            );
            writeln!(f, "{}", text.trim_end())
        };
        for p in &self.phases {
            line(f, &p.phase, &p.traffic, format!("{:>6} rounds", p.rounds))?;
        }
        line(f, "total", &self.total, String::new())?;
        if !self.missing.is_empty() {
            writeln!(f, "  not reported: {}", self.missing.join(", "))?;
        }
        Ok(())
    }
}

impl Pool {
    /// Asks every peer known to run this crate for its ledger and adds
    /// them up with this party's: the traffic of the whole pool, per phase.
    /// Call it at the end of a run, while the peers are still up (before
    /// [`Pool::shutdown`]). Peers that cannot report — Python parties,
    /// which are never asked (over HTTP a peer counts as a Rust party once
    /// it sent a delivery token or answered with the pool header), and
    /// peers gone or unreachable — are named in [`PoolLedger::missing`].
    pub async fn pool_ledger(&self) -> PoolLedger {
        let me = self.ledger();
        let asks = self.peers().into_iter().map(|peer| {
            let transport = self.inner.transport.clone();
            let limits = self.inner.shared.decode_limits;
            async move {
                let got = transport.ask_report_boxed(&peer).await;
                let ledger = match got {
                    Ok(Some(bytes)) => mpc_serial::decode_with::<Ledger>(&bytes, &limits)
                        .map_err(|e| {
                            tracing::warn!(peer = %peer, error = %e, "peer's ledger does not decode");
                        })
                        .ok(),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::debug!(peer = %peer, error = %e, "peer did not report its ledger");
                        None
                    }
                };
                (peer, ledger)
            }
        });
        let answers: Vec<(String, Option<Ledger>)> = futures_join(asks).await;
        let mut parties = vec![me];
        let mut missing = Vec::new();
        for (peer, l) in answers {
            match l {
                Some(l) => parties.push(l),
                None => missing.push(peer),
            }
        }
        PoolLedger::new(parties, missing)
    }
}

/// Runs the futures concurrently, results in their order.
async fn futures_join<F: std::future::Future + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}
