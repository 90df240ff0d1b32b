"""Checks across a whole layer: repairs, position, duplicate keys, codes, overlaps."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from ingest.features import Rows
from ingest.fields import FieldMapping
from ingest.geometry import RepairStats
from ingest.report import Report
from planning.catalogue import catalogue_code
from planning.communes import known_code

# Overlaps smaller than this (m²) are drawing noise along shared edges, not real overlaps.
OVERLAP_TOLERANCE_M2 = 0.01


@dataclass
class State:
    """What the checks collect while batches stream past."""

    kind: str
    allow_duplicates: bool = False
    null: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)
    bad_coords: list[int] = field(default_factory=list)
    wrong_type: list[int] = field(default_factory=list)
    repaired: list[int] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    had_z: int = 0
    had_m: int = 0
    outside: list[int] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # GDAL's warnings while reading (a few)
    remark_count: int = 0
    # Each parcel key's first feature, and the later features that repeat a key: an int per
    # parcel rather than a list (a million parcels).
    keys: dict[tuple[str, str, str], int] = field(default_factory=dict)
    repeats: dict[tuple[str, str, str], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )
    codes: Counter[str] = field(default_factory=Counter)  # as written (a code field mapped)
    categories: Counter[str] = field(default_factory=Counter)
    no_category: Counter[str] = field(default_factory=Counter)
    density_fraction: int = 0
    zone_geoms: list[NDArray[np.object_]] = field(default_factory=list)
    zone_labels: list[str] = field(default_factory=list)
    _communes: list[str] | None = None

    def absorb(
        self, rows: Rows, native: NDArray[np.object_], offset: int, kept: NDArray[np.int64]
    ) -> None:
        """Remember what the layer-wide checks need from one batch."""
        if self.kind == "parcels":
            self._communes = None
            keys = self.keys
            indices = (offset + kept).tolist()
            batch = dict(zip(rows.keys, indices, strict=True))
            if len(batch) == len(indices) and batch.keys().isdisjoint(keys):
                keys.update(batch)  # no key seen twice: the common case, in C
            else:
                for key, index in zip(rows.keys, indices, strict=True):
                    if key in keys:
                        self.repeats[key].append(index)
                    else:
                        keys[key] = index
        elif self.kind == "zoning":
            self.density_fraction += rows.density_fraction
            rows_of = zip(rows.codes, rows.categories, rows.functions, strict=True)
            for code, category, function in rows_of:
                if code:
                    self.codes[code] += 1
                if category:
                    self.categories[category] += 1
                else:
                    self.no_category[function or code or "(no function)"] += 1
            self.zone_geoms.append(native)
            self.zone_labels.extend(
                lot or f"#{offset + kept[i]}" for i, lot in enumerate(rows.lots)
            )

    def communes(self) -> list[str]:
        """Return the communes a parcels layer covers (once all batches are absorbed)."""
        if self._communes is None:
            self._communes = sorted({k[0] for k in self.keys if k[0]})
        return self._communes


def note_repairs(state: State, stats: RepairStats, offset: int) -> None:
    """Add one batch's repair statistics (indices made layer-wide)."""
    for name in ("null", "unreadable", "bad_coords", "wrong_type", "repaired", "empty"):
        getattr(state, name).extend(offset + i for i in getattr(stats, name))
    state.had_z += stats.had_z
    state.had_m += stats.had_m


def note_remarks(state: State, remarks: list[str]) -> None:
    """Count GDAL's warnings while reading a batch, keeping a few as examples."""
    state.remark_count += len(remarks)
    state.remarks.extend(r[:160] for r in remarks[: max(0, 10 - len(state.remarks))])


def outside_area(bounds: NDArray[np.float64], area: tuple[float, float, float, float]) -> list[int]:
    """Return the indices of geometries (by their lon/lat bounds) not entirely inside the
    service area."""
    if not len(bounds):
        return []
    b = bounds
    bad = (b[:, 0] < area[0]) | (b[:, 1] < area[1]) | (b[:, 2] > area[2]) | (b[:, 3] > area[3])
    return np.flatnonzero(bad).tolist()


def _ids(idx: list[int]) -> list[str]:
    return [f"feature {i}" for i in idx[:10]]


def finish(state: State, report: Report, mapping: FieldMapping) -> None:
    """Grade everything collected into the report."""
    if state.null:
        report.warning(
            "no_geometry", "features without geometry dropped", len(state.null), _ids(state.null)
        )
    if state.unreadable:
        report.warning(
            "unreadable_geometry",
            "features whose geometry cannot be read (rings with too few points...) dropped",
            len(state.unreadable),
            _ids(state.unreadable),
        )
    if state.bad_coords:
        report.warning(
            "bad_coordinates",
            "features with NaN, infinite or absurd coordinates dropped",
            len(state.bad_coords),
            _ids(state.bad_coords),
        )
    if state.wrong_type:
        want = "polygons" if state.kind != "red_lines" else "lines"
        report.warning(
            "wrong_geometry_type",
            f"features that are not {want} dropped",
            len(state.wrong_type),
            _ids(state.wrong_type),
        )
    if state.repaired:
        report.warning(
            "repaired",
            "invalid polygons repaired (self-intersections, bad rings)",
            len(state.repaired),
            _ids(state.repaired),
        )
    if state.empty:
        report.warning(
            "empty", "empty or zero-area geometries dropped", len(state.empty), _ids(state.empty)
        )
    if state.remark_count:
        report.warning(
            "read_remarks",
            "GDAL remarks while reading (a value it cannot parse is read as 0 or empty)",
            state.remark_count,
            state.remarks,
        )
    if state.had_z:
        report.info("z_dropped", "Z coordinates dropped (the service is 2D)", state.had_z)
    if state.had_m:
        report.info("m_dropped", "M values dropped", state.had_m)
    if state.outside:
        report.error(
            "outside_service_area",
            "features lie (partly) outside the service area",
            len(state.outside),
            _ids(state.outside),
        )
    if report.features_loaded == 0:
        report.error("no_features", "no usable feature in the layer")
    if state.kind == "parcels":
        _parcel_checks(state, report)
    elif state.kind == "zoning":
        _zoning_checks(state, report, mapping)


