//! A fault-injecting TCP proxy on 127.0.0.1, for the reliability tests.
//!
//! Each accepted connection gets a fate, drawn from a seeded generator:
//! pass through; refused (closed at once); cut mid-request (some bytes of
//! the request are forwarded, then both sides are closed); response dropped
//! (the request reaches the server in full, its response is thrown away
//! and the client's connection closed); or delayed. While the proxy is
//! *down*, every connection is refused.
//!
//! With [`Options`], every n-th connection can *stall* instead (the request
//! goes through, responses are swallowed, and the client's connection is
//! kept open until the client closes it: a middlebox eating responses), and
//! connections that pass can be throttled to a rate in bytes per second,
//! in each direction (a slow path).

use crate::Rng;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Passed through (one exchange, then closed cleanly).
    Pass,
    /// Closed at once.
    Refuse,
    /// Some bytes of the request forwarded, then both sides closed.
    CutRequest,
    /// The request goes through; its response is thrown away and the
    /// client's connection closed.
    DropResponse,
    /// Passed through after 30 ms.
    Delay,
    /// The request goes through; responses are swallowed and the client's
    /// connection kept open until the client closes it.
    Stall,
}

/// How the proxy treats connections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// About this share of connections is broken (refused, cut mid-request
    /// or their response dropped), drawn from the seeded generator.
    pub broken_percent: u64,
    /// Seed of the generator.
    pub seed: u64,
    /// Every this-th connection (counting from 1 in accept order) stalls;
    /// 0: none.
    pub stall_every: u64,
    /// Bytes per second, in each direction, of connections that pass.
    pub rate: Option<u64>,
}

/// Counts of fates dealt.
#[derive(Debug, Default)]
pub struct Tally {
    /// Connections passed through.
    pub pass: AtomicU64,
    /// Connections refused.
    pub refuse: AtomicU64,
    /// Connections cut mid-request.
    pub cut: AtomicU64,
    /// Connections whose response was dropped.
    pub drop_response: AtomicU64,
    /// Connections delayed.
    pub delay: AtomicU64,
    /// Connections stalled.
    pub stall: AtomicU64,
    /// Stalled connections that carried a request.
    pub stall_used: AtomicU64,
    /// Of these, the ones the client closed (the proxy never closes them).
    pub stall_closed: AtomicU64,
}

impl Tally {
    /// Connections refused, cut, with their response dropped, or stalled.
    pub fn broken(&self) -> u64 {
        self.refuse.load(Ordering::Relaxed)
            + self.cut.load(Ordering::Relaxed)
            + self.drop_response.load(Ordering::Relaxed)
            + self.stall.load(Ordering::Relaxed)
    }
    /// Every connection accepted.
    pub fn total(&self) -> u64 {
        self.broken() + self.pass.load(Ordering::Relaxed) + self.delay.load(Ordering::Relaxed)
    }
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    /// Where it listens (127.0.0.1, an OS-assigned port).
    pub addr: String,
    /// The fates dealt so far.
    pub tally: Arc<Tally>,
    down: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// A proxy to `upstream` breaking about `broken_percent` of connections.
    pub async fn start(upstream: String, broken_percent: u64, seed: u64) -> Proxy {
        Proxy::start_with(
            upstream,
            Options {
                broken_percent,
                seed,
                ..Options::default()
            },
        )
        .await
    }

    /// A proxy to `upstream` treating connections as `options` say.
    pub async fn start_with(upstream: String, options: Options) -> Proxy {
        let Options {
            broken_percent,
            seed,
            stall_every,
            rate,
        } = options;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let tally = Arc::new(Tally::default());
        let down = Arc::new(AtomicBool::new(false));
        let rng = Arc::new(Mutex::new(Rng(seed | 1)));
        let (t, d) = (tally.clone(), down.clone());
        let task = tokio::spawn(async move {
            let mut accepted = 0u64;
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                accepted += 1;
                let (fate, cut_at) = {
                    let mut r = rng.lock().unwrap();
                    let roll = r.next() % 100;
                    let cut_at = 1 + (r.next() % 300) as usize;
                    let fate = if d.load(Ordering::Relaxed) {
                        Fate::Refuse
                    } else if stall_every > 0 && accepted % stall_every == 0 {
                        Fate::Stall
                    } else if roll < broken_percent {
                        match r.next() % 3 {
                            0 => Fate::Refuse,
                            1 => Fate::CutRequest,
                            _ => Fate::DropResponse,
                        }
                    } else if roll < broken_percent + 10 {
                        Fate::Delay
                    } else {
                        Fate::Pass
                    };
                    (fate, cut_at)
                };
                let counter = match fate {
                    Fate::Pass => &t.pass,
                    Fate::Refuse => &t.refuse,
                    Fate::CutRequest => &t.cut,
                    Fate::DropResponse => &t.drop_response,
                    Fate::Delay => &t.delay,
                    Fate::Stall => &t.stall,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let upstream = upstream.clone();
                tokio::spawn(handle(client, upstream, fate, cut_at, rate, t.clone()));
            }
        });
        Proxy {
            addr,
            tally,
            down,
            task,
        }
    }

