"""Plans and their revisions: create, publish, roll back, list, compare. Every change is atomic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from planning import clock
from planning.errors import Conflict, InvalidInput, NotFound

PLAN_KINDS = ("zoning", "red_lines")
PLAN_FIELDS = ("name", "level", "decision", "decision_date", "authority", "province_code", "scale")
LEVEL_ALIASES = {
    "general": "general",
    "chung": "general",
    "zoning": "zoning",
    "phan-khu": "zoning",
    "phankhu": "zoning",
    "detail": "detail",
    "chi-tiet": "detail",
    "chitiet": "detail",
    "land_use": "land_use",
    "land-use": "land_use",
}


def normalise_level(level: str | None) -> str | None:
    """Accept the English level names (and their Vietnamese short forms)."""
    if level is None:
        return None
    key = level.strip().lower()
    if key not in LEVEL_ALIASES:
        raise InvalidInput(f"unknown plan level {level!r}: use general, zoning or detail")
    return LEVEL_ALIASES[key]


def ensure_plan(conn: Connection, code: str, meta: dict[str, Any]) -> int:
    """Create the plan, or update the metadata given; return its id (row locked)."""
    code = code.strip()
    if not code or len(code) > 100:
        raise InvalidInput("a plan code must have 1 to 100 characters")
    values = {f: meta.get(f) for f in PLAN_FIELDS}
    values["level"] = normalise_level(values["level"])
    row = conn.execute(
        text(
            """
            INSERT INTO planning.plan (code, name, level, decision, decision_date, authority,
                                       province_code, scale)
            VALUES (:code, :name, coalesce(:level, 'zoning'), :decision, :decision_date,
                    :authority, :province_code, :scale)
            ON CONFLICT (code) DO UPDATE SET
                name = coalesce(EXCLUDED.name, plan.name),
                level = coalesce(:level, plan.level),
                decision = coalesce(EXCLUDED.decision, plan.decision),
                decision_date = coalesce(EXCLUDED.decision_date, plan.decision_date),
                authority = coalesce(EXCLUDED.authority, plan.authority),
                province_code = coalesce(EXCLUDED.province_code, plan.province_code),
                scale = coalesce(EXCLUDED.scale, plan.scale)
            RETURNING id
            """
        ),
        {"code": code, **values},
    ).one()
    conn.execute(text("SELECT 1 FROM planning.plan WHERE id = :id FOR UPDATE"), {"id": row.id})
    return int(row.id)


def plan_province(conn: Connection, code: str) -> str | None:
    """Return the province code recorded for a plan (None: no such plan, or none recorded)."""
    row = conn.execute(
        text("SELECT province_code FROM planning.plan WHERE code = :c"), {"c": code.strip()}
    ).first()
    return None if row is None else row.province_code


def plan_id(conn: Connection, code: str) -> int:
    """Return a plan's id or raise NotFound."""
    row = conn.execute(text("SELECT id FROM planning.plan WHERE code = :c"), {"c": code}).first()
    if row is None:
        raise NotFound(f"no plan with code {code!r}")
    return int(row.id)


def same_file_revision(
    conn: Connection, plan: int | None, kind: str, sha256: str
) -> dict[str, Any] | None:
    """Return the live revision already loaded from a file with this hash, if any."""
    row = conn.execute(
        text(
            """
            SELECT id, state, version FROM planning.revision
            WHERE coalesce(plan_id, 0) = coalesce(:plan, 0) AND kind = :kind
              AND source_sha256 = :sha AND state <> 'retired'
            """
        ),
        {"plan": plan, "kind": kind, "sha": sha256},
    ).first()
    return dict(row._mapping) if row else None


