"""`planning demo`: generate the synthetic Huế plan and load it (zones, red lines, parcels)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import text

from planning.db import make_engine
from planning.settings import Settings

DEMO_PLAN = "QHPK-HUE-KT"
DEMO_META: dict[str, Any] = {
    "name": "Quy hoạch phân khu Khu vực Kinh thành Huế (dữ liệu minh họa)",
    "level": "zoning",
    "decision": "1234/QĐ-UBND (minh họa)",
    "decision_date": date(2025, 3, 15),
    "authority": "Ủy ban nhân dân thành phố Huế",
    "province_code": "46",
    "scale": "1/2000",
}
DEMO_EFFECTIVE = date(2025, 4, 1)


def _settings(ctx: click.Context) -> Settings:
    from planning.cli import settings_of

    return settings_of(ctx)


def load_demo(settings: Settings, parcels: int, out: Path | None, echo: Any = click.echo) -> None:
    """Generate the demo files and load them, published, into the configured database."""
    from ingest.demo import generate_demo

    folder = out or settings.data_dir / "demo" / f"p{parcels}"
    echo(f"generating the Huế demo ({parcels} parcels) in {folder}")
    files = generate_demo(folder, parcels=parcels)
    from ingest.pipeline import IngestOptions, run_ingest  # not at start-up: see ingest.cli

    engine = make_engine(settings.resolved_database_url(), pool_size=1)
    common: dict[str, Any] = {
        "publish": True,
        "effective": DEMO_EFFECTIVE,
        "service_area": settings.service_bbox,
        "loaded_by": "planning demo",
    }
    try:
        steps = [
            IngestOptions(
                kind="zoning", path=files.gdb, plan=DEMO_PLAN, plan_meta=DEMO_META, **common
            ),
            IngestOptions(kind="red_lines", path=files.gdb, plan=DEMO_PLAN, **common),
            IngestOptions(kind="parcels", path=files.parcels, **common),
        ]
        for opts in steps:
            report = run_ingest(opts, engine)
            state = "published" if report.published else "staged (has errors)"
            echo(
                f"{opts.kind}: {report.features_loaded} features, revision "
                f"{report.revision_id} {state}"
            )
    finally:
        engine.dispose()


def _loaded(settings: Settings) -> bool:
    engine = make_engine(settings.resolved_database_url(), pool_size=1)
    try:
        with engine.connect() as conn:
            n = conn.execute(
                text(
                    "SELECT count(*) FROM planning.revision r JOIN planning.plan p "
                    "ON p.id = r.plan_id WHERE p.code = :c AND r.state = 'published'"
                ),
                {"c": DEMO_PLAN},
            ).scalar_one()
    finally:
        engine.dispose()
    return int(n) > 0


def register(root: click.Group) -> None:
    """Attach `planning demo` to the root command."""

    @root.command("demo")
    @click.option(
        "--parcels",
        default=2000,
        show_default=True,
        type=click.IntRange(100, 2_000_000),
        help="number of cadastral parcels to generate",
    )
    @click.option("--out", type=click.Path(path_type=Path), help="folder for the generated files")
    @click.option("--if-missing", is_flag=True, help="do nothing when the demo plan is loaded")
    @click.option("--files-only", is_flag=True, help="generate the files, load nothing")
    @click.pass_context
    def demo(
        ctx: click.Context, parcels: int, out: Path | None, if_missing: bool, files_only: bool
    ) -> None:
        """Generate and load a synthetic plan of Huế around the Citadel (EPSG:9214)."""
        settings = _settings(ctx)
        if files_only:
            from ingest.demo import generate_demo

            files = generate_demo(out or settings.data_dir / "demo" / f"p{parcels}", parcels)
            click.echo(f"files written to {files.root}")
            return
        if if_missing and _loaded(settings):
            click.echo(f"demo plan {DEMO_PLAN} already loaded")
            return
        load_demo(settings, parcels, out)
        sys.stdout.flush()
