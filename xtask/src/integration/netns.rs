//! The test hosts: one network namespace per party, each with one veth
//! link into a bridge of the run's own, on addresses of a /24 the run picks
//! for itself; their teardown (also of leftovers of runs that were
//! interrupted) and the reaper that tears down when the run is killed.
//!
//! Everything the run makes is named with [`PREFIX`] and the run's pid:
//! namespaces `mpcit<pid>-<host>`, the bridge `mpcit<pid>br`, the host ends
//! of the veths `mpcit<pid>v<i>` (the namespace ends are `eth0`, inside the
//! namespaces). Nothing else on the machine is touched.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

/// The prefix of every name the run gives to a namespace or a link.
pub(crate) const PREFIX: &str = "mpcit";

/// One test host: a namespace with one interface (`eth0`) on the bridge.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    /// The host's name in scenarios (`alice`, ...).
    pub(crate) name: String,
    /// Its namespace.
    pub(crate) ns: String,
    /// Its address.
    pub(crate) ip: Ipv4Addr,
    /// The host end of its veth, on the bridge.
    pub(crate) outer: String,
}

/// The namespaces, the bridge and the veths of one run; torn down when
/// dropped.
#[derive(Debug)]
pub(crate) struct Net {
    pub(crate) tag: String,
    pub(crate) bridge: String,
    pub(crate) subnet: [u8; 3],
    pub(crate) hosts: Vec<Host>,
    reaper: Option<Child>,
}

/// Runs `ip ARGS`; an error with ip's own message unless it succeeds.
pub(crate) fn ip(args: &[&str]) -> Result<()> {
    tool("ip", args)
}

/// Runs `tc ARGS`; an error with tc's own message unless it succeeds.
pub(crate) fn tc(args: &[&str]) -> Result<()> {
    tool("tc", args)
}

