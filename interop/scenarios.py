"""The scenarios of the interop suite: Python parties (the real
tno.mpc.communication 5.0.4) and Rust parties (`mpc-interop-party`, `mpc
echo`) in one pool over real sockets on 127.0.0.1.

Each scenario is a coroutine `f(ctx, collector)` that records its checks
with `ctx.check` (an exception fails it too); `run.py` runs each in its own
process with a hard timeout.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gmpy2
import numpy as np

from common import (
    HOST,
    MPZ,
    PACKER,
    TNO_CERTS,
    BIG_LEN,
    LogCollector,
    Point,
    RecordingPool,
    RustParty,
    Secret,
    Tls,
    Wrapper,
    big_bytes,
    big_list,
    diff,
    free_port,
    make_pool,
    python_roundtrip,
    random_values,
    short,
    start_rust,
    table_values,
    tls_args,
    tno_tls,
    xtask_tls,
)
from docs_snippets import all_python_blocks_are_marked, scenario as docs_scenario, snippets as docs_python_snippets


@dataclass
class Ctx:
    """What a scenario gets: binaries, certificates, where to log."""

    name: str
    rust_bin: str
    mpc_bin: str | None
    certs: Path
    logs: Path
    seed: int
    notes: list[str] = field(default_factory=list)
    fails: list[str] = field(default_factory=list)
    checks: int = 0

    def check(self, what: str, problem: str | None) -> None:
        """Records one check; `problem` is None when it passed."""
        self.checks += 1
        if problem:
            self.fails.append(f"{what}: {problem}")

    def log(self, who: str) -> Path:
        return self.logs / f"{self.name}.{who}.log"


@dataclass(frozen=True)
class Security:
    """How the parties of a scenario authenticate: plain HTTP; certificates
    from `cargo xtask certs`; the Python package's test certificates
    (party_0, party_1: two-party scenarios); or "mixed": py0 and rust with
    the package's certificates, py1 with one from `cargo xtask certs`, and a
    CA bundle of both."""

    kind: str  # "plain" | "xtask" | "tno" | "mixed"
    pin: bool = True  # Rust pins its peers' certificates (else: the CN rule)

    def python(self, ctx: Ctx, name: str, tno_party: int = 0) -> Tls | None:
        """Key, certificate and CA bundle of party `name` (`tno_party`: which
        of the package's certificates it has in a "tno" scenario)."""
        if self.kind == "plain":
            return None
        if self.kind == "tno":
            return tno_tls(tno_party)
        if self.kind == "xtask":
            return xtask_tls(ctx.certs, name)
        mixed = {"py0": 0, "rust": 1}
        own = tno_tls(mixed[name]) if name in mixed else xtask_tls(ctx.certs, name)
        bundle = ctx.logs / f"{ctx.name}.ca-bundle.crt"
        if not bundle.exists():
            bundle.write_bytes(tno_tls(0).ca.read_bytes() + b"\n" + (ctx.certs / "ca.crt").read_bytes())
        return Tls(own.key, own.cert, bundle)

    def cert(self, ctx: Ctx, name: str, tno_party: int = 0) -> Path | None:
        """The certificate file that identifies party `name`."""
        tls = self.python(ctx, name, tno_party)
        return tls.cert if tls else None

    def rust_args(self, ctx: Ctx, name: str, peers: dict[str, Path | None], tno_party: int = 1) -> list[str]:
        """TLS options of the Rust party; the package's (X.509 v1)
        certificates are always pinned."""
        tls = self.python(ctx, name, tno_party)
        pins = {p: c for p, c in peers.items() if c} if (self.pin or self.kind != "xtask") else {}
        return tls_args(tls, pins)


PLAIN = Security("plain")
XTASK = Security("xtask")
XTASK_CN = Security("xtask", pin=False)
TNO = Security("tno")
MIXED = Security("mixed")


async def finish(ctx: Ctx, rust: list[RustParty], pools: list[RecordingPool], collector: LogCollector, timeout: float = 60) -> None:
    """Waits for the Rust parties to exit 0, shuts the Python pools down and
    checks that nothing odd was received or logged."""
    try:
        for r in rust:
            code = await r.wait(timeout)
            ctx.check(f"Rust party {r.name} exits 0", None if code == 0 else f"exit code {code}: {r.outcome()}; log {r.log}")
    finally:
        for r in rust:
            r.kill()
        for p in pools:
            await p.shutdown()
    for p in pools:
        ctx.check(f"{p.name} received only well-formed packets", "; ".join(p.bad_packets) or None)
    ctx.check("no warnings or errors logged by the Python package or aiohttp", "; ".join(collector.records[:5]) or None)


# ---------------------------------------------------------------------------
# Echo of every value kind (Python -> Rust -> Python, dynamic Value relay)
# ---------------------------------------------------------------------------


async def echo(
    ctx: Ctx,
    collector: LogCollector,
    values: list[tuple[str, Any]],
    sec: Security,
    own_echo: bool = False,
    timeout: float = 60,
    concurrent: bool = False,
    host: str = HOST,
) -> None:
    """Sends `values` to a Rust echo party and checks that each comes back
    exactly: strictly equal to what a Python peer would have received (type
    included), equal to the value sent unless it holds a numpy array (which
    Python itself returns as lists), and byte for byte the packet Python
    itself makes of the value."""
    binary = ctx.rust_bin if own_echo or not ctx.mpc_bin else ctx.mpc_bin
    ctx.notes.append(f"echo by {'mpc-interop-party echo' if binary == ctx.rust_bin else 'mpc echo'}")
    pport = free_port()
    py_cert = sec.cert(ctx, "py", 0)
    extra = sec.rust_args(ctx, "rust", {"py": py_cert}) + ["--count", str(len(values))]
    rust = await start_rust(binary, "echo", "rust", {"py": pport}, ctx.log("rust"), extra, host=host)
    pool = make_pool("py", pport, {"rust": (rust.port, sec.cert(ctx, "rust", 1))}, sec.python(ctx, "py", 0), timeout=timeout, host=host)
    try:
        await pool.initialize()

        async def send_all() -> None:
            if concurrent:  # ids are taken in call order, the sends overlap
                await asyncio.gather(*(pool.send("rust", v) for _, v in values))
            else:
                for _, v in values:
                    await pool.send("rust", v)

        async def recv_all() -> list[Any]:
            if concurrent:
                return list(await asyncio.gather(*(pool.recv("rust") for _ in values)))
            return [await pool.recv("rust") for _ in values]

        _, back = await asyncio.gather(send_all(), recv_all())
        packets = pool.packet_by_id("rust")
        changed_by_python = []
        for i, ((name, v), got) in enumerate(zip(values, back)):
            # The reference is what a Python peer receives: for most values
            # exactly `v`, but not for numpy arrays of native dtypes (lists),
            # bytearray (bytes), or a class whose data is not a dict.
            reference = python_roundtrip(v)
            if diff(reference, v):
                changed_by_python.append(name)
            ctx.check(f"{name} comes back", diff(got, reference))
            want = PACKER.pack(v, str(i))
            have = packets.get(str(i))
            ctx.check(
                f"{name} comes back byte for byte",
                None if have == want else f"packet {short(have)} != Python's {short(want)}",
            )
        if changed_by_python:
            names = ", ".join(changed_by_python[:4]) + (", ..." if len(changed_by_python) > 4 else "")
            ctx.notes.append(f"{len(changed_by_python)} values compared as Python itself returns them ({names})")
    finally:
        await finish(ctx, [rust], [pool], collector)


def echo_kinds(sec: Security, own_echo: bool = False) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    async def run(ctx: Ctx, collector: LogCollector) -> None:
        await echo(ctx, collector, table_values(), sec, own_echo)

    return run


def echo_random(sec: Security, n: int = 120) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    async def run(ctx: Ctx, collector: LogCollector) -> None:
        ctx.notes.append(f"seed {ctx.seed}")
        await echo(ctx, collector, random_values(ctx.seed, n), sec)

    return run


def echo_concurrent(sec: Security, n: int = 400) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    """`n` messages sent at once, received at once (the peer is called
    `localhost` on both sides, as the package's own tests do)."""

    async def run(ctx: Ctx, collector: LogCollector) -> None:
        values = [(f"concurrent #{i}", (i, "x" * (i % 50), [2**64 + i])) for i in range(n)]
        await echo(ctx, collector, values, sec, concurrent=True, host="localhost")

    return run


def echo_big(sec: Security, with_list: bool) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    async def run(ctx: Ctx, collector: LogCollector) -> None:
        values: list[tuple[str, Any]] = [("bytes_33MiB", big_bytes())]
        if with_list:
            values.append(("list_3.8M_ints", big_list()))
        sizes = [len(PACKER.pack(v, "0")) for _, v in values]
        ctx.check("payloads of at least 32 MiB", None if min(sizes) >= 32 << 20 else f"sizes {sizes}")
        ctx.notes.append("packets " + ", ".join(f"{s / (1 << 20):.1f} MiB" for s in sizes))
        await echo(ctx, collector, values, sec, timeout=150)

    return run


# ---------------------------------------------------------------------------
# Typed values, both directions (mpc-interop-party typed, interop/src/typed.rs)
# ---------------------------------------------------------------------------


def nested_dict() -> dict[str, Any]:
    """Python's side of `Nested` in typed.rs (field order = struct order)."""
    return {
        "points": [Point(1, -2), Point(-(2**63), 2**63 - 1)],
        "pair": ("p", Point(0, 0)),
        "big": -(2**200),
        "map": {"a": (-1, -(2**90)), "é": (127, 0)},
        "arr": np.array([[2**70, -1]], dtype=object),
        "blob": b"\x00nested",
        "maybe": None,
        "ratio": 0.5,
    }


SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 1e300, 5e-324]

