#!/usr/bin/env bash
# The main job (make demo): generate a synthetic ARD stack, compute per-pixel yearly clear-sky NDVI
# medians and clear-observation counts in SQL, write Parquet, GeoTIFF maps and PNG previews, run CCDC,
# train LCMAP's land-cover classifier on the stack's labels and write LCMAP's ten products, with a
# one-page summary and the land cover's accuracy against the generator's truth.
set -euo pipefail
cd "$(dirname "$0")/.."

ARDENT=${ARDENT:-target/release/ardent}
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-out/demo}
SIZE=${SIZE:-200}
START=${START:-2013-01-01}
END=${END:-2020-12-31}
STACK="$OUT/stack"

step() { printf '\n== %s\n' "$*"; }
seconds() { echo $(( $(date +%s%N) / 1000000 )); }

rm -rf "$OUT"
mkdir -p "$OUT"

step "1/9 synthetic ARD stack: ${SIZE}x${SIZE} px, $START to $END"
t0=$(seconds)
"$ARDENT" synth --out "$STACK" --size "$SIZE" --start "$START" --end "$END" --seed 42
t_synth=$(( $(seconds) - t0 ))

step "2/9 yearly clear-sky NDVI medians and clear-observation counts (SQL)"
sed -e "s|\${STACK}|$STACK|g" -e "s|\${OUT}|$OUT|g" demo/yearly_ndvi.sql > "$OUT/yearly_ndvi.sql"
t0=$(seconds)
"$ARDENT" sql -f "$OUT/yearly_ndvi.sql"
t_sql=$(( $(seconds) - t0 ))

first=$(date -d "$START" +%Y)
last=$(date -d "$END" +%Y)
mid=$(( (first + last) / 2 ))

step "3/9 maps: NDVI median $mid, and NDVI change $first to $last"
t0=$(seconds)
"$ARDENT" map --stack "$STACK" --column ndvi_median --title "Clear-sky NDVI median $mid" \
  --out "$OUT/ndvi_median_$mid.tif" --png "$OUT/ndvi_median_$mid.png" \
  "SELECT row, col, ndvi_median FROM '$OUT/ndvi_yearly.parquet' WHERE year = $mid"
"$ARDENT" map --stack "$STACK" --column ndvi_change --title "NDVI median change $first to $last" \
  --out "$OUT/ndvi_change.tif" --png "$OUT/ndvi_change.png" \
  "SELECT a.row, a.col, b.ndvi_median - a.ndvi_median AS ndvi_change
     FROM '$OUT/ndvi_yearly.parquet' a JOIN '$OUT/ndvi_yearly.parquet' b USING (row, col)
    WHERE a.year = $first AND b.year = $last"
t_map=$(( $(seconds) - t0 ))

step "4/9 CCDC change detection on every pixel, scored against the ground truth (SQL)"
sed -e "s|\${STACK}|$STACK|g" -e "s|\${OUT}|$OUT|g" demo/ccdc.sql > "$OUT/ccdc.sql"
t0=$(seconds)
"$ARDENT" sql -f "$OUT/ccdc.sql"
t_ccdc=$(( $(seconds) - t0 ))

step "5/9 change maps: most recent break year, number of breaks, change magnitude"
t0=$(seconds)
for product in last_break_year breaks last_break_magnitude; do
  "$ARDENT" map --stack "$STACK" --column "$product" --title "CCDC $product" \
    --out "$OUT/$product.tif" --png "$OUT/$product.png" \
    "SELECT row, col, $product FROM '$OUT/change.parquet'"
done
t_change_maps=$(( $(seconds) - t0 ))

step "6/9 land-cover classifier: training rows from the stack's NLCD labels on July 1 $first, XGBoost"
t0=$(seconds)
"$ARDENT" training --stack "$STACK" --segments "$OUT/ccdc.parquet" --column c \
  --labels "$STACK/labels.tif" --date "$first-07-01" --out "$OUT/training.parquet" --quiet
PYTHONPATH=python "$PYTHON" -m ardent.landcover train "$OUT/training.parquet" "$OUT/landcover.json"
t_train=$(( $(seconds) - t0 ))

step "7/9 LCMAP's ten products (SCTIME, SCMAG, SCLAST, SCSTAB, SCMQA; LCPRI, LCSEC, LCPCONF, LCSCONF, LCACHG) for $first to $last"
t0=$(seconds)
"$ARDENT" products --stack "$STACK" --segments "$OUT/ccdc.parquet" --column c \
  --model "$OUT/landcover.json" --years "$first-$last" --out "$OUT/products" --png --quiet
t_products=$(( $(seconds) - t0 ))

step "8/9 one-page summary of $last's products, land cover against the truth"
"$PYTHON" demo/summary.py "$OUT/products" "$STACK/truth.csv" "$last" "$OUT/products_$last.png"

step "9/9 summary"
acquisitions=$(( $(find "$STACK" -name 'L[CET]0*.tif' | wc -l) / 8 ))
changed=$(awk -F, 'NR > 1 && $6 != "" { n++ } END { print n + 0 }' "$STACK/truth.csv")
cat <<TXT
stack:        $STACK ($acquisitions acquisitions, $(du -sh "$STACK" | cut -f1), ${SIZE}x${SIZE} px)
ground truth: $STACK/truth.csv ($changed pixels with an injected change)
parquet:      $OUT/ndvi_yearly.parquet, $OUT/ccdc.parquet (pyccd-shaped results), $OUT/change.parquet
maps:         $OUT/ndvi_median_$mid.tif, $OUT/ndvi_change.tif,
              $OUT/last_break_year.tif, $OUT/breaks.tif, $OUT/last_break_magnitude.tif (PNG previews beside)
classifier:   $OUT/training.parquet (training rows), $OUT/landcover.json (XGBoost model)
products:     $OUT/products ($(find "$OUT/products" -name '*.tif' | wc -l) cloud optimized GeoTIFFs, LCMAP's ten products per year)
summary:      $OUT/products_$last.png (the ten products of $last on one page)
timings:      synth ${t_synth} ms, sql ${t_sql} ms, maps ${t_map} ms, ccdc ${t_ccdc} ms, change maps ${t_change_maps} ms, training ${t_train} ms, products ${t_products} ms
TXT
