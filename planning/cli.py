"""The `planning` command: the core's own subcommands plus those the other packages register."""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import entry_points
from typing import Any

import click

from planning.errors import PlanningError
from planning.settings import Settings

ENTRY_POINT_GROUP = "planning.commands"


def fail(message: str, code: int = 1) -> None:
    """Print one clear line on stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class PlanningGroup(click.Group):
    """A click group that turns every failure into one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except PlanningError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            if os.environ.get("PLANNING_DEBUG"):
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            fail(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
        return None


@click.group(cls=PlanningGroup)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Tra cứu thông tin quy hoạch — planning-information lookup service."""
    ctx.ensure_object(dict)
    if "settings" not in ctx.obj:
        ctx.obj["settings"] = Settings()


def settings_of(ctx: click.Context) -> Settings:
    """Return the settings the root command read."""
    root = ctx.find_root()
    obj = root.obj or {}
    settings = obj.get("settings")
    return settings if isinstance(settings, Settings) else Settings()


@cli.group()
def db() -> None:
    """Manage the database: the local PostGIS cluster and migrations."""


@db.command("up")
@click.pass_context
def db_up(ctx: click.Context) -> None:
    """Create (first time) and start the local cluster; idempotent."""
    from planning.localdb import LocalCluster

    st = LocalCluster(settings_of(ctx)).up()
    click.echo(f"local PostGIS running on port {st.port} (data: {st.data_dir})")


@db.command("down")
@click.pass_context
def db_down(ctx: click.Context) -> None:
    """Stop the local cluster."""
    from planning.localdb import LocalCluster

    LocalCluster(settings_of(ctx)).stop()
    click.echo("local PostGIS stopped")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def db_status(ctx: click.Context, as_json: bool) -> None:
    """Tell whether the local cluster exists and runs (exit 3 when it is not running)."""
    from planning.localdb import LocalCluster

    settings = settings_of(ctx)
    st = LocalCluster(settings).status()
    info = {
        "data_dir": str(st.data_dir),
        "port": st.port,
        "initialised": st.initialised,
        "running": st.running,
        "url": st.url,
        "database_url_setting": bool(settings.database_url),
    }
    if as_json:
        click.echo(json.dumps(info))
    else:
        state = "running" if st.running else ("stopped" if st.initialised else "not created")
        click.echo(f"local cluster: {state} (port {st.port}, data {st.data_dir})")
        if settings.database_url:
            click.echo("PLANNING_DATABASE_URL is set: the service uses that database instead")
    if not st.running:
        sys.exit(3)


@db.command("url")
@click.pass_context
def db_url(ctx: click.Context) -> None:
    """Print the database URL in use."""
    click.echo(settings_of(ctx).resolved_database_url())


@db.command("migrate")
@click.pass_context
def db_migrate(ctx: click.Context) -> None:
    """Create PostGIS and run the migrations up to the newest schema."""
    from planning.db import migrate

    settings = settings_of(ctx)
    migrate(settings.resolved_database_url())
    click.echo("database migrated to the newest schema")


def _register_plugins() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        register = ep.load()
        register(cli)


def main() -> None:
    """Run the CLI."""
    _register_plugins()
    cli(obj={})


if __name__ == "__main__":
    main()
