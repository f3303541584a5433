"""CCDC results as LCMAP's segment table, and a pixel's series with its fitted segments."""

from __future__ import annotations

import datetime as dt
import math
from typing import Iterable, Mapping, Optional, Sequence

import pandas as pd
import pyarrow as pa

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2", "thermal")
# pyccd's AVG_DAYS_YR: the period of the harmonics, in days.
AVG_DAYS_YR = 365.2425


def _ordinal(day) -> int:
    return day.toordinal() if isinstance(day, (dt.date, dt.datetime)) else int(day)


def segments(table: pa.Table, column: str = "ccdc", keys: Sequence[str] = ("px", "py")) -> pd.DataFrame:
    """One row per segment of the CCDC results in ``column`` of ``table``.

    The columns are LCMAP's: the ``keys`` of the pixel, then ``sday``, ``eday``, ``bday``
    (dates), ``chprob``, ``curqa``, ``obscount``, and per band ``<band>mag``, ``<band>rmse``,
    ``<band>int`` and ``<band>coef`` (the seven harmonic coefficients).
    """
    if column not in table.column_names:
        raise KeyError(f"the table has no column '{column}' (it has {table.column_names})")
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        raise KeyError(f"the table has no key column {missing}")
    rows = []
    for record in table.select([*keys, column]).to_pylist():
        result = record[column]
        for model in (result or {}).get("change_models") or []:
            row = {k: record[k] for k in keys}
            row.update(
                sday=model["start_day"],
                eday=model["end_day"],
                bday=model["break_day"],
                chprob=model["change_probability"],
                curqa=model["curve_qa"],
                obscount=model["observation_count"],
            )
            for band in BANDS:
                fit = model.get(band) or {}
                row[f"{band}mag"] = fit.get("magnitude")
                row[f"{band}rmse"] = fit.get("rmse")
                row[f"{band}int"] = fit.get("intercept")
                row[f"{band}coef"] = fit.get("coefficients")
            rows.append(row)
    columns = [*keys, "sday", "eday", "bday", "chprob", "curqa", "obscount"] + [
        f"{band}{part}" for band in BANDS for part in ("mag", "rmse", "int", "coef")
    ]
    return pd.DataFrame(rows, columns=columns)


def predict(fit: Mapping, day: float, avg_days_yr: float = AVG_DAYS_YR) -> float:
    """A band model's value on an ordinal day (pyccd's harmonic model)."""
    w = 2 * math.pi / avg_days_yr
    terms = [day] + [f(k * w * day) for k in (1, 2, 3) for f in (math.cos, math.sin)]
    return fit["intercept"] + sum(c * x for c, x in zip(fit["coefficients"], terms))


def plot_pixel(
    dates: Iterable,
    bands: Mapping[str, Sequence[float]],
    result: Mapping,
    title: Optional[str] = None,
    avg_days_yr: float = AVG_DAYS_YR,
):
    """Draws a pixel's observations, fitted segments and breaks, one panel per band, as
    ``ardent ccdc --plot`` does; returns the matplotlib figure.

    ``dates`` are the acquisition dates; ``bands`` maps band names to the values on those dates
    (as the pixels layout gives them); ``result`` is the pixel's ``ccdc(...)`` value. Observations
    the procedure used are blue, the others grey; breaks are dashed lines.
    """
    import matplotlib.pyplot as plt

    days = [_ordinal(d) for d in dates]
    order = sorted(range(len(days)), key=days.__getitem__)
    used = list(result.get("processing_mask") or [])
    models = result.get("change_models") or []
    # The standard procedure fits thermal in degrees C x 100; single-model ones in K x 10.
    celsius = bool(models) and models[0]["curve_qa"] not in (44, 54)
    shown = [b for b in BANDS if b in bands]
    fig, axes = plt.subplots(len(shown), 1, figsize=(12, 2.2 * len(shown)), sharex=True, squeeze=False)
    for ax, band in zip(axes[:, 0], shown):
        values = [bands[band][i] for i in order]
        if band == "thermal" and celsius:
            values = [v * 10 - 27315 if v is not None else None for v in values]
        xs = [dt.date.fromordinal(days[i]) for i in order]
        colors = ["tab:blue" if k < len(used) and used[k] else "lightgrey" for k in range(len(order))]
        ax.scatter(xs, values, s=6, c=colors)
        kept = [v for k, v in enumerate(values) if v is not None and k < len(used) and used[k]]
        if kept:
            lo, hi = min(kept), max(kept)
            pad = (hi - lo) * 0.1 or 1.0
            ax.set_ylim(lo - pad, hi + pad)
        for model in models:
            start, end = _ordinal(model["start_day"]), _ordinal(model["end_day"])
            curve = range(start, end + 1, 4)
            ax.plot(
                [dt.date.fromordinal(d) for d in curve],
                [predict(model[band], d, avg_days_yr) for d in curve],
                color="tab:red",
                linewidth=1.5,
            )
            if model["change_probability"] >= 1:
                ax.axvline(dt.date.fromordinal(_ordinal(model["break_day"])), color="black", linestyle="--", linewidth=1)
        ax.set_ylabel(band)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
