"""Land-use codes against the catalogue, the report (terminal table, --json, --report FILE),
grading into error/warning/info, and --dry-run / `planning check` writing nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import Engine

from planning.settings import PROJECT_ROOT
from tests.ingest.builders import CITADEL_EN, argv, published_state, rows, scalar, write_gdb

X, Y = CITADEL_EN


def _catalogue() -> dict[str, str]:
    with (PROJECT_ROOT / "planning" / "data" / "land_use_codes.csv").open(encoding="utf-8") as fh:
        return {r["code"]: r["scheme"] for r in csv.DictReader(fh)}


def _coded(tmp_path: Path, codes: list[str | None], density: list[float] | None = None) -> Path:
    n = len(codes)
    df = gpd.GeoDataFrame(
        {
            "KH": [f"L{i}" for i in range(n)],
            "LOAI": codes,
            "MD": density or [50.0] * n,
        },
        geometry=[box(X + 20 * i, Y, X + 20 * i + 20, Y + 20) for i in range(n)],
        crs=9214,
    )
    path = tmp_path / "coded.gpkg"
    df.to_file(path, engine="pyogrio")
    return path


FIELDS = argv("--code-field LOAI --lot-field KH --density-field MD")


def _ingest(run, path: Path, *extra: str, ok: bool | None = True) -> dict:
    res = run("ingest", "zoning", str(path), "--plan", "QH", *FIELDS, "--json", *extra, ok=ok)
    return json.loads(res.stdout)


def test_codes_of_both_schemes_and_unknown_codes(tmp_path: Path, run, engine: Engine) -> None:
    cat = _catalogue()
    assert cat["ODT"] == "tt25-2014" and cat["CNT"] == "law2024-provisional"
    codes = ["ODT", " odt ", "CNT", "DDD", "XYZ", "XYZ", "QQ1", None]
    report = _ingest(run, _coded(tmp_path, codes))
    unknown = [p for p in report["problems"] if p["code"] == "unknown_code"]
    assert len(unknown) == 1 and unknown[0]["level"] == "warning"
    assert unknown[0]["count"] == 3
    assert sorted(unknown[0]["examples"]) == ["QQ1 ×1", "XYZ ×2"]
    assert not report["has_errors"]
    # Codes are kept as the file wrote them (trimmed), unknown ones too, never dropped; the
    # category is the catalogue's code they match, case and spaces aside.
    stored = {
        r.lot: (r.code, r.category)
        for r in rows(engine, "SELECT lot, code, category FROM planning.zone")
    }
    written = ["ODT", "odt", "CNT", "DDD", "XYZ", "XYZ", "QQ1", None]
    category = ["ODT", "ODT", "CNT", "DDD", None, None, None, None]
    assert stored == {
        f"L{i}": (c, k) for i, (c, k) in enumerate(zip(written, category, strict=True))
    }
    assert all(c in cat for c in ("ODT", "CNT", "DDD"))


def test_report_file_terminal_and_grading(tmp_path: Path, run, engine: Engine) -> None:
    path = _coded(tmp_path, ["ODT", "XYZ"], density=[0.6, 45])
    out = tmp_path / "report.json"
    res = run("ingest", "zoning", str(path), "--plan", "QH", *FIELDS, "--report", str(out))
    saved = json.loads(out.read_text(encoding="utf-8"))
    levels = {p["code"]: p["level"] for p in saved["problems"]}
    assert levels["unknown_code"] == "warning"
    assert levels["density_fraction"] == "warning"
    assert levels["crs"] == "info"
    assert saved["summary"] == {
        "error": 0,
        "warning": sum(1 for v in levels.values() if v == "warning"),
        "info": sum(1 for v in levels.values() if v == "info"),
    }
    assert saved["revision_id"] == scalar(engine, "SELECT id FROM planning.revision")
    assert saved["sha256"] == scalar(engine, "SELECT source_sha256 FROM planning.revision")
    # The terminal table says the same things.
    assert "problems" in res.stdout and "density values ≤ 1" in res.stdout
    assert f"0 errors, {saved['summary']['warning']} warnings" in res.stdout
    assert f"revision {saved['revision_id']} staged" in res.stdout
    # The report is kept with the revision.
    stored = scalar(engine, "SELECT report FROM planning.revision")
    assert stored["problems"] == saved["problems"]


def test_error_blocks_publish_and_exits_2(tmp_path: Path, run, engine: Engine) -> None:
    # The layer's bbox overlaps the service area; one feature lies 3000 km south.
    df = gpd.GeoDataFrame(
        {"KH": ["A", "B"]},
        geometry=[box(X, Y, X + 10, Y + 10), box(X, Y - 3_000_000, X + 10, Y - 2_999_990)],
        crs=9214,
    )
    path = tmp_path / "e.gpkg"
    df.to_file(path, engine="pyogrio")
    res = run("ingest", "zoning", str(path), "--plan", "QH", "--publish", ok=False)
    assert res.exit_code == 2
    assert "1 errors" in res.stdout and "errors block publishing" in res.stdout
    rev = rows(engine, "SELECT state, has_errors FROM planning.revision")[0]
    assert (rev.state, rev.has_errors) == ("staged", True)
    assert published_state(engine)["counts"] == {"zone": 0, "parcel": 0, "red_line": 0}


@pytest.mark.parametrize(
    "command", [("ingest", "zoning", "{path}", "--plan", "QH", "--dry-run"), ("check", "{path}")]
)
def test_dry_run_and_check_write_nothing(
    tmp_path: Path, run, engine: Engine, command: tuple[str, ...]
) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    res = run(*(a.format(path=gdb) for a in command), "--json")
    report = json.loads(res.stdout)
    assert report["dry_run"] and report["revision_id"] is None
    assert report["features_loaded"] == 3
    for table in ("plan", "revision", "zone", "publication"):
        assert scalar(engine, f"SELECT count(*) FROM planning.{table}") == 0


def test_check_needs_no_database(tmp_path: Path, run) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    run.env["PLANNING_DATABASE_URL"] = "postgresql+psycopg2://nobody@127.0.0.1:1/none"
    res = run("check", str(gdb))
    assert "dry run: nothing written" in res.stdout


def test_check_red_lines_and_parcels(tmp_path: Path, run, engine: Engine) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    report = json.loads(run("check", "--kind", "red-lines", str(gdb), "--json").stdout)
    assert report["layer"] == "ChiGioiDuongDo_L" and report["features_loaded"] == 2
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0


def test_plan_required(tmp_path: Path, run, engine: Engine) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    res = run("ingest", "zoning", str(gdb), ok=False)
    assert res.stderr == "error: --plan CODE is required\n"
    res = run("ingest", "zoning", str(gdb), "--plan", "QH", "--level", "city", ok=False)
    assert "unknown plan level" in res.stderr
    res = run("ingest", "zoning", str(gdb), "--plan", "QH", "--decision-date", "1/2/2025", ok=False)
    assert "--decision-date" in res.stderr
    assert scalar(engine, "SELECT count(*) FROM planning.plan") == 0


def test_report_into_a_missing_folder_is_refused_before_loading(
    tmp_path: Path, run, engine: Engine
) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    target = tmp_path / "no" / "such" / "report.json"
    res = run("ingest", "zoning", str(gdb), "--plan", "QH", "--report", str(target), ok=False)
    assert res.stderr == f"error: --report {target}: no folder {target.parent}\n"
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0
