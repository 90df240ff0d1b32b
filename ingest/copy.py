"""Encode feature columns as one COPY … (FORMAT binary) payload.

Binary COPY spares the server the text parsing of CSV: geometries go in as raw EWKB (half the
bytes of hex, and no hex decoding), numbers as 8-byte floats. Each encoder returns a column's
fields as Arrow arrays (its *parts*) whose values, joined row by row, make each row's field: a
4-byte length (-1 for NULL) and the value's binary form. The rows are joined by Arrow, in C and
without the GIL, so the payload costs no Python per value.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
_BINARY = pa.large_binary()
_EMPTY = pa.scalar(b"", _BINARY)

# One column's fields: arrays of large_binary whose values, joined row by row, are the fields.
Field = list[pa.Array]


def text_field(values: Sequence[str | None] | pa.Array) -> Field:
    """Encode a text column (UTF-8)."""
    arr = values if isinstance(values, pa.Array) else pa.array(values, pa.large_string())
    return _prefixed(_as_binary(arr))


def float_field(values: Sequence[float | None] | NDArray[np.float64]) -> Field:
    """Encode a float8 column (None is NULL)."""
    if isinstance(values, np.ndarray):
        data, null = values.astype(">f8"), None
    else:
        arr = pa.array(values, pa.float64())
        null = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
        data = arr.fill_null(0.0).to_numpy().astype(">f8")
    n = len(data)
    rows = np.empty(n, dtype=[("n", ">i4"), ("v", ">f8")])
    rows["n"] = 8
    rows["v"] = data
    raw = rows.view(np.uint8).reshape(n, 12)
    if null is None:
        return [_fixed(raw)]
    rows["n"][null] = -1
    keep = np.ones((n, 12), dtype=bool)
    keep[null, 4:] = False  # a NULL is its length alone
    return [_binary(np.where(null, 4, 12), raw[keep])]


def jsonb_field(values: Sequence[str] | pa.Array) -> Field:
    """Encode a jsonb column from JSON text (binary jsonb is a version byte and the text)."""
    text = values if isinstance(values, pa.Array) else pa.array(values, pa.large_string())
    arr = _as_binary(text)
    if arr.null_count:
        raise ValueError("jsonb values cannot be NULL here")
    size = np.diff(_offsets(arr))
    n = len(size)
    head = np.empty(n, dtype=[("n", ">i4"), ("version", "u1")])
    head["n"] = size + 1
    head["version"] = 1
    return [_fixed(head.view(np.uint8).reshape(n, 5)), arr]


def constant_int(value: int, n: int) -> Field:
    """Encode an int4 column holding one value."""
    one = np.frombuffer(struct.pack(">ii", 4, value), dtype=np.uint8)
    return [_fixed(np.broadcast_to(one, (n, 8)))]


def row_count(columns: Sequence[Field]) -> int:
    """Return the number of rows of encoded columns."""
    return len(columns[0][0]) if columns and columns[0] else 0


def payload(columns: Sequence[Field], rows: Sequence[int] | None = None) -> bytes:
    """Join encoded columns into a COPY binary payload (only ``rows``, in order, if given)."""
    parts = [part for column in columns for part in column]
    if not parts or not len(parts[0]):
        return HEADER + TRAILER
    count = pa.scalar(struct.pack(">h", len(columns)), _BINARY)
    joined = pc.binary_join_element_wise(count, *parts, _EMPTY)
    if rows is not None:
        joined = joined.take(pa.array(rows, pa.int64()))
    offsets = _offsets(joined)
    body = joined.buffers()[2]
    start, end = int(offsets[0]), int(offsets[-1])
    return b"".join((HEADER, memoryview(body)[start:end], TRAILER))


def finite_or_none(
    values: Sequence[Any], parse: Callable[[Any], float | None]
) -> list[Any] | NDArray[np.float64]:
    """Apply ``parse`` to each value, with a fast path for plain finite floats (a column of
    them comes back as a numpy array, which float_field takes as it is)."""
    if values and set(map(type, values)) == {float}:
        arr = np.array(values, dtype=np.float64)
        if np.isfinite(arr).all():
            return arr
    # v - v is 0.0 for a finite float, NaN for NaN and the infinities.
    return [v if type(v) is float and v - v == 0.0 else parse(v) for v in values]


def _prefixed(arr: pa.Array) -> Field:
    """Return the fields of a binary column: each value after its length (NULL: -1 alone)."""
    size = np.diff(_offsets(arr)).astype(">i4")
    if arr.null_count:
        size[arr.is_null().to_numpy(zero_copy_only=False)] = -1
        arr = _without_validity(arr)  # a NULL's value is empty: its length says it all
    return [_fixed(size.view(np.uint8).reshape(len(size), 4)), arr]


def _as_binary(arr: pa.Array) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(_BINARY)


def _offsets(arr: pa.Array) -> NDArray[np.int64]:
    """Return a large binary array's n + 1 value offsets."""
    return np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]


def _without_validity(arr: pa.Array) -> pa.Array:
    offsets = _offsets(arr)
    return pa.Array.from_buffers(
        _BINARY, len(arr), [None, pa.py_buffer(np.ascontiguousarray(offsets)), arr.buffers()[2]]
    )


def _fixed(rows: NDArray[np.uint8]) -> pa.Array:
    """Return a binary array whose values are the rows of an (n, width) byte matrix."""
    n, width = rows.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return _binary_of(n, offsets, np.ascontiguousarray(rows).ravel())


def _binary(sizes: NDArray[np.integer], data: NDArray[np.uint8]) -> pa.Array:
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return _binary_of(len(sizes), offsets, data)


def _binary_of(n: int, offsets: NDArray[np.int64], data: NDArray[np.uint8]) -> pa.Array:
    return pa.Array.from_buffers(_BINARY, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
