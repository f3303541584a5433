"""CCDC with lcmap-pyccd 2021.7.19 in plain Python: every pixel of a pixels table (Parquet, as
ardent exports it) through `ccd.detect` on a multiprocessing pool of one worker per core, the way
a scientist without Spark would run it.

    pyccd_pool.py --pixels pixels.parquet --workers 2 --runs 3 --answer pyccd.csv
"""
import argparse
import multiprocessing as mp
import platform
import warnings
from importlib.metadata import version

import numpy as np
import pyarrow.parquet as pq

import bench_common as bc

BANDS = ["blue", "green", "red", "nir", "swir1", "swir2", "thermal", "qa"]


def load(path, limit=None):
    """The pixels as (row, col, dates, band arrays...) tuples of numpy arrays."""
    table = pq.read_table(path, columns=["row", "col", "dates"] + BANDS)
    if limit is not None:
        table = table.slice(0, limit)
    rows = table.column("row").to_numpy()
    cols = table.column("col").to_numpy()

    def lists(name, dtype):
        array = table.column(name).combine_chunks()
        values = array.flatten().to_numpy(zero_copy_only=False).astype(dtype)
        offsets = array.offsets.to_numpy()
        return [values[offsets[i]:offsets[i + 1]] for i in range(len(array))]

    dates = lists("dates", "datetime64[D]")
    dates = [d.astype(np.int64) + bc.EPOCH_ORDINAL for d in dates]
    bands = [lists(b, np.int64) for b in BANDS]
    return [(rows[i], cols[i], dates[i], *[b[i] for b in bands]) for i in range(len(rows))]


def detect(pixel):
    import ccd
    row, col, dates, *bands = pixel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ccd.detect(dates, *bands)
    return bc.ccdc_line(row, col, result["change_models"])


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pixels", required=True)
    p.add_argument("--workers", type=int, default=mp.cpu_count())
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--answer", required=True)
    a = p.parse_args()
    with mp.Pool(a.workers) as pool:
        # Warm-up: start the workers and import pyccd in each, over a few pixels.
        warm = lambda: pool.map(detect, load(a.pixels, limit=4 * a.workers))
        job = lambda: pool.map(detect, load(a.pixels), chunksize=8)
        times, lines = bc.measure("pyccd", job, a.runs, warm)
    bc.write_lines(a.answer, "row,col,segments", lines)
    bc.report("pyccd", times, pixels=len(lines), workers=a.workers,
              versions={"python": platform.python_version(),
                        **{name: version(name) for name in ("lcmap-pyccd", "numpy", "scipy", "scikit-learn")}})


if __name__ == "__main__":
    main()
