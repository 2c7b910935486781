//! The command line: clap definitions and the parsers of its values.

use std::collections::HashSet;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mpc_measure::SizeError;
use mpc_pool::transport::{check_peer_names, PeerNameError};

use crate::certs::{self, CertsArgs};

/// Largest `--size` of `mpc bench`: the default body limit of the receiving
/// server (512 MiB) less room for the packet envelope.
pub(crate) const MAX_BENCH_SIZE: u64 = (512 << 20) - 1024;
/// Largest `--inflight` of `mpc bench`.
pub(crate) const MAX_INFLIGHT: u64 = 4096;
/// Longest party name accepted on the command line.
const MAX_NAME_LEN: usize = 255;

const TLS_HEADING: &str = "Mutual TLS (all of --tls-key, --tls-cert and --tls-ca, or none)";

const ABOUT: &str = "Tools for deploying parties of an MPC communication pool \
(wire-compatible with tno.mpc.communication 5.x)";

const AFTER_HELP: &str = "\
Logging goes to standard error; set RUST_LOG (e.g. RUST_LOG=debug, \
RUST_LOG=mpc_http=trace) to change what is logged (default: info).";

/// `mpc`: the command line.
#[derive(Debug, Parser)]
#[command(name = "mpc", version, about = ABOUT, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a party that sends every message it receives straight back.
    #[command(long_about = ECHO_ABOUT)]
    Echo(EchoArgs),
    /// Measure round trips against a party running `mpc echo`.
    #[command(long_about = BENCH_ABOUT)]
    Bench(BenchArgs),
    /// Decode a packet (as sent over the wire) and show its id and value.
    #[command(long_about = INSPECT_ABOUT)]
    Inspect(InspectArgs),
    /// Generate a test CA and a mutual-TLS key and certificate per party.
    #[command(long_about = certs::ABOUT)]
    Certs(CertsArgs),
}

const ECHO_ABOUT: &str = "\
Run a party that sends every message it receives straight back.

For each peer, concurrently, it receives that peer's messages in order \
(automatic ids 0, 1, 2, ...) as dynamic values and sends each one back to \
the same peer unchanged (values of Python classes it does not know \
included). An echo carries the id its message came with, which is the \
automatic id the peer expects for it. Receives wait without a time limit.

When a peer leaves the pool (a Rust party announces that when it shuts \
down; Python parties do not), its session is over: once it sends again \
(a restarted party), its ids start again at 0. So one `mpc echo` serves \
any number of `mpc bench` runs one after the other. A Python peer that \
restarts needs a fresh `mpc echo`.

A message that cannot be received (for example one that does not decode) \
is logged and skipped: no echo is sent for it, the loop goes on with the \
next id, and the following echoes keep their own ids, so the peer sees \
exactly that one echo missing instead of every later echo shifted by one. \
A failed echo (the peer unreachable for the whole retry window, or \
refusing it) is logged the same way.

When ready (its HTTP(S) server accepts connections) it prints one line to \
standard output, e.g. `ready name=alice listen=127.0.0.1:8001 peers=bob \
tls=off`; at exit it prints one `peer ...` line per peer and a `stopped ...` \
summary line.

It stops after --count messages in all, or on SIGINT/SIGTERM: it stops \
receiving, waits until the echoes already under way are delivered (a second \
signal stops waiting), then shuts the pool down gracefully. Exit status: 0 \
if every message received was echoed and delivered (and, with --count, the \
count was reached), 1 otherwise.";

const BENCH_ABOUT: &str = "\
Measure round trips against a party running `mpc echo`.

