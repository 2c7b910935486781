"""The Python party of `cargo xtask integration` (xtask/src/integration/):
a `tno.mpc.communication` 5.0.4 pool on a test host of its own that sends
every value of the interop value table and 1 MiB of bytes to each of its
peers (Rust parties running `mpc echo`), one after the other, and checks
each echo: strictly equal to what a Python peer receives (common.diff).

    integration_party.py --name py --listen IP:PORT --peer NAME=IP:PORT...
        [--certs DIR]

With --certs (made by `mpc certs`) it uses mutual TLS with DIR/NAME.key,
DIR/NAME.crt, DIR/ca.crt and pins each peer's DIR/PEER.crt. Prints
`RESULT sent=N echoed=N mismatched=0 peers=...` and exits 0 if every echo
came back equal; otherwise `FAIL ...` lines and exit status 1.

Runs in the interop venv (it imports common.py from this directory).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from common import diff, python_roundtrip, ssl_contexts, table_values, xtask_tls
from tno.mpc.communication import HttpCommunicator, HttpConnection, Pool


def values() -> list[tuple[str, Any]]:
    return table_values() + [("1MiB_bytes", bytes(range(256)) * 4096)]


async def run(args: argparse.Namespace) -> int:
    host, port = args.listen.rsplit(":", 1)
    certs = Path(args.certs) if args.certs else None
    if certs:
        server_ctx, client_ctx = ssl_contexts(xtask_tls(certs, args.name))
        comm = HttpCommunicator(addr=host, port=int(port), ssl_server_context=server_ctx, ssl_client_context=client_ctx)
    else:
        comm = HttpCommunicator(addr=host, port=int(port))
    pool = Pool(args.name, comm, timeout=60)
    peers = []
    for spec in args.peer:
        name, addr = spec.split("=", 1)
        phost, pport = addr.rsplit(":", 1)
        cert = str(certs / f"{name}.crt") if certs else None
        pool.add_client(name, HttpConnection(phost, int(pport), cert=cert))
        peers.append(name)
    await pool.initialize()
    print(f"ready name={args.name} listen={args.listen}", flush=True)
    table = values()
    fails: list[str] = []
    echoed = 0

    async def with_peer(peer: str) -> None:
        nonlocal echoed
        for name, v in table:
            await pool.send(peer, v)
            got = await pool.recv(peer)
            if d := diff(got, python_roundtrip(v)):
                fails.append(f"{peer} {name}: {d}")
            else:
                echoed += 1

    try:
        await asyncio.wait_for(asyncio.gather(*(with_peer(p) for p in peers)), 120)
    finally:
        await pool.shutdown()
    for f in fails[:10]:
        print(f"FAIL {f}")
    sent = len(table) * len(peers)
    print(f"RESULT sent={sent} echoed={echoed} mismatched={len(fails)} peers={','.join(peers)}", flush=True)
    return 0 if not fails and echoed == sent else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name")
    ap.add_argument("--listen", help="IP:PORT")
    ap.add_argument("--peer", action="append", default=[], help="NAME=IP:PORT")
    ap.add_argument("--certs", help="directory of `mpc certs`: mutual TLS")
    ap.add_argument("--count", action="store_true", help="print the number of values sent to each peer and exit")
    args = ap.parse_args()
    if args.count:
        print(len(values()))
        return
    if not (args.name and args.listen and args.peer):
        ap.error("--name, --listen and --peer are required")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
