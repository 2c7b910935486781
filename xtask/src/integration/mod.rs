//! `cargo xtask integration`: parties on hosts of their own, with real
//! addresses and real (kernel-shaped) links.
//!
//! 1. checks it can make test hosts (root, `ip netns`), else exits with 77;
//! 2. removes leftovers of earlier runs that were interrupted;
//! 3. builds `mpc` and `mpc-interop-party`, makes the interop venv
//!    (`crate::venv`) and fresh certificates;
//! 4. makes one network namespace per party on a bridge of its own, on a
//!    /24 it picks (`netns`), and a reaper that removes them if the run is
//!    killed;
//! 5. runs the scenarios (`scenarios`, `shaping`), each prints one
//!    PASS/FAIL line; ends with `N passed, M failed`;
//! 6. tears everything down and checks nothing is left.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::shell::{self, run};
use crate::venv;

mod netns;
mod party;
mod scenarios;
mod shaping;

use netns::Net;

pub(crate) const USAGE: &str = "\
usage: cargo xtask integration [--only NAME]... [--list]

Runs parties on test hosts of their own: one network namespace per party,
joined through a bridge, each on its own address in a /24 the run picks
(inside 10.0.0.0/8, unused by the host). Scenarios: three Rust parties
(mpc echo/bench, secure sum) plain and over mutual TLS, a Python party
(tno.mpc.communication==5.0.4, target/interop-venv) joining a Rust pool, a
peer host that comes up late, a link that goes down mid-run, a request from
the wrong host refused, kernel shaping (tc tbf) against the pool's own
emulation. One PASS/FAIL line per scenario, then `N passed, M failed`.
Logs: target/integration/logs. Everything it makes is named mpcit<pid>...
and removed at the end, also after a failure or an interrupt.

Needs Linux, root, iproute2 (`ip netns`, `tc`). Without them it says so
and exits with status 77 (skipped).

options:
  --only NAME   run only the scenarios whose name contains NAME (repeatable)
  --list        list the scenarios
";

/// Exit status when this machine cannot make test hosts.
pub(crate) const SKIPPED: i32 = 77;

/// What a scenario has at hand.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) net: Net,
    pub(crate) root: PathBuf,
    pub(crate) mpc: PathBuf,
    pub(crate) party: PathBuf,
    pub(crate) python: PathBuf,
    pub(crate) certs: PathBuf,
    pub(crate) logs: PathBuf,
}

impl Ctx {
    /// The log file of `party` in `scenario`.
    pub(crate) fn log(&self, scenario: &str, party: &str) -> PathBuf {
        self.logs.join(format!("{scenario}.{party}.log"))
    }
}

/// A scenario: its name, and the run that returns the PASS detail or the
/// reason it failed.
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) run: fn(&Ctx, &str) -> Result<String>,
}

/// The test hosts every scenario can use.
pub(crate) const HOSTS: [&str; 4] = ["alice", "bob", "carol", "py"];

pub(crate) fn main(args: impl IntoIterator<Item = String>) -> Result<()> {
    let mut only = Vec::new();
    let mut list = false;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--only" => only.push(it.next().context("--only needs a NAME")?),
            "--list" => list = true,
            "--reap" => {
                // the reaper of a run (netns::spawn_reaper), not for people
                let pid = it.next().context("--reap needs a pid")?.parse()?;
                netns::reap(pid);
                return Ok(());
            }
            other => bail!("unknown option {other:?}\n\n{USAGE}"),
        }
    }
    let all = scenarios::all();
    if list {
        for s in &all {
            println!("{}", s.name);
        }
        return Ok(());
    }
    let chosen: Vec<&Scenario> = all
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| s.name.contains(o.as_str())))
        .collect();
    if chosen.is_empty() {
        bail!("no scenario matches {only:?} (see --list)");
    }
    if let Some(why) = netns::missing_prerequisite() {
        skip(&why);
    }
    for what in netns::remove(None) {
        eprintln!("integration: removed {what}, left by an earlier run that was interrupted");
    }

    let started = Instant::now();
    let root = shell::root();
    let target = shell::target_dir(&root);
    let python = venv::interop_python(&root, &target)?;
    let bin = shell::build_parties(&root, &target)?;
    let work = target.join("integration");
    let certs = work.join("certs");
    run(
        Command::new(bin("mpc"))
            .args(["certs", "--parties", &HOSTS.join(","), "--days", "30"])
            .args(["--force", "--out"])
            .arg(&certs)
            .stdout(std::process::Stdio::null()),
        "making the test certificates",
    )?;
    let logs = work.join("logs");
    if logs.exists() {
        std::fs::remove_dir_all(&logs).with_context(|| format!("clearing {}", logs.display()))?;
    }
    std::fs::create_dir_all(&logs)?;

    let net = match Net::create(&HOSTS) {
        Ok(net) => net,
        Err(e) => skip(&format!("making the test hosts failed: {e:#}")),
    };
    println!(
        "integration: test hosts {} on {} (bridge {}, namespaces {}-*)",
        net.hosts
            .iter()
            .map(|h| format!("{}={}", h.name, h.ip))
            .collect::<Vec<_>>()
            .join(" "),
        net.range(),
        net.bridge,
        net.tag
    );
    let mut ctx = Ctx {
        net,
        root,
        mpc: bin("mpc"),
        party: bin("mpc-interop-party"),
        python,
        certs,
        logs,
    };

    let (mut passed, mut failed, mut skipped) = (0, 0, Vec::new());
    for s in chosen {
        let t = Instant::now();
        match (s.run)(&ctx, s.name) {
            Ok(detail) if detail.starts_with("skipped: ") => {
                skipped.push(s.name);
                println!("SKIP {}: {}", s.name, &detail["skipped: ".len()..]);
            }
            Ok(detail) => {
                passed += 1;
                println!(
                    "PASS {}: {detail} ({:.1} s)",
                    s.name,
                    t.elapsed().as_secs_f64()
                );
            }
            Err(e) => {
                failed += 1;
                println!(
                    "FAIL {}: {e:#} ({:.1} s)",
                    s.name,
                    t.elapsed().as_secs_f64()
                );
            }
        }
    }

    ctx.net.teardown();
    let left = netns::leftovers(std::process::id());
    if !left.is_empty() {
        failed += 1;
        println!("FAIL teardown: left behind: {}", left.join(", "));
    }
    if !skipped.is_empty() {
        println!(
            "skipped (this machine cannot run them): {}",
            skipped.join(", ")
        );
    }
    println!(
        "{passed} passed, {failed} failed ({:.0} s; logs {})",
        started.elapsed().as_secs_f64(),
        ctx.logs.display()
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// Says plainly why the run cannot go on here, and exits with 77.
fn skip(why: &str) -> ! {
    eprintln!(
        "integration: SKIPPED: {why}.\n\
         `cargo xtask integration` makes network namespaces, a bridge and veth links \
         (and shapes them with tc): run it as root on Linux with iproute2 \
         (e.g. `sudo -E cargo xtask integration`). Exit status {SKIPPED}."
    );
    std::process::exit(SKIPPED);
}
