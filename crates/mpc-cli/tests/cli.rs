//! End-to-end tests of the `mpc` binary: real processes talking HTTP(S) on
//! 127.0.0.1, every wait bounded.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MPC: &str = env!("CARGO_BIN_EXE_mpc");
/// Upper bound of every wait for a process.
const WAIT: Duration = Duration::from_secs(90);

/// The 5.0.4 packet of "Hello!" with id "0".
const HELLO_HEX: &str = "82a66f626a656374c407a648656c6c6f21a26964a130";

/// A running `mpc` process; killed if still running when dropped (a
/// failing test leaves nothing behind).
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Proc {
    fn spawn<S: AsRef<str>>(args: &[S]) -> Proc {
        let mut child = Command::new(MPC)
            .args(args.iter().map(AsRef::as_ref))
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mpc");
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Proc {
            child,
            stdin,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Waits (bounded) for a stdout line starting with `prefix`.
    fn wait_line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(e) => self.fail(&format!("no line starting with {prefix:?} ({e:?})")),
            }
        }
    }

    /// Kills the process and fails the test, showing its output.
    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self.take_stderr();
        panic!("{why}; stdout so far {:?}; stderr:\n{stderr}", self.stdout);
    }

    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }

    /// Waits (bounded) for the process to exit: status, all of stdout, stderr.
    fn finish(mut self) -> (ExitStatus, String, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                self.fail(&format!("mpc did not exit within {WAIT:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends at EOF, which comes with the exit.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.stdout.push(line);
        }
        let stderr = self.take_stderr();
        let mut stdout = self.stdout.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        (status, stdout, stderr)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `mpc args` to completion (bounded), feeding `input` on stdin.
fn run<S: AsRef<str>>(args: &[S], input: &[u8]) -> (ExitStatus, String, String) {
    let mut p = Proc::spawn(args);
    if let Some(mut stdin) = p.stdin.take() {
        stdin.write_all(input).expect("write stdin");
    }
    p.finish()
}

/// A fresh, empty directory under the target's temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mpc-cli-{tag}-{}-{nanos}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// A port that was free a moment ago: bind 127.0.0.1:0, read the port, and
/// let the listener go just before the process that uses it starts. (Small
/// race: another process could take the port in between; the OS hands out
/// ephemeral ports in rotation, so that is unlikely on a test machine.)
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn certs(dir: &Path) {
    let out = dir.to_str().expect("utf-8 path");
    let (status, stdout, stderr) = run(&["certs", "--parties", "alice,bob", "--out", out], b"");
    assert!(status.success(), "mpc certs failed: {stdout}{stderr}");
}

/// TLS flags for `me`, optionally pinning `peer`'s certificate.
fn tls_flags(dir: &Path, me: &str, pin: Option<&str>) -> Vec<String> {
    let f = |n: String| dir.join(n).to_str().expect("utf-8 path").to_owned();
    let mut v = vec![
        "--tls-key".to_owned(),
        f(format!("{me}.key")),
        "--tls-cert".to_owned(),
        f(format!("{me}.crt")),
        "--tls-ca".to_owned(),
        f("ca.crt".to_owned()),
    ];
    if let Some(peer) = pin {
        v.push("--peer-cert".to_owned());
        v.push(format!("{peer}={}", f(format!("{peer}.crt"))));
    }
    v
}

/// The bytes of a hex string.
fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The address in the `listen=` word of a ready line.
fn listen_addr(ready: &str) -> String {
    ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("listen="))
        .expect("listen=")
        .to_owned()
}

/// The arguments of `mpc echo` as alice, echoing `count` messages of bob
/// (on 127.0.0.1:`bob_port`).
fn alice_echo(bob_port: u16, count: usize) -> Vec<String> {
    let peer = format!("bob=127.0.0.1:{bob_port}");
    let count = count.to_string();
    ["echo", "--name", "alice", "--listen", "127.0.0.1:0"]
        .into_iter()
        .chain(["--peer", &peer, "--count", &count])
        .map(str::to_owned)
        .collect()
}

/// `mpc echo --count 6` and `mpc bench --count 6 --size 1000 --inflight 3`
/// against it; both must exit 0 and the JSON line must add up.
fn echo_and_bench(alice_tls: Vec<String>, bob_tls: Vec<String>, tls_word: &str) {
    echo_and_bench_inflight(alice_tls, bob_tls, tls_word, 3);
}

/// [`echo_and_bench`] with `--inflight inflight`.
fn echo_and_bench_inflight(
    alice_tls: Vec<String>,
    bob_tls: Vec<String>,
    tls_word: &str,
    inflight: u64,
) {
    let bench_port = free_port();
    let mut echo_args = alice_echo(bench_port, 6);
    echo_args.extend(alice_tls);
    let mut echo = Proc::spawn(&echo_args);
    let ready = echo.wait_line("ready ");
    assert!(ready.contains("name=alice"), "{ready}");
    assert!(ready.contains(&format!("tls={tls_word}")), "{ready}");
    let echo_port: u16 = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("listen=127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no listen=127.0.0.1:PORT in {ready:?}"));
    assert_ne!(echo_port, 0, "the ready line shows the real port");

    let mut bench_args: Vec<String> = [
        "bench",
        "--name",
        "bob",
        "--listen",
        &format!("127.0.0.1:{bench_port}"),
        "--peer",
        &format!("alice=127.0.0.1:{echo_port}"),
        "--size",
        "1000",
        "--count",
        "6",
        "--inflight",
        &inflight.to_string(),
        "--timeout",
        "30",
    ]
    .map(str::to_owned)
    .to_vec();
    bench_args.extend(bob_tls);
    let (status, stdout, stderr) = run(&bench_args, b"");
    assert!(
        status.success(),
        "bench failed ({status}): {stdout}\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one JSON line on stdout: {stdout:?}"
    );
    let j: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON line");
    assert_eq!(j["size"], 1000);
    assert_eq!(j["count"], 6);
    assert_eq!(j["inflight"], inflight);
    let l = &j["ledger"];
    assert_eq!(l["messages_sent"], 6, "{j}");
    assert_eq!(l["messages_received"], 6, "{j}");
    let bytes_sent = l["bytes_sent"].as_u64().expect("bytes_sent");
    assert!(bytes_sent > 6000, "{j}");
    assert!(
        l["bytes_received"].as_u64().expect("bytes_received") > 6000,
        "{j}"
    );
    assert!(
        l["wire_bytes_sent"].as_u64().expect("wire_bytes_sent") > bytes_sent,
        "{j}"
    );
    assert!(
        l["wire_bytes_received"]
            .as_u64()
            .expect("wire_bytes_received")
            > 0,
        "{j}"
    );
    let rounds = l["rounds"].as_u64().expect("rounds");
    if inflight == 1 {
        // a ping-pong of 6 exchanges
        assert_eq!(rounds, 12, "{j}");
    } else {
        assert!((2..=12).contains(&rounds), "{j}");
    }
    let seconds = j["seconds"].as_f64().expect("seconds");
    let rt = j["roundtrip_us"].as_f64().expect("roundtrip_us");
    let mbps = j["mb_per_s"].as_f64().expect("mb_per_s");
    assert!(seconds > 0.0 && seconds < WAIT.as_secs_f64(), "{j}");
    assert!(rt > 0.0 && rt <= seconds * 1e6 + 1.0, "{j}");
    let expected = 2.0 * 1000.0 * 6.0 / seconds / 1e6;
    assert!(
        (mbps - expected).abs() <= expected * 0.01 + 0.01,
        "mb_per_s {mbps} vs {expected}: {j}"
    );

    let (status, stdout, stderr) = echo.finish();
    assert!(
        status.success(),
        "echo failed ({status}): {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("peer name=bob received=6 echoed=6 failed=0 skipped=0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("stopped name=alice reason=count received=6 echoed=6 failed=0"),
        "{stdout}"
    );
    assert!(stdout.contains("ledger of alice:"), "{stdout}");
}

