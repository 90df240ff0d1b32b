"""The ingest of one file: read → decode text → resolve CRS → map fields → repair → check → load."""

from __future__ import annotations

import gc
import getpass
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Engine

from ingest import checks
from ingest.features import build_rows, commune_text, geometry_columns
from ingest.fields import FieldMapping, resolve_mapping
from ingest.geometry import RepairStats, repair
from ingest.load import Loader
from ingest.personal import find_personal
from ingest.read import (
    Batch,
    ColumnText,
    LayerInfo,
    Prefetched,
    batches,
    decode_column,
    describe,
    detect_text,
)
from ingest.report import Report
from ingest.source import Source, SourceError, open_source
from planning import clock, revisions
from planning import crs as vncrs
from planning.communes import province_of
from planning.errors import InvalidInput, OutsideServiceArea
from planning.text import normalize_encoding_name

FAMILY = {"zoning": "polygon", "parcels": "polygon", "red_lines": "line"}


@dataclass
class IngestOptions:
    """Everything the CLI can say about one ingest."""

    kind: str
    path: Path
    layer: str | None = None
    plan: str | None = None
    plan_meta: dict[str, Any] = field(default_factory=dict)
    effective: date = field(default_factory=clock.today)
    fields: dict[str, str] = field(default_factory=dict)
    crs: str | None = None
    province: str | None = None
    swap_xy: bool = False
    encoding: str | None = None
    commune: str | None = None
    allow_duplicates: bool = False  # parcels: load repeated keys (the API answers 300)
    keep_fields: tuple[str, ...] = ()  # fields kept although they look like personal data
    dry_run: bool = False
    publish: bool = False
    loaded_by: str | None = None
    service_area: tuple[float, float, float, float] = (102.0, 8.0, 110.0, 23.5)


Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _resolve_crs(
    opts: IngestOptions, info: LayerInfo, report: Report, has_prj: bool = False
) -> vncrs.CrsDecision:
    """Decide the CRS of the coordinates: --crs, else the file's own, else --province's zone
    (--province names the data's province: it is the CRS only of a file that has none)."""
    if opts.crs:
        decision = vncrs.interpret_crs(vncrs.parse_crs(opts.crs))
        decision.read = info.crs
        decision.notes.append(f"CRS given with --crs: {opts.crs}")
    elif info.crs:
        decision = vncrs.interpret_crs(vncrs.parse_crs(info.crs))
    elif opts.province:
        epsg = vncrs.epsg_for_province(opts.province)
        decision = vncrs.CrsDecision(vncrs.CRS.from_epsg(epsg), epsg, info.crs)
        zones = vncrs.zones_for_province(opts.province)
        decision.notes.append(f"no CRS in the file: province {opts.province}'s TM-3 EPSG:{epsg}")
        if len(zones) > 1:
            others = ", ".join(f"EPSG:{z.epsg} ({z.table})" for z in zones[1:])
            report.warning(
                "province_zones",
                f"province {opts.province} also used {others}; a drawing keeps the meridian of "
                "the province that made it — check the location",
            )
    else:
        why = "its .prj is not one GDAL can read" if has_prj else ".prj missing or empty"
        raise InvalidInput(
            f"{opts.path}: no coordinate system ({why}); give --crs EPSG:nnnn "
            "or --province CODE (e.g. --province 46 for Huế)"
        )
    if decision.epsg is None:
        raise InvalidInput(
            f"{opts.path}: the coordinate system {decision.crs.name!r} has no EPSG code; "
            "name it with --crs EPSG:nnnn"
        )
    for w in decision.warnings:
        report.warning("crs", w)
    for n in decision.notes:
        report.info("crs", n)
    report.crs_read = info.crs if info.crs is None else vncrs.parse_crs(info.crs).name
    report.crs_resolved = decision.label
    return decision


