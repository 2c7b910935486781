"""Shared pieces of the interop suite: the Python classes registered with the
package, a strict comparison, the values sent, Python pools, and the Rust
party processes.

Runs in the venv made by `cargo xtask interop` (tno.mpc.communication==5.0.4,
numpy, gmpy2, pyopenssl).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import ssl
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gmpy2
import numpy as np

import tno.mpc.communication as tmc
from tno.mpc.communication import (
    DefaultPacker,
    HttpCommunicator,
    HttpConnection,
    Pool,
    Serializer,
)
from tno.mpc.communication.packers import DeserializerOpts, SerializerOpts

try:
    from tno.mpc.communication.exceptions import NumpySerializationWarning

    warnings.simplefilter("ignore", NumpySerializationWarning)
except ImportError:  # pragma: no cover
    pass

assert tmc.__version__ == "5.0.4", f"tno.mpc.communication {tmc.__version__}, want 5.0.4"

MPZ = type(gmpy2.mpz(0))
PACKER = DefaultPacker()
HOST = "127.0.0.1"

# The test certificates shipped inside the Python package (X.509 v1).
TNO_CERTS = Path(tmc.__file__).parent / "test" / "tls_certs"


class Failure(Exception):
    """A check of a scenario failed."""


# ---------------------------------------------------------------------------
# Registered classes (as scripts/golden/gen.py registers them); the Rust side
# declares `Point`, `Wrapper` and `Secret` with the same names.
# ---------------------------------------------------------------------------


class Point:
    def __init__(self, x: Any, y: Any) -> None:
        self.x = x
        self.y = y

    def serialize(self, opts: SerializerOpts) -> dict[str, Any]:
        return {"x": self.x, "y": self.y}

    @staticmethod
    def deserialize(obj: dict[str, Any], opts: DeserializerOpts) -> Point:
        return Point(obj["x"], obj["y"])

    def __repr__(self) -> str:
        return f"Point({self.x!r}, {self.y!r})"


class Wrapper:
    def __init__(self, inner: Point, pair: tuple[Any, ...], blob: bytes) -> None:
        self.inner = inner
        self.pair = pair
        self.blob = blob

    def serialize(self, opts: SerializerOpts) -> dict[str, Any]:
        return {"inner": self.inner, "pair": self.pair, "blob": self.blob}

    @staticmethod
    def deserialize(obj: dict[str, Any], opts: DeserializerOpts) -> Wrapper:
        return Wrapper(obj["inner"], obj["pair"], obj["blob"])

    def __repr__(self) -> str:
        return f"Wrapper({self.inner!r}, {self.pair!r}, {self.blob!r})"


class Secret:
    """Serializes to a bare int."""

    def __init__(self, value: int) -> None:
        self.value = value

    def serialize(self, opts: SerializerOpts) -> int:
        return self.value

    @staticmethod
    def deserialize(obj: int, opts: DeserializerOpts) -> Secret:
        return Secret(obj)

    def __repr__(self) -> str:
        return f"Secret({self.value!r})"


CLASSES = (Point, Wrapper, Secret)
for _cls in CLASSES:
    Serializer.register_class(_cls)


# ---------------------------------------------------------------------------
# Strict comparison: same types all the way down
# ---------------------------------------------------------------------------


def short(v: Any, n: int = 160) -> str:
    s = repr(v)
    return s if len(s) <= n else f"{s[:n]}... ({len(s)} chars)"


def diff(a: Any, b: Any, path: str = "$") -> str | None:
    """None if `a` and `b` are strictly equal (types included, recursively;
    floats by bits, so NaN == NaN and -0.0 != 0.0; dicts in order), else
    where and how they differ."""
    if type(a) is not type(b):
        return f"{path}: type {type(a).__name__} ({short(a, 60)}) != {type(b).__name__} ({short(b, 60)})"
    if isinstance(a, float):
        if struct.pack("<d", a) != struct.pack("<d", b):
            return f"{path}: {a!r} != {b!r}"
        return None
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if d := diff(x, y, f"{path}[{i}]"):
                return d
        return None
    if isinstance(a, dict):
        if list(a.keys()) != list(b.keys()):
            return f"{path}: keys {short(list(a.keys()))} != {short(list(b.keys()))}"
        for k in a:
            if d := diff(a[k], b[k], f"{path}[{k!r}]"):
                return d
        return None
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype:
            return f"{path}: dtype {a.dtype} != {b.dtype}"
        if a.shape != b.shape:
            return f"{path}: shape {a.shape} != {b.shape}"
        if a.dtype != object and not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            return f"{path}: array {short(a)} != {short(b)}"
        return diff(a.tolist(), b.tolist(), f"{path}.tolist()")
    if isinstance(a, Point):
        return diff(a.x, b.x, f"{path}.x") or diff(a.y, b.y, f"{path}.y")
    if isinstance(a, Wrapper):
        return (
            diff(a.inner, b.inner, f"{path}.inner")
            or diff(a.pair, b.pair, f"{path}.pair")
            or diff(a.blob, b.blob, f"{path}.blob")
        )
    if isinstance(a, Secret):
        return diff(a.value, b.value, f"{path}.value")
    if isinstance(a, (int, str, bytes, bytearray, bool, MPZ, type(None))):
        return None if a == b else f"{path}: {short(a)} != {short(b)}"
    raise TypeError(f"{path}: no strict comparison for {type(a).__name__}")


def python_roundtrip(v: Any) -> Any:
    """What a Python party receives when another Python party sends `v`."""
    _, out = PACKER.unpack(PACKER.pack(v, "0"))
    return out


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


def table_values() -> list[tuple[str, Any]]:
    """Every row of the value table of tno-wire.md, then more kinds."""
    obj2d = np.empty((2, 2), dtype=object)
    obj2d[0, 0], obj2d[0, 1], obj2d[1, 0], obj2d[1, 1] = 2**70, None, "x", Point(1, 2)
    deep: Any = "bottom"
    for i in range(40):
        deep = [deep] if i % 3 else ({"d": deep} if i % 2 else (deep,))
    # as deep as Python can pack (ormsgpack stops at 255 levels; a tuple or
    # a class is two: its tagged map and the data)
    deepest: dict[str, Any] = {"list": 1, "dict": 1, "tuple": 1, "point": 1}
    for _ in range(255):
        deepest["list"] = [deepest["list"]]
        deepest["dict"] = {"d": deepest["dict"]}
    for _ in range(127):
        deepest["tuple"] = (deepest["tuple"],)
        deepest["point"] = Point(deepest["point"], None)
    return [
        # the table of tno-wire.md, in its order
        ("str", "Hello!"),
        ("int", 1234),
        ("negative", -5),
        ("float", 1234.4321),
        ("bytes", b"\x00\x01"),
        ("none", None),
        ("true", True),
        ("list", [1, 2, 3, 4]),
        ("dict", {"1": 1, "2": 2}),
        ("tuple", (1, "a")),
        ("empty_tuple", ()),
        ("2**70", 2**70),
        ("-(2**70)", -(2**70)),
        ("2**64-1", 2**64 - 1),
        ("-2**63-1", -(2**63) - 1),
        ("np_int64_2x3", np.arange(6, dtype=np.int64).reshape(2, 3)),
        ("np_float32", np.array([1.5, 2.5], dtype=np.float32)),
        ("np_object_bigint", np.array([2**70, 3], dtype=object)),
        ("mpz_2**70", gmpy2.mpz(2**70)),
        ("mpz_-7", gmpy2.mpz(-7)),
        ("point", Point(1, 2)),
        ("nested_pts", {"pts": [Point(1, 2), (3, 4)]}),
        ("unicode", "héllo ✓"),
        # more of each kind
        ("false", False),
        ("empty_str", ""),
        ("empty_bytes", b""),
        ("empty_list", []),
        ("empty_dict", {}),
        ("bytearray", bytearray(b"ab")),
        ("-2**63", -(2**63)),
        ("2**63", 2**63),
        ("2**64", 2**64),
        ("2**1000+1", 2**1000 + 1),
        ("-(2**1000)", -(2**1000)),
        ("-(2**64)", -(2**64)),
        ("mpz_0", gmpy2.mpz(0)),
        ("mpz_-(2**300)", gmpy2.mpz(-(2**300))),
        ("nan", float("nan")),
        ("inf", float("inf")),
        ("-inf", float("-inf")),
        ("-0.0", -0.0),
        ("tiny", 5e-324),
        ("wrapper", Wrapper(Point(3, 4), (1, 2**70), b"\x00\xffblob")),
        ("secret_bigint", Secret(2**80)),
        ("secret", Secret(2**62)),
        ("point_bigint", Point(2**70, -(2**64))),
        ("point_of_points", Point(Point(1, 2), [Point(3, (4,))])),
        ("np_float16", np.array([1.5, -2.0], dtype=np.float16)),
        ("np_uint8", np.arange(5, dtype=np.uint8)),
        ("np_bool", np.array([True, False])),
        ("np_3d_int32", np.arange(24, dtype=np.int32).reshape(2, 3, 4)),
        ("np_float64_empty_rows", np.zeros((2, 0))),
        ("np_0d", np.array(5)),
        ("np_noncontiguous", np.arange(10)[::2]),
        ("np_str", np.array(["a", "bc"])),
        ("np_object_2d", obj2d),
        ("deep_40", deep),
        ("list_depth_255", deepest["list"]),
        ("dict_depth_255", deepest["dict"]),
        ("tuple_depth_127", deepest["tuple"]),
        ("point_depth_127", deepest["point"]),
        ("np_float32_special", np.array([np.nan, -0.0, np.inf, 1e-45], dtype=np.float32)),
        ("np_float64_special", np.array([[np.nan, -0.0], [np.inf, 5e-324]])),
        ("np_uint64_max", np.array([2**64 - 1, 0], dtype=np.uint64)),
        ("np_int64_min", np.array([-(2**63), 2**63 - 1], dtype=np.int64)),
        ("np_big_endian_int32", np.arange(3, dtype=">i4")),
        ("long_str", "✓" * 70_000),
        ("many_keys", {f"k{i}": i for i in range(2000)}),
        ("tuple_of_everything", (None, True, 1, -1, 2**65, 1.5, "s", b"b", [], {}, (), gmpy2.mpz(3))),
    ]


_ALPHABET = "aZ09 _-é✓中𝄞\n\t\"'\\\x00"


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A random nested value (depth <= 5) of lists, dicts, tuples, ints (also
    big), bytes, str, floats, None, bools, mpz and Points."""
    leaves = [
        lambda: rng.randint(-300, 300),
        lambda: rng.choice([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]),
        lambda: rng.choice([1, -1]) * rng.getrandbits(rng.randint(65, 400)),
        lambda: rng.randint(-(2**62), 2**62),
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40))),
        lambda: "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 20))),
        lambda: rng.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 1e-310, rng.uniform(-1e9, 1e9)]),
        lambda: rng.random(),
        lambda: None,
        lambda: rng.random() < 0.5,
        lambda: gmpy2.mpz(rng.choice([1, -1]) * rng.getrandbits(rng.randint(0, 300))),
    ]
    kinds = len(leaves)
    if depth < 5:
        kinds += 4
    k = rng.randrange(kinds)
    if k < len(leaves):
        return leaves[k]()
    n = rng.randint(0, 5)
    k -= len(leaves)
    if k == 0:
        return [random_value(rng, depth + 1) for _ in range(n)]
    if k == 1:
        return tuple(random_value(rng, depth + 1) for _ in range(n))
    if k == 2:
        return {f"k{i}_{rng.choice(_ALPHABET)}": random_value(rng, depth + 1) for i in range(n)}
    return Point(random_value(rng, depth + 1), random_value(rng, depth + 1))