def next_version(conn: Connection, plan: int | None, kind: str) -> int:
    """Return the next version number of a plan's (or the cadastre's) revisions of a kind."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(max(version), 0) + 1 FROM planning.revision "
                "WHERE coalesce(plan_id, 0) = coalesce(:plan, 0) AND kind = :kind"
            ),
            {"plan": plan, "kind": kind},
        ).scalar_one()
    )


# The data version: one counter, incremented in the transaction of every publish and rollback
# (so it follows commit order); tile and lookup statements embed this query.
DATA_VERSION_SQL = "SELECT version FROM planning.data_version"


def data_version(conn: Connection) -> int:
    """Return the data version: it changes with every publish and rollback."""
    return int(conn.execute(text(DATA_VERSION_SQL)).scalar_one())


@dataclass(frozen=True)
class Change:
    """The outcome of a publish or rollback."""

    revision_id: int
    action: str
    data_version: int
    closed: int | None = None  # the revision closed (publish) or re-opened (rollback)


def _revision(conn: Connection, revision_id: int, lock: bool = False) -> Any:
    row = conn.execute(
        text(
            "SELECT r.*, p.code AS plan_code FROM planning.revision r "
            "LEFT JOIN planning.plan p ON p.id = r.plan_id WHERE r.id = :id"
            + (" FOR UPDATE OF r" if lock else "")
        ),
        {"id": revision_id},
    ).first()
    if row is None:
        raise NotFound(f"no revision {revision_id}")
    return row


def _serialise(conn: Connection) -> None:
    """Wait for any other publish or rollback to commit, then keep them waiting until this
    transaction ends: the data version's row lock serialises them (READ COMMITTED: every
    later statement of this one sees what the other committed)."""
    conn.execute(text("SELECT version FROM planning.data_version FOR UPDATE"))


def _record(conn: Connection, revision_id: int, action: str, by: str | None) -> int:
    """Log a publish or rollback and return the new data version (the row is locked by
    ``_serialise`` until this transaction commits, so versions follow commit order)."""
    version = int(
        conn.execute(
            text("UPDATE planning.data_version SET version = version + 1 RETURNING version")
        ).scalar_one()
    )
    conn.execute(
        text(
            "INSERT INTO planning.publication (revision_id, action, by, data_version) "
            "VALUES (:r, :a, :b, :v)"
        ),
        {"r": revision_id, "a": action, "b": by, "v": version},
    )
    return version


def publish(conn: Connection, revision_id: int, by: str | None = None) -> Change:
    """Make a staged revision effective and close the one it replaces (one transaction)."""
    _serialise(conn)
    rev = _revision(conn, revision_id, lock=True)
    if rev.state != "staged":
        raise Conflict(f"revision {revision_id} is {rev.state}, only a staged revision publishes")
    if rev.has_errors:
        raise Conflict(
            f"revision {revision_id} has errors in its report (planning revisions show "
            f"{revision_id}); correct the file and load it again"
        )
    closed: int | None = None
    if rev.kind in PLAN_KINDS:
        conn.execute(
            text("SELECT 1 FROM planning.plan WHERE id = :p FOR UPDATE"), {"p": rev.plan_id}
        )
        current = conn.execute(
            text(
                "SELECT id, effective_from FROM planning.revision WHERE plan_id = :p "
                "AND kind = :k AND state = 'published' AND effective_to IS NULL FOR UPDATE"
            ),
            {"p": rev.plan_id, "k": rev.kind},
        ).first()
        if current is not None:
            if current.effective_from > rev.effective_from:
                raise Conflict(
                    f"revision {revision_id} takes effect on {rev.effective_from}, before the "
                    f"current revision {current.id} ({current.effective_from})"
                )
            conn.execute(
                text("UPDATE planning.revision SET effective_to = :d WHERE id = :id"),
                {"d": rev.effective_from, "id": current.id},
            )
            closed = int(current.id)
    else:
        for commune in rev.communes or []:
            later = conn.execute(
                text(
                    "SELECT revision_id FROM planning.parcel_coverage WHERE commune_code = :c "
                    "AND effective_to IS NULL AND effective_from > :d"
                ),
                {"c": commune, "d": rev.effective_from},
            ).first()
            if later is not None:
                raise Conflict(
                    f"commune {commune}: revision {later.revision_id} takes effect after "
                    f"{rev.effective_from}; publish revisions in date order"
                )
            conn.execute(
                text(
                    "UPDATE planning.parcel_coverage SET effective_to = :d "
                    "WHERE commune_code = :c AND effective_to IS NULL"
                ),
                {"c": commune, "d": rev.effective_from},
            )
            conn.execute(
                text(
                    "INSERT INTO planning.parcel_coverage (revision_id, commune_code, "
                    "effective_from) VALUES (:r, :c, :d)"
                ),
                {"r": revision_id, "c": commune, "d": rev.effective_from},
            )
    conn.execute(
        text(
            "UPDATE planning.revision SET state = 'published', published_at = now() WHERE id = :id"
        ),
        {"id": revision_id},
    )
    version = _record(conn, revision_id, "publish", by)
    return Change(revision_id, "publish", version, closed)


def rollback(
    conn: Connection,
    plan_code: str | None = None,
    kind: str = "zoning",
    revision_id: int | None = None,
    by: str | None = None,
) -> Change:
    """Withdraw the newest published revision of a plan (or a parcels revision) and re-open the
    one before it."""
    _serialise(conn)
    if revision_id is None:
        if plan_code is None:
            raise InvalidInput("name a plan code or a revision id")
        if kind not in PLAN_KINDS:
            raise InvalidInput("parcels revisions are rolled back by id (--revision ID)")
        pid = plan_id(conn, plan_code)
        conn.execute(text("SELECT 1 FROM planning.plan WHERE id = :p FOR UPDATE"), {"p": pid})
        row = conn.execute(
            text(
                "SELECT id FROM planning.revision WHERE plan_id = :p AND kind = :k "
                "AND state = 'published' AND effective_to IS NULL"
            ),
            {"p": pid, "k": kind},
        ).first()
        if row is None:
            raise NotFound(f"plan {plan_code!r} has no published {kind} revision to roll back")
        revision_id = int(row.id)
    rev = _revision(conn, revision_id, lock=True)
    if rev.state != "published":
        raise Conflict(f"revision {revision_id} is {rev.state}; only a published one rolls back")
    reopened: int | None = None
    if rev.kind in PLAN_KINDS and rev.effective_to is not None:
        raise Conflict(f"revision {revision_id} was replaced; roll back the newer one first")
    # Retired first: the revision re-opened may not overlap a published one
    # (the exclusion constraint revision_one_in_force).
    conn.execute(
        text("UPDATE planning.revision SET state = 'retired', retired_at = now() WHERE id = :id"),
        {"id": revision_id},
    )
    if rev.kind in PLAN_KINDS:
        prev = conn.execute(
            text(
                "SELECT id FROM planning.revision WHERE plan_id = :p AND kind = :k "
                "AND state = 'published' AND id <> :id AND effective_to = :d "
                "ORDER BY version DESC LIMIT 1 FOR UPDATE"
            ),
            {"p": rev.plan_id, "k": rev.kind, "id": revision_id, "d": rev.effective_from},
        ).first()
        if prev is not None:
            conn.execute(
                text("UPDATE planning.revision SET effective_to = NULL WHERE id = :id"),
                {"id": prev.id},
            )
            reopened = int(prev.id)
    else:
        cover = conn.execute(
            text(
                "SELECT commune_code, effective_to FROM planning.parcel_coverage "
                "WHERE revision_id = :r"
            ),
            {"r": revision_id},
        ).all()
        if any(c.effective_to is not None for c in cover):
            raise Conflict(f"revision {revision_id} was replaced; roll back the newer one first")
        conn.execute(
            text("DELETE FROM planning.parcel_coverage WHERE revision_id = :r"), {"r": revision_id}
        )
        for c in cover:
            conn.execute(
                text(
                    """
                    UPDATE planning.parcel_coverage SET effective_to = NULL
                    WHERE (revision_id, commune_code) IN (
                        SELECT revision_id, commune_code FROM planning.parcel_coverage
                        WHERE commune_code = :c AND effective_to = :d
                        ORDER BY effective_from DESC, revision_id DESC LIMIT 1)
                    """
                ),
                {"c": c.commune_code, "d": rev.effective_from},
            )
    version = _record(conn, revision_id, "rollback", by)
    return Change(revision_id, "rollback", version, reopened)


def discard(conn: Connection, revision_id: int) -> None:
    """Delete a staged revision and its features (published ones are history and stay)."""
    rev = _revision(conn, revision_id, lock=True)
    if rev.state != "staged":
        raise Conflict(
            f"revision {revision_id} is {rev.state}; only staged revisions are discarded"
        )
    conn.execute(text("DELETE FROM planning.revision WHERE id = :id"), {"id": revision_id})


LIST_SQL = """
SELECT r.id, p.code AS plan, r.kind, r.version, r.state, r.effective_from, r.effective_to,
       r.feature_count, r.dropped_count, r.has_errors, r.source_name, r.crs_resolved,
       r.loaded_at, r.published_at, r.communes