# What the Python party must receive for each value typed.rs sends (same
# order as `rust_to_python` there).
RUST_TO_PY: list[tuple[str, Any]] = [
    ("point", Point(1, 2)),
    ("wrapper", Wrapper(Point(3, 4), (1, 2**70), b"\x00\xffblob")),
    ("bigint_2p70", 2**70),
    ("bigint_neg_2p70", -(2**70)),
    ("bigint_small", 5),
    ("u64_max", 2**64 - 1),
    ("i128_below_i64", -(2**63) - 1),
    ("u128_2p127", 2**127),
    ("tuple", (1, "a", True)),
    ("empty_array_as_tuple", ()),
    ("empty_tuple_value", ()),
    ("bytes", b"\x00\x01\xff"),
    ("vec_u8", [1, 2]),
    ("ndarray_bigint", np.array([[2**70, 1], [2, 3]], dtype=object)),
    ("ndarray_i64", np.array([1, -2, 3], dtype=object)),
    ("ndarray_f32", np.array([1.5, -0.25], dtype=object)),
    ("f64", 1234.4321),
    ("f32", 1.25),
    ("floats_special", SPECIAL_FLOATS),
    ("option_none", None),
    ("option_some", 7),
    ("unit", None),
    ("unicode", "héllo ✓ 𝄞"),
    ("char", "é"),
    ("map", {"a": [1, 65535], "b": []}),
    ("nested", nested_dict()),
    ("points", [Point(1, 2), Point(-3, 4)]),
    ("pts_mixed_list", {"pts": [Point(1, 2), (3, 4)]}),
    ("enum_unit", "Stop"),
    ("enum_tuple", {"Move": (1, 2)}),
    ("enum_struct", {"Set": {"key": "k", "value": 2**100}}),
    ("mpz_value", gmpy2.mpz(-7)),
    ("bigpoint", Point(2**70, -(2**64))),
    ("ints", (-128, 65535, -(2**31), 2**32 - 1, -(2**63))),
    ("secret", Secret(2**62)),
]

