"""Migrations build the data model of DESIGN §3 and agree with planning.schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from planning.schema import SCHEMA, metadata


def test_tables_and_seed(engine: Engine) -> None:
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": SCHEMA}
            ).scalars()
        )
        assert {
            "plan",
            "revision",
            "zone",
            "parcel",
            "red_line",
            "land_use_category",
            "commune",
            "commune_merge",
            "api_key",
            "publication",
            "parcel_coverage",
        } <= tables
        odt = conn.execute(
            text("SELECT name_vi, name_en, scheme FROM planning.land_use_category WHERE code='ODT'")
        ).one()
        assert odt.name_vi == "Đất ở tại đô thị"
        assert odt.name_en == "Urban residential land"
        n = conn.execute(text("SELECT count(*) FROM planning.land_use_category")).scalar_one()
        assert n == 63
        schemes = set(
            conn.execute(text("SELECT DISTINCT scheme FROM planning.land_use_category")).scalars()
        )
        assert schemes == {"tt25-2014", "law2024-provisional"}
        # Codes were reused by the 2025 reform: 19753 is both Thuận Lộc (old) and Phú Xuân (new).
        names = dict(
            conn.execute(
                text("SELECT valid_to IS NULL, name FROM planning.commune WHERE code = '19753'")
            ).all()
        )
        assert names == {True: "Phường Phú Xuân", False: "Phường Thuận Lộc"}
        merged = set(
            conn.execute(
                text("SELECT old_code FROM planning.commune_merge WHERE new_code = '19777'")
            ).scalars()
        )
        assert {"19777", "19792", "19963"} <= merged


def test_vn2000_zone_transform_matches_reference(engine: Engine) -> None:
    """PostGIS knows EPSG:9214 with the official datum shift: the Citadel point to the mm."""
    with engine.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(ST_SetSRID("
                "ST_MakePoint(107.5776, 16.4698), 4326), 9214) AS g) s"
            )
        ).one()
    assert abs(x - 561475.812) < 0.001
    assert abs(y - 1821649.834) < 0.001


def test_schema_matches_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    type_ != "table"
                    or (getattr(obj, "schema", None) == SCHEMA and name != "alembic_version")
                ),
            },
        )
        diff = compare_metadata(ctx, metadata)
    assert diff == []
