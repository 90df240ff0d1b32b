"""Benchmark `planning ingest parcels` against `ogr2ogr -f PostgreSQL` on the same file and server.

Usage: .venv/bin/python bench/ingest_bench.py [--parcels 200000] [--rounds 3] [--memory 1000000]

Both load the same shapefile (EPSG:9214) into the same local PostGIS, reprojected to EPSG:4326,
as MultiPolygons, with COPY; rounds alternate so drift on a shared machine hits both alike.
Medians and their ratio are printed as a Markdown table for bench/RESULTS.md. With --memory N it
also measures the peak resident memory of loading an N-parcel file (/usr/bin/time -v).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PLANNING = [sys.executable, "-m", "planning.cli"]


def sh(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Run a command, fail loudly, return its wall time in seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return dt


def admin(port: int):  # type: ignore[no-untyped-def]
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    return conn


def fresh_db(port: int) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with admin(port).cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_db(port: int, name: str) -> None:
    with admin(port).cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def demo_file(parcels: int) -> Path:
    folder = OUT / f"p{parcels}"
    shp = next(folder.rglob("thua_dat.shp"), None) if folder.exists() else None
    if shp is None:
        sh([*PLANNING, "demo", "--files-only", "--parcels", str(parcels), "--out", str(folder)])
        shp = next(folder.rglob("thua_dat.shp"))
    return shp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory", type=int, default=0, help="also measure peak RSS at N parcels")
    args = ap.parse_args()
    if not shutil.which("ogr2ogr"):
        sys.exit("ogr2ogr missing: apt-get install -y gdal-bin")
    port = int(os.environ.get("PLANNING_DB_PORT", "55432"))
    sh([*PLANNING, "db", "up"])
    shp = demo_file(args.parcels)
    ours, theirs = [], []
    for r in range(args.rounds):
        db = fresh_db(port)
        url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{db}"
        env = {**os.environ, "PLANNING_DATABASE_URL": url}
        sh([*PLANNING, "db", "migrate"], env)
        pg = f"PG:host=127.0.0.1 port={port} user=postgres dbname={db}"
        ogr = [
            "ogr2ogr", "-f", "PostgreSQL", pg, str(shp), "-nln", "ogr_parcels",
            "-t_srs", "EPSG:4326", "-nlt", "PROMOTE_TO_MULTI", "-lco", "GEOMETRY_NAME=geom",
            "--config", "PG_USE_COPY", "YES",
        ]
        mine = [*PLANNING, "ingest", "parcels", str(shp), "--publish", "--json"]
        first, second = (ogr, mine) if r % 2 == 0 else (mine, ogr)
        t1 = sh(first, env)
        t2 = sh(second, env)
        t_ogr, t_ours = (t1, t2) if first is ogr else (t2, t1)
        theirs.append(t_ogr)
        ours.append(t_ours)
        print(f"round {r + 1}: ogr2ogr {t_ogr:.2f} s, planning ingest {t_ours:.2f} s", flush=True)
        drop_db(port, db)
    m_ours, m_ogr = statistics.median(ours), statistics.median(theirs)
    print()
    print(f"| {args.parcels} parcels | median wall time (s) | runs |")
    print("|---|---|---|")
    print(f"| ogr2ogr -f PostgreSQL (COPY) | {m_ogr:.2f} | {', '.join(f'{t:.2f}' for t in theirs)} |")
    print(f"| planning ingest parcels (validation included) | {m_ours:.2f} | "
          f"{', '.join(f'{t:.2f}' for t in ours)} |")
    print(f"| ratio ours / ogr2ogr | {m_ours / m_ogr:.2f}× | |")
    if args.memory:
        big = demo_file(args.memory)
        db = fresh_db(port)
        url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{db}"
        env = {**os.environ, "PLANNING_DATABASE_URL": url}
        sh([*PLANNING, "db", "migrate"], env)
        proc = subprocess.run(
            ["/usr/bin/time", "-v", *PLANNING, "ingest", "parcels", str(big), "--publish",
             "--json"],
            env=env, capture_output=True, text=True, check=False,
        )
        drop_db(port, db)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", proc.stderr)
        if proc.returncode != 0 or not rss:
            sys.exit(f"memory run failed: {proc.stderr[-1500:]}")
        print(f"\npeak RSS loading {args.memory} parcels: {int(rss.group(1)) / 1024:.0f} MB "
              f"(wall {wall.group(1) if wall else '?'})")


if __name__ == "__main__":
    main()
