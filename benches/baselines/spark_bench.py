"""Apache Spark (PyPI pyspark, local[N]) on the harness's workloads, timed inside one Spark
session after a warm-up:

    spark_bench.py ccdc --pixels pixels.parquet --cores 2 --runs 3 --answer spark.csv
    spark_bench.py ndvi --observations obs.parquet --start 2016-01-01 --end 2016-12-31 ...
    spark_bench.py tpch --data DIR --queries DIR --answers DIR ...

ccdc runs pyccd per pixel over an RDD of pixel time series, the way lcmap-firebird did; ndvi is
Spark SQL over the stack's observations exported to Parquet; tpch runs the 22 TPC-H queries over
the same Parquet files ardent reads.
"""
import argparse
import csv
import glob
import os
import sys
import warnings

import bench_common as bc

BANDS = ["blue", "green", "red", "nir", "swir1", "swir2", "thermal", "qa"]
TPCH_TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def session(cores, memory):
    from pyspark.sql import SparkSession
    # Python workers run this interpreter (the venv with pyccd) and know bench_common.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (SparkSession.builder.master(f"local[{cores}]").appName("ardent-bench")
             .config("spark.driver.memory", memory)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.addPyFile(bc.__file__)
    return spark


def pyccd_partition(rows):
    """lcmap-firebird's per-pixel step: one pixel's time series into ccd.detect."""
    import numpy as np
    import ccd
    warnings.simplefilter("ignore")
    for r in rows:
        dates = np.array([d.toordinal() for d in r["dates"]], dtype=np.int64)
        bands = [np.array(r[b], dtype=np.int64) for b in BANDS]
        result = ccd.detect(dates, *bands)
        yield bc.ccdc_line(r["row"], r["col"], result["change_models"])


def ccdc(spark, a):
    pixels = spark.read.parquet(a.pixels)
    # Many small partitions, so both cores stay busy whatever each pixel costs.
    parts = 4 * a.cores
    job = lambda: pixels.rdd.repartition(parts).mapPartitions(pyccd_partition).collect()
    warm = lambda: pixels.limit(4 * a.cores).rdd.repartition(a.cores).mapPartitions(pyccd_partition).collect()
    times, lines = bc.measure("spark ccdc", job, a.runs, warm)
    bc.write_lines(a.answer, "row,col,segments", lines)
    return times, {"pixels": len(lines)}


def ndvi(spark, a):
    from pyspark.sql import functions as F
    obs = spark.read.parquet(a.observations)
    qa = F.col("qa")
    clear = ((qa.bitwiseAND(0b111001) == 0) & (qa.bitwiseAND(0b110) != 0))
    red, nir = F.col("red").cast("double"), F.col("nir").cast("double")
    medians = (obs.where((F.col("date") >= F.lit(a.start).cast("date")) & (F.col("date") <= F.lit(a.end).cast("date")))
               .where(clear & (F.col("red") != -9999) & (F.col("nir") != -9999) & ((red + nir) != 0))
               .select("row", "col", ((nir - red) / (nir + red)).alias("ndvi"))
               .groupBy("row", "col").agg(F.median("ndvi").alias("ndvi_median")))
    job = lambda: medians.collect()
    times, rows = bc.measure("spark ndvi", job, a.runs, job)
    lines = [f"{r['row']},{r['col']},{r['ndvi_median']:.9f}" for r in rows]
    bc.write_lines(a.answer, "row,col,ndvi_median", lines)
    return times, {"pixels": len(lines)}


def tpch(spark, a):
    for t in TPCH_TABLES:
        spark.read.parquet(os.path.join(a.data, f"{t}.parquet")).createOrReplaceTempView(t)
    os.makedirs(a.answers, exist_ok=True)
    queries = {}
    for path in sorted(glob.glob(os.path.join(a.queries, "q*.sql"))):
        name = os.path.basename(path)[:-4]
        with open(path) as f:
            sql = f.read()
        job = lambda: spark.sql(sql).collect()
        times, rows = bc.measure(f"spark tpch {name}", job, a.runs, job)
        with open(os.path.join(a.answers, f"{name}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            for r in rows:
                w.writerow(["" if v is None else v for v in r])
        queries[name] = times
    total = [sum(q[i] for q in queries.values()) for i in range(a.runs)]
    return total, {"queries": queries}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="workload", required=True)
    for name in ("ccdc", "ndvi", "tpch"):
        s = sub.add_parser(name)
        s.add_argument("--cores", type=int, default=os.cpu_count())
        s.add_argument("--memory", default="8g", help="spark.driver.memory")
        s.add_argument("--runs", type=int, default=3)
    sub.choices["ccdc"].add_argument("--pixels", required=True)
    sub.choices["ccdc"].add_argument("--answer", required=True)
    sub.choices["ndvi"].add_argument("--observations", required=True)
    sub.choices["ndvi"].add_argument("--start", required=True)
    sub.choices["ndvi"].add_argument("--end", required=True)
    sub.choices["ndvi"].add_argument("--answer", required=True)
    sub.choices["tpch"].add_argument("--data", required=True)
    sub.choices["tpch"].add_argument("--queries", required=True)
    sub.choices["tpch"].add_argument("--answers", required=True)
    a = p.parse_args()
    spark = session(a.cores, a.memory)
    try:
        times, extra = {"ccdc": ccdc, "ndvi": ndvi, "tpch": tpch}[a.workload](spark, a)
        import pyspark
        bc.report("spark", times, workers=a.cores,
                  versions={"pyspark": pyspark.__version__, "java": spark.sparkContext._jvm.java.lang.System.getProperty("java.version")},
                  **extra)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
