"""Repair geometries in bulk: 2D, finite, valid, of the expected family, always Multi*."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

# Coordinates beyond this (metres or degrees) are garbage such as 1e308, never real positions.
MAX_ABS_COORD = 1e8

POLYGONAL = {shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON}
LINEAR = {
    shapely.GeometryType.LINESTRING,
    shapely.GeometryType.LINEARRING,
    shapely.GeometryType.MULTILINESTRING,
}


@dataclass
class RepairStats:
    """What the repair did, by feature index."""

    null: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)
    bad_coords: list[int] = field(default_factory=list)
    wrong_type: list[int] = field(default_factory=list)
    repaired: list[int] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    had_z: int = 0
    had_m: int = 0


def parts_of_family(geom: Any, family: str) -> Any:
    """Keep the polygonal (or linear) parts of a geometry, merged into one Multi* geometry."""
    wanted = POLYGONAL if family == "polygon" else LINEAR
    parts = [
        p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in {int(t) for t in wanted}
    ]
    flat: list[Any] = []
    for p in parts:
        flat.extend(shapely.get_parts(p))
    if not flat:
        return None
    if family == "polygon":
        return shapely.MultiPolygon(flat)
    return shapely.MultiLineString([shapely.LineString(p.coords) for p in flat])


def repair(
    geoms: NDArray[np.object_],
    family: str,
    unreadable: Sequence[int] = (),
    closed: Sequence[int] = (),
    promote: bool = True,
) -> tuple[NDArray[np.object_], RepairStats]:
    """Return Multi* geometries (None where dropped) and what was done to get them.

    unreadable: features whose geometry could not be parsed (they are None in geoms); closed:
    features whose rings were closed to parse them (counted as repaired if they survive);
    promote=False leaves single polygons single (ingest.copy.ewkb_field writes them as Multi*
    more cheaply than shapely makes the geometries)."""
    stats = RepairStats()
    out = np.array(geoms, dtype=object)
    missing = shapely.is_missing(out) | shapely.is_empty(out)
    broken = set(unreadable)
    stats.unreadable = sorted(broken)
    stats.null = [i for i in np.flatnonzero(missing).tolist() if i not in broken]
    out[missing] = None
    present = ~missing
    if present.any():
        stats.had_z = int(shapely.has_z(out[present]).sum())
        has_m = getattr(shapely, "has_m", None)
        if has_m is not None:
            stats.had_m = int(has_m(out[present]).sum())
        # Copying every geometry costs time; 2D data (M unknown without has_m) needs nothing.
        if stats.had_z or stats.had_m or has_m is None:
            out[present] = shapely.force_2d(out[present])
    # Non-finite or absurd coordinates: drop the feature rather than guess.
    coords, index = shapely.get_coordinates(out[present], return_index=True)
    if len(coords):
        bad = ~np.isfinite(coords).all(axis=1) | (np.abs(coords) > MAX_ABS_COORD).any(axis=1)
        if bad.any():
            idx_present = np.flatnonzero(present)
            bad_features = np.unique(idx_present[index[bad]])
            stats.bad_coords = bad_features.tolist()
            out[bad_features] = None
            present[bad_features] = False
    wanted = POLYGONAL if family == "polygon" else LINEAR
    wanted_ids = np.array([int(t) for t in wanted])
    type_ids = np.full(len(out), -1)
    type_ids[present] = shapely.get_type_id(out[present])
    collection = type_ids == int(shapely.GeometryType.GEOMETRYCOLLECTION)
    for i in np.flatnonzero(collection):
        out[i] = parts_of_family(out[i], family)
    type_ids[collection] = [
        int(shapely.get_type_id(g)) if g is not None else -1 for g in out[collection]
    ]
    wrong = present & ~np.isin(type_ids, wanted_ids)
    stats.wrong_type = np.flatnonzero(wrong).tolist()
    out[wrong] = None
    present &= ~wrong
    if family == "polygon":
        valid = np.ones(len(out), dtype=bool)
        valid[present] = shapely.is_valid(out[present])
        invalid = present & ~valid
        if invalid.any():
            stats.repaired = np.flatnonzero(invalid).tolist()
            fixed = shapely.make_valid(out[invalid], method="structure", keep_collapsed=False)
            out[invalid] = [parts_of_family(g, family) for g in fixed]
    # Empty, zero-area (or zero-length) results are dropped.
    alive = np.array([g is not None for g in out])
    size = np.zeros(len(out))
    if alive.any():
        size[alive] = (
            shapely.area(out[alive]) if family == "polygon" else shapely.length(out[alive])
        )
    empty = present & (~alive | (size <= 0))
    stats.empty = np.flatnonzero(empty).tolist()
    out[empty] = None
    # A repair that leaves nothing (a collapsed ring) counts as dropped, not as repaired.
    stats.repaired = sorted(
        i for i in {*stats.repaired, *closed} if not empty[i] and out[i] is not None
    )
    # Promote singles to Multi*.
    keep_idx = np.flatnonzero([g is not None for g in out])
    if len(keep_idx):
        ids = shapely.get_type_id(out[keep_idx])
        if family == "polygon":
            single = keep_idx[ids == int(shapely.GeometryType.POLYGON)]
            if len(single) and promote:
                out[single] = shapely.multipolygons(out[single], indices=np.arange(len(single)))
        else:
            line_ids = [int(shapely.GeometryType.LINESTRING), int(shapely.GeometryType.LINEARRING)]
            single = keep_idx[np.isin(ids, line_ids)]
            if len(single):
                coords, index = shapely.get_coordinates(out[single], return_index=True)
                lines: Any = shapely.linestrings(coords, indices=index)
                out[single] = shapely.multilinestrings(lines, indices=np.arange(len(single)))
    return out, stats
