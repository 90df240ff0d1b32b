"""Shared helpers of the HTTP benchmarks: bench database, servers, wrk, pgbench, machine facts."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
LUA = BENCH / "lua"
VENV_BIN = Path(sys.executable).parent
TIPG_VENV = BENCH / ".venv-tipg"
TIPG_PINS = ["tipg==1.6.1", "uvicorn[standard]==0.54.0"]
DB_PORT = int(os.environ.get("PLANNING_DB_PORT", "55432"))
HOST = "127.0.0.1"


def log(msg: str) -> None:
    """Say what is happening on stderr (stdout carries the results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def need(tool: str, hint: str) -> None:
    """Exit with an install hint when a command-line tool is missing."""
    if not shutil.which(tool):
        sys.exit(f"{tool} missing: {hint}")


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command, fail loudly, return its stdout."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-1000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def admin_query(sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
    """Run one statement on the local cluster (autocommit) and return its rows."""
    conn = psycopg2.connect(host=HOST, port=DB_PORT, user="postgres", dbname=dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def sqlalchemy_url(db: str) -> str:
    """Return the PLANNING_DATABASE_URL of a database on the local cluster."""
    return f"postgresql+psycopg2://postgres@{HOST}:{DB_PORT}/{db}"


def ensure_demo_db(db: str, parcels: int) -> None:
    """Create, migrate and load the demo into a dedicated bench database unless it is there."""
    run([str(VENV_BIN / "planning"), "db", "up"])
    exists = admin_query(f"SELECT 1 FROM pg_database WHERE datname = '{db}'")
    if exists:
        n = admin_query("SELECT count(*) FROM planning.parcel", db)[0][0]
        if n == parcels:
            log(f"bench database {db} ready ({n} parcels)")
            return
        sys.exit(f"database {db} holds {n} parcels, not {parcels}: drop it or use --db")
    log(f"creating bench database {db} with the {parcels}-parcel demo (a few minutes)")
    admin_query(f'CREATE DATABASE "{db}"')
    env = {**os.environ, "PLANNING_DATABASE_URL": sqlalchemy_url(db)}
    run([str(VENV_BIN / "planning"), "db", "migrate"], env)
    out = OUT / f"demo{parcels}"
    run([str(VENV_BIN / "planning"), "demo", "--parcels", str(parcels), "--out", str(out)], env)
    admin_query("VACUUM ANALYZE", db)


def extent(db: str, table: str = "zone") -> tuple[float, float, float, float]:
    """Return the lon/lat extent of a table's geometries."""
    row = admin_query(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        f"FROM (SELECT ST_Extent(geom) AS e FROM planning.{table}) s",
        db,
    )[0]
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def ensure_tipg() -> Path:
    """Create tipg's own virtualenv (bench/.venv-tipg, gitignored) when missing."""
    uvicorn = TIPG_VENV / "bin" / "uvicorn"
    if not uvicorn.exists():
        log(f"installing {' '.join(TIPG_PINS)} into {TIPG_VENV}")
        run(["python3", "-m", "venv", str(TIPG_VENV)])
        run([str(TIPG_VENV / "bin" / "pip"), "install", "-q", *TIPG_PINS])
    return uvicorn


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET a URL; return the status and the body as sent (no decompression)."""
    return _get(url, headers)


@contextmanager
def server(name: str, cmd: list[str], env: dict[str, str], port: int, probe: str) -> Iterator[str]:
    """Start a server in its own process group, wait until it answers, stop it afterwards."""
    OUT.mkdir(parents=True, exist_ok=True)
    logfile = (OUT / f"{name}.log").open("w")
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                sys.exit(f"{name} exited at start; see {logfile.name}")
            try:
                status, _ = _get(base + probe, timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"{name} did not answer {probe} within 60 s; see {logfile.name}")
            time.sleep(0.3)
        # Every worker must be up (each opens its pool on first use): a few more probes.
        for _ in range(20):
            _get(base + probe, timeout=5)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        logfile.close()


def _ours_env(db: str, **extra: str) -> dict[str, str]:
    """The environment of this project's server on a bench database (no quota in the way)."""
    return {
        **os.environ,
        "PLANNING_DATABASE_URL": sqlalchemy_url(db),
        "PLANNING_ANON_QUOTA_PER_MIN": "1000000000",
        **extra,
    }


def load_args(ap: argparse.ArgumentParser) -> None:
    """Add the options every HTTP load benchmark takes."""
    ap.add_argument("--db", default="bench_api")
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)


def ours(db: str, port: int, workers: int = 2, **extra: str) -> Any:
    """Serve this project with `planning serve` (httptools, uvloop)."""
    env = _ours_env(db, **extra)
    cmd = [str(VENV_BIN / "planning"), "serve", "--workers", str(workers), "--port", str(port)]
    return server("planning", cmd, env, port, "/healthz")


def ours_h11(db: str, port: int, workers: int = 2) -> Any:
    """Serve this project with plain uvicorn (h11, asyncio): the TCP_NODELAY control."""
    env = _ours_env(db)
    cmd = [
        str(VENV_BIN / "uvicorn"),
        "api.main:create_app",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--http",
        "h11",
        "--loop",
        "asyncio",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return server("planning-h11", cmd, env, port, "/healthz")


def tipg(db: str, port: int, workers: int = 2) -> Any:
    """Serve the same database with tipg (uvicorn[standard], its own virtualenv)."""
    uvicorn = ensure_tipg()
    env = {
        **os.environ,
        "TIPG_DB_SCHEMAS": '["planning"]',
        "DATABASE_URL": f"postgresql://postgres@{HOST}:{DB_PORT}/{db}",
    }
    cmd = [
        str(uvicorn),
        "tipg.main:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return server("tipg", cmd, env, port, "/collections/planning.zone")


WRK_JSON = re.compile(r"^WRK_JSON (\{.*\})$", re.M)


def wrk(
    base: str,
    script: str,
    args: list[str],
    connections: int,
    seconds: float,
    threads: int | None = None,
    headers: list[str] | None = None,
) -> dict[str, Any]:
    """Run wrk with a Lua script from bench/lua; return its JSON summary (ms, req/s)."""
    threads = threads or min(2, connections)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        script,
    ]
    for h in headers or []:
        cmd += ["-H", h]
    cmd += [base, "--", *args]
    env = {**os.environ, "LUA_PATH": f"{LUA}/?.lua;;"}
    out = run(cmd, env=env, cwd=LUA)
    m = WRK_JSON.search(out)
    if not m:
        sys.exit(f"no summary from wrk:\n{out[-2000:]}")
    result: dict[str, Any] = json.loads(m.group(1))
    if result["non2xx"] or result["errors"]:
        log(
            f"warning: wrk {script} {args[:1]}: "
            f"{result['non2xx']} non-2xx, {result['errors']} errors"
        )
    return result


def pgbench(
    db: str, script: Path, clients: int, seconds: float, mode: str = "simple"
) -> dict[str, float]:
    """Run pgbench with a custom script; return transactions/s and mean latency (ms)."""
    threads = min(2, clients)
    cmd = [
        "pgbench",
        "-h",
        HOST,
        "-p",
        str(DB_PORT),
        "-U",
        "postgres",
        "-n",
        "-M",
        mode,
        "-c",
        str(clients),
        "-j",
        str(threads),
        "-T",
        f"{seconds:g}",
        "-f",
        str(script),
        db,
    ]
    out = run(cmd)
    tps = re.search(r"tps = ([\d.]+)", out)
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    if not tps or not lat:
        sys.exit(f"unexpected pgbench output:\n{out}")
    return {"tps": float(tps.group(1)), "latency_ms": float(lat.group(1))}


def tile_range(z: int, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Return the x/y tile ranges (inclusive) covering a lon/lat box at zoom z."""

    def tx(lon: float) -> int:
        return int((lon + 180.0) / 360.0 * 2**z)

    def ty(lat: float) -> int:
        r = math.radians(lat)
        return int((1.0 - math.asinh(math.tan(r)) / math.pi) / 2.0 * 2**z)

    return tx(box[0]), ty(box[3]), tx(box[2]), ty(box[1])


def machine(db: str) -> dict[str, str]:
    """Describe the machine and the software versions measured."""
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with open("/proc/meminfo", encoding="utf-8") as fh:
        kb = int(fh.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    version = admin_query(
        "SELECT split_part(version(), ' on ', 1) || ', PostGIS ' || postgis_lib_version()", db
    )[0][0]
    return {
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": str(version),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0],
        "load": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def median(values: list[float]) -> float:
    """Return the median (of one or more values)."""
    return statistics.median(values)


def save(name: str, data: dict[str, Any]) -> Path:
    """Write a result file under bench/out/ and return its path."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