def _check_position(
    opts: IngestOptions, decision: vncrs.CrsDecision, geoms: np.ndarray, first: bool
) -> vncrs.Bounds | None:
    """Refuse swapped axes and data outside the service area, naming the likely zone; return
    the lon/lat bounds of the batch (None when it has no geometry)."""
    live = geoms[np.array([g is not None for g in geoms], dtype=bool)] if len(geoms) else geoms
    if not len(live):
        return None
    b = tuple(float(v) for v in shapely.total_bounds(live))
    bounds: vncrs.Bounds = (b[0], b[1], b[2], b[3])
    to84 = vncrs.transformer_to_wgs84(decision.crs)
    ll = _lonlat_bounds(to84, bounds)
    inside = all(np.isfinite(v) for v in ll) and _overlaps(ll, opts.service_area)
    if first and not inside and not opts.swap_xy and vncrs.looks_swapped(decision.crs, bounds):
        # Outside as read, inside once X and Y trade places: northing first, as Vietnamese
        # surveyors write X/Y (a State Plane file in feet has such magnitudes too, but lies
        # inside a service area that covers it).
        swapped = _lonlat_bounds(to84, (bounds[1], bounds[0], bounds[3], bounds[2]))
        if all(np.isfinite(v) for v in swapped) and _overlaps(swapped, opts.service_area):
            raise InvalidInput(
                f"{opts.path}: X and Y look swapped (northing first, as surveyors write X/Y): "
                f"x≈{bounds[0]:,.0f}, y≈{bounds[1]:,.0f}; load with --swap-xy"
            )
    if not inside:
        hint = vncrs.describe_candidates(vncrs.candidate_zones(bounds, opts.service_area))
        if not hint and vncrs.looks_lonlat_vn(bounds) and not decision.crs.is_geographic:
            hint = "they look like longitude/latitude degrees: use --crs EPSG:4326"
        raise OutsideServiceArea(
            f"{opts.path}: coordinates fall outside the service area when read as "
            f"{decision.label}" + (f"; {hint}" if hint else "")
        )
    return ll


def _lonlat_bounds(to84: Transformer, bounds: vncrs.Bounds) -> vncrs.Bounds:
    """Return a bbox in lon/lat (NaNs where PROJ cannot take it there)."""
    try:
        return vncrs.project_bounds(to84, bounds)
    except Exception:  # pyproj raises several types for coordinates it cannot transform
        return (math.nan,) * 4


def _plane(
    opts: IngestOptions,
    decision: vncrs.CrsDecision,
    bounds84: vncrs.Bounds,
    communes: list[str | None],
    report: Report,
) -> vncrs.Plane:
    """Choose the metric plane of the revision (from the first batch): the province's VN-2000
    TM-3 zone, named by --province, the plan's province or the parcels' commune codes."""
    centre = ((bounds84[0] + bounds84[2]) / 2, (bounds84[1] + bounds84[3]) / 2)
    province, how = opts.province, ", from --province"
    if not province and opts.plan_meta.get("province_code"):
        province, how = str(opts.plan_meta["province_code"]), ", the plan's province"
    if not province and opts.kind == "parcels":
        found = Counter(p for p in map(_province_of, communes) if p)  # counts parcels
        if found:
            province, how = found.most_common(1)[0][0], ", from the parcels' commune codes"
    plane = vncrs.choose_plane(decision.epsg, province, centre, how)
    report.plane = f"EPSG:{plane.epsg}"
    report.info("plane", f"areas and distances measured in EPSG:{plane.epsg} ({plane.why})")
    if plane.warning:
        report.warning("plane", plane.warning)
    return plane


def _other_provinces(communes: list[str], plane: vncrs.Plane, report: Report) -> None:
    """Warn of communes whose province measures in another zone than the plane chosen from the
    first batch (a file covering two provinces)."""
    others: dict[str, list[str]] = {}
    for commune in communes:
        province = province_of(commune)
        if province and all(z.epsg != plane.epsg for z in vncrs.zones_for_province(province)):
            others.setdefault(province, []).append(commune)
    if others:
        report.warning(
            "plane_other_province",
            f"parcels of provinces whose VN-2000 zone is not EPSG:{plane.epsg}, the plane of "
            "this load; load each province's parcels on their own (or name the plane with "
            "--province)",
            sum(len(c) for c in others.values()),
            [f"province {p}: {', '.join(c[:5])}" for p, c in sorted(others.items())],
        )


