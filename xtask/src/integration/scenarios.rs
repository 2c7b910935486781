//! The scenarios of `cargo xtask integration`, and what they share:
//! starting `mpc echo`, `mpc bench`, `mpc-interop-party` and the Python
//! party on their hosts, and reading what they report.

use std::fmt::Display;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mpc_measure::Record;

use super::party::{fields, number, Party};
use super::{shaping, Ctx, Scenario};

/// Waiting for a party's `ready` line.
const READY: Duration = Duration::from_secs(20);
/// Waiting for a scenario's parties to finish.
const FINISH: Duration = Duration::from_secs(120);

pub(crate) fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "echo-bench-3p-plain",
            run: |c, n| echo_bench_3p(c, n, false),
        },
        Scenario {
            name: "echo-bench-3p-tls",
            run: |c, n| echo_bench_3p(c, n, true),
        },
        Scenario {
            name: "secure-sum-3p-plain",
            run: |c, n| secure_sum_3p(c, n, false),
        },
        Scenario {
            name: "secure-sum-3p-tls",
            run: |c, n| secure_sum_3p(c, n, true),
        },
        Scenario {
            name: "python-joins-rust-pool-plain",
            run: |c, n| python_joins(c, n, false),
        },
        Scenario {
            name: "python-joins-rust-pool-tls",
            run: |c, n| python_joins(c, n, true),
        },
        Scenario {
            name: "peer-host-up-late",
            run: late_peer_host,
        },
        Scenario {
            name: "link-down-mid-run",
            run: link_down_mid_run,
        },
        Scenario {
            name: "wrong-host-refused",
            run: wrong_host_refused,
        },
        Scenario {
            name: "tbf-vs-emulation-bandwidth",
            run: shaping::bandwidth,
        },
        Scenario {
            name: "netem-vs-emulation-latency",
            run: shaping::latency,
        },
    ]
}

/// The checks of a scenario: every failed one is reported.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    fails: Vec<String>,
}

impl Checks {
    pub(crate) fn check(&mut self, ok: bool, what: impl Display) {
        if !ok {
            self.fails.push(what.to_string());
        }
    }

    pub(crate) fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.fails.push(format!("{what}: {got:?}, want {want:?}"));
        }
    }

    /// A result of its own (a party that failed): recorded, not fatal.
    pub(crate) fn ok(&mut self, r: Result<()>) {
        if let Err(e) = r {
            self.fails.push(format!("{e:#}"));
        }
    }

    /// `detail` if every check passed.
    pub(crate) fn done(self, detail: String) -> Result<String> {
        if self.fails.is_empty() {
            Ok(detail)
        } else {
            bail!("{}", self.fails.join("; "))
        }
    }
}

/// The port each party listens on, on its own host.
pub(crate) fn port(name: &str) -> u16 {
    match name {
        "alice" => 8001,
        "bob" => 8002,
        "carol" => 8003,
        _ => 8004,
    }
}

/// `IP:PORT` of party `name` on its host.
pub(crate) fn addr(ctx: &Ctx, name: &str) -> String {
    format!("{}:{}", ctx.net.host(name).ip, port(name))
}

