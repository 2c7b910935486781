#!/usr/bin/env python3
"""The Python pair of `cargo xtask bench`: an echo party and a bench party
with the real `tno.mpc.communication` 5.0.4 `Pool` over plain HTTP on
127.0.0.1 (run with the interop venv's Python, `target/interop-venv`).

    pybench.py echo  --port P --peer-port Q [--count N]
    pybench.py bench --port Q --peer-port P --run SIZE:COUNT[:INFLIGHT] ...

`echo` (pool party "echo", its peer "bench") prints `ready listen=HOST:P`,
then receives the peer's messages in order (automatic ids) and sends each
straight back under the same id, up to 256 echoes under way; after
--count messages it waits for the echoes, prints
`{"echoed":N,"peak_rss_kb":..}` and exits (without --count it runs until
killed).

`bench` (pool party "bench") sends, for each --run, COUNT random byte
strings of SIZE bytes (each distinct), INFLIGHT (default 1) under way at
once, checks every echo, and prints one JSON line per run, the line of
`mpc bench` plus this process's peak RSS so far:
`{"size":..,"count":..,"inflight":..,"seconds":..,"roundtrip_us":..,
"mb_per_s":..,"peak_rss_kb":..}`. Runs go one after the other against
one echo party (message ids continue). A first message (not timed) makes
the connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import sys
import time

from tno.mpc.communication import HttpCommunicator, HttpConnection, Pool

import tno.mpc.communication as tmc

HOST = "127.0.0.1"
MAX_OUTSTANDING = 256


def peak_rss_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def make_pool(name: str, port: int, peer: str, peer_port: int) -> Pool:
    comm = HttpCommunicator(addr=HOST, port=port)
    pool = Pool(name, comm, timeout=600)
    pool.add_client(peer, HttpConnection(HOST, peer_port))
    return pool


async def echo(args: argparse.Namespace) -> None:
    pool = make_pool("echo", args.port, "bench", args.peer_port)
    await pool.initialize()
    print(f"ready listen={HOST}:{args.port} tno.mpc.communication={tmc.__version__}", flush=True)
    sends: set[asyncio.Task[None]] = set()
    n = 0
    while args.count is None or n < args.count:
        msg = await pool.recv("bench", str(n))
        task = asyncio.create_task(pool.send("bench", msg, str(n)))
        sends.add(task)
        task.add_done_callback(sends.discard)
        del msg
        n += 1
        if len(sends) >= MAX_OUTSTANDING:
            await asyncio.wait(set(sends), return_when=asyncio.FIRST_COMPLETED)
    if sends:
        await asyncio.gather(*sends)
    print(json.dumps({"echoed": n, "peak_rss_kb": peak_rss_kb()}), flush=True)
    await pool.shutdown()


class Payloads:
    """One random buffer; payload i has i XORed into its first 8 bytes."""

    def __init__(self, size: int) -> None:
        self.base = os.urandom(size)

    def payload(self, i: int) -> bytes:
        n = min(8, len(self.base))
        stamp = bytes(a ^ b for a, b in zip(self.base[:n], i.to_bytes(8, "little")))
        return stamp + self.base[n:]


async def bench(args: argparse.Namespace) -> None:
    pool = make_pool("bench", args.port, "echo", args.peer_port)
    await pool.initialize()
    next_id = 0

    async def roundtrip(payload: bytes, msg_id: int) -> tuple[float, bool]:
        t = time.perf_counter()
        await pool.send("echo", payload, str(msg_id))
        got = await pool.recv("echo", str(msg_id))
        return time.perf_counter() - t, got == payload

    # connections (not timed)
    await roundtrip(b"warm-up", next_id)
    next_id += 1

    for spec in args.run:
        parts = [int(x) for x in spec.split(":")]
        size, count = parts[0], parts[1]
        inflight = parts[2] if len(parts) > 2 else 1
        payloads = Payloads(size)
        total_rt = 0.0
        bad = 0
        first = next_id
        next_id += count
        start = time.perf_counter()
        if inflight == 1:
            for i in range(count):
                rt, ok = await roundtrip(payloads.payload(i), first + i)
                total_rt += rt
                bad += not ok
        else:
            sem = asyncio.Semaphore(inflight)

            async def one(i: int) -> tuple[float, bool]:
                async with sem:
                    return await roundtrip(payloads.payload(i), first + i)

            for rt, ok in await asyncio.gather(*(one(i) for i in range(count))):
                total_rt += rt
                bad += not ok
        elapsed = max(time.perf_counter() - start, 1e-9)
        if bad:
            print(f"{bad} of {count} echoes differ from what was sent", file=sys.stderr, flush=True)
            sys.exit(1)
        line = {
            "size": size,
            "count": count,
            "inflight": inflight,
            "seconds": round(elapsed, 6),
            "roundtrip_us": round(total_rt * 1e6 / count, 1),
            "mb_per_s": round(2 * size * count / elapsed / 1e6, 3),
            "peak_rss_kb": peak_rss_kb(),
        }
        print(json.dumps(line, separators=(",", ":")), flush=True)
    await pool.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("echo")
    e.add_argument("--port", type=int, required=True)
    e.add_argument("--peer-port", type=int, required=True)
    e.add_argument("--count", type=int)
    b = sub.add_parser("bench")
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--peer-port", type=int, required=True)
    b.add_argument("--run", action="append", required=True, help="SIZE:COUNT[:INFLIGHT]")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(echo(args) if args.mode == "echo" else bench(args))


if __name__ == "__main__":
    main()
