"""Load public files that no one on the team wrote, and check the answers against the files.

    .venv/bin/python bench/real_files.py /work/realdata [--keep]

The files are not in the repository (they are other people's, several carry owners' names):
the folder holds what `bench/README.md` lists, each from the public repository named there. The
script loads each through `planning ingest` (a subprocess, as an office would) into a scratch
database on the local cluster, then asks the API (in process) what a user would ask, and
prints one Markdown table of what it found. It is a check run by hand, not a test: CI has no
such files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import psycopg2
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from planning.db import make_engine, migrate  # noqa: E402
from planning.settings import Settings  # noqa: E402

WORLD = "-180,-80,180,80"
PLANNING = str(ROOT / ".venv" / "bin" / "planning")


@dataclass
class Case:
    """One file, how an office would load it, and what to ask about it."""

    name: str
    path: str
    kind: str
    args: list[str]
    plan: str | None = None
    world: bool = False  # outside Vietnam: a wider service area
    check: bool = False  # `planning check` (writes nothing) instead of `planning ingest`


CASES = [
    Case(
        "Tân Biên parcels (WGS 84 GeoJSON in a zip), no province named",
        "tanbien-qgis2web-vn2000-9209/parcels_Hintrng_2.geojson.zip",
        "parcels",
        ["--commune", "25486", "--allow-duplicates"],
        check=True,
    ),
    Case(
        "Tân Biên parcels, --province 72 (Tây Ninh before 2025)",
        "tanbien-qgis2web-vn2000-9209/parcels_Hintrng_2.geojson.zip",
        "parcels",
        ["--commune", "25486", "--province", "72", "--allow-duplicates", "--publish"],
    ),
    Case(
        "Di Lăng parcels (Esri JSON named .json)",
        "quangngai-thuadat/thuadat.esrijson.json",
        "parcels",
        ["--commune", "21289", "--area-field", "Tong_dien_", "--allow-duplicates", "--publish"],
    ),
    Case(
        "Cà Mau parcels (Vietnamese field names)",
        "camau-thuadat-vnkeys/thua-dat.geojson",
        "parcels",
        ["--commune", "32025", "--publish"],
    ),
    Case(
        "Sa Huỳnh zoning (mixed lines and polygons)",
        "quangngai-qhpk/QHPK_SDD_SaHuynh_2014.geojson",
        "zoning",
        ["--function-field", "description", "--province", "51", "--publish"],
        plan="QHPK-SH",
    ),
    Case(
        "HCMC District 1 buildings (VN-2000 105°45′ .prj)",
        "hcmc-q1-vn2000-buildings/Nha_Quan1_VN2000.shp",
        "zoning",
        ["--function-field", "LOAIDOITUO", "--publish"],
        plan="Q1-NHA",
    ),
    Case(
        "San José zoning (State Plane CA III, US ft)",
        "sanjose-zoning/Zoning.zip",
        "zoning",
        ["--code-field", "ZONING", "--lot-field", "ZONING_ID", "--publish"],
        plan="SJ",
        world=True,
    ),
    Case(
        "Dayton zoning (ESRI .prj, Ohio South ft)",
        "dayton-zoning/zoning_aug62015.shp",
        "zoning",
        ["--code-field", "NEW_ZONE", "--publish"],
        plan="DAYTON",
        world=True,
    ),
    Case(
        "Forest City zoning (GeoJSON in NC ftUS)",
        "forestcity-nc-zoning/zoning.geojson",
        "zoning",
        ["--code-field", "BASE_DISTR", "--publish"],
        plan="FC",
        world=True,
    ),
    Case(
        "Forest City ETJ zoning (WGS 84 GeoJSON)",
        "forestcity-nc-zoning/etj_zoning.geojson",
        "zoning",
        ["--code-field", "Zoning", "--lot-field", "Zoning", "--publish"],
        plan="FC-ETJ",
        world=True,
    ),
]


def _admin(url: str) -> Any:
    u = make_url(url)
    conn = psycopg2.connect(host=u.host, port=u.port, user=u.username, dbname="postgres")
    conn.autocommit = True
    return conn


def _ingest(case: Case, folder: Path, url: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "PLANNING_DATABASE_URL": url}
    if case.world:
        env["PLANNING_SERVICE_AREA"] = WORLD
    kind = case.kind.replace("_", "-")
    cmd = [PLANNING, "ingest", kind] if not case.check else [PLANNING, "check", "--kind", kind]
    cmd.append(str(folder / case.path))
    if case.plan:
        cmd += ["--plan", case.plan]
    res = subprocess.run([*cmd, *case.args, "--json"], capture_output=True, text=True, env=env)
    report = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    return res.returncode, report, res.stderr.strip()


def _zoning_checks(client: TestClient, conn: Any, revision: int) -> list[str]:
    """Ask the lookup at a point well inside each of (up to) 60 zones, and the breakdown of
    (up to) 20 zones as polygons in their file's own CRS."""
    rows = conn.execute(
        text(
            "SELECT z.id, ST_X(p) AS lon, ST_Y(p) AS lat, z.area_m2, r.srid, "
            "ST_AsGeoJSON(ST_Transform(z.geom, r.srid), 9) AS own FROM planning.zone z "
            "JOIN planning.revision r ON r.id = z.revision_id, "
            "LATERAL ST_Transform((ST_MaximumInscribedCircle(z.geom_plane)).center, 4326) p "
            "WHERE z.revision_id = :r AND (ST_MaximumInscribedCircle(z.geom_plane)).radius > 1 "
            "ORDER BY md5(z.id::text) LIMIT 60"
        ),
        {"r": revision},
    ).all()
    hits = 0
    for r in rows:
        answer = client.get("/v1/lookup", params={"lon": r.lon, "lat": r.lat}).json()
        ids = {z["id"] for p in answer.get("plans", []) for z in p["zones"]}
        hits += r.id in ids
    errors: list[tuple[float, float]] = []
    for r in rows[:20]:
        body = {"geometry": json.loads(r.own), "crs": f"EPSG:{r.srid}"}
        answer = client.post("/v1/lookup/geometry", json=body).json()
        if "area_m2" not in answer:
            errors.append((float("inf"), 1.0))
            continue
        errors.append((abs(answer["area_m2"] - r.area_m2), r.area_m2))
    worst = max((e for e, _a in errors), default=float("nan"))
    worst_ppm = max((e / a * 1e6 for e, a in errors), default=float("nan"))
    return [
        f"lookup inside {len(rows)} zones: {hits} found their zone",
        f"{len(errors)} zones sent back as polygons in EPSG:{rows[0].srid if rows else '?'}: "
        f"answered area within {worst:.3f} m² ({worst_ppm:.2f} ppm) of the stored one "
        "(answers are rounded to 0.01 m²)",
    ]


