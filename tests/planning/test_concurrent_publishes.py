"""Publishes and rollbacks from several processes at once: the data version follows commit order
(one version names one state of the published data), and the schema forbids two revisions (or
two parcel coverages) in force together."""

from __future__ import annotations

import multiprocessing
import random
import time
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ingest.pipeline import IngestOptions, run_ingest
from planning import revisions
from planning.db import make_engine
from planning.errors import Conflict
from tests.ingest.builders import CITADEL_EN, parcels_frame

PLANS = ("QH-A", "QH-B", "QH-C")
STAGED_PER_PLAN = 6
PARCEL_REVISIONS = 4
EFFECTIVE = date(2025, 1, 1)
# One statement: the data version and everything that is published.
STATE_SQL = text(
    """
    SELECT (SELECT version FROM planning.data_version) AS version,
           (SELECT string_agg(id || ':' || coalesce(effective_to::text, '-'), ',' ORDER BY id)
              FROM planning.revision WHERE state = 'published') AS revisions,
           (SELECT string_agg(revision_id || ':' || commune_code || ':'
                              || coalesce(effective_to::text, '-'), ',' ORDER BY revision_id)
              FROM planning.parcel_coverage) AS coverage
    """
)


def _stage(url: str, folder: Path) -> dict[str, list[int]]:
    """Load the staged revisions every worker will publish."""
    engine = make_engine(url, pool_size=1)
    staged: dict[str, list[int]] = {}
    try:
        for p, plan in enumerate(PLANS):
            for i in range(STAGED_PER_PLAN):
                e, n = CITADEL_EN[0] + 300 * p, CITADEL_EN[1]
                frame = gpd.GeoDataFrame(
                    {"kyHieuLoDat": [f"L{i}"], "matDoXayDung": [40.0 + i]},
                    geometry=[shapely.box(e, n, e + 50 + i, n + 50)],
                    crs=9214,
                )
                path = folder / f"{plan}_{i}.gpkg"
                frame.to_file(path, engine="pyogrio")
                staged.setdefault(plan, []).append(_load(engine, "zoning", path, plan))
        for i in range(PARCEL_REVISIONS):
            path = folder / f"parcels_{i}.gpkg"
            parcels_frame(2, size=10.0 + i).to_file(path, engine="pyogrio")
            staged.setdefault("parcels", []).append(_load(engine, "parcels", path, None))
    finally:
        engine.dispose()
    return staged


def _load(engine: Any, kind: str, path: Path, plan: str | None) -> int:
    report = run_ingest(
        IngestOptions(kind=kind, path=path, plan=plan, effective=EFFECTIVE, loaded_by="t"),
        engine,
    )
    assert report.revision_id is not None and not report.has_errors
    return int(report.revision_id)


def _worker(url: str, plan: str, staged: list[int], seed: int, done: Any) -> None:
    """Publish each staged revision in turn, rolling back every other one; each change waits a
    little before it commits, so that the others' changes try to overtake it."""
    rng = random.Random(seed)
    engine = make_engine(url, pool_size=1)
    changes = 0
    try:
        for i, rid in enumerate(staged):
            for action in ("publish", "rollback") if i % 2 else ("publish",):
                with engine.begin() as conn:
                    try:
                        if action == "publish":
                            revisions.publish(conn, rid, "t")
                        elif plan == "parcels":
                            revisions.rollback(conn, revision_id=rid, by="t")
                        else:
                            revisions.rollback(conn, plan, "zoning", by="t")
                    except Conflict:
                        continue
                    time.sleep(rng.uniform(0.001, 0.02))
                changes += 1
    finally:
        engine.dispose()
    done.put(changes)


def _watch(url: str, stop: Any, out: Any) -> None:
    """Read the version and the published state, in one statement, as fast as possible."""
    engine = make_engine(url, pool_size=1)
    seen: list[tuple[int, str, str]] = []
    try:
        with engine.connect() as conn:
            while not stop.is_set():
                r = conn.execute(STATE_SQL).one()
                seen.append((int(r.version), r.revisions or "", r.coverage or ""))
                conn.rollback()
    finally:
        engine.dispose()
    out.put(seen)


@pytest.mark.slow
def test_versions_follow_commit_order_across_processes(db_url: str, tmp_path: Path) -> None:
    staged = _stage(db_url, tmp_path)
    ctx = multiprocessing.get_context("spawn")
    done, watched, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    watcher = ctx.Process(target=_watch, args=(db_url, stop, watched))
    workers = [
        ctx.Process(target=_worker, args=(db_url, plan, ids, n, done))
        for n, (plan, ids) in enumerate(staged.items())
    ]
    watcher.start()
    for w in workers:
        w.start()
    changes = sum(done.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    stop.set()
    seen = watched.get(timeout=60)
    watcher.join(30)

    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            final = conn.execute(STATE_SQL).one()
            logged = conn.execute(
                text("SELECT data_version FROM planning.publication ORDER BY data_version")
            ).scalars()
            versions = list(logged)
            in_force = conn.execute(
                text(
                    "SELECT plan_id, count(*) AS n FROM planning.revision WHERE state = "
                    "'published' AND effective_to IS NULL AND plan_id IS NOT NULL GROUP BY plan_id"
                )
            ).all()
    finally:
        engine.dispose()
    # Every publish and rollback made exactly one new version, without gaps or repeats.
    assert final.version == changes == len(versions)
    assert versions == list(range(1, changes + 1))
    # A version names one state: whenever it was read, the published data was the same.
    states: dict[int, tuple[str, str]] = {}
    for version, revs, cover in seen:
        assert states.setdefault(version, (revs, cover)) == (revs, cover), version
    assert [v for v, _r, _c in seen] == sorted(v for v, _r, _c in seen)  # never backwards
    assert len(states) > changes // 4, "the watcher saw too few versions to mean anything"
    # One published revision in force per plan at the end, one coverage per commune.
    assert sorted(r.n for r in in_force) == [1] * len(PLANS)
    open_cover = [c for c in final.coverage.split(",") if c.endswith(":-")]
    assert len(open_cover) == 1


def test_the_schema_forbids_two_revisions_in_force(db_url: str, tmp_path: Path) -> None:
    staged = _stage(db_url, tmp_path)
    engine = make_engine(db_url, pool_size=1)
    try:
        a, b = staged["QH-A"][:2]
        with engine.begin() as conn:
            revisions.publish(conn, a)
        with pytest.raises(IntegrityError, match="revision_one_in_force"), engine.begin() as conn:
            conn.execute(
                text("UPDATE planning.revision SET state = 'published' WHERE id = :b"), {"b": b}
            )
        p1, p2 = staged["parcels"][:2]
        with engine.begin() as conn:
            revisions.publish(conn, p1)
        with (
            pytest.raises(IntegrityError, match="parcel_coverage_one_in_force"),
            engine.begin() as conn,
        ):
            conn.execute(
                text(
                    "INSERT INTO planning.parcel_coverage (revision_id, commune_code, "
                    "effective_from) VALUES (:r, '19753', '2025-06-01')"
                ),
                {"r": p2},
            )
    finally:
        engine.dispose()
