"""Each parcels revision lives in its own table, a child of planning.parcel: indexed, found by
every query of planning.parcel, dropped with its revision, never left behind by a failed load,
and two loads at once neither wait on each other's table nor deadlock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ingest.load import revision_table
from ingest.pipeline import IngestOptions, run_ingest
from planning.revisions import discard
from tests.ingest.builders import parcels_frame, rows, scalar

CHILDREN = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'planning.parcel'::regclass ORDER BY 1"
)


def _file(tmp_path: Path, name: str, commune: str = "19753", side: int = 4) -> Path:
    path = tmp_path / f"{name}.gpkg"
    parcels_frame(side, commune=commune).to_file(path, engine="pyogrio")
    return path


def _load(path: Path, engine: Engine, publish: bool = True) -> int:
    report = run_ingest(IngestOptions(kind="parcels", path=path, publish=publish), engine)
    assert report.revision_id is not None
    return report.revision_id


def test_revision_table_indexed_and_read_through_parcel(tmp_path: Path, engine: Engine) -> None:
    rid = _load(_file(tmp_path, "a"), engine)
    name = revision_table(rid)
    assert [r.relname for r in rows(engine, CHILDREN)] == [name]
    assert scalar(engine, "SELECT count(*) FROM ONLY planning.parcel") == 0
    assert (
        scalar(engine, "SELECT count(*) FROM planning.parcel WHERE revision_id = :r", r=rid) == 16
    )
    indexes = {
        r.indexdef.split(" USING ")[1]
        for r in rows(engine, "SELECT indexdef FROM pg_indexes WHERE tablename = :t", t=name)
    }
    assert indexes == {"btree (id)", "btree (commune_code, sheet, parcel_no)", "gist (geom)"}
    # ids come from planning.parcel's sequence; the key is unique within the revision.
    with engine.connect() as conn:
        ids = conn.execute(text(f"SELECT min(id), max(id) FROM planning.{name}")).one()
        assert (ids[0], ids[1]) == (1, 16)
        with pytest.raises(Exception, match="duplicate key"):
            conn.execute(
                text(
                    f"INSERT INTO planning.{name} (revision_id, commune_code, sheet, parcel_no, "
                    "attrs, area_m2, geom, geom_plane) SELECT revision_id, commune_code, sheet, "
                    f"parcel_no, attrs, area_m2, geom, geom_plane FROM planning.{name} LIMIT 1"
                )
            )


def test_discard_drops_the_table(tmp_path: Path, engine: Engine) -> None:
    kept = _load(_file(tmp_path, "a"), engine)
    staged = _load(_file(tmp_path, "b", commune="19777"), engine, publish=False)
    with engine.begin() as conn:
        discard(conn, staged)
    assert [r.relname for r in rows(engine, CHILDREN)] == [revision_table(kept)]
    assert scalar(engine, "SELECT count(*) FROM planning.parcel") == 16


def test_failed_load_leaves_no_table(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("checks failed")

    # Fails after every batch was copied into the revision's table.
    monkeypatch.setattr("ingest.pipeline.checks.finish", fail)
    with pytest.raises(RuntimeError, match="checks failed"):
        _load(_file(tmp_path, "a"), engine)
    assert rows(engine, CHILDREN) == []
    assert scalar(engine, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'parcel_r%'") == 0
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0


def test_two_loads_at_once(tmp_path: Path, engine: Engine) -> None:
    paths = [_file(tmp_path, "a", "19753", 40), _file(tmp_path, "b", "19777", 40)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        ids = list(pool.map(lambda p: _load(p, engine), paths))
    assert len(set(ids)) == 2
    assert scalar(engine, "SELECT count(*) FROM planning.parcel") == 3200
    assert len(rows(engine, CHILDREN)) == 2
