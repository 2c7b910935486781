#!/usr/bin/env python3
"""Generate golden wire-format vectors from the real `tno.mpc.communication` 5.0.4.

Run through `scripts/golden/gen.sh` (which sets up a pinned virtualenv). Writes a JSON
file of the form

    {"generator": "...", "package_version": "5.0.4",
     "vectors": [{"name", "id", "packet", "value", "python"}, ...]}

where `packet` is the lowercase hex of `DefaultPacker().pack(value, msg_id=id)` and
`value` is a language-neutral description of the value (schema below), written
directly from the Python value, independently of msgpack.

Value description (a JSON object with exactly one key):
  {"nil": null} | {"bool": b} | {"int": "<decimal>"} | {"mpz": "<decimal>"}
  {"f64": "<16 hex digits, IEEE bits big-endian>"} | {"f32": "<8 hex digits>"}
  {"str": s} | {"bytes": "<hex>"} | {"list": [d, ...]} | {"tuple": [d, ...]}
  {"map": [[kd, vd], ...]}   (insertion order)
  {"ndarray": {"shape": [n, ...], "values": [d, ...]}}   (flattened, C order)
  {"tagged": {"type": "<name>", "data": d}}

Native-dtype numpy arrays that ormsgpack encodes itself (C-contiguous, supported
dtype, ndim >= 1) are described as the nested lists that appear on the wire. Every
other array (object dtype, 0-d, non-contiguous, str dtype, ...) goes through the
package's numpy plugin and is described as `ndarray`; for a 0-d array `values` has
exactly one element, which on the wire is the bare scalar (not a list).

Checks performed for every vector (any failure aborts with a non-zero exit):
  1. an independent msgpack encoder in this file, fed only the description and the
     id, reproduces the packet byte for byte;
  2. `DefaultPacker().unpack(packet)` returns the id and a value strictly equal
     (types, float bits, dict order, array shapes) to the value rebuilt from the
     description;
  3. unless the vector is marked otherwise, the unpacked value also equals the
     original Python value (numpy arrays compared after the documented
     list-conversion, floats by bits);
  4. rows from the reference table are byte-identical to the hex recorded there.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import struct
import sys
import warnings
from typing import Any

import gmpy2
import numpy as np
import ormsgpack

import tno.mpc.communication as tmc
from tno.mpc.communication import DefaultPacker, Serializer
from tno.mpc.communication.packers import DeserializerOpts, SerializerOpts

try:
    from tno.mpc.communication.exceptions import NumpySerializationWarning

    warnings.simplefilter("ignore", NumpySerializationWarning)
except ImportError:  # pragma: no cover
    pass

PACKAGE_VERSION = "5.0.4"
MPZ_TYPE = type(gmpy2.mpz(0))
MAX_REPR = 160


def die(msg: str) -> None:
    sys.stderr.write(f"gen.py: FAILED: {msg}\n")
    sys.exit(1)


# ---------------------------------------------------------------------------------
# Registered user classes
# ---------------------------------------------------------------------------------


class Point:
    """Registered user class; serializes to {"x": x, "y": y}."""

    def __init__(self, x: Any, y: Any) -> None:
        self.x = x
        self.y = y

    def serialize(self, opts: SerializerOpts) -> dict[str, Any]:
        return {"x": self.x, "y": self.y}

    @staticmethod
    def deserialize(obj: dict[str, Any], opts: DeserializerOpts) -> Point:
        return Point(obj["x"], obj["y"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Point):
            return NotImplemented
        return (self.x, self.y) == (other.x, other.y)

    def __repr__(self) -> str:
        return f"Point({self.x!r}, {self.y!r})"


class Wrapper:
    """Registered user class whose serialization nests another registered class."""

    def __init__(self, inner: Point, pair: tuple[Any, ...], blob: bytes) -> None:
        self.inner = inner
        self.pair = pair
        self.blob = blob

    def serialize(self, opts: SerializerOpts) -> dict[str, Any]:
        return {"inner": self.inner, "pair": self.pair, "blob": self.blob}

    @staticmethod
    def deserialize(obj: dict[str, Any], opts: DeserializerOpts) -> Wrapper:
        return Wrapper(obj["inner"], obj["pair"], obj["blob"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Wrapper):
            return NotImplemented
        return (self.inner, self.pair, self.blob) == (other.inner, other.pair, other.blob)

    def __repr__(self) -> str:
        return f"Wrapper({self.inner!r}, {self.pair!r}, {self.blob!r})"


REGISTERED = {"Point": Point, "Wrapper": Wrapper}
Serializer.register_class(Point)
Serializer.register_class(Wrapper)


# ---------------------------------------------------------------------------------
# Description (Python value -> language-neutral JSON), independent of msgpack
# ---------------------------------------------------------------------------------


def f64_hex(x: float) -> str:
    return struct.pack(">d", x).hex()


def f32_hex_of_numpy(x: Any) -> str:
    """Exact IEEE-754 binary32 bits of a numpy float16/float32 scalar (NaN payload kept)."""
    return np.asarray(x, dtype=np.float32).astype(">f4").tobytes().hex()


def ormsgpack_handles_natively(arr: np.ndarray) -> bool:
    """Whether ormsgpack (OPT_SERIALIZE_NUMPY) encodes the array itself, without
    falling back to the package's `ndarray` plugin."""
    try:
        ormsgpack.packb(arr, option=ormsgpack.OPT_SERIALIZE_NUMPY)
    except TypeError:
        return False
    return True


