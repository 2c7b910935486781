//! Memory stays bounded: under a hostile barrage, and while requests
//! declare bodies that have not arrived.
//!
//! The party under attack runs in a child process of its own (this test
//! binary, run again with [`TARGET_ENV`] set, see [`barrage_target`]), so
//! the resident memory measured is the target's alone: not the attacking
//! clients', and not that of any other test of this binary, whatever runs
//! beside it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mpc_test_support::raw::{self, Ending};
use tokio::io::AsyncWriteExt;

use crate::{
    chunked_head, chunked_stream, declaring, header_unit, limits, nested, packet, run, Pair,
    ENDLESS_HEAD,
};

/// The full path of [`barrage_target`] in this test binary, as libtest
/// matches it with `--exact`.
const TARGET_TEST: &str = "memory::barrage_target";

/// A field of `/proc/<pid>/status`, in KiB (Linux); `None` once the
/// process is gone.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Set in the environment of the child process that runs
/// [`barrage_target`].
const TARGET_ENV: &str = "MPC_POOL_BARRAGE_TARGET";

/// The target of `memory_stays_bounded_under_a_hostile_barrage`, run only
/// in its child process (with [`TARGET_ENV`] set; elsewhere it returns at
/// once, hence ignored). It starts alice and bob, prints
/// `READY <bob's address> <alice's port>`, then follows commands on stdin,
/// one per line: `serve <what>` (good traffic, answered `SERVED`) and
/// `finish` (bob received exactly the good traffic and holds nothing
/// unread, answered `FINISHED`). Any failure panics, which fails the child
/// and so the parent test.
#[test]
#[ignore = "runs only as the child process of memory_stays_bounded_under_a_hostile_barrage"]
fn barrage_target() {
    if std::env::var_os(TARGET_ENV).is_none() {
        return;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut bob_limits = limits();
    if let Some(v) = std::env::var_os(BODY_LIMIT_ENV) {
        let max = v
            .to_str()
            .and_then(|v| v.parse().ok())
            .expect("a body limit");
        bob_limits = bob_limits.with_max_body_size(max);
    }
    run(async move {
        let mut p = Pair::start(bob_limits, None).await;
        p.still_serving("start").await;
        println!("READY {} {}", p.bob_addr, p.alice_port);
        while let Some(line) = rx.recv().await {
            if let Some(what) = line.strip_prefix("serve ") {
                p.still_serving(what).await;
                println!("SERVED");
            } else if line == "finish" {
                p.finish().await;
                println!("FINISHED");
                return;
            } else {
                panic!("unknown command {line:?}");
            }
        }
        panic!("stdin closed before `finish`");
    });
}

/// Set in the child's environment: bob's body limit (default: [`limits`]).
const BODY_LIMIT_ENV: &str = "MPC_POOL_BARRAGE_BODY_LIMIT";

/// The child process running [`barrage_target`], and its stdio.
struct Target {
    child: std::process::Child,
    input: Option<std::process::ChildStdin>,
    output: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Target {
    /// Starts the child; returns it with bob's address and alice's port.
    fn start() -> (Target, SocketAddr, u16) {
        Self::start_with(None, None)
    }

    /// As [`Target::start`], with bob's body limit and a limit on the
    /// child's address space (`ulimit -v`, KiB: an allocation beyond it
    /// fails, as on a host with little memory and no overcommit).
    fn start_with(
        body_limit: Option<usize>,
        address_space_kib: Option<u64>,
    ) -> (Target, SocketAddr, u16) {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().expect("this test binary");
        let mut command = match address_space_kib {
            None => Command::new(exe),
            Some(kib) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
                    .arg(exe);
                c
            }
        };
        if let Some(b) = body_limit {
            command.env(BODY_LIMIT_ENV, b.to_string());
        }
        let mut child = command
            .args([TARGET_TEST, "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(TARGET_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the target process starts");
        let input = child.stdin.take();
        let output = std::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut t = Target {
            child,
            input,
            output,
        };
        let ready = t.expect_line("READY ");
        let mut words = ready.split(' ');
        let bob_addr = words
            .next()
            .and_then(|a| a.parse().ok())
            .expect("bob's address");
        let alice_port = words
            .next()
            .and_then(|a| a.parse().ok())
            .expect("alice's port");
        (t, bob_addr, alice_port)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What follows `prefix` on the first line of the child's output that
    /// holds it (libtest's own output is skipped; it may also start the
    /// line: `test memory::barrage_target ... READY ..`). Blocking: call it where
    /// the child answers promptly.
    fn expect_line(&mut self, prefix: &str) -> String {
        for line in self.output.by_ref() {
            let line = line.expect("the target's output");
            if let Some(at) = line.find(prefix) {
                return line[at + prefix.len()..].to_owned();
            }
        }
        let status = self.child.wait();
        panic!("the target process ended without printing {prefix:?}: {status:?}");
    }

    /// Sends `command`, waits for the line starting with `answer`.
    fn command(&mut self, command: &str, answer: &str) {
        use std::io::Write;
        let input = self.input.as_mut().expect("the target's stdin is open");
        writeln!(input, "{command}").expect("the target reads its commands");
        input.flush().expect("the target reads its commands");
        self.expect_line(answer);
    }

    /// Good traffic inside the target (see [`Pair::still_serving`]).
    fn still_serving(&mut self, after: &str) {
        let command = format!("serve {after}");
        tokio::task::block_in_place(|| self.command(&command, "SERVED"));
    }

    /// The target's final checks ([`Pair::finish`]); it must then exit
    /// successfully.
    fn finish(mut self) {
        tokio::task::block_in_place(|| {
            self.command("finish", "FINISHED");
            self.input = None;
            let status = self.child.wait().expect("the target process ends");
            assert!(status.success(), "the target process failed: {status}");
        });
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // a no-op after `finish`; otherwise the test failed: stop the child
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn declared_lengths_reserve_nothing_until_the_bytes_arrive() {
    run(async {
        // bob accepts packets of up to 512 MiB (the default) and runs with
        // 2.4 GiB of address space: reserving the declared length up front,
        // the eight requests below would need 4 GiB and abort the process
        const DECLARED: usize = 512 << 20;
        let (mut target, addr, alice_port) = Target::start_with(Some(DECLARED), Some(2_500_000));
        let pid = target.pid();
        let before = status_kib(pid, "VmSize").expect("VmSize of the target (Linux)");
        let head = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nCookie: server_port={alice_port}\r\nContent-Length: {DECLARED}\r\n\r\nab"
        );
        let mut held = Vec::new();
        for _ in 0..8 {
            let mut s = raw::connect(addr).await;
            s.write_all(head.as_bytes())
                .await
                .expect("the request is sent");
            held.push(s);
        }
        // bob keeps serving while the eight wait for their bodies
        tokio::time::sleep(Duration::from_millis(500)).await;
        target.still_serving("(during) eight requests declaring 512 MiB each");
        let during = status_kib(pid, "VmSize").expect("the target is alive");
        let grown = during.saturating_sub(before);
        eprintln!("address space of the target: {before} KiB before, {during} KiB with the eight requests (+{grown} KiB)");
        assert!(
            grown < 256 << 10,
            "the target reserved {grown} KiB of address space for 16 bytes of bodies"
        );
        drop(held);
        target.still_serving("eight requests declaring 512 MiB each");
        target.finish();
    });
}

#[test]
fn memory_stays_bounded_under_a_hostile_barrage() {
    run(async {
        let (mut target, addr, alice_port) = Target::start();
        let pid = target.pid();
        let cookie = format!("server_port={alice_port}");
        // What would happen without the bounds: each chunked body below
        // would be buffered whole (8 x 64 MiB = 512 MiB), and so would each
        // endless head (4 x 64 MiB); the stalled heads would each hold a
        // read buffer of up to 4 MiB until the header read timeout (48 x
        // 4 MiB: +190 MiB measured with only the 4 MiB read buffer as the
        // limit); each 2^32-entry map or array would reserve room for its
        // declared entries (tens of GiB: an allocation failure aborts the
        // process); 4 GiB bins would be awaited or reserved; 100 000 levels
        // would overflow a recursive decoder's stack; idle connections
        // would pile up. With them, the target grows by a few tens of MiB
        // at most.
        const BOUND_KIB: u64 = 64 << 10;
        let before = status_kib(pid, "VmRSS").expect("VmRSS of the target (Linux)");
        // reset the target's peak (VmHWM) to its current size, if the
        // kernel allows
        let peak_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let stop = Arc::new(AtomicBool::new(false));
        let sampled = Arc::new(AtomicU64::new(before));
        let sampler = std::thread::spawn({
            let (stop, sampled) = (stop.clone(), sampled.clone());
            move || {
                while !stop.load(Ordering::Acquire) {
                    if let Some(kib) = status_kib(pid, "VmRSS") {
                        sampled.fetch_max(kib, Ordering::AcqRel);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        });

        // heads of almost 4 MiB that stall: each would hold its buffer until
        // the header read timeout (48 x 4 MiB) if heads were not limited
        let mut stalled = tokio::task::JoinSet::new();
        for _ in 0..48 {
            stalled.spawn(
                async move { raw::stream(addr, ENDLESS_HEAD, header_unit(), 63, b"").await },
            );
        }
        while let Some(r) = stalled.join_next().await {
            let (answer, _) = r.expect("stalling client");
            assert!(matches!(answer.statuses()[..], [] | [431]), "{answer:?}");
            assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
        }
        // idle connections, held during the rest of the barrage
        let idle = raw::idle_clients(addr, 200, 100, |_| b"", Duration::from_secs(90)).await;
        let pad = [0u8; 64];
        let malformed: Vec<Vec<u8>> = vec![
            [&b"\x82\xa6object\xc6\xff\xff\xff\xff"[..], &pad].concat(),
            packet("0", &[&b"\xc6\xff\xff\xff\xff"[..], &pad].concat()),
            packet("0", &[&b"\xdf\xff\xff\xff\xff"[..], &[0xc0; 64]].concat()),
            packet("0", &[&b"\xdd\xff\xff\xff\xff"[..], &[0xc0; 64]].concat()),
            packet("0", &b"\xdd\xff\xff\xff\xff\xdf\xff\xff\xff\xff".repeat(64)),
            packet("0", &nested(b"\x91", 100_000, b"\xc0")),
            packet("0", &nested(b"\x81\xc0", 100_000, b"\xc0")),
        ];
        // all at once: bodies over the limit, chunked, and heads that never
        // end, each trying to send 64 MiB (their answers may be lost to the
        // reset, see `stream`); the kernel's socket buffers can take a few
        // MiB of each, the server reads 1 MiB or 64 KiB
        const STREAMED: usize = 64 << 20;
        let mut streams = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let head = chunked_head(&cookie);
            streams.spawn(async move {
                let (answer, written) = chunked_stream(addr, &head, 1024, b"0\r\n\r\n").await;
                (answer, written, 413)
            });
        }
        for _ in 0..4 {
            streams.spawn(async move {
                let tail = b"\r\n\r\n";
                let (answer, written) =
                    raw::stream(addr, ENDLESS_HEAD, header_unit(), 1024, tail).await;
                (answer, written, 431)
            });
        }
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            for body in &malformed {
                let req = raw::post(Some(&cookie), "", body);
                set.spawn(async move { (raw::exchange(addr, &req).await.statuses(), vec![400]) });
            }
            // a declared 4 GiB body
            let head = declaring(&cookie, 4u64 << 30);
            set.spawn(async move { (raw::exchange(addr, &head).await.statuses(), vec![413]) });
            // don't let the test's own buffers pile up: a round at a time
            while let Some(r) = set.join_next().await {
                let (got, want) = r.expect("hostile client");
                assert_eq!(got, want);
            }
        }
        while let Some(r) = streams.join_next().await {
            let (answer, written, status) = r.expect("streaming client");
            assert!(
                answer.statuses().is_empty() || answer.statuses() == [status],
                "{answer:?}"
            );
            assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
            assert!(
                written < STREAMED,
                "the server read all {written} bytes of a request over its limits"
            );
        }
        target.still_serving("(during) the barrage");
        let mut idle = idle;
        while let Some(r) = idle.join_next().await {
            assert!(
                r.unwrap().expect("connected").is_some(),
                "an idle connection stayed open"
            );
        }
        stop.store(true, Ordering::Release);
        sampler.join().unwrap();
        let peak = if peak_reset {
            let hwm = status_kib(pid, "VmHWM").expect("VmHWM of the target");
            hwm.max(sampled.load(Ordering::Acquire))
        } else {
            sampled.load(Ordering::Acquire)
        };
        let grown = peak.saturating_sub(before);
        eprintln!(
            "memory of the target: {before} KiB before, peak {peak} KiB during the barrage (+{grown} KiB; peak reset: {peak_reset})"
        );
        assert!(
            grown < BOUND_KIB,
            "the target's resident memory grew by {grown} KiB (bound {BOUND_KIB} KiB)"
        );
        target.still_serving("the barrage");
        target.finish();
    });
}