/// The mutual-TLS options of `name` (`pin`: also pin each peer's
/// certificate).
fn tls_args(ctx: &Ctx, name: &str, pin: &[&str]) -> Vec<String> {
    let f = |n: &str, ext: &str| ctx.certs.join(format!("{n}.{ext}")).display().to_string();
    let mut a = vec![
        "--tls-key".into(),
        f(name, "key"),
        "--tls-cert".into(),
        f(name, "crt"),
        "--tls-ca".into(),
        ctx.certs.join("ca.crt").display().to_string(),
    ];
    for p in pin {
        a.push("--peer-cert".into());
        a.push(format!("{p}={}", f(p, "crt")));
    }
    a
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

/// `mpc echo` as `name` on its host, with `peers`; waits until it is ready.
pub(crate) fn start_echo(
    ctx: &Ctx,
    scenario: &str,
    name: &str,
    peers: &[&str],
    tls: bool,
    extra: &[&str],
) -> Result<Party> {
    let mut args = strings(&["echo", "--name", name, "--listen", &addr(ctx, name)]);
    for p in peers {
        args.push("--peer".into());
        args.push(format!("{p}={}", addr(ctx, p)));
    }
    if tls {
        args.extend(tls_args(ctx, name, &[]));
    }
    args.extend(strings(extra));
    let mut p = Party::spawn(
        ctx.net.host(name),
        name,
        &ctx.mpc,
        &args,
        &ctx.log(scenario, name),
    )?;
    p.wait_ready(READY)?;
    // the party says whether it runs with TLS: it must be what was asked
    let ready = p.line("ready ").unwrap_or_default();
    let mode = fields(&ready).get("tls").map(|m| m.to_string());
    if mode.as_deref().map(|m| m.starts_with("mutual")) != Some(tls) {
        bail!("{name} started with tls={mode:?} ({ready:?})");
    }
    Ok(p)
}

/// `mpc bench` as `name` on its host against the echo party `peer`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start_bench(
    ctx: &Ctx,
    scenario: &str,
    name: &str,
    peer: &str,
    tls: bool,
    size: &str,
    count: u64,
    inflight: u64,
    extra: &[&str],
) -> Result<Party> {
    let mut args = strings(&["bench", "--name", name, "--listen", &addr(ctx, name)]);
    args.extend([
        "--peer".into(),
        format!("{peer}={}", addr(ctx, peer)),
        "--size".into(),
        size.into(),
        "--count".into(),
        count.to_string(),
        "--inflight".into(),
        inflight.to_string(),
    ]);
    if tls {
        args.extend(tls_args(ctx, name, &[]));
    }
    args.extend(strings(extra));
    Party::spawn(
        ctx.net.host(name),
        name,
        &ctx.mpc,
        &args,
        &ctx.log(scenario, name),
    )
}

/// The record a finished `mpc bench` printed.
pub(crate) fn record(bench: &Party) -> Result<Record> {
    let line = bench.line("{").with_context(|| {
        format!(
            "{} printed no record; log {}",
            bench.name,
            bench.log.display()
        )
    })?;
    Record::parse(&line).with_context(|| format!("{}'s record", bench.name))
}

/// Checks a finished bench: `count` echoes, each message sent and its echo
/// received exactly once (the pool's ledger).
pub(crate) fn check_bench(ck: &mut Checks, bench: &mut Party, count: u64) -> Option<Record> {
    if let Err(e) = bench.succeed(FINISH) {
        ck.ok(Err(e));
        return None;
    }
    match record(bench) {
        Ok(r) => {
            ck.eq(&format!("{} echoes", bench.name), r.count, count);
            match &r.ledger {
                Some(l) => {
                    ck.eq(
                        &format!("{} messages sent (ledger)", bench.name),
                        l.messages_sent,
                        count,
                    );
                    ck.eq(
                        &format!("{} messages received (ledger)", bench.name),
                        l.messages_received,
                        count,
                    );
                }
                None => ck.check(false, format!("{}'s record has no ledger", bench.name)),
            }
            Some(r)
        }
        Err(e) => {
            ck.ok(Err(e));
            None
        }
    }
}

/// Checks a finished `mpc echo --count`: it received exactly `n`
/// messages from each `(peer, n)` of `peers`, echoed all of them, and
/// nothing was lost, skipped or left unread (a message delivered twice
/// would be left unread: the echo receives each id once).
pub(crate) fn check_echo(ck: &mut Checks, echo: &mut Party, peers: &[(&str, u64)]) {
    check_echo_unread(ck, echo, peers, 0);
}

/// [`check_echo`], with `unread` messages left unread on purpose.
fn check_echo_unread(ck: &mut Checks, echo: &mut Party, peers: &[(&str, u64)], unread: u64) {
    ck.ok(echo.succeed(FINISH));
    let Some(stop) = echo.line("stopped ") else {
        ck.check(false, format!("{} printed no summary", echo.name));
        return;
    };
    let total: u64 = peers.iter().map(|(_, n)| n).sum();
    for (key, want) in [
        ("received", total),
        ("echoed", total),
        ("failed", 0),
        ("skipped", 0),
        ("unfinished", 0),
        ("unread", unread),
    ] {
        ck.eq(
            &format!("{} {key}", echo.name),
            number(&stop, key),
            Some(want),
        );
    }
    for (p, n) in peers {
        let line = echo.line(&format!("peer name={p} "));
        ck.eq(
            &format!("{} received from {p}", echo.name),
            line.and_then(|l| number(&l, "received")),
            Some(*n),
        );
    }
}

