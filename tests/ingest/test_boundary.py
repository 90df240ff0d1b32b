"""A loaded zoning revision carries its outline (the union of its zones) for the plans tileset."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Engine, text

from tests.conftest import Cli


def test_zoning_load_stores_the_union_of_its_zones(
    tmp_path: Path, run: Cli, engine: Engine
) -> None:
    a = shapely.box(561000, 1821000, 561100, 1821100)
    b = shapely.box(561100, 1821000, 561200, 1821080)
    path = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame(
        {"chucNangSuDungDatMuc3": ["Đất ở mới", "Đất cây xanh"], "kyHieuLoDat": ["OM-01", "CX-01"]},
        geometry=[a, b],
        crs=9214,
    ).to_file(path)
    run("ingest", "zoning", str(path), "--plan", "B1", "--publish")
    with engine.connect() as conn:
        wkb = conn.execute(
            text("SELECT ST_AsBinary(boundary) FROM planning.revision WHERE kind = 'zoning'")
        ).scalar_one()
    outline = shapely.from_wkb(bytes(wkb))
    to84 = Transformer.from_crs(9214, 4326, always_xy=True)

    def project(c: np.ndarray) -> np.ndarray:
        return np.column_stack(to84.transform(c[:, 0], c[:, 1]))

    expected = shapely.transform(shapely.union(a, b), project)
    assert outline.geom_type == "MultiPolygon"
    assert outline.symmetric_difference(expected).area < 1e-12