Sends --count random byte strings (msgpack bin) of --size bytes with \
automatic ids, keeping --inflight of them under way at once, and checks \
that every echo is exactly what was sent. Prints one JSON line to standard \
output: {\"size\":..,\"count\":..,\"inflight\":..,\"seconds\":..,\
\"roundtrip_us\":..,\"mb_per_s\":..}, where seconds is the wall time from \
the first send to the last echo, roundtrip_us the mean time from sending a \
message to receiving its echo, and mb_per_s the payload bytes in both \
directions per second (1 MB = 10^6 bytes). Shows progress on standard error \
when that is a terminal. Exits non-zero if an echo is missing (see \
--timeout) or differs from what was sent.";

const INSPECT_ABOUT: &str = "\
Decode a packet (the body of one HTTP POST between parties: \
{\"object\": <msgpack bin>, \"id\": <str>}) and show its message id, size, \
and the value inside with its kind, written the way Python would show it.

Reads FILE, or standard input if FILE is `-` or missing. With --hex the \
input is hex text (whitespace and a leading 0x are ignored), handy for \
packets copied from logs. Exits non-zero, saying what is wrong, if the \
input is not a packet.";

/// Options of a party on the network (`echo` and `bench`).
#[derive(Debug, Args)]
pub(crate) struct NetArgs {
    /// This party's name (the name its peers know it by).
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    pub(crate) name: String,

    /// Address to listen on; port 0 picks a free port (`mpc echo` shows it in its ready line);
    /// without a port: 80, or 443 with TLS.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_listen)]
    pub(crate) listen: String,

    /// The port peers know this party by, if not the one listened on
    /// (behind NAT or port mappings).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) advertise_port: Option<u16>,

    /// How long a send keeps retrying an unreachable peer, in seconds
    /// (default 30: parties may start in any order).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
    pub(crate) retry_window: Option<Duration>,

    /// Seconds without progress after which an exchange with a peer counts
    /// as stalled and is retried on a fresh connection (default 5): the
    /// message is not taken by the connection for that long, or its
    /// response does not start that long after it was sent (plus a second
    /// per 16 MiB).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
    pub(crate) stall_timeout: Option<Duration>,

    /// Emulate a network on this party's outgoing messages: `lan` (0.25 ms
    /// one-way, 1 Gbit/s), `wan` (25 ms, 100 Mbit/s), or `LATENCY[,BANDWIDTH]`
    /// such as `20ms,100Mbit`. Give it to every party for both directions.
    #[arg(long, value_name = "PROFILE", value_parser = parse_net)]
    pub(crate) net: Option<mpc_pool::LinkProfile>,

    #[command(flatten)]
    pub(crate) tls: TlsArgs,
}

fn parse_net(s: &str) -> Result<mpc_pool::LinkProfile, String> {
    s.parse().map_err(|e: mpc_pool::ProfileError| e.to_string())
}

/// Mutual TLS options.
#[derive(Debug, Args)]
pub(crate) struct TlsArgs {
    /// This party's private key (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["tls_cert", "tls_ca"], help_heading = TLS_HEADING)]
    pub(crate) tls_key: Option<PathBuf>,

    /// This party's certificate (PEM), optionally followed by intermediates.
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "tls_ca"], help_heading = TLS_HEADING)]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The CA certificate(s) to trust (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "tls_cert"], help_heading = TLS_HEADING)]
    pub(crate) tls_ca: Option<PathBuf>,

    /// Pin the certificate a peer must present (repeatable). Unpinned peers
    /// are recognised by the CN of a certificate from the CA.
    #[arg(
        long = "peer-cert",
        value_name = "NAME=FILE",
        value_parser = parse_peer_cert,
        requires = "tls_key",
        help_heading = TLS_HEADING
    )]
    pub(crate) peer_certs: Vec<PeerCert>,
}

#[derive(Debug, Args)]
pub(crate) struct EchoArgs {
    #[command(flatten)]
    pub(crate) net: NetArgs,

    /// A peer and its address (repeatable; at least one); without a port:
    /// 80, or 443 with TLS.
    #[arg(long = "peer", value_name = "NAME=HOST:PORT", value_parser = parse_peer, required = true)]
    pub(crate) peers: Vec<Peer>,

    /// Stop after echoing this many messages in all (from all peers).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,

    /// With --count: once the count is reached, keep answering for up to
    /// this many seconds, until every peer has left the pool (a Rust party
    /// announces that when it shuts down) or nothing has come for a second,
    /// so that a peer whose last answer was lost on the way and sends again
    /// is told its message arrived (default 5).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
    pub(crate) linger: Option<Duration>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub(crate) net: NetArgs,

    /// The peer running `mpc echo`, and its address.
    #[arg(long, value_name = "NAME=HOST:PORT", value_parser = parse_peer)]
    pub(crate) peer: Peer,

    /// Payload size in bytes (suffixes k, M = 10^3, 10^6; Ki, Mi = 2^10, 2^20).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub(crate) size: u64,

    /// Number of messages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: u64,

