-- Per-pixel yearly clear-sky NDVI medians and clear-observation counts over an ARD stack.
-- demo/run.sh fills in ${STACK} and ${OUT}.

CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '${STACK}' OPTIONS ('layout' 'observations');

-- Only red, nir and qa are read (projection pushdown); cloud, shadow, snow and fill are masked.
COPY (
  SELECT tile, chip_x, chip_y, px, py, row, col,
         CAST(date_part('year', date) AS INT) AS year,
         median(ndvi(red, nir)) AS ndvi_median,
         count(*) AS clear_observations
  FROM ard
  WHERE qa_clear(qa, 'c1') AND ndvi(red, nir) IS NOT NULL
  GROUP BY tile, chip_x, chip_y, px, py, row, col, year
) TO '${OUT}/ndvi_yearly.parquet' STORED AS PARQUET;

SELECT year,
       count(*) AS pixels,
       round(avg(ndvi_median), 4) AS mean_ndvi,
       round(avg(clear_observations), 1) AS mean_clear_obs,
       min(clear_observations) AS min_clear_obs,
       max(clear_observations) AS max_clear_obs
FROM '${OUT}/ndvi_yearly.parquet'
GROUP BY year
ORDER BY year;
