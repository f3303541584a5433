"""The yearly NDVI medians from ardent, and a linear trend per pixel."""

from __future__ import annotations

import io
import subprocess
import tempfile
from importlib import resources
from typing import Optional

import numpy as np
import pandas as pd


def annual_ndvi(stack: str, master: Optional[str] = None) -> pd.DataFrame:
    """Runs ``annual_ndvi.sql`` over ``stack`` with the ``ardent`` CLI: row, col, year, ndvi.

    ``master`` is ardent's ``--master`` (``local``, ``df://host:port``); by default the CLI's own
    (``ARDENT_MASTER``, else embedded).
    """
    if "'" in stack:
        raise ValueError(f"a stack location cannot contain a quote: {stack!r}")
    sql = resources.files(__package__).joinpath("annual_ndvi.sql").read_text().format(stack=stack)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as job:
        job.write(sql)
        job.flush()
        command = ["ardent", "sql", "--quiet", "--format", "csv", "-f", job.name]
        if master:
            command[1:1] = ["--master", master]
        run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"ardent failed on {stack}: {run.stderr.strip()}")
    return pd.read_csv(io.StringIO(run.stdout))


def trends(annual: pd.DataFrame, min_years: int = 3) -> pd.DataFrame:
    """The least-squares NDVI slope per year of each pixel with at least ``min_years`` years."""
    rows = []
    for (row, col), pixel in annual.dropna(subset=["ndvi"]).groupby(["row", "col"]):
        if len(pixel) < min_years:
            continue
        slope, intercept = np.polyfit(pixel["year"], pixel["ndvi"], 1)
        rows.append((row, col, len(pixel), slope, intercept))
    return pd.DataFrame(rows, columns=["row", "col", "years", "slope", "intercept"])
