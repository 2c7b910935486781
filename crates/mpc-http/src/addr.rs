//! Peer addresses and sender identification without TLS.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A configured peer's server address.
#[derive(Debug, Clone)]
pub(crate) struct PeerAddr {
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// Splits `host:port` (`[v6]:port` for IPv6 literals).
pub(crate) fn split_host_port(s: &str) -> Option<(String, u16)> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some((sa.ip().to_string(), sa.port()));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.is_empty() || host.contains([':', '[', ']', '/']) {
        return None;
    }
    Some((host.to_owned(), port.parse().ok()?))
}

/// An address as the sender check compares it: IPv4-mapped IPv6 is IPv4,
/// and every loopback address (`127.0.0.0/8`, `::1`) is the same host, as
/// in the Python package (`localhost`, `127.0.0.1`, `::1` are equal).
pub(crate) fn host_key(ip: IpAddr) -> IpAddr {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    if ip.is_loopback() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        ip
    }
}

/// Resolves a host name (or literal) to its addresses' keys.
pub(crate) async fn resolve(host: &str, port: u16) -> Vec<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![host_key(ip)];
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let mut v: Vec<IpAddr> = addrs.map(|a| host_key(a.ip())).collect();
            v.sort();
            v.dedup();
            v
        }
        Err(e) => {
            tracing::warn!(host, error = %e, "cannot resolve peer host (will retry when a request arrives)");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(
            split_host_port("127.0.0.1:80"),
            Some(("127.0.0.1".into(), 80))
        );
        assert_eq!(
            split_host_port("localhost:8001"),
            Some(("localhost".into(), 8001))
        );
        assert_eq!(split_host_port("[::1]:9"), Some(("::1".into(), 9)));
        assert_eq!(split_host_port("host"), None);
        assert_eq!(split_host_port("host:port"), None);
        assert_eq!(split_host_port(":80"), None);
        assert_eq!(split_host_port("host:70000"), None);
    }

    #[test]
    fn loopbacks_are_one_host() {
        let a = host_key("127.0.0.1".parse().unwrap());
        assert_eq!(a, host_key("::1".parse().unwrap()));
        assert_eq!(a, host_key("127.0.0.2".parse().unwrap()));
        assert_eq!(a, host_key("::ffff:127.0.0.1".parse().unwrap()));
        assert_ne!(a, host_key("10.0.0.1".parse().unwrap()));
        assert_eq!(
            host_key("::ffff:10.1.2.3".parse().unwrap()),
            host_key("10.1.2.3".parse().unwrap())
        );
    }
}
