//! `raw-tcp`: the baseline of `cargo xtask bench`.
//!
//! Frames are an 8-byte little-endian length and the payload, over std
//! `TcpStream`s with `TCP_NODELAY`, one connection, blocking I/O.
//!
//! * `raw-tcp echo --listen ADDR`: prints `ready listen=HOST:PORT`, then
//!   for every connection (a thread each) reads whole frames and writes
//!   each back in one write (a full echo: the frame is read completely
//!   before it goes back, like `mpc echo`). Runs until killed.
//! * `raw-tcp bench --connect ADDR --size N --count K [--inflight J]`:
//!   sends K random payloads of N bytes keeping J under way (a writer
//!   thread when J > 1), checks every echo and prints the JSON line of
//!   `mpc bench`.

use std::io::{self, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use mpc_bench::{exit, parse_size};
use mpc_measure::{Payloads, Record, Usage};

/// Largest frame accepted (a bound on what a stray connection can make the
/// echo allocate).
const MAX_FRAME: u64 = 1 << 30;
const HEADER: usize = 8;

/// Raw-TCP baseline: length-prefixed echo over std sockets with TCP_NODELAY
#[derive(Debug, Parser)]
#[command(name = "raw-tcp")]
enum Command {
    /// Echo every frame back on the connection it came from.
    Echo {
        /// Address to listen on (port 0 picks one; see the ready line).
        #[arg(long, value_name = "HOST:PORT")]
        listen: String,
    },
    /// Measure round trips against `raw-tcp echo`.
    Bench {
        /// The echo's address.
        #[arg(long, value_name = "HOST:PORT")]
        connect: String,
        /// Payload size in bytes (k, M, Ki, Mi suffixes).
        #[arg(long, value_parser = parse_size)]
        size: u64,
        /// Number of messages.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        count: u64,
        /// Messages under way at once.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=4096))]
        inflight: u64,
    },
}

fn main() -> ExitCode {
    exit(
        "raw-tcp",
        match Command::parse() {
            Command::Echo { listen } => echo(&listen),
            Command::Bench {
                connect,
                size,
                count,
                inflight,
            } => bench(&connect, size, count, inflight),
        },
    )
}

fn echo(listen: &str) -> Result<()> {
    let listener = TcpListener::bind(listen).with_context(|| format!("listening on {listen}"))?;
    println!("ready listen={}", listener.local_addr()?);
    io::stdout().flush()?;
    for conn in listener.incoming() {
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                eprintln!("raw-tcp echo: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        std::thread::spawn(move || {
            let before = Usage::of_this_process();
            if let Err(e) = serve(stream) {
                eprintln!("raw-tcp echo: connection ended: {e}");
            }
            // what the process used while it served this connection (the
            // benchmark makes one at a time)
            if let (Some(before), Some(after)) = (before, Usage::of_this_process()) {
                println!("usage {}", after.since(before).words());
            }
        });
    }
    Ok(())
}

/// Echoes frames until the peer closes the connection.
fn serve(stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let mut frame: Vec<u8> = Vec::new();
    loop {
        let mut header = [0u8; HEADER];
        match reader.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let len = u64::from_le_bytes(header);
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame of {len} bytes"),
            ));
        }
        let total = HEADER + len as usize;
        if frame.len() < total {
            frame.resize(total, 0);
        }
        frame[..HEADER].copy_from_slice(&header);
        reader.read_exact(&mut frame[HEADER..total])?;
        writer.write_all(&frame[..total])?;
    }
}

/// A frame buffer for payload `i`: header and payload, written with one
/// `write_all`.
fn new_frame(payloads: &Payloads) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER + payloads.len());
    frame.extend_from_slice(&(payloads.len() as u64).to_le_bytes());
    frame.extend_from_slice(&payloads.payload(0));
    frame
}

/// Reads one frame into `buf` (resized to the payload) and returns it.
fn read_frame<'a>(r: &mut impl Read, buf: &'a mut Vec<u8>) -> Result<&'a [u8]> {
    let mut header = [0u8; HEADER];
    r.read_exact(&mut header).context("reading an echo")?;
    let len = u64::from_le_bytes(header);
    if len > MAX_FRAME {
        bail!("echo frame of {len} bytes");
    }
    let len = len as usize;
    if buf.len() < len {
        buf.resize(len, 0);
    }
    r.read_exact(&mut buf[..len]).context("reading an echo")?;
    Ok(&buf[..len])
}

fn bench(connect: &str, size: u64, count: u64, inflight: u64) -> Result<()> {
    let size_usize = usize::try_from(size).context("--size does not fit in memory")?;
    let payloads = Arc::new(Payloads::new(size_usize));
    let stream = TcpStream::connect(connect).with_context(|| format!("connecting to {connect}"))?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::with_capacity(64 << 10, stream.try_clone()?);
    let mut echo_buf = Vec::new();
    let mut roundtrips = Duration::ZERO;
    let mut bad = 0u64;

    let before = Usage::of_this_process();
    let mut writer_sleeps = 0;
    let elapsed = if inflight == 1 {
        let mut writer = stream;
        let mut frame = new_frame(&payloads);
        let start = Instant::now();
        for i in 0..count {
            payloads.stamp(i, &mut frame[HEADER..]);
            let sent = Instant::now();
            writer.write_all(&frame).context("sending")?;
            let echo = read_frame(&mut reader, &mut echo_buf)?;
            roundtrips += sent.elapsed();
            if !payloads.matches(i, echo) {
                bad += 1;
            }
        }
        start.elapsed()
    } else {
        // The writer keeps `inflight` messages under way: it sends one more
        // for every echo the reader (this thread) takes in.
        let (permit_tx, permit_rx) = mpsc::channel::<()>();
        let (sent_tx, sent_rx) = mpsc::channel::<Instant>();
        let mut writer = stream;
        let wp = payloads.clone();
        let start = Instant::now();
        let handle = std::thread::spawn(move || -> Result<u64> {
            let mut frame = new_frame(&wp);
            for i in 0..count {
                if i >= inflight && permit_rx.recv().is_err() {
                    return Ok(0); // the reader gave up
                }
                wp.stamp(i, &mut frame[HEADER..]);
                if sent_tx.send(Instant::now()).is_err() {
                    return Ok(0);
                }
                writer.write_all(&frame).context("sending")?;
            }
            Ok(Usage::sleeps_of_this_thread().unwrap_or(0))
        });
        let mut outcome = Ok(());
        for i in 0..count {
            let echo = match read_frame(&mut reader, &mut echo_buf) {
                Ok(e) => e,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            let Ok(sent) = sent_rx.recv() else {
                outcome = Err(anyhow::anyhow!("echo of a message never sent"));
                break;
            };
            roundtrips += sent.elapsed();
            if !payloads.matches(i, echo) {
                bad += 1;
            }
            let _ = permit_tx.send(());
        }
        let elapsed = start.elapsed();
        drop(permit_tx);
        match handle.join() {
            Ok(r) => writer_sleeps = r?,
            Err(_) => bail!("writer thread panicked"),
        }
        outcome?;
        elapsed
    };
    if bad > 0 {
        bail!("{bad} of {count} echoes differ from what was sent");
    }
    let usage = before.zip(Usage::of_this_process()).map(|(b, a)| {
        let mut u = a.since(b);
        u.sleeps += writer_sleeps; // the writer thread has ended
        u
    });
    println!(
        "{}",
        Record::from_run(size, count, inflight, elapsed, roundtrips).with_usage(usage)
    );
    Ok(())
}