/// Three Rust parties on three hosts: carol echoes, alice and bob run
/// `mpc bench` against it at the same time.
fn echo_bench_3p(ctx: &Ctx, scenario: &str, tls: bool) -> Result<String> {
    const N: u64 = 40;
    let mut echo = start_echo(
        ctx,
        scenario,
        "carol",
        &["alice", "bob"],
        tls,
        &["--count", &(2 * N).to_string()],
    )?;
    let mut benches = Vec::new();
    for name in ["alice", "bob"] {
        benches.push(start_bench(
            ctx,
            scenario,
            name,
            "carol",
            tls,
            "256Ki",
            N,
            4,
            &[],
        )?);
    }
    let mut ck = Checks::default();
    let mut rates = Vec::new();
    for b in &mut benches {
        if let Some(r) = check_bench(&mut ck, b, N) {
            rates.push(format!("{} {:.1} MB/s", b.name, r.mb_per_s));
        }
    }
    check_echo(&mut ck, &mut echo, &[("alice", N), ("bob", N)]);
    ck.done(format!(
        "alice and bob each sent {N} x 256 KiB to carol{}: {}; all {} echoed once, none lost",
        if tls { " over mutual TLS" } else { "" },
        rates.join(", "),
        2 * N
    ))
}

/// The three-party secure sum of the interop suite (`mpc-interop-party
/// sum`), one party per host.
fn secure_sum_3p(ctx: &Ctx, scenario: &str, tls: bool) -> Result<String> {
    let names = ["alice", "bob", "carol"];
    let inputs: [u128; 3] = [(1 << 100) + 12345, 67890, (1 << 126) + 424_242];
    let expected: u128 = inputs.iter().sum::<u128>() % ((1u128 << 127) - 1);
    let mut parties = Vec::new();
    for (name, input) in names.iter().zip(inputs) {
        let others: Vec<&str> = names.iter().copied().filter(|n| n != name).collect();
        let mut args = strings(&["sum", "--name", name, "--listen", &addr(ctx, name)]);
        for o in &others {
            args.push("--peer".into());
            args.push(format!("{o}={}", addr(ctx, o)));
        }
        args.extend([
            "--input".into(),
            input.to_string(),
            "--expected".into(),
            expected.to_string(),
            "--send-done".into(),
            "--deadline".into(),
            "60".into(),
        ]);
        if tls {
            args.extend(tls_args(ctx, name, &others));
        }
        let mut p = Party::spawn(
            ctx.net.host(name),
            name,
            &ctx.party,
            &args,
            &ctx.log(scenario, name),
        )?;
        p.wait_ready(READY)?;
        parties.push(p);
    }
    let mut ck = Checks::default();
    for p in &mut parties {
        ck.ok(p.succeed(FINISH));
        ck.check(
            p.lines().contains(&format!("sum={expected}")),
            format!("{} did not compute sum={expected}", p.name),
        );
    }
    ck.done(format!(
        "alice, bob and carol computed the sum mod 2^127-1{}",
        if tls {
            " over mutual TLS (peers pinned)"
        } else {
            ""
        }
    ))
}