def describe_numpy_scalar(x: Any) -> dict[str, Any]:
    if isinstance(x, np.bool_):
        return {"bool": bool(x)}
    if isinstance(x, np.integer):
        return {"int": str(int(x))}
    if isinstance(x, (np.float16, np.float32)):
        return {"f32": f32_hex_of_numpy(x)}
    if isinstance(x, np.float64):
        return {"f64": f64_hex(float(x))}
    raise TypeError(f"cannot describe numpy scalar {x!r} of type {type(x)}")


def describe_native_array(arr: np.ndarray) -> dict[str, Any]:
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"no description for natively encoded dtype {arr.dtype}")
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and sys.byteorder == "big"):
        # ormsgpack reads the raw buffer as native (little-endian) numbers, whatever the
        # declared byte order is; describe what it actually puts on the wire.
        arr = arr.view(arr.dtype.newbyteorder("<"))

    def rec(a: np.ndarray) -> dict[str, Any]:
        if a.ndim == 0:
            return describe_numpy_scalar(a[()])
        return {"list": [rec(a[i]) for i in range(a.shape[0])]}

    return rec(arr)


def flatten_tolist(nested: Any, ndim: int) -> list[Any]:
    if ndim == 0:
        return [nested]
    out: list[Any] = []
    for sub in nested:
        out.extend(flatten_tolist(sub, ndim - 1))
    return out


def describe(v: Any) -> dict[str, Any]:
    if v is None:
        return {"nil": None}
    if isinstance(v, (bool, np.bool_)):
        return {"bool": bool(v)}
    if type(v) is MPZ_TYPE:
        return {"mpz": str(int(v))}
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"f64": f64_hex(v)}
    if isinstance(v, np.generic):
        return describe_numpy_scalar(v)
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": bytes(v).hex()}
    if isinstance(v, list):
        return {"list": [describe(x) for x in v]}
    if isinstance(v, tuple):
        return {"tuple": [describe(x) for x in v]}
    if isinstance(v, dict):
        for k in v:
            if not isinstance(k, str):
                raise TypeError(f"dict key {k!r} is not a str")
        return {"map": [[describe(k), describe(x)] for k, x in v.items()]}
    if isinstance(v, np.ndarray):
        if ormsgpack_handles_natively(v):
            return describe_native_array(v)
        flat = flatten_tolist(v.tolist(), v.ndim)
        return {
            "ndarray": {
                "shape": [int(n) for n in v.shape],
                "values": [describe(x) for x in flat],
            }
        }
    name = type(v).__name__
    if name in REGISTERED and type(v) is REGISTERED[name]:
        return {"tagged": {"type": name, "data": describe(v.serialize(tmc.packers.DefaultSerializerOpts))}}
    raise TypeError(f"cannot describe {v!r} of type {type(v)}")


# ---------------------------------------------------------------------------------
# Independent msgpack encoder: description -> bytes (what the Rust side must emit)
# ---------------------------------------------------------------------------------


def enc_uint_int(v: int) -> bytes:
    if 0 <= v <= 0x7F:
        return bytes([v])
    if -32 <= v < 0:
        return struct.pack(">b", v)
    if v > 0:
        if v <= 0xFF:
            return b"\xcc" + struct.pack(">B", v)
        if v <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", v)
        if v <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", v)
        return b"\xcf" + struct.pack(">Q", v)
    if v >= -(2**7):
        return b"\xd0" + struct.pack(">b", v)
    if v >= -(2**15):
        return b"\xd1" + struct.pack(">h", v)
    if v >= -(2**31):
        return b"\xd2" + struct.pack(">i", v)
    return b"\xd3" + struct.pack(">q", v)


def enc_str(s: str) -> bytes:
    b = s.encode("utf-8")
    n = len(b)
    if n <= 31:
        return bytes([0xA0 | n]) + b
    if n <= 0xFF:
        return b"\xd9" + struct.pack(">B", n) + b
    if n <= 0xFFFF:
        return b"\xda" + struct.pack(">H", n) + b
    return b"\xdb" + struct.pack(">I", n) + b