def _province_of(commune: str | None) -> str | None:
    return province_of(commune) if commune else None


def _communes(
    kind: str,
    mapping: FieldMapping,
    info: LayerInfo,
    columns: dict[str, list[Any]],
    default: str | None,
) -> list[str | None]:
    """Return the commune code of each parcel of a batch (nothing for other kinds): the plane
    is the province of most of them, the first one seen on a tie."""
    if kind != "parcels":
        return []
    field = mapping.get("commune")
    if field is None:
        return [default]
    raw = info.raw_fields[info.fields.index(field)]
    return [commune_text(v) for v in columns.get(raw, [])]


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]


def run_ingest(
    opts: IngestOptions, engine: Engine | None, progress: Progress = _no_progress
) -> Report:
    """Validate a file and (unless dry-run) load it as a staged or published revision."""
    with warnings.catch_warnings(), _few_collections():
        # pyogrio warns when it meets M values; the report already says they are dropped.
        warnings.filterwarnings("ignore", message=r"Measured \(M\) geometry", category=UserWarning)
        # GDAL's remarks (pyogrio turns them into RuntimeWarnings) and GEOS's on broken
        # geometries: the report records what matters; stderr keeps its one line for errors.
        warnings.simplefilter("ignore", RuntimeWarning)
        return _run_ingest(opts, engine, progress)


