"""Glyph PBFs (signed distance fields) for map labels, made here from a TrueType font.

MapLibre draws text from 256-character ranges of SDF glyphs (24 px, 3 px buffer). The service
makes them from a Vietnamese-capable font (DejaVu Sans by default) on first request and keeps
them on disk, so the map works offline with no font server.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from planning.errors import InvalidInput, NotFound

FONT_SIZE = 24
BUFFER = 3
RADIUS = 8.0
CUTOFF = 0.25
OVERSAMPLE = 4
FONT_STACK = "DejaVu Sans"
DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_lock = threading.Lock()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _field(num: int, wire: int) -> bytes:
    return _varint((num << 3) | wire)


def _bytes_field(num: int, data: bytes) -> bytes:
    return _field(num, 2) + _varint(len(data)) + data


def _uint_field(num: int, value: int) -> bytes:
    return _field(num, 0) + _varint(value)


def _sint_field(num: int, value: int) -> bytes:
    return _field(num, 0) + _varint(_zigzag(value))


def _sdf(mask: NDArray[np.bool_], out_w: int, out_h: int, ox: float, oy: float) -> bytes:
    """Compute an SDF on the output grid from a high-resolution coverage mask."""
    _, xs = np.nonzero(mask)
    grid_y, grid_x = np.mgrid[0:out_h, 0:out_w]
    # Output pixel centres in high-resolution pixel coordinates.
    cx = ((grid_x + 0.5 - ox) * OVERSAMPLE).ravel()
    cy = ((grid_y + 0.5 - oy) * OVERSAMPLE).ravel()
    if len(xs) == 0:
        return bytes(out_w * out_h)
    # Edge pixels: inside pixels with an outside 4-neighbour, and outside ones next to inside.
    padded = np.pad(mask, 1)
    inner = padded[1:-1, 1:-1]
    neigh_out = ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    edge_y, edge_x = np.nonzero(inner & neigh_out)
    ex = edge_x + 0.5
    ey = edge_y + 0.5
    dist = np.empty(len(cx))
    for start in range(0, len(cx), 256):
        sl = slice(start, start + 256)
        d2 = (cx[sl, None] - ex[None, :]) ** 2 + (cy[sl, None] - ey[None, :]) ** 2
        dist[sl] = np.sqrt(d2.min(axis=1))
    dist /= OVERSAMPLE
    h, w = mask.shape
    ix = np.clip(np.floor(cx).astype(int), -1, w)
    iy = np.clip(np.floor(cy).astype(int), -1, h)
    valid = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    inside = np.zeros(len(cx), dtype=bool)
    inside[valid] = mask[iy[valid], ix[valid]]
    signed = np.where(inside, -dist, dist)
    values = np.clip(np.round(255 - 255 * (signed / RADIUS + CUTOFF)), 0, 255)
    return values.astype(np.uint8).tobytes()


def _glyph(face: object, code: int) -> bytes | None:
    import freetype

    f: freetype.Face = face
    index = f.get_char_index(code)
    if index == 0 and code != 32:
        return None
    f.load_char(code, freetype.FT_LOAD_RENDER | freetype.FT_LOAD_TARGET_NORMAL)
    g = f.glyph
    bm = g.bitmap
    advance = round(g.advance.x / 64 / OVERSAMPLE)
    w_hi, h_hi = bm.width, bm.rows
    if w_hi == 0 or h_hi == 0:
        return (
            _uint_field(1, code)
            + _uint_field(3, 0)
            + _uint_field(4, 0)
            + _sint_field(5, 0)
            + _sint_field(6, -FONT_SIZE)
            + _uint_field(7, advance)
        )
    data = np.array(bm.buffer, dtype=np.uint8).reshape(h_hi, bm.pitch)[:, :w_hi]
    mask = data >= 128
    width = int(np.ceil(w_hi / OVERSAMPLE))
    height = int(np.ceil(h_hi / OVERSAMPLE))
    bitmap = _sdf(mask, width + 2 * BUFFER, height + 2 * BUFFER, BUFFER, BUFFER)
    left = round(g.bitmap_left / OVERSAMPLE)
    top = round(g.bitmap_top / OVERSAMPLE) - FONT_SIZE
    return (
        _uint_field(1, code)
        + _bytes_field(2, bitmap)
        + _uint_field(3, width)
        + _uint_field(4, height)
        + _sint_field(5, left)
        + _sint_field(6, top)
        + _uint_field(7, advance)
    )


@cache
def _face(path: str) -> object:
    import freetype

    face = freetype.Face(path)
    face.set_pixel_sizes(0, FONT_SIZE * OVERSAMPLE)
    return face


def render_range(font: Path, start: int) -> bytes:
    """Return the glyph PBF of characters start..start+255."""
    face = _face(str(font))
    glyphs = b""
    for code in range(start, start + 256):
        g = _glyph(face, code)
        if g is not None:
            glyphs += _bytes_field(3, g)
    stack = (
        _bytes_field(1, FONT_STACK.encode())
        + _bytes_field(2, f"{start}-{start + 255}".encode())
        + glyphs
    )
    return _bytes_field(1, stack)


def glyph_range(cache_dir: Path, fontstack: str, range_name: str, font: Path | None) -> bytes:
    """Return (making once, then from disk) one range of the font stack."""
    parts = range_name.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise InvalidInput("a glyph range is START-END, e.g. 0-255")
    start, end = int(parts[0]), int(parts[1])
    if start % 256 or end != start + 255 or start > 65280:
        raise InvalidInput("a glyph range is 256 characters starting at a multiple of 256")
    names = [s.strip() for s in fontstack.split(",")]
    if FONT_STACK not in names:
        raise NotFound(f"font stack {fontstack!r} is not served; use {FONT_STACK!r}")
    font = font or DEFAULT_FONT
    if not font.exists():
        raise NotFound(f"the label font {font} is missing (Debian package fonts-dejavu-core)")
    target = cache_dir / "glyphs" / f"{start}-{end}.pbf"
    if target.exists():
        return target.read_bytes()
    with _lock:
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(render_range(font, start))
            tmp.replace(target)
    return target.read_bytes()
