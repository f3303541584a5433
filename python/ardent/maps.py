"""A per-pixel column of a result as an image."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyarrow as pa


def map_array(table: pa.Table, column: str, width: Optional[int] = None, height: Optional[int] = None) -> np.ndarray:
    """The values of ``column`` placed at their ``row`` and ``col``, NaN where none; the size is
    the result's extent unless given."""
    for name in ("row", "col", column):
        if name not in table.column_names:
            raise KeyError(f"the table has no column '{name}' (a map needs row, col and the value)")
    rows = table.column("row").to_numpy(zero_copy_only=False).astype(np.int64)
    cols = table.column("col").to_numpy(zero_copy_only=False).astype(np.int64)
    values = table.column(column).cast(pa.float64()).to_numpy(zero_copy_only=False)
    height = height if height is not None else (int(rows.max()) + 1 if len(rows) else 0)
    width = width if width is not None else (int(cols.max()) + 1 if len(cols) else 0)
    image = np.full((height, width), np.nan)
    image[rows, cols] = values
    return image


def show_map(table: pa.Table, column: str, title: Optional[str] = None, cmap: str = "viridis", ax=None):
    """Shows ``column`` of a per-pixel result (with ``row`` and ``col``) as an image with a colour
    bar; returns the matplotlib image."""
    import matplotlib.pyplot as plt

    image = map_array(table, column)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    shown = ax.imshow(image, cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(shown, ax=ax, label=column)
    ax.set_title(title or column)
    ax.set_axis_off()
    return shown
