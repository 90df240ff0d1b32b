-- Everything the service knows at one point, as of a date, in one round trip.
-- :lon/:lat WGS 84; :x/:y/:epsg the same point as given (VN-2000 when it was); :d the date;
-- :tol metres within which a point counts as on a zone boundary; :deg the red-line search box;
-- :radius metres within which the nearest red line is reported. Every distance is measured in
-- each revision's metric plane (revision.plane_srid), where its geom_plane lies.
-- Zones and red lines are found through their ST_Subdivide'd pieces (zone_piece,
-- red_line_piece): a long corridor's box covers the map, its pieces' boxes do not.
WITH pt AS (
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g,
           ST_SetSRID(ST_MakePoint(:x, :y), :epsg) AS given
),
live AS (
    -- Revisions in force on the date.
    SELECT r.id, r.plane_srid, r.plan_id, r.version, r.effective_from,
           CASE WHEN r.plane_srid = :epsg THEN pt.given ELSE ST_Transform(pt.g, r.plane_srid)
           END AS at
    FROM pt, planning.revision r
    WHERE r.state = 'published' AND r.effective_from <= :d
      AND (r.effective_to IS NULL OR :d < r.effective_to)
),
-- The pieces near the point, from one scan of the index (joined to live, the scan would run
-- once per revision in force).
zone_near AS MATERIALIZED (
    SELECT zp.zone_id, zp.revision_id, zp.geom_plane
    FROM planning.zone_piece zp
    WHERE zp.geom && ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 1e-6)
),
hit AS (
    SELECT DISTINCT zn.zone_id, live.id AS revision_id
    FROM zone_near zn
    JOIN live ON live.id = zn.revision_id
    WHERE ST_DWithin(zn.geom_plane, live.at, :tol)
),
zones AS (
    SELECT p.code AS plan_code, p.name AS plan_name, p.level, p.decision, p.decision_date,
           p.scale, p.authority, r.id AS revision_id, r.version, r.effective_from, r.plane_srid,
           z.id, z.code, z.category, z.function_l1, z.function_l2, z.function_l3, z.lot, z.name,
           z.density_max, z.floors_min, z.floors_max, z.far_max, z.height_max_m, z.setback_m,
           z.population, z.is_road, z.area_m2, c.name_vi, c.name_en, c.color
    FROM hit
    JOIN planning.zone z ON z.id = hit.zone_id
    JOIN planning.revision r ON r.id = hit.revision_id
    JOIN planning.plan p ON p.id = r.plan_id
    LEFT JOIN planning.land_use_category c ON c.code = z.category
),
parcel AS (
    SELECT pa.id, pa.commune_code, pa.sheet, pa.parcel_no, pa.area_m2, pa.area_official,
           pa.land_use_code, pa.address, ST_SRID(pa.geom_plane) AS plane_srid
    FROM pt
    JOIN planning.parcel pa ON pa.geom && pt.g
    JOIN planning.parcel_coverage pc
      ON pc.revision_id = pa.revision_id AND pc.commune_code = pa.commune_code
    WHERE pc.effective_from <= :d AND (pc.effective_to IS NULL OR :d < pc.effective_to)
      AND ST_Intersects(pa.geom, pt.g)
    ORDER BY pa.id
    LIMIT 1
),
red_line_near AS MATERIALIZED (
    SELECT rp.red_line_id, rp.revision_id, rp.geom_plane
    FROM planning.red_line_piece rp
    WHERE rp.geom && ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :deg)
),
near AS (
    -- The nearest piece of each red line in reach: the line's distance is its nearest piece's.
    SELECT rn.red_line_id, live.plan_id, min(ST_Distance(rn.geom_plane, live.at)) AS distance_m
    FROM red_line_near rn
    JOIN live ON live.id = rn.revision_id
    WHERE ST_DWithin(rn.geom_plane, live.at, :radius)
    GROUP BY rn.red_line_id, live.plan_id
    ORDER BY distance_m, rn.red_line_id
    LIMIT 1
),
red AS (
    SELECT rl.road_name, rl.row_width_m, p.code AS plan_code, near.distance_m
    FROM near
    JOIN planning.red_line rl ON rl.id = near.red_line_id
    JOIN planning.plan p ON p.id = near.plan_id
)
SELECT
    (SELECT coalesce(json_agg(zones), '[]'::json) FROM zones) AS zones,
    (SELECT row_to_json(parcel) FROM parcel) AS parcel,
    (SELECT row_to_json(red) FROM red) AS red_line,
    (SELECT version FROM planning.data_version) AS data_version,
    -- The plane of the nearest published plan (within ~50 km), asked only when nothing is at
    -- the point: a point given in lon/lat is echoed in the plane of the data near it.
    CASE WHEN NOT EXISTS (SELECT FROM hit) AND NOT EXISTS (SELECT FROM parcel) THEN (
        -- (the point spelled out, not pt.g, so that the GiST index orders by distance; pieces
        -- are small, so the exact distances the index checks are cheap)
        SELECT r.plane_srid
        FROM planning.zone_piece zp JOIN planning.revision r ON r.id = zp.revision_id
        WHERE r.state = 'published'
          AND ST_DWithin(zp.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 0.5)
        ORDER BY zp.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
        LIMIT 1)
    END AS nearest_plane
FROM pt
