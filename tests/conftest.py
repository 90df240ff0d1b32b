"""Shared fixtures: a real PostGIS (the local cluster, or the server PLANNING_DATABASE_URL names),
a migrated template database, and a fresh database per test cloned from it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from planning.cli import _register_plugins, cli
from planning.db import make_engine, migrate
from planning.localdb import LocalCluster
from planning.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
_register_plugins()


def _server_url() -> str:
    settings = Settings()
    if settings.database_url:
        return settings.database_url
    LocalCluster(settings).up()
    return settings.resolved_database_url()


def _admin(url: str):  # type: ignore[no-untyped-def]
    u = make_url(url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname="postgres"
    )
    conn.autocommit = True
    return conn


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> str:
    """Return a URL on the test server (its database is not used directly)."""
    return _server_url()


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """Migrate a template database once per session."""
    name = f"planning_tpl_{uuid.uuid4().hex[:8]}"
    admin = _admin(server_url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(server_url, name)
    migrate(url)
    yield name
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@contextmanager
def fresh_database(server_url: str, template_db: str) -> Iterator[str]:
    """Copy the migrated template into a new database; drop it when done; yield its URL."""
    name = f"planning_test_{uuid.uuid4().hex[:10]}"
    admin = _admin(server_url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        yield _with_db(server_url, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def db_url(server_url: str, template_db: str) -> Iterator[str]:
    """Create a fresh migrated database for one test and drop it afterwards."""
    with fresh_database(server_url, template_db) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """Return an engine on the test's database."""
    eng = make_engine(db_url, pool_size=2)
    yield eng
    eng.dispose()


class Cli:
    """Run `planning ...` in-process against the test's database."""

    def __init__(self, db_url: str) -> None:
        self.env = {"PLANNING_DATABASE_URL": db_url}

    def __call__(self, *args: str, ok: bool | None = True) -> Result:
        runner = CliRunner()
        result = runner.invoke(cli, list(args), env=self.env, obj={}, catch_exceptions=False)
        if ok is True:
            assert result.exit_code == 0, result.output
        elif ok is False:
            assert result.exit_code != 0, result.output
        return result


@pytest.fixture
def run(db_url: str) -> Cli:
    """Return a CLI runner bound to the test's database."""
    return Cli(db_url)


@pytest.fixture
def subprocess_env(db_url: str) -> dict[str, str]:
    """Return the environment for running `planning` as a separate process."""
    env = dict(os.environ)
    env["PLANNING_DATABASE_URL"] = db_url
    env.pop("PLANNING_DEBUG", None)
    return env
