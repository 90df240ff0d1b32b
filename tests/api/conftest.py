"""Fixtures of the API tests: one database loaded once with the hand-made dataset, an app on it,
a live uvicorn server for real HTTP clients, and a fresh database for tests that change data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.main import create_app
from planning.db import make_engine
from planning.settings import Settings
from tests.api import dataset

SECRET = "api-tests-secret"
BIG_QUOTA = 1_000_000


def _admin(url: str):  # type: ignore[no-untyped-def]
    u = make_url(url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname="postgres"
    )
    conn.autocommit = True
    return conn


def clone_database(server_url: str, template: str) -> tuple[str, str]:
    """Create a database from the migrated template; return its name and URL."""
    name = f"planning_api_{uuid.uuid4().hex[:10]}"
    admin = _admin(server_url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.close()
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop a test database."""
    admin = _admin(server_url)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def settings_for(url: str, **overrides: object) -> Settings:
    """Return the settings of an app on a test database (no quota in the way unless asked)."""
    values: dict[str, object] = {
        "database_url": url,
        "secret": SECRET,
        "anon_quota_per_min": BIG_QUOTA,
        "pool_size": 2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def api_db(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    """Load the hand-made dataset once into its own database; yield its URL and revision ids."""
    name, url = clone_database(server_url, template_db)
    engine = make_engine(url, pool_size=1)
    try:
        revisions = dataset.load_base(engine, tmp_path_factory.mktemp("api_data"))
    finally:
        engine.dispose()
    yield url, revisions
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def api_url(api_db: tuple[str, dict[str, int]]) -> str:
    """Return the URL of the shared, loaded database (read-only for tests)."""
    return api_db[0]


@pytest.fixture(scope="session")
def revisions(api_db: tuple[str, dict[str, int]]) -> dict[str, int]:
    """Return the revision ids of the shared dataset."""
    return api_db[1]


@pytest.fixture(scope="module")
def client(api_url: str) -> Iterator[TestClient]:
    """Return a client of an app on the shared database, lifespan running."""
    with TestClient(create_app(settings_for(api_url))) as c:
        yield c


@pytest.fixture
def fresh_db(server_url: str, template_db: str) -> Iterator[str]:
    """Return the URL of an empty migrated database for one test."""
    name, url = clone_database(server_url, template_db)
    yield url
    drop_database(server_url, name)


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`planning serve` in a subprocess on a free port."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from planning.cli import main; main()",
                "serve",
                "--port",
                str(self.port),
                *args,
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.log_path = log

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


LIVE_QUOTA = 200


@pytest.fixture(scope="module")
def live_server(api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Run `planning serve --workers 2` on the shared database (anonymous quota LIVE_QUOTA per
    minute and worker)."""
    env = dict(os.environ)
    env.pop("PLANNING_DEBUG", None)
    env.update(
        PLANNING_DATABASE_URL=api_url,
        PLANNING_SECRET=SECRET,
        PLANNING_ANON_QUOTA_PER_MIN=str(LIVE_QUOTA),
        PLANNING_POOL_SIZE="2",
    )
    log = tmp_path_factory.mktemp("live") / "server.log"
    server = LiveServer(env, log, "--host", "127.0.0.1", "--workers", "2")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
