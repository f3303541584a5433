"""The Flight SQL service through the stock ADBC driver and the `ardent` package, against a real
scheduler and two executors (conftest.py)."""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pyarrow as pa
import pyarrow.flight as flight
import pyarrow.parquet as pq
import pytest

import ardent
from conftest import USERS, STACK_SIZE, binary, wait_for

PIXELS = STACK_SIZE * STACK_SIZE


def connect(cluster, user="alice"):
    return ardent.connect(cluster.url, user=user, password=USERS[user])


@pytest.fixture
def alice(cluster):
    with connect(cluster) as con:
        con.sql(f"CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '{cluster.stack}'")
        yield con


# --- protobuf by hand: pyarrow has no Flight SQL client, and these tests need raw Flight calls.

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _any(message: str, body: bytes) -> bytes:
    url = f"type.googleapis.com/arrow.flight.protocol.sql.{message}".encode()
    return _field(1, url) + _field(2, body)


def raw_client(cluster, user):
    client = flight.FlightClient(f"grpc://127.0.0.1:{cluster.flight_port}")
    header = client.authenticate_basic_token(user, USERS[user])
    return client, flight.FlightCallOptions(headers=[header])


# --- authentication

def test_wrong_password_and_unknown_user_are_refused_alike(cluster):
    for user, password in [("alice", "not it"), ("mallory", "wonder land")]:
        with pytest.raises(ardent.ArdentError) as refused:
            ardent.connect(cluster.url, user=user, password=password)
        assert refused.value.code == "UNAUTHENTICATED", refused.value
        assert "invalid user or password" in str(refused.value)
        assert password not in str(refused.value)
    assert "not it" not in cluster.logs() and "wonder land" not in cluster.logs()


def test_calls_without_a_token_are_refused(cluster):
    client = flight.FlightClient(f"grpc://127.0.0.1:{cluster.flight_port}")
    query = _any("CommandStatementQuery", _field(1, b"SELECT 1"))
    with pytest.raises(flight.FlightUnauthenticatedError, match="missing bearer token"):
        client.get_flight_info(flight.FlightDescriptor.for_command(query))
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.do_get(flight.Ticket(b"anything"))


def test_forged_and_foreign_tickets_are_refused(cluster, alice):
    client, options = raw_client(cluster, "alice")
    query = _any("CommandStatementQuery", _field(1, b"SELECT px, py FROM raster_pixels('%s')" % str(cluster.stack).encode()))
    info = client.get_flight_info(flight.FlightDescriptor.for_command(query), options)
    ticket = info.endpoints[0].ticket
    assert client.do_get(ticket, options).read_all().num_rows > 0
    # Bob holds a valid token of his own, but not alice's ticket.
    bob, bob_options = raw_client(cluster, "bob")
    with pytest.raises(flight.FlightError, match="redeems only the tickets it issued"):
        bob.do_get(ticket, bob_options).read_all()
    # A raw Ballista partition ticket (it would make the scheduler dial the host it names), and a
    # Flight SQL ticket with a made-up handle.
    raw = b"\x0a\x40" + b"x" * 64
    forged = _any("TicketStatementQuery", _field(1, f"ardent:{uuid.uuid4()}".encode()))
    for bad in (raw, forged):
        with pytest.raises(flight.FlightError, match="redeems only the tickets it issued"):
            client.do_get(flight.Ticket(bad), options).read_all()


def test_sessions_are_isolated(cluster, alice):
    with connect(cluster, "bob") as bob:
        assert "ard" in alice.tables()
        assert "ard" not in bob.tables()
        with pytest.raises(ardent.ArdentError, match="ard"):
            bob.sql("SELECT count(*) FROM ard")


# --- statements