    /// Messages under way at once (sent, echo not yet received).
    #[arg(
        long,
        value_name = "K",
        default_value_t = 1,
        value_parser = clap::value_parser!(u64).range(1..=MAX_INFLIGHT)
    )]
    pub(crate) inflight: u64,

    /// How long to wait for each echo, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "60",
        value_parser = parse_seconds,
        allow_negative_numbers = true
    )]
    pub(crate) timeout: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The packet file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,

    /// The input is hex text instead of raw bytes.
    #[arg(long)]
    pub(crate) hex: bool,
}

/// A `--peer NAME=HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) name: String,
    pub(crate) address: String,
}

/// A `--peer-cert NAME=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerCert {
    pub(crate) name: String,
    pub(crate) file: PathBuf,
}

/// A party name: not empty, no whitespace, control characters or `=`.
pub(crate) fn parse_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a party name must not be empty".into());
    }
    if s.len() > MAX_NAME_LEN {
        return Err(format!(
            "a party name must be at most {MAX_NAME_LEN} bytes long"
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '=')
    {
        return Err(format!(
            "party name {s:?} contains {c:?}; whitespace, control characters and '=' are not allowed"
        ));
    }
    Ok(s.to_owned())
}

/// Checks `HOST:PORT` (IPv6 hosts in brackets) and returns it unchanged.
/// Port 0 is accepted only if `allow_port_0`.
pub(crate) fn parse_host_port(s: &str, allow_port_0: bool) -> Result<String, String> {
    let example = if allow_port_0 {
        "e.g. 0.0.0.0:8001, 127.0.0.1:0 or [::1]:8001"
    } else {
        "e.g. 127.0.0.1:8001, bob.example.org:8001 or [::1]:8001"
    };
    if s.contains("://") {
        return Err(format!(
            "{s:?}: give HOST:PORT without a scheme such as http:// ({example})"
        ));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        if let Some(ip) = rest.strip_suffix(']') {
            // no port: 80, or 443 with TLS, as for a host name
            if ip.parse::<Ipv6Addr>().is_err() {
                return Err(format!("{ip:?} in {s:?} is not an IPv6 address"));
            }
            return Ok(s.to_owned());
        }
        let Some((ip, port)) = rest.split_once("]:") else {
            return Err(format!(
                "{s:?} is not HOST:PORT; an IPv6 address goes in brackets followed by :PORT ({example})"
            ));
        };
        if ip.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{ip:?} in {s:?} is not an IPv6 address"));
        }
        (ip, port)
    } else {
        let Some((host, port)) = s.rsplit_once(':') else {
            // no port: 80, or 443 with TLS (the transport's default, as in
            // the Python package)
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "{s:?} is a port without a host; expected HOST:PORT ({example})"
                ));
            }
            check_host(s, s)?;
            return Ok(s.to_owned());
        };
        if host.contains(':') {
            return Err(format!(
                "{s:?}: put an IPv6 address in brackets, as in [::1]:8001"
            ));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(format!("{s:?} has no host; expected HOST:PORT ({example})"));
    }
    check_host(host, s)?;
    let lowest = if allow_port_0 { 0 } else { 1 };
    match port.parse::<u16>() {
        Ok(p) if p >= lowest => Ok(s.to_owned()),
        _ => Err(format!(
            "port {port:?} in {s:?} is not a number from {lowest} to 65535"
        )),
    }
}

/// A host name or address (`host`, of the address `s`) has no
/// whitespace, control characters or URL delimiters.
fn check_host(host: &str, s: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err(format!("{s:?} has no host; expected HOST:PORT"));
    }
    match host
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '?' | '#'))
    {
        Some(c) => Err(format!("host {host:?} in {s:?} contains {c:?}")),
        None => Ok(()),
    }
}

fn parse_listen(s: &str) -> Result<String, String> {
    parse_host_port(s, true)
}

/// `NAME=HOST:PORT`.
pub(crate) fn parse_peer(s: &str) -> Result<Peer, String> {
    let Some((name, address)) = s.split_once('=') else {
        return Err(format!(
            "expected NAME=HOST:PORT (e.g. bob=127.0.0.1:8001), got {s:?}"
        ));
    };
    let name = parse_name(name)?;
    let address =
        parse_host_port(address, false).map_err(|e| format!("address of peer {name:?}: {e}"))?;
    Ok(Peer { name, address })
}