#[test]
fn bench_with_one_in_flight_counts_two_rounds_per_message() {
    echo_and_bench_inflight(Vec::new(), Vec::new(), "off", 1);
}

#[test]
fn echo_and_bench_over_http() {
    echo_and_bench(Vec::new(), Vec::new(), "off");
}

#[test]
fn echo_and_bench_over_mutual_tls_by_common_name() {
    let dir = temp_dir("tls-cn");
    certs(&dir);
    echo_and_bench(
        tls_flags(&dir, "alice", None),
        tls_flags(&dir, "bob", None),
        "mutual",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn echo_and_bench_over_mutual_tls_pinned() {
    let dir = temp_dir("tls-pin");
    certs(&dir);
    echo_and_bench(
        tls_flags(&dir, "alice", Some("bob")),
        tls_flags(&dir, "bob", Some("alice")),
        "mutual-pinned",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inspect_shows_id_and_value() {
    // hex on standard input
    let (status, stdout, stderr) = run(&["inspect", "--hex"], HELLO_HEX.as_bytes());
    assert!(status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("id:    \"0\""), "{stdout}");
    assert!(stdout.contains("value: \"Hello!\""), "{stdout}");
    assert!(stdout.contains("kind:  str"), "{stdout}");
    assert!(stdout.contains("size:  22 bytes"), "{stdout}");

    // raw bytes from a file, and from `-`
    let dir = temp_dir("inspect");
    let file = dir.join("hello.bin");
    let raw = unhex(HELLO_HEX);
    std::fs::write(&file, &raw).expect("write packet");
    let (status, from_file, stderr) = run(&["inspect", file.to_str().expect("utf-8")], b"");
    assert!(status.success(), "{stderr}");
    assert_eq!(from_file, stdout);
    let (status, from_stdin, stderr) = run(&["inspect", "-"], &raw);
    assert!(status.success(), "{stderr}");
    assert_eq!(from_stdin, stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inspect_refuses_garbage() {
    for (args, input, says) in [
        (&["inspect"][..], &b"garbage"[..], "not a packet"),
        (&["inspect"], &[0xc1][..], "not a packet"),
        (&["inspect"], b"", "empty"),
        (&["inspect", "--hex"], b"zz", "not a hex digit"),
        (&["inspect", "--hex"], b"82a", "odd number of hex digits"),
        // truncated packet
        (
            &["inspect", "--hex"],
            &HELLO_HEX.as_bytes()[..40],
            "truncated",
        ),
        // hex without --hex: a hint
        (&["inspect"], HELLO_HEX.as_bytes(), "--hex"),
        // a packet whose value is not msgpack
        (
            &["inspect", "--hex"],
            b"82a66f626a656374c402c1c1a26964a130",
            "does not decode",
        ),
    ] {
        let (status, stdout, stderr) = run(args, input);
        assert!(!status.success(), "{args:?} {input:?}: {stdout}");
        assert!(
            stderr.contains("error:") && stderr.contains(says),
            "{args:?} {input:?}: expected {says:?} in {stderr}"
        );
    }
    let (status, _, stderr) = run(&["inspect", "/nonexistent/packet.bin"], b"");
    assert!(!status.success());
    assert!(stderr.contains("/nonexistent/packet.bin"), "{stderr}");
}

#[test]
fn certs_writes_files_and_refuses_to_overwrite() {
    let dir = temp_dir("certs");
    let out = dir.join("pki");
    let out_s = out.to_str().expect("utf-8 path");
    let certs = |extra: &[&str]| {
        let args = ["certs", "--parties", "alice,bob,carol", "--out", out_s];
        run(&[&args[..], extra].concat(), b"")
    };
    let (status, stdout, stderr) = certs(&["--days", "7"]);
    assert!(status.success(), "{stdout}{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "README.txt",
            "alice.crt",
            "alice.key",
            "bob.crt",
            "bob.key",
            "ca.crt",
            "ca.key",
            "carol.crt",
            "carol.key"
        ]
    );
    let readme = std::fs::read_to_string(out.join("README.txt")).expect("README");
    assert!(readme.contains("mpc certs"), "{readme}");
    assert!(
        readme.contains("alice: alice.crt, alice.key, ca.crt"),
        "{readme}"
    );
    // the Python recipe of docs/TLS.md, starting its server
    assert!(readme.contains("    await pool.initialize()"), "{readme}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for key in ["ca.key", "alice.key", "bob.key", "carol.key"] {
            let mode = std::fs::metadata(out.join(key))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
    let before = std::fs::read(out.join("alice.key")).expect("key");

    let (status, _, stderr) = certs(&[]);
    assert!(!status.success());
    assert!(
        stderr.contains("refusing to overwrite") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(out.join("alice.key")).expect("key"), before);

    let (status, stdout, stderr) = certs(&["--force"]);
    assert!(status.success(), "{stdout}{stderr}");
    assert_ne!(std::fs::read(out.join("alice.key")).expect("key"), before);

    for (parties, says) in [
        ("alice,,bob", "empty"),
        ("alice,ca", "reserved"),
        ("alice,Alice", "duplicate"),
        ("a/b", "only ASCII letters"),
    ] {
        let (status, _, stderr) = run(&["certs", "--parties", parties, "--out", out_s], b"");
        assert!(!status.success(), "{parties}");
        assert!(stderr.contains(says), "{parties}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `mpc` with `args` and then `extra`, checks that it fails saying
/// `says` on standard error, and returns its standard output.
fn refused(args: &[&str], extra: &[&str], says: &str) -> String {
    let all: Vec<&str> = args.iter().chain(extra).copied().collect();
    let (status, stdout, stderr) = run(&all, b"");
    assert!(!status.success(), "{extra:?} succeeded: {stdout}");
    assert!(
        stderr.contains(says),
        "{extra:?}: expected {says:?} in {stderr}"
    );
    stdout
}

#[test]
fn bad_arguments_are_refused_clearly() {
    let echo = ["echo", "--name", "alice", "--listen", "127.0.0.1:0"];
    for (extra, says) in [
        (&["--peer", "bob"][..], "expected NAME=HOST:PORT"),
        (&["--peer", "bob=127.0.0.1 "], "contains ' '"),
        (&["--peer", "bob=127.0.0.1:0"], "from 1 to 65535"),
        (&[], "--peer"),
        (
            &["--peer", "bob=127.0.0.1:1", "--tls-key", "k.pem"],
            "--tls-cert",
        ),
        (
            &["--peer", "bob=127.0.0.1:1", "--tls-key", "k.pem"],
            "--tls-ca",
        ),
        (
            &[
                "--peer",
                "bob=127.0.0.1:1",
                "--tls-cert",
                "c",
                "--tls-ca",
                "a",
            ],
            "--tls-key",
        ),
        (
            &["--peer", "bob=127.0.0.1:1", "--peer-cert", "bob=b.crt"],
            "--tls-key",
        ),
        (&["--peer", "bob=127.0.0.1:1", "--count", "0"], "--count"),
        (&["--peer", "alice=127.0.0.1:1"], "own name"),
        (
            &["--peer", "bob=127.0.0.1:1", "--peer", "bob=127.0.0.1:2"],
            "more than once",
        ),
        (
            &[
                "--peer",
                "bob=127.0.0.1:1",
                "--tls-key",
                "k",
                "--tls-cert",
                "c",
                "--tls-ca",
                "a",
                "--peer-cert",
                "carol=c.crt",
            ],
            "not a peer",
        ),
        (
            &[
                "--peer",
                "bob=127.0.0.1:1",
                "--tls-key",
                "/nonexistent/k",
                "--tls-cert",
                "/nonexistent/c",
                "--tls-ca",
                "/nonexistent/a",
            ],
            "loading TLS files",
        ),
    ] {
        let stdout = refused(&echo, extra, says);
        assert!(!stdout.contains("ready"), "{extra:?}: {stdout}");
    }

    let bench = [
        "bench",
        "--name",
        "bob",
        "--listen",
        "127.0.0.1:0",
        "--peer",
        "alice=127.0.0.1:1",
    ];
    for (extra, says) in [
        (&["--count", "1"][..], "--size"),
        (&["--size", "10"], "--count"),
        (&["--size", "10x", "--count", "1"], "not a size"),
        (&["--size", "1Gi", "--count", "1"], "not a size"),
        (&["--size", "600Mi", "--count", "1"], "too large"),
        (
            &["--size", "1", "--count", "1", "--inflight", "0"],
            "--inflight",
        ),
        (
            &["--size", "1", "--count", "1", "--timeout", "-1"],
            "--timeout",
        ),
        (
            &["--size", "1", "--count", "1", "--peer", "carol=h:1"],
            "--peer",
        ),
    ] {
        let stdout = refused(&bench, extra, says);
        assert!(stdout.is_empty(), "{extra:?}: {stdout}");
    }
}

/// `mpc echo` sends back exactly what it got: every value of the golden
/// vectors made by the Python package (decoded as `Value`, sent by a Rust
/// pool in this process, echoed, received again) re-encodes to the same
/// packet, and so does an instance of a Python class nobody here knows.
#[test]
fn echo_relays_python_values_unchanged() {
    use mpc_pool::serial::{encode_packet, Packet};
    use mpc_pool::{Bytes, Pool, Value};

    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../mpc-serial/tests/fixtures/golden.json"
        ))
        .expect("golden vectors"),
    )
    .expect("golden JSON");
    let mut values: Vec<(String, Value, Bytes)> = Vec::new();
    for v in golden["vectors"].as_array().expect("vectors") {
        let name = v["name"].as_str().expect("name").to_owned();
        let hex = v["packet"].as_str().expect("packet");
        let raw = unhex(hex);
        let packet = Packet::decode(Bytes::from(raw)).expect("golden packet");
        let value = packet.value().expect("golden value");
        let bytes = encode_packet("0", &value).expect("encode");
        values.push((name, value, bytes));
    }
    let unknown = Value::tagged(
        "SomePythonClassRustDoesNotKnow",
        Value::Map(vec![
            (Value::Str("x".into()), Value::Int(-3)),
            (
                Value::Str("y".into()),
                Value::Tuple(vec![
                    Value::Nil,
                    Value::Bytes(Bytes::from_static(b"\x00\xff")),
                ]),
            ),
        ]),
    );
    let bytes = encode_packet("0", &unknown).expect("encode");
    values.push(("unknown python class".into(), unknown, bytes));
    assert!(values.len() > 100, "golden vectors found");

    // This process is bob and listens on a listener it keeps (no port race).
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let bob_port = listener.local_addr().expect("addr").port();
    let count = values.len();
    let mut echo = Proc::spawn(&alice_echo(bob_port, count));
    let ready = echo.wait_line("ready ");
    let echo_addr = listen_addr(&ready);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let bob = Pool::builder("bob")
            .listener(listener)
            .peer_at("alice", echo_addr)
            .timeout(Some(Duration::from_secs(30)))
            .start()
            .await
            .expect("start bob");
        for (name, value, bytes) in &values {
            bob.send("alice", value).await.expect("send");
            let back: Value = bob.recv("alice").await.expect("echo");
            // (compared as bytes: NaN != NaN as a value)
            assert_eq!(
                &encode_packet("0", &back).expect("encode"),
                bytes,
                "{name}: echo re-encodes to other bytes"
            );
        }
        bob.shutdown().await;
    });
    let (status, stdout, stderr) = echo.finish();
    assert!(status.success(), "echo failed: {stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("received={count} echoed={count} failed=0")),
        "{stdout}"
    );
}

/// One HTTP/1.1 exchange on a fresh connection: the status code of the
/// answer to `request`, or why there was none.
fn exchange(addr: &str, request: &[u8]) -> Result<u16, String> {
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    s.write_all(request).map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))
}

/// Answers every request on `listener` with 200 (reading its head and its
/// Content-Length body first) and says so on `answered`.
fn answer_everything(listener: TcpListener, answered: mpsc::Sender<()>) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut reader = BufReader::new(conn);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = answered.send(());
        }
    });
}

