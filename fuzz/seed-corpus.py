#!/usr/bin/env python3
"""Writes the golden packets (made by the Python package) up to 64 KiB as
the seed corpus of the `packet` fuzz target: corpus/packet/golden-<name>."""
import json
import pathlib

here = pathlib.Path(__file__).resolve().parent
golden = here.parent / "crates/mpc-serial/tests/fixtures/golden.json"
out = here / "corpus/packet"
out.mkdir(parents=True, exist_ok=True)
for old in out.glob("golden-*"):
    old.unlink()
total = 0
for v in json.loads(golden.read_text())["vectors"]:
    packet = bytes.fromhex(v["packet"])
    if len(packet) > 64 * 1024:
        continue
    (out / f"golden-{v['name']}").write_bytes(packet)
    total += len(packet)
print(f"{len(list(out.glob('golden-*')))} seeds, {total} bytes")
