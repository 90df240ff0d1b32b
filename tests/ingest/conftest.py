"""Ingest tests: quiet GDAL's writer warnings, and one database shared by tests that must write
nothing (each still checks that they did not)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from planning.db import make_engine
from tests.conftest import Cli, fresh_database

HERE = Path(__file__).resolve().parent
QUIET = (
    "ignore:Normalized/laundered field name",
    "ignore:Column names longer than 10",
    "ignore:Value .* of field .* has been truncated",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the field-name truncation warnings of shapefile writers in these tests."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            for spec in QUIET:
                item.add_marker(pytest.mark.filterwarnings(spec))


@pytest.fixture(scope="module")
def untouched_db_url(server_url: str, template_db: str) -> Iterator[str]:
    """Create one migrated database for a module whose tests must leave it empty."""
    with fresh_database(server_url, template_db) as url:
        yield url


@pytest.fixture(scope="module")
def untouched_engine(untouched_db_url: str) -> Iterator[Engine]:
    """Return an engine on the shared database."""
    eng = make_engine(untouched_db_url, pool_size=1)
    yield eng
    eng.dispose()


@pytest.fixture
def untouched_run(untouched_db_url: str) -> Cli:
    """Return a CLI runner bound to the shared database."""
    return Cli(untouched_db_url)
