"""The demo's last step: the ten LCMAP products of one year on one page, and the primary land
cover's accuracy against the synthetic stack's ground truth.

usage: python demo/summary.py PRODUCTS_DIR TRUTH_CSV YEAR OUT_PNG
"""
import csv
import datetime
import glob
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402

CHANGE = ["SCTIME", "SCMAG", "SCLAST", "SCSTAB", "SCMQA"]
COVER = ["LCPRI", "LCSEC", "LCPCONF", "LCSCONF", "LCACHG"]
CLASSES = ["none", "developed", "cropland", "grass/shrub", "tree cover", "water", "wetland",
           "ice/snow", "barren"]
# The generator's covers as LCMAP classes.
SYNTH_CLASS = {"developed": 1, "grass": 3, "forest": 4, "water": 5, "barren": 8}
# LCMAP's legend colours for the cover classes.
COLOURS = ["#000000", "#e8000b", "#ffc300", "#b7e583", "#2d7d32", "#1e64c8", "#37c3c3",
           "#ffffff", "#a0826e"]


def product(folder, year, name):
    (path,) = glob.glob(os.path.join(folder, f"LCMAP_CU_*_{year}_{name}.tif"))
    with rasterio.open(path) as f:
        return f.read(1)


def truth_classes(truth_csv, day, shape):
    """Each pixel's true class on `day`: its cover, or the cover after its change once it happened."""
    classes = np.zeros(shape, dtype=np.uint8)
    with open(truth_csv) as f:
        for row in csv.DictReader(f):
            changed = row["change_date"] and datetime.date.fromisoformat(row["change_date"]) <= day
            cover = row["cover_after"] if changed else row["cover"]
            classes[int(row["row"]), int(row["col"])] = SYNTH_CLASS[cover]
    return classes


def main():
    folder, truth_csv, year, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    primary = product(folder, year, "LCPRI")
    truth = truth_classes(truth_csv, datetime.date(year, 7, 1), primary.shape)
    right = primary == truth
    print(f"LCPRI {year} against the generator's truth: {right.mean():.1%} of {right.size} pixels")
    print("class          truth  mapped  agreement")
    for c in sorted(set(truth.flat) | set(primary.flat)):
        n_true = int((truth == c).sum())
        agree = (right & (truth == c)).sum() / n_true if n_true else float("nan")
        print(f"{CLASSES[c]:<14} {n_true:>5}  {int((primary == c).sum()):>6}  {agree:>9.1%}")

    fig, axes = plt.subplots(2, 5, figsize=(20, 8.6), layout="constrained")
    cover_map = matplotlib.colors.ListedColormap(COLOURS)
    for ax, name in zip(axes.flat, CHANGE + COVER):
        values = product(folder, year, name)
        if name in ("LCPRI", "LCSEC"):
            image = ax.imshow(values, cmap=cover_map, vmin=-0.5, vmax=8.5, interpolation="nearest")
        else:
            image = ax.imshow(values, cmap="viridis", interpolation="nearest")
            fig.colorbar(image, ax=ax, shrink=0.7)
        ax.set_title(name)
        ax.set_axis_off()
    handles = [matplotlib.patches.Patch(color=COLOURS[c], label=CLASSES[c]) for c in SYNTH_CLASS.values()]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles))
    fig.suptitle(f"LCMAP products, July 1 {year}: LCPRI agrees with the truth on {right.mean():.1%} of pixels")
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
