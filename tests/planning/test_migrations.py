"""Migrations build the data model of DESIGN §3 and agree with planning.schema."""

from __future__ import annotations

import numpy as np
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


def test_revisions_loaded_in_degrees_are_measured_again(server_url: str) -> None:
    """A database from before migration 0006 held a WGS 84 revision measured in degrees: the
    migration projects it to its plan's province plane and measures it there, and leaves a
    TM-3 revision as it was."""
    import uuid

    import shapely
    from pyproj import Transformer

    from alembic import command
    from planning.db import alembic_config, make_engine
    from tests.conftest import _admin, _with_db

    name = f"planning_mig_{uuid.uuid4().hex[:8]}"
    admin = _admin(server_url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(server_url, name)
    try:
        command.upgrade(alembic_config(url), "0005")
        square = shapely.box(561_400, 1_821_600, 561_450, 1_821_640)  # 2 000 m², EPSG:9214
        tf = Transformer.from_crs(9214, 4326, always_xy=True)
        lonlat = shapely.transform(square, lambda c: np.column_stack(tf.transform(*c.T)))
        engine = make_engine(url, pool_size=1)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO planning.plan (code, province_code) VALUES ('P', '46')"))
            for rid, srid, wkt in ((1, 4326, lonlat.wkt), (2, 9214, square.wkt)):
                conn.execute(
                    text(
                        "INSERT INTO planning.revision (id, plan_id, kind, version, source_name,"
                        " source_sha256, crs_resolved, srid, effective_from) VALUES (:i, 1, "
                        "'zoning', :i, 'f', :s, 'x', :srid, '2025-01-01')"
                    ),
                    {"i": rid, "s": str(rid), "srid": srid},
                )
                conn.execute(
                    text(
                        "INSERT INTO planning.zone (revision_id, lot, area_m2, geom, geom_native)"
                        " SELECT :i, 'L', ST_Area(g), ST_Multi(ST_Transform(g, 4326)), "
                        "ST_Multi(g) FROM (SELECT ST_GeomFromText(:w, :srid) AS g) s"
                    ),
                    {"i": rid, "w": wkt, "srid": srid},
                )
        engine.dispose()
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url, pool_size=1)
        with engine.connect() as conn:
            got = conn.execute(
                text(
                    "SELECT r.id, r.plane_srid, z.area_m2, ST_SRID(z.geom_plane) AS s, "
                    "(SELECT ST_SRID(geom_plane) FROM planning.zone_piece p WHERE p.zone_id = "
                    "z.id LIMIT 1) AS piece FROM planning.revision r JOIN planning.zone z "
                    "ON z.revision_id = r.id ORDER BY r.id"
                )
            ).all()
        engine.dispose()
        assert [(r.plane_srid, r.s, r.piece) for r in got] == [(9214, 9214, 9214)] * 2
        assert [round(r.area_m2, 3) for r in got] == [2000.0, 2000.0]
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
