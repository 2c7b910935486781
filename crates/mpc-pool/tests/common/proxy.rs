//! A fault-injecting TCP proxy on 127.0.0.1, for the reliability tests.
//!
//! Each accepted connection gets a fate, drawn from a seeded generator:
//! pass through; refused (closed at once); cut mid-request (some bytes of
//! the request are forwarded, then both sides are closed); response dropped
//! (the request reaches the server in full, its response is thrown away
//! and the client's connection closed); or delayed. While the proxy is
//! *down*, every connection is refused.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Pass,
    Refuse,
    CutRequest,
    DropResponse,
    Delay,
}

/// Counts of fates dealt.
#[derive(Debug, Default)]
pub struct Tally {
    pub pass: AtomicU64,
    pub refuse: AtomicU64,
    pub cut: AtomicU64,
    pub drop_response: AtomicU64,
    pub delay: AtomicU64,
}

impl Tally {
    pub fn broken(&self) -> u64 {
        self.refuse.load(Ordering::Relaxed)
            + self.cut.load(Ordering::Relaxed)
            + self.drop_response.load(Ordering::Relaxed)
    }
    pub fn total(&self) -> u64 {
        self.broken() + self.pass.load(Ordering::Relaxed) + self.delay.load(Ordering::Relaxed)
    }
}

pub struct Proxy {
    pub addr: String,
    pub tally: Arc<Tally>,
    down: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// xorshift64*: deterministic fates for a seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl Proxy {
    /// A proxy to `upstream` breaking about `broken_percent` of connections.
    pub async fn start(upstream: String, broken_percent: u64, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let tally = Arc::new(Tally::default());
        let down = Arc::new(AtomicBool::new(false));
        let rng = Arc::new(Mutex::new(Rng(seed | 1)));
        let (t, d) = (tally.clone(), down.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let (fate, cut_at) = {
                    let mut r = rng.lock().unwrap();
                    let roll = r.next() % 100;
                    let cut_at = 1 + (r.next() % 300) as usize;
                    let fate = if d.load(Ordering::Relaxed) {
                        Fate::Refuse
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
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let upstream = upstream.clone();
                tokio::spawn(handle(client, upstream, fate, cut_at));
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

    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }
}

async fn handle(mut client: TcpStream, upstream: String, fate: Fate, cut_at: usize) {
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
        Fate::Delay | Fate::Pass => {
            if fate == Fate::Delay {
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            // one exchange per connection: the first response is forwarded,
            // then the connection is closed (cleanly), so that every
            // request meets a fresh connection and its own fate
            let up = async {
                let _ = tokio::io::copy(&mut cr, &mut sw).await;
            };
            let down = async {
                let mut buf = vec![0u8; 64 * 1024];
                if let Ok(n) = sr.read(&mut buf).await {
                    let _ = cw.write_all(&buf[..n]).await;
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
