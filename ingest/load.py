"""Write a revision and its features to PostGIS in one transaction, with COPY."""

from __future__ import annotations

import contextlib
import io
import json
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from ingest import copy as C
from ingest.features import COLUMNS, TABLES
from ingest.report import Report
from planning import revisions
from planning.boundaries import compute_boundary
from planning.errors import Conflict

INSERT_REVISION = text(
    """
    INSERT INTO planning.revision (plan_id, kind, version, source_name, source_sha256, layer,
        crs_read, crs_resolved, srid, plane_srid, effective_from, loaded_by)
    VALUES (:plan, :kind, :version, :src, :sha, :layer, :crs_read, :crs_resolved, :srid,
        :plane_srid, :eff, :by)
    RETURNING id
    """
)


def revision_table(revision_id: int) -> str:
    """Return the table holding the parcels of one revision (a child of planning.parcel)."""
    return f"parcel_r{int(revision_id)}"


def create_revision_table(revision_id: int) -> str:
    """Return the DDL of a revision's parcels table: planning.parcel's columns and defaults (ids
    from its sequence), no index yet. Indexes maintained row by row cost a COPY more than the
    rows themselves; building them once at the end (attach_revision_table) is much cheaper."""
    name = revision_table(revision_id)
    return (
        f"CREATE TABLE planning.{name} (LIKE planning.parcel INCLUDING DEFAULTS, "
        f"CONSTRAINT {name}_revision CHECK (revision_id = {int(revision_id)}))"
    )


def attach_revision_table(revision_id: int, unique: bool = True) -> list[str]:
    """Return the statements that index a loaded revision table and make it part of
    planning.parcel (table inheritance: every query of planning.parcel reads it).

    Each index stands for one of planning.parcel's: the primary key, parcel_key (its
    revision_id is constant here, so the three other columns are unique and also serve
    parcel_lookup; not unique when duplicated keys were loaded on purpose, --allow-duplicates)
    and the GiST index. Rows of a deleted revision go with its table (migration 0004); a
    foreign key here would lock planning.revision against concurrent loads."""
    name = revision_table(revision_id)
    t = f"planning.{name}"
    key = (
        f"ALTER TABLE {t} ADD CONSTRAINT {name}_key UNIQUE (commune_code, sheet, parcel_no)"
        if unique
        else f"CREATE INDEX {name}_key ON {t} (commune_code, sheet, parcel_no)"
    )
    return [
        f"ALTER TABLE {t} ADD CONSTRAINT {name}_pkey PRIMARY KEY (id)",
        key,
        f"CREATE INDEX {name}_geom_gist ON {t} USING gist (geom)",
        f"ALTER TABLE {t} INHERIT planning.parcel",
    ]


