#!/usr/bin/env bash
# Fuzzes the packet decoder (fuzz/fuzz_targets/packet.rs) for a bounded
# time, as CI does: `bash scripts/fuzz-ci.sh` from anywhere in the repo.
#
# * Needs only the stable toolchain and a C++ compiler (libFuzzer is built
#   from source by libfuzzer-sys). cargo-fuzz is installed from the Rust package
#   registry if missing. The -Z flags cargo-fuzz passes are accepted on stable
#   through RUSTC_BOOTSTRAP=1, and the build uses no sanitizer (ASan needs
#   nightly; the decoder is safe Rust, so the checks that matter are
#   panics, overflow checks and debug assertions, which stay on).
# * Starts from a copy of the committed seed corpus (fuzz/corpus/packet),
#   so a CI run never grows the committed corpus.
# * Exits non-zero if the target crashes (panic, abort, timeout, or more
#   than 2 GiB of memory) and says where the crashing input was saved.
#
# Environment: FUZZ_SECONDS, how long to fuzz (default 60).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-60}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
cargo fuzz --version

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-ci.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp corpus/packet/* "$work/corpus/"
artifacts="$PWD/artifacts/packet"
mkdir -p "$artifacts"
before=$(find "$artifacts" -type f | sort)

echo "== building the fuzz target"
RUSTC_BOOTSTRAP=1 cargo fuzz build packet --sanitizer none

echo "== fuzzing the packet decoder for ${seconds}s from $(ls "$work/corpus" | wc -l) seeds"
status=0
log="$work/fuzz.log"
RUSTC_BOOTSTRAP=1 cargo fuzz run packet --sanitizer none "$work/corpus" -- \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 >"$log" 2>&1 || status=$?
# libFuzzer prints a line per new input: show the end only, all of it on failure
if [ "$status" -ne 0 ]; then cat "$log"; else tail -n 25 "$log"; fi

after=$(find "$artifacts" -type f | sort)
found=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
  echo "== the fuzz target failed (exit status $status)" >&2
  if [ -n "$found" ]; then
    echo "crashing input(s), kept in fuzz/artifacts/packet/:" >&2
    for f in $found; do
      # the bytes in the log too (CI machines are thrown away): hex, at most 4 KiB
      echo "  $f ($(wc -c <"$f") bytes), hex: $(head -c 4096 "$f" | od -An -v -tx1 | tr -d ' \n')" >&2
    done
    echo "reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run packet --sanitizer none <file>" >&2
    echo "then add the bytes as a regression test in crates/mpc-serial/tests/hostile.rs" >&2
  fi
  exit 1
fi
echo "== no crash in ${seconds}s"