# What the Python party sends (same order as `python_to_rust` in typed.rs)
# and what it must get back once the Rust party has decoded it as its Rust
# type and sent that Rust value back.
PY_TO_RUST: list[tuple[str, Any, Any]] = [
    ("str", "Hello!", "Hello!"),
    ("int", 1234, 1234),
    ("negative", -5, -5),
    ("float", 1234.4321, 1234.4321),
    ("bytes", b"\x00\x01", b"\x00\x01"),
    ("none", None, None),
    ("true", True, True),
    ("list", [1, 2, 3, 4], [1, 2, 3, 4]),
    ("dict", {"1": 1, "2": 2}, {"1": 1, "2": 2}),
    ("tuple", (1, "a"), (1, "a")),
    ("empty_tuple", (), ()),
    ("bigint", 2**70, 2**70),
    ("neg_bigint", -(2**70), -(2**70)),
    ("u64_max", 2**64 - 1, 2**64 - 1),
    ("below_i64", -(2**63) - 1, -(2**63) - 1),
    # NdArray is always sent as an object array
    ("np_int64", np.arange(6, dtype=np.int64).reshape(2, 3), np.array([[0, 1, 2], [3, 4, 5]], dtype=object)),
    ("np_float32", np.array([1.5, 2.5], dtype=np.float32), np.array([1.5, 2.5], dtype=object)),
    ("np_object", np.array([2**70, 3], dtype=object), np.array([2**70, 3], dtype=object)),
    # BigInt decodes an mpz but sends an int
    ("mpz_big", gmpy2.mpz(2**70), 2**70),
    ("mpz_small", gmpy2.mpz(-7), -7),
    ("mpz_small_i128", gmpy2.mpz(-7), -7),
    ("point", Point(1, 2), Point(1, 2)),
    # a list received as a Rust tuple goes back as a tuple
    ("pts", {"pts": [Point(1, 2), (3, 4)]}, {"pts": (Point(1, 2), (3, 4))}),
    ("unicode", "héllo ✓", "héllo ✓"),
    ("wrapper", Wrapper(Point(3, 4), (1, 2**70), b"\x00\xffblob"), Wrapper(Point(3, 4), (1, 2**70), b"\x00\xffblob")),
    ("bigpoint", Point(2**70, -(2**64)), Point(2**70, -(2**64))),
    ("nested", nested_dict(), nested_dict()),
    ("floats", SPECIAL_FLOATS, SPECIAL_FLOATS),
    ("enum_unit", "Stop", "Stop"),
    ("enum_tuple", {"Move": (1, 2)}, {"Move": (1, 2)}),
    ("mpz_value", gmpy2.mpz(-7), gmpy2.mpz(-7)),
    ("secret_value", Secret(2**62), Secret(2**62)),
    ("secret", Secret(2**62), Secret(2**62)),
    ("np_int64_as_vec", np.arange(6, dtype=np.int64).reshape(2, 3), [[0, 1, 2], [3, 4, 5]]),
    ("tuple_as_vec", (1, 2, 3), [1, 2, 3]),
    ("list_as_tuple", [1, 2, 3], (1, 2, 3)),
]