@contextmanager
def _few_collections() -> Iterator[None]:
    """Collect cyclic garbage rarely while loading: the load makes millions of small tuples and
    lists and almost no cycles, and each collection walks every live container (a million
    parcel keys), so default thresholds spend seconds finding nothing."""
    before = gc.get_threshold()
    gc.freeze()  # what is alive now (modules, settings) is never garbage: skip it
    gc.set_threshold(max(before[0], 100_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _run_ingest(opts: IngestOptions, engine: Engine | None, progress: Progress) -> Report:
    if opts.kind not in FAMILY:
        raise InvalidInput(f"unknown ingest kind {opts.kind!r}")
    if opts.kind != "parcels" and not opts.plan and not opts.dry_run:
        raise InvalidInput("--plan CODE is required")
    if opts.encoding:
        try:
            opts.encoding = normalize_encoding_name(opts.encoding)
        except ValueError as exc:
            raise InvalidInput(f"--encoding: {exc}") from None
    family = FAMILY[opts.kind]
    if opts.plan and engine is not None and not opts.plan_meta.get("province_code"):
        # A plan loaded before with its province: its new revisions are measured there too.
        with engine.connect() as conn:
            known = revisions.plan_province(conn, opts.plan)
        if known:
            opts.plan_meta = {**opts.plan_meta, "province_code": known}
    src = open_source(opts.path, opts.kind, opts.layer)
    report = Report(
        source=str(opts.path),
        kind=opts.kind,
        layer=src.layer,
        driver=src.driver,
        sha256=src.sha256,
        plan=opts.plan,
        dry_run=opts.dry_run,
    )
    info = describe(src, family, report, opts.encoding)
    mapping = resolve_mapping(opts.kind, info.fields, opts.fields, str(opts.path))
    report.mapping = {t: {"field": f, "how": mapping.how[t]} for t, f in mapping.columns.items()}
    if opts.kind == "parcels":
        _commune_source(opts, mapping, report)
    info = _without_personal(src, info, mapping, opts, report)
    progress("text", 0, info.count)
    # A shapefile's features never need raw-bytes text columns (detect_text): start reading
    # and repairing them while the text is detected.
    reading = _read(src, info, frozenset(), opts, family) if src.is_shapefile else None
    try:
        return _load(opts, engine, progress, src, info, mapping, report, family, reading)
    finally:
        if reading is not None:
            reading.close()


def _without_personal(
    src: Source, info: LayerInfo, mapping: FieldMapping, opts: IngestOptions, report: Report
) -> LayerInfo:
    """Leave the fields holding personal data out of everything that follows (they are never
    decoded, stored or shown), saying which in the report."""
    dropped, kept = find_personal(src, info, mapping, opts.keep_fields)
    for name in kept:
        report.info("personal_data_kept", f"field {name!r} kept on purpose (--keep-field)")
    if not dropped:
        return info
    report.personal = [{"field": f.name, "why": f.why} for f in dropped]
    report.warning(
        "personal_data",
        "fields holding personal data left out (Decree 13/2023/NĐ-CP); keep one on purpose "
        "with --keep-field NAME",
        len(dropped),
        [f.name for f in dropped],
    )
    out = {f.raw_name for f in dropped}
    keep = [i for i, raw in enumerate(info.raw_fields) if raw not in out]
    return replace(
        info,
        raw_fields=[info.raw_fields[i] for i in keep],
        fields=[info.fields[i] for i in keep],
        dtypes=[info.dtypes[i] for i in keep],
    )


def _read(
    src: Source, info: LayerInfo, raw_bytes: frozenset[str], opts: IngestOptions, family: str
) -> Prefetched[tuple[Batch, np.ndarray, RepairStats]]:
    """Read, parse and repair batches ahead, on a thread."""

    def prepared() -> Iterator[tuple[Batch, np.ndarray, RepairStats]]:
        for batch in batches(src, info, raw_bytes):
            geoms = batch.geoms
            if opts.swap_xy:
                geoms = np.asarray(shapely.transform(geoms, lambda c: c[:, ::-1]), dtype=object)
            fixed, stats = repair(geoms, family, batch.unreadable, batch.closed, promote=False)
            yield batch, fixed, stats

    return Prefetched(prepared())


def _load(
    opts: IngestOptions,
    engine: Engine | None,
    progress: Progress,
    src: Source,
    info: LayerInfo,
    mapping: FieldMapping,
    report: Report,
    family: str,
    reading: Prefetched[tuple[Batch, np.ndarray, RepairStats]] | None,
) -> Report:
    texts = detect_text(src, info, opts.encoding, report)
    decision = _resolve_crs(opts, info, report, src.has_prj)
    srid = int(decision.epsg or 0)
    to84 = vncrs.transformer_to_wgs84(decision.crs)
    commune_default = commune_text(opts.commune) if opts.commune else None

    plane: vncrs.Plane | None = None
    to_plane: Transformer | None = None
    loader: Loader | None = None
    if not opts.dry_run:
        if engine is None:
            raise InvalidInput("no database to load into")
        loader = Loader(engine)
    state = checks.State(opts.kind, allow_duplicates=opts.allow_duplicates)
    geometry = ThreadPoolExecutor(max_workers=1, thread_name_prefix="geometry")

    def begin(plane_srid: int) -> int:
        assert loader is not None
        return loader.begin(
            kind=opts.kind,
            plan_code=opts.plan,
            plan_meta=opts.plan_meta,
            source_name=opts.path.name,
            sha256=src.sha256,
            layer=src.layer,
            crs_read=report.crs_read,
            crs_resolved=decision.label,
            srid=srid,
            plane_srid=plane_srid,
            effective_from=opts.effective,
            loaded_by=opts.loaded_by or _whoami(),
        )

    try:
        first = True
        if reading is None:
            raw_bytes = frozenset(n for n, t in texts.items() if t.raw_bytes)
            reading = _read(src, info, raw_bytes, opts, family)
        for batch, fixed, stats in reading:
            n_in = len(batch.geoms)
            report.features_read += n_in
            checks.note_repairs(state, stats, batch.offset)
            checks.note_remarks(state, batch.remarks)
            bounds84 = _check_position(opts, decision, fixed, first)
            first = False
            keep = np.array([g is not None for g in fixed], dtype=bool)
            columns: dict[str, list[Any]] | None = None
            if plane is None and bounds84 is not None:
                # The plane is chosen on the first batch with geometry (for parcels, from its
                # commune codes) and the revision recorded with it.
                columns = _decoded_columns(batch.columns, texts, keep)
                communes = _communes(opts.kind, mapping, info, columns, commune_default)
                plane = _plane(opts, decision, bounds84, communes, report)
                to_plane = None if plane.epsg == srid else vncrs.transformer(srid, plane.epsg)
                if loader is not None:
                    report.revision_id = begin(plane.epsg)
            native = fixed[keep]
            # Geometry work (PROJ and GEOS release the GIL) runs on the second core while this
            # thread turns the attributes into columns.
            projected = geometry.submit(
                geometry_columns, opts.kind, native, to84, plane.epsg if plane else srid, to_plane
            )
            if columns is None:
                columns = _decoded_columns(batch.columns, texts, keep)
            rows = build_rows(
                opts.kind, mapping, info.fields, columns, len(native), commune_default
            )
            geometry_cols, feature_bounds, metric = projected.result()
            rows.columns.extend(geometry_cols)
            outside = checks.outside_area(feature_bounds, opts.service_area)
            state.outside.extend(int(batch.offset + np.flatnonzero(keep)[i]) for i in outside)
            loadable = _loadable(opts.kind, rows.count, rows.keys, state, opts.allow_duplicates)
            state.absorb(rows, metric, batch.offset, np.flatnonzero(keep))
            report.features_loaded += rows.count if loadable is None else len(loadable)
            if loader is not None:
                loader.copy(rows.columns, loadable)
            progress("load", report.features_read, info.count)
        if report.features_read == 0:
            raise SourceError(opts.path, f"layer {src.layer!r} is empty")
        if report.features_read < info.count:
            raise SourceError(
                opts.path,
                f"damaged or truncated: only {report.features_read:,} of the {info.count:,} "
                "features it declares could be read",
            )
        if loader is not None and report.revision_id is None:
            # No feature had a geometry: the revision records the report all the same.
            report.revision_id = begin(srid)
        if loader is not None:
            # The indexes are built while the checks are graded; a parcels key is unique in
            # its revision unless duplicates were loaded on purpose.
            loader.end_of_rows(unique=not (opts.allow_duplicates and state.repeats))
        report.features_dropped = report.features_read - report.features_loaded
        if plane is not None and opts.kind == "parcels" and not opts.province:
            _other_provinces(state.communes(), plane, report)
        checks.finish(state, report, mapping)
        if loader is not None:
            report.published = opts.publish and not report.has_errors
            loader.finish(report, state.communes() or None, opts.publish, opts.loaded_by)
    except BaseException:
        if loader is not None:
            loader.abort()
        raise
    finally:
        geometry.shutdown(wait=True)
        if reading is not None:
            reading.close()
    return report


def _commune_source(opts: IngestOptions, mapping: FieldMapping, report: Report) -> None:
    """Settle where parcels take their commune code: --commune beats a recognised field."""
    field = mapping.get("commune")
    if opts.commune and field:
        if mapping.how["commune"] == "given":
            raise InvalidInput("give --commune or --commune-field, not both")
        del mapping.columns["commune"], mapping.how["commune"]
        report.mapping.pop("commune", None)
        report.info("commune", f"--commune {opts.commune} used; field {field!r} ignored")
    elif not field and not opts.commune:
        raise InvalidInput(f"{opts.path}: no commune field; give --commune CODE or --commune-field")


def _loadable(
    kind: str,
    count: int,
    keys: list[tuple[str, str, str]],
    state: checks.State,
    allow_duplicates: bool = False,
) -> list[int] | None:
    """Return the rows to load (None: all of them): parcels with an incomplete key are left
    out, and so are repeats of a key unless duplicates are allowed (the checks grade both)."""
    if kind != "parcels":
        return None
    seen: set[tuple[str, str, str]] = set()
    out = []
    for i, key in enumerate(keys):
        if all(key) and (allow_duplicates or (key not in seen and key not in state.keys)):
            out.append(i)
        seen.add(key)
    return None if len(out) == count else out


def _decoded_columns(
    columns: dict[str, list[Any]], texts: dict[str, ColumnText], keep: np.ndarray
) -> dict[str, list[Any]]:
    idx = None if keep.all() else np.flatnonzero(keep)
    out: dict[str, list[Any]] = {}
    for name, values in columns.items():
        kept = values if idx is None else [values[i] for i in idx]
        out[name] = decode_column(kept, texts[name]) if name in texts else kept
    return out


def _whoami() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