class Loader:
    """One staged revision being written; nothing is visible to anyone until ``finish``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy")
        self._pending: Future[None] | None = None
        self.revision_id: int | None = None
        self.kind = ""
        self.table = ""
        self._attached = False

    def begin(
        self,
        *,
        kind: str,
        plan_code: str | None,
        plan_meta: dict[str, Any],
        source_name: str,
        sha256: str,
        layer: str,
        crs_read: str | None,
        crs_resolved: str,
        srid: int,
        plane_srid: int,
        effective_from: date,
        loaded_by: str | None,
    ) -> int:
        """Open the transaction and create the staged revision row."""
        self.kind = kind
        self.conn = self.engine.connect()
        self.conn.begin()
        plan = revisions.ensure_plan(self.conn, plan_code, plan_meta) if plan_code else None
        same = revisions.same_file_revision(self.conn, plan, kind, sha256)
        if same is not None:
            owner = f"plan {plan_code}" if plan_code else "the cadastre"
            raise Conflict(
                f"{source_name}: this file (sha256 {sha256[:12]}…) is already loaded as revision "
                f"{same['id']} of {owner} ({same['state']})"
            )
        version = revisions.next_version(self.conn, plan, kind)
        values = {
            "plan": plan,
            "kind": kind,
            "version": version,
            "src": source_name,
            "sha": sha256,
            "layer": layer,
            "crs_read": crs_read,
            "crs_resolved": crs_resolved,
            "srid": srid,
            "plane_srid": plane_srid,
            "eff": effective_from,
            "by": loaded_by,
        }
        try:
            self.revision_id = int(self.conn.execute(INSERT_REVISION, values).scalar_one())
        except IntegrityError:
            # Another load of the same file committed while this one waited on the hash index.
            raise Conflict(
                f"{source_name}: this file (sha256 {sha256[:12]}…) was just loaded by another "
                "process"
            ) from None
        self.table = TABLES[kind]
        if kind == "parcels":
            self.table = revision_table(self.revision_id)
            self.conn.execute(text(create_revision_table(self.revision_id)))
        return self.revision_id

    def copy(self, columns: list[C.Field], rows: list[int] | None = None) -> None:
        """Append feature rows with COPY in the background; the caller prepares the next batch.

        ``columns`` are encoded (ingest.copy) in COLUMNS order; ``rows`` picks the rows to load
        (all when None). PostgreSQL ingests a batch on one core while Python builds the next on
        the other; at most one batch is in flight, and its error surfaces at the next call or at
        finish. The payload is joined on the COPY thread too (Arrow, without the GIL)."""
        n = C.row_count(columns)
        if self.conn is None or not (n if rows is None else rows):
            return
        assert self.revision_id is not None
        all_columns = [C.constant_int(self.revision_id, n), *columns]
        self._wait()
        self._pending = self._pool.submit(self._copy_now, all_columns, rows)

    def end_of_rows(self, unique: bool = True) -> None:
        """Index a parcels revision's table once its last rows are sent, on the COPY thread and
        in the load's transaction, while the caller grades the checks (``unique``: each key
        once)."""
        if self.conn is None or self.kind != "parcels" or self._attached:
            return
        assert self.revision_id is not None
        statements = attach_revision_table(self.revision_id, unique)
        previous = self._pending
        conn = self.conn

        def attach() -> None:
            if previous is not None:
                previous.result()  # the last COPY's error, not a failed index build's
            for statement in statements:
                conn.execute(text(statement))

        self._attached = True
        self._pending = self._pool.submit(attach)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _copy_now(self, columns: list[C.Field], rows: list[int] | None) -> None:
        assert self.conn is not None
        data = C.payload(columns, rows)
        cols = ", ".join(("revision_id", *COLUMNS[self.kind]))
        raw = self.conn.connection.dbapi_connection
        assert raw is not None
        cur: Any = raw.cursor()
        try:
            cur.copy_expert(
                f"COPY planning.{self.table} ({cols}) FROM STDIN WITH (FORMAT binary)",
                io.BytesIO(data),
                size=1 << 20,
            )
        finally:
            cur.close()

    def finish(
        self, report: Report, communes: list[str] | None, publish: bool, by: str | None
    ) -> revisions.Change | None:
        """Record the report, publish when asked and clean, and commit."""
        assert self.conn is not None and self.revision_id is not None
        self.end_of_rows()  # when the caller has not said so: a parcels table gets its indexes
        self._wait()
        self._pool.shutdown(wait=False)
        self.conn.execute(
            text(
                """
                UPDATE planning.revision SET encoding = CAST(:enc AS jsonb),
                    feature_count = :n, dropped_count = :d, report = CAST(:rep AS jsonb),
                    has_errors = :err, communes = :communes
                WHERE id = :id
                """
            ),
            {
                "enc": json.dumps(report.encodings, ensure_ascii=False),
                "n": report.features_loaded,
                "d": report.features_dropped,
                "rep": json.dumps(report.to_dict(), ensure_ascii=False, default=str),
                "err": report.has_errors,
                "communes": communes,
                "id": self.revision_id,
            },
        )
        if self.kind == "zoning":
            # The plan's outline for the plans tileset, in the same transaction as its zones.
            compute_boundary(self.conn, self.revision_id)
        change = None
        if publish and not report.has_errors:
            change = revisions.publish(self.conn, self.revision_id, by)
        self.conn.commit()
        self.conn.close()
        self.conn = None
        return change

    def abort(self) -> None:
        """Roll back everything this load wrote."""
        # The load fails anyway; the rollback below is what matters.
        with contextlib.suppress(Exception):
            self._wait()
        self._pool.shutdown(wait=False)
        if self.conn is not None:
            try:
                self.conn.rollback()
            finally:
                self.conn.close()
                self.conn = None
