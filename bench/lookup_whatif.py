"""What-if for the lookup statement: subdivided geometries and server-side prepared statements.

Usage: .venv/bin/python bench/lookup_whatif.py [--db bench_api] [--points 2000] [--seconds 10]

Builds a scratch schema `bench_proto` in the bench database holding ST_Subdivide'd pieces of the
zones and red lines (at most 32 vertices, GiST on the lon/lat box), checks on random points that
bench/sql/lookup_point_pieces.sql answers exactly as planning/sql/lookup_point.sql, then runs
both with pgbench in simple mode (what psycopg2 does: parse and plan every time) and prepared
mode. Drops the scratch schema at the end. Nothing in the service changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import time
from typing import Any

import benchlib as B
import psycopg2
from lookup_bench import SQL, pgbench_script

from planning.location import from_lonlat
from planning.lookup import BOUNDARY_TOLERANCE_M, red_line_box_degrees

PIECES_SQL = B.BENCH / "sql" / "lookup_point_pieces.sql"
BUILD = """
DROP SCHEMA IF EXISTS bench_proto CASCADE;
CREATE SCHEMA bench_proto;
CREATE TABLE bench_proto.zone_piece AS
  SELECT z.id AS zone_id, z.revision_id, s.g AS geom_native,
         ST_Transform(ST_SetSRID(s.g, r.srid), 4326) AS geom
  FROM planning.zone z JOIN planning.revision r ON r.id = z.revision_id,
  LATERAL ST_Subdivide(z.geom_native, 32) AS s(g);
CREATE INDEX ON bench_proto.zone_piece USING gist (geom);
CREATE TABLE bench_proto.red_line_piece AS
  SELECT rl.id AS red_line_id, rl.revision_id, s.g AS geom_native,
         ST_Transform(ST_SetSRID(s.g, r.srid), 4326) AS geom
  FROM planning.red_line rl JOIN planning.revision r ON r.id = rl.revision_id,
  LATERAL ST_Subdivide(rl.geom_native, 32) AS s(g);
CREATE INDEX ON bench_proto.red_line_piece USING gist (geom);
ANALYZE bench_proto.zone_piece;
ANALYZE bench_proto.red_line_piece;
"""


def pyformat(sql: str) -> str:
    """Turn :name parameters into psycopg2's %(name)s (leaving :: casts alone)."""
    return re.sub(r"(?<!:):([a-z_]+)\b", r"%(\1)s", sql.replace("%", "%%"))


def same_answers(db: str, n: int, box: tuple[float, float, float, float]) -> dict[str, Any]:
    """Run both statements at n random points; count differing rows and time them."""
    cur_sql, new_sql = (pyformat(p.read_text(encoding="utf-8")) for p in (SQL, PIECES_SQL))
    conn = psycopg2.connect(host=B.HOST, port=B.DB_PORT, user="postgres", dbname=db)
    rnd = random.Random(46)
    diff, t_cur, t_new, zones, reds = 0, 0.0, 0.0, 0, 0
    try:
        with conn.cursor() as cur:
            for _ in range(n):
                lon = box[0] + rnd.random() * (box[2] - box[0])
                lat = box[1] + rnd.random() * (box[3] - box[1])
                loc = from_lonlat(lon, lat, (102.0, 8.0, 110.0, 23.5))
                p = {
                    "lon": loc.lon,
                    "lat": loc.lat,
                    "x": loc.x,
                    "y": loc.y,
                    "epsg": loc.epsg,
                    "d": dt.date.today(),
                    "tol": BOUNDARY_TOLERANCE_M,
                    "deg": red_line_box_degrees(loc.lat),
                    "guessed": loc.zone_guessed,
                }
                t0 = time.perf_counter()
                cur.execute(cur_sql, p)
                a = cur.fetchone()
                t1 = time.perf_counter()
                cur.execute(new_sql, p)
                b = cur.fetchone()
                t2 = time.perf_counter()
                t_cur += t1 - t0
                t_new += t2 - t1
                diff += a != b
                zones += len(a[0]) if a else 0
                reds += a is not None and a[2] is not None
    finally:
        conn.close()
    return {
        "points": n,
        "differing": diff,
        "zones_found": zones,
        "with_red_line": reds,
        "mean_ms_current": t_cur / n * 1000,
        "mean_ms_pieces": t_new / n * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="bench_api")
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    box = B.extent(args.db)
    B.log("building bench_proto (subdivided zones and red lines)")
    B.admin_query(BUILD, args.db)
    counts = B.admin_query(
        "SELECT (SELECT count(*) FROM planning.zone),"
        " (SELECT count(*) FROM bench_proto.zone_piece),"
        " (SELECT count(*) FROM planning.red_line),"
        " (SELECT count(*) FROM bench_proto.red_line_piece)",
        args.db,
    )[0]
    res: dict[str, Any] = {"machine": B.machine(args.db), "pieces": counts}
    try:
        B.log(f"comparing answers at {args.points} random points")
        res["check"] = same_answers(args.db, args.points, box)
        B.log(str(res["check"]))
        scripts = {
            "current": pgbench_script(SQL, B.OUT / "pgbench_whatif_current.sql", box),
            "pieces": pgbench_script(PIECES_SQL, B.OUT / "pgbench_whatif_pieces.sql", box),
        }
        pg: dict[str, dict[str, float]] = {}
        for mode in ("simple", "prepared"):
            for clients in (1, args.connections):
                for name, script in scripts.items():
                    key = f"{name}_{mode}_c{clients}"
                    pg[key] = B.pgbench(args.db, script, clients, args.seconds, mode)
                    B.log(f"{key}: {pg[key]}")
        res["pgbench"] = pg
    finally:
        B.admin_query("DROP SCHEMA IF EXISTS bench_proto CASCADE", args.db)
    B.save("lookup_whatif", res)
    c = res["check"]
    print(
        f"answers at {c['points']} random points: {c['differing']} differ "
        f"({c['zones_found']} zones, {c['with_red_line']} red lines found)\n"
    )
    print("| lookup statement, random point | simple: tps c1 / c32 | prepared: tps c1 / c32 |")
    print("|---|---|---|")
    for name in ("current", "pieces"):
        s1, s32 = pg[f"{name}_simple_c1"], pg[f"{name}_simple_c{args.connections}"]
        p1, p32 = pg[f"{name}_prepared_c1"], pg[f"{name}_prepared_c{args.connections}"]
        print(
            f"| {name} | {s1['tps']:.0f} ({s1['latency_ms']:.2f} ms) / {s32['tps']:.0f} | "
            f"{p1['tps']:.0f} ({p1['latency_ms']:.2f} ms) / {p32['tps']:.0f} |"
        )


if __name__ == "__main__":
    main()
