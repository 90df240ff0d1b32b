"""Benchmark /v1/lookup and /v1/parcels against tipg's items endpoint on the same database.

Usage: .venv/bin/python bench/lookup_bench.py [--db bench_api] [--parcels 200000]
           [--seconds 10] [--rounds 3]

Both servers run with 2 workers on 127.0.0.1 at the same time; wrk (bench/lua/point.lua) sends
a random point of the data's extent per request: to `/v1/lookup?lon=&lat=` and to tipg's
`/collections/planning.zone/items?bbox=<1 m box>&limit=10`. Rounds alternate between the two
servers; medians are reported. pgbench runs the same SQL (planning/sql/lookup_point.sql) with
random points, so the per-request overhead above the database shows. A plain-uvicorn (h11)
control run shows what the TCP_NODELAY delay would look like.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import benchlib as B
from pyproj import Transformer

ROOT = B.ROOT
SQL = ROOT / "planning" / "sql" / "lookup_point.sql"
PORT_OURS, PORT_TIPG, PORT_H11 = 18101, 18102, 18103


def parcel_keys(db: str, n: int = 5000) -> Path:
    """Write n random existing parcel keys (commune/sheet/parcel) for parcel.lua."""
    rows = B.admin_query(
        "SELECT commune_code || '/' || sheet || '/' || parcel_no FROM planning.parcel "
        f"TABLESAMPLE SYSTEM (10) REPEATABLE (46) LIMIT {n}",
        db,
    )
    path = B.OUT / "parcel_keys.txt"
    path.write_text("".join(f"{r[0]}\n" for r in rows), encoding="utf-8")
    return path


def pgbench_script(sql: Path, out: Path, box: tuple[float, float, float, float]) -> Path:
    """Write a pgbench script running a lookup statement at a random point of the extent.

    The app sends lon/lat plus the point's VN-2000 x/y (EPSG:9214 here). pgbench has no
    projection, so x/y come from an affine fit of the projection over the extent (error well
    under a metre across a few km: the same work for the database)."""
    tf = Transformer.from_crs(4326, 9214, always_xy=True)
    (x00, y00), (x10, y10), (x01, y01) = (
        tf.transform(box[0], box[1]),
        tf.transform(box[2], box[1]),
        tf.transform(box[0], box[3]),
    )
    dlon, dlat = box[2] - box[0], box[3] - box[1]
    ax, bx, cx = x00, (x10 - x00) / dlon, (x01 - x00) / dlat
    ay, by, cy = y00, (y10 - y00) / dlon, (y01 - y00) / dlat
    head = (
        f"\\set lon {box[0]!r} + random(0, 1000000) * {dlon / 1e6!r}\n"
        f"\\set lat {box[1]!r} + random(0, 1000000) * {dlat / 1e6!r}\n"
        f"\\set x {ax!r} + (:lon - {box[0]!r}) * {bx!r} + (:lat - {box[1]!r}) * {cx!r}\n"
        f"\\set y {ay!r} + (:lon - {box[0]!r}) * {by!r} + (:lat - {box[1]!r}) * {cy!r}\n"
    )
    deg = 100.0 / (111_000.0 * 0.958) * 1.2  # red_line_box_degrees at lat ≈ 16.5
    text = sql.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    values = {"epsg": "9214", "d": "CURRENT_DATE", "tol": "0.005", "deg": repr(deg)}
    values["radius"] = "100.0"
    body = re.sub(r"(?<!:):(epsg|d|tol|deg|radius)\b", lambda m: values[m.group(1)], body)
    out.write_text(head + body + ";\n", encoding="utf-8")
    return out


ZONE_POINT = """SELECT id, code, lot FROM planning.zone
WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
"""


def pgbench_scripts(box: tuple[float, float, float, float]) -> dict[str, Path]:
    """Write pgbench scripts: the lookup statement and a bare zone point lookup."""
    zone_sql = B.OUT / "zone_point.sql"
    zone_sql.write_text(ZONE_POINT, encoding="utf-8")
    return {
        "lookup": pgbench_script(SQL, B.OUT / "pgbench_lookup.sql", box),
        "zone_point": pgbench_script(zone_sql, B.OUT / "pgbench_zone_point.sql", box),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    B.load_args(ap)
    ap.add_argument(
        "--pool-sizes",
        default="2,4,8",
        help="also compare PLANNING_POOL_SIZE values at 32 connections (empty: skip)",
    )
    args = ap.parse_args()
    B.need("wrk", "apt-get install -y wrk")
    B.need("pgbench", "apt-get install -y postgresql-client")
    B.ensure_demo_db(args.db, args.parcels)
    B.ensure_tipg()
    box = B.extent(args.db)
    pbox = [f"{v:.7f}" for v in box]
    keys = parcel_keys(args.db)
    scripts = pgbench_scripts(box)
    res: dict[str, Any] = {"machine": B.machine(args.db), "extent": box, "args": vars(args)}
    s, c = args.seconds, args.connections
    runs: dict[str, list[dict[str, Any]]] = {}

    def record(key: str, r: dict[str, Any]) -> None:
        runs.setdefault(key, []).append(r)
        B.log(f"{key}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.1f} ms")

    with B.ours(args.db, PORT_OURS) as ours, B.tipg(args.db, PORT_TIPG) as tipg:
        B.log("warming up both servers")
        B.wrk(ours, "point.lua", ["ours", *pbox], c, 3)
        B.wrk(tipg, "point.lua", ["tipg", *pbox], c, 3)
        B.wrk(ours, "parcel.lua", [str(keys)], c, 2)
        for r in range(args.rounds):
            B.log(f"round {r + 1}/{args.rounds}")
            record("lookup_c32", B.wrk(ours, "point.lua", ["ours", *pbox], c, s))
            record("tipg_c32", B.wrk(tipg, "point.lua", ["tipg", *pbox], c, s))
            record("lookup_c1", B.wrk(ours, "point.lua", ["ours", *pbox], 1, s / 2))
            record("tipg_c1", B.wrk(tipg, "point.lua", ["tipg", *pbox], 1, s / 2))
            record("parcel_c1", B.wrk(ours, "parcel.lua", [str(keys)], 1, s / 2))
            record("parcel_c32", B.wrk(ours, "parcel.lua", [str(keys)], c, s / 2))
            record("healthz_c1", B.wrk(ours, "path.lua", ["/healthz"], 1, 3))
    if args.pool_sizes:
        # The default pool against others: /v1/lookup at 32 connections, alternating rounds.
        sizes = [int(v) for v in args.pool_sizes.split(",")]
        B.log(f"pool sizes {sizes}: /v1/lookup at {c} connections")
        for _round in range(args.rounds):
            for i, size in enumerate(sizes):
                with B.ours(args.db, PORT_H11 + 1 + i, PLANNING_POOL_SIZE=str(size)) as url:
                    B.wrk(url, "point.lua", ["ours", *pbox], c, 2)
                    record(f"pool{size}_c32", B.wrk(url, "point.lua", ["ours", *pbox], c, s))
    with B.ours_h11(args.db, PORT_H11) as h11:
        B.log("control: plain uvicorn (h11) with 2 workers")
        record("h11_healthz_c1", B.wrk(h11, "path.lua", ["/healthz"], 1, 3))
    B.log("pgbench: the same statements straight on the database")
    pg: dict[str, dict[str, float]] = {}
    for name, script in scripts.items():
        for mode in ("simple", "prepared"):
            pg[f"{name}_{mode}_c{c}"] = B.pgbench(args.db, script, c, s, mode)
            pg[f"{name}_{mode}_c1"] = B.pgbench(args.db, script, 1, s / 2, mode)
            B.log(f"pgbench {name} {mode}: {pg[f'{name}_{mode}_c{c}']}")
    res["runs"] = runs
    res["pgbench"] = pg
    res["median"] = {
        k: {m: B.median([x[m] for x in v]) for m in ("rps", "p50_ms", "p99_ms")}
        for k, v in runs.items()
    }
    path = B.save("lookup", res)
    report(res, c)
    B.log(f"raw results in {path}")


def report(res: dict[str, Any], c: int) -> None:
    """Print the Markdown tables for bench/RESULTS.md."""
    m, pg = res["median"], res["pgbench"]

    def row(label: str, key: str) -> str:
        v = m[key]
        return f"| {label} | {v['rps']:.0f} | {v['p50_ms']:.2f} | {v['p99_ms']:.1f} |"

    print(
        f"| lookup, 2 workers, wrk, median of {len(res['runs']['lookup_c32'])} rounds "
        "| req/s | p50 ms | p99 ms |"
    )
    print("|---|---|---|---|")
    print(row(f"/v1/lookup, {c} connections", "lookup_c32"))
    print(row(f"tipg items bbox 1 m, {c} connections", "tipg_c32"))
    print(row("/v1/lookup, 1 connection", "lookup_c1"))
    print(row("tipg items, 1 connection", "tipg_c1"))
    print(row("/v1/parcels/{c}/{s}/{p} breakdown, 1 connection", "parcel_c1"))
    print(row(f"/v1/parcels/... breakdown, {c} connections", "parcel_c32"))
    print(row("/healthz, 1 connection (keep-alive)", "healthz_c1"))
    print(row("control: plain uvicorn h11 /healthz, 1 connection", "h11_healthz_c1"))
    ratio = m["lookup_c32"]["rps"] / m["tipg_c32"]["rps"]
    print(f"| ratio /v1/lookup ÷ tipg throughput at {c} connections | {ratio:.2f}× | | |")
    pools = sorted((k for k in m if k.startswith("pool")), key=lambda k: int(k[4:].split("_")[0]))
    if pools:
        print()
        print(f"| /v1/lookup, {c} connections, by PLANNING_POOL_SIZE | req/s | p50 ms | p99 ms |")
        print("|---|---|---|---|")
        for k in pools:
            print(row(f"pool size {k[4:].split('_')[0]} per worker", k))
    print()
    print("| pgbench, random point | tps | mean latency ms |")
    print("|---|---|---|")
    for k, v in pg.items():
        print(f"| {k} | {v['tps']:.0f} | {v['latency_ms']:.3f} |")


if __name__ == "__main__":
    main()
