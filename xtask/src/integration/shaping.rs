//! The kernel's link shaping against the pool's own emulation
//! (`mpc --net`, crate `mpc-netem`): the same bench once over a link the
//! kernel shapes (`tc`) and once over an unshaped link with the same
//! profile emulated by both parties; the two must agree within 10 %.
//!
//! Bandwidth: `tbf` at 100 Mbit/s on both directions of bob's link, large
//! messages (4 MiB: the HTTP heads do not matter), one at a time.
//! Latency: `netem delay` where the kernel has it; many kernels
//! (containers, minimal builds) do not, and the scenario then says so
//! instead of passing.

use anyhow::{Context, Result};

use super::netns::{tc, Host};
use super::scenarios::{check_bench, check_echo, start_bench, start_echo, Checks};
use super::Ctx;

/// Largest relative difference between kernel and emulation.
const TOLERANCE: f64 = 0.10;

/// Shapes both directions of `host`'s link with the qdisc `qdisc` (e.g.
/// `tbf rate 100mbit ...`), runs `f`, and removes the shaping again
/// whatever happened.
pub(crate) fn shaped<T>(host: &Host, qdisc: &[&str], f: impl FnOnce() -> Result<T>) -> Result<T> {
    let inner: Vec<&str> = ["-n", &host.ns, "qdisc", "add", "dev", "eth0", "root"]
        .into_iter()
        .chain(qdisc.iter().copied())
        .collect();
    let outer: Vec<&str> = ["qdisc", "add", "dev", &host.outer, "root"]
        .into_iter()
        .chain(qdisc.iter().copied())
        .collect();
    let result = tc(&inner).and_then(|()| tc(&outer)).and_then(|()| f());
    // deleting needs no parameters; a qdisc that was never added is no error
    let _ = tc(&["-n", &host.ns, "qdisc", "del", "dev", "eth0", "root"]);
    let _ = tc(&["qdisc", "del", "dev", &host.outer, "root"]);
    result
}

/// One bench run alice -> bob (echo), each with `extra` options.
fn bench_run(
    ctx: &Ctx,
    scenario: &str,
    tag: &str,
    size: &str,
    count: u64,
    inflight: u64,
    extra: &[&str],
) -> Result<mpc_measure::Record> {
    let name = format!("{scenario}-{tag}");
    let mut echo_extra = vec!["--count".to_owned(), count.to_string()];
    echo_extra.extend(extra.iter().map(|s| (*s).to_owned()));
    let echo_extra: Vec<&str> = echo_extra.iter().map(String::as_str).collect();
    let mut echo = start_echo(ctx, &name, "bob", &["alice"], false, &echo_extra)?;
    let mut bench = start_bench(
        ctx, &name, "alice", "bob", false, size, count, inflight, extra,
    )?;
    let mut ck = Checks::default();
    let r = check_bench(&mut ck, &mut bench, count);
    check_echo(&mut ck, &mut echo, &[("alice", count)]);
    ck.done(String::new())
        .with_context(|| format!("the {tag} run"))?;
    r.context("no record")
}

fn differ(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.max(b)
}

/// tbf at 100 Mbit/s against `--net 0ms,100Mbit`: 4 MiB messages, one
/// under way at a time, so that the time is the transmission time of each
/// message in each direction (with several under way the two differ on
/// purpose: the emulation sends a link's messages one after the other,
/// while TCP connections share the link, which delays the first ones).
pub(crate) fn bandwidth(ctx: &Ctx, scenario: &str) -> Result<String> {
    const SIZE: &str = "4Mi";
    const COUNT: u64 = 8;
    let bob = ctx.net.host("bob");
    // burst: 64 KiB, the largest segment the veth hands over at once;
    // latency bounds the queue the kernel keeps (no drops in these runs)
    let tbf = [
        "tbf", "rate", "100mbit", "burst", "64kb", "latency", "100ms",
    ];
    let kernel = shaped(bob, &tbf, || {
        bench_run(ctx, scenario, "tbf", SIZE, COUNT, 1, &[])
    })?;
    let emulated = bench_run(
        ctx,
        scenario,
        "emulated",
        SIZE,
        COUNT,
        1,
        &["--net", "0ms,100Mbit"],
    )?;
    let d = differ(kernel.mb_per_s, emulated.mb_per_s);
    let figures = format!(
        "{COUNT} x 4 MiB there and back, one at a time, at 100 Mbit/s each way: kernel tbf {:.2} MB/s ({:.2} s), \
         pool emulation {:.2} MB/s ({:.2} s); differ by {:.1} %",
        kernel.mb_per_s,
        kernel.seconds,
        emulated.mb_per_s,
        emulated.seconds,
        d * 100.0
    );
    if d > TOLERANCE {
        anyhow::bail!("{figures}, more than {:.0} %", TOLERANCE * 100.0);
    }
    Ok(figures)
}

/// Whether the kernel has the `netem` qdisc; `Err(why not)` if not.
fn netem_available(host: &Host) -> Result<(), String> {
    match tc(&[
        "-n", &host.ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
    ]) {
        Ok(()) => {
            let _ = tc(&["-n", &host.ns, "qdisc", "del", "dev", "lo", "root"]);
            Ok(())
        }
        Err(e) => Err(format!("{e:#}")),
    }
}

/// netem delay 10 ms each way against `--net 10ms`, if the kernel has
/// netem; otherwise skipped, saying so.
pub(crate) fn latency(ctx: &Ctx, scenario: &str) -> Result<String> {
    let bob = ctx.net.host("bob");
    if let Err(why) = netem_available(bob) {
        let why = why.lines().last().unwrap_or("").to_owned();
        return Ok(format!(
            "skipped: the kernel has no netem qdisc ({why}); latency of the emulation not \
             compared with the kernel's"
        ));
    }
    // the first round trip also opens the connection (a few round trips
    // more under netem, none under the emulation): 100 make that 2-3 %
    const COUNT: u64 = 100;
    let kernel = shaped(bob, &["netem", "delay", "10ms"], || {
        bench_run(ctx, scenario, "netem", "1k", COUNT, 1, &[])
    })?;
    let emulated = bench_run(
        ctx,
        scenario,
        "emulated",
        "1k",
        COUNT,
        1,
        &["--net", "10ms"],
    )?;
    let (k, e) = (kernel.roundtrip_us / 1000.0, emulated.roundtrip_us / 1000.0);
    let d = differ(k, e);
    let figures = format!(
        "{COUNT} x 1 kB round trips, 10 ms each way: kernel netem {k:.2} ms, pool emulation \
         {e:.2} ms; differ by {:.1} %",
        d * 100.0
    );
    if d > TOLERANCE {
        anyhow::bail!("{figures}, more than {:.0} %", TOLERANCE * 100.0);
    }
    Ok(figures)
}
