"""Fixtures of the production tests: throwaway PostgreSQL clusters made with the project's own
LocalCluster (never the shared one: these tests stop and restart theirs), the service as a real
uvicorn process, Redis as a real redis-server. Every process and cluster is stopped at teardown,
even when a test fails."""

from __future__ import annotations

import contextlib
import math
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from ingest.demo_cli import load_demo
from planning.db import migrate
from planning.localdb import SERVICE_USER, LocalCluster, _as_service_user, _bindir, _run
from planning.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "production-tests-secret"
DEMO_PARCELS = 200
# The Citadel of Huế: inside the demo plan's relic lot.
CITADEL_LONLAT = (107.5776, 16.4698)
TILE_ZOOM = 16


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """Return the z/x/y of the web-mercator tile holding a point."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return z, x, y


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a database with a short-lived connection; return the rows."""
    u = make_url(url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, dbname=u.database, connect_timeout=5
    )
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


@dataclass
class Throwaway:
    """A LocalCluster in a test's folder, on its own port, with the migrated 'planning' db."""

    cluster: LocalCluster
    settings: Settings

    @property
    def url(self) -> str:
        return self.cluster.url()

    @property
    def port(self) -> int:
        return self.cluster.port


def _stop_cluster(cluster: LocalCluster) -> None:
    """Stop a cluster whatever state it is in (fast, then immediate)."""
    if not cluster.initialised():
        return
    try:
        cluster.stop()
    except Exception:
        _run(
            [str(_bindir() / "pg_ctl"), "-D", str(cluster.pgdata), "-m", "immediate", "stop"],
            check=False,
        )


def make_cluster(folder: Path, *, demo: bool = True) -> Throwaway:
    """Create, start and migrate a throwaway cluster; load the small Huế demo into it."""
    settings = Settings(data_dir=folder, db_port=free_port())
    cluster = LocalCluster(settings)
    cluster.up()
    settings = Settings(data_dir=folder, db_port=cluster.port, database_url=cluster.url())
    migrate(cluster.url())
    if demo:
        load_demo(settings, parcels=DEMO_PARCELS, out=folder / "demo", echo=lambda *a: None)
    return Throwaway(cluster, settings)


@pytest.fixture
def cluster_root() -> Iterator[Path]:
    """Return a folder for clusters that the postgres user can reach, removed at teardown.

    Not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to mode 700 whenever a
    session starts (other suites run concurrently), and the server could then not be restarted."""
    folder = Path(tempfile.mkdtemp(prefix="planning-production-"))
    folder.chmod(0o711)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cluster_factory(cluster_root: Path) -> Iterator[Callable[..., Throwaway]]:
    """Return a maker of throwaway clusters; every one made is stopped at teardown."""
    made: list[LocalCluster] = []

    def make(name: str = "primary", demo: bool = True) -> Throwaway:
        folder = cluster_root / name
        # Registered before it starts, so that a failure half-way still stops it.
        probe = LocalCluster(Settings(data_dir=folder, db_port=0))
        made.append(probe)
        t = make_cluster(folder, demo=demo)
        made[-1] = t.cluster
        return t

    yield make
    for c in reversed(made):
        _stop_cluster(c)


def make_replica(primary: Throwaway, folder: Path) -> LocalCluster:
    """Make a streaming replica of ``primary`` with pg_basebackup -R and start it on a port of
    its own; return it as a LocalCluster (its start and stop work on the copied folder)."""
    folder.mkdir(parents=True)
    if _as_service_user():
        pw = pwd.getpwnam(SERVICE_USER)
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    folder.chmod(0o700)
    pgdata = folder / "pgdata"
    _run(
        [
            str(_bindir() / "pg_basebackup"),
            "-D",
            str(pgdata),
            "-R",  # standby.signal and primary_conninfo: a streaming standby
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-X",
            "stream",
            "-c",
            "fast",
        ]
    )
    port = free_port()
    with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as fh:
        # The copied configuration names the primary's port; the last setting wins.
        fh.write(f"\n# streaming replica for the production tests\nport = {port}\n")
    replica = LocalCluster(Settings(data_dir=folder, db_port=port))
    replica.start()
    return replica


@pytest.fixture
def replica_factory(cluster_root: Path) -> Iterator[Callable[[Throwaway], LocalCluster]]:
    """Return a maker of streaming replicas; every one made is stopped at teardown."""
    made: list[LocalCluster] = []

    def make(primary: Throwaway) -> LocalCluster:
        folder = cluster_root / f"replica{len(made)}"
        made.append(LocalCluster(Settings(data_dir=folder, db_port=0)))
        made[-1] = make_replica(primary, folder)
        return made[-1]

    yield make
    for c in reversed(made):
        _stop_cluster(c)


def clean_env(**extra: str) -> dict[str, str]:
    """Return the environment of a child process: ours less PLANNING_*, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNING_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _kill_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate a process started in its own session and everything it started."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    # Workers of a killed master may outlive it: the group goes in any case.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


class Service:
    """The API as a real uvicorn process (its own process group) on a free port."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = log.open("wb")
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
        ]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        """Return the service's log."""
        return self.log_path.read_text(errors="replace")

    def wait_up(self, path: str = "/healthz", timeout: float = 60.0) -> None:
        """Wait until ``path`` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited:\n{self.log()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"service not up after {timeout} s:\n{self.log()[-4000:]}")

    def worker_pids(self) -> list[int]:
        """Return the pids of the worker processes (the master's children)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        pids = [int(p) for p in children.read_text().split()]
        # multiprocessing's resource tracker is a child too: keep the processes that serve.
        return [p for p in pids if "uvicorn" in _cmdline(p) or "spawn_main" in _cmdline(p)]

    def stop(self) -> None:
        _kill_group(self.proc)
        self._log.close()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _established() -> list[tuple[int, int, str]]:
    """Return (local port, remote port, inode) of every established TCP socket."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                f = line.split()
                if f[3] == "01":  # ESTABLISHED
                    local = int(f[1].rsplit(":", 1)[1], 16)
                    remote = int(f[2].rsplit(":", 1)[1], 16)
                    out.append((local, remote, f[9]))
    return out


def tcp_peers(pid: int) -> set[int]:
    """Return the remote ports of the established TCP connections a process holds."""
    inodes = _socket_inodes(pid)
    return {remote for _, remote, inode in _established() if inode in inodes}


def socket_owner(pids: list[int], local_port: int, remote_port: int) -> int | None:
    """Return which of ``pids`` holds the connection accepted on ``local_port`` from
    ``remote_port`` (the worker that serves a client's connection)."""
    inodes = {i for lp, rp, i in _established() if (lp, rp) == (local_port, remote_port)}
    for pid in pids:
        if inodes & _socket_inodes(pid):
            return pid
    return None


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Return a starter of services; every one started is stopped at teardown."""
    started: list[Service] = []

    def start(env: dict[str, str], workers: int = 1, name: str = "service") -> Service:
        s = Service(env, tmp_path / f"{name}-{len(started)}.log", workers)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


class RedisServer:
    """A redis-server on a free port, no persistence, in its own process group."""

    def __init__(self, folder: Path) -> None:
        import redis

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.client = redis.Redis(port=self.port, socket_timeout=2)
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the server (again, on the same port) and wait for its PING."""
        import redis

        with (self.folder / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.folder),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (its counters are gone: nothing is saved)."""
        self.client.close()
        if self.proc is not None:
            _kill_group(self.proc)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """Start a throwaway redis-server for one test."""
    server = RedisServer(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()
