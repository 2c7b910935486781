//! Bodies over the limit (declared or growing while read) and lengths
//! that lie or are broken: refused, never delivered.

use std::time::{Duration, Instant};

use mpc_test_support::raw::{self, Ending, HANG_GUARD};
use tokio::io::AsyncWriteExt;

use crate::{
    assert_malformed, assert_one, attack, chunked_head, chunked_stream, declaring, limits, packet,
};

#[test]
fn bodies_over_the_limit_are_413() {
    attack(limits(), async |p| {
        let limit = 1u64 << 20;
        // declared too large: refused before a byte of body is read
        for declared in [limit + 1, 4 << 30, u64::MAX - 3] {
            let answer = raw::exchange(p.bob_addr, &declaring(&p.cookie(), declared)).await;
            assert_one(&answer, 413, &format!("Content-Length {declared}"));
            let body = &answer.only().body;
            assert!(
                body.contains(&format!(
                    "packet of {declared} bytes exceeds the limit of {limit} bytes"
                )),
                "{body}"
            );
            p.still_serving("a declared body over the limit").await;
        }
        // a length hyper itself cannot represent (it keeps the top values
        // for internal use): refused by the HTTP layer, as too large a head
        let answer = raw::exchange(p.bob_addr, &declaring(&p.cookie(), u64::MAX)).await;
        assert_one(&answer, 431, "Content-Length 2^64 - 1");
        p.still_serving("Content-Length 2^64 - 1").await;
        // declared too large, with the first bytes of the body: refused
        // before the body is read
        let mut req = declaring(&p.cookie(), limit + 1);
        req.extend_from_slice(&[0x5a; 1000]);
        let answer = raw::exchange(p.bob_addr, &req).await;
        assert_one(&answer, 413, "a declared body over the limit, being sent");
        p.still_serving("a declared body over the limit, being sent")
            .await;
        // chunked, growing past the limit while it is read: the limit, then
        // one byte more
        const LAST: &[u8] = b"1\r\nZ\r\n0\r\n\r\n";
        let (answer, written) =
            chunked_stream(p.bob_addr, &chunked_head(&p.cookie()), 16, LAST).await;
        assert_eq!(written, 16 * (1 << 16) + 9 * 16);
        assert_one(&answer, 413, "a chunked body of the limit and one byte");
        let body = &answer.only().body;
        assert!(
            body.contains(&format!("exceeds the limit of {limit} bytes")),
            "{body}"
        );
        p.still_serving("a chunked body over the limit").await;
        // chunked, 8 times the limit: the server stops reading at the limit
        // (the rest is never read; the answer may be lost to the reset, see
        // `stream`)
        let (answer, _) =
            chunked_stream(p.bob_addr, &chunked_head(&p.cookie()), 128, b"0\r\n\r\n").await;
        assert_ne!(answer.ending, Ending::StillOpen, "{answer:?}");
        assert!(matches!(answer.statuses()[..], [] | [413]), "{answer:?}");
        p.still_serving("a chunked body of 8 MiB").await;
        // the control: exactly the limit is read (and is a malformed packet: 400)
        let (answer, _) =
            chunked_stream(p.bob_addr, &chunked_head(&p.cookie()), 16, b"0\r\n\r\n").await;
        assert_malformed(&answer, "a chunked body of exactly the limit");
    });
}

#[test]
fn lying_or_broken_lengths_are_refused() {
    attack(limits(), async |p| {
        let good = packet("lie", b"\xa4lies");
        let cookie = p.cookie();
        let head = |len: &str| {
            format!(
                "POST / HTTP/1.1\r\nHost: bob\r\nCookie: {cookie}\r\nContent-Length: {len}\r\n\r\n"
            )
            .into_bytes()
        };

        // shorter body, then the client closes its side: the body is
        // incomplete, nothing is delivered
        let mut s = raw::connect(p.bob_addr).await;
        s.write_all(&head(&(good.len() + 10).to_string()))
            .await
            .unwrap();
        s.write_all(&good).await.unwrap();
        s.shutdown().await.unwrap();
        let (bytes, ending) = raw::read_to_end(&mut s, HANG_GUARD).await;
        let answer = raw::parse(&bytes, ending);
        assert_one(
            &answer,
            400,
            "a body shorter than its Content-Length, then EOF",
        );
        assert!(
            answer.only().body.starts_with("body could not be read"),
            "{answer:?}"
        );
        p.still_serving("a short body and EOF").await;

        // shorter body, connection held open: the body read times out (2 s here)
        let mut s = raw::connect(p.bob_addr).await;
        s.write_all(&head(&(good.len() + 10).to_string()))
            .await
            .unwrap();
        s.write_all(&good).await.unwrap();
        let started = Instant::now();
        let (bytes, ending) = raw::read_to_end(&mut s, HANG_GUARD).await;
        let waited = started.elapsed();
        let answer = raw::parse(&bytes, ending);
        assert_eq!(answer.statuses(), vec![408], "{answer:?}");
        assert!(
            waited >= Duration::from_millis(1500),
            "answered before the body read timeout: {waited:?}"
        );
        p.still_serving("a short body held open").await;

        // longer body: the declared bytes are a truncated packet (400), and
        // a 400 closes the connection, so the bytes beyond are never read
        // as another request
        let mut req = head("10");
        req.extend_from_slice(&good);
        let answer = raw::exchange(p.bob_addr, &req).await;
        assert_eq!(answer.statuses(), vec![400], "{answer:?}");
        assert_eq!(answer.only().header("connection"), Some("close"));
        assert!(
            answer.responses[0]
                .body
                .starts_with("Failed processing received message"),
            "{answer:?}"
        );
        assert_ne!(answer.ending, Ending::StillOpen);
        p.still_serving("a body longer than its Content-Length")
            .await;

        // not a number, negative, two different values
        let twice = format!("{}\r\nContent-Length: 3", good.len());
        for (what, len) in [
            ("that is not a number", "abc"),
            ("that is negative", "-1"),
            ("that is hex", "0x10"),
            ("that is too big for u64", "99999999999999999999999"),
            ("that is empty", ""),
            ("given twice, with different values", &twice),
        ] {
            let mut req = head(len);
            req.extend_from_slice(&good);
            let answer = raw::exchange(p.bob_addr, &req).await;
            assert_eq!(
                answer.statuses(),
                vec![400],
                "a Content-Length {what}: {answer:?}"
            );
            p.still_serving(&format!("a Content-Length {what}")).await;
        }

        // broken chunked encodings
        for (what, body) in [
            (
                "a chunk size that is not hex",
                &b"zz\r\nabc\r\n0\r\n\r\n"[..],
            ),
            (
                "a chunk size that overflows",
                b"fffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
            ),
            ("a chunk longer than declared", b"2\r\nabcdef\r\n0\r\n\r\n"),
        ] {
            let mut req = chunked_head(&p.cookie());
            req.extend_from_slice(body);
            let answer = raw::exchange(p.bob_addr, &req).await;
            assert_one(&answer, 400, what);
            p.still_serving(what).await;
        }
    });
}