fn tool(tool: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {tool} {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "{tool} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Standard output of `ip ARGS` (empty if it fails).
fn ip_output(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Why this run cannot make test hosts, if it cannot: not root, or no
/// `ip netns`.
pub(crate) fn missing_prerequisite() -> Option<String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        });
    match uid.as_deref() {
        Some("0") => {}
        Some(u) => return Some(format!("it needs root (running as uid {u})")),
        None => return Some("it needs Linux and root (no /proc/self/status)".into()),
    }
    for t in ["ip", "tc"] {
        if Command::new(t)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Some(format!("it needs `{t}` (iproute2), which is not installed"));
        }
    }
    if Command::new("ip")
        .args(["netns", "list"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
    {
        return Some("`ip netns` does not work here".into());
    }
    // root of a container without the rights to make namespaces
    let probe = format!("{PREFIX}{}-probe", std::process::id());
    if let Err(e) = ip(&["netns", "add", &probe]) {
        return Some(format!("it cannot make a network namespace: {e:#}"));
    }
    if let Err(e) = ip(&["netns", "del", &probe]) {
        return Some(format!("it cannot remove a network namespace: {e:#}"));
    }
    None
}

/// The pid in a name `mpcit<pid>...`, if it is one of ours.
fn owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Our namespaces (names `mpcit...`) that exist now.
fn our_namespaces() -> Vec<String> {
    ip_output(&["netns", "list"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| owner(n).is_some())
        .map(str::to_owned)
        .collect()
}

/// Our links (names `mpcit...`) in this namespace.
fn our_links() -> Vec<String> {
    ip_output(&["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_owned())
        .filter(|n| owner(n).is_some())
        .collect()
}

/// Removes the namespaces and links of run `pid` (`None`: of every run
/// whose process is gone): kills what runs in the namespaces, deletes
/// them, the veths and the bridge. Returns what it removed.
pub(crate) fn remove(pid: Option<u32>) -> Vec<String> {
    let ours = |n: &str| match (owner(n), pid) {
        (Some(o), Some(p)) => o == p,
        (Some(o), None) => !alive(o),
        (None, _) => false,
    };
    let mut removed = Vec::new();
    for ns in our_namespaces().into_iter().filter(|n| ours(n)) {
        for p in ip_output(&["netns", "pids", &ns]).split_whitespace() {
            let _ = Command::new("kill")
                .args(["-KILL", p])
                .stderr(Stdio::null())
                .status();
        }
        if ip(&["netns", "del", &ns]).is_ok() {
            removed.push(format!("namespace {ns}"));
        }
    }
    // veths first (deleting one end deletes both), then the bridge
    let mut links: Vec<String> = our_links().into_iter().filter(|n| ours(n)).collect();
    links.sort_by_key(|n| n.ends_with("br"));
    for l in links {
        if ip(&["link", "del", &l]).is_ok() {
            removed.push(format!("link {l}"));
        }
    }
    removed
}

/// What is left of run `pid` (namespaces and links), for the final check.
pub(crate) fn leftovers(pid: u32) -> Vec<String> {
    our_namespaces()
        .into_iter()
        .chain(our_links())
        .filter(|n| owner(n) == Some(pid))
        .collect()
}

/// The IPv4 networks (address, prefix length) the host's own interfaces
/// and routes use.
fn used_networks() -> Vec<(u32, u32)> {
    let mut nets = Vec::new();
    let text = ip_output(&["-o", "-4", "addr", "show"]) + &ip_output(&["-4", "route", "show"]);
    for word in text.split_whitespace() {
        let (a, len) = match word.split_once('/') {
            Some((a, l)) => (a, l.parse::<u32>().ok()),
            None => (word, Some(32)),
        };
        if let (Ok(a), Some(len)) = (a.parse::<Ipv4Addr>(), len) {
            if len <= 32 {
                nets.push((u32::from(a), len));
            }
        }
    }
    nets
}

/// Whether the networks `a/alen` and `b/blen` overlap.
fn overlaps((a, alen): (u32, u32), (b, blen): (u32, u32)) -> bool {
    let len = alen.min(blen);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    a & mask == b & mask
}

/// A /24 inside 10.0.0.0/8 that no interface or route of the host uses.
fn pick_subnet() -> Result<[u8; 3]> {
    let used = used_networks();
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id().rotate_left(16);
    for _ in 0..1000 {
        // xorshift
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [b, c] = [(seed >> 8) as u8, seed as u8];
        if b == 0 || b == 255 {
            continue;
        }
        let net = (u32::from(Ipv4Addr::new(10, b, c, 0)), 24);
        if !used.iter().any(|u| overlaps(*u, net)) {
            return Ok([10, b, c]);
        }
    }
    bail!("found no free /24 inside 10.0.0.0/8 (the host's addresses and routes cover it)")
}

impl Net {
    /// Makes one namespace per name in `hosts`, a bridge and the veths,
    /// and starts the reaper. On an error, what was made is removed again.
    pub(crate) fn create(hosts: &[&str]) -> Result<Net> {
        let pid = std::process::id();
        let tag = format!("{PREFIX}{pid}");
        let subnet = pick_subnet()?;
        let mut net = Net {
            bridge: format!("{tag}br"),
            tag,
            subnet,
            hosts: Vec::new(),
            reaper: None,
        };
        net.reaper = spawn_reaper(pid);
        net.build(hosts)?; // on an error, drop tears down
        Ok(net)
    }

    fn build(&mut self, hosts: &[&str]) -> Result<()> {
        let br = self.bridge.clone();
        ip(&["link", "add", &br, "type", "bridge"])?;
        // bridged traffic bypasses the host's firewall (kernels without the
        // per-bridge switch just keep their setting)
        let _ = ip(&[
            "link",
            "set",
            &br,
            "type",
            "bridge",
            "nf_call_iptables",
            "0",
        ]);
        // no IPv6 link-local address on the run's links in this namespace
        // (older kernels keep their default)
        let _ = ip(&["link", "set", "dev", &br, "addrgenmode", "none"]);
        ip(&["link", "set", &br, "up"])?;
        for (i, name) in hosts.iter().enumerate() {
            let host = Host {
                name: (*name).to_owned(),
                ns: format!("{}-{name}", self.tag),
                ip: Ipv4Addr::new(self.subnet[0], self.subnet[1], self.subnet[2], 11 + i as u8),
                outer: format!("{}v{i}", self.tag),
            };
            ip(&["netns", "add", &host.ns])?;
            self.hosts.push(host.clone());
            ip(&[
                "link",
                "add",
                &host.outer,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &host.ns,
            ])?;
            let _ = ip(&["link", "set", "dev", &host.outer, "addrgenmode", "none"]);
            ip(&["link", "set", &host.outer, "master", &br, "up"])?;
            let cidr = format!("{}/24", host.ip);
            ip(&["-n", &host.ns, "addr", "add", &cidr, "dev", "eth0"])?;
            ip(&["-n", &host.ns, "link", "set", "lo", "up"])?;
            ip(&["-n", &host.ns, "link", "set", "eth0", "up"])?;
        }
        for h in &self.hosts {
            self.wait_up(h)?;
        }
        Ok(())
    }

    /// Waits (up to 5 s) until both ends of `host`'s link are up.
    pub(crate) fn wait_up(&self, host: &Host) -> Result<()> {
        for _ in 0..100 {
            let inner = ip_output(&["-n", &host.ns, "-o", "link", "show", "eth0"]);
            let outer = ip_output(&["-o", "link", "show", &host.outer]);
            if inner.contains("state UP") && outer.contains("state UP") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the link of {} does not come up", host.name)
    }

    /// The host called `name`.
    pub(crate) fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no test host {name}"))
    }

    /// The range of the run's addresses, e.g. `10.1.2.0/24`.
    pub(crate) fn range(&self) -> String {
        let [a, b, c] = self.subnet;
        format!("{a}.{b}.{c}.0/24")
    }

    /// Takes `host`'s interface down (`up == false`) or up again.
    pub(crate) fn set_link(&self, host: &Host, up: bool) -> Result<()> {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &host.ns, "link", "set", "eth0", state])?;
        if up {
            self.wait_up(host)?;
        }
        Ok(())
    }

    /// Removes everything of this run.
    pub(crate) fn teardown(&mut self) -> Vec<String> {
        let removed = remove(Some(std::process::id()));
        self.hosts.clear();
        if let Some(mut r) = self.reaper.take() {
            let _ = r.kill();
            let _ = r.wait();
        }
        removed
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Starts `xtask integration --reap PID` in a session of its own (so the
/// Ctrl-C that interrupts this run does not reach it): it waits until this
/// process is gone, for whatever reason, and removes what it left. `None`
/// (and a note) without `setsid`.
fn spawn_reaper(pid: u32) -> Option<Child> {
    let exe = std::env::current_exe().ok()?;
    match Command::new("setsid")
        .arg(exe)
        .args(["integration", "--reap", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("integration: no reaper ({e}); an interrupted run is cleaned up by the next");
            None
        }
    }
}

/// The reaper: waits until process `pid` is gone, then removes what it
/// left.
pub(crate) fn reap(pid: u32) {
    while alive(pid) {
        std::thread::sleep(Duration::from_millis(200));
    }
    remove(Some(pid));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_networks() {
        assert_eq!(owner("mpcit123-alice"), Some(123));
        assert_eq!(owner("mpcit123br"), Some(123));
        assert_eq!(owner("mpcitbr"), None);
        assert_eq!(owner("eth0"), None);
        let n = |s: &str, l| (u32::from(s.parse::<Ipv4Addr>().unwrap()), l);
        assert!(overlaps(n("10.1.2.0", 24), n("10.0.0.0", 8)));
        assert!(overlaps(n("10.1.2.7", 32), n("10.1.2.0", 24)));
        assert!(!overlaps(n("10.1.3.0", 24), n("10.1.2.0", 24)));
        assert!(overlaps(n("0.0.0.0", 0), n("10.1.2.0", 24)));
    }
}
