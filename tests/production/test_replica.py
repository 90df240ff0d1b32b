"""Reads on a PostgreSQL streaming replica: lookups and tiles are served by it, a publish or a
rollback on the primary becomes visible through it, and with the replica down the service
answers from the primary, then goes back to the replica when it returns."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.demo import generate_demo
from ingest.demo_cli import DEMO_EFFECTIVE, DEMO_META, DEMO_PLAN
from ingest.pipeline import IngestOptions, run_ingest
from planning import revisions
from planning.db import make_engine
from planning.localdb import LocalCluster
from tests.production.conftest import (
    CITADEL_LONLAT,
    DEMO_PARCELS,
    SECRET,
    TILE_ZOOM,
    Service,
    Throwaway,
    clean_env,
    query,
    tile_of,
)

READ_APP = "planning-api-read"
PRIMARY_APP = "planning-api"
VISIBLE_S = 5.0  # a publish shows through the replica within this


def _api_connections(url: str, app: str) -> int:
    """Count the service's connections of one kind into the 'planning' database of a server."""
    rows = query(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'planning' "
        "AND application_name = %s",
        (app,),
    )
    return int(rows[0][0])


def _transactions(url: str) -> int:
    """Return the committed plus rolled back transactions of the 'planning' database."""
    rows = query(
        url,
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'planning'",
    )
    return int(rows[0][0])


def _until(check: Callable[[], Any], timeout: float, what: str) -> float:
    """Poll ``check`` until it is true; return the seconds it took."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - t0


def _answer(client: httpx.Client) -> tuple[int, list[tuple[str, int, int]]]:
    """Return the data version and the plans (code, revision id, zone count) at the Citadel."""
    lon, lat = CITADEL_LONLAT
    r = client.get("/v1/lookup", params={"lon": lon, "lat": lat})
    assert r.status_code == 200, r.text
    body = r.json()
    plans = [(p["plan"]["code"], p["revision"]["id"], len(p["zones"])) for p in body["plans"]]
    return int(body["data_version"]), plans


def _reads(client: httpx.Client, db: Throwaway) -> int:
    """Send lookups, parcel breakdowns and tiles; return how many were sent (all must succeed)."""
    lon, lat = CITADEL_LONLAT
    parcels = query(
        db.url, "SELECT commune_code, sheet, parcel_no FROM planning.parcel ORDER BY id LIMIT 5"
    )
    z, x, y = tile_of(lon, lat, TILE_ZOOM)
    paths = [f"/v1/lookup?lon={lon}&lat={lat}"] * 10
    paths += [f"/v1/parcels/{c}/{s}/{p}" for c, s, p in parcels]
    paths += [f"/tiles/zoning/{z}/{x}/{y}.mvt", "/tiles/zoning.json", "/readyz"]
    for path in paths:
        r = client.get(path)
        assert r.status_code in (200, 204), (path, r.status_code, r.text)
    return len(paths)


def _ingest_zoning_again(db: Throwaway, folder: Path) -> int:
    """Load the demo plan's zoning as a new revision and publish it; return the revision id."""
    files = generate_demo(folder, parcels=DEMO_PARCELS)
    engine = make_engine(db.url, pool_size=1)
    try:
        report = run_ingest(
            IngestOptions(
                kind="zoning",
                path=files.gdb,
                plan=DEMO_PLAN,
                plan_meta=DEMO_META,
                publish=True,
                effective=DEMO_EFFECTIVE,
                service_area=db.settings.service_bbox,
                loaded_by="production tests",
            ),
            engine,
        )
    finally:
        engine.dispose()
    assert report.published and report.revision_id is not None
    return int(report.revision_id)


def _rollback_zoning(db: Throwaway) -> int:
    engine = make_engine(db.url, pool_size=1)
    try:
        with engine.begin() as conn:
            return revisions.rollback(conn, DEMO_PLAN).data_version
    finally:
        engine.dispose()


@pytest.mark.slow
def test_reads_on_a_streaming_replica(
    cluster_factory: Callable[..., Throwaway],
    replica_factory: Callable[[Throwaway], LocalCluster],
    service_factory: Callable[..., Service],
    tmp_path: Path,
) -> None:
    primary = cluster_factory()
    replica = replica_factory(primary)
    replica_url = replica.url()
    assert query(replica_url, "SELECT pg_is_in_recovery()") == [(True,)]
    assert query(primary.url, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
    zones = query(primary.url, "SELECT count(*) FROM planning.zone")
    _until(
        lambda: query(replica_url, "SELECT count(*) FROM planning.zone") == zones,
        10,
        "the replica holds the primary's zones",
    )

    service = service_factory(
        clean_env(
            PLANNING_DATABASE_URL=primary.url,
            PLANNING_DATABASE_REPLICA_URLS=replica_url,
            PLANNING_DATA_DIR=str(tmp_path),
            PLANNING_SECRET=SECRET,
            PLANNING_ANON_QUOTA_PER_MIN="1000000",
        )
    )
    service.wait_up("/readyz")
    client = httpx.Client(base_url=service.base, timeout=30)
    try:
        # Reads go to the replica, and nothing of the service reaches the primary.
        before = _transactions(replica_url)
        sent = _reads(client, primary)
        _until(
            lambda: _transactions(replica_url) - before >= sent,
            5,
            f"{sent} read transactions counted on the replica",
        )
        grown = _transactions(replica_url) - before
        assert _api_connections(replica_url, READ_APP) >= 1
        assert _api_connections(primary.url, READ_APP) == 0
        assert _api_connections(primary.url, PRIMARY_APP) == 0

        # A rollback on the primary shows through the replica: the plan's zoning goes away.
        version, plans = _answer(client)
        assert [p[0] for p in plans] == [DEMO_PLAN] and plans[0][2] >= 1
        old_revision = plans[0][1]
        rolled = _rollback_zoning(primary)
        assert rolled > version
        seen_rollback = _until(
            lambda: _answer(client)[0] == rolled, VISIBLE_S, "the rollback through the replica"
        )
        assert _answer(client)[1] == []

        # A new revision published on the primary shows through the replica.
        new_revision = _ingest_zoning_again(primary, tmp_path / "again")
        assert new_revision != old_revision
        seen_publish = _until(
            lambda: _answer(client)[1][:1] == [(DEMO_PLAN, new_revision, plans[0][2])],
            VISIBLE_S,
            "the new revision through the replica",
        )
        assert _answer(client)[0] > rolled
        assert _api_connections(primary.url, PRIMARY_APP) == 0

        # The replica stops: every request still succeeds, from the primary.
        replica.stop()
        t0 = time.monotonic()
        _reads(client, primary)
        fallback_s = time.monotonic() - t0
        assert _api_connections(primary.url, PRIMARY_APP) >= 1
        assert _answer(client)[1][0][1] == new_revision

        # It comes back: after the skip interval the service reads from it again.
        replica.start()
        back = _until(
            lambda: _reads(client, primary) > 0 and _api_connections(replica_url, READ_APP) >= 1,
            15,
            "reads back on the replica",
        )
    finally:
        client.close()
    assert "Traceback" not in service.log()
    print(
        f"\nreplica: {sent} reads -> {grown} transactions on the replica, 0 API connections on "
        f"the primary; rollback visible after {seen_rollback:.2f} s, publish after "
        f"{seen_publish:.2f} s; replica stopped: {sent} reads all 200 in {fallback_s:.2f} s "
        f"from the primary; restarted: reads back on it after {back:.1f} s"
    )
