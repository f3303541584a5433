"""A per-pixel column of a result as an image."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import pyarrow as pa


def map_array(table: pa.Table, column: str, shape: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """The values of ``column`` placed at their ``row`` and ``col``, NaN where none; ``shape``
    (rows, cols) is the result's extent unless given."""
    for name in ("row", "col", column):
        if name not in table.column_names:
            raise KeyError(f"the table has no column '{name}' (a map needs row, col and the value)")
    rows = table.column("row").to_numpy(zero_copy_only=False).astype(np.int64)
    cols = table.column("col").to_numpy(zero_copy_only=False).astype(np.int64)
    values = table.column(column).cast(pa.float64()).to_numpy(zero_copy_only=False)
    if shape is None:
        shape = (int(rows.max()) + 1, int(cols.max()) + 1) if len(rows) else (0, 0)
    height, width = shape
    if len(rows) and (rows.max() >= height or cols.max() >= width or min(rows.min(), cols.min()) < 0):
        raise ValueError(f"a row or col of the result lies outside the {height}x{width} map")
    image = np.full((height, width), np.nan)
    image[rows, cols] = values
    return image


def show_map(
    table: pa.Table,
    column: str,
    title: Optional[str] = None,
    cmap: str = "viridis",
    shape: Optional[Tuple[int, int]] = None,
    ax=None,
):
    """Shows ``column`` of a per-pixel result (with ``row`` and ``col``) as an image with a colour
    bar, on a grid of ``shape`` (rows, cols; the result's extent by default); returns the
    matplotlib image."""
    import matplotlib.pyplot as plt

    image = map_array(table, column, shape)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    shown = ax.imshow(image, cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(shown, ax=ax, label=column)
    ax.set_title(title or column)
    ax.set_axis_off()
    return shown
