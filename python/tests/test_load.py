"""Eight Python clients at once, each in its own session, issuing mixed statements (DDL, scans,
NDVI, CCDC) for ARDENT_LOAD_SECONDS (30 by default): no failure, every answer right. The rate
and latencies go to target/flight-sql-load.json (recorded in benches/README.md)."""

from __future__ import annotations

import json
import os
import statistics
import threading
import time

import ardent
from conftest import ROOT, USERS, STACK_SIZE

CLIENTS = 8
SECONDS = float(os.environ.get("ARDENT_LOAD_SECONDS", "30"))

QUERIES = {
    "ddl": "CREATE OR REPLACE VIEW recent AS SELECT px, py, nir FROM ard WHERE col < 8",
    "scan": "SELECT count(*) AS n FROM ard",
    "ndvi": "SELECT round(sum(composite('median', dates, ndvi(red, nir), qa, 'c1', DATE '2015-01-01', "
            "DATE '2016-01-01')), 9) AS s FROM ard",
    "ccdc": "SELECT count(*) AS n FROM (SELECT unnest(ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, "
            "qa)['change_models']) AS m FROM ard WHERE row < 2 AND col < 2)",
}


def test_eight_clients_for_thirty_seconds(cluster):
    create = f"CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '{cluster.stack}'"
    with ardent.connect(cluster.url, user="alice", password=USERS["alice"]) as con:
        con.sql(create)
        expected = {name: con.sql(sql).to_pylist() for name, sql in QUERIES.items()}
    assert expected["scan"] == [{"n": STACK_SIZE * STACK_SIZE}]

    latencies: dict[str, list[float]] = {name: [] for name in QUERIES}
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def client(index: int):
        user = "alice" if index % 2 else "bob"
        try:
            with ardent.connect(cluster.url, user=user, password=USERS[user]) as con:
                con.sql(create)
                names = list(QUERIES)
                turn = index
                while time.monotonic() < deadline:
                    name = names[turn % len(names)]
                    turn += 1
                    start = time.monotonic()
                    got = con.sql(QUERIES[name]).to_pylist()
                    took = time.monotonic() - start
                    with lock:
                        latencies[name].append(took)
                        if got != expected[name]:
                            failures.append(f"client {index} {name}: {got} != {expected[name]}")
        except Exception as e:
            with lock:
                failures.append(f"client {index}: {e}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert failures == [], failures[:5]

    every = sorted(x for xs in latencies.values() for x in xs)
    quantile = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))]
    report = {
        "clients": CLIENTS,
        "seconds": round(elapsed, 1),
        "statements": len(every),
        "per_second": round(len(every) / elapsed, 2),
        "p50_ms": round(1000 * statistics.median(every), 1),
        "p99_ms": round(1000 * quantile(every, 0.99), 1),
        "by_kind": {
            name: {"count": len(xs), "p50_ms": round(1000 * statistics.median(xs), 1),
                   "p99_ms": round(1000 * quantile(sorted(xs), 0.99), 1)}
            for name, xs in latencies.items() if xs
        },
    }
    out = ROOT / "target" / "flight-sql-load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    assert all(latencies[name] for name in QUERIES), "every kind of statement ran"
