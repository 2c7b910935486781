//! The `server_port` cookie that identifies the sender: missing, repeated,
//! malformed or foreign.

use std::net::{IpAddr, Ipv4Addr};

use mpc_pool::Value;
use mpc_test_support::raw;

use crate::{assert_one, attack, limits, packet, CAROL_PORT};

#[test]
fn missing_repeated_and_foreign_cookies() {
    attack(limits(), async |p| {
        let body = packet("c", b"\xa6cookie");
        let alice = p.cookie();
        const MISSING: &str = "missing server_port cookie";
        const NOT_A_PORT: &str = "server_port cookie is not a port number";
        const CONFLICT: &str = "conflicting server_port cookies";
        const UNKNOWN: &str = "Server did not recognize sender.";
        // (what, (cookie header, extra header lines), status, body)
        type Case<'a> = (&'a str, (Option<String>, String), u16, &'a str);
        let one = |c: &str| (Some(c.to_owned()), String::new());
        let cases: Vec<Case<'_>> = vec![
            ("no cookie", (None, String::new()), 400, MISSING),
            ("another cookie only", one("session=1"), 400, MISSING),
            ("the name in capitals", one("SERVER_PORT=1"), 400, MISSING),
            (
                "a port that is not a number",
                one("server_port=x"),
                400,
                NOT_A_PORT,
            ),
            (
                "a port out of range",
                one("server_port=65536"),
                400,
                NOT_A_PORT,
            ),
            ("a negative port", one("server_port=-1"), 400, NOT_A_PORT),
            ("an empty port", one("server_port="), 400, NOT_A_PORT),
            (
                "two different ports in one header",
                one(&format!("{alice}; server_port={CAROL_PORT}")),
                400,
                CONFLICT,
            ),
            (
                "two different ports in two headers",
                (
                    Some(alice.clone()),
                    format!("Cookie: server_port={CAROL_PORT}\r\n"),
                ),
                400,
                CONFLICT,
            ),
            (
                "a cookie header that is not text",
                one(&format!("{alice}; x=\u{0}")),
                400,
                "cookie header is not text",
            ),
            // foreign: the port of nobody
            ("the port of no peer", one("server_port=9"), 401, UNKNOWN),
            (
                "bob's own port",
                one(&format!("server_port={}", p.bob_addr.port())),
                401,
                UNKNOWN,
            ),
            // carol's port, from an address that is not carol's
            (
                "carol's port from 127.0.0.1",
                one(&format!("server_port={CAROL_PORT}")),
                401,
                UNKNOWN,
            ),
        ];
        for (what, (cookie, extra), status, text) in &cases {
            let mut req = raw::post(cookie.as_deref(), extra, &body);
            if *what == "a cookie header that is not text" {
                // a byte above 0x7f: legal in a header value, not text
                let at = req.windows(3).position(|w| w == b"x=\0").unwrap();
                req[at + 2] = 0xff;
            }
            let answer = raw::exchange(p.bob_addr, &req).await;
            assert_one(&answer, *status, what);
            assert_eq!(answer.only().body, *text, "{what}");
            p.still_serving(what).await;
        }

        // carol's port from another local address (127.0.0.2) is refused too
        let mut s = raw::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), p.bob_addr).await;
        let answer = raw::exchange_on(
            &mut s,
            &raw::post(Some(&format!("server_port={CAROL_PORT}")), "", &body),
        )
        .await;
        assert_one(&answer, 401, "carol's port from 127.0.0.2");
        p.still_serving("carol's port from 127.0.0.2").await;

        // controls: the same request with alice's port from 127.0.0.2 is
        // alice's (every loopback address is one host), and a repeated
        // identical cookie is fine
        let mut s = raw::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), p.bob_addr).await;
        let answer = raw::exchange_on(&mut s, &p.post(&packet("from-2", b"\x01"))).await;
        assert_one(&answer, 200, "alice's port from 127.0.0.2");
        assert_eq!(p.received_raw("from-2").await, Value::Int(1));
        let req = raw::post(
            Some(&alice),
            &format!("Cookie: a=b; {alice}\r\n"),
            &packet("twice", b"\x02"),
        );
        assert_one(
            &raw::exchange(p.bob_addr, &req).await,
            200,
            "one port twice",
        );
        assert_eq!(p.received_raw("twice").await, Value::Int(2));
    });
}
