//! Peer addresses and sender identification without TLS.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

/// A configured peer's server address.
#[derive(Debug, Clone)]
pub(crate) struct PeerAddr {
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// The port of an address given without one: 80 without TLS, 443 with
/// TLS, as in the Python package.
pub(crate) fn default_port(tls: bool) -> u16 {
    if tls {
        443
    } else {
        80
    }
}

/// Splits `host:port` (`[v6]:port` for IPv6 literals); `host`, `[v6]` or
/// a bare IPv6 literal without a port get `default_port`.
pub(crate) fn split_host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some((sa.ip().to_string(), sa.port()));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some((ip.to_string(), default_port));
    }
    if let Some(v6) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let ip = v6.parse::<std::net::Ipv6Addr>().ok()?;
        return Some((ip.to_string(), default_port));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (s, default_port),
    };
    // a number alone is a port without its host, not a host
    let numeric = host.bytes().all(|b| b.is_ascii_digit());
    if host.is_empty() || numeric || host.contains([':', '[', ']', '/']) {
        return None;
    }
    Some((host.to_owned(), port))
}

/// A listen address with its port: `host:port` as given, or `host` with
/// `default_port` (`None` when it is not an address).
pub(crate) fn listen_address(s: &str, default_port: u16) -> Option<String> {
    let (host, port) = split_host_port(s, default_port)?;
    Some(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
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

/// Looks a host up: its addresses' keys, empty when the lookup failed.
pub(crate) type Resolver =
    Box<dyn Fn(String, u16) -> Pin<Box<dyn Future<Output = Vec<IpAddr>> + Send>> + Send + Sync>;

/// The system resolver ([`resolve`]).
pub(crate) fn system_resolver() -> Resolver {
    Box::new(|host, port| Box::pin(async move { resolve(&host, port).await }))
}

/// Least time between two lookups of the peers' hosts.
pub(crate) const MIN_RELOOKUP: Duration = Duration::from_secs(1);

/// Which configured peer's server is at which address, for identifying
/// senders without TLS and for telling peers' hosts from others.
///
/// Host names are looked up at start and again on a miss, at most once a
/// [`MIN_RELOOKUP`] and one lookup at a time (concurrent misses wait for
/// the lookup in progress instead of starting their own). A peer whose
/// lookup fails keeps its last good addresses: a transient resolver error
/// never makes a peer unknown.
pub(crate) struct PeerDirectory {
    peers: Vec<PeerAddr>,
    resolver: Resolver,
    /// (host key, server port) → peer.
    by_addr: RwLock<HashMap<(IpAddr, u16), String>>,
    /// The host keys of all peers.
    hosts: RwLock<HashSet<IpAddr>>,
    /// Held while a lookup runs; the time of the last one.
    lookup: tokio::sync::Mutex<Option<Instant>>,
    /// Lookups started (for tests and logs).
    lookups: Mutex<u64>,
}

impl std::fmt::Debug for PeerDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerDirectory")
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl PeerDirectory {
    pub(crate) fn new(peers: Vec<PeerAddr>, resolver: Resolver) -> Self {
        PeerDirectory {
            peers,
            resolver,
            by_addr: RwLock::new(HashMap::new()),
            hosts: RwLock::new(HashSet::new()),
            lookup: tokio::sync::Mutex::new(None),
            lookups: Mutex::new(0),
        }
    }

    /// The peer whose server is at `(ip, port)`, from what is known now.
    pub(crate) fn get(&self, ip: IpAddr, port: u16) -> Option<String> {
        self.by_addr
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(host_key(ip), port))
            .cloned()
    }

    /// Whether `ip` is the host of a configured peer, from what is known now.
    pub(crate) fn is_peer_host(&self, ip: IpAddr) -> bool {
        self.hosts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&host_key(ip))
    }

    /// The peer at `(ip, port)`, looking the peers' hosts up again on a
    /// miss (when `port` is some peer's port and the last lookup is older
    /// than [`MIN_RELOOKUP`]).
    pub(crate) async fn identify(&self, ip: IpAddr, port: u16) -> Option<String> {
        if let Some(n) = self.get(ip, port) {
            return Some(n);
        }
        if self.peers.iter().any(|p| p.port == port) {
            self.refresh(false).await;
            return self.get(ip, port);
        }
        None
    }

    /// Looks up every peer's host (`force`: even if the last lookup is
    /// recent). One lookup at a time: a caller that had to wait for
    /// another's lookup uses its result.
    pub(crate) async fn refresh(&self, force: bool) {
        let asked = Instant::now();
        let mut last = self.lookup.lock().await;
        if let Some(t) = *last {
            // someone looked up while we waited, or just before
            if t >= asked || (!force && t.elapsed() < MIN_RELOOKUP) {
                return;
            }
        }
        *self.lookups.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let mut found: Vec<(usize, Vec<IpAddr>)> = Vec::with_capacity(self.peers.len());
        for (i, p) in self.peers.iter().enumerate() {
            found.push((i, (self.resolver)(p.host.clone(), p.port).await));
        }
        {
            let mut map = self.by_addr.write().unwrap_or_else(|e| e.into_inner());
            for (i, ips) in found {
                let p = &self.peers[i];
                if ips.is_empty() {
                    // keep the last good addresses
                    continue;
                }
                map.retain(|(_, port), name| !(name == &p.name && *port == p.port));
                for ip in ips {
                    map.insert((ip, p.port), p.name.clone());
                }
            }
            let hosts = map.keys().map(|(ip, _)| *ip).collect();
            *self.hosts.write().unwrap_or_else(|e| e.into_inner()) = hosts;
        }
        *last = Some(Instant::now());
    }

    /// How many lookups were started.
    #[cfg(test)]
    pub(crate) fn lookups(&self) -> u64 {
        *self.lookups.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn peer(name: &str, host: &str, port: u16) -> PeerAddr {
        PeerAddr {
            name: name.into(),
            host: host.into(),
            port,
        }
    }

    /// A resolver that answers from `answers` (host → addresses; a host
    /// with no entry fails), slowly, counting concurrent lookups.
    fn fake(
        answers: Arc<Mutex<HashMap<String, Vec<IpAddr>>>>,
        running: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    ) -> Resolver {
        Box::new(move |host, _port| {
            let answers = answers.clone();
            let (running, most) = (running.clone(), most.clone());
            Box::pin(async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                answers
                    .lock()
                    .unwrap()
                    .get(&host)
                    .cloned()
                    .unwrap_or_default()
            })
        })
    }

    #[tokio::test(start_paused = true)]
    async fn simultaneous_misses_share_one_lookup_and_a_failed_lookup_keeps_the_last_good_address()
    {
        let ip1: IpAddr = "10.0.0.1".parse().unwrap();
        let ip2: IpAddr = "10.0.0.2".parse().unwrap();
        let answers = Arc::new(Mutex::new(HashMap::from([(
            "bob.example".to_string(),
            vec![ip1],
        )])));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let dir = Arc::new(PeerDirectory::new(
            vec![peer("bob", "bob.example", 8002)],
            fake(answers.clone(), running, most.clone()),
        ));
        dir.refresh(true).await;
        assert_eq!(dir.get(ip1, 8002).as_deref(), Some("bob"));
        assert!(dir.is_peer_host(ip1));
        assert_eq!(dir.lookups(), 1);

        // bob moves to ip2; twenty requests from there miss at once
        answers
            .lock()
            .unwrap()
            .insert("bob.example".into(), vec![ip2]);
        tokio::time::advance(MIN_RELOOKUP * 2).await;
        let misses: Vec<_> = (0..20)
            .map(|_| {
                let dir = dir.clone();
                tokio::spawn(async move { dir.identify(ip2, 8002).await })
            })
            .collect();
        for m in misses {
            assert_eq!(m.await.unwrap().as_deref(), Some("bob"));
        }
        assert_eq!(dir.lookups(), 2, "one lookup for twenty misses");
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two lookups at once");
        assert_eq!(dir.get(ip1, 8002), None, "the old address is forgotten");

        // the resolver fails: bob keeps his last good address
        answers.lock().unwrap().clear();
        tokio::time::advance(MIN_RELOOKUP * 2).await;
        assert_eq!(dir.identify(ip1, 8002).await, None);
        assert_eq!(dir.lookups(), 3);
        assert_eq!(dir.get(ip2, 8002).as_deref(), Some("bob"));
        assert!(dir.is_peer_host(ip2));

        // a miss within MIN_RELOOKUP of the last lookup does not look up
        assert_eq!(dir.identify(ip1, 8002).await, None);
        assert_eq!(dir.lookups(), 3);
        // nor does a miss on a port no peer has
        tokio::time::advance(MIN_RELOOKUP * 2).await;
        assert_eq!(dir.identify(ip2, 9999).await, None);
        assert_eq!(dir.lookups(), 3);
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(
            split_host_port("127.0.0.1:80", 1),
            Some(("127.0.0.1".into(), 80))
        );
        assert_eq!(
            split_host_port("localhost:8001", 1),
            Some(("localhost".into(), 8001))
        );
        assert_eq!(split_host_port("[::1]:9", 1), Some(("::1".into(), 9)));
        assert_eq!(split_host_port("host:port", 1), None);
        assert_eq!(split_host_port(":80", 1), None);
        assert_eq!(split_host_port("host:70000", 1), None);
        assert_eq!(split_host_port("a/b", 1), None);
        assert_eq!(split_host_port("", 1), None);
        assert_eq!(split_host_port("8001", 1), None);
    }

    #[test]
    fn an_address_without_a_port_gets_80_or_443_as_in_python() {
        for tls in [false, true] {
            let port = default_port(tls);
            assert_eq!(port, if tls { 443 } else { 80 });
            // host names, such as container names, keep working
            assert_eq!(split_host_port("bob", port), Some(("bob".into(), port)));
            assert_eq!(
                split_host_port("bob.example.org", port),
                Some(("bob.example.org".into(), port))
            );
            assert_eq!(
                split_host_port("10.0.0.2", port),
                Some(("10.0.0.2".into(), port))
            );
            assert_eq!(split_host_port("::1", port), Some(("::1".into(), port)));
            assert_eq!(split_host_port("[::1]", port), Some(("::1".into(), port)));
            // an explicit port wins
            assert_eq!(
                split_host_port("bob:8002", port),
                Some(("bob".into(), 8002))
            );
        }
        assert_eq!(listen_address("0.0.0.0", 80).as_deref(), Some("0.0.0.0:80"));
        assert_eq!(listen_address("[::]", 443).as_deref(), Some("[::]:443"));
        assert_eq!(
            listen_address("127.0.0.1:0", 443).as_deref(),
            Some("127.0.0.1:0")
        );
        assert_eq!(listen_address("a/b", 80), None);
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