    /// While down, every connection is refused.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }

    /// The port of [`Proxy::addr`].
    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }
}

/// Copies `r` to `w` at most `rate` bytes per second (unthrottled if
/// `None`) until `r` ends or either side fails.
async fn copy_at<R, W>(r: &mut R, w: &mut W, rate: Option<u64>)
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let Some(rate) = rate else {
        let _ = tokio::io::copy(r, w).await;
        return;
    };
    // pieces of a fiftieth of a second, so the pace is smooth
    let piece = (rate / 50).clamp(1, 64 * 1024) as usize;
    let mut buf = vec![0u8; piece];
    let start = tokio::time::Instant::now();
    let mut sent = 0u64;
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
        sent += n as u64;
        tokio::time::sleep_until(start + Duration::from_secs_f64(sent as f64 / rate as f64)).await;
    }
}

/// Writes `data` at most `rate` bytes per second (unthrottled if `None`).
async fn write_at<W: AsyncWriteExt + Unpin>(w: &mut W, data: &[u8], rate: Option<u64>) {
    let mut r = data;
    copy_at(&mut r, w, rate).await;
}

async fn handle(
    mut client: TcpStream,
    upstream: String,
    fate: Fate,
    cut_at: usize,
    rate: Option<u64>,
    tally: Arc<Tally>,
) {
    if fate == Fate::Refuse {
        return; // dropping closes the connection at once
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    match fate {
        Fate::CutRequest => {
            // forward a strict prefix of what the client sent first, then
            // close both sides: the server sees a truncated request
            let mut buf = vec![0u8; 64 * 1024];
            if let Ok(n) = cr.read(&mut buf).await {
                let keep = n.saturating_sub(1).min(cut_at);
                let _ = sw.write_all(&buf[..keep]).await;
            }
        }
        Fate::DropResponse => {
            // the request (whole, and any that follow) goes through; the
            // first bytes of response are swallowed and the client cut off
            let up = async {
                let _ = tokio::io::copy(&mut cr, &mut sw).await;
            };
            let down = async {
                let mut buf = [0u8; 4096];
                let _ = sr.read(&mut buf).await;
            };
            tokio::select! {
                _ = up => {}
                _ = down => {}
            }
        }
        Fate::Stall => {
            // the requests go through, every response is swallowed, and the
            // client's connection stays open until the client closes it
            let mut used = false;
            let up = async {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        // once the server is gone, keep reading the client
                        Ok(n) => {
                            if !used {
                                used = true;
                                tally.stall_used.fetch_add(1, Ordering::Relaxed);
                            }
                            let _ = sw.write_all(&buf[..n]).await;
                        }
                    }
                }
            };
            let down = async {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                std::future::pending::<()>().await
            };
            tokio::select! {
                _ = up => {}
                _ = down => {}
            }
            if used {
                tally.stall_closed.fetch_add(1, Ordering::Relaxed);
            }
        }
        Fate::Delay | Fate::Pass => {
            if fate == Fate::Delay {
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            // one exchange per connection: the first response is forwarded,
            // then the connection is closed (cleanly), so that every
            // request meets a fresh connection and its own fate
            let up = copy_at(&mut cr, &mut sw, rate);
            let down = async {
                let mut buf = vec![0u8; 64 * 1024];
                if let Ok(n) = sr.read(&mut buf).await {
                    write_at(&mut cw, &buf[..n], rate).await;
                }
            };
            tokio::select! {
                _ = up => {}
                _ = down => {}
            }
        }
        Fate::Refuse => {}
    }
}