def _parcel_checks(client: TestClient, conn: Any, revision: int) -> list[str]:
    out = []
    row = conn.execute(
        text(
            "SELECT commune_code, sheet, parcel_no, count(*) AS n FROM planning.parcel "
            "WHERE revision_id = :r GROUP BY 1, 2, 3 HAVING count(*) > 1 ORDER BY n DESC LIMIT 1"
        ),
        {"r": revision},
    ).first()
    if row is not None:
        r = client.get(f"/v1/parcels/{row.commune_code}/{row.sheet}/{row.parcel_no}")
        matches = r.json().get("matches", [])
        follow = client.get(matches[0]["link"]).status_code if matches else 0
        out.append(
            f"repeated key {row.commune_code}/{row.sheet}/{row.parcel_no} (×{row.n}): "
            f"{r.status_code} with {len(matches)} matches, first link {follow}"
        )
    diffs = [
        abs(a - b)
        for a, b in conn.execute(
            text(
                "SELECT area_m2, area_official FROM planning.parcel "
                "WHERE revision_id = :r AND area_official > 0"
            ),
            {"r": revision},
        ).all()
    ]
    if diffs:
        close = sum(d <= 0.05 for d in diffs) / len(diffs)
        out.append(
            f"area vs the file's official area: median |Δ| {median(diffs):.3f} m², "
            f"{close:.0%} within 0.05 m² ({len(diffs)} parcels)"
        )
    personal = conn.execute(
        text("SELECT report->'personal' FROM planning.revision WHERE id = :r"), {"r": revision}
    ).scalar()
    if personal:
        out.append("left out as personal: " + ", ".join(p["field"] for p in personal))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    server = Settings().resolved_database_url()
    name = f"planning_real_{uuid.uuid4().hex[:8]}"
    admin = _admin(server)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        print("| file | exit | CRS read → plane | read / loaded | report | answers |")
        print("|---|---|---|---|---|---|")
        for case in CASES:
            if not (args.folder / case.path).exists():
                print(f"| {case.name} | missing | | | | |")
                continue
            rc, report, stderr = _ingest(case, args.folder, url)
            problems = ", ".join(
                f"{p['level'][0]}:{p['code']}×{p['count']}"
                for p in report.get("problems", [])
                if p["level"] != "info"
            )
            answers: list[str] = []
            rid = report.get("revision_id")
            if rid and report.get("published"):
                area = WORLD if case.world else Settings().service_area
                settings = Settings(database_url=url, service_area=area, secret="x")
                engine = make_engine(url, pool_size=1)
                try:
                    with TestClient(create_app(settings)) as client, engine.connect() as conn:
                        check = _parcel_checks if case.kind == "parcels" else _zoning_checks
                        answers = check(client, conn, int(rid))
                finally:
                    engine.dispose()
            elif stderr:
                answers = [stderr.splitlines()[-1][:160]]
            crs = f"{report.get('crs_resolved')} → {report.get('plane')}"
            counts = f"{report.get('features_read')} / {report.get('features_loaded')}"
            print(f"| {case.name} | {rc} | {crs} | {counts} | {problems} | {'; '.join(answers)} |")
    finally:
        if not args.keep:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
