//! `mpc inspect`: decode a packet and show what is in it.

use std::io::{IsTerminal as _, Read as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use mpc_pool::serial::Packet;
use mpc_pool::{Bytes, Value};

use crate::args::InspectArgs;

pub(crate) fn run(args: &InspectArgs) -> Result<ExitCode> {
    let (input, what) = read_input(args.file.as_deref())?;
    let looks_hex = !args.hex && looks_like_hex(&input);
    let bytes = if args.hex {
        decode_hex(&input).with_context(|| format!("{what} is not hex text"))?
    } else {
        input
    };
    if bytes.is_empty() {
        bail!("{what} is empty: no packet to decode");
    }
    let size = bytes.len();
    let packet = Packet::decode(Bytes::from(bytes)).map_err(|e| {
        let hint = if looks_hex {
            " (it looks like hex text: try --hex)"
        } else {
            ""
        };
        anyhow!("{what} is not a packet: {e}{hint}")
    })?;
    let value = packet.value().map_err(|e| {
        anyhow!(
            "the value in packet {:?} from {what} does not decode: {e}",
            packet.id
        )
    })?;
    println!("id:    {:?}", packet.id);
    println!("size:  {size} bytes (value: {} bytes)", packet.object.len());
    println!("kind:  {}", describe_kind(&value));
    println!("value: {value}");
    Ok(ExitCode::SUCCESS)
}

fn describe_kind(v: &Value) -> String {
    match v {
        Value::Tagged { type_name, .. } => format!("{} ({type_name})", v.kind()),
        Value::Str(s) => format!("{} ({} bytes)", v.kind(), s.len()),
        Value::Bytes(b) => format!("{} ({} bytes)", v.kind(), b.len()),
        Value::List(items) | Value::Tuple(items) => {
            format!("{} ({} items)", v.kind(), items.len())
        }
        Value::Map(entries) => format!("{} ({} entries)", v.kind(), entries.len()),
        Value::Array(a) => format!("{} (shape {:?})", v.kind(), a.shape()),
        _ => v.kind().to_owned(),
    }
}

/// The input bytes and how to name them in messages.
fn read_input(file: Option<&Path>) -> Result<(Vec<u8>, String)> {
    match file {
        Some(p) if p != Path::new("-") => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Ok((bytes, p.display().to_string()))
        }
        _ => {
            let mut stdin = std::io::stdin().lock();
            if stdin.is_terminal() {
                eprintln!("reading a packet from standard input (end with Ctrl-D)");
            }
            let mut bytes = Vec::new();
            stdin
                .read_to_end(&mut bytes)
                .context("reading standard input")?;
            Ok((bytes, "the input".to_owned()))
        }
    }
}

fn looks_like_hex(input: &[u8]) -> bool {
    let t = input.trim_ascii();
    !t.is_empty()
        && t.iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace())
}

/// Hex text to bytes; ASCII whitespace anywhere and one leading `0x` are
/// ignored.
pub(crate) fn decode_hex(text: &[u8]) -> Result<Vec<u8>> {
    let t = text.trim_ascii();
    let t = t
        .strip_prefix(b"0x")
        .or_else(|| t.strip_prefix(b"0X"))
        .unwrap_or(t);
    let mut out = Vec::with_capacity(t.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    for (pos, &c) in t.iter().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => bail!("{:?} at position {pos} is not a hex digit", char::from(c)),
        };
        digits += 1;
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push(h << 4 | v),
        }
    }
    if high.is_some() {
        bail!("odd number of hex digits ({digits})");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_hex() {
        assert_eq!(decode_hex(b"00ff10").unwrap(), [0, 255, 16]);
        assert_eq!(decode_hex(b" 0xAB cd\n").unwrap(), [0xab, 0xcd]);
        assert_eq!(decode_hex(b"").unwrap(), Vec::<u8>::new());
        let e = format!("{:#}", decode_hex(b"abc").unwrap_err());
        assert!(e.contains("odd number"), "{e}");
        let e = format!("{:#}", decode_hex(b"zz").unwrap_err());
        assert!(e.contains("not a hex digit"), "{e}");
        assert!(looks_like_hex(b"82a6\n"));
        assert!(!looks_like_hex(b"\x82\xa6"));
    }
}