def random_values(seed: int, n: int) -> list[tuple[str, Any]]:
    rng = random.Random(seed)
    return [(f"random[seed={seed}, #{i}]", random_value(rng)) for i in range(n)]


BIG_LEN = (33 << 20) + 1


def big_bytes() -> bytes:
    """33 MiB and one byte: 0, 1, ..., 255, 0, 1, ... (the Rust side makes
    the same with `i as u8`)."""
    return (bytes(range(256)) * (BIG_LEN // 256 + 1))[:BIG_LEN]


def big_list() -> list[int]:
    """3.8 million ints of 9 bytes each on the wire: over 32 MiB."""
    return list(range(2**40, 2**40 + 3_800_000))


# ---------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    key: Path
    cert: Path
    ca: Path


def tno_tls(party: int) -> Tls:
    """The Python package's own test certificates of `party_<party>`."""
    return Tls(TNO_CERTS / f"party_{party}.pem", TNO_CERTS / f"party_{party}.crt", TNO_CERTS / "ca-combined.crt")


def xtask_tls(certs: Path, name: str) -> Tls:
    """Certificates from `cargo xtask certs`."""
    return Tls(certs / f"{name}.key", certs / f"{name}.crt", certs / "ca.crt")


def ssl_contexts(tls: Tls) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts as the package's tests (test_pool_https_2p.py)
    make them: mutual TLS, no host name check."""

    def make(purpose: ssl.Purpose) -> ssl.SSLContext:
        ctx = ssl.create_default_context(purpose=purpose)
        ctx.load_cert_chain(certfile=str(tls.cert), keyfile=str(tls.key))
        ctx.load_verify_locations(cafile=str(tls.ca))
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    return make(ssl.Purpose.CLIENT_AUTH), make(ssl.Purpose.SERVER_AUTH)


class RecordingPool(Pool):
    """A Pool that keeps every packet it receives, to check the bytes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.packets: dict[str, list[bytes]] = {}
        self.bad_packets: list[str] = []

    async def _receive_handler(self, sender_name: str, packet: bytes) -> None:
        packet = bytes(packet)
        self.packets.setdefault(sender_name, []).append(packet)
        try:
            PACKER.unpack(packet)
        except Exception as e:  # noqa: BLE001 - recorded and reported
            self.bad_packets.append(f"{sender_name}: undecodable packet {short(packet)}: {e}")
        await super()._receive_handler(sender_name, packet)

    def packet_by_id(self, sender: str) -> dict[str, bytes]:
        return {PACKER.unpack(p)[0]: p for p in self.packets.get(sender, [])}


def make_pool(
    name: str,
    port: int,
    peers: dict[str, tuple[int, Path | None]],
    tls: Tls | None = None,
    timeout: float = 60,
    host: str = HOST,
) -> RecordingPool:
    """A Python party on 127.0.0.1:`port`; `peers` maps names to (port,
    certificate file that identifies the peer, with TLS), all reached at
    `host`."""
    if tls:
        server_ctx, client_ctx = ssl_contexts(tls)
        comm = HttpCommunicator(addr=HOST, port=port, ssl_server_context=server_ctx, ssl_client_context=client_ctx)
    else:
        comm = HttpCommunicator(addr=HOST, port=port)
    pool = RecordingPool(name, comm, timeout=timeout)
    for peer, (pport, cert) in peers.items():
        pool.add_client(peer, HttpConnection(host, pport, cert=str(cert) if cert else None))
    return pool


def free_port() -> int:
    """A port that was free a moment ago (another process may take it before
    it is used; the scenario then fails and says so)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class LogCollector(logging.Handler):
    """Collects warnings and errors of the package and of aiohttp."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("tno.mpc.communication", "aiohttp")):
            self.records.append(f"{record.levelname} {record.name}: {record.getMessage()[:300]}")


# ---------------------------------------------------------------------------
# Rust parties
# ---------------------------------------------------------------------------


@dataclass
class RustParty:
    """A running Rust party (`mpc-interop-party` or `mpc`)."""

    name: str
    proc: asyncio.subprocess.Process
    log: Path
    port: int = 0
    lines: list[str] = field(default_factory=list)

    async def wait(self, timeout: float) -> int:
        """Waits for the exit (killing it after `timeout`); returns the code."""
        try:
            await asyncio.wait_for(self._drain(), timeout)
            return await asyncio.wait_for(self.proc.wait(), 5)
        except asyncio.TimeoutError:
            self.kill()
            await self.proc.wait()
            raise Failure(f"Rust party {self.name} did not finish within {timeout}s; log {self.log}") from None

    async def _drain(self) -> None:
        assert self.proc.stdout
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def kill(self) -> None:
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass

    def outcome(self) -> str:
        fails = [ln for ln in self.lines if ln.startswith("FAIL")]
        summary = [ln for ln in self.lines if ln.startswith(("checks ", "sum="))]
        return "; ".join(fails[:5] + summary) or "(no output)"


def tls_args(tls: Tls | None, pins: dict[str, Path] | None = None) -> list[str]:
    if not tls:
        return []
    args = ["--tls-key", str(tls.key), "--tls-cert", str(tls.cert), "--tls-ca", str(tls.ca)]
    for peer, cert in (pins or {}).items():
        args += ["--peer-cert", f"{peer}={cert}"]
    return args


async def start_rust(
    binary: str,
    mode: str,
    name: str,
    peers: dict[str, int],
    log: Path,
    extra: list[str] | None = None,
    ready_timeout: float = 20,
    host: str = HOST,
) -> RustParty:
    """Starts a Rust party on 127.0.0.1 (port chosen by the party itself),
    its peers at `host`, and waits for its `ready name=... listen=HOST:PORT`
    line."""
    args = [mode, "--name", name, "--listen", f"{HOST}:0"]
    for peer, port in peers.items():
        args += ["--peer", f"{peer}={host}:{port}"]
    args += extra or []
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as err:
        err.write(f"$ {binary} {' '.join(args)}\n".encode())
        err.flush()
        proc = await asyncio.create_subprocess_exec(
            binary, *args, stdout=asyncio.subprocess.PIPE, stderr=err, stdin=asyncio.subprocess.DEVNULL
        )
    party = RustParty(name, proc, log)
    assert proc.stdout
    try:
        while True:
            line = await asyncio.wait_for(proc.stdout.readline(), ready_timeout)
            if not line:
                code = await proc.wait()
                raise Failure(f"Rust party {name} exited ({code}) before it was ready; log {log}")
            text = line.decode(errors="replace").strip()
            party.lines.append(text)
            if text.startswith("ready "):
                fields = dict(f.split("=", 1) for f in text.split()[1:] if "=" in f)
                party.port = int(fields["listen"].rsplit(":", 1)[1])
                return party
    except asyncio.TimeoutError:
        party.kill()
        await proc.wait()
        raise Failure(f"Rust party {name} not ready within {ready_timeout}s; log {log}") from None
    except BaseException:
        party.kill()
        await proc.wait()
        raise

