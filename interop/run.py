#!/usr/bin/env python3
"""Driver of the interop suite (run by `cargo xtask interop`).

    python run.py --rust-bin PATH [--mpc-bin PATH] --certs DIR --logs DIR
                  [--only SUBSTRING ...] [--seed N] [--list]

Runs every scenario of scenarios.py in its own process (its own process
group, killed with everything it started when the scenario's hard timeout
passes), prints one line per scenario

    PASS name: detail (seconds)
    FAIL name: detail (seconds)

and ends with the line `N passed, M failed`. Exits 1 if any failed.
Per-scenario logs (the Python side's output and each Rust party's stderr)
are written to the --logs directory.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULT = "RESULT "


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rust-bin", required=True, help="mpc-interop-party")
    ap.add_argument("--mpc-bin", help="mpc (for `mpc echo`); without it the echo scenarios use mpc-interop-party echo")
    ap.add_argument("--certs", required=True, type=Path, help="certificates from `cargo xtask certs` for py, py0, py1, rust")
    ap.add_argument("--logs", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=20_250_504, help="seed of the random structures")
    ap.add_argument("--only", action="append", default=[], help="run the scenarios whose name contains this")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sum-party", help=argparse.SUPPRESS)
    return ap.parse_args()


def child(args: argparse.Namespace) -> int:
    """Runs one scenario in this process; the last stdout line is the result."""
    import asyncio
    import logging

    sys.path.insert(0, str(HERE))
    from common import LogCollector  # noqa: PLC0415
    from scenarios import SCENARIOS, Ctx  # noqa: PLC0415

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    collector = LogCollector()
    logging.getLogger().addHandler(collector)
    scenario = next(s for s in SCENARIOS if s.name == args.child)
    ctx = Ctx(
        name=scenario.name,
        rust_bin=args.rust_bin,
        mpc_bin=args.mpc_bin,
        certs=args.certs,
        logs=args.logs,
        seed=args.seed,
    )
    error = None
    if args.sum_party:
        # py1 of a secure-sum scenario, in its own process
        from scenarios import sum_party_process  # noqa: PLC0415

        try:
            asyncio.run(asyncio.wait_for(sum_party_process(ctx, collector, json.loads(args.sum_party)), 60))
        except Exception as e:  # noqa: BLE001 - reported to the scenario
            traceback.print_exc()
            ctx.fails.append(f"{type(e).__name__}: {e}")
        print(RESULT + json.dumps({"checks": ctx.checks, "fails": ctx.fails}), flush=True)
        return 0
    try:
        asyncio.run(asyncio.wait_for(scenario.run(ctx, collector), scenario.timeout - 5))
    except asyncio.TimeoutError:
        error = f"did not finish within {scenario.timeout - 5:.0f} s"
    except Exception as e:  # noqa: BLE001 - reported as the scenario's failure
        traceback.print_exc()
        error = f"{type(e).__name__}: {e}"
    fails = ctx.fails + ([error] if error else [])
    if not fails and ctx.checks == 0:
        fails = ["no check was made"]
    if fails:
        detail = f"{len(fails)} of {ctx.checks} checks failed: " + " | ".join(fails[:4])
        if len(fails) > 4:
            detail += f" | ... ({len(fails) - 4} more)"
    else:
        detail = f"{ctx.checks} checks"
    if ctx.notes:
        detail += " [" + "; ".join(ctx.notes) + "]"
    for f in fails:
        print(f"failed: {f}")
    print(RESULT + json.dumps({"ok": not fails, "detail": detail}), flush=True)
    return 0 if not fails else 1


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main() -> int:
    args = parse()
    if args.child:
        return child(args)

    sys.path.insert(0, str(HERE))
    from scenarios import SCENARIOS  # noqa: PLC0415

    chosen = [s for s in SCENARIOS if not args.only or any(o in s.name for o in args.only)]
    if args.list:
        for s in chosen:
            print(f"{s.name} (timeout {s.timeout:.0f} s)")
        return 0
    if not chosen:
        print(f"no scenario matches {args.only}", file=sys.stderr)
        return 2
    args.logs.mkdir(parents=True, exist_ok=True)
    echo_by = f"`{Path(args.mpc_bin).name} echo`" if args.mpc_bin else "mpc-interop-party echo (mpc not built)"
    print(f"interop: {len(chosen)} scenarios; echo relay: {echo_by}; seed {args.seed}; logs in {args.logs}", flush=True)

    passed = failed = 0
    started_all = time.monotonic()
    for s in chosen:
        ok, detail, took, log = run_scenario(args, s)
        if not ok and "Errno 98" in log.read_text(errors="replace"):
            # a port picked as free was taken meanwhile (see free_port): once more
            ok, detail, took, log = run_scenario(args, s)
            detail += " [run again: a port was taken by another process]"
        if ok:
            passed += 1
            print(f"PASS {s.name}: {detail} ({took:.1f} s)", flush=True)
        else:
            failed += 1
            print(f"FAIL {s.name}: {detail} ({took:.1f} s); log {log}", flush=True)
    print(f"interop took {time.monotonic() - started_all:.0f} s", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def run_scenario(args: argparse.Namespace, s: Any) -> tuple[bool, str, float, Path]:
    """Runs scenario `s` in a process group of its own; (ok, detail, seconds, log)."""
    log = args.logs / f"{s.name}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", s.name, "--rust-bin", args.rust_bin,
           "--certs", str(args.certs), "--logs", str(args.logs), "--seed", str(args.seed)]
    if args.mpc_bin:
        cmd += ["--mpc-bin", args.mpc_bin]
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=HERE)
        try:
            proc.wait(timeout=s.timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        except KeyboardInterrupt:
            kill_group(proc)
            raise
        finally:
            # the scenario's process group: the Python side and its Rust parties
            kill_group(proc)
            proc.wait()
    took = time.monotonic() - started
    result = None
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(RESULT):
            result = json.loads(line[len(RESULT):])
    if timed_out:
        ok, detail = False, f"killed after the hard timeout of {s.timeout:.0f} s"
    elif result is None:
        ok, detail = False, f"exited {proc.returncode} without a result"
    else:
        ok, detail = bool(result["ok"]) and proc.returncode == 0, result["detail"]
    return ok, detail, took, log


if __name__ == "__main__":
    sys.exit(main())
