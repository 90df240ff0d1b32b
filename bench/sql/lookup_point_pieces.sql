-- What-if for bench/lookup_whatif.py: planning/sql/lookup_point.sql with zones and red lines
-- found through ST_Subdivide'd pieces (bench_proto.zone_piece, bench_proto.red_line_piece: at
-- most 32 vertices each, GiST on their lon/lat box) instead of whole geometries, whose boxes
-- (long road corridors, red lines) hold nearly every point of the map. Same answers.
-- Everything the service knows at one point, as of a date, in one round trip.
-- :lon/:lat WGS 84; :x/:y/:epsg the same point as given (VN-2000 when it was); :d the date;
-- :tol metres within which a point counts as on a zone boundary; :deg the red-line search box.
WITH pt AS (
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g,
           ST_SetSRID(ST_MakePoint(:x, :y), :epsg) AS given
),
zones AS (
    SELECT p.code AS plan_code, p.name AS plan_name, p.level, p.decision, p.decision_date,
           p.scale, p.authority, r.id AS revision_id, r.version, r.effective_from, r.effective_to,
           r.srid,
           z.id, z.code, z.function_l1, z.function_l2, z.function_l3, z.lot, z.name,
           z.density_max, z.floors_min, z.floors_max, z.far_max, z.height_max_m, z.setback_m,
           z.population, z.is_road, z.area_m2, c.name_vi, c.name_en, c.color
    FROM pt
    JOIN (SELECT DISTINCT zp.zone_id FROM pt, bench_proto.zone_piece zp
          JOIN planning.revision r ON r.id = zp.revision_id
          WHERE zp.geom && ST_Expand(pt.g, 1e-6)
            AND r.state = 'published' AND r.effective_from <= :d
            AND (r.effective_to IS NULL OR :d < r.effective_to)
            AND ST_DWithin(zp.geom_native,
                  CASE WHEN r.srid = :epsg THEN pt.given ELSE ST_Transform(pt.g, r.srid) END,
                  :tol)) hit ON true
    JOIN planning.zone z ON z.id = hit.zone_id
    JOIN planning.revision r ON r.id = z.revision_id
    JOIN planning.plan p ON p.id = r.plan_id
    LEFT JOIN planning.land_use_category c ON c.code = z.code
),
parcel AS (
    SELECT pa.commune_code, pa.sheet, pa.parcel_no, pa.area_m2, pa.area_official,
           pa.land_use_code, pa.address, ST_SRID(pa.geom_native) AS srid
    FROM pt
    JOIN planning.parcel pa ON pa.geom && pt.g
    JOIN planning.parcel_coverage pc
      ON pc.revision_id = pa.revision_id AND pc.commune_code = pa.commune_code
    WHERE pc.effective_from <= :d AND (pc.effective_to IS NULL OR :d < pc.effective_to)
      AND ST_Intersects(pa.geom, pt.g)
    ORDER BY pa.id
    LIMIT 1
),
red AS (
    SELECT rl.road_name, rl.row_width_m, p.code AS plan_code, near.distance_m
    FROM (SELECT rp.red_line_id,
                 min(ST_Distance(rp.geom_native,
                     CASE WHEN r.srid = :epsg THEN pt.given ELSE ST_Transform(pt.g, r.srid) END))
                   AS distance_m
          FROM pt, bench_proto.red_line_piece rp
          JOIN planning.revision r ON r.id = rp.revision_id
          WHERE rp.geom && ST_Expand(pt.g, :deg)
            AND r.state = 'published' AND r.effective_from <= :d
            AND (r.effective_to IS NULL OR :d < r.effective_to)
            AND ST_DWithin(rp.geom_native,
                  CASE WHEN r.srid = :epsg THEN pt.given ELSE ST_Transform(pt.g, r.srid) END, 100)
          GROUP BY rp.red_line_id
          ORDER BY distance_m, rp.red_line_id
          LIMIT 1) near
    JOIN planning.red_line rl ON rl.id = near.red_line_id
    JOIN planning.revision r ON r.id = rl.revision_id
    JOIN planning.plan p ON p.id = r.plan_id
)
SELECT
    (SELECT coalesce(json_agg(zones), '[]'::json) FROM zones) AS zones,
    (SELECT row_to_json(parcel) FROM parcel) AS parcel,
    (SELECT row_to_json(red) FROM red WHERE distance_m <= 100) AS red_line,
    (SELECT coalesce(max(id), 0) FROM planning.publication) AS data_version
