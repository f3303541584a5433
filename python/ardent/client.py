"""Sessions on an ardent scheduler's Flight SQL port, over the ADBC Flight SQL driver."""

from __future__ import annotations

import re
from typing import Any, Optional

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pyarrow as pa


class ArdentError(Exception):
    """A statement or connection the server refused, with the server's message.

    ``code`` is the server's gRPC status code name (``"UNAUTHENTICATED"``,
    ``"INVALID_ARGUMENT"``, ...), else ADBC's status (``"IO"`` when no server answered);
    ``__cause__`` is the ADBC error.
    """

    def __init__(self, message: str, code: Optional[str] = None):
        super().__init__(message)
        self.code = code


# gRPC status codes by number: ADBC's Flight SQL driver gives the server's as the vendor code.
_GRPC_CODES = (
    "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS "
    "PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE "
    "UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED"
).split()


def _error(e: adbc_driver_manager.Error, what: str) -> ArdentError:
    # ADBC's message reads "<ADBC status>: [FlightSQL] <server message> (<gRPC code>; <call>)".
    text = str(e)
    vendor = getattr(e, "vendor_code", None)
    named = re.findall(r"\((\w+); [^()]*\)", text)
    if isinstance(vendor, int) and 0 < vendor < len(_GRPC_CODES):
        code = _GRPC_CODES[vendor]
    elif named and named[-1] != "OK":
        # Go's names of the codes (ResourceExhausted, Canceled) in gRPC's spelling.
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", named[-1]).upper().replace("CANCELED", "CANCELLED")
    else:
        code = text.split(":", 1)[0] if ":" in text else None
    message = text.split("[FlightSQL] ", 1)[-1]
    message = message.rsplit(" (", 1)[0] if message.endswith(")") else message
    return ArdentError(f"{what}: {message}", code)


class Connection:
    """One session on the server: its tables, views and settings last as long as it does.

    Use it as a context manager, or call ``close``. ``adbc`` is the underlying DB-API
    connection, for what this class does not wrap (``adbc_get_objects``, cursors).
    """

    def __init__(self, adbc: flightsql.Connection):
        self.adbc = adbc

    def sql(self, statement: str) -> pa.Table:
        """Runs one SQL statement and returns its result (empty for DDL).

        Queries run on the cluster; ``CREATE EXTERNAL TABLE``, views and ``SET`` change this
        session; ``COPY (query) TO 'path' STORED AS PARQUET`` is written by the executors, and
        ``COPY (query) TO 'map.tif' STORED AS GEOTIFF OPTIONS ('grid' 'table', 'column' 'c')``
        writes a map on the scheduler.
        """
        with self.adbc.cursor() as cursor:
            try:
                cursor.execute(statement)
                return cursor.fetch_arrow_table()
            except adbc_driver_manager.Error as e:
                raise _error(e, "the statement failed") from e

    def tables(self) -> list[str]:
        """The names of the tables and views of this session."""
        objects = self.adbc.adbc_get_objects(depth="tables").read_all().to_pylist()
        return sorted(
            table["table_name"]
            for catalog in objects
            for schema in catalog["catalog_db_schemas"] or []
            for table in schema["db_schema_tables"] or []
            if schema["db_schema_name"] != "information_schema"
        )

    def close(self) -> None:
        self.adbc.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def connect(
    url: str,
    user: Optional[str] = None,
    password: Optional[str] = None,
    tls_root_certs: Optional[str] = None,
    **db_kwargs: str,
) -> Connection:
    """Opens a session on the Flight SQL port of an ardent scheduler.

    ``url`` is ``grpc://host:port`` (plain) or ``grpc+tls://host:port``; ``tls_root_certs`` is the
    PEM text of the CA that signed the server's certificate, when it is not a public one. Further
    ADBC Flight SQL options go in ``db_kwargs``. Autocommit is on: the server has no
    transactions.
    """
    kwargs = dict(db_kwargs)
    if user is not None:
        kwargs["username"] = user
    if password is not None:
        kwargs["password"] = password
    if tls_root_certs is not None:
        kwargs[adbc_driver_flightsql.DatabaseOptions.TLS_ROOT_CERTS.value] = tls_root_certs
    try:
        return Connection(flightsql.connect(url, db_kwargs=kwargs, autocommit=True))
    except adbc_driver_manager.Error as e:
        raise _error(e, f"cannot connect to {url}") from e
