//! The sizes of HTTP/1.1 heads, as both sides count them for the ledger's
//! wire bytes (the client for what it writes and reads back, the server for
//! what it reads and answers).

use http::{HeaderMap, StatusCode};

/// Decimal digits of `n`.
pub(crate) fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// `name: value\r\n` for every header.
pub(crate) fn headers_len(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + 2 + v.len() + 2)
        .sum()
}

/// `HTTP/1.1 200 OK\r\n`.
pub(crate) fn status_line_len(status: StatusCode) -> usize {
    "HTTP/1.1 ".len() + 3 + 1 + status.canonical_reason().map_or(0, str::len) + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(
            (digits(0), digits(9), digits(10), digits(u64::MAX)),
            (1, 1, 2, 20)
        );
        assert_eq!(status_line_len(StatusCode::OK), "HTTP/1.1 200 OK\r\n".len());
        let mut h = HeaderMap::new();
        h.insert("cookie", "server_port=8001".parse().unwrap());
        assert_eq!(headers_len(&h), "cookie: server_port=8001\r\n".len());
    }
}
