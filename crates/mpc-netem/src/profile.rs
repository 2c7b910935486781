//! Link profiles: `lan`, `wan`, or `LATENCY[,BANDWIDTH]`.

use std::str::FromStr;
use std::time::Duration;

/// How one directed link behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkProfile {
    /// One-way latency.
    pub latency: Duration,
    /// Up to this much more latency per message (uniform, seeded).
    pub jitter: Duration,
    /// Bits per second; `None`: unlimited.
    pub bandwidth_bps: Option<u64>,
}

impl LinkProfile {
    /// A LAN: 0.25 ms one-way, 1 Gbit/s.
    pub fn lan() -> Self {
        LinkProfile {
            latency: Duration::from_micros(250),
            jitter: Duration::ZERO,
            bandwidth_bps: Some(1_000_000_000),
        }
    }

    /// A WAN: 25 ms one-way, 100 Mbit/s.
    pub fn wan() -> Self {
        LinkProfile {
            latency: Duration::from_millis(25),
            jitter: Duration::ZERO,
            bandwidth_bps: Some(100_000_000),
        }
    }

    /// `latency` one-way, unlimited bandwidth.
    pub fn latency(latency: Duration) -> Self {
        LinkProfile {
            latency,
            jitter: Duration::ZERO,
            bandwidth_bps: None,
        }
    }

    /// With `bits_per_second` of bandwidth.
    pub fn with_bandwidth(mut self, bits_per_second: u64) -> Self {
        self.bandwidth_bps = Some(bits_per_second.max(1));
        self
    }

    /// With up to `jitter` more latency per message.
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// How long `bytes` bytes occupy the link.
    pub fn transmission_time(&self, bytes: u64) -> Duration {
        match self.bandwidth_bps {
            None => Duration::ZERO,
            Some(bps) => {
                let nanos = (bytes as u128 * 8 * 1_000_000_000).div_ceil(bps.max(1) as u128);
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        }
    }
}

/// Why a profile does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a link profile: {why} (expected lan, wan, or LATENCY[,BANDWIDTH] such as 20ms,100Mbit)")]
pub struct ProfileError {
    input: String,
    why: &'static str,
}

fn split_number(s: &str) -> Option<(f64, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..end].parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some((n, s[end..].trim()))
}

fn parse_latency(s: &str) -> Option<Duration> {
    let (n, unit) = split_number(s)?;
    let seconds = match unit {
        "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        _ => return None,
    };
    (seconds <= 3600.0).then(|| Duration::from_secs_f64(seconds))
}

fn parse_bandwidth(s: &str) -> Option<u64> {
    let (n, unit) = split_number(s)?;
    let bps = match unit.to_ascii_lowercase().as_str() {
        "bit" | "bps" => n,
        "kbit" => n * 1e3,
        "mbit" => n * 1e6,
        "gbit" => n * 1e9,
        _ => return None,
    };
    (1.0..=1e13).contains(&bps).then_some(bps as u64)
}

impl FromStr for LinkProfile {
    type Err = ProfileError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| ProfileError {
            input: s.to_owned(),
            why,
        };
        match s.trim() {
            "lan" => return Ok(LinkProfile::lan()),
            "wan" => return Ok(LinkProfile::wan()),
            _ => {}
        }
        let mut parts = s.split(',').map(str::trim);
        let latency = parts
            .next()
            .and_then(parse_latency)
            .ok_or_else(|| err("the latency is not a number with s, ms or us"))?;
        let mut p = LinkProfile::latency(latency);
        if let Some(b) = parts.next() {
            let bps = parse_bandwidth(b)
                .ok_or_else(|| err("the bandwidth is not a number with bit, kbit, Mbit or Gbit"))?;
            p = p.with_bandwidth(bps);
        }
        if parts.next().is_some() {
            return Err(err("more than two parts"));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse() {
        assert_eq!("lan".parse::<LinkProfile>().unwrap(), LinkProfile::lan());
        assert_eq!("wan".parse::<LinkProfile>().unwrap(), LinkProfile::wan());
        let p: LinkProfile = "1ms,100Mbit".parse().unwrap();
        assert_eq!(p.latency, Duration::from_millis(1));
        assert_eq!(p.bandwidth_bps, Some(100_000_000));
        let p: LinkProfile = "0.25ms, 1Gbit".parse().unwrap();
        assert_eq!(p.latency, Duration::from_micros(250));
        assert_eq!(p.bandwidth_bps, Some(1_000_000_000));
        assert_eq!("20ms".parse::<LinkProfile>().unwrap().bandwidth_bps, None);
        for bad in [
            "",
            "fast",
            "20",
            "20ms,",
            "20ms,100",
            "-1ms",
            "20ms,1Mbit,x",
            "1e9s",
        ] {
            assert!(bad.parse::<LinkProfile>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn transmission_time_follows_bandwidth() {
        let p = LinkProfile::latency(Duration::ZERO).with_bandwidth(100_000_000);
        // 16 MiB at 100 Mbit/s: 1.342 s
        assert_eq!(
            p.transmission_time(16 << 20),
            Duration::from_nanos(1_342_177_280)
        );
        assert_eq!(
            LinkProfile::latency(Duration::ZERO).transmission_time(1 << 30),
            Duration::ZERO
        );
    }
}