def typed(sec: Security, big: bool = False) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    """The Rust party sends Rust values (Python checks it gets the matching
    Python values and echoes them; Rust checks it gets the same Rust values
    back), then Python sends Python values (Rust checks it gets the matching
    Rust values and sends them back; Python checks what comes back). With the
    package's certificates, Python is party_1 and Rust party_0 here."""

    async def run(ctx: Ctx, collector: LogCollector) -> None:
        expect = list(RUST_TO_PY)
        if big:
            expect.append(("bytes_33mib", big_bytes()))
        pport = free_port()
        py_cert = sec.cert(ctx, "py", 1)
        extra = sec.rust_args(ctx, "rust", {"py": py_cert}, tno_party=0) + ["--with", "py"]
        if big:
            extra.append("--big")
        rust = await start_rust(ctx.rust_bin, "typed", "rust", {"py": pport}, ctx.log("rust"), extra)
        pool = make_pool("py", pport, {"rust": (rust.port, sec.cert(ctx, "rust", 0))}, sec.python(ctx, "py", 1), timeout=90)
        try:
            await pool.initialize()
            for name, want in expect:
                got = await pool.recv("rust")
                ctx.check(f"rust->py {name}", diff(got, want))
                await pool.send("rust", got)
            for _, v, _ in PY_TO_RUST:
                await pool.send("rust", v)
            for name, _, want in PY_TO_RUST:
                got = await pool.recv("rust")
                ctx.check(f"py->rust->py {name}", diff(got, want))
        finally:
            await finish(ctx, [rust], [pool], collector, timeout=120)
        if big:
            ctx.check("the 33 MiB value was checked", None if len(big_bytes()) == BIG_LEN else "size")

    return run


# ---------------------------------------------------------------------------
# Automatic and custom ids interleaved (mpc-interop-party ids)
# ---------------------------------------------------------------------------


def ids(sec: Security) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    """The ledger is in `ids` of interop/src/protocols.rs."""

    async def run(ctx: Ctx, collector: LogCollector) -> None:
        pport = free_port()
        py_cert = sec.cert(ctx, "py", 0)
        extra = sec.rust_args(ctx, "rust", {"py": py_cert}) + ["--with", "py"]
        rust = await start_rust(ctx.rust_bin, "ids", "rust", {"py": pport}, ctx.log("rust"), extra)
        pool = make_pool("py", pport, {"rust": (rust.port, sec.cert(ctx, "rust", 1))}, sec.python(ctx, "py", 0))
        try:
            await pool.initialize()
            # A: Python -> Rust; (custom id, position, id on the wire)
            for custom, k, wire in [
                (None, 0, "0"),
                ("alpha", 1, "alpha"),
                (None, 2, "2"),
                ("3", 3, "3"),
                ("beta", 4, "beta"),
                (None, 5, "5"),
                ("", 6, "6"),
                ("A-done", 7, "A-done"),
                (None, 8, "8"),
            ]:
                await pool.send("rust", ("A", k, wire), custom)
            early = sorted(pool.packet_by_id("rust"))
            ctx.check("A: Rust sent nothing before B-go", None if not early else f"ids {early}")

            # B: Rust -> Python, receives registered before the messages exist
            plan_b = [
                ("B-done", 7, "B-done"),
                ("delta", 4, "delta"),
                (None, 2, "2"),
                (None, 3, "3"),
                ("gamma", 1, "gamma"),
                (None, 5, "5"),
                ("6", 6, "6"),
                ("0", 0, "0"),
                (None, 8, "8"),
            ]
            tasks_b = []
            for custom, _, _ in plan_b:
                tasks_b.append(asyncio.ensure_future(pool.recv("rust", custom)))
                await asyncio.sleep(0)  # the receive takes its id now
            await pool.send("rust", "go", "B-go")

            # C: both directions at once; every third (k % 3 == 1) custom
            tasks_c = []
            for k in range(20):
                tasks_c.append(asyncio.ensure_future(pool.recv("rust", f"C{k}" if k % 3 == 1 else None)))
                await asyncio.sleep(0)
            for k in range(20):
                custom = f"C{k}" if k % 3 == 1 else None
                await pool.send("rust", ("C", k, custom or str(10 + k)), custom)

            for (custom, k, wire), t in zip(plan_b, tasks_b):
                ctx.check(f"B: message {wire}", diff(await t, ("B", k, wire)))
            for k, t in enumerate(tasks_c):
                wire = f"C{k}" if k % 3 == 1 else str(9 + k)
                ctx.check(f"C: message {wire}", diff(await t, ("C", k, wire)))
            got_ids = set(pool.packet_by_id("rust"))
            want_ids = {w for _, _, w in plan_b} | {f"C{k}" if k % 3 == 1 else str(9 + k) for k in range(20)}
            ctx.check("exactly the expected ids arrived", None if got_ids == want_ids else f"{sorted(got_ids ^ want_ids)}")
            await pool.send("rust", "done")  # automatic id "30"
        finally:
            await finish(ctx, [rust], [pool], collector)

    return run