/// A Python party (the interop venv) on a host of its own joins a pool of
/// two Rust parties (`mpc echo` on bob and carol): it sends each of them
/// the interop value table and 1 MiB of bytes and checks every echo.
fn python_joins(ctx: &Ctx, scenario: &str, tls: bool) -> Result<String> {
    let script = ctx.root.join("interop/integration_party.py");
    let out = Command::new(&ctx.python)
        .arg(&script)
        .arg("--count")
        .output()
        .context("asking the Python party how many values it sends")?;
    let k: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| {
            format!(
                "the Python party says how many values it sends: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    let mut echoes = Vec::new();
    for name in ["bob", "carol"] {
        echoes.push(start_echo(
            ctx,
            scenario,
            name,
            &["py"],
            tls,
            &["--count", &k.to_string()],
        )?);
    }
    let mut args = vec![
        script.display().to_string(),
        "--name".into(),
        "py".into(),
        "--listen".into(),
        addr(ctx, "py"),
    ];
    for p in ["bob", "carol"] {
        args.push("--peer".into());
        args.push(format!("{p}={}", addr(ctx, p)));
    }
    if tls {
        args.push("--certs".into());
        args.push(ctx.certs.display().to_string());
    }
    let mut py = Party::spawn(
        ctx.net.host("py"),
        "py",
        &ctx.python,
        &args,
        &ctx.log(scenario, "py"),
    )?;
    let mut ck = Checks::default();
    ck.ok(py.succeed(FINISH));
    match py.line("RESULT ") {
        Some(r) => {
            ck.eq("py sent", number(&r, "sent"), Some(2 * k));
            ck.eq("py got back equal", number(&r, "echoed"), Some(2 * k));
        }
        None => ck.check(
            false,
            format!("py printed no result; log {}", py.log.display()),
        ),
    }
    for e in &mut echoes {
        check_echo(&mut ck, e, &[("py", k)]);
    }
    ck.done(format!(
        "py (tno.mpc.communication 5.0.4) sent {k} values each to bob and carol{}; \
         all came back equal, each received once",
        if tls { " over mutual TLS" } else { "" }
    ))
}

/// alice starts sending while bob's host is still down (its link down, no
/// party running); bob comes up 3 s later. Every message arrives once.
fn late_peer_host(ctx: &Ctx, scenario: &str) -> Result<String> {
    const N: u64 = 20;
    const LATE: Duration = Duration::from_secs(3);
    let bob = ctx.net.host("bob");
    ctx.net.set_link(bob, false)?;
    let result = (|| {
        let mut bench = start_bench(ctx, scenario, "alice", "bob", false, "64Ki", N, 2, &[])?;
        std::thread::sleep(LATE);
        let mut ck = Checks::default();
        ck.check(
            bench.running(),
            format!(
                "alice gave up before bob came up; log {}",
                bench.log.display()
            ),
        );
        ctx.net.set_link(bob, true)?;
        let mut echo = start_echo(
            ctx,
            scenario,
            "bob",
            &["alice"],
            false,
            &["--count", &N.to_string()],
        )?;
        let r = check_bench(&mut ck, &mut bench, N);
        check_echo(&mut ck, &mut echo, &[("alice", N)]);
        ck.done(format!(
            "bob came up {:.0} s after alice began; {N} of {N} echoed once in {:.1} s",
            LATE.as_secs_f64(),
            r.map_or(0.0, |r| r.seconds)
        ))
    })();
    // whatever happened, bob's link is up again for the next scenario
    ctx.net.set_link(bob, true)?;
    result
}

/// bob's link goes down for 3 s while alice's messages and bob's echoes
/// are under way, then comes back: every message arrives once, every echo
/// too. The link is shaped to 40 Mbit/s each way (tbf), so that the run
/// takes about 3 s without the outage on any machine, and the outage
/// starts 0.8 s into it.
fn link_down_mid_run(ctx: &Ctx, scenario: &str) -> Result<String> {
    const N: u64 = 200;
    const DOWN: Duration = Duration::from_secs(3);
    let stall = ["--stall-timeout", "2"];
    let bob = ctx.net.host("bob");
    let tbf = ["tbf", "rate", "40mbit", "burst", "64kb", "latency", "100ms"];
    shaping::shaped(bob, &tbf, || {
        let mut echo = start_echo(
            ctx,
            scenario,
            "bob",
            &["alice"],
            false,
            &["--count", &N.to_string(), stall[0], stall[1]],
        )?;
        let mut bench = start_bench(ctx, scenario, "alice", "bob", false, "64Ki", N, 4, &stall)?;
        let result = (|| {
            std::thread::sleep(Duration::from_millis(800));
            if !bench.running() {
                bail!("alice's run ended before the link went down (make it longer)");
            }
            let down = Instant::now();
            ctx.net.set_link(bob, false)?;
            std::thread::sleep(DOWN);
            let was_running = bench.running();
            ctx.net.set_link(bob, true)?;
            let down_for = down.elapsed();
            let mut ck = Checks::default();
            ck.check(
                was_running,
                "alice's run ended while the link was down (make it longer)",
            );
            let r = check_bench(&mut ck, &mut bench, N);
            check_echo(&mut ck, &mut echo, &[("alice", N)]);
            // what the outage cost, from the parties' ledgers (alice's is in
            // its log, bob's on its standard output)
            let alice_log = std::fs::read_to_string(&bench.log).unwrap_or_default();
            let alice = ledger_row(&alice_log, "bob");
            let bob = ledger_row(&echo.lines().join("\n"), "alice");
            let retries = |row: &Option<LedgerRow>| row.as_ref().map_or(0, |r| r.retries);
            let dups = |row: &Option<LedgerRow>| row.as_ref().map_or(0, |r| r.duplicates);
            ck.check(
                retries(&alice) + retries(&bob) > 0,
                "no retries in the ledgers: the outage went unnoticed",
            );
            ck.done(format!(
                "bob's link (40 Mbit/s) down for {:.1} s mid-run; {N} x 64 KiB each arrived once \
                 and came back once ({:.1} s in all; retries alice {} bob {}, repeats \
                 acknowledged without delivery alice {} bob {})",
                down_for.as_secs_f64(),
                r.map_or(0.0, |r| r.seconds),
                retries(&alice),
                retries(&bob),
                dups(&alice),
                dups(&bob),
            ))
        })();
        ctx.net.set_link(bob, true)?;
        result
    })
}

/// A peer's row of a ledger table (`Ledger`'s `Display`): its retries and
/// the repeats it sent that were acknowledged without being delivered
/// again.
#[derive(Debug)]
struct LedgerRow {
    retries: u64,
    duplicates: u64,
}

/// The row of `peer` in the ledger table in `text` (columns: peer, msgs
/// out, bytes out, wire out, msgs in, bytes in, wire in, retries,
/// refusals, duplicates).
fn ledger_row(text: &str, peer: &str) -> Option<LedgerRow> {
    text.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.len() == 10 && cols[0] == peer).then(|| LedgerRow {
            retries: cols[7].parse().unwrap_or(0),
            duplicates: cols[9].parse().unwrap_or(0),
        })
    })
}