/// `NAME=FILE`.
pub(crate) fn parse_peer_cert(s: &str) -> Result<PeerCert, String> {
    let Some((name, file)) = s.split_once('=') else {
        return Err(format!(
            "expected NAME=FILE (e.g. bob=certs/bob.crt), got {s:?}"
        ));
    };
    let name = parse_name(name)?;
    if file.is_empty() {
        return Err(format!("no certificate file given for peer {name:?}"));
    }
    Ok(PeerCert {
        name,
        file: PathBuf::from(file),
    })
}

/// A positive number of seconds (fractions allowed), at most a year.
pub(crate) fn parse_seconds(s: &str) -> Result<Duration, String> {
    const MAX: f64 = 365.0 * 24.0 * 3600.0;
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX) {
        return Err(format!(
            "{s:?} seconds is out of range (more than 0, at most {MAX})"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// A byte count with an optional suffix: k, M (10^3, 10^6), Ki, Mi (2^10,
/// 2^20), at most [`MAX_BENCH_SIZE`].
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    mpc_measure::parse_size(s, MAX_BENCH_SIZE).map_err(|e| match e {
        SizeError::TooLarge { .. } => format!(
            "{e} (the receiving server's default body limit of 512 MiB, less the packet envelope)"
        ),
        e => e.to_string(),
    })
}

/// Checks names across options: peers distinct and not this party, every
/// `--peer-cert` for a configured peer and given once.
pub(crate) fn check_names(me: &str, peers: &[Peer], pins: &[PeerCert]) -> Result<(), String> {
    // the one rule for names (mpc-transport), in the command line's words
    match check_peer_names(me, peers.iter().map(|p| p.name.as_str())) {
        Ok(()) => {}
        Err(PeerNameError::OwnName { peer }) => {
            let address = peers
                .iter()
                .find(|p| p.name == peer)
                .map_or("", |p| p.address.as_str());
            return Err(format!(
                "--peer {peer}={address}: a peer cannot have this party's own name"
            ));
        }
        Err(PeerNameError::Duplicate { peer }) => {
            return Err(format!("peer {peer:?} is given more than once"));
        }
        Err(e) => return Err(e.to_string()),
    }
    let seen: HashSet<&str> = peers.iter().map(|p| p.name.as_str()).collect();
    let mut pinned = HashSet::new();
    for c in pins {
        if !seen.contains(c.name.as_str()) {
            let known: Vec<&str> = peers.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "--peer-cert for {:?}, which is not a peer (peers: {})",
                c.name,
                known.join(", ")
            ));
        }
        if !pinned.insert(c.name.as_str()) {
            return Err(format!("--peer-cert for {:?} given more than once", c.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_peers() {
        assert_eq!(
            parse_peer("bob=127.0.0.1:8001").unwrap(),
            Peer {
                name: "bob".into(),
                address: "127.0.0.1:8001".into()
            }
        );
        assert_eq!(parse_peer("bob=[::1]:8001").unwrap().address, "[::1]:8001");
        // without a port: 80, or 443 with TLS (applied by the transport)
        assert_eq!(
            parse_peer("bob=bob-container").unwrap().address,
            "bob-container"
        );
        assert_eq!(parse_listen("0.0.0.0").unwrap(), "0.0.0.0");
        assert_eq!(parse_peer("bob=[::1]").unwrap().address, "[::1]");
        assert_eq!(parse_listen("[::]").unwrap(), "[::]");
        assert_eq!(
            parse_peer("party_1=bob.example.org:443").unwrap().name,
            "party_1"
        );
        for (bad, says) in [
            ("bob", "expected NAME=HOST:PORT"),
            ("=127.0.0.1:8001", "must not be empty"),
            ("bob=", "has no host"),
            ("bob=bad host", "contains ' '"),
            ("bob=:8001", "has no host"),
            ("bob=127.0.0.1:0", "from 1 to 65535"),
            ("bob=127.0.0.1:65536", "from 1 to 65535"),
            ("bob=127.0.0.1:x", "from 1 to 65535"),
            ("bob=::1:8001", "brackets"),
            ("bob=[::1]8001", "brackets"),
            ("bob=[nope]:8001", "not an IPv6 address"),
            ("bob=[nope]", "not an IPv6 address"),
            ("bob=[::1", "brackets"),
            ("bo b=h:1", "whitespace"),
            ("bob=http://h:1", "without a scheme"),
            ("bob=h/x:1", "contains"),
        ] {
            let e = parse_peer(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn parses_listen_addresses() {
        assert_eq!(parse_listen("127.0.0.1:0").unwrap(), "127.0.0.1:0");
        assert_eq!(parse_listen("0.0.0.0:8001").unwrap(), "0.0.0.0:8001");
        assert_eq!(parse_listen("[::]:8001").unwrap(), "[::]:8001");
        assert_eq!(parse_listen("localhost:1").unwrap(), "localhost:1");
        assert!(parse_listen("8001").is_err());
        assert!(parse_listen("127.0.0.1:-1").is_err());
    }

    #[test]
    fn parses_peer_certs() {
        assert_eq!(
            parse_peer_cert("bob=certs/bob.crt").unwrap(),
            PeerCert {
                name: "bob".into(),
                file: "certs/bob.crt".into()
            }
        );
        assert!(parse_peer_cert("bob").unwrap_err().contains("NAME=FILE"));
        assert!(parse_peer_cert("bob=")
            .unwrap_err()
            .contains("no certificate"));
    }

    #[test]
    fn parses_seconds_and_sizes() {
        assert_eq!(parse_seconds("60").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_seconds("0.25").unwrap(), Duration::from_millis(250));
        for bad in ["0", "-1", "x", "NaN", "inf", "1e300"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("0").unwrap(), 0);
        assert_eq!(parse_size("4k").unwrap(), 4000);
        assert_eq!(parse_size("2M").unwrap(), 2_000_000);
        assert_eq!(parse_size("1Ki").unwrap(), 1024);
        assert_eq!(parse_size("3Mi").unwrap(), 3 << 20);
        for bad in ["", "k", "1x", "-1", "1.5M", "512Mi", "99999999999999999999"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_names_across_options() {
        let peers = [
            parse_peer("bob=h:1").unwrap(),
            parse_peer("carol=h:2").unwrap(),
        ];
        let pin = |s: &str| parse_peer_cert(s).unwrap();
        assert!(check_names("alice", &peers, &[pin("bob=b.crt")]).is_ok());
        assert!(check_names("bob", &peers, &[])
            .unwrap_err()
            .contains("own name"));
        let twice = [peers[0].clone(), peers[0].clone()];
        assert!(check_names("alice", &twice, &[])
            .unwrap_err()
            .contains("more than once"));
        assert!(check_names("alice", &peers, &[pin("dave=d.crt")])
            .unwrap_err()
            .contains("not a peer"));
        assert!(check_names("alice", &peers, &[pin("bob=a"), pin("bob=b")])
            .unwrap_err()
            .contains("more than once"));
    }

    #[test]
    fn tls_flags_go_together() {
        let base = [
            "mpc",
            "echo",
            "--name",
            "a",
            "--listen",
            "127.0.0.1:0",
            "--peer",
            "b=h:1",
        ];
        let with =
            |extra: &[&str]| Cli::try_parse_from(base.iter().chain(extra).copied()).map(|_| ());
        assert!(with(&[]).is_ok());
        assert!(with(&["--tls-key", "k", "--tls-cert", "c", "--tls-ca", "ca"]).is_ok());
        for partial in [
            &["--tls-key", "k"][..],
            &["--tls-key", "k", "--tls-cert", "c"],
            &["--tls-ca", "ca"],
            &["--peer-cert", "b=b.crt"],
        ] {
            let e = with(partial).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::MissingRequiredArgument,
                "{partial:?}"
            );
        }
    }

    #[test]
    fn parses_subcommands() {
        let bench = |size: &str, count: &str| {
            let base = ["mpc", "bench", "--name", "b", "--listen", "127.0.0.1:0"];
            let rest = ["--peer", "a=h:1", "--size", size, "--count", count];
            Cli::try_parse_from(base.into_iter().chain(rest))
        };
        let cli = bench("1k", "3").unwrap();
        let Command::Bench(b) = cli.command else {
            panic!("not bench")
        };
        assert_eq!((b.size, b.count, b.inflight), (1000, 3, 1));
        assert_eq!(b.timeout, Duration::from_secs(60));

        let cli = Cli::try_parse_from(["mpc", "certs", "--parties", "a,b", "--out", "d"]).unwrap();
        let Command::Certs(c) = cli.command else {
            panic!("not certs")
        };
        assert_eq!(c.parties.0, ["a", "b"]);
        assert_eq!(c.days, certs::DEFAULT_DAYS);

        assert!(Cli::try_parse_from(["mpc", "certs", "--parties", "a,,b", "--out", "d"]).is_err());
        assert!(bench("1", "0").is_err());
    }
}