# ---------------------------------------------------------------------------
# Channels: a Python party takes part with the channels' wire ids
# ---------------------------------------------------------------------------


def channels(sec: Security) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    """The Rust side is `channels` of interop/src/protocols.rs: channel
    `stage` and its forks `stage/cmp.<k>`, whose message ids on the wire
    are `<path>#<id>`."""

    async def run(ctx: Ctx, collector: LogCollector) -> None:
        pport = free_port()
        py_cert = sec.cert(ctx, "py", 0)
        extra = sec.rust_args(ctx, "rust", {"py": py_cert}) + ["--with", "py"]
        rust = await start_rust(ctx.rust_bin, "channels", "rust", {"py": pport}, ctx.log("rust"), extra)
        pool = make_pool("py", pport, {"rust": (rust.port, sec.cert(ctx, "rust", 1))}, sec.python(ctx, "py", 0))
        try:
            await pool.initialize()
            for k in range(10):
                await pool.send("rust", ("cmp", k), f"stage/cmp.{k}#0")
                await pool.send("rust", k + 100, f"stage/cmp.{k}#x")
            for k in range(10):
                got = await pool.recv("rust", f"stage/cmp.{k}#0")
                ctx.check(f"answer on stage/cmp.{k}", diff(got, 11 * k + 100))
            await pool.send("rust", "done", "stage#0")
        finally:
            await finish(ctx, [rust], [pool], collector)

    return run


# ---------------------------------------------------------------------------
# Broadcast and recv_all in a mixed pool (py0, py1, rust)
# ---------------------------------------------------------------------------


def python_pool(ctx: Ctx, sec: Security, me: str, ports: dict[str, int], rust_port: int) -> RecordingPool:
    """Python party `me` (py0 or py1) of a three-party scenario."""
    other = "py1" if me == "py0" else "py0"
    peers = {other: (ports[other], sec.cert(ctx, other)), "rust": (rust_port, sec.cert(ctx, "rust"))}
    return make_pool(me, ports[me], peers, sec.python(ctx, me))


async def three_parties(
    ctx: Ctx, sec: Security, mode: str, extra: list[str], pools: tuple[str, ...] = ("py0", "py1")
) -> tuple[RustParty, dict[str, int], list[RecordingPool]]:
    """Starts the Rust party of a pool py0, py1, rust, and the Python
    parties named in `pools` (in this process)."""
    ports = {"py0": free_port(), "py1": free_port()}
    while ports["py1"] == ports["py0"]:
        ports["py1"] = free_port()
    rust_extra = sec.rust_args(ctx, "rust", {"py0": sec.cert(ctx, "py0"), "py1": sec.cert(ctx, "py1")}) + extra
    rust = await start_rust(ctx.rust_bin, mode, "rust", ports, ctx.log("rust"), rust_extra)
    made = [python_pool(ctx, sec, me, ports, rust.port) for me in pools]
    try:
        for p in made:
            await p.initialize()
    except BaseException:
        rust.kill()
        raise
    return rust, ports, made


