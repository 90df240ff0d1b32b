"""Subcommands of the planning office: ingest, check, revisions, demo."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError

from ingest import no_pandas
from ingest.fields import load_mapping_file
from planning import revisions
from planning.db import make_engine
from planning.errors import DatabaseUnavailable, InvalidInput, PlanningError
from planning.settings import Settings

# A progress bar appears for files larger than this many features.
PROGRESS_THRESHOLD = 2000

FIELD_OPTIONS = {
    "zoning": ("code", "function", "lot", "name", "density", "floors", "far", "height", "setback"),
    "parcels": ("commune", "sheet", "parcel", "area", "land-type", "address"),
    "red_lines": ("road-name", "width"),
}


def _settings(ctx: click.Context) -> Settings:
    from planning.cli import settings_of

    return settings_of(ctx)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """Yield a progress callback drawing a bar on stderr for large files."""
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, Any] = {}
    started = False

    def update(stage: str, done: int, total: int) -> None:
        nonlocal started
        if not enabled or total <= PROGRESS_THRESHOLD:
            return
        if not started:
            bar.start()
            started = True
        label = {"text": "reading text", "load": "checking and loading"}.get(stage, stage)
        if stage not in tasks:
            tasks[stage] = bar.add_task(label, total=total)
        bar.update(tasks[stage], completed=done)

    try:
        yield update
    finally:
        if started:
            bar.stop()


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn an unreachable or lost database into one clear line."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        text = str(exc.orig or exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise DatabaseUnavailable(f"database unavailable: {first}") from None


def _common_options(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        opts = [
            click.argument("path", type=click.Path(path_type=Path)),
            click.option("--layer", help="layer to read (default: the TT16 layer or the only one)"),
            click.option("--crs", help="CRS of the data, e.g. EPSG:9214 (overrides the .prj)"),
            click.option(
                "--province",
                help="GSO code of the data's province (46 for Huế): areas and distances are "
                "measured in its VN-2000 TM-3 zone, and it is the CRS of a file that has none",
            ),
            click.option(
                "--keep-field",
                "keep_fields",
                multiple=True,
                metavar="NAME",
                help="keep a field that looks like personal data (owner, ID number...); "
                "repeat for several",
            ),
            click.option("--swap-xy", is_flag=True, help="coordinates are northing first"),
            click.option("--encoding", help="text encoding: utf-8, tcvn3, vni, viscii, cp1258"),
            click.option(
                "--mapping",
                type=click.Path(path_type=Path, dir_okay=False),
                help='TOML file: attribute = "FieldName"',
            ),
            click.option("--effective", help="date the revision takes effect (default today)"),
            click.option(
                "--report",
                "report_path",
                type=click.Path(path_type=Path),
                help="also write the report as JSON",
            ),
            click.option("--dry-run", is_flag=True, help="validate only; write nothing"),
            click.option("--publish", is_flag=True, help="publish at once when there is no error"),
            click.option("--json", "as_json", is_flag=True, help="print the report as JSON"),
        ]
        kinds = list(FIELD_OPTIONS) if kind == "check" else [kind]
        for k in kinds:
            for name in FIELD_OPTIONS[k]:
                opts.append(click.option(f"--{name}-field", help=f"field holding the {name}"))
        duplicates = click.option(
            "--allow-duplicates",
            is_flag=True,
            help="parcels: load repeated (commune, sheet, parcel) keys with a warning",
        )
        if kind == "check":
            opts += [
                click.option("--plan", "plan", help="plan code"),
                click.option("--commune", help="commune code of every parcel"),
                duplicates,
            ]
        elif kind != "parcels":
            opts += [
                click.option("--plan", "plan", help="plan code (required)"),
                click.option("--name", help="plan name"),
                click.option("--level", help="general | zoning | detail"),
                click.option("--decision", help="approving decision number"),
                click.option("--decision-date", help="approving decision date YYYY-MM-DD"),
                click.option("--authority", help="approving authority"),
                click.option("--plan-province", help="province GSO code of the plan"),
                click.option("--scale", help="map scale, e.g. 1/2000"),
            ]
        else:
            opts.append(click.option("--commune", help="commune code of every parcel"))
            opts.append(duplicates)
        for o in reversed(opts):
            f = o(f)
        return f

    return deco


def _run(ctx: click.Context, kind: str, kw: dict[str, Any], dry_run_only: bool = False) -> None:
    # The ingest never uses pandas; pyogrio and pyarrow would import it (see ingest.no_pandas).
    with no_pandas.refused():
        _ingest(ctx, kind, kw, dry_run_only)


def _ingest(ctx: click.Context, kind: str, kw: dict[str, Any], dry_run_only: bool) -> None:
    # Imported here: numpy, shapely, pyproj and pyogrio cost every other `planning` command
    # a second at start-up.
    from ingest.pipeline import IngestOptions, run_ingest

    settings = _settings(ctx)
    for other, names in FIELD_OPTIONS.items():
        for name in names:
            if other != kind and kw.get(f"{name.replace('-', '_')}_field"):
                raise InvalidInput(f"--{name}-field does not apply to {kind.replace('_', '-')}")
    explicit: dict[str, str] = {}
    if kw.get("mapping"):
        explicit.update(load_mapping_file(kw["mapping"]))
    for name in FIELD_OPTIONS[kind]:
        value = kw.get(f"{name.replace('-', '_')}_field")
        if value:
            explicit[name.replace("-", "_")] = value
    plan_meta: dict[str, Any] = {}
    if kind != "parcels":
        plan_meta = {
            "name": kw.get("name"),
            "level": kw.get("level"),
            "decision": kw.get("decision"),
            "decision_date": _date(kw.get("decision_date"), "--decision-date"),
            "authority": kw.get("authority"),
            "province_code": kw.get("plan_province"),
            "scale": kw.get("scale"),
        }
        revisions.normalise_level(plan_meta["level"])
    report_path: Path | None = kw.get("report_path")
    if report_path is not None and not report_path.parent.is_dir():
        raise InvalidInput(f"--report {report_path}: no folder {report_path.parent}")
    dry_run = dry_run_only or bool(kw.get("dry_run"))
    opts = IngestOptions(
        kind=kind,
        path=kw["path"],
        layer=kw.get("layer"),
        plan=kw.get("plan"),
        plan_meta=plan_meta,
        effective=revisions.effective_date(kw.get("effective")),
        fields=explicit,
        crs=kw.get("crs"),
        province=kw.get("province"),
        swap_xy=bool(kw.get("swap_xy")),
        encoding=kw.get("encoding"),
        commune=kw.get("commune"),
        allow_duplicates=bool(kw.get("allow_duplicates")),
        keep_fields=tuple(kw.get("keep_fields") or ()),
        dry_run=dry_run,
        publish=bool(kw.get("publish")),
        loaded_by=settings.loaded_by,
        service_area=settings.service_bbox,
    )
    engine = None if dry_run else make_engine(settings.resolved_database_url(), pool_size=1)
    try:
        with database_errors(), progress_bar(sys.stderr.isatty()) as progress:
            report = run_ingest(opts, engine, progress)
    except PlanningError:
        raise
    except Exception as exc:
        # A file no check foresaw: still one line that names it (the load was rolled back).
        if os.environ.get("PLANNING_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        raise InvalidInput(f"{opts.path}: cannot be loaded ({what})") from None
    finally:
        if engine is not None:
            engine.dispose()
    if report_path is not None:
        try:
            report.save(report_path)
        except OSError as exc:
            raise InvalidInput(f"--report {report_path}: {exc.strerror}") from None
    if kw.get("as_json"):
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        report.render(Console())
    if report.has_errors:
        # The report (stdout) has the details; stderr gets the one line every failure gets.
        errors = "; ".join(p.message for p in report.problems if p.level == "error")
        click.echo(f"error: {opts.path}: {errors} (nothing published)", err=True)
        sys.exit(2)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option}: not a date {value!r} (use YYYY-MM-DD)") from None


def _json_default(v: object) -> str:
    if isinstance(v, date | datetime):
        return v.isoformat()
    return str(v)


def register(root: click.Group) -> None:
    """Attach the ingest subcommands to the root command."""

    @root.group()
    def ingest() -> None:
        """Load a zoning plan, parcels or red lines from a file."""

    @ingest.command("zoning")
    @_common_options("zoning")
    @click.pass_context
    def ingest_zoning(ctx: click.Context, **kw: Any) -> None:
        """Load the land-use zones of a plan (TT16 ChucNangSuDungDat_A, shapefile, GPKG...)."""
        _run(ctx, "zoning", kw)

    @ingest.command("parcels")
    @_common_options("parcels")
    @click.pass_context
    def ingest_parcels(ctx: click.Context, **kw: Any) -> None:
        """Load cadastral parcels (commune, sheet, parcel number)."""
        _run(ctx, "parcels", kw)

    @ingest.command("red-lines")
    @_common_options("red_lines")
    @click.pass_context
    def ingest_red_lines(ctx: click.Context, **kw: Any) -> None:
        """Load a plan's red lines (TT16 ChiGioiDuongDo_L)."""
        _run(ctx, "red_lines", kw)

    @root.command("check")
    @click.option(
        "--kind",
        type=click.Choice(["zoning", "parcels", "red-lines"]),
        default="zoning",
        show_default=True,
    )
    @_common_options("check")
    @click.pass_context
    def check(ctx: click.Context, kind: str, **kw: Any) -> None:
        """Validate a file as ingest would, writing nothing (exit 2 when it has errors)."""
        _run(ctx, kind.replace("-", "_"), kw, dry_run_only=True)

    @root.group("revisions")
    def revs() -> None:
        """List, inspect, publish, roll back and compare revisions."""

    @contextmanager
    def connection(ctx: click.Context, write: bool = False) -> Iterator[Connection]:
        engine = make_engine(_settings(ctx).resolved_database_url(), pool_size=1)
        try:
            with database_errors(), engine.begin() if write else engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    @revs.command("list")
    @click.option("--plan", help="only this plan")
    @click.option("--kind", type=click.Choice(["zoning", "parcels", "red_lines"]))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def rev_list(ctx: click.Context, plan: str | None, kind: str | None, as_json: bool) -> None:
        """List revisions."""
        with connection(ctx) as conn:
            rows = revisions.list_revisions(conn, plan, kind)
        if as_json:
            click.echo(json.dumps(rows, ensure_ascii=False, default=_json_default, indent=2))
            return
        from rich.table import Table

        t = Table()
        for c in ("id", "plan", "kind", "v", "state", "effective", "features", "errors", "source"):
            t.add_column(c)
        for r in rows:
            eff = f"{r['effective_from']} → {r['effective_to'] or ''}"
            t.add_row(
                str(r["id"]),
                r["plan"] or "(cadastre)",
                r["kind"],
                str(r["version"]),
                r["state"],
                eff,
                str(r["feature_count"]),
                "yes" if r["has_errors"] else "",
                r["source_name"],
            )
        Console().print(t)

    @revs.command("show")
    @click.argument("revision_id", type=int)
    @click.pass_context
    def rev_show(ctx: click.Context, revision_id: int) -> None:
        """Show a revision with its report (JSON)."""
        with connection(ctx) as conn:
            data = revisions.show_revision(conn, revision_id)
        click.echo(json.dumps(data, ensure_ascii=False, default=_json_default, indent=2))

    @revs.command("publish")
    @click.argument("revision_id", type=int)
    @click.pass_context
    def rev_publish(ctx: click.Context, revision_id: int) -> None:
        """Publish a staged revision (one transaction)."""
        with connection(ctx, write=True) as conn:
            ch = revisions.publish(conn, revision_id, _settings(ctx).loaded_by)
        closed = f"; revision {ch.closed} closed" if ch.closed else ""
        click.echo(f"revision {revision_id} published (data version {ch.data_version}){closed}")

    @revs.command("rollback")
    @click.argument("plan", required=False)
    @click.option(
        "--kind", type=click.Choice(["zoning", "red_lines"]), default="zoning", show_default=True
    )
    @click.option(
        "--revision",
        "revision_id",
        type=int,
        help="roll back this revision (parcels revisions are named this way)",
    )
    @click.pass_context
    def rev_rollback(
        ctx: click.Context, plan: str | None, kind: str, revision_id: int | None
    ) -> None:
        """Withdraw a plan's newest published revision and re-open the previous one."""
        if plan is None and revision_id is None:
            raise click.UsageError("name a PLAN or --revision ID")
        with connection(ctx, write=True) as conn:
            ch = revisions.rollback(conn, plan, kind, revision_id, _settings(ctx).loaded_by)
        again = f"; revision {ch.closed} is current again" if ch.closed else ""
        click.echo(f"revision {ch.revision_id} rolled back (data version {ch.data_version}){again}")

    @revs.command("discard")
    @click.argument("revision_id", type=int)
    @click.pass_context
    def rev_discard(ctx: click.Context, revision_id: int) -> None:
        """Delete a staged revision that will not be published."""
        with connection(ctx, write=True) as conn:
            revisions.discard(conn, revision_id)
        click.echo(f"revision {revision_id} discarded")

    @revs.command("diff")
    @click.argument("old_id", type=int)
    @click.argument("new_id", type=int)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def rev_diff(ctx: click.Context, old_id: int, new_id: int, as_json: bool) -> None:
        """Compare two zoning revisions: zones added, removed, changed."""
        with connection(ctx) as conn:
            d = revisions.diff_revisions(conn, old_id, new_id)
        if as_json:
            click.echo(json.dumps(d, ensure_ascii=False, default=_json_default, indent=2))
            return
        c = Console()
        c.print(
            f"plan {d['plan']}: revision {old_id} → {new_id}; total area "
            f"{d['area_m2']['from']:.2f} → {d['area_m2']['to']:.2f} m²"
        )
        for z in d["added"]:
            c.print(f"[green]+ {z['key']}[/] {z['function'] or ''} {z['area_m2']:.2f} m²")
        for z in d["removed"]:
            c.print(f"[red]- {z['key']}[/] {z['function'] or ''} {z['area_m2']:.2f} m²")
        for ch in d["changed"]:
            parts = [f"{k}: {v['from']} → {v['to']}" for k, v in ch["changes"].items()]
            c.print(f"[yellow]~ {ch['key']}[/] " + "; ".join(parts))
        c.print(
            f"{len(d['added'])} added, {len(d['removed'])} removed, {len(d['changed'])} changed"
        )