/// Without TLS a sender is identified by its address and the port in its
/// cookie: a request from carol's host with alice's cookie is refused
/// (401), while the same request from alice's host is accepted (200), and
/// so are alice's own messages.
fn wrong_host_refused(ctx: &Ctx, scenario: &str) -> Result<String> {
    let mut echo = start_echo(
        ctx,
        scenario,
        "bob",
        &["alice", "carol"],
        false,
        &["--count", "1"],
    )?;
    let forged = raw_post(ctx, "carol", "bob", port("alice"))?;
    let mut ck = Checks::default();
    ck.check(
        forged.starts_with("HTTP/1.1 401"),
        format!("a request from carol's host with alice's cookie got {forged:?}, want 401"),
    );
    // the control: the same bytes from alice's host (the message, id "x",
    // is filed and stays unread: the echo party reads ids 0, 1, ...)
    let control = raw_post(ctx, "alice", "bob", port("alice"))?;
    ck.check(
        control.starts_with("HTTP/1.1 200"),
        format!("the same request from alice's host got {control:?}, want 200"),
    );
    let mut bench = start_bench(ctx, scenario, "alice", "bob", false, "1k", 1, 1, &[])?;
    check_bench(&mut ck, &mut bench, 1);
    // delivered: alice's message and the control; nothing from carol's host
    check_echo_unread(&mut ck, &mut echo, &[("alice", 1), ("carol", 0)], 1);
    let log = std::fs::read_to_string(&echo.log).unwrap_or_default();
    ck.check(
        log.contains("request from an unknown sender refused"),
        format!("bob logged no refusal; log {}", echo.log.display()),
    );
    ck.done(format!(
        "from carol's host ({}) with cookie server_port={}: {forged:?}; the same from \
         alice's host ({}): {control:?}; alice's own message delivered",
        ctx.net.host("carol").ip,
        port("alice"),
        ctx.net.host("alice").ip,
    ))
}

/// One POST of a well-formed packet from `from`'s host to party `to`, with
/// `Cookie: server_port=COOKIE` (bash's /dev/tcp, no other tool); the
/// response's status line.
fn raw_post(ctx: &Ctx, from: &str, to: &str, cookie: u16) -> Result<String> {
    // {"object": <bin: msgpack nil>, "id": "x"}
    let body = r"\x82\xa6object\xc4\x01\xc0\xa2id\xa1x";
    let to_host = ctx.net.host(to);
    let script = format!(
        "exec 3<>/dev/tcp/{ip}/{port} && \
         printf 'POST / HTTP/1.1\\r\\nHost: {ip}:{port}\\r\\nCookie: server_port={cookie}\\r\\n\
Content-Type: application/octet-stream\\r\\nContent-Length: 16\\r\\nConnection: close\\r\\n\\r\\n{body}' >&3 && \
         head -n1 <&3",
        ip = to_host.ip,
        port = port(to),
    );
    let out = Command::new("timeout")
        .args(["10", "ip", "netns", "exec", &ctx.net.host(from).ns])
        .args(["bash", "-c", &script])
        .output()
        .context("sending a request with bash")?;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if line.is_empty() {
        bail!(
            "no response to the request from {from}'s host: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(line)
}
