"""Vectorised identifiers and string formatting into Arrow arrays.

Ids must be unique, look random, and be cheap for tens of millions of rows: a
counter goes through a bijection on 48 bits (so distinct counters can never
collide) and is spelled as 12 hex digits straight into an Arrow buffer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MASK48 = np.uint64((1 << 48) - 1)
# Two hex digits per byte value, as little-endian uint16 so a byte's pair lands in order.
_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint16)

# One salt per kind of id, so e.g. session 5 and order 5 do not share digits.
SALTS = {"event": 11, "session": 23, "order": 37, "user": 41, "device": 53, "bad": 67, "plan": 71}


def mix48(values: np.ndarray, seed: int, kind: str) -> np.ndarray:
    """Bijection of [0, 2**48): affine map, then xorshift-multiply rounds (each step invertible)."""
    x = np.asarray(values, dtype=np.uint64)
    salt = np.uint64((seed * 0x9E3779B1 + SALTS[kind] * 0x85EBCA6B) & ((1 << 48) - 1))
    with np.errstate(over="ignore"):
        x = (x * np.uint64(0x5DEECE66D) + salt) & _MASK48
        x ^= x >> np.uint64(23)
        x = (x * np.uint64(0xD6E8FEB86659FD93 & ((1 << 48) - 1) | 1)) & _MASK48
        x ^= x >> np.uint64(21)
        x = (x * np.uint64(0x2545F4914F6CDD1D & ((1 << 48) - 1) | 1)) & _MASK48
        x ^= x >> np.uint64(25)
    return x


def hex_ids(prefix: str, values: np.ndarray) -> pa.Array:
    """Arrow string array prefix + 12 lowercase hex digits of each value."""
    x = np.asarray(values, dtype=np.uint64)
    n = len(x)
    head = prefix.encode()
    width = len(head) + 12
    # Big-endian bytes 2..7 of each value are its 48 bits, most significant first.
    digits = _HEX_PAIRS[x.astype(">u8").view(np.uint8).reshape(n, 8)[:, 2:]]
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    buf[:, len(head) :] = digits.view(np.uint8).reshape(n, 12)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes())])


def take(labels: list[str] | tuple[str, ...] | pa.Array, codes: np.ndarray) -> pa.Array:
    """labels[codes] as an Arrow string array; a negative code becomes null."""
    codes = np.asarray(codes)
    table = labels if isinstance(labels, pa.Array) else pa.array(list(labels), pa.string())
    mask = codes < 0
    indices = pa.array(np.where(mask, 0, codes).astype(np.int64), mask=mask if mask.any() else None)
    return table.take(indices)


def with_nulls(array: pa.Array, null_mask: np.ndarray) -> pa.Array:
    """The array with the rows of null_mask set to null."""
    if not null_mask.any():
        return array
    return pc.if_else(pa.array(null_mask), pa.scalar(None, array.type), array)


def int_strings(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def money_strings(cents: np.ndarray) -> pa.Array:
    """Integer cents -> '123.40' (always two decimals, sign kept)."""
    cents = np.asarray(cents, dtype=np.int64)
    sign = np.where(cents < 0, "-", "")
    whole = int_strings(np.abs(cents) // 100)
    frac = pc.utf8_lpad(int_strings(np.abs(cents) % 100), width=2, padding="0")
    body = pc.binary_join_element_wise(whole, frac, ".")
    return pc.binary_join_element_wise(pa.array(sign, pa.string()), body, "")


def timestamp_strings(epoch_ms: np.ndarray, style: str) -> pa.Array:
    """Format UTC epoch milliseconds.

    style: 'utc_z' -> 2026-03-01T02:03:04.123Z, 'shanghai' -> 2026-03-01T10:03:04+08:00,
    'naive_utc' -> 2026-03-01 02:03:04, 'date' -> 2026-03-01 (UTC date of the value).
    """
    ms = np.asarray(epoch_ms, dtype=np.int64)
    if style == "utc_z":
        return pc.strftime(pa.array(ms, pa.timestamp("ms")), format="%Y-%m-%dT%H:%M:%SZ")
    if style == "shanghai":
        shifted = (ms + 8 * 3600 * 1000) // 1000
        return pc.strftime(pa.array(shifted, pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S+08:00")
    if style == "naive_utc":
        return pc.strftime(pa.array(ms // 1000, pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
    raise ValueError(style)