def broadcast(sec: Security) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    """The ledger of ids per direction is in `broadcast` of
    interop/src/protocols.rs."""

    async def run(ctx: Ctx, collector: LogCollector) -> None:
        rust, _, (py0, py1) = await three_parties(ctx, sec, "broadcast", [])

        def check(what: str, got: Any, want: Any) -> None:
            ctx.check(what, diff(got, want))

        async def common_rounds(pool: RecordingPool, k: int) -> None:
            """R5, R6 and the final "done"; py0 is k=0, py1 k=1, rust 2."""
            me = pool.name
            other = "py1" if me == "py0" else "py0"
            await pool.broadcast(("R5", me, 2**70 + k), "all")
            got = sorted(await pool.recv_all(msg_id="all"))
            check(f"{me} R5 recv_all(msg_id='all')", got, [(other, ("R5", other, 2**70 + 1 - k)), ("rust", ("R5", "rust", 2**70 + 2))])
            await pool.broadcast(("R6", me, [k]), "")
            got = sorted(await pool.recv_all())
            check(f"{me} R6 recv_all() with automatic ids", got, [(other, ("R6", other, [1 - k])), ("rust", ("R6", "rust", [2]))])
            await pool.send("rust", "done", "done")

        async def flow0() -> None:
            await py0.broadcast(("R1", "py0", 1), "bc-py0", ["py1", "rust"])
            await py0.send("rust", ("R2a", "direct"))
            await py0.broadcast(("R2", "py0", Point(7, 8)), "", ["py1", "rust"])
            check("py0 R3 from rust (custom id)", await py0.recv("rust", "bc-rust"), ("R3", "rust", 3))
            check("py0 R4 from rust (automatic id 1)", await py0.recv("rust"), ("R4", "rust", Point(9, 10)))
            await common_rounds(py0, 0)

        async def flow1() -> None:
            check("py1 R1 from py0 (custom id)", await py1.recv("py0", "bc-py0"), ("R1", "py0", 1))
            check("py1 R2 from py0 (automatic id 1)", await py1.recv("py0"), ("R2", "py0", Point(7, 8)))
            check("py1 R3 from rust (custom id)", await py1.recv("rust", "bc-rust"), ("R3", "rust", 3))
            check("py1 R4a from rust (automatic id 1)", await py1.recv("rust"), ("R4a", "direct"))
            check("py1 R4 from rust (automatic id 2)", await py1.recv("rust"), ("R4", "rust", Point(9, 10)))
            await common_rounds(py1, 1)

        try:
            await asyncio.gather(flow0(), flow1())
            # the ids each Python party received, per sender
            for pool, want in (
                (py0, {"py1": ["1", "all"], "rust": ["1", "3", "all", "bc-rust"]}),
                (py1, {"py0": ["1", "3", "all", "bc-py0"], "rust": ["1", "2", "4", "all", "bc-rust"]}),
            ):
                got_ids = {s: sorted(pool.packet_by_id(s)) for s in want}
                ctx.check(f"{pool.name} received exactly the expected ids", None if got_ids == want else f"{got_ids} != {want}")
        finally:
            await finish(ctx, [rust], [py0, py1], collector)

    return run


# ---------------------------------------------------------------------------
# The three-party secure sum: py0, py1 (Python) and rust
# ---------------------------------------------------------------------------

MODULUS = 2**127 - 1


SUM_INPUTS = {"py0": 2**100 + 12345, "py1": 67890, "rust": 2**126 + 424242}
SUM_EXPECTED = sum(SUM_INPUTS.values()) % MODULUS


async def sum_party(ctx: Ctx, pool: RecordingPool, use_mpz: bool) -> None:
    """A Python party of the secure sum (the Rust one is `sum` in
    interop/src/protocols.rs): shares with id "share", partial sums with id
    "partial", then "done" to the Rust party."""
    me = pool.name
    num = gmpy2.mpz if use_mpz else int
    peers = sorted(pool.clients)
    shares = {p: secrets.randbelow(MODULUS) for p in peers}
    own = (SUM_INPUTS[me] - sum(shares.values())) % MODULUS
    for p in peers:
        await pool.send(p, num(shares[p]), "share")
    got = await pool.recv_all(msg_id="share")
    for sender, v in got:
        want_type = MPZ if sender == "py1" else int
        ctx.check(f"{me}: the share of {sender} is a {want_type.__name__}", None if type(v) is want_type else type(v).__name__)
    held = num((own + sum(int(v) for _, v in got)) % MODULUS)
    await pool.broadcast(held, "partial")
    parts = await pool.recv_all(msg_id="partial")
    for sender, v in parts:
        want_type = MPZ if sender == "py1" else int
        ctx.check(f"{me}: the partial sum of {sender} is a {want_type.__name__}", None if type(v) is want_type else type(v).__name__)
    total = (int(held) + sum(int(v) for _, v in parts)) % MODULUS
    ctx.check(f"{me} computes the sum", None if total == SUM_EXPECTED else f"{total} != {SUM_EXPECTED}")
    await pool.send("rust", "done", "done")


async def sum_party_process(ctx: Ctx, collector: LogCollector, spec: dict[str, Any]) -> None:
    """py1 of the secure sum in a process of its own (`run.py --sum-party`):
    prints `ready` once serving."""
    sec = Security(spec["kind"], spec["pin"])
    pool = python_pool(ctx, sec, "py1", spec["ports"], spec["rust_port"])
    await pool.initialize()
    print("ready", flush=True)
    try:
        await sum_party(ctx, pool, use_mpz=True)
    finally:
        await pool.shutdown()
    ctx.check("py1 received only well-formed packets", "; ".join(pool.bad_packets) or None)
    ctx.check("py1: no warnings or errors logged", "; ".join(collector.records[:5]) or None)


