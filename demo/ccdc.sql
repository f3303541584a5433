-- CCDC change detection (a port of pyccd 2021.7.19) over every pixel of the stack, LCMAP-style change
-- products per pixel, and detection measured against the generator's ground truth.
-- demo/run.sh fills in ${STACK} and ${OUT}.

CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '${STACK}' OPTIONS ('layout' 'pixels');
COPY (SELECT row, col, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) AS c FROM pix)
  TO '${OUT}/ccdc.parquet' STORED AS PARQUET;
-- One row per confirmed break, with its magnitude over the detection bands (green to swir2).
CREATE VIEW breaks AS
  SELECT row, col, m['break_day'] AS break_day,
         sqrt(power(m['green']['magnitude'], 2) + power(m['red']['magnitude'], 2) + power(m['nir']['magnitude'], 2)
              + power(m['swir1']['magnitude'], 2) + power(m['swir2']['magnitude'], 2)) AS magnitude
  FROM (SELECT row, col, unnest(c['change_models']) AS m FROM '${OUT}/ccdc.parquet')
  WHERE m['change_probability'] = 1;
-- Per pixel: number of breaks, year and magnitude of the most recent one.
COPY (
  SELECT p.row, p.col, coalesce(b.breaks, 0) AS breaks, b.last_break_year, b.last_break_magnitude
  FROM (SELECT row, col FROM '${OUT}/ccdc.parquet') p
  LEFT JOIN (SELECT row, col, count(*) AS breaks,
                    CAST(date_part('year', max(break_day)) AS INT) AS last_break_year,
                    last_value(magnitude ORDER BY break_day) AS last_break_magnitude
             FROM breaks GROUP BY row, col) b ON p.row = b.row AND p.col = b.col
) TO '${OUT}/change.parquet' STORED AS PARQUET;
-- Detection against the generator's ground truth: an injected change counts as found when a
-- break lies within 90 days of it; a stable pixel with any break is a false detection.
CREATE EXTERNAL TABLE truth STORED AS CSV LOCATION '${STACK}/truth.csv' OPTIONS ('format.has_header' 'true');
SELECT count(*) FILTER (WHERE t.change_date IS NOT NULL) AS changed_pixels,
       round(100.0 * count(*) FILTER (WHERE t.change_date IS NOT NULL AND f.found) /
             count(*) FILTER (WHERE t.change_date IS NOT NULL), 1) AS found_within_90_days_pct,
       count(*) FILTER (WHERE t.change_date IS NULL) AS stable_pixels,
       round(1000.0 * count(*) FILTER (WHERE t.change_date IS NULL AND c.breaks > 0) /
             count(*) FILTER (WHERE t.change_date IS NULL), 1) AS false_detections_per_1000_stable
FROM truth t
JOIN '${OUT}/change.parquet' c ON t.row = c.row AND t.col = c.col
LEFT JOIN (SELECT b.row, b.col, true AS found FROM breaks b JOIN truth t2 ON b.row = t2.row AND b.col = t2.col
           WHERE t2.change_date IS NOT NULL
             AND abs(CAST(b.break_day - CAST(t2.change_date AS DATE) AS BIGINT)) <= 90
           GROUP BY b.row, b.col) f ON t.row = f.row AND t.col = f.col;
