//! The measurement of one run: the JSON line of `mpc bench`.

use std::fmt;
use std::time::Duration;

use crate::Usage;

/// One run of a benchmark client: `count` payloads of `size` bytes sent to
/// an echo, `inflight` of them under way at once. Written as one JSON line
/// (its [`Display`](fmt::Display)):
/// `{"size":..,"count":..,"inflight":..,"seconds":..,"roundtrip_us":..,"mb_per_s":..}`,
/// and, from `mpc bench`, the pool's ledger of the run:
/// `"ledger":{"messages_sent":..,..,"rounds":..}` ([`RecordLedger`]).
///
/// `mpc bench`, `raw-tcp bench` and `python/pybench.py` print it;
/// `cargo xtask bench` reads it back with [`Record::parse`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    /// Payload size, bytes.
    pub size: u64,
    /// Messages sent (and echoes received).
    pub count: u64,
    /// Messages under way at once.
    pub inflight: u64,
    /// Wall time from the first send to the last echo.
    pub seconds: f64,
    /// Mean time from sending a message to receiving its echo, µs.
    pub roundtrip_us: f64,
    /// Payload bytes in both directions per second, MB/s (10^6 bytes).
    pub mb_per_s: f64,
    /// What the client's pool counted (`mpc bench` only).
    pub ledger: Option<RecordLedger>,
    /// What the client process used from the first send to the last echo
    /// (`"usage"`; `mpc bench` and `raw-tcp bench` on Linux).
    pub usage: Option<Usage>,
    /// What the echoing process used while it served the run
    /// (`"peer_usage"`; added by `cargo xtask bench` from the echo's
    /// `usage` line).
    pub peer_usage: Option<Usage>,
}

/// The client pool's ledger of a run, in a [`Record`] (the object
/// `"ledger"` of its JSON line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordLedger {
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Packet bytes sent (the serialized packets).
    pub bytes_sent: u64,
    /// Packet bytes received.
    pub bytes_received: u64,
    /// Bytes the transport wrote (HTTP request heads and bodies).
    pub wire_bytes_sent: u64,
    /// Bytes the transport read back (HTTP response heads and bodies).
    pub wire_bytes_received: u64,
    /// Rounds (causal; a ping-pong of N exchanges is 2N).
    pub rounds: u64,
}

impl RecordLedger {
    const KEYS: [&'static str; 7] = [
        "messages_sent",
        "messages_received",
        "bytes_sent",
        "bytes_received",
        "wire_bytes_sent",
        "wire_bytes_received",
        "rounds",
    ];

    fn values(&self) -> [u64; 7] {
        [
            self.messages_sent,
            self.messages_received,
            self.bytes_sent,
            self.bytes_received,
            self.wire_bytes_sent,
            self.wire_bytes_received,
            self.rounds,
        ]
    }

    /// The ledger object of `line`, if it has one with every field.
    fn parse(line: &str) -> Option<RecordLedger> {
        const PAT: &str = "\"ledger\":";
        let rest = &line[line.find(PAT)? + PAT.len()..];
        let obj = &rest[..rest.find('}')? + 1];
        let f = |key: &str| field(obj, key).map(|v| v as u64);
        Some(RecordLedger {
            messages_sent: f("messages_sent")?,
            messages_received: f("messages_received")?,
            bytes_sent: f("bytes_sent")?,
            bytes_received: f("bytes_received")?,
            wire_bytes_sent: f("wire_bytes_sent")?,
            wire_bytes_received: f("wire_bytes_received")?,
            rounds: f("rounds")?,
        })
    }
}

impl fmt::Display for RecordLedger {
    /// The JSON object.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in Self::KEYS.iter().zip(self.values()).enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "\"{k}\":{v}")?;
        }
        f.write_str("}")
    }
}

/// A line that is not a [`Record`]: the first field missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The field not found (or not a number).
    pub key: &'static str,
    /// The line.
    pub line: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no {:?} in {:?}", self.key, self.line)
    }
}

impl std::error::Error for RecordError {}

impl Record {
    /// The record of a run that took `elapsed` from the first send to the
    /// last echo, its round trips adding up to `roundtrips`.
    pub fn from_run(
        size: u64,
        count: u64,
        inflight: u64,
        elapsed: Duration,
        roundtrips: Duration,
    ) -> Record {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Record {
            size,
            count,
            inflight,
            seconds,
            roundtrip_us: roundtrips.as_secs_f64() * 1e6 / count.max(1) as f64,
            mb_per_s: 2.0 * size as f64 * count as f64 / seconds / 1e6,
            ledger: None,
            usage: None,
            peer_usage: None,
        }
    }

