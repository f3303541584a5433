"""The per-pixel clear-sky NDVI median of one period, as a scientist would write it with rasterio
and numpy: read red, nir and pixel_qa of every acquisition in the period from the ARD GeoTIFFs,
mask what is not clear (Collection 1 bits) or is fill, and take the median along time.

    rasterio_ndvi.py --stack DIR --start 2016-01-01 --end 2016-12-31 --runs 3 --answer rasterio.csv
"""
import argparse
import glob
import os
import warnings

import numpy as np
import rasterio

import bench_common as bc

FILL = -9999
# ARD Collection 1 band files: Landsat 8 numbers its bands one higher than Landsat 4-7.
RED_NIR = {"LC08": ("SRB4", "SRB5")}
RED_NIR_TM = ("SRB3", "SRB4")


def acquisitions(stack, start, end):
    """(red, nir, qa) paths per acquisition in [start, end], from ARD file names."""
    found = {}
    # Collection 1 band files only: a synthetic stack also holds labels.tif and elevation.tif.
    for path in glob.glob(os.path.join(stack, "L*_C01_*.tif")):
        parts = os.path.basename(path)[:-4].split("_")
        sensor, date, band = parts[0], parts[3], parts[-1]
        if start <= date <= end:
            found.setdefault((date, sensor), {})[band] = path
    out = []
    for (date, sensor), files in sorted(found.items()):
        red, nir = RED_NIR.get(sensor, RED_NIR_TM)
        out.append((files[red], files[nir], files["PIXELQA"]))
    return out


def read(path):
    with rasterio.open(path) as src:
        return src.read(1)


def ndvi_median(stack, start, end):
    layers = []
    for red_path, nir_path, qa_path in acquisitions(stack, start, end):
        red = read(red_path).astype(np.float64)
        nir = read(nir_path).astype(np.float64)
        qa = read(qa_path).astype(np.int64)
        total = nir + red
        valid = bc.is_clear_c1(qa) & (red != FILL) & (nir != FILL) & (total != 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            layers.append(np.where(valid, (nir - red) / total, np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-NaN pixels: no clear observation, no median
        return np.nanmedian(np.stack(layers), axis=0), len(layers)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--stack", required=True)
    p.add_argument("--start", required=True, help="YYYY-MM-DD, inclusive")
    p.add_argument("--end", required=True, help="YYYY-MM-DD, inclusive")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--answer", required=True)
    a = p.parse_args()
    start, end = a.start.replace("-", ""), a.end.replace("-", "")
    job = lambda: ndvi_median(a.stack, start, end)
    times, (median, n) = bc.measure("rasterio", job, a.runs, job)
    rows, cols = np.nonzero(~np.isnan(median))
    lines = [f"{r},{c},{median[r, c]:.9f}" for r, c in zip(rows, cols)]
    bc.write_lines(a.answer, "row,col,ndvi_median", lines)
    bc.report("rasterio", times, pixels=int(median.size), acquisitions=n, workers=1,
              versions={"rasterio": rasterio.__version__, "gdal in rasterio": rasterio.__gdal_version__,
                        "numpy": np.__version__})


if __name__ == "__main__":
    main()
