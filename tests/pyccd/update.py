"""pyccd's annual update on pixel series cut short and then extended, for ardent's parity test.

For each NAME.KIND.csv in the input folders (with NAME.KIND.pyccd.json beside it for its
params), the series is cut at the date 3/4 of the way through its span: `ccd.detect` runs on the
part up to the cut, with STAT_ORD at the cut so the one-time statistics are frozen there, as
LCMAP's annual runs do; then on the whole series with that result as `prev_results` and the same
params. Writes NAME.KIND.csv (the whole series), NAME.KIND.prev.json (the first result) and
NAME.KIND.pyccd.json (the update, with _meta.params) into OUT_DIR.

usage: python update.py OUT_DIR IN_DIR [IN_DIR ...]
"""
import json
import os
import shutil
import sys

import numpy as np
import ccd


def main():
    out, inputs = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for folder in inputs:
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".csv"):
                continue
            stem = name[: -len(".csv")]
            with open(os.path.join(folder, stem + ".pyccd.json")) as f:
                params = json.load(f)["_meta"]["params"]
            rows = np.loadtxt(os.path.join(folder, name), delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
            dates, spectra, qa = rows[:, 0], rows[:, 1:8].T, rows[:, 8]
            cut = int(dates.min() + 0.75 * (dates.max() - dates.min()))
            params = dict(params, STAT_ORD=cut)
            old = dates <= cut
            prev = ccd.detect(dates[old], *spectra[:, old], qa[old], params=dict(params))
            result = ccd.detect(dates, *spectra, qa, prev_results=prev, params=dict(params))
            result["_meta"] = {"params": params, "cut": cut}
            shutil.copy(os.path.join(folder, name), os.path.join(out, name))
            for suffix, value in ((".prev.json", prev), (".pyccd.json", result)):
                with open(os.path.join(out, stem + suffix), "w") as f:
                    json.dump(value, f, default=float)


if __name__ == "__main__":
    main()