def secure_sum(sec: Security) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    """Three processes: the Rust party, py0 (this process, computes with
    ints) and py1 (a process of its own, computes with gmpy2.mpz).
    Additive secret sharing mod 2^127-1: shares are beyond 64 bits."""

    async def run(ctx: Ctx, collector: LogCollector) -> None:
        extra = ["--input", str(SUM_INPUTS["rust"]), "--expected", str(SUM_EXPECTED)]
        rust, ports, (py0,) = await three_parties(ctx, sec, "sum", extra, pools=("py0",))
        spec = {"kind": sec.kind, "pin": sec.pin, "ports": ports, "rust_port": rust.port}
        with open(ctx.log("py1"), "wb") as err:
            py1 = await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).with_name("run.py")), "--sum-party", json.dumps(spec),
                "--child", ctx.name, "--rust-bin", ctx.rust_bin, "--certs", str(ctx.certs), "--logs", str(ctx.logs),
                stdout=asyncio.subprocess.PIPE, stderr=err, stdin=asyncio.subprocess.DEVNULL,
            )
        try:
            assert py1.stdout
            ready = await asyncio.wait_for(py1.stdout.readline(), 20)
            if ready.strip() != b"ready":
                raise AssertionError(f"py1 did not start: {ready!r}; log {ctx.log('py1')}")
            await sum_party(ctx, py0, use_mpz=False)
            out, _ = await asyncio.wait_for(py1.communicate(), 60)
            result = [ln for ln in out.decode(errors="replace").splitlines() if ln.startswith("RESULT ")]
            ctx.check("py1 (own process) reports", None if result else f"no result; log {ctx.log('py1')}")
            if result:
                r = json.loads(result[-1][len("RESULT "):])
                ctx.checks += r["checks"]
                ctx.fails += [f"py1: {f}" for f in r["fails"]]
        finally:
            if py1.returncode is None:
                py1.kill()
                await py1.wait()
            await finish(ctx, [rust], [py0], collector)
        ctx.check("rust computes the sum", None if f"sum={SUM_EXPECTED}" in rust.lines else f"output {rust.lines}")

    return run


# ---------------------------------------------------------------------------
# TLS refusal: a certificate from another CA gets nowhere
# ---------------------------------------------------------------------------


async def tls_untrusted(ctx: Ctx, collector: LogCollector) -> None:
    """A Python party presenting the package's `party_untrusted` certificate
    (another root) cannot deliver to a Rust party (party_1, which pins
    party_0 for that peer): the send fails and the Rust party logs why."""
    pport = free_port()
    extra = TNO.rust_args(ctx, "rust", {"py": TNO_CERTS / "party_0.crt"}, tno_party=1) + ["--count", "1"]
    rust = await start_rust(ctx.rust_bin, "echo", "rust", {"py": pport}, ctx.log("rust"), extra)
    bad = Tls(TNO_CERTS / "party_untrusted.pem", TNO_CERTS / "party_untrusted.crt", TNO_CERTS / "ca-combined.crt")
    pool = make_pool("py", pport, {"rust": (rust.port, TNO_CERTS / "party_1.crt")}, bad, timeout=5)
    try:
        await pool.initialize()
        try:
            await asyncio.wait_for(pool.send("rust", "let me in"), 30)
            ctx.check("the send is refused", "it was delivered")
        except asyncio.TimeoutError:
            ctx.check("the send is refused", "no answer within 30 s")
        except Exception as e:  # noqa: BLE001 - any refusal will do
            ctx.notes.append(f"refused: {type(e).__name__}")
            ctx.check("the send is refused", None)
    finally:
        rust.kill()
        await rust.proc.wait()
        await pool.shutdown()
    log = ctx.log("rust").read_text(errors="replace")
    ctx.check(
        "the Rust party logs the refused certificate",
        None if "refusing peer certificate" in log and "CN=party_0 (ca-intermediate:2)" in log else f"no refusal in {ctx.log('rust')}",
    )


def undecodable(sec: Security) -> Callable[[Ctx, LogCollector], Awaitable[None]]:
    """Rust sends a class the Python party has not registered: the Python
    party fails to decode it, and the Rust send's one-line error says what
    that most likely means (`undecodable` in interop/src/protocols.rs)."""

    async def run(ctx: Ctx, collector: LogCollector) -> None:
        pport = free_port()
        py_cert = sec.cert(ctx, "py", 0)
        extra = sec.rust_args(ctx, "rust", {"py": py_cert}) + ["--with", "py"]
        rust = await start_rust(ctx.rust_bin, "undecodable", "rust", {"py": pport}, ctx.log("rust"), extra)
        pool = make_pool("py", pport, {"rust": (rust.port, sec.cert(ctx, "rust", 1))}, sec.python(ctx, "py", 0))
        try:
            await pool.initialize()
            ctx.check("the Rust party says it is done", diff(await pool.recv("rust", "done"), "done"))
        finally:
            code = await rust.wait(30)
            await pool.shutdown()
        errors = [ln for ln in rust.lines if ln.startswith("error: ")]
        ctx.check(f"the Rust party's checks pass ({rust.outcome()})", None if code == 0 else f"exit {code}; log {rust.log}")
        ctx.notes.append(errors[0][:200] if errors else "no error line")

    return run


