"""greenness: per-pixel greening and browning trends of a Landsat ARD stack, on ardent.

ardent computes each pixel's yearly clear-sky NDVI median (``annual_ndvi.sql``), embedded or on
the cluster that ``ARDENT_MASTER`` names; this package fits a least-squares trend per pixel.
"""

from .trend import annual_ndvi, trends

__all__ = ["annual_ndvi", "trends"]