/// `mpc echo --count 1` keeps answering after its count is reached (here
/// until nothing has come for a second, as its peer never leaves): a peer
/// whose answer was lost on the way and that sends its last message again,
/// with the same delivery token, is told it arrived instead of finding the
/// echo gone. (Before `--linger`, the echo shut down as soon as it had
/// echoed its count, and the late retry was refused.)
#[test]
fn echo_with_a_count_answers_a_late_retry() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let bob_port = listener.local_addr().expect("addr").port();
    let (answered_tx, answered) = mpsc::channel();
    answer_everything(listener, answered_tx);
    let mut args = alice_echo(bob_port, 1);
    args.extend(["--linger".to_owned(), "3".to_owned()]);
    let mut echo = Proc::spawn(&args);
    let ready = echo.wait_line("ready ");
    let echo_addr = listen_addr(&ready);

    let hello = unhex(HELLO_HEX);
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: alice\r\nConnection: close\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\
         Cookie: server_port={bob_port}\r\nx-mpc-delivery: 00000000000000b0-0\r\n\r\n",
        hello.len()
    )
    .into_bytes();
    request.extend_from_slice(&hello);

    assert_eq!(exchange(&echo_addr, &request), Ok(200), "the message");
    // the echo reached bob: the count is reached
    answered
        .recv_timeout(WAIT)
        .expect("the echo of the message");
    // time enough for an echo that does not linger to have shut down
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        exchange(&echo_addr, &request),
        Ok(200),
        "the same message again, after the count was reached"
    );
    let (status, stdout, stderr) = echo.finish();
    assert!(status.success(), "echo failed: {stdout}\n{stderr}");
    assert!(
        stdout.contains("stopped name=alice reason=count received=1 echoed=1 failed=0"),
        "{stdout}"
    );
    // the ledger's row of bob: one message in, one out, one duplicate
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("bob "))
        .expect("bob's row in the ledger")
        .split_whitespace()
        .collect();
    assert_eq!(
        (row[1], row[4], row.last().copied()),
        ("1", "1", Some("1")),
        "{stdout}"
    );
    assert!(
        stderr.contains("no message for a while and not every peer has left the pool"),
        "{stderr}"
    );
}