def enc_bin(b: bytes) -> bytes:
    n = len(b)
    if n <= 0xFF:
        return b"\xc4" + struct.pack(">B", n) + b
    if n <= 0xFFFF:
        return b"\xc5" + struct.pack(">H", n) + b
    return b"\xc6" + struct.pack(">I", n) + b


def enc_array_header(n: int) -> bytes:
    if n <= 15:
        return bytes([0x90 | n])
    if n <= 0xFFFF:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def enc_map_header(n: int) -> bytes:
    if n <= 15:
        return bytes([0x80 | n])
    if n <= 0xFFFF:
        return b"\xde" + struct.pack(">H", n)
    return b"\xdf" + struct.pack(">I", n)


def enc_tagged(type_name: str, data: bytes) -> bytes:
    return enc_map_header(2) + enc_str("type") + enc_str(type_name) + enc_str("data") + data


def nest(flat: list[Any], shape: list[int]) -> Any:
    if not shape:
        assert len(flat) == 1
        return flat[0]
    n = shape[0]
    sub = math.prod(shape[1:])
    return [nest(flat[i * sub : (i + 1) * sub], shape[1:]) for i in range(n)]


def encode(d: dict[str, Any]) -> bytes:
    (kind,) = d.keys()
    x = d[kind]
    if kind == "nil":
        return b"\xc0"
    if kind == "bool":
        return b"\xc3" if x else b"\xc2"
    if kind == "int":
        v = int(x)
        if -(2**63) <= v < 2**64:
            return enc_uint_int(v)
        raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
        return enc_tagged("int", enc_bin(raw))
    if kind == "mpz":
        v = int(x)
        # gmpy2.to_binary format for mpz: 0x01, then 0x00 for zero, else
        # 0x01 (positive) / 0x02 (negative) followed by the little-endian magnitude.
        if v == 0:
            raw = b"\x01\x00"
        else:
            mag = abs(v)
            raw = b"\x01" + (b"\x01" if v > 0 else b"\x02") + mag.to_bytes((mag.bit_length() + 7) // 8, "little")
        return enc_tagged("mpz", enc_bin(raw))
    if kind == "f64":
        return b"\xcb" + bytes.fromhex(x)
    if kind == "f32":
        return b"\xca" + bytes.fromhex(x)
    if kind == "str":
        return enc_str(x)
    if kind == "bytes":
        return enc_bin(bytes.fromhex(x))
    if kind == "list":
        return enc_array_header(len(x)) + b"".join(encode(e) for e in x)
    if kind == "tuple":
        return enc_tagged("tuple", enc_array_header(len(x)) + b"".join(encode(e) for e in x))
    if kind == "map":
        return enc_map_header(len(x)) + b"".join(encode(k) + encode(v) for k, v in x)
    if kind == "ndarray":
        shape = x["shape"]
        enc_vals = [encode(e) for e in x["values"]]
        if len(enc_vals) != math.prod(shape):
            raise ValueError("ndarray description: values do not match shape")

        def enc_nested(n: Any) -> bytes:
            if isinstance(n, list):
                return enc_array_header(len(n)) + b"".join(enc_nested(e) for e in n)
            return n

        values = enc_nested(nest(enc_vals, shape)) if shape else enc_vals[0]
        shape_enc = enc_tagged("tuple", enc_array_header(len(shape)) + b"".join(enc_uint_int(s) for s in shape))
        data = enc_map_header(2) + enc_str("values") + values + enc_str("shape") + shape_enc
        return enc_tagged("ndarray", data)
    if kind == "tagged":
        return enc_tagged(x["type"], encode(x["data"]))
    raise ValueError(f"unknown description kind {kind}")


def encode_packet(d: dict[str, Any], msg_id: str) -> bytes:
    return enc_map_header(2) + enc_str("object") + enc_bin(encode(d)) + enc_str("id") + enc_str(msg_id)


# ---------------------------------------------------------------------------------
# Expected unpacked value (description -> Python value as 5.0.4 unpacks it)
# ---------------------------------------------------------------------------------


def expected_unpacked(d: dict[str, Any]) -> Any:
    (kind,) = d.keys()
    x = d[kind]
    if kind == "nil":
        return None
    if kind == "bool":
        return bool(x)
    if kind == "int":
        return int(x)
    if kind == "mpz":
        return gmpy2.mpz(int(x))
    if kind == "f64":
        return struct.unpack(">d", bytes.fromhex(x))[0]
    if kind == "f32":
        return struct.unpack(">f", bytes.fromhex(x))[0]
    if kind == "str":
        return x
    if kind == "bytes":
        return bytes.fromhex(x)
    if kind == "list":
        return [expected_unpacked(e) for e in x]
    if kind == "tuple":
        return tuple(expected_unpacked(e) for e in x)
    if kind == "map":
        out = {}
        for k, v in x:
            out[expected_unpacked(k)] = expected_unpacked(v)
        return out
    if kind == "ndarray":
        arr = np.empty(tuple(x["shape"]), dtype=object)
        for i, e in enumerate(x["values"]):
            arr.flat[i] = expected_unpacked(e)
        return arr
    if kind == "tagged":
        cls = REGISTERED[x["type"]]
        return cls.deserialize(expected_unpacked(x["data"]), tmc.packers.DefaultDeserializerOpts)
    raise ValueError(kind)


def normalize_original(v: Any) -> Any:
    """What 5.0.4 hands back for an original value (arrays that ormsgpack encodes
    natively come back as nested lists, numpy scalars as Python scalars)."""
    if isinstance(v, np.ndarray):
        if ormsgpack_handles_natively(v):
            return normalize_original(v.tolist())
        out = np.empty(v.shape, dtype=object)
        for i, e in enumerate(flatten_tolist(v.tolist(), v.ndim)):
            out.flat[i] = normalize_original(e)
        return out
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytearray):
        return bytes(v)
    if isinstance(v, list):
        return [normalize_original(e) for e in v]
    if isinstance(v, tuple):
        return tuple(normalize_original(e) for e in v)
    if isinstance(v, dict):
        return {k: normalize_original(e) for k, e in v.items()}
    if isinstance(v, Point):
        return Point(normalize_original(v.x), normalize_original(v.y))
    if isinstance(v, Wrapper):
        return Wrapper(normalize_original(v.inner), normalize_original(v.pair), normalize_original(v.blob))
    return v


