//! Heads: garbage, too many lines, endless, oversized, a method other than
//! POST and GET, and a head sent a byte at a time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mpc_test_support::raw::{self, Ending};
use tokio::io::AsyncWriteExt;

use crate::{assert_one, attack, header_unit, limits, packet, ENDLESS_HEAD};

#[test]
fn garbage_and_oversized_heads_are_refused_by_the_http_layer() {
    // a long header read timeout: the endless head must be cut off by size,
    // long before it
    let bob_limits = limits().with_header_read_timeout(Duration::from_secs(10));
    attack(bob_limits, async |p| {
        for (what, req) in [
            (
                "binary garbage",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec(),
            ),
            (
                "not a method",
                b"P\0ST / HTTP/1.1\r\nHost: bob\r\n\r\n".to_vec(),
            ),
            (
                "a header without a colon",
                b"POST / HTTP/1.1\r\nHost bob\r\n\r\n".to_vec(),
            ),
            (
                "a bad version",
                b"POST / HTTP/7.3\r\nHost: bob\r\n\r\n".to_vec(),
            ),
        ] {
            let answer = raw::exchange(p.bob_addr, &req).await;
            assert_one(&answer, 400, what);
            p.still_serving(what).await;
        }
        // more header lines than hyper takes (100), in one complete head: 431
        let mut req = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\n",
            p.cookie()
        )
        .into_bytes();
        for i in 0..200 {
            req.extend_from_slice(format!("X-Filler-{i}: y\r\n").as_bytes());
        }
        req.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let answer = raw::exchange(p.bob_addr, &req).await;
        assert_one(&answer, 431, "200 header lines");
        p.still_serving("200 header lines").await;
        // a head that never ends, 8 MiB of it: cut off at the head limit
        // (64 KiB), long before its end or the header read timeout (the 431
        // may be lost to the reset, see `stream`; a server that took all
        // of it would answer the completed head instead)
        let started = Instant::now();
        let (answer, _) =
            raw::stream(p.bob_addr, ENDLESS_HEAD, header_unit(), 128, b"\r\n\r\n").await;
        assert!(matches!(answer.statuses()[..], [] | [431]), "{answer:?}");
        assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not cut off before the header read timeout (10 s): {:?}",
            started.elapsed()
        );
        p.still_serving("an endless head").await;
        // a complete head of 1 MiB (100 lines of 10 KiB) with a good packet:
        // refused for its head (431, or the reset), not delivered
        let body = packet("big-head", b"\xc0");
        let mut head = format!(
            "POST / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\nContent-Length: {}\r\n",
            p.cookie(),
            body.len()
        )
        .into_bytes();
        for i in 0..95 {
            head.extend_from_slice(
                format!("X-Big-{i:02}: {}\r\n", "b".repeat(10 << 10)).as_bytes(),
            );
        }
        head.extend_from_slice(b"\r\n");
        let (answer, _) = raw::stream(p.bob_addr, &head, &body, 1, b"").await;
        assert!(matches!(answer.statuses()[..], [] | [431]), "{answer:?}");
        assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
        p.still_serving("a head of 1 MiB").await;
        // a method other than POST and GET
        let answer = raw::exchange(
            p.bob_addr,
            format!("PUT / HTTP/1.1\r\nHost: bob\r\nConnection: close\r\nCookie: {}\r\nContent-Length: 0\r\n\r\n", p.cookie()).as_bytes(),
        )
        .await;
        assert_one(&answer, 405, "PUT");
        p.still_serving("PUT").await;
    });
}

#[test]
fn a_client_sending_its_head_a_byte_at_a_time_is_cut_off() {
    attack(limits(), async |p| {
        let req = p.post(&packet("slow", b"\xa4slow"));
        let head_len = req.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        // 50 ms a byte: the head alone would take several seconds; the
        // header read timeout is 1 s
        assert!(head_len * 50 > 5_000);
        let s = raw::connect(p.bob_addr).await;
        let (mut rd, mut wr) = s.into_split();
        let closed = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let reader = tokio::spawn({
            let closed = closed.clone();
            async move {
                let (got, ending) = raw::read_to_end(&mut rd, Duration::from_secs(10)).await;
                closed.store(true, Ordering::Release);
                (ending != Ending::StillOpen, started.elapsed(), got)
            }
        });
        let mut sent = 0;
        // meanwhile, good traffic is served
        let good = async {
            p.still_serving("(during) a slow head").await;
        };
        let slow = async {
            while sent < req.len() && !closed.load(Ordering::Acquire) {
                if wr.write_all(&req[sent..sent + 1]).await.is_err() {
                    break;
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::join!(good, slow);
        let (was_closed, after, got) = reader.await.unwrap();
        assert!(
            was_closed,
            "the slow client was not disconnected within 10 s"
        );
        assert!(after < Duration::from_secs(10), "{after:?}");
        assert!(
            sent < head_len,
            "the server waited for the whole head ({sent} of {head_len} bytes sent in {after:?})"
        );
        assert!(
            got.is_empty() || !String::from_utf8_lossy(&got).contains(" 200 "),
            "{}",
            String::from_utf8_lossy(&got)
        );
        p.still_serving("a slow head").await;
    });
}
