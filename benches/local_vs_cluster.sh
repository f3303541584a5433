#!/usr/bin/env bash
# The same raster job in local mode and on a one-host cluster (1 scheduler + EXECUTORS executors):
# the demo's yearly clear-sky NDVI query over a synthetic stack, RUNS timed runs of each after one
# warm-up, medians and their ratio printed. Needs the release binaries (cargo build --release --bins).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release}
OUT=${OUT:-target/bench-local-vs-cluster}
SIZE=${SIZE:-200}
RUNS=${RUNS:-3}
EXECUTORS=${EXECUTORS:-2}
STACK="$OUT/stack"

for b in ardent ardent-scheduler ardent-executor; do
  [ -x "$BIN/$b" ] || { echo "error: $BIN/$b is missing: run cargo build --release --bins" >&2; exit 1; }
done
mkdir -p "$OUT"
if [ ! -f "$STACK/synth.json" ]; then
  rm -rf "$STACK"
  "$BIN/ardent" synth --out "$STACK" --size "$SIZE" --start 2013-01-01 --end 2020-12-31 --seed 42 >/dev/null
fi
STACK=$(cd "$STACK" && pwd)
cat > "$OUT/job.sql" <<SQL
CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '$STACK' OPTIONS ('layout' 'observations');
SELECT CAST(date_part('year', date) AS INT) AS year, count(*) AS clear_observations,
       round(avg(ndvi(red, nir)), 9) AS mean_ndvi
FROM ard WHERE qa_clear(qa, 'c1') AND ndvi(red, nir) IS NOT NULL
GROUP BY year ORDER BY year;
SQL

"$BIN/ardent" cluster down --dir "$OUT/cluster" >/dev/null 2>&1 || true
master=$("$BIN/ardent" cluster up --executors "$EXECUTORS" --port 0 --dir "$OUT/cluster" | sed -n 's/^master: //p')
trap '"$BIN/ardent" cluster down --dir "$OUT/cluster" >/dev/null' EXIT

millis() { echo $(( $(date +%s%N) / 1000000 )); }
# Median of RUNS timed runs after a warm-up, in ms; the answer goes to $OUT/<name>.csv.
timed() {
  local name=$1 url=$2 times=()
  "$BIN/ardent" sql --quiet --master "$url" --format csv -f "$OUT/job.sql" > "$OUT/$name.csv"
  for _ in $(seq "$RUNS"); do
    local t0; t0=$(millis)
    "$BIN/ardent" sql --quiet --master "$url" --format csv -f "$OUT/job.sql" > /dev/null
    times+=( $(( $(millis) - t0 )) )
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}
local_ms=$(timed local local)
cluster_ms=$(timed cluster "$master")
cmp -s "$OUT/local.csv" "$OUT/cluster.csv" || { echo "error: answers differ: $OUT/local.csv $OUT/cluster.csv" >&2; exit 1; }
observations=$(awk -F, 'NR > 1 { n += $2 } END { print n }' "$OUT/local.csv")
echo "stack ${SIZE}x${SIZE} px, $(nproc) cores, $observations clear observations; median of $RUNS runs"
echo "local:   $local_ms ms"
echo "cluster: $cluster_ms ms (1 scheduler + $EXECUTORS executors on this host)"
awk -v c="$cluster_ms" -v l="$local_ms" 'BEGIN { printf "ratio cluster/local: %.2f\n", c / l }'