FROM planning.revision r LEFT JOIN planning.plan p ON p.id = r.plan_id
WHERE (CAST(:plan AS text) IS NULL OR p.code = :plan)
  AND (CAST(:kind AS text) IS NULL OR r.kind = :kind)
ORDER BY r.id
"""


def list_revisions(
    conn: Connection, plan_code: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """List revisions, oldest first."""
    if plan_code is not None:
        plan_id(conn, plan_code)
    rows = conn.execute(text(LIST_SQL), {"plan": plan_code, "kind": kind}).all()
    return [dict(r._mapping) for r in rows]


def show_revision(conn: Connection, revision_id: int) -> dict[str, Any]:
    """Return everything recorded about a revision, its report included."""
    rev = _revision(conn, revision_id)
    out = dict(rev._mapping)
    out.pop("plan_id", None)
    return out


ZONES_SQL = """
SELECT id, lot, code, function_l1, function_l2, function_l3, density_max, floors_min,
       floors_max, far_max, height_max_m, setback_m, area_m2, md5(ST_AsBinary(geom_plane)) AS shape
FROM planning.zone WHERE revision_id = :r
"""
COMPARED = (
    "code",
    "function_l1",
    "function_l2",
    "function_l3",
    "density_max",
    "floors_min",
    "floors_max",
    "far_max",
    "height_max_m",
    "setback_m",
)


def diff_revisions(conn: Connection, old_id: int, new_id: int) -> dict[str, Any]:
    """Compare two zoning revisions of one plan: zones added, removed and changed."""
    old, new = _revision(conn, old_id), _revision(conn, new_id)
    if old.kind != "zoning" or new.kind != "zoning":
        raise InvalidInput("diff compares zoning revisions")
    if old.plan_id != new.plan_id:
        raise InvalidInput(f"revisions {old_id} and {new_id} belong to different plans")

    def keyed(rid: int) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for r in conn.execute(text(ZONES_SQL), {"r": rid}).all():
            z = dict(r._mapping)
            key = z["lot"] or f"shape:{z['shape'][:12]}"
            while key in out:  # repeated lot labels stay distinct in order
                key += "'"
            out[key] = z
        return out

    a, b = keyed(old_id), keyed(new_id)
    added = [_zone_summary(k, b[k]) for k in b if k not in a]
    removed = [_zone_summary(k, a[k]) for k in a if k not in b]
    changed = []
    for k in a.keys() & b.keys():
        za, zb = a[k], b[k]
        fields = {f: {"from": za[f], "to": zb[f]} for f in COMPARED if za[f] != zb[f]}
        if abs(za["area_m2"] - zb["area_m2"]) >= 0.01 or za["shape"] != zb["shape"]:
            fields["area_m2"] = {"from": round(za["area_m2"], 2), "to": round(zb["area_m2"], 2)}
        if fields:
            changed.append({"key": k, "lot": zb["lot"], "changes": fields})
    changed.sort(key=lambda c: str(c["key"]))
    return {
        "plan": new.plan_code,
        "from": old_id,
        "to": new_id,
        "added": sorted(added, key=lambda z: str(z["key"])),
        "removed": sorted(removed, key=lambda z: str(z["key"])),
        "changed": changed,
        "area_m2": {
            "from": round(sum(z["area_m2"] for z in a.values()), 2),
            "to": round(sum(z["area_m2"] for z in b.values()), 2),
        },
    }


def _zone_summary(key: str, z: dict[str, Any]) -> dict[str, Any]:
    function = z["function_l3"] or z["function_l2"] or z["function_l1"]
    return {
        "key": key,
        "lot": z["lot"],
        "code": z["code"],
        "function": function,
        "area_m2": round(z["area_m2"], 2),
    }


def effective_date(value: str | date | None) -> date:
    """Parse an effective date (YYYY-MM-DD), today when not given."""
    if value is None:
        return clock.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"not a date: {value!r} (use YYYY-MM-DD)") from None
