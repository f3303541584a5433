"""ardent's Python client: SQL over Landsat ARD stacks on an ardent cluster through Arrow Flight SQL.

``connect`` opens an authenticated session on the scheduler's Flight SQL port over the stock ADBC
driver; ``Connection.sql`` runs a statement and returns a ``pyarrow.Table``. The helpers turn
CCDC results into LCMAP's segment table (``segments``), plot a pixel's series with its fitted
segments and breaks (``plot_pixel``) and show a per-pixel column as an image (``show_map``).
"""

from .client import ArdentError, Connection, connect
from .ccdc import plot_pixel, segments
from .maps import map_array, show_map

__all__ = [
    "ArdentError",
    "Connection",
    "connect",
    "map_array",
    "plot_pixel",
    "segments",
    "show_map",
]
__version__ = "0.1.0"
