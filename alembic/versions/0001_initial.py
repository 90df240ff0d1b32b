"""Initial data model: plans, revisions, zones, parcels, red lines, catalogue, communes, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "planning"
DATA = Path(__file__).resolve().parents[2] / "planning" / "data"
REFORM_DAY = date(2025, 7, 1)
ZONE_IS_ROAD = (
    "(code IS NOT DISTINCT FROM 'DGT') OR (coalesce(function_l1, '') || ' ' || "
    "coalesce(function_l2, '') || ' ' || coalesce(function_l3, '') ~* 'giao th(o|ô|Ô)ng')"
)


def _geom(kind: str, srid: int = 4326) -> Geometry:
    return Geometry(kind, srid=srid, spatial_index=False)


def _jsonb() -> sa.Column:
    return sa.Column("attrs", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb"))


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text),
        sa.Column("level", sa.Text, nullable=False, server_default="zoning"),
        sa.Column("decision", sa.Text),
        sa.Column("decision_date", sa.Date),
        sa.Column("authority", sa.Text),
        sa.Column("province_code", sa.Text),
        sa.Column("scale", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "level IN ('detail', 'zoning', 'general', 'land_use')", name="plan_level_check"
        ),
        schema=S,
    )
    op.create_table(
        "revision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey(f"{S}.plan.id", ondelete="RESTRICT")),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.Text, nullable=False),
        sa.Column("layer", sa.Text),
        sa.Column("crs_read", sa.Text),
        sa.Column("crs_resolved", sa.Text, nullable=False),
        sa.Column("srid", sa.Integer, nullable=False),
        sa.Column("encoding", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("feature_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dropped_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("communes", ARRAY(sa.Text)),
        sa.Column("report", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("has_errors", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("state", sa.Text, nullable=False, server_default="staged"),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        sa.Column("loaded_by", sa.Text),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "kind IN ('zoning', 'parcels', 'red_lines')", name="revision_kind_check"
        ),
        sa.CheckConstraint(
            "state IN ('staged', 'published', 'retired')", name="revision_state_check"
        ),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="revision_interval_check"
        ),
        sa.CheckConstraint("(kind = 'parcels') = (plan_id IS NULL)", name="revision_plan_check"),
        schema=S,
    )
    op.execute(
        f"CREATE UNIQUE INDEX revision_source_once ON {S}.revision "
        "(coalesce(plan_id, 0), kind, source_sha256) WHERE state <> 'retired'"
    )
    op.create_index("revision_plan_kind", "revision", ["plan_id", "kind", "state"], schema=S)
    op.create_table(
        "parcel_coverage",
        sa.Column(
            "revision_id",
            sa.Integer,
            sa.ForeignKey(f"{S}.revision.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("commune_code", sa.Text, primary_key=True),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        schema=S,
    )
    op.create_index(
        "parcel_coverage_commune", "parcel_coverage", ["commune_code", "effective_from"], schema=S
    )
    op.create_table(
        "publication",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("revision_id", sa.Integer, sa.ForeignKey(f"{S}.revision.id"), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("by", sa.Text),
        sa.CheckConstraint("action IN ('publish', 'rollback')", name="publication_action_check"),
        schema=S,
    )

    def rev_fk() -> sa.Column:
        return sa.Column(
            "revision_id",
            sa.Integer,
            sa.ForeignKey(f"{S}.revision.id", ondelete="CASCADE"),
            nullable=False,
        )

    op.create_table(
        "zone",
        sa.Column("id", sa.BigInteger, primary_key=True),
        rev_fk(),
        sa.Column("code", sa.Text),
        sa.Column("function_l1", sa.Text),
        sa.Column("function_l2", sa.Text),
        sa.Column("function_l3", sa.Text),
        sa.Column("lot", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("density_max", sa.Float),
        sa.Column("floors_min", sa.Float),
        sa.Column("floors_max", sa.Float),
        sa.Column("far_max", sa.Float),
        sa.Column("height_max_m", sa.Float),
        sa.Column("setback_m", sa.Float),
        sa.Column("population", sa.Float),
        _jsonb(),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("geom", _geom("MULTIPOLYGON"), nullable=False),
        sa.Column("geom_native", _geom("MULTIPOLYGON", -1), nullable=False),
        sa.Column("is_road", sa.Boolean, sa.Computed(ZONE_IS_ROAD, persisted=True), nullable=False),
        schema=S,
    )
    op.create_index("zone_geom_gist", "zone", ["geom"], postgresql_using="gist", schema=S)
    op.create_index("zone_revision", "zone", ["revision_id"], schema=S)
    op.create_table(
        "parcel",
        sa.Column("id", sa.BigInteger, primary_key=True),
        rev_fk(),
        sa.Column("commune_code", sa.Text, nullable=False),
        sa.Column("sheet", sa.Text, nullable=False),
        sa.Column("parcel_no", sa.Text, nullable=False),
        sa.Column("area_official", sa.Float),
        sa.Column("land_use_code", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("address_search", sa.Text),
        _jsonb(),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("geom", _geom("MULTIPOLYGON"), nullable=False),
        sa.Column("geom_native", _geom("MULTIPOLYGON", -1), nullable=False),
        sa.UniqueConstraint("revision_id", "commune_code", "sheet", "parcel_no", name="parcel_key"),
        schema=S,
    )
    op.create_index("parcel_geom_gist", "parcel", ["geom"], postgresql_using="gist", schema=S)
    op.create_index("parcel_lookup", "parcel", ["commune_code", "sheet", "parcel_no"], schema=S)
    op.create_table(
        "red_line",
        sa.Column("id", sa.BigInteger, primary_key=True),
        rev_fk(),
        sa.Column("road_name", sa.Text),
        sa.Column("row_width_m", sa.Float),
        _jsonb(),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("geom", _geom("MULTILINESTRING"), nullable=False),
        sa.Column("geom_native", _geom("MULTILINESTRING", -1), nullable=False),
        schema=S,
    )
    op.create_index("red_line_geom_gist", "red_line", ["geom"], postgresql_using="gist", schema=S)
    op.create_index("red_line_revision", "red_line", ["revision_id"], schema=S)
    category = op.create_table(
        "land_use_category",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("scheme", sa.Text, nullable=False),
        sa.Column("group", sa.Text, nullable=False),
        sa.Column("name_vi", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("color", sa.Text),
        schema=S,
    )
    commune = op.create_table(
        "commune",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("province_code", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.UniqueConstraint("code", "valid_from", name="commune_code_period"),
        schema=S,
    )
    op.create_index("commune_code", "commune", ["code"], schema=S)
    merge = op.create_table(
        "commune_merge",
        sa.Column("new_code", sa.Text, nullable=False, primary_key=True),
        sa.Column("old_code", sa.Text, nullable=False, primary_key=True),
        sa.Column("merge_type", sa.Text, nullable=False),
        schema=S,
    )
    op.create_index("commune_merge_old", "commune_merge", ["old_code"], schema=S)
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False, unique=True),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
        sa.Column("quota_per_min", sa.Integer, nullable=False, server_default="600"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_table(
        "api_key_usage",
        sa.Column(
            "key_id",
            sa.Integer,
            sa.ForeignKey(f"{S}.api_key.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False, server_default="0"),
        schema=S,
    )
    _seed(category, commune, merge)
    _add_vn2000_srids()


# EPSG codes of the VN-2000 TM-3 zones newer than PostGIS 3.3's spatial_ref_sys, by meridian.
VN2000_TM3_NEW = {
    103.0: 9205,
    104.0: 9206,
    104.5: 9207,
    104.75: 9208,
    105.5: 9209,
    105.75: 9210,
    106.0: 9211,
    106.25: 9212,
    106.5: 9213,
    107.0: 9214,
    107.25: 9215,
    107.5: 9216,
    108.25: 9217,
    108.5: 9218,
}
# EPSG:6960 in PROJ's Position Vector form (rotation signs flipped from the Coordinate Frame
# parameters published by EPSG); see shared VIETNAM.md section 1.
VN2000_TOWGS84 = (
    "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
)


def _add_vn2000_srids() -> None:
    """Register the VN-2000 TM-3 zones PostGIS does not know yet, with the correct datum shift."""
    conn = op.get_bind()
    for meridian, srid in VN2000_TM3_NEW.items():
        proj4 = (
            f"+proj=tmerc +lat_0=0 +lon_0={meridian:g} +k=0.9999 +x_0=500000 +y_0=0 "
            f"+ellps=WGS84 +towgs84={VN2000_TOWGS84} +units=m +no_defs"
        )
        conn.execute(
            sa.text(
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                "VALUES (:srid, 'EPSG', :srid, '', :proj4) ON CONFLICT (srid) DO NOTHING"
            ),
            {"srid": srid, "proj4": proj4},
        )


def _seed(category: sa.Table, commune: sa.Table, merge: sa.Table) -> None:
    """Seed the catalogue and communes from the project's copies of the reference tables."""
    with (DATA / "land_use_codes.csv").open(encoding="utf-8") as fh:
        rows = [{**r, "color": r["color"] or None} for r in csv.DictReader(fh)]
    op.bulk_insert(category, rows)
    with (DATA / "communes_2025_merges.csv").open(encoding="utf-8") as fh:
        merges = list(csv.DictReader(fh))
    new_units: dict[str, dict[str, object]] = {}
    old_units: dict[str, dict[str, object]] = {}
    pairs: dict[tuple[str, str], str] = {}
    for r in merges:
        new_units[r["commune_code"]] = {
            "code": r["commune_code"],
            "name": r["commune"],
            "province_code": r["province_code"],
            "valid_from": REFORM_DAY,
            "valid_to": None,
        }
        old_units.setdefault(
            r["old_commune_code"],
            {
                "code": r["old_commune_code"],
                "name": r["old_commune"],
                "province_code": r["province_code"],
                "valid_from": None,
                "valid_to": REFORM_DAY,
            },
        )
        pairs[(r["commune_code"], r["old_commune_code"])] = r["merge_type"]
    op.bulk_insert(commune, list(new_units.values()) + list(old_units.values()))
    op.bulk_insert(
        merge, [{"new_code": n, "old_code": o, "merge_type": t} for (n, o), t in pairs.items()]
    )


def downgrade() -> None:
    for table in (
        "api_key_usage",
        "api_key",
        "commune_merge",
        "commune",
        "land_use_category",
        "red_line",
        "parcel",
        "zone",
        "publication",
        "parcel_coverage",
        "revision",
        "plan",
    ):
        op.drop_table(table, schema=S)
