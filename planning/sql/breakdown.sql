-- The zones of every applicable plan inside a polygon, with exact planar areas in each plan's
-- metric plane (revision.plane_srid). :g is the polygon as EWKB (any SRID), :d the date.
WITH target AS (
    SELECT t.g AS gn, ST_Transform(t.g, 4326) AS g84
    FROM (SELECT ST_GeomFromEWKB(:g) AS g) t
),
hits AS (
    SELECT p.code AS plan_code, p.name AS plan_name, p.level, p.decision, p.decision_date,
           p.scale, p.authority, r.id AS revision_id, r.version, r.effective_from,
           r.plane_srid, z.id, z.code, z.category, z.function_l1, z.function_l2,
           z.function_l3, z.lot, z.name, z.density_max, z.floors_min, z.floors_max, z.far_max,
           z.height_max_m, z.setback_m, z.is_road, c.name_vi, c.name_en, c.color,
           ST_Intersection(z.geom_plane, tn.g) AS piece, tn.g AS tn
    FROM target t
    JOIN planning.zone z ON z.geom && t.g84
    JOIN planning.revision r ON r.id = z.revision_id
    JOIN planning.plan p ON p.id = r.plan_id
    LEFT JOIN planning.land_use_category c ON c.code = z.category
    -- The polygon in the revision's plane.
    CROSS JOIN LATERAL (
        SELECT CASE WHEN ST_SRID(t.gn) = r.plane_srid THEN t.gn
                    ELSE ST_Transform(t.gn, r.plane_srid) END AS g) tn
    WHERE r.state = 'published' AND r.effective_from <= :d
      AND (r.effective_to IS NULL OR :d < r.effective_to)
      AND ST_Intersects(z.geom, t.g84)
),
pieces AS (
    SELECT *, ST_Area(piece) AS area_m2 FROM hits
),
plans AS (
    -- Per plan: the polygon's area, the part its zones cover (zones of one plan may overlap:
    -- covered_m2 counts an overlap once) and the part in planned roads.
    SELECT revision_id,
           max(ST_Area(tn)) AS target_area_m2,
           ST_Area(ST_Union(piece) FILTER (WHERE area_m2 > 0)) AS covered_m2,
           coalesce(ST_Area(ST_Union(piece) FILTER (WHERE is_road AND area_m2 > 0)), 0)
             AS road_m2
    FROM pieces GROUP BY revision_id
)
SELECT
    (SELECT coalesce(json_agg(json_build_object(
        'plan_code', plan_code, 'plan_name', plan_name, 'level', level, 'decision', decision,
        'decision_date', decision_date, 'scale', scale, 'authority', authority,
        'revision_id', revision_id, 'version', version, 'effective_from', effective_from,
        'plane_srid', plane_srid, 'id', id, 'code', code, 'category', category,
        'function_l1', function_l1, 'function_l2', function_l2, 'function_l3', function_l3,
        'lot', lot, 'name', name, 'density_max', density_max, 'floors_min', floors_min,
        'floors_max', floors_max, 'far_max', far_max, 'height_max_m', height_max_m,
        'setback_m', setback_m, 'is_road', is_road, 'name_vi', name_vi, 'name_en', name_en,
        'color', color, 'area_m2', area_m2,
        'geometry', CASE WHEN :with_geometry
                         THEN ST_AsGeoJSON(ST_Transform(piece, 4326), 7)::json END)
        ORDER BY revision_id, lot, id), '[]'::json)
     FROM pieces WHERE area_m2 >= :min_piece) AS zones,
    (SELECT coalesce(json_agg(plans), '[]'::json) FROM plans) AS plans,
    (SELECT version FROM planning.data_version) AS data_version
