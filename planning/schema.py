"""The database schema (SQLAlchemy Core): what the Alembic migrations are checked against."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, ExcludeConstraint

SCHEMA = "planning"
WGS84 = 4326

metadata = MetaData(schema=SCHEMA)

ZONE_IS_ROAD = (
    "(category IS NOT DISTINCT FROM 'DGT') OR (coalesce(function_l1, '') || ' ' || "
    "coalesce(function_l2, '') || ' ' || coalesce(function_l3, '') ~* 'giao th(o|ô|Ô)ng')"
)
PLAN_LEVELS = ("detail", "zoning", "general", "land_use")
REVISION_KINDS = ("zoning", "parcels", "red_lines")
REVISION_STATES = ("staged", "published", "retired")


def _geom(kind: str, srid: int = WGS84) -> Geometry:
    # Indexes are declared explicitly below so migrations and metadata name them the same way.
    return Geometry(kind, srid=srid, spatial_index=False)


plan = Table(
    "plan",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text),
    Column("level", Text, nullable=False, server_default="zoning"),
    Column("decision", Text),
    Column("decision_date", Date),
    Column("authority", Text),
    Column("province_code", Text),
    Column("scale", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"level IN {PLAN_LEVELS!r}", name="plan_level_check"),
)

revision = Table(
    "revision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", Integer, ForeignKey("plan.id", ondelete="RESTRICT")),
    Column("kind", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("source_name", Text, nullable=False),
    Column("source_sha256", Text, nullable=False),
    Column("layer", Text),
    Column("crs_read", Text),
    Column("crs_resolved", Text, nullable=False),
    Column("srid", Integer, nullable=False),  # the CRS of the file's coordinates
    # The metric plane every m and m² of the revision is measured in (its features'
    # geom_plane): the VN-2000 TM-3 zone of the data's province, or outside Vietnam the UTM
    # zone of its centre (planning.crs.choose_plane).
    Column("plane_srid", Integer, nullable=False),
    Column("encoding", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("feature_count", Integer, nullable=False, server_default="0"),
    Column("dropped_count", Integer, nullable=False, server_default="0"),
    Column("communes", ARRAY(Text)),
    Column("report", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("has_errors", Boolean, nullable=False, server_default=text("false")),
    Column("state", Text, nullable=False, server_default="staged"),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
    Column("loaded_by", Text),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("retired_at", DateTime(timezone=True)),
    # Union of a zoning revision's zones (the plans tileset draws it).
    Column("boundary", _geom("MULTIPOLYGON")),
    CheckConstraint(f"kind IN {REVISION_KINDS!r}", name="revision_kind_check"),
    CheckConstraint(f"state IN {REVISION_STATES!r}", name="revision_state_check"),
    CheckConstraint(
        "effective_to IS NULL OR effective_to >= effective_from", name="revision_interval_check"
    ),
    CheckConstraint("(kind = 'parcels') = (plan_id IS NULL)", name="revision_plan_check"),
)
Index(
    "revision_source_once",
    text("coalesce(plan_id, 0)"),
    revision.c.kind,
    revision.c.source_sha256,
    unique=True,
    postgresql_where=text("state <> 'retired'"),
)
Index("revision_plan_kind", revision.c.plan_id, revision.c.kind, revision.c.state)
# No two published revisions of one plan and kind in force on the same day (migration 0005).
revision.append_constraint(
    ExcludeConstraint(
        (revision.c.plan_id, "="),
        (revision.c.kind, "="),
        (text("daterange(effective_from, effective_to)"), "&&"),
        name="revision_one_in_force",
        using="gist",
        where=text("state = 'published' AND plan_id IS NOT NULL"),
    )
)
Index("revision_boundary_gist", revision.c.boundary, postgresql_using="gist")

# Parcels revisions replace earlier ones commune by commune: each published parcels revision holds
# one validity interval per commune it covers (the plan kinds use revision.effective_from/to).
parcel_coverage = Table(
    "parcel_coverage",
    metadata,
    Column(
        "revision_id",
        Integer,
        ForeignKey("revision.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("commune_code", Text, primary_key=True),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
)
Index("parcel_coverage_commune", parcel_coverage.c.commune_code, parcel_coverage.c.effective_from)
# No two coverages of one commune in force on the same day (migration 0005).
parcel_coverage.append_constraint(
    ExcludeConstraint(
        (parcel_coverage.c.commune_code, "="),
        (text("daterange(effective_from, effective_to)"), "&&"),
        name="parcel_coverage_one_in_force",
        using="gist",
    )
)

# One row per publish or rollback, with the data version it made.
publication = Table(
    "publication",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("revision_id", Integer, ForeignKey("revision.id"), nullable=False),
    Column("action", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("by", Text),
    Column("data_version", BigInteger, nullable=False),
    CheckConstraint("action IN ('publish', 'rollback')", name="publication_action_check"),
)

# The data version that caches and answers carry: one row, incremented in the transaction of
# every publish and rollback, whose row lock serialises them (planning.revisions), so that the
# version follows commit order.
data_version = Table(
    "data_version",
    metadata,
    Column("one", Boolean, primary_key=True, server_default=text("true")),
    Column("version", BigInteger, nullable=False),
    CheckConstraint("one", name="data_version_one_row"),
)

zone = Table(
    "zone",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("revision_id", Integer, ForeignKey("revision.id", ondelete="CASCADE"), nullable=False),
    Column("code", Text),  # as the file wrote it
    # The catalogue's code the zone belongs to (its code matched ignoring case and spaces, or
    # inferred from the function text): colours, legend and the planned-road test use it.
    Column("category", Text),
    Column("function_l1", Text),
    Column("function_l2", Text),
    Column("function_l3", Text),
    Column("lot", Text),
    Column("name", Text),
    Column("density_max", Float),
    Column("floors_min", Float),
    Column("floors_max", Float),
    Column("far_max", Float),
    Column("height_max_m", Float),
    Column("setback_m", Float),
    Column("population", Float),
    Column("attrs", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("area_m2", Float, nullable=False),
    Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    # The same geometry in the revision's plane (revision.plane_srid): areas are measured here.
    Column("geom_plane", _geom("MULTIPOLYGON", srid=-1), nullable=False),
    # Planned transport land: the DGT category or a "giao thông" function (planning.catalogue).
    Column("is_road", Boolean, Computed(ZONE_IS_ROAD, persisted=True), nullable=False),
)
Index("zone_geom_gist", zone.c.geom, postgresql_using="gist")
Index("zone_revision", zone.c.revision_id)

parcel = Table(
    "parcel",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("revision_id", Integer, ForeignKey("revision.id", ondelete="CASCADE"), nullable=False),
    Column("commune_code", Text, nullable=False),
    Column("sheet", Text, nullable=False),
    Column("parcel_no", Text, nullable=False),
    Column("area_official", Float),
    Column("land_use_code", Text),
    Column("address", Text),
    Column("address_search", Text),
    Column("attrs", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("area_m2", Float, nullable=False),
    Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    Column("geom_plane", _geom("MULTIPOLYGON", srid=-1), nullable=False),
    UniqueConstraint("revision_id", "commune_code", "sheet", "parcel_no", name="parcel_key"),
)
Index("parcel_geom_gist", parcel.c.geom, postgresql_using="gist")
Index("parcel_lookup", parcel.c.commune_code, parcel.c.sheet, parcel.c.parcel_no)

red_line = Table(
    "red_line",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("revision_id", Integer, ForeignKey("revision.id", ondelete="CASCADE"), nullable=False),
    Column("road_name", Text),
    Column("row_width_m", Float),
    Column("attrs", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("length_m", Float, nullable=False),
    Column("geom", _geom("MULTILINESTRING"), nullable=False),
    Column("geom_plane", _geom("MULTILINESTRING", srid=-1), nullable=False),
)
Index("red_line_geom_gist", red_line.c.geom, postgresql_using="gist")
Index("red_line_revision", red_line.c.revision_id)


def _pieces(name: str, parent: Table, key: str) -> Table:
    """ST_Subdivide'd pieces of a parent's geometries, kept by triggers (migration 0003)."""
    table = Table(
        name,
        metadata,
        Column(key, BigInteger, ForeignKey(parent.c.id, ondelete="CASCADE"), nullable=False),
        Column("revision_id", Integer, nullable=False),
        Column("geom", _geom("GEOMETRY"), nullable=False),
        Column("geom_plane", _geom("GEOMETRY", srid=-1), nullable=False),
    )
    Index(f"{name}_geom_gist", table.c.geom, postgresql_using="gist")
    Index(f"{name}_{key}", table.c[key])
    return table


# Point lookups search these: a long corridor's box covers the map, its pieces' boxes do not.
zone_piece = _pieces("zone_piece", zone, "zone_id")
red_line_piece = _pieces("red_line_piece", red_line, "red_line_id")

land_use_category = Table(
    "land_use_category",
    metadata,
    Column("code", Text, primary_key=True),
    Column("scheme", Text, nullable=False),
    Column("group", Text, nullable=False),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("color", Text),
)

commune = Table(
    "commune",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("province_code", Text, nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    UniqueConstraint("code", "valid_from", name="commune_code_period"),
)
Index("commune_code", commune.c.code)

# Old (pre-1 July 2025) commune codes and the new units they went into.
commune_merge = Table(
    "commune_merge",
    metadata,
    Column("new_code", Text, nullable=False, primary_key=True),
    Column("old_code", Text, nullable=False, primary_key=True),
    Column("merge_type", Text, nullable=False),
)
Index("commune_merge_old", commune_merge.c.old_code)

api_key = Table(
    "api_key",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("prefix", Text, nullable=False, unique=True),
    Column("secret_hash", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("quota_per_min", Integer, nullable=False, server_default="600"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

# Requests per key and day, flushed from the workers' counters every few seconds.
api_key_usage = Table(
    "api_key_usage",
    metadata,
    Column("key_id", Integer, ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("requests", BigInteger, nullable=False, server_default="0"),
)
