"""Database engines and migrations."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine, create_engine

from planning.settings import PROJECT_ROOT, Settings


def make_engine(url: str, *, pool_size: int = 5, application_name: str = "planning") -> Engine:
    """Build an engine with bounded pool waits and a statement timeout."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=10,
        pool_pre_ping=True,
        connect_args={"application_name": application_name, "connect_timeout": 5},
    )


def alembic_config(url: str) -> Config:
    """Return an Alembic config for the project's migrations pointed at ``url``."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(Path(PROJECT_ROOT) / "alembic"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (PostGIS created when missing)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def database_url(settings: Settings) -> str:
    """Return the URL everything uses: the setting, or the local cluster's."""
    return settings.resolved_database_url()