def deq(a: Any, b: Any) -> bool:
    """Strict deep equality: same types, float bits, dict order, array shapes."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape:
            return False
        fa = flatten_tolist(a.tolist(), a.ndim)
        fb = flatten_tolist(b.tolist(), b.ndim)
        return deq(fa, fb)
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(deq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            deq(ka, kb) and deq(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items())
        )
    if isinstance(a, Point):
        return deq(a.x, b.x) and deq(a.y, b.y)
    if isinstance(a, Wrapper):
        return deq(a.inner, b.inner) and deq(a.pair, b.pair) and deq(a.blob, b.blob)
    return bool(a == b)


# ---------------------------------------------------------------------------------
# Vectors
# ---------------------------------------------------------------------------------

PACKER = DefaultPacker()
VECTORS: list[dict[str, Any]] = []
NAMES: set[str] = set()


def short_repr(v: Any) -> str:
    r = repr(v)
    if len(r) > MAX_REPR:
        r = r[:MAX_REPR] + f"... <{len(r)} chars>"
    return r


def add(name: str, value: Any, msg_id: str = "0", *, expect_hex: str | None = None, roundtrip_original: bool = True) -> None:
    if name in NAMES:
        die(f"duplicate vector name {name}")
    NAMES.add(name)
    packet = PACKER.pack(value, msg_id=msg_id)
    desc = describe(value)

    if expect_hex is not None and packet.hex() != expect_hex:
        die(f"{name}: packet differs from the reference table\n  got  {packet.hex()}\n  want {expect_hex}")

    mine = encode_packet(desc, msg_id)
    if mine != packet:
        die(f"{name}: independent encoder disagrees with the package\n  package {packet.hex()[:400]}\n  encoder {mine.hex()[:400]}")

    got_id, got = PACKER.unpack(packet)
    if type(got_id) is not str or got_id != msg_id:
        die(f"{name}: unpacked id {got_id!r} != {msg_id!r}")
    if not deq(expected_unpacked(desc), got):
        die(f"{name}: unpacked value {short_repr(got)} does not match the description")
    if roundtrip_original and not deq(normalize_original(value), got):
        die(f"{name}: unpacked value {short_repr(got)} != original {short_repr(value)}")

    VECTORS.append({"name": name, "id": msg_id, "packet": packet.hex(), "value": desc, "python": short_repr(value)})


def reference_table() -> None:
    """Rows of the table in shared/reference/tno-wire.md (msg_id "0")."""
    rows = [
        ("ref_str_hello", "Hello!", "82a66f626a656374c407a648656c6c6f21a26964a130"),
        ("ref_int_1234", 1234, "82a66f626a656374c403cd04d2a26964a130"),
        ("ref_int_minus5", -5, "82a66f626a656374c401fba26964a130"),
        ("ref_f64_1234_4321", 1234.4321, "82a66f626a656374c409cb409349ba786c2268a26964a130"),
        ("ref_bytes_0001", b"\x00\x01", "82a66f626a656374c404c4020001a26964a130"),
        ("ref_nil", None, "82a66f626a656374c401c0a26964a130"),
        ("ref_true", True, "82a66f626a656374c401c3a26964a130"),
        ("ref_list_1234", [1, 2, 3, 4], "82a66f626a656374c4059401020304a26964a130"),
        ("ref_map_str_keys", {"1": 1, "2": 2}, "82a66f626a656374c40782a13101a13202a26964a130"),
        ("ref_tuple_1_a", (1, "a"), "82a66f626a656374c41582a474797065a57475706c65a4646174619201a161a26964a130"),
        ("ref_tuple_empty", (), "82a66f626a656374c41282a474797065a57475706c65a46461746190a26964a130"),
        ("ref_bigint_2p70", 2**70, "82a66f626a656374c41a82a474797065a3696e74a464617461c409000000000000000040a26964a130"),
        ("ref_bigint_neg_2p70", -(2**70), "82a66f626a656374c41a82a474797065a3696e74a464617461c4090000000000000000c0a26964a130"),
        ("ref_int_u64_max", 2**64 - 1, "82a66f626a656374c409cfffffffffffffffffa26964a130"),
        ("ref_bigint_i64_min_minus1", -(2**63) - 1, "82a66f626a656374c41a82a474797065a3696e74a464617461c409ffffffffffffff7fffa26964a130"),
        ("ref_np_int64_2x3", np.arange(6, dtype=np.int64).reshape(2, 3), "82a66f626a656374c409929300010293030405a26964a130"),
        ("ref_np_float32", np.array([1.5, 2.5], dtype=np.float32), "82a66f626a656374c40b92ca3fc00000ca40200000a26964a130"),
        (
            "ref_np_object_bigint",
            np.array([2**70, 3], dtype=object),
            "82a66f626a656374c45082a474797065a76e646172726179a46461746182a676616c7565739282a474797065a3696e74a464617461c40900000000000000004003a5736861706582a474797065a57475706c65a4646174619102a26964a130",
        ),
        ("ref_mpz_2p70", gmpy2.mpz(2**70), "82a66f626a656374c41c82a474797065a36d707aa464617461c40b0101000000000000000040a26964a130"),
        ("ref_mpz_minus7", gmpy2.mpz(-7), "82a66f626a656374c41482a474797065a36d707aa464617461c403010207a26964a130"),
        ("ref_point_1_2", Point(1, 2), "82a66f626a656374c41882a474797065a5506f696e74a46461746182a17801a17902a26964a130"),
        (
            "ref_map_pts",
            {"pts": [Point(1, 2), (3, 4)]},
            "82a66f626a656374c43281a37074739282a474797065a5506f696e74a46461746182a17801a1790282a474797065a57475706c65a464617461920304a26964a130",
        ),
        ("ref_str_unicode", "héllo ✓", "82a66f626a656374c40baa68c3a96c6c6f20e29c93a26964a130"),
    ]
    for name, value, hx in rows:
        add(name, value, "0", expect_hex=hx)


def int_vectors() -> None:
    ints = [
        ("0", 0), ("1", 1), ("127", 127), ("128", 128), ("255", 255), ("256", 256),
        ("65535", 65535), ("65536", 65536), ("2p32_minus1", 2**32 - 1), ("2p32", 2**32),
        ("2p63_minus1", 2**63 - 1), ("2p63", 2**63), ("2p64_minus1_id1", 2**64 - 1),
        ("2p64", 2**64), ("2p64_plus1", 2**64 + 1),
        ("minus1", -1), ("minus32", -32), ("minus33", -33), ("minus128", -128), ("minus129", -129),
        ("minus32768", -32768), ("minus32769", -32769), ("minus2p31", -(2**31)),
        ("minus2p31_minus1", -(2**31) - 1), ("minus2p63", -(2**63)), ("minus2p63_minus1_id1", -(2**63) - 1),
        ("minus2p64", -(2**64)), ("minus2p64_plus1", -(2**64) + 1),
        ("2p71_minus1", 2**71 - 1), ("2p71", 2**71), ("minus2p71", -(2**71)), ("minus2p71_minus1", -(2**71) - 1),
        ("2p72_minus1", 2**72 - 1),
        ("2p127", 2**127), ("minus2p127", -(2**127)), ("minus2p200", -(2**200)),
        ("2p1000_plus12345", 2**1000 + 12345),
    ]
    for name, v in ints:
        mid = "1" if name.endswith("_id1") else "0"
        add(f"int_{name}", v, mid)
    add("list_ints_at_boundaries", [v for _, v in ints], "42")
    add("tuple_of_bigints", (2**64, -(2**64), 2**63, -(2**63) - 1, 2**200 + 1), "0")


def mpz_vectors() -> None:
    for name, v in [
        ("0", 0), ("1", 1), ("minus1", -1), ("7", 7), ("minus7_id42", -7), ("255", 255), ("256", 256),
        ("2p64", 2**64), ("minus2p70", -(2**70)), ("2p2048_minus1", 2**2048 - 1),
    ]:
        add(f"mpz_{name}", gmpy2.mpz(v), "42" if name.endswith("_id42") else "0")
    add("list_mixed_int_mpz", [gmpy2.mpz(5), 5, gmpy2.mpz(-(2**80)), -(2**80)], "0")


def float_vectors() -> None:
    floats = [
        ("0", 0.0), ("minus0", -0.0), ("1_5", 1.5), ("1e300", 1e300), ("minus1e_minus300", -1e-300),
        ("inf", math.inf), ("minus_inf", -math.inf), ("one_third", 1 / 3), ("nan", math.nan),
        ("minus_nan", -math.nan), ("min_subnormal", 5e-324), ("max", sys.float_info.max),
    ]
    for name, v in floats:
        add(f"f64_{name}", v, "0")
    add("list_floats", [v for _, v in floats], "1")


def str_of_utf8_len(n: int, nonascii: bool) -> str:
    """A string whose UTF-8 encoding is exactly n bytes."""
    if not nonascii:
        return "".join(chr(ord("a") + i % 26) for i in range(n))
    head = "é✓😀"  # 2 + 3 + 4 bytes
    if n < 9:
        return "é" * (n // 2) + "a" * (n % 2)
    body = "".join(chr(ord("A") + i % 26) for i in range(n - 9))
    return head + body


def str_vectors() -> None:
    for n in [0, 1, 31, 32, 255, 256, 65535, 65536]:
        add(f"str_utf8len_{n}", str_of_utf8_len(n, nonascii=n > 0), "0")
    add("str_31_chars_62_bytes", "é" * 31, "0")
    add("str_32_chars_ascii", "x" * 32, "0")
    add("str_emoji_and_cjk", "😀 漢字 — ñ", "0")
    add("str_nul_and_controls", "a\x00b\n\t\x7f", "0")


def bytes_vectors() -> None:
    for n in [0, 1, 255, 256, 65535, 65536, 70000]:
        add(f"bytes_len_{n}", bytes((i * 7 + 3) % 256 for i in range(n)), "0")
    add("bytearray_as_bytes", bytearray(b"\x00ab\xff"), "0")


def container_vectors() -> None:
    for n in [0, 1, 15, 16, 300]:
        add(f"list_len_{n}", list(range(n)), "0")
    add("list_len_65536", [0] * 65536, "0")
    for n in [0, 1, 15, 16, 300]:
        add(f"map_len_{n}", {f"k{i}": i for i in range(n)}, "0")
    add("map_unicode_and_empty_keys", {"": 0, "ïd✓": 1, "k" * 300: 2, "z": None}, "0")
    add("map_insertion_order", {"b": 1, "a": 2, "c": 3}, "0")
    add("tuple_1", (1,), "0")
    add("tuple_nested", ((1, 2), (3, (4,)), ()), "0")
    add("tuple_in_list_in_dict", {"a": [(1, 2), [(3,)], ()], "b": ("x", b"y", None)}, "0")
    add("list_of_empty_tuples", [(), (), ((),)], "0")
    add("nested_empty_containers", [[], {}, (), [[]], {"a": {}}, [[[]]], ([], {})], "0")
    add("tuple_len_16", tuple(range(16)), "0")
    add("tuple_with_dict_and_bigint", ({"k": (2**70,)}, [gmpy2.mpz(3)]), "0")
    add("deep_nesting", [[[[[["deep", (1, [2, {"x": (3,)}])]]]]]], "0")


def numpy_vectors() -> None:
    add("np_int64_1d", np.array([0, 1, -1, 127, 128, -33, 200, -200, 70000, 2**40, -(2**40), 2**63 - 1, -(2**63)], dtype=np.int64))
    add("np_int32", np.array([[-(2**31), 2**31 - 1], [0, -5]], dtype=np.int32))
    add("np_int16", np.array([-32768, 32767, 0], dtype=np.int16))
    add("np_int8", np.array([-128, 127, -1], dtype=np.int8))
    add("np_uint8", np.array([0, 1, 127, 128, 255], dtype=np.uint8))
    add("np_uint16", np.array([0, 65535], dtype=np.uint16))
    add("np_uint32", np.array([0, 2**32 - 1], dtype=np.uint32))
    add("np_uint64", np.array([0, 2**63, 2**64 - 1], dtype=np.uint64))
    add("np_float32_specials", np.array([0.0, -0.0, 1 / 3, np.inf, -np.inf, np.nan, 3.4e38, 1e-45], dtype=np.float32))
    add("np_float64", np.array([[0.5, -0.0], [1e300, np.nan]], dtype=np.float64))
    add("np_float16_becomes_f32", np.array([1.5, -0.0, np.inf, 65504.0, 6e-8], dtype=np.float16))
    add("np_bool", np.array([[True, False], [False, True]]))
    add("np_int64_3d", np.arange(24, dtype=np.int64).reshape(2, 3, 4) - 12)
    add("np_empty_int64", np.array([], dtype=np.int64))
    add("np_empty_float32", np.array([], dtype=np.float32))
    add("np_empty_2x0", np.zeros((2, 0), dtype=np.int64))
    add("np_empty_0x2", np.zeros((0, 2), dtype=np.int64))
    add("np_contiguous_slice", np.arange(10, dtype=np.int64)[2:5])
    add("np_in_dict_and_tuple", {"a": np.array([1, 2], dtype=np.int32), "t": (np.array([0.25], dtype=np.float32),)})
    # numpy scalars
    add("np_scalar_int64", np.int64(-5))
    add("np_scalar_uint64_max", np.uint64(2**64 - 1))
    add("np_scalar_float32", np.float32(1.1))
    add("np_scalar_float16", np.float16(0.1))
    add("np_scalar_float64", np.float64(2.5))
    add("np_scalar_bool", np.bool_(False))
    # object arrays and others that go through the package's ndarray plugin
    add("np_obj_mixed", np.array([1, "a", None, 2**70, b"\x01", 1.5, True], dtype=object))
    big2d = np.empty((2, 3), dtype=object)
    for i, v in enumerate([1, 2**70, -(2**65), 3, gmpy2.mpz(9), "s"]):
        big2d.flat[i] = v
    add("np_obj_2d_bigints", big2d)
    add("np_obj_0d", np.array(5, dtype=object))
    add("np_obj_0d_bigint", np.array(2**70, dtype=object))
    add("np_obj_empty", np.array([], dtype=object))
    add("np_obj_empty_2x0", np.empty((2, 0), dtype=object))
    pts = np.empty(2, dtype=object)
    pts[0], pts[1] = Point(1, 2), Point(2**70, "y")
    add("np_obj_points", pts)
    add("np_obj_3d", np.array([[[1, "a"], [2, "b"]], [[3, "c"], [None, 2**64]]], dtype=object))
    add("np_0d_int64_via_plugin", np.array(7, dtype=np.int64))
    add("np_0d_float32_via_plugin_becomes_f64", np.array(1.5, dtype=np.float32))
    add("np_0d_bool_via_plugin", np.array(True))
    add("np_transposed_via_plugin", np.arange(6, dtype=np.int64).reshape(2, 3).T)
    add("np_fortran_order_via_plugin", np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)))
    add("np_strided_via_plugin", np.arange(10, dtype=np.int64)[::3])
    add("np_float32_transposed_becomes_f64", np.arange(4, dtype=np.float32).reshape(2, 2).T / 3)
    add("np_str_dtype_via_plugin", np.array(["a", "héllo"]))
    # ormsgpack reads a non-native byte order buffer as native: values are corrupted.
    add("np_bigendian_int64_ormsgpack_misreads", np.arange(3, dtype=">i8"), roundtrip_original=False)


def class_vectors() -> None:
    add("point_bigint_coords", Point(2**70, -(2**64)))
    add("point_tuple_coords", Point((1, 2), [3.5, None]))
    add("point_nested_point", Point(Point(1, 2), None))
    add("wrapper", Wrapper(Point(3, 4), (1, 2**70), b"\x00\xffblob"))
    add("wrapper_id_custom", Wrapper(Point("a", "b"), (1, 2**70), b""), "a custom id")
    add("list_of_wrappers", [Wrapper(Point(i, -i), (i, 2**70 + i), bytes([i])) for i in range(3)])
    add("dict_with_classes", {"w": Wrapper(Point(0, 0), (1, 2**70), b"x"), "p": Point(gmpy2.mpz(-7), 1.5), "t": (Point(1, 1),)})


LONG_ID = "".join(chr(ord("a") + i % 26) for i in range(300))


def id_vectors() -> None:
    ids = [("0", "0"), ("1", "1"), ("42", "42"), ("custom", "a custom id"), ("empty", ""), ("unicode", "ïd✓"), ("long300", LONG_ID)]
    for label, mid in ids:
        add(f"id_{label}_hello", "Hello!", mid)
        add(f"id_{label}_tuple", (1, "a", 2**70), mid)
    add("id_empty_nil", None, "")
    add("id_unicode_bytes_512", bytes(range(256)) * 2, "ïd✓")
    add("id_long_point", Point(1, 2), LONG_ID)
    add("id_31_chars", 1, "i" * 31)
    add("id_32_chars", 1, "i" * 32)


# ---------------------------------------------------------------------------------
# Seeded random nested structures
# ---------------------------------------------------------------------------------

KEY_POOL = ["a", "b", "k", "key", "x", "y", "ïd", "✓", "", "long_" * 8, "0", "Type", "DATA", "values", "shape"]


def random_scalar(rng: random.Random) -> Any:
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-200, 200)
    if kind == 3:
        return rng.choice([127, 128, 255, 256, 65535, 65536, 2**32, 2**63 - 1, 2**64 - 1, -33, -129, -(2**63)])
    if kind == 4:
        return rng.choice([1, -1]) * rng.getrandbits(rng.randint(64, 300))
    if kind == 5:
        return gmpy2.mpz(rng.choice([1, -1]) * rng.getrandbits(rng.randint(1, 200)))
    if kind == 6:
        return rng.choice([0.0, -0.0, math.inf, rng.uniform(-1e6, 1e6), rng.random() * 1e-300])
    if kind == 7:
        n = rng.choice([0, 1, 5, 31, 32, 40])
        return "".join(rng.choice("abcxyz é✓😀") for _ in range(n))
    if kind == 8:
        return rng.randbytes(rng.choice([0, 1, 3, 17, 300]))
    if kind == 9:
        return Point(rng.randint(-5, 5), rng.choice([None, "p", 2**70]))
    if kind == 10:
        return random_array(rng)
    return rng.randint(0, 2**64 - 1)


def random_array(rng: random.Random) -> np.ndarray:
    kind = rng.randrange(5)
    shape = rng.choice([(3,), (2, 2), (1, 2, 2), (0,)])
    n = math.prod(shape)
    if kind == 0:
        return np.array([rng.randint(-(2**31), 2**31) for _ in range(n)], dtype=np.int64).reshape(shape)
    if kind == 1:
        return np.array([rng.uniform(-10, 10) for _ in range(n)], dtype=np.float32).reshape(shape)
    if kind == 2:
        return np.array([rng.random() < 0.5 for _ in range(n)], dtype=np.bool_).reshape(shape)
    if kind == 3:
        return np.array([rng.randint(0, 255) for _ in range(n)], dtype=np.uint8).reshape(shape)
    arr = np.empty(shape, dtype=object)
    leaves = [None, 1, -2, 2**70, "s", b"b", gmpy2.mpz(-3), 0.5, Point(0, 1)]
    for i in range(n):
        arr.flat[i] = rng.choice(leaves)
    return arr


def random_value(rng: random.Random, depth: int) -> Any:
    if depth >= 5 or rng.random() < 0.25:
        return random_scalar(rng)
    kind = rng.randrange(5)
    n = rng.randint(0, 5)
    if kind == 0:
        return [random_value(rng, depth + 1) for _ in range(n)]
    if kind == 1:
        return tuple(random_value(rng, depth + 1) for _ in range(n))
    if kind == 2:
        keys = rng.sample(KEY_POOL, n)
        return {k: random_value(rng, depth + 1) for k in keys}
    if kind == 3:
        return Point(random_value(rng, depth + 1), random_value(rng, depth + 1))
    return Wrapper(Point(random_value(rng, depth + 1), 1), (random_value(rng, depth + 1), 2**70), rng.randbytes(n))


def random_vectors() -> None:
    rng = random.Random(0x5EED_0504)
    ids = ["0", "1", "42", "a custom id", "", "ïd✓", LONG_ID]
    for i in range(24):
        value = [random_value(rng, 1) for _ in range(rng.randint(1, 4))]
        add(f"random_{i:02d}", value, ids[i % len(ids)])


# ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    if tmc.__version__ != PACKAGE_VERSION:
        die(f"tno.mpc.communication is {tmc.__version__}, expected {PACKAGE_VERSION}")

    reference_table()
    int_vectors()
    mpz_vectors()
    float_vectors()
    str_vectors()
    bytes_vectors()
    container_vectors()
    numpy_vectors()
    class_vectors()
    id_vectors()
    random_vectors()

    from importlib.metadata import version

    generator = (
        f"scripts/golden/gen.py (python {platform.python_version()}, "
        f"tno.mpc.communication {version('tno.mpc.communication')}, ormsgpack {version('ormsgpack')}, "
        f"numpy {version('numpy')}, gmpy2 {version('gmpy2')})"
    )
    lines = ['{"generator":' + json.dumps(generator) + ',"package_version":' + json.dumps(PACKAGE_VERSION) + ',"vectors":[']
    for i, v in enumerate(VECTORS):
        sep = "," if i + 1 < len(VECTORS) else ""
        lines.append(json.dumps(v, ensure_ascii=False, separators=(",", ":")) + sep)
    lines.append("]}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # sanity

    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, args.out)
    sys.stderr.write(f"gen.py: wrote {len(VECTORS)} vectors ({len(text.encode('utf-8'))} bytes) to {args.out}\n")


if __name__ == "__main__":
    main()
