#!/usr/bin/env bash
# Regenerate the golden wire-format vectors from the real Python package
# tno.mpc.communication 5.0.4.
#
#   scripts/golden/gen.sh
#
# Creates (once) a virtualenv at $ROOT/target/golden-venv, installs the pinned
# packages into it (skipped when the pins are already installed), and runs
# gen.py, which writes crates/mpc-serial/tests/fixtures/golden.json.
# The output is deterministic: rerunning produces a byte-identical file.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd)"
VENV="$ROOT/target/golden-venv"
OUT="$ROOT/crates/mpc-serial/tests/fixtures/golden.json"

# ormsgpack does the actual msgpack encoding, so it is pinned as well.
PINS=(
  "tno.mpc.communication==5.0.4"
  "numpy==2.4.6"
  "gmpy2==2.3.2"
  "ormsgpack==1.13.1"
)

PYTHON="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "gen.sh: creating virtualenv $VENV" >&2
  mkdir -p "$(dirname -- "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi

STAMP="$VENV/.golden-pins"
WANT="$(printf '%s\n' "${PINS[@]}")"
if [[ ! -f "$STAMP" ]] || [[ "$(cat -- "$STAMP")" != "$WANT" ]]; then
  echo "gen.sh: installing ${PINS[*]}" >&2
  "$VENV/bin/python" -m pip install --quiet "${PINS[@]}"
  printf '%s\n' "$WANT" >"$STAMP"
fi

mkdir -p "$(dirname -- "$OUT")"
"$VENV/bin/python" "$SCRIPT_DIR/gen.py" --out "$OUT"
