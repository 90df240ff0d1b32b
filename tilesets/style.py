"""The MapLibre style of the planning map and its legend, from the land-use catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from planning.catalogue import FALLBACK, colour_of
from tilesets.glyphs import FONT_STACK

BACKGROUND = "#F2EFE9"

FIXED_LEGEND = [
    {
        "id": "red_line",
        "kind": "line",
        "color": "#D7191C",
        "vi": "Chỉ giới đường đỏ",
        "en": "Red line (planned road boundary)",
    },
    {
        "id": "plan",
        "kind": "line",
        "color": "#7B3294",
        "vi": "Ranh giới quy hoạch",
        "en": "Plan boundary",
    },
    {
        "id": "parcel",
        "kind": "line",
        "color": "#555555",
        "vi": "Thửa đất",
        "en": "Cadastral parcel",
    },
]


def build_style(base: str, categories: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the MapLibre style (spec v8) drawing the four tilesets."""
    match: list[Any] = ["match", ["coalesce", ["get", "category"], ""]]
    for c in categories:
        match += [c["code"], colour_of(c["code"], c.get("color"))]
    match.append(FALLBACK)
    text_font = [FONT_STACK]
    return {
        "version": 8,
        "name": "Tra cứu thông tin quy hoạch",
        "metadata": {"planning:legend": f"{base}/v1/legend"},
        "center": [107.5776, 16.4698],
        "zoom": 14,
        "glyphs": f"{base}/fonts/{{fontstack}}/{{range}}.pbf",
        "sources": {
            name: {"type": "vector", "url": f"{base}/tiles/{name}.json"}
            for name in ("zoning", "parcels", "red_lines", "plans")
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}},
            {
                "id": "zoning-fill",
                "type": "fill",
                "source": "zoning",
                "source-layer": "zoning",
                "paint": {"fill-color": match, "fill-opacity": 0.8},
            },
            {
                "id": "zoning-road",
                "type": "fill",
                "source": "zoning",
                "source-layer": "zoning",
                "filter": ["==", ["get", "road"], True],
                "paint": {"fill-color": "#FFFFFF", "fill-opacity": 0.9},
            },
            {
                "id": "zoning-outline",
                "type": "line",
                "source": "zoning",
                "source-layer": "zoning",
                "paint": {
                    "line-color": "#6E6E6E",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.3, 18, 1.2],
                },
            },
            {
                "id": "parcels-outline",
                "type": "line",
                "source": "parcels",
                "source-layer": "parcels",
                "minzoom": 15,
                "paint": {"line-color": "#555555", "line-width": 0.6, "line-opacity": 0.8},
            },
            {
                "id": "plans-outline",
                "type": "line",
                "source": "plans",
                "source-layer": "plans",
                "paint": {"line-color": "#7B3294", "line-width": 2.5, "line-dasharray": [3, 2]},
            },
            {
                "id": "red-lines",
                "type": "line",
                "source": "red_lines",
                "source-layer": "red_lines",
                "paint": {
                    "line-color": "#D7191C",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 12, 1, 18, 3],
                },
            },
            {
                "id": "zoning-labels",
                "type": "symbol",
                "source": "zoning",
                "source-layer": "zoning",
                "minzoom": 14,
                "layout": {
                    "text-field": ["coalesce", ["get", "lot"], ""],
                    "text-font": text_font,
                    "text-size": ["interpolate", ["linear"], ["zoom"], 14, 10, 18, 14],
                },
                "paint": {
                    "text-color": "#222222",
                    "text-halo-color": "#FFFFFF",
                    "text-halo-width": 1.5,
                },
            },
            {
                "id": "parcel-labels",
                "type": "symbol",
                "source": "parcels",
                "source-layer": "parcels",
                "minzoom": 17,
                "layout": {
                    "text-field": ["get", "parcel"],
                    "text-font": text_font,
                    "text-size": 10,
                },
                "paint": {
                    "text-color": "#444444",
                    "text-halo-color": "#FFFFFF",
                    "text-halo-width": 1,
                },
            },
        ],
    }


def build_legend(categories: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the legend: land-use colours in use, then the line symbols; vi and en."""
    return {
        "title": {"vi": "Chú giải", "en": "Legend"},
        "land_use": [
            {
                "code": c["code"],
                "color": colour_of(c["code"], c.get("color")),
                "vi": c["name_vi"],
                "en": c["name_en"],
            }
            for c in categories
            if c.get("in_use", True)
        ],
        "lines": FIXED_LEGEND,
    }


CATEGORIES_SQL = """
SELECT c.code, c.name_vi, c.name_en, c.color,
       EXISTS (SELECT 1 FROM planning.zone z JOIN planning.revision r ON r.id = z.revision_id
               WHERE z.category = c.code AND r.state = 'published' AND r.effective_to IS NULL)
         AS in_use
FROM planning.land_use_category c ORDER BY c.code
"""


def catalogue(conn: Connection) -> list[dict[str, Any]]:
    """Return the catalogue with a flag for the codes the current plans use."""
    return [dict(r._mapping) for r in conn.execute(text(CATEGORIES_SQL)).all()]
