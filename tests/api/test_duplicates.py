"""A key given twice in a real cadastral file (loaded with --allow-duplicates): every door of the
service names the candidates and lets the caller pick one by its id. Also a batch whose items
fail in the database, or run out of time, one by one."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.main import create_app
from ingest.pipeline import IngestOptions, run_ingest
from planning.batch import Item, domain_error, run_batch
from planning.db import is_statement_timeout, make_engine
from planning.errors import NotReached, QueryFailed, QueryTooLong
from tests.api import dataset as ds
from tests.api.conftest import clone_database, drop_database, settings_for

# The same key (19753, 7, 3) as INSIDE, for another plot drawn inside the housing lot.
TWIN = replace(
    ds.INSIDE,
    geom=ds.ring((60, 10), (90, 10), (90, 40), (60, 40)),
    official=900.0,
    address="3A Kiệt 5 Đường Lê Lợi, Phường Thuận Lộc",
)
# A plot whose geometry the database cannot intersect (a bow-tie, set by hand below).
BROKEN = replace(ds.INSIDE, sheet="8", parcel="1", address="bow-tie")
AREA = (102.0, 8.0, 110.0, 23.5)
KEY = f"{ds.INSIDE.commune}/{ds.INSIDE.sheet}/{ds.INSIDE.parcel}"


@pytest.fixture(scope="module")
def dup_db(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    name, url = clone_database(server_url, template_db)
    folder = tmp_path_factory.mktemp("dups")
    engine = make_engine(url, pool_size=1)
    try:
        zoning = ds.write_zoning(folder, "zoning", ds.ZONING_LOTS)
        ds.ingest(engine, "zoning", zoning, ds.ZONING, ds.ZONING_META)
        parcels = ds.write_parcels(folder, (ds.INSIDE, TWIN, ds.STRADDLE, BROKEN))
        report = run_ingest(
            IngestOptions(
                kind="parcels",
                path=parcels,
                effective=ds.EFFECTIVE,
                publish=True,
                allow_duplicates=True,
            ),
            engine,
        )
        assert report.published and len(report.duplicates) == 1
        bowtie = "MULTIPOLYGON(((0 0, 20 20, 20 0, 0 20, 0 0)))"
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE planning.parcel SET geom_plane = ST_SetSRID(ST_Translate("
                    "ST_GeomFromText(:w), :e, :n), 9214), geom = ST_Transform(ST_SetSRID("
                    "ST_Translate(ST_GeomFromText(:w), :e, :n), 9214), 4326) WHERE sheet = '8'"
                ),
                {"w": bowtie, "e": ds.P_HOUSING[0], "n": ds.P_HOUSING[1]},
            )
    finally:
        engine.dispose()
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def dup_client(dup_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(dup_db))) as c:
        yield c


def test_the_key_answers_300_with_every_candidate(dup_client: TestClient) -> None:
    r = dup_client.get(f"/v1/parcels/{KEY}")
    assert r.status_code == 300
    body = r.json()
    assert "2 parcels have the key 19753/7/3" in body["detail"]
    matches = body["matches"]
    assert [m["address"] for m in matches] == [ds.INSIDE.address, TWIN.address]
    assert [round(m["area_m2"], 2) for m in matches] == [
        round(ds.INSIDE.geom.area, 2),
        round(TWIN.geom.area, 2),
    ]
    for m, parcel in zip(matches, (ds.INSIDE, TWIN), strict=True):
        assert m["link"] == f"http://testserver/v1/parcels/{KEY}?id={m['id']}"
        answer = dup_client.get(m["link"] + "&geometry=true").json()
        assert answer["parcel"]["id"] == m["id"]
        assert abs(answer["plans"][0]["area_m2"] - parcel.geom.area) < 0.01
    # Spaces around the key, as pasted from a certificate, are trimmed.
    assert dup_client.get("/v1/parcels/19753/%207%20/3").status_code == 300


def test_search_and_point_lookups_name_each_by_id(dup_client: TestClient) -> None:
    page = dup_client.get("/v1/parcels", params={"commune": "19753", "sheet": "7"}).json()
    twins = [p for p in page["items"] if p["parcel"] == "3"]
    assert len(twins) == 2 and len({p["id"] for p in twins}) == 2
    lon, lat = ds.lonlat(*ds.at(75, 25))  # inside TWIN
    found = dup_client.get("/v1/lookup", params={"lon": lon, "lat": lat}).json()["parcel"]
    assert found["address"] == TWIN.address
    assert found["id"] == next(p["id"] for p in twins if p["address"] == TWIN.address)


def test_the_sheet_of_a_repeated_key(dup_client: TestClient, tmp_path: Path) -> None:
    r = dup_client.get(f"/print/parcels/{KEY}.pdf")
    assert r.status_code == 300
    link = r.json()["matches"][1]["link"]
    assert re.fullmatch(rf"http://testserver/print/parcels/{KEY}\.pdf\?id=\d+", link)
    pdf = dup_client.get(link)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf.content)
    words = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "3A Kiệt 5" in words
    # The QR code's link names the parcel by its id, and verifies.
    verify = re.search(r"http://testserver/verify/\S+", words.replace("\n", ""))
    assert verify is not None and "id=" in verify.group(0)
    checked = dup_client.get(verify.group(0)).json()
    assert checked["current"] is True


def test_batch_rows_name_the_candidates_and_database_errors(dup_client: TestClient) -> None:
    items = [
        {"id": "twin", "commune": "19753", "sheet": "7", "parcel": "3"},
        {"id": "broken", "commune": "19753", "sheet": "8", "parcel": "1"},
        {"id": "ok", "commune": ds.STRADDLE.commune, "sheet": "7", "parcel": "12"},
    ]
    r = dup_client.post("/v1/lookup/batch", json={"items": items})
    assert r.status_code == 200, r.text
    rows = {x["id"]: x for x in r.json()["results"]}
    assert rows["twin"]["status"] == 300 and len(rows["twin"]["matches"]) == 2
    assert rows["twin"]["matches"][0]["link"].startswith(f"http://testserver/v1/parcels/{KEY}")
    # The database refused the bow-tie: that row says so (no SQL, no trace), the batch goes on.
    assert rows["broken"]["status"] == 500
    assert rows["broken"]["error"] == "the database could not answer this item"
    assert "GEOS" not in r.text and "SELECT" not in r.text
    assert rows["ok"]["status"] == 200
    assert r.json()["complete"] is True


def test_a_batch_says_which_items_its_budget_did_not_reach(dup_db: str) -> None:
    ticks = iter([0.0, 0.1, 5.0, 5.0, 5.0])  # the first item starts at 0.1 s; then 5 s
    items = [Item(id=str(i), commune="19750", sheet="7", parcel="12") for i in range(3)]
    engine = make_engine(dup_db, pool_size=1)
    try:
        with engine.connect() as conn:
            batch = run_batch(conn, items, ds.EFFECTIVE, AREA, 1.0, 10_000, ticks.__next__)
            # The statement timeout is the connection's own again afterwards.
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
    finally:
        engine.dispose()
    assert batch.outcomes[0].result is not None
    assert [type(o.error) for o in batch.outcomes[1:]] == [NotReached, NotReached]
    assert batch.not_reached == [1, 2]


def test_a_batch_over_its_budget_answers_what_it_reached(dup_db: str) -> None:
    settings = settings_for(dup_db, batch_budget_s=1e-6)
    with TestClient(create_app(settings)) as c:
        items = [{"id": str(i), "commune": "19750", "sheet": "7", "parcel": "12"} for i in range(5)]
        body = c.post("/v1/lookup/batch", json={"items": items}).json()
    assert body["complete"] is False and body["not_reached"] == [0, 1, 2, 3, 4]
    assert {x["status"] for x in body["results"]} == {503}
    assert "time budget" in body["results"][0]["error"]


def test_a_cancelled_statement_is_told_by_its_sqlstate(dup_db: str) -> None:
    """A statement cut short by its timeout is "too long" (by SQLSTATE 57014, whatever the
    server's language), other database errors are "could not answer" (no SQL shown)."""
    engine = make_engine(dup_db, pool_size=1)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET lc_messages = 'C'")
            conn.exec_driver_sql("SET statement_timeout = 10")
            with pytest.raises(DBAPIError) as slow:
                conn.exec_driver_sql("SELECT pg_sleep(1)")
            conn.rollback()
            with pytest.raises(DBAPIError) as bad:
                conn.exec_driver_sql("SELECT ST_GeomFromText('POLYGON((0 0))')")
    finally:
        engine.dispose()
    assert is_statement_timeout(slow.value) and not is_statement_timeout(bad.value)
    assert isinstance(domain_error(slow.value), QueryTooLong)
    assert isinstance(domain_error(bad.value), QueryFailed)
