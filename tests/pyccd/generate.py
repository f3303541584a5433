"""Generated pixel time series and pyccd's results on them, for ardent's CCDC parity test.

Writes NAME.KIND.csv (ordinal_date,blue,green,red,nir,swir1,swir2,thermal,qa) and beside it
NAME.KIND.pyccd.json (what ccd.detect returned, with _meta.params) for each pixel, KIND being
cfmask or c1bitpacked. The pixels cover the regimes CCDC meets: stable land, one or two abrupt
changes, heavy cloud, seasonal and permanent snow, fill, short series (4 and 6 coefficient
models), long dense series (8 coefficients), water, and Landsat 7-like duplicate dates.

usage: python generate.py OUT_DIR [--count 200] [--seed 7]
"""
import argparse
import json
import os
import time

import numpy as np
import ccd

CFMASK = {"QA_BITPACKED": False, "QA_FILL": 255, "QA_CLEAR": 0, "QA_WATER": 1,
          "QA_SHADOW": 2, "QA_SNOW": 3, "QA_CLOUD": 4}
# Collection 1 pixel_qa bits: 0 fill, 1 clear, 2 water, 3 shadow, 4 snow, 5 cloud.
C1 = {"fill": 1, "clear": 2 | 64, "water": 4 | 64, "shadow": 8 | 64, "snow": 16 | 64,
      "cloud": 32 | 64 | 128}
CODES = {"fill": 255, "clear": 0, "water": 1, "shadow": 2, "snow": 3, "cloud": 4}
REGIMES = ["stable", "one_break", "two_breaks", "heavy_cloud", "snowy_winters",
           "permanent_snow", "fill", "short", "medium", "dense", "water", "duplicates"]


def acquisition_dates(rng, start_year, years, sensors):
    start = np.datetime64(f"{start_year}-01-01").astype(object).toordinal()
    offset = rng.integers(0, 16)
    dates = []
    for s in range(sensors):
        first = start + offset + 8 * s
        dates.extend(range(first, first + int(years * 365.25), 16))
    return np.array(sorted(dates), dtype=np.int64)


def pixel(rng, regime):
    years = {"short": rng.uniform(1.2, 2.5), "medium": rng.uniform(3, 5),
             "dense": rng.uniform(20, 30)}.get(regime, rng.uniform(6, 16))
    sensors = 2 if regime in ("dense", "duplicates") or rng.random() < 0.5 else 1
    dates = acquisition_dates(rng, int(rng.integers(1984, 2012)), years, sensors)
    if regime == "duplicates":
        extra = rng.choice(dates, size=len(dates) // 10, replace=False)
        dates = np.sort(np.concatenate([dates, extra]))
    n = len(dates)
    w = 2 * np.pi / 365.2425
    base = np.array([400, 700, 600, 3000, 2000, 1000]) * rng.uniform(0.6, 1.4, 6)
    amplitude = np.array([80, 120, 150, 900, 400, 250]) * rng.uniform(0.3, 1.5, 6)
    phase = rng.uniform(0, 2 * np.pi)
    season = np.cos(w * dates + phase)
    bands = base[:, None] + amplitude[:, None] * season[None, :]
    thermal = 2900 + 120 * season + rng.normal(0, 15, n)
    breaks = {"one_break": 1, "two_breaks": 2}.get(regime, int(rng.random() < 0.3))
    for day in np.sort(rng.choice(dates[n // 5: 4 * n // 5], size=breaks, replace=False)) if n > 20 else []:
        shift = np.array([150, 250, 400, -1500, 700, 500]) * rng.uniform(0.5, 1.5) * rng.choice([-1, 1])
        bands[:, dates >= day] += shift[:, None]
    bands += rng.normal(0, 1, bands.shape) * np.array([25, 30, 35, 120, 60, 45])[:, None]
    qa = np.array(["clear"] * n, dtype=object)
    cloud = {"heavy_cloud": 0.8, "water": 0.2}.get(regime, rng.uniform(0.05, 0.4))
    clouds = rng.random(n) < cloud
    qa[clouds] = "cloud"
    bands[:, clouds] += 2500
    thermal[clouds] -= 200
    shadows = (~clouds) & (rng.random(n) < 0.05)
    qa[shadows] = "shadow"
    bands[:, shadows] *= 0.5
    if regime == "water":
        qa[(qa == "clear") & (rng.random(n) < 0.7)] = "water"
        bands[3:, :] *= 0.2
    doy = np.array([(d - 1) % 365.2425 for d in dates])
    if regime in ("snowy_winters", "permanent_snow"):
        winter = (doy < 80) | (doy > 330) if regime == "snowy_winters" else np.ones(n, bool)
        snow = winter & (qa != "cloud") & (rng.random(n) < 0.9)
        qa[snow] = "snow"
        bands[:, snow] = np.array([6000, 6500, 6800, 6000, 800, 600])[:, None] + rng.normal(0, 200, (6, snow.sum()))
    fill = rng.random(n) < (0.3 if regime == "fill" else 0.02)
    qa[fill] = "fill"
    bands[:, fill] = -9999
    thermal[fill] = -9999
    # Now and then saturation or an out-of-range value.
    saturated = rng.random(n) < 0.01
    bands[0, saturated] = 16000
    spectra = np.vstack([np.round(bands), np.round(thermal)[None, :]]).astype(np.int64)
    return dates, np.clip(spectra, -32768, 32767), qa


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for i in range(args.count):
        regime = REGIMES[i % len(REGIMES)]
        dates, spectra, classes = pixel(rng, regime)
        kind = "cfmask" if i % 2 == 0 else "c1bitpacked"
        coding = CODES if kind == "cfmask" else C1
        qa = np.array([coding[c] for c in classes], dtype=np.int64)
        # Shuffle the rows: pyccd sorts by date itself.
        order = rng.permutation(len(dates))
        dates, spectra, qa = dates[order], spectra[:, order], qa[order]
        name = f"gen{i:04d}_{regime}.{kind}"
        with open(os.path.join(args.out, name + ".csv"), "w") as f:
            f.write("ordinal_date,blue,green,red,nir,swir1,swir2,thermal,qa\n")
            for j in range(len(dates)):
                f.write(",".join(str(int(v)) for v in [dates[j], *spectra[:, j], qa[j]]) + "\n")
        params = CFMASK if kind == "cfmask" else {}
        t0 = time.time()
        result = ccd.detect(dates, *spectra, qa, params=dict(params))
        result["_meta"] = {"params": params, "seconds": time.time() - t0, "regime": regime}
        with open(os.path.join(args.out, name + ".pyccd.json"), "w") as f:
            json.dump(result, f, default=float)


if __name__ == "__main__":
    main()
