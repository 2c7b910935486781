#!/usr/bin/env bash
# Fuzzes, for a bounded time each, as CI does (`bash scripts/fuzz-ci.sh` from
# anywhere in the repo):
#
# * `packet` (fuzz/fuzz_targets/packet.rs): the packet decoder;
# * `certificate` (fuzz/fuzz_targets/certificate.rs): certificate parsing,
#   the CA-bundle check and the certificate policy of the TLS code.
#
# * Needs only the stable toolchain and a C++ compiler (libFuzzer is built
#   from source by libfuzzer-sys). cargo-fuzz is installed from the Rust package
#   registry if missing. The -Z flags cargo-fuzz passes are accepted on stable
#   through RUSTC_BOOTSTRAP=1, and the build uses no sanitizer (ASan needs
#   nightly; the code is safe Rust, so the checks that matter are
#   panics, overflow checks and debug assertions, which stay on).
# * Each target starts from a copy of its committed seed corpus
#   (fuzz/corpus/<target>), so a CI run never grows the committed corpus.
# * Runs every target even if one fails, then exits non-zero if any target
#   crashed (panic, abort, timeout, or more than 2 GiB of memory) and says
#   where the crashing input was saved.
#
# Environment: FUZZ_SECONDS, how long to fuzz the packet decoder (default
# 60); FUZZ_CERT_SECONDS, how long to fuzz certificates (default 30). A
# target given 0 seconds is skipped.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

packet_seconds=${FUZZ_SECONDS:-60}
certificate_seconds=${FUZZ_CERT_SECONDS:-30}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
cargo fuzz --version

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-ci.XXXXXX")
trap 'rm -rf "$work"' EXIT

# fuzz TARGET SECONDS WHAT REGRESSION: returns non-zero if the target failed.
fuzz() {
  local target=$1 seconds=$2 what=$3 regression=$4
  if [ "$seconds" -eq 0 ]; then
    echo "== skipping $target (0 seconds)"
    return 0
  fi
  local corpus="$work/corpus-$target" log="$work/fuzz-$target.log"
  # (errexit does not apply inside a function called with ||: check by hand)
  mkdir -p "$corpus" && cp corpus/"$target"/* "$corpus/" || return 1
  local artifacts="$PWD/artifacts/$target"
  mkdir -p "$artifacts"
  local before after found status=0
  before=$(find "$artifacts" -type f | sort)

  echo "== building the fuzz target $target"
  if ! RUSTC_BOOTSTRAP=1 cargo fuzz build "$target" --sanitizer none; then
    echo "== building the fuzz target $target failed" >&2
    return 1
  fi

  echo "== fuzzing $what for ${seconds}s from $(ls "$corpus" | wc -l) seeds"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" --sanitizer none "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  # libFuzzer prints a line per new input: show the end only, all of it on failure
  if [ "$status" -ne 0 ]; then cat "$log"; else tail -n 25 "$log"; fi

  after=$(find "$artifacts" -type f | sort)
  found=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
  if [ "$status" -ne 0 ] || [ -n "$found" ]; then
    echo "== the fuzz target $target failed (exit status $status)" >&2
    if [ -n "$found" ]; then
      echo "crashing input(s), kept in fuzz/artifacts/$target/:" >&2
      for f in $found; do
        # the bytes in the log too (CI machines are thrown away): hex, at most 4 KiB
        echo "  $f ($(wc -c <"$f") bytes), hex: $(head -c 4096 "$f" | od -An -v -tx1 | tr -d ' \n')" >&2
      done
      echo "reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $target --sanitizer none <file>" >&2
      echo "then add the bytes as a regression test in $regression" >&2
    fi
    return 1
  fi
  echo "== $target: no crash in ${seconds}s"
}

failed=()
fuzz packet "$packet_seconds" "the packet decoder" \
  crates/mpc-serial/tests/hostile.rs || failed+=(packet)
fuzz certificate "$certificate_seconds" "certificate parsing and verification" \
  crates/mpc-http/src/tls/tests.rs || failed+=(certificate)

if [ "${#failed[@]}" -ne 0 ]; then
  echo "== failed: ${failed[*]}" >&2
  exit 1
fi
echo "== no crash"
