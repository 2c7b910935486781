//! Connection slots: outsiders asking GET with keep-alive, and hundreds of
//! connections that never finish their request, cannot keep good traffic
//! out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mpc_test_support::raw::{self, Ending, HANG_GUARD};
use tokio::io::AsyncWriteExt;

use crate::{assert_one, attack, limits};

/// An outsider's connection asking `GET /` with keep-alive every `period`
/// (shorter than the header read timeout, so an idle keep-alive connection
/// would never be closed), reconnecting whenever the server closes it,
/// until `stop`. Returns (requests answered, answers that closed their
/// connection).
async fn keep_alive_getter(
    addr: SocketAddr,
    period: Duration,
    stop: Arc<AtomicBool>,
) -> (u32, u32) {
    let (mut answered, mut closed) = (0, 0);
    while !stop.load(Ordering::Acquire) {
        let Ok(Ok(mut s)) =
            tokio::time::timeout(HANG_GUARD, tokio::net::TcpStream::connect(addr)).await
        else {
            continue;
        };
        while !stop.load(Ordering::Acquire) {
            if s.write_all(b"GET / HTTP/1.1\r\nHost: bob\r\n\r\n")
                .await
                .is_err()
            {
                break;
            }
            // the answer, then either the close or silence until the next GET
            let (bytes, ending) = raw::read_to_end(&mut s, period).await;
            let answer = raw::parse(&bytes, ending);
            answered += answer.responses.len() as u32;
            if ending != Ending::StillOpen {
                closed += 1;
                break;
            }
        }
    }
    (answered, closed)
}

#[test]
fn outsiders_asking_get_with_keep_alive_cannot_hold_the_connection_slots() {
    attack(limits(), async |p| {
        // an unidentified request's answer closes its connection
        let answer = raw::exchange(p.bob_addr, b"GET / HTTP/1.1\r\nHost: bob\r\n\r\n").await;
        assert_one(&answer, 200, "GET with keep-alive");
        assert_eq!(answer.only().header("connection"), Some("close"));
        let unknown = raw::exchange(
            p.bob_addr,
            b"POST / HTTP/1.1\r\nHost: bob\r\nCookie: server_port=1\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        assert_one(&unknown, 401, "an unknown sender with keep-alive");
        // 200 outsiders (more than the 64 + 64 slots) ask GET every 300 ms
        // (the header read timeout is 1 s): with keep-alive honoured they
        // would hold every slot for as long as they like, and alice's
        // messages would wait behind them in the listen queue
        let stop = Arc::new(AtomicBool::new(false));
        let mut getters = tokio::task::JoinSet::new();
        for _ in 0..200 {
            getters.spawn(keep_alive_getter(
                p.bob_addr,
                Duration::from_millis(300),
                stop.clone(),
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        for i in 0..20 {
            p.still_serving(&format!(
                "(during) 200 outsiders asking GET with keep-alive, {i}"
            ))
            .await;
        }
        stop.store(true, Ordering::Release);
        let (mut answered, mut closed) = (0, 0);
        while let Some(r) = getters.join_next().await {
            let (a, c) = r.expect("getter");
            answered += a;
            closed += c;
        }
        assert!(answered > 100, "the outsiders were answered: {answered}");
        assert!(
            closed >= answered,
            "every answer closed its connection: {closed} closes, {answered} answers"
        );
    });
}

#[test]
fn hundreds_of_connections_that_never_finish_are_closed_and_good_traffic_gets_through() {
    attack(limits(), async |p| {
        let half: &'static [u8] = b"POST / HTTP/1.1\r\nHost: bob\r\nContent-Le";
        // 300 clients, 160 at a time (max_connections is 64): a third send
        // half a head, the others nothing at all
        let mut idle = raw::idle_clients(
            p.bob_addr,
            300,
            160,
            |i| if i % 3 == 0 { half } else { b"" },
            Duration::from_secs(90),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        // good traffic gets through while they hang (once the header read
        // timeout has freed slots)
        p.still_serving("(during) 300 idle connections").await;
        let mut connected = 0;
        let mut closed_after = Vec::new();
        while let Some(r) = idle.join_next().await {
            match r.expect("client task") {
                None => {}
                Some(c) => {
                    connected += 1;
                    closed_after.push(c);
                }
            }
        }
        assert_eq!(connected, 300, "every client got connected eventually");
        let still_open = closed_after.iter().filter(|c| c.is_none()).count();
        assert_eq!(still_open, 0, "connections the server never closed");
        let last = closed_after.iter().flatten().max().copied().unwrap();
        eprintln!("300 idle connections: the last was closed after {last:?}");
        p.still_serving("300 idle connections").await;
    });
}