def cli_csv(cluster, sql: str) -> list[dict]:
    """The same statements through `ardent sql` on the same cluster, as rows."""
    out = subprocess.run(
        [binary("ardent"), "sql", "--master", f"df://127.0.0.1:{cluster.scheduler_port}", "--format", "json", "-q", sql],
        capture_output=True, text=True, check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


NDVI = ("SELECT px, py, composite('median', dates, ndvi(red, nir), qa, 'c1', DATE '2015-01-01', "
        "DATE '2016-01-01') AS ndvi FROM ard ORDER BY px, py")


def test_ndvi_equals_the_cli(cluster, alice):
    got = alice.sql(NDVI).to_pylist()
    assert len(got) == PIXELS
    want = cli_csv(cluster, f"CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '{cluster.stack}'; {NDVI}")
    assert len(want) == PIXELS
    for g, w in zip(got, want):
        assert (g["px"], g["py"]) == (w["px"], w["py"])
        assert (g["ndvi"] is None and w.get("ndvi") is None) or math.isclose(g["ndvi"], w["ndvi"], rel_tol=1e-12)


CCDC = ("SELECT px, py, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) AS ccdc FROM ard "
        "WHERE row < 4 AND col < 4")


def test_ccdc_segments_equal_the_cli(cluster, alice):
    table = alice.sql(CCDC)
    segs = ardent.segments(table).sort_values(["px", "py", "sday"]).reset_index(drop=True)
    assert len(segs) >= 16 and set(segs.columns) >= {"sday", "eday", "bday", "chprob", "nirmag", "nircoef"}
    cli = cli_csv(cluster, f"CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '{cluster.stack}'; "
                           f"SELECT px, py, m['start_day'] AS sday, m['nir']['magnitude'] AS nirmag FROM "
                           f"(SELECT px, py, unnest(ccdc['change_models']) AS m FROM ({CCDC})) ORDER BY px, py, sday")
    assert len(cli) == len(segs)
    for (_, s), c in zip(segs.iterrows(), cli):
        assert (s.px, s.py, str(s.sday)) == (c["px"], c["py"], c["sday"])
        assert math.isclose(s.nirmag, c["nirmag"], rel_tol=1e-12, abs_tol=1e-12)


def test_cached_segments_are_filled_and_read_on_the_executors(alice):
    summary = "SELECT count(*) AS n, sum(cardinality(ccdc['change_models'])) AS segments FROM {}"
    filled = alice.sql(f"CACHE TABLE segs AS {CCDC}").to_pylist()
    assert [(c["name"], c["state"]) for c in filled] == [("segs", "ready")]
    assert filled[0]["locations"] and "local" not in filled[0]["locations"]
    assert alice.sql(summary.format("segs")) == alice.sql(summary.format(f"({CCDC})"))
    shown = alice.sql("SHOW CACHES").to_pylist()
    held = int(shown[0]["partitions"].split("/")[1])
    assert shown[0]["hits"] >= held and shown[0]["rows"] == 16
    with pytest.raises(ardent.ArdentError, match="'segs' is already cached"):
        alice.sql("CACHE TABLE segs")
    with pytest.raises(ardent.ArdentError, match="'storage'"):
        alice.sql("CACHE TABLE other OPTIONS ('storage' 'ram') AS SELECT 1")
    dropped = alice.sql("UNCACHE TABLE segs").to_pylist()
    assert dropped == [{"name": "segs", "partitions_dropped": held}]
    assert alice.sql("SHOW CACHES").num_rows == 0


def test_results_stream_over_several_endpoints(cluster, alice):
    client, options = raw_client(cluster, "alice")
    sql = f"SELECT px, py, nir FROM raster_pixels('{cluster.stack}', 'chip_size', '4')".encode()
    info = client.get_flight_info(flight.FlightDescriptor.for_command(_any("CommandStatementQuery", _field(1, sql))), options)
    assert len(info.endpoints) > 1, "the scan should come back in several partitions"
    with alice.adbc.cursor() as cursor:
        cursor.execute(sql.decode())
        reader = cursor.fetch_record_batch()
        rows = sum(batch.num_rows for batch in reader)
    assert rows == PIXELS


def test_get_objects_finds_the_raster_table(alice):
    objects = alice.adbc.adbc_get_objects(depth="all").read_all().to_pylist()
    tables = {t["table_name"]: t for c in objects for s in c["catalog_db_schemas"] for t in s["db_schema_tables"]}
    columns = [col["column_name"] for col in tables["ard"]["table_columns"]]
    assert columns[:5] == ["tile", "chip_x", "chip_y", "px", "py"] and "qa" in columns


def test_prepared_statements_run_again(alice):
    with alice.adbc.cursor() as cursor:
        sql = "SELECT count(*) AS n FROM ard WHERE col < 8"
        cursor.execute(sql)
        first = cursor.fetch_arrow_table()
        cursor.execute(sql)  # the same text: ADBC runs the prepared handle again
        assert cursor.fetch_arrow_table() == first
    assert first.column("n").to_pylist() == [PIXELS // 2]


def test_views_and_settings(alice):
    alice.sql("SET datafusion.execution.batch_size = 100")
    alice.sql("CREATE VIEW west AS SELECT px, py FROM ard WHERE col < 4")
    assert alice.sql("SELECT count(*) AS n FROM west").column("n").to_pylist() == [4 * STACK_SIZE]


def test_bad_sql_carries_datafusion_message(alice):
    with pytest.raises(ardent.ArdentError) as bad:
        alice.sql("SELEC 1")
    assert bad.value.code == "INVALID_ARGUMENT" and "Expected: an SQL statement" in str(bad.value)
    with pytest.raises(ardent.ArdentError, match="no_such_column"):
        alice.sql("SELECT no_such_column FROM ard")


def test_copy_to_parquet_and_a_geotiff_map(cluster, alice, tmp_path):
    out = tmp_path / "ndvi.parquet"
    written = alice.sql(f"COPY ({NDVI}) TO '{out}' STORED AS PARQUET")
    assert written.column("count").to_pylist() == [PIXELS]
    back = pq.read_table(out).sort_by([("px", "ascending"), ("py", "ascending")])
    assert back.to_pylist() == alice.sql(NDVI).to_pylist()

    tif = tmp_path / "ndvi.tif"
    query = NDVI.replace("SELECT px, py,", "SELECT row, col,").replace(" ORDER BY px, py", "")
    summary = alice.sql(f"COPY ({query}) TO '{tif}' STORED AS GEOTIFF OPTIONS ('grid' 'ard', 'column' 'ndvi')")
    assert summary.column("path").to_pylist() == [str(tif)]
    import rasterio

    with rasterio.open(tif) as raster:
        image = raster.read(1)
        assert raster.width == raster.height == STACK_SIZE and raster.crs is not None
    values = alice.sql(query).to_pylist()
    mapped = sum(1 for v in values if v["ndvi"] is not None)
    assert summary.column("pixels").to_pylist() == [mapped]
    for v in values:
        cell = float(image[v["row"], v["col"]])
        assert math.isnan(cell) if v["ndvi"] is None else math.isclose(cell, v["ndvi"], rel_tol=1e-6)
    with pytest.raises(ardent.ArdentError, match="'column'"):
        alice.sql(f"COPY ({query}) TO '{tmp_path / 'x.tif'}' STORED AS GEOTIFF OPTIONS ('grid' 'ard')")
    assert not (tmp_path / "x.tif").exists()


# --- cancellation

SLOW = "SELECT count(*) FROM range(100000000000) WHERE value % 7 = {marker}"


def job_named(cluster, text):
    return next((j for j in cluster.jobs() if text in j["job_name"]), None)


def job_cancelled(cluster, text):
    # Ballista's in-memory job state moves a finished job from its running map to its completed map
    # in two steps, so one listing can miss it: absent is "not yet", not a failure.
    return (j := job_named(cluster, text)) is not None and "Cancelled" in j["job_status"]


def test_cancel_mid_query_cancels_the_job(cluster, alice):
    marker = 3
    sql = SLOW.format(marker=marker)
    failure = []
    cursor = alice.adbc.cursor()

    def run():
        try:
            cursor.execute(sql)
        except Exception as e:  # the cancellation
            failure.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    job = wait_for("the job to run", lambda: (j := job_named(cluster, sql)) and j["status"] == "Running" and j)
    assert job["job_name"].startswith("alice: ")
    cursor.adbc_cancel()
    thread.join(30)
    assert failure and "CANCELLED" in str(failure[0])
    wait_for("the job to be cancelled", lambda: job_cancelled(cluster, sql), timeout=10)
    cursor.close()


def ui_get(cluster, path, user="alice"):
    """GETs a page or API of the scheduler's web UI as ``user`` (HTTP Basic, as a browser would)."""
    token = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
    request = urllib.request.Request(f"http://127.0.0.1:{cluster.ui_port}{path}",
                                     headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.read().decode()


def test_the_ui_lists_sessions_with_their_running_statements(cluster, alice):
    sql = SLOW.format(marker=4)
    cursor = alice.adbc.cursor()
    thread = threading.Thread(target=lambda: _run_and_swallow(cursor, sql))
    thread.start()
    try:
        with connect(cluster, "bob"):
            wait_for("alice's statement running", lambda: (j := job_named(cluster, sql)) and j["status"] == "Running")

            def listed():
                sessions = json.loads(ui_get(cluster, "/api/ui/sessions"))["sessions"]
                return sessions if {"alice", "bob"} <= {s["user"] for s in sessions} else None

            sessions = wait_for("both users' sessions listed", listed)
            running = [j["name"] for s in sessions if s["user"] == "alice" for j in s["running"]]
            assert any(sql in name for name in running), sessions
            assert not any(j for s in sessions if s["user"] == "bob" for j in s["running"]), sessions
            # The Jobs page names the user who submitted each Flight SQL job.
            jobs = [j for j in json.loads(ui_get(cluster, "/api/ui/jobs")) if sql in j["name"]]
            assert jobs and all(j["user"] == "alice" for j in jobs), jobs
            assert '<td class="user">alice</td>' in ui_get(cluster, "/jobs", user="bob")
            assert all(s["idle_ms"] >= 0 and s["opened_at_ms"] > 0 for s in sessions)
            page = ui_get(cluster, "/sessions", user="bob")
            assert page.count('class="session"') == len(sessions), page
            assert "% 7 = 4" in page and "<td class=\"user\">alice</td>" in page, page
            # Tokens are secrets: neither the page nor its twin shows one.
            assert "token" not in page.lower() and "bearer" not in page.lower()
    finally:
        cursor.adbc_cancel()
        thread.join(30)
        cursor.close()


def _run_and_swallow(cursor, sql):
    try:
        cursor.execute(sql)
    except Exception:  # cancelled at the end of the test
        pass


def test_a_client_killed_mid_query_leaves_the_server_serving(cluster, alice):
    sql = SLOW.format(marker=5)
    script = (
        "import ardent, sys\n"
        f"con = ardent.connect({cluster.url!r}, user='bob', password={USERS['bob']!r})\n"
        f"con.sql({sql!r})\n"
    )
    client = subprocess.Popen([sys.executable, "-c", script])
    try:
        wait_for("the job to run", lambda: (j := job_named(cluster, sql)) and j["status"] == "Running")
    finally:
        client.kill()
        client.wait()
    wait_for("the job to be cancelled", lambda: job_cancelled(cluster, sql), timeout=10)
    assert alice.sql("SELECT count(*) AS n FROM ard").column("n").to_pylist() == [PIXELS]


# --- TLS and session expiry

def test_tls_with_the_ca_and_without(tls_scheduler):
    with ardent.connect(tls_scheduler.url, user="alice", password=USERS["alice"], tls_root_certs=tls_scheduler.ca) as con:
        con.sql("CREATE VIEW one AS SELECT 1 AS x")
        assert "one" in con.tables()
    with pytest.raises(ardent.ArdentError, match="certificate"):
        ardent.connect(tls_scheduler.url, user="alice", password=USERS["alice"])
    with pytest.raises(ardent.ArdentError) as plain:
        ardent.connect(f"grpc://127.0.0.1:{tls_scheduler.flight_port}", user="alice", password=USERS["alice"])
    assert plain.value.code in ("UNAVAILABLE", "IO", "INTERNAL"), plain.value


def test_client_certificates_when_the_server_asks_for_them(tls_scheduler, mtls_scheduler):
    import adbc_driver_flightsql

    options = adbc_driver_flightsql.DatabaseOptions
    certs = tls_scheduler.certs
    with ardent.connect(mtls_scheduler, user="alice", password=USERS["alice"], tls_root_certs=tls_scheduler.ca,
                        **{options.MTLS_CERT_CHAIN.value: certs["client_cert"].read_text(),
                           options.MTLS_PRIVATE_KEY.value: certs["client_key"].read_text()}) as con:
        assert con.tables() == []
    with pytest.raises(ardent.ArdentError):
        ardent.connect(mtls_scheduler, user="alice", password=USERS["alice"], tls_root_certs=tls_scheduler.ca)


def test_an_idle_session_expires(tls_scheduler):
    con = ardent.connect(tls_scheduler.url, user="bob", password=USERS["bob"], tls_root_certs=tls_scheduler.ca)
    assert con.tables() == []
    time.sleep(tls_scheduler.idle_seconds + 1)  # the idle limit is the event under test
    with pytest.raises(Exception, match="expired session token"):
        con.tables()


def test_a_client_killed_mid_stream_leaves_the_server_serving(cluster, alice):
    script = (
        "import ardent, time\n"
        f"con = ardent.connect({cluster.url!r}, user='bob', password={USERS['bob']!r})\n"
        "cursor = con.adbc.cursor()\n"
        "cursor.execute('SELECT value, value * 2 AS twice FROM range(3000000)')\n"
        "next(iter(cursor.fetch_record_batch()))\n"
        "print('streaming', flush=True)\n"
        "time.sleep(600)\n"
    )
    client = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == "streaming"
    finally:
        client.kill()
        client.wait()
    assert alice.sql("SELECT count(*) AS n FROM ard").column("n").to_pylist() == [PIXELS]
    assert all(server.proc.poll() is None for server in cluster.servers)
