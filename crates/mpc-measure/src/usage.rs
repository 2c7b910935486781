//! What a process used while it ran a benchmark: CPU time, minor page
//! faults and sleeps, read from Linux's `/proc` (nothing on other systems).

use std::fmt;

/// Clock ticks per second of `/proc/<pid>/stat`'s times (`USER_HZ`, 100 on
/// every Linux architecture's user-space ABI).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time, minor page faults and voluntary context switches of a
/// process, or of a part of its run ([`Usage::since`]).
///
/// Written inside a [`Record`](crate::Record) line as
/// `{"cpu_s":..,"minor_faults":..,"sleeps":..}`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// User plus system CPU time of every thread, seconds (10 ms
    /// resolution).
    pub cpu_s: f64,
    /// Minor page faults: pages the kernel had to map (and zero) anew.
    pub minor_faults: u64,
    /// Voluntary context switches of the threads alive when read: how
    /// often the process went to sleep waiting (for the network, mostly).
    pub sleeps: u64,
}

impl Usage {
    const KEYS: [&'static str; 3] = ["cpu_s", "minor_faults", "sleeps"];

    /// This process's usage so far; `None` where `/proc` does not tell.
    pub fn of_this_process() -> Option<Usage> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let (cpu_s, minor_faults) = parse_stat(&stat)?;
        let mut sleeps = 0;
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            if let Ok(status) = std::fs::read_to_string(task.path().join("status")) {
                sleeps += parse_sleeps(&status).unwrap_or(0);
            }
        }
        Some(Usage {
            cpu_s,
            minor_faults,
            sleeps,
        })
    }

    /// Voluntary context switches of the calling thread so far (for a
    /// thread that ends before its process's usage is read: add what it
    /// returns to [`Usage::sleeps`]).
    pub fn sleeps_of_this_thread() -> Option<u64> {
        parse_sleeps(&std::fs::read_to_string("/proc/thread-self/status").ok()?)
    }

    /// The usage as words, `cpu_s=.. minor_faults=.. sleeps=..` (the
    /// `usage` line of the echoing programs), read back by
    /// [`Usage::from_words`].
    pub fn words(&self) -> String {
        let [c, m, s] = Self::KEYS;
        format!(
            "{c}={:.2} {m}={} {s}={}",
            self.cpu_s, self.minor_faults, self.sleeps
        )
    }

    /// Reads [`Usage::words`] out of a line of `key=value` words.
    pub fn from_words(line: &str) -> Option<Usage> {
        let word = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        };
        Some(Usage {
            cpu_s: word("cpu_s")?.parse().ok()?,
            minor_faults: word("minor_faults")?.parse().ok()?,
            sleeps: word("sleeps")?.parse().ok()?,
        })
    }

    /// What was used between `earlier` and `self`.
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            cpu_s: (self.cpu_s - earlier.cpu_s).max(0.0),
            minor_faults: self.minor_faults.saturating_sub(earlier.minor_faults),
            sleeps: self.sleeps.saturating_sub(earlier.sleeps),
        }
    }

    /// The usage object after `"key":` in `line`, if it has every field.
    pub fn parse_in(line: &str, key: &str) -> Option<Usage> {
        let pat = format!("\"{key}\":{{");
        let rest = &line[line.find(&pat)? + pat.len() - 1..];
        let obj = &rest[..rest.find('}')? + 1];
        Some(Usage {
            cpu_s: crate::field(obj, "cpu_s")?,
            minor_faults: crate::field(obj, "minor_faults")? as u64,
            sleeps: crate::field(obj, "sleeps")? as u64,
        })
    }
}

impl fmt::Display for Usage {
    /// The JSON object.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [c, m, s] = Self::KEYS;
        write!(
            f,
            "{{\"{c}\":{:.2},\"{m}\":{},\"{s}\":{}}}",
            self.cpu_s, self.minor_faults, self.sleeps
        )
    }
}

/// CPU seconds (utime + stime) and minor faults of a `/proc/<pid>/stat`
/// line. The command name (field 2) may hold spaces and parentheses: the
/// fields are counted after its last `)`.
fn parse_stat(stat: &str) -> Option<(f64, u64)> {
    let after = &stat[stat.rfind(')')? + 1..];
    // after the name: state(3) ppid pgrp session tty_nr tpgid flags
    // minflt(10) cminflt majflt cmajflt utime(14) stime(15)
    let fields: Vec<&str> = after.split_whitespace().collect();
    let num = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    let ticks = num(14)? + num(15)?;
    Some((ticks as f64 / TICKS_PER_SECOND, num(10)?))
}

/// `voluntary_ctxt_switches` of a `/proc/<pid>/task/<tid>/status` file.
fn parse_sleeps(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stat_and_status() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1234 0 5 0 150 47 0 0 20 0 3 0";
        assert_eq!(parse_stat(stat), Some((1.97, 1234)));
        assert_eq!(parse_stat("4242 (x) S 1"), None);
        let status = "Name:\tmpc\nvoluntary_ctxt_switches:\t812\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(parse_sleeps(status), Some(812));
        assert_eq!(parse_sleeps("Name:\tmpc\n"), None);
    }

    #[test]
    fn writes_and_reads_the_object() {
        let u = Usage {
            cpu_s: 1.25,
            minor_faults: 300,
            sleeps: 40,
        };
        let line = format!("{{\"seconds\":1.0,\"usage\":{u},\"rest\":2}}");
        assert_eq!(
            line,
            "{\"seconds\":1.0,\"usage\":{\"cpu_s\":1.25,\"minor_faults\":300,\"sleeps\":40},\"rest\":2}"
        );
        assert_eq!(Usage::parse_in(&line, "usage"), Some(u));
        assert_eq!(Usage::parse_in(&line, "peer_usage"), None);
        assert_eq!(u.words(), "cpu_s=1.25 minor_faults=300 sleeps=40");
        assert_eq!(Usage::from_words(&format!("usage {}", u.words())), Some(u));
        assert_eq!(Usage::from_words("usage cpu_s=1 sleeps=2"), None);
        let later = Usage {
            cpu_s: 2.0,
            minor_faults: 310,
            sleeps: 45,
        };
        let d = later.since(u);
        assert!((d.cpu_s - 0.75).abs() < 1e-9);
        assert_eq!((d.minor_faults, d.sleeps), (10, 5));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn this_process_is_read() {
        let a = Usage::of_this_process().expect("/proc/self on Linux");
        let v: Vec<u8> = vec![1; 8 << 20];
        std::hint::black_box(&v);
        let b = Usage::of_this_process().unwrap();
        // touching 8 MiB of fresh pages faults some in (a counter of this
        // process: only ever grows, whatever else runs beside)
        assert!(b.minor_faults > a.minor_faults, "{a:?} then {b:?}");
        assert!(b.cpu_s >= a.cpu_s);
    }
}
