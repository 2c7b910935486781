//! The codec micro-benchmarks: `cargo bench -p mpc-serial --bench codec`
//! (criterion), and the medians it wrote to target/criterion.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use mpc_measure::field;

use super::results::Micro;

/// Runs the codec micro-benchmarks (criterion, short) and reads their
/// medians, in the order they ran.
pub(super) fn run(
    root: &Path,
    target: &Path,
    cargo: &std::ffi::OsStr,
    quick: bool,
    logs: &Path,
) -> Result<Vec<Micro>> {
    let dir = target.join("criterion");
    // results of earlier runs must not be taken for this run's
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("codec_") || n == "bigint-bytes" {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let (warm, measure) = if quick {
        ("0.1", "0.3")
    } else {
        ("0.5", "1.5")
    };
    let log = std::fs::File::create(logs.join("criterion.log"))?;
    let status = Command::new(cargo)
        .args([
            "bench",
            "-p",
            "mpc-serial",
            "--features",
            "num-bigint",
            "--bench",
            "codec",
            "--",
        ])
        .args(["--warm-up-time", warm, "--measurement-time", measure])
        .current_dir(root)
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running cargo bench")?;
    if !status.success() {
        bail!("cargo bench -p mpc-serial failed ({status}); see target/bench/logs/criterion.log");
    }
    let mut out = Vec::new();
    collect_micro(&dir, &mut out)?;
    out.sort_by(|a, b| a.when.cmp(&b.when).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

fn collect_micro(dir: &Path, out: &mut Vec<Micro>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") {
                let bench = std::fs::read_to_string(p.join("benchmark.json")).unwrap_or_default();
                let est = std::fs::read_to_string(p.join("estimates.json")).unwrap_or_default();
                let id = json_str(&bench, "full_id");
                let median_ns = est
                    .find("\"median\"")
                    .and_then(|i| field(&est[i..], "point_estimate"));
                let when = std::fs::metadata(p.join("estimates.json"))
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                if let (Some(id), Some(median_ns)) = (id, median_ns) {
                    out.push(Micro {
                        id,
                        median_ns,
                        bytes: field(&bench, "Bytes").map(|b| b as u64),
                        when,
                    });
                }
            } else if p.file_name().is_some_and(|n| n != "base" && n != "report") {
                collect_micro(&p, out)?;
            }
        }
    }
    Ok(())
}

/// The string after `"key":"` in a JSON text (no escapes expected).
fn json_str(text: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let rest = &text[text.find(&pat)? + pat.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_ids() {
        assert_eq!(
            json_str("{\"group_id\":\"g\",\"full_id\":\"codec/x/y\"}", "full_id").as_deref(),
            Some("codec/x/y")
        );
        assert_eq!(json_str("{}", "full_id"), None);
    }
}