# ---------------------------------------------------------------------------
# The strict comparison itself
# ---------------------------------------------------------------------------


async def selftest_strict_compare(ctx: Ctx, collector: LogCollector) -> None:
    """The comparison every scenario relies on tells apart what Python tells
    apart (no network)."""
    different = [
        ((1, 2), [1, 2]),
        (b"ab", bytearray(b"ab")),
        (1, True),
        (2**70, gmpy2.mpz(2**70)),
        (1, 1.0),
        (0.0, -0.0),
        (math.nan, 1.0),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        (Point(1, 2), Point(1, (2,))),
        (Point(1, 2), {"x": 1, "y": 2}),
        (np.array([1, 2], dtype=object), np.array([1, 2])),
        (np.array([1, 2], dtype=object), np.array([1, 2, 3], dtype=object)),
        (np.array([(1, 2)], dtype=object).reshape(1, 2), np.array([1, 2], dtype=object)),
        (np.array([2**70, 1], dtype=object), np.array([gmpy2.mpz(2**70), 1], dtype=object)),
        ([[1, [b"x"]]], [[1, [b"y"]]]),
        (Wrapper(Point(1, 2), (1,), b""), Wrapper(Point(1, 2), [1], b"")),
        (Secret(1), Secret(2)),
        ("é", "e"),
        (None, ()),
    ]
    for a, b in different:
        ctx.check(f"{short(a, 40)} differs from {short(b, 40)}", None if diff(a, b) and diff(b, a) else "diff() says equal")
    same = [(math.nan, math.nan), ({"a": (1, [2.5])}, {"a": (1, [2.5])}), (np.array([[1, 2]]), np.array([[1, 2]]))]
    for a, b in same:
        ctx.check(f"{short(a, 40)} equals itself", diff(a, b))
    values = table_values() + random_values(ctx.seed, 50)
    for name, v in values:
        ctx.check(f"{name} equals a deep copy of itself", diff(v, copy.deepcopy(v)))


# ---------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Ctx, LogCollector], Awaitable[None]]
    timeout: float = 90


SCENARIOS: list[Scenario] = [
    Scenario("selftest-strict-compare", selftest_strict_compare, timeout=30),
    Scenario("echo-kinds-plain", echo_kinds(PLAIN)),
    Scenario("echo-kinds-tls-xtask-cn", echo_kinds(XTASK_CN)),
    Scenario("echo-kinds-tls-tno", echo_kinds(TNO)),
    Scenario("echo-kinds-plain-own-relay", echo_kinds(PLAIN, own_echo=True)),
    Scenario("echo-random-plain", echo_random(PLAIN)),
    Scenario("echo-random-tls-xtask", echo_random(XTASK)),
    Scenario("echo-concurrent-plain", echo_concurrent(PLAIN)),
    Scenario("echo-concurrent-tls-xtask", echo_concurrent(XTASK)),
    Scenario("echo-32mib-plain", echo_big(PLAIN, with_list=True), timeout=240),
    Scenario("echo-32mib-tls-xtask", echo_big(XTASK, with_list=False), timeout=180),
    Scenario("typed-plain-with-33mib", typed(PLAIN, big=True), timeout=180),
    Scenario("typed-tls-xtask", typed(XTASK)),
    Scenario("typed-tls-tno", typed(TNO)),
    Scenario("ids-plain", ids(PLAIN)),
    Scenario("ids-tls-tno", ids(TNO)),
    Scenario("channels-plain", channels(PLAIN)),
    Scenario("channels-tls-xtask", channels(XTASK)),
    Scenario("broadcast-recv-all-plain", broadcast(PLAIN)),
    Scenario("broadcast-recv-all-tls-xtask", broadcast(XTASK)),
    Scenario("secure-sum-3p-plain", secure_sum(PLAIN)),
    Scenario("secure-sum-3p-tls-xtask", secure_sum(XTASK)),
    Scenario("secure-sum-3p-tls-xtask-cn", secure_sum(XTASK_CN)),
    Scenario("secure-sum-3p-tls-mixed-certs", secure_sum(MIXED)),
    Scenario("broadcast-recv-all-tls-mixed-certs", broadcast(MIXED)),
    Scenario("tls-untrusted-refused", tls_untrusted),
    Scenario("errors-python-cannot-decode-plain", undecodable(PLAIN)),
    Scenario("errors-python-cannot-decode-tls-xtask", undecodable(XTASK)),
]

# The Python snippets of docs/*.md, as written, against a Rust party
# (docs_snippets.py says how they are found and what is substituted).
SCENARIOS += [Scenario("docs-python-all-marked", all_python_blocks_are_marked, timeout=30)]
SCENARIOS += [Scenario(s.name, docs_scenario(s), timeout=120) for s in docs_python_snippets()]

logging.getLogger("tno.mpc.communication").setLevel(logging.WARNING)
