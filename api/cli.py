"""`planning serve` and `planning keys`."""

from __future__ import annotations

import json
from datetime import datetime

import click
from sqlalchemy import Engine

from planning.settings import Settings


def register(root: click.Group) -> None:
    """Attach the serving and key subcommands to the root command."""

    @root.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
    @click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
    @click.option(
        "--proxy",
        "proxy_ips",
        help="trust X-Forwarded-For from these proxy addresses (comma-separated), so quotas "
        "count the real clients behind a reverse proxy",
    )
    def serve(host: str, port: int, workers: int, proxy_ips: str | None) -> None:
        """Serve the map and the API with uvicorn (httptools + uvloop)."""
        import uvicorn

        uvicorn.run(
            "api.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http="httptools",
            loop="uvloop",
            access_log=False,
            proxy_headers=bool(proxy_ips),
            forwarded_allow_ips=proxy_ips or None,
            server_header=False,
        )

    @root.group("keys")
    def keys() -> None:
        """Create, list and revoke API keys."""

    def _engine(ctx: click.Context) -> tuple[Settings, Engine]:
        from planning.cli import settings_of
        from planning.db import make_engine

        s = settings_of(ctx)
        return s, make_engine(s.resolved_database_url(), pool_size=1)

    @keys.command("create")
    @click.argument("name")
    @click.option("--quota", type=click.IntRange(1, 1_000_000), help="requests per minute")
    @click.pass_context
    def keys_create(ctx: click.Context, name: str, quota: int | None) -> None:
        """Create a key and print it once (only its hash is stored)."""
        from planning.keys import create_key, server_secret

        settings, engine = _engine(ctx)
        with engine.begin() as conn:
            key, info = create_key(
                conn, server_secret(settings), name, quota or settings.key_quota_per_min
            )
        click.echo(key)
        click.echo(
            f"key {info.prefix} for {info.name!r}, {info.quota_per_min} requests/min — "
            "store it now, it is not shown again",
            err=True,
        )

    @keys.command("list")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def keys_list(ctx: click.Context, as_json: bool) -> None:
        """List keys (prefix, name, quota, state)."""
        from planning.keys import list_keys

        _, engine = _engine(ctx)
        with engine.connect() as conn:
            rows = list_keys(conn)
        if as_json:
            click.echo(
                json.dumps(
                    rows,
                    default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
                    indent=2,
                )
            )
            return
        for r in rows:
            state = "revoked" if r["revoked_at"] else "active"
            click.echo(
                f"{r['id']:>4}  {r['prefix']}  {r['quota_per_min']:>7}/min  {state:8} {r['name']}"
            )

    @keys.command("revoke")
    @click.argument("key_id")
    @click.pass_context
    def keys_revoke(ctx: click.Context, key_id: str) -> None:
        """Revoke a key by id or prefix."""
        from planning.keys import revoke_key

        _, engine = _engine(ctx)
        with engine.begin() as conn:
            revoke_key(conn, key_id)
        click.echo(f"key {key_id} revoked")
