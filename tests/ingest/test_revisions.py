"""Revisions: staged → published → retired, the effective-date rules, rollback, list/show/diff,
the same-file refusal, parcels (keys, coverage per commune) and red lines."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import Engine

from ingest.pipeline import IngestOptions, run_ingest
from planning.errors import Conflict
from tests.ingest.builders import (
    CITADEL_EN,
    LOTS,
    argv,
    lot_geoms,
    parcels_frame,
    published_state,
    rows,
    scalar,
    tt16_zoning,
    write_gdb,
)

X, Y = CITADEL_EN


def _revision_id(res) -> int:  # type: ignore[no-untyped-def]
    return int(json.loads(res.stdout)["revision_id"])


def _revisions(engine: Engine) -> dict[int, object]:
    return {r.id: r for r in rows(engine, "SELECT * FROM planning.revision ORDER BY id")}


def _second_version(tmp_path: Path) -> tuple[Path, dict[str, float]]:
    """OM-01 re-zoned, CX-01 reshaped, GD-01 gone, TM-01 new."""
    lots = [dict(LOTS[0]), dict(LOTS[1])]
    lots[0].update(matDoXayDung=50.0, tangCaoXayDung="4-6")
    lots.append(
        {
            "kyHieuLoDat": "TM-01",
            "chucNangSuDungDatMuc1": "Đất thương mại dịch vụ",
            "matDoXayDung": 70.0,
            "tangCaoXayDung": "9",
        }
    )
    g = lot_geoms()
    geoms = [g[0], box(X + 100, Y, X + 180.5, Y + 100), box(X + 300, Y, X + 412.25, Y + 77.5)]
    path = write_gdb(tmp_path / "v2" / "QuyHoach.gdb", tt16_zoning(rows=lots, geoms=geoms))
    return path, {
        r["kyHieuLoDat"]: float(shapely.area(geom)) for r, geom in zip(lots, geoms, strict=True)
    }


def test_publish_close_rollback(tmp_path: Path, run, engine: Engine) -> None:
    v1 = write_gdb(tmp_path / "v1" / "QuyHoach.gdb")
    r1 = _revision_id(
        run("ingest", "zoning", str(v1), "--plan", "QH", "--effective", "2025-01-01", "--json")
    )
    assert _revisions(engine)[r1].state == "staged"
    assert published_state(engine)["counts"]["zone"] == 0  # staged is not published
    res = run("revisions", "publish", str(r1))
    assert f"revision {r1} published" in res.stdout

    v2, _ = _second_version(tmp_path)
    r2 = _revision_id(
        run(
            "ingest",
            "zoning",
            str(v2),
            "--plan",
            "QH",
            *argv("--effective 2025-06-01 --publish"),
            "--json",
        )
    )
    revs = _revisions(engine)
    assert (revs[r1].state, revs[r1].effective_to) == ("published", date(2025, 6, 1))
    assert (revs[r2].state, revs[r2].effective_to, revs[r2].version) == ("published", None, 2)
    # As-of queries see the right one on each side of the date.
    as_of = (
        "SELECT id FROM planning.revision WHERE state = 'published' AND effective_from <= :d "
        "AND (effective_to IS NULL OR :d < effective_to)"
    )
    assert [r.id for r in rows(engine, as_of, d=date(2025, 5, 31))] == [r1]
    assert [r.id for r in rows(engine, as_of, d=date(2025, 6, 1))] == [r2]

    res = run("revisions", "rollback", "QH")
    assert f"revision {r2} rolled back" in res.stdout and f"revision {r1} is current" in res.stdout
    revs = _revisions(engine)
    assert (revs[r1].state, revs[r1].effective_to) == ("published", None)
    assert revs[r2].state == "retired" and revs[r2].retired_at is not None
    assert [
        r.action for r in rows(engine, "SELECT action FROM planning.publication ORDER BY id")
    ] == ["publish", "publish", "rollback"]
    # A rolled-back file may be loaded again.
    run("ingest", "zoning", str(v2), "--plan", "QH", "--effective", "2025-07-01")


def test_publish_refusals_change_nothing(tmp_path: Path, run, engine: Engine) -> None:
    v1 = write_gdb(tmp_path / "v1" / "QuyHoach.gdb")
    run("ingest", "zoning", str(v1), "--plan", "QH", "--effective", "2025-06-01", "--publish")
    before = published_state(engine)
    v2, _ = _second_version(tmp_path)
    r2 = _revision_id(
        run("ingest", "zoning", str(v2), "--plan", "QH", "--effective", "2025-01-01", "--json")
    )
    res = run("revisions", "publish", str(r2), ok=False)
    assert "before the current revision" in res.stderr
    res = run("revisions", "publish", "999", ok=False)
    assert res.stderr == "error: no revision 999\n"
    res = run("revisions", "rollback", "NOPE", ok=False)
    assert "NOPE" in res.stderr
    assert published_state(engine) == before
    assert _revisions(engine)[r2].state == "staged"
    res = run("revisions", "publish", str(min(_revisions(engine))), ok=False)
    assert "only a staged revision publishes" in res.stderr


def test_same_file_twice_is_refused(tmp_path: Path, run, engine: Engine) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    r1 = _revision_id(run("ingest", "zoning", str(gdb), "--plan", "QH", "--json"))
    before = published_state(engine)
    res = run("ingest", "zoning", str(gdb), "--plan", "QH", "--name", "changed", ok=False)
    line = res.stderr
    assert line.startswith("error: QuyHoach.gdb: this file") and line.count("\n") == 1
    assert f"already loaded as revision {r1} of plan QH (staged)" in line
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 1
    assert scalar(engine, "SELECT name FROM planning.plan") is None  # metadata untouched too
    assert published_state(engine) == before
    # Another plan may use the same file; so may the red-lines kind of the same plan.
    run("ingest", "zoning", str(gdb), "--plan", "QH-2")
    run("ingest", "red-lines", str(gdb), "--plan", "QH")
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 3


def test_same_file_loaded_twice_at_once(tmp_path: Path, engine: Engine) -> None:
    path = _parcels(tmp_path, "twice", parcels_frame(30))

    def load() -> object:
        return run_ingest(IngestOptions(kind="parcels", path=path, publish=True), engine)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(load) for _ in range(2)]
    errors = [f.exception() for f in futures]
    assert sum(e is None for e in errors) == 1
    conflict = next(e for e in errors if e is not None)
    assert isinstance(conflict, Conflict) and "twice.gpkg: this file" in str(conflict)
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 1
    assert published_state(engine)["counts"]["parcel"] == 900


def test_list_show_diff(tmp_path: Path, run, engine: Engine) -> None:
    v1 = write_gdb(tmp_path / "v1" / "QuyHoach.gdb")
    r1 = _revision_id(run("ingest", "zoning", str(v1), "--plan", "QH", "--publish", "--json"))
    v2, areas = _second_version(tmp_path)
    r2 = _revision_id(run("ingest", "zoning", str(v2), "--plan", "QH", "--json"))
    run("ingest", "zoning", str(v1), "--plan", "OTHER")

    listed = json.loads(run("revisions", "list", "--plan", "QH", "--json").stdout)
    assert [(r["id"], r["state"], r["version"]) for r in listed] == [
        (r1, "published", 1),
        (r2, "staged", 2),
    ]
    assert len(json.loads(run("revisions", "list", "--json").stdout)) == 3
    table = run("revisions", "list").stdout
    assert "OTHER" in table and "staged" in table
    assert "no plan" in run("revisions", "list", "--plan", "NOPE", ok=False).stderr

    shown = json.loads(run("revisions", "show", str(r2)).stdout)
    assert shown["plan_code"] == "QH" and shown["feature_count"] == 3
    assert shown["report"]["features_loaded"] == 3

    d = json.loads(run("revisions", "diff", str(r1), str(r2), "--json").stdout)
    assert [z["key"] for z in d["added"]] == ["TM-01"]
    assert d["added"][0]["area_m2"] == pytest.approx(areas["TM-01"], abs=0.01)
    assert [z["key"] for z in d["removed"]] == ["GD-01"]
    changed = {c["key"]: c["changes"] for c in d["changed"]}
    assert set(changed) == {"OM-01", "CX-01"}
    assert changed["OM-01"] == {
        "density_max": {"from": 60.0, "to": 50.0},
        "floors_min": {"from": 3.0, "to": 4.0},
        "floors_max": {"from": 5.0, "to": 6.0},
    }
    assert changed["CX-01"]["area_m2"]["from"] == pytest.approx(10_000, abs=0.01)
    assert changed["CX-01"]["area_m2"]["to"] == pytest.approx(areas["CX-01"], abs=0.01)
    assert set(changed["CX-01"]) == {"area_m2"}
    v1_total = sum(shapely.area(g) for g in lot_geoms())
    assert d["area_m2"]["from"] == pytest.approx(v1_total, abs=0.01)
    assert d["area_m2"]["to"] == pytest.approx(sum(areas.values()), abs=0.01)

    text = run("revisions", "diff", str(r1), str(r2)).stdout
    assert "+ TM-01" in text and "- GD-01" in text and "~ OM-01" in text
    assert "1 added, 1 removed, 2 changed" in text
    other = max(_revisions(engine))
    assert "different plans" in run("revisions", "diff", str(r1), str(other), ok=False).stderr


def _parcels(tmp_path: Path, name: str, frame) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{name}.gpkg"
    frame.to_file(path, engine="pyogrio")
    return path


def test_parcels_replace_per_commune(tmp_path: Path, run, engine: Engine) -> None:
    a = parcels_frame(3, commune="19753")
    b = parcels_frame(2, commune="19777", origin=(X + 1000, Y))
    import pandas as pd

    both = _parcels(tmp_path, "both", pd.concat([a, b], ignore_index=True))
    r1 = _revision_id(
        run("ingest", "parcels", str(both), "--effective", "2025-01-01", "--publish", "--json")
    )
    got = rows(engine, "SELECT * FROM planning.parcel ORDER BY commune_code, sheet, parcel_no")
    assert len(got) == 13
    p = got[0]
    assert (p.commune_code, p.sheet, p.parcel_no, p.land_use_code) == ("19753", "1", "1", "ODT")
    assert p.area_m2 == pytest.approx(100, abs=0.01) and p.area_official == 100
    assert p.address == "Phường Phú Xuân" and p.address_search == "phuong phu xuan"
    cover = rows(engine, "SELECT * FROM planning.parcel_coverage ORDER BY commune_code")
    assert [(c.revision_id, c.commune_code, c.effective_to) for c in cover] == [
        (r1, "19753", None),
        (r1, "19777", None),
    ]
    # A new survey of 19753 only, loaded with --commune and renamed fields.
    new_a = parcels_frame(4, commune="ignored").rename(
        columns={"SoTo": "TO", "SoThua": "THUA", "DienTich": "DT", "LoaiDat": "LD", "DiaChi": "DC"}
    )
    path = _parcels(tmp_path, "a2", new_a.drop(columns=["MaXa"]))
    fields = argv(
        "--sheet-field TO --parcel-field THUA --area-field DT --land-type-field LD "
        "--address-field DC --effective 2025-06-01 --publish"
    )
    r2 = _revision_id(run("ingest", "parcels", str(path), "--commune", "19753", *fields, "--json"))
    cover = rows(
        engine, "SELECT * FROM planning.parcel_coverage ORDER BY commune_code, effective_from"
    )
    assert [(c.revision_id, c.commune_code, c.effective_to) for c in cover] == [
        (r1, "19753", date(2025, 6, 1)),
        (r2, "19753", None),
        (r1, "19777", None),
    ]
    assert scalar(engine, "SELECT count(*) FROM planning.parcel WHERE revision_id = :r", r=r2) == 16
    # Roll the new survey back: 19753 is covered by the first revision again.
    run("revisions", "rollback", "--revision", str(r2))
    cover = rows(engine, "SELECT * FROM planning.parcel_coverage ORDER BY commune_code")
    assert [(c.revision_id, c.commune_code, c.effective_to) for c in cover] == [
        (r1, "19753", None),
        (r1, "19777", None),
    ]


def test_parcels_commune_field_and_duplicates(tmp_path: Path, run, engine: Engine) -> None:
    frame = parcels_frame(2).rename(columns={"MaXa": "XA"})
    frame.loc[3, "SoThua"] = 1  # (19753, 2, 1) twice
    frame.loc[2, "XA"] = "19753.0"
    path = _parcels(tmp_path, "dup", frame)
    res = run(
        "ingest", "parcels", str(path), "--commune-field", "XA", "--publish", "--json", ok=False
    )
    assert res.exit_code == 2
    report = json.loads(res.stdout)
    dup = [p for p in report["problems"] if p["code"] == "duplicate_parcel"]
    assert dup and dup[0]["level"] == "error" and dup[0]["examples"] == ["19753/2/1 ×2"]
    assert scalar(engine, "SELECT state FROM planning.revision") == "staged"
    assert published_state(engine)["counts"]["parcel"] == 0
    # The parcels with a unique key were loaded (staged), the repeated one left out.
    assert scalar(engine, "SELECT count(*) FROM planning.parcel") == 3
    assert scalar(engine, "SELECT count(DISTINCT commune_code) FROM planning.parcel") == 1
    # `planning check` grades the same way, writing nothing.
    res = run("check", "--kind", "parcels", str(path), "--commune-field", "XA", ok=False)
    assert res.exit_code == 2 and "repeated parcel keys (1)" in res.stdout
    res = run("check", "--kind", "parcels", str(path), "--code-field", "XA", ok=False)
    assert res.stderr == "error: --code-field does not apply to parcels\n"
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 1


def test_parcels_without_sheet_number_are_an_error(tmp_path: Path, run, engine: Engine) -> None:
    frame = parcels_frame(2)
    frame["SoTo"] = frame["SoTo"].astype(float)
    frame.loc[0, "SoTo"] = float("nan")
    path = _parcels(tmp_path, "nosheet", frame)
    res = run("ingest", "parcels", str(path), "--json", ok=False)
    report = json.loads(res.stdout)
    missing = [p for p in report["problems"] if p["code"] == "missing_key"]
    assert missing and missing[0]["level"] == "error" and missing[0]["count"] == 1
    assert scalar(engine, "SELECT count(*) FROM planning.parcel") == 3


def test_commune_option_beats_a_recognised_field(tmp_path: Path, run, engine: Engine) -> None:
    path = _parcels(tmp_path, "p", parcels_frame(2, commune="19753"))
    res = run("ingest", "parcels", str(path), "--commune", "19777", "--json")
    assert "commune" not in json.loads(res.stdout)["mapping"]
    assert {r.commune_code for r in rows(engine, "SELECT commune_code FROM planning.parcel")} == {
        "19777"
    }
    both = ["--commune", "1", "--commune-field", "MaXa"]
    res = run("check", "--kind", "parcels", str(path), *both, ok=False)
    assert "not both" in res.stderr


def test_parcels_without_commune_refused(tmp_path: Path, run, engine: Engine) -> None:
    path = _parcels(tmp_path, "nocommune", parcels_frame(2).drop(columns=["MaXa"]))
    res = run("ingest", "parcels", str(path), ok=False)
    assert "--commune" in res.stderr and str(path) in res.stderr
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0


def test_red_lines_need_a_plan(tmp_path: Path, run, engine: Engine) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    assert "--plan" in run("ingest", "red-lines", str(gdb), ok=False).stderr
    run("ingest", "red-lines", str(gdb), "--plan", "QH", "--publish")
    run("ingest", "zoning", str(gdb), "--plan", "QH", "--publish")
    res = run("revisions", "rollback", "QH", "--kind", "red_lines")
    assert "rolled back" in res.stdout
    kinds = {r.kind: r.state for r in rows(engine, "SELECT kind, state FROM planning.revision")}
    assert kinds == {"red_lines": "retired", "zoning": "published"}


def test_a_refused_publish_is_undone_entirely(tmp_path: Path, run, engine: Engine) -> None:
    import pandas as pd

    a = parcels_frame(2, commune="19753")
    b = parcels_frame(2, commune="19777", origin=(X + 1000, Y))
    both = pd.concat([a, b], ignore_index=True)
    path1 = _parcels(tmp_path, "r1", both)
    run("ingest", "parcels", str(path1), "--effective", "2025-06-01", "--publish")
    path2 = _parcels(tmp_path, "r2", parcels_frame(3, commune="19777", origin=(X + 1000, Y)))
    run("ingest", "parcels", str(path2), "--effective", "2025-09-01", "--publish")
    before = published_state(engine)
    # r3 covers both communes from July: 19753 could be switched over, 19777 cannot (r2 is
    # newer), so nothing at all may change.
    path3 = _parcels(tmp_path, "r3", both.assign(DienTich=99.0))
    res = run("ingest", "parcels", str(path3), *argv("--effective 2025-07-01 --publish"), ok=False)
    assert "commune 19777" in res.stderr and "date order" in res.stderr
    assert published_state(engine) == before
    assert len(_revisions(engine)) == 2  # the load went with the refused publish
    r3 = _revision_id(run("ingest", "parcels", str(path3), *argv("--effective 2025-07-01 --json")))
    res = run("revisions", "publish", str(r3), ok=False)
    assert "commune 19777" in res.stderr and "date order" in res.stderr
    assert published_state(engine) == before
    assert _revisions(engine)[r3].state == "staged"


def test_unknown_commune_code_is_a_warning(tmp_path: Path, run) -> None:
    path = _parcels(tmp_path, "odd", parcels_frame(2, commune="99999"))
    report = json.loads(run("check", "--kind", "parcels", str(path), "--json").stdout)
    found = {p["code"]: p for p in report["problems"]}
    assert found["unknown_commune"]["level"] == "warning"
    assert found["unknown_commune"]["examples"] == ["99999"]
    assert not report["has_errors"]