    /// The record with the client pool's ledger of the run.
    pub fn with_ledger(self, ledger: RecordLedger) -> Record {
        Record {
            ledger: Some(ledger),
            ..self
        }
    }

    /// The record with what the client process used.
    pub fn with_usage(self, usage: Option<Usage>) -> Record {
        Record { usage, ..self }
    }

    /// Reads a record from a JSON line (as written by any of the programs;
    /// other fields and their order do not matter).
    pub fn parse(line: &str) -> Result<Record, RecordError> {
        let f = |key: &'static str| {
            field(line, key).ok_or_else(|| RecordError {
                key,
                line: line.to_owned(),
            })
        };
        Ok(Record {
            size: f("size")? as u64,
            count: f("count")? as u64,
            inflight: f("inflight")? as u64,
            seconds: f("seconds")?,
            roundtrip_us: f("roundtrip_us")?,
            mb_per_s: f("mb_per_s")?,
            ledger: RecordLedger::parse(line),
            usage: Usage::parse_in(line, "usage"),
            peer_usage: Usage::parse_in(line, "peer_usage"),
        })
    }

    /// Messages (there and back) per second.
    pub fn msgs_per_s(&self) -> f64 {
        self.count as f64 / self.seconds
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{\"size\":{},\"count\":{},\"inflight\":{},\"seconds\":{:.6},\
             \"roundtrip_us\":{:.1},\"mb_per_s\":{:.3}",
            self.size, self.count, self.inflight, self.seconds, self.roundtrip_us, self.mb_per_s
        )?;
        if let Some(l) = &self.ledger {
            write!(f, ",\"ledger\":{l}")?;
        }
        if let Some(u) = &self.usage {
            write!(f, ",\"usage\":{u}")?;
        }
        if let Some(u) = &self.peer_usage {
            write!(f, ",\"peer_usage\":{u}")?;
        }
        f.write_str("}")
    }
}

/// The number after `"key":` in a one-line JSON object of numbers (what
/// the benchmark programs print); `None` if absent or not a number.
pub fn field(line: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\":");
    let rest = &line[line.find(&pat)? + pat.len()..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_mpc_bench_line() {
        let r = Record::from_run(
            16,
            1000,
            1,
            Duration::from_millis(100),
            Duration::from_millis(90),
        );
        assert_eq!(
            r.to_string(),
            "{\"size\":16,\"count\":1000,\"inflight\":1,\"seconds\":0.100000,\
             \"roundtrip_us\":90.0,\"mb_per_s\":0.320}"
        );
        assert_eq!(Record::parse(&r.to_string()), Ok(r));
        let l = RecordLedger {
            messages_sent: 1000,
            messages_received: 1000,
            bytes_sent: 27000,
            bytes_received: 27000,
            wire_bytes_sent: 190000,
            wire_bytes_received: 120000,
            rounds: 2000,
        };
        let with = r.with_ledger(l);
        assert_eq!(
            with.to_string(),
            "{\"size\":16,\"count\":1000,\"inflight\":1,\"seconds\":0.100000,\
             \"roundtrip_us\":90.0,\"mb_per_s\":0.320,\"ledger\":{\"messages_sent\":1000,\
             \"messages_received\":1000,\"bytes_sent\":27000,\"bytes_received\":27000,\
             \"wire_bytes_sent\":190000,\"wire_bytes_received\":120000,\"rounds\":2000}}"
        );
        assert_eq!(Record::parse(&with.to_string()), Ok(with));
    }

    #[test]
    fn reads_lines_of_every_program() {
        let m = Record::parse(
            "{\"size\":16,\"count\":5000,\"inflight\":1,\"seconds\":0.546078,\"roundtrip_us\":108.7,\"mb_per_s\":0.293}",
        )
        .unwrap();
        assert_eq!((m.size, m.count, m.inflight), (16, 5000, 1));
        assert!((m.roundtrip_us - 108.7).abs() < 1e-9);
        assert!((m.msgs_per_s() - 5000.0 / 0.546078).abs() < 1e-6);
        // python/pybench.py: json.dumps, other fields, another order
        let p = Record::parse(
            "{\"size\": 1024, \"count\": 50, \"inflight\": 1, \"roundtrip_us\": 900.5, \
             \"seconds\": 0.05, \"mb_per_s\": 2.048, \"peak_rss_kb\": 40000}",
        )
        .unwrap();
        assert_eq!((p.size, p.count), (1024, 50));
        let e = Record::parse("{\"size\":16}").unwrap_err();
        assert_eq!(e.key, "count");
        assert_eq!(e.to_string(), "no \"count\" in \"{\\\"size\\\":16}\"");
        assert_eq!(field("{\"a\":1,\"b\":2.5}", "b"), Some(2.5));
        assert_eq!(field("{\"a\":x}", "a"), None);
    }
}
