"""Benchmark `planning ingest parcels` against `ogr2ogr -f PostgreSQL` on the same file and server.

Usage: .venv/bin/python bench/ingest_bench.py [--parcels 200000] [--rounds 3] [--memory 1000000]

Both load the same shapefile (EPSG:9214) into the same local PostGIS, reprojected to EPSG:4326,
as MultiPolygons, with COPY; each round uses a fresh database and the order alternates, so drift
on a shared machine hits both alike. Every run goes through /usr/bin/time for its peak resident
memory, and both loads are checked (row counts; our revision published). Medians and their ratio
are printed as Markdown for bench/RESULTS.md; raw figures go to bench/out/ingest.json. With
--memory N it also loads an N-parcel file once and reports its peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PLANNING = [sys.executable, "-m", "planning.cli"]
TIME = "/usr/bin/time"


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; fail loudly; return wall seconds, peak RSS in MB and its stdout."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-f", "%M", "-o", tf.name, *cmd],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
        rss_kb = int(tf.read().strip().splitlines()[-1])
    return dt, rss_kb / 1024, proc.stdout


def query(port: int, db: str, sql: str) -> Any:
    """Return the first value of a one-row query (autocommit)."""
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname=db)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone() if cur.description else None
            return row[0] if row else None
    finally:
        conn.close()


def fresh_db(port: int) -> str:
    """Create an empty database migrated to the newest schema."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    query(port, "postgres", f'CREATE DATABASE "{name}"')
    env = {**os.environ, "PLANNING_DATABASE_URL": url(port, name)}
    timed([*PLANNING, "db", "migrate"], env)
    return name


def drop_db(port: int, name: str) -> None:
    query(port, "postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def url(port: int, db: str) -> str:
    return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{db}"


def demo_file(parcels: int) -> Path:
    """Generate (once, cached in bench/out/) the demo cadastre of N parcels."""
    folder = OUT / f"p{parcels}"
    shp = next(folder.rglob("thua_dat.shp"), None) if folder.exists() else None
    if shp is None:
        print(f"generating {parcels} parcels in {folder}", file=sys.stderr, flush=True)
        timed([*PLANNING, "demo", "--files-only", "--parcels", str(parcels), "--out", str(folder)])
        shp = next(folder.rglob("thua_dat.shp"))
    return shp


def ours(shp: Path, port: int, db: str, parcels: int) -> tuple[float, float]:
    """Load with `planning ingest parcels --publish` and check every parcel was published."""
    env = {**os.environ, "PLANNING_DATABASE_URL": url(port, db)}
    cmd = [*PLANNING, "ingest", "parcels", str(shp), "--publish", "--json"]
    dt, rss, out = timed(cmd, env)
    report = json.loads(out[out.index("{") :])
    if report["features_loaded"] != parcels or not report.get("published"):
        sys.exit(f"planning ingest loaded {report['features_loaded']}, published {report}")
    return dt, rss


def ogr(shp: Path, port: int, db: str, parcels: int) -> tuple[float, float]:
    """Load with ogr2ogr (COPY, reprojected, promoted to multi) and check the row count."""
    cmd = [
        "ogr2ogr",
        "-f",
        "PostgreSQL",
        f"PG:host=127.0.0.1 port={port} user=postgres dbname={db}",
        str(shp),
        "-nln",
        "ogr_parcels",
        "-t_srs",
        "EPSG:4326",
        "-nlt",
        "PROMOTE_TO_MULTI",
        "-lco",
        "GEOMETRY_NAME=geom",
        "--config",
        "PG_USE_COPY",
        "YES",
    ]
    dt, rss, _ = timed(cmd)
    n = query(port, db, "SELECT count(*) FROM ogr_parcels")
    if n != parcels:
        sys.exit(f"ogr2ogr loaded {n} rows, not {parcels}")
    return dt, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory", type=int, default=0, help="also measure peak RSS at N parcels")
    args = ap.parse_args()
    if not shutil.which("ogr2ogr"):
        sys.exit("ogr2ogr missing: apt-get install -y gdal-bin")
    if not Path(TIME).exists():
        sys.exit(f"{TIME} missing: apt-get install -y time")
    port = int(os.environ.get("PLANNING_DB_PORT", "55432"))
    timed([*PLANNING, "db", "up"])
    shp = demo_file(args.parcels)
    if args.memory:
        big = demo_file(args.memory)
    runs: dict[str, list[tuple[float, float]]] = {"ogr2ogr": [], "ours": []}
    for r in range(args.rounds):
        db = fresh_db(port)
        try:
            order = ["ogr2ogr", "ours"] if r % 2 == 0 else ["ours", "ogr2ogr"]
            for who in order:
                load = ogr if who == "ogr2ogr" else ours
                runs[who].append(load(shp, port, db, args.parcels))
        finally:
            drop_db(port, db)
        (t_ogr, _), (t_ours, _) = runs["ogr2ogr"][-1], runs["ours"][-1]
        print(
            f"round {r + 1}: ogr2ogr {t_ogr:.2f} s, planning ingest {t_ours:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    med = {k: statistics.median(t for t, _ in v) for k, v in runs.items()}
    rss = {k: statistics.median(m for _, m in v) for k, v in runs.items()}
    result: dict[str, Any] = {
        "parcels": args.parcels,
        "runs": runs,
        "median_s": med,
        "ratio": med["ours"] / med["ogr2ogr"],
    }
    print(f"| {args.parcels} parcels | median wall s | runs (s) | peak RSS MB |")
    print("|---|---|---|---|")
    for k, label in (
        ("ogr2ogr", "ogr2ogr -f PostgreSQL (COPY)"),
        ("ours", "planning ingest parcels --publish (validation included)"),
    ):
        times = ", ".join(f"{t:.2f}" for t, _ in runs[k])
        print(f"| {label} | {med[k]:.2f} | {times} | {rss[k]:.0f} |")
    print(f"| ratio ours ÷ ogr2ogr | {result['ratio']:.2f}× | | |")
    if args.memory:
        db = fresh_db(port)
        try:
            wall, peak = ours(big, port, db, args.memory)
        finally:
            drop_db(port, db)
        result["memory"] = {"parcels": args.memory, "wall_s": wall, "peak_rss_mb": peak}
        print(
            f"\npeak RSS of `planning ingest parcels` on {args.memory} parcels: "
            f"{peak:.0f} MB (wall {wall:.1f} s)"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ingest.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
