"""pyccd on the pixels the `ccdc` criterion bench just timed, and ardent's ratio to it.

Run by `make bench` after `cargo bench --bench ccdc`: times `ccd.detect` (lcmap-pyccd 2021.7.19,
pinned stack from tests/requirements.txt) on each pixel, median of 5 runs after a warm-up, one
core, reads ardent's medians from target/criterion, and prints a markdown table.
"""
import csv
import glob
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import ccd

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CFMASK = {"QA_BITPACKED": False, "QA_FILL": 255, "QA_CLEAR": 0, "QA_WATER": 1,
          "QA_SHADOW": 2, "QA_SNOW": 3, "QA_CLOUD": 4}


def load(path):
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    columns = np.array(rows, dtype=np.int64).T
    return columns[0], columns[1:8], columns[8]


def pyccd_seconds(path, runs=5):
    dates, spectra, qa = load(path)
    params = CFMASK if ".cfmask." in path else {}
    detect = lambda: ccd.detect(dates, *spectra, qa, params=dict(params))
    detect()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        detect()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(dates)


def ardent_seconds(name):
    path = os.path.join(ROOT, "target/criterion/ccdc_pixel", name, "new/estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"] / 1e9


def main():
    warnings.simplefilter("ignore")
    paths = sorted(glob.glob(os.path.join(ROOT, "tests/data/pyccd-pixels/*.csv")))
    paths.append(os.path.join(ROOT, "target/ccdc-bench/synthetic_1000.cfmask.csv"))
    print("| pixel | observations | pyccd | ardent | ardent / pyccd |")
    print("|---|---|---|---|---|")
    ratios = []
    for path in paths:
        name = os.path.basename(path)[: -len(".csv")]
        py, n = pyccd_seconds(path)
        try:
            rs = ardent_seconds(name)
        except OSError:
            sys.exit(f"no criterion result for {name}: run `cargo bench --bench ccdc` first")
        ratios.append(py / rs)
        print(f"| {name} | {n} | {py * 1e3:.1f} ms | {rs * 1e3:.3f} ms | {py / rs:.0f}x faster |")
    geo = float(np.exp(np.mean(np.log(ratios))))
    print(f"\ngeometric mean: ardent {geo:.0f}x faster than pyccd per pixel on one core")


if __name__ == "__main__":
    main()
