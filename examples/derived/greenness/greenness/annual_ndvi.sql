-- The yearly clear-sky NDVI median of every pixel of a stack ({stack} is filled in by greenness).
CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{stack}' OPTIONS ('layout' 'observations');
SELECT row, col, CAST(date_part('year', date) AS INT) AS year, median(ndvi(red, nir)) AS ndvi
FROM obs
WHERE qa_clear(qa, 'c1')
GROUP BY row, col, year
ORDER BY row, col, year