def _parcel_checks(state: State, report: Report) -> None:
    # In the order of each key's first feature, as the examples always were.
    order = sorted(state.repeats, key=lambda k: state.keys[k])
    dups = {k: [state.keys[k], *state.repeats[k]] for k in order if all(k)}
    if dups:
        # Every one, in the report (terminal and JSON), not only the first examples.
        report.duplicates = [
            {"commune": c, "sheet": s, "parcel": p, "features": v} for (c, s, p), v in dups.items()
        ]
        ex = [f"{c}/{s}/{p} ×{len(v)}" for (c, s, p), v in list(dups.items())[:10]]
        count = sum(len(v) for v in dups.values())
        if state.allow_duplicates:
            report.warning(
                "duplicate_parcel",
                f"{len(dups)} (commune, sheet, parcel) keys given more than once, loaded as "
                "they are (--allow-duplicates): the API answers 300 with each candidate",
                count,
                ex,
            )
        else:
            report.error(
                "duplicate_parcel",
                f"{len(dups)} (commune, sheet, parcel) keys given more than once (the first of "
                "each is staged); correct the file, or load them all with --allow-duplicates",
                count,
                ex,
            )
    missing = [first for k, first in state.keys.items() if not all(k)]
    if missing:
        report.error(
            "missing_key",
            "parcels without commune, sheet or parcel number",
            sum(1 + len(state.repeats.get(k, ())) for k in state.keys if not all(k)),
            _ids(missing),
        )
    unknown = [c for c in state.communes() if not known_code(c)]
    if unknown:
        report.warning(
            "unknown_commune", "commune codes not in the 2025 reform table", len(unknown), unknown
        )
    if state.communes():
        report.info("communes", "communes covered", len(state.communes()), state.communes())


def _zoning_checks(state: State, report: Report, mapping: FieldMapping) -> None:
    if mapping.get("code"):
        unknown = {c: n for c, n in state.codes.items() if catalogue_code(c) is None}
        if unknown:
            report.warning(
                "unknown_code",
                "land-use codes not in the catalogue (kept as given; the category is taken "
                "from the function text where it names one)",
                sum(unknown.values()),
                [f"{c} ×{n}" for c, n in unknown.items()],
            )
    elif state.categories:
        report.info(
            "codes_inferred",
            "land-use categories inferred from the function text",
            sum(state.categories.values()),
            [f"{c} ×{n}" for c, n in state.categories.most_common(10)],
        )
    if state.no_category:
        report.warning(
            "no_category",
            "zones whose function matches no land-use category",
            sum(state.no_category.values()),
            [f"{f} ×{n}" for f, n in state.no_category.most_common(10)],
        )
    if state.density_fraction:
        report.warning(
            "density_fraction",
            "density values ≤ 1 look like fractions, not %",
            state.density_fraction,
        )
    _overlaps(state, report)


def _overlaps(state: State, report: Report) -> None:
    if not state.zone_geoms:
        return
    geoms = np.concatenate(state.zone_geoms)
    if len(geoms) < 2:
        return
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    if not len(left):
        return
    areas = _overlap_areas(geoms[left], geoms[right])
    real = areas > OVERLAP_TOLERANCE_M2
    if not real.any():
        return
    order = np.argsort(-areas[real])
    l_idx, r_idx, a = left[real][order], right[real][order], areas[real][order]
    ex = [
        f"{state.zone_labels[i]} × {state.zone_labels[j]}: {area:.2f} m²"
        for i, j, area in zip(l_idx[:10], r_idx[:10], a[:10], strict=True)
    ]
    report.warning("overlap", f"overlapping zone pairs, {a.sum():.2f} m² in all", len(a), ex)


def _overlap_areas(a: NDArray[np.object_], b: NDArray[np.object_]) -> NDArray[np.float64]:
    """Return the area of each pair's intersection; a pair GEOS cannot intersect as drawn
    (a geometry still invalid) is made valid first."""
    try:
        return np.asarray(shapely.area(shapely.intersection(a, b)), dtype=np.float64)
    except shapely.errors.GEOSException:
        out = np.zeros(len(a))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            try:
                out[i] = shapely.area(shapely.intersection(x, y))
            except shapely.errors.GEOSException:
                out[i] = shapely.area(
                    shapely.intersection(shapely.make_valid(x), shapely.make_valid(y))
                )
        return out
