"""`planning tiles export`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from planning.errors import InvalidInput
from planning.settings import parse_bbox


def register(root: click.Group) -> None:
    """Attach the tiles subcommands to the root command."""

    @root.group("tiles")
    def tiles() -> None:
        """Vector tiles: export a tileset to one file."""

    @tiles.command("export")
    @click.option("--tileset", required=True, help="zoning, parcels, red_lines or plans")
    @click.option("--minzoom", type=click.IntRange(0, 24), required=True)
    @click.option("--maxzoom", type=click.IntRange(0, 24), required=True)
    @click.option("--bbox", help="minlon,minlat,maxlon,maxlat (default: the data's extent)")
    @click.option("--date", "on", help="as-of date YYYY-MM-DD (default today)")
    @click.option(
        "--out", type=click.Path(path_type=Path), required=True, help="file.pmtiles or file.mbtiles"
    )
    @click.option(
        "--base-url",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="service URL written into the TileJSON metadata",
    )
    @click.pass_context
    def export_cmd(
        ctx: click.Context,
        tileset: str,
        minzoom: int,
        maxzoom: int,
        bbox: str | None,
        on: str | None,
        out: Path,
        base_url: str,
    ) -> None:
        """Write the served tiles of a tileset to PMTiles or MBTiles, with a progress bar."""
        from planning.cli import settings_of
        from planning.db import make_engine
        from tilesets.export import export

        box = None
        if bbox:
            try:
                box = parse_bbox(bbox)
            except ValueError as exc:
                raise InvalidInput(f"--bbox: {exc}") from None
        when = None
        if on:
            try:
                when = date.fromisoformat(on)
            except ValueError:
                raise InvalidInput("--date must be YYYY-MM-DD") from None
        engine = make_engine(settings_of(ctx).resolved_database_url(), pool_size=1)
        bar = Progress(
            TextColumn("rendering tiles"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        task = bar.add_task("tiles", total=None)
        try:
            with bar:
                result = export(
                    engine,
                    tileset,
                    out,
                    minzoom,
                    maxzoom,
                    box,
                    when,
                    base_url.rstrip("/"),
                    lambda done, total: bar.update(task, completed=done, total=total),
                )
        finally:
            engine.dispose()
        click.echo(
            f"{result.path}: {result.tiles} tiles ({result.empty} empty skipped), "
            f"{result.bytes / 1024:.0f} KiB, data version {result.data_version}"
        )
