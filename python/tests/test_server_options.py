"""How the Flight SQL service starts, and refuses to: flags and their environment variables, a
non-loopback bind without users, a users file with a plain-text password, handshake flooding."""

from __future__ import annotations

import os
import subprocess

import pytest

import ardent
from conftest import USERS, binary, free_port, port_open, start, users_file, wait_for


def refused_start(tmp_path, args, env=None) -> str:
    out = subprocess.run(
        [binary("ardent-scheduler"), "--bind-host", "127.0.0.1", "--bind-port", str(free_port()), *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )
    assert out.returncode != 0, out
    return out.stderr


def test_no_users_means_loopback_only(tmp_path):
    err = refused_start(tmp_path, ["--flight-sql-port", str(free_port()), "--flight-sql-bind-host", "0.0.0.0"])
    assert "give --users FILE" in err, err


def test_plain_text_passwords_are_refused(tmp_path):
    users = tmp_path / "users"
    users.write_text("alice:wonder land\n")
    err = refused_start(tmp_path, ["--flight-sql-port", str(free_port()), "--users", str(users)])
    assert f"users file '{users}' line 1" in err and "plain-text" in err, err
    assert "wonder land" not in err


def test_bad_tls_files_are_named(tmp_path):
    missing = tmp_path / "nope.pem"
    err = refused_start(tmp_path, ["--flight-sql-port", str(free_port()), "--tls-cert", str(missing),
                                   "--tls-key", str(missing)])
    assert f"cannot read the TLS certificate '{missing}'" in err, err
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    err = refused_start(tmp_path, ["--flight-sql-port", str(free_port()), "--tls-cert", str(garbage),
                                   "--tls-key", str(garbage)])
    assert "invalid TLS settings" in err, err


def test_ballistas_own_flight_sql_switch_is_refused(tmp_path):
    err = refused_start(tmp_path, ["--flight-sql"])
    assert "use --flight-sql-port" in err, err


@pytest.fixture
def scheduler_from_env(tmp_path):
    """A scheduler configured only through ARDENT_SCHEDULER_* variables."""
    flight = free_port()
    server = start(tmp_path, "env-scheduler", [binary("ardent-scheduler")], env={
        "ARDENT_SCHEDULER_BIND_HOST": "127.0.0.1",
        "ARDENT_SCHEDULER_BIND_PORT": str(free_port()),
        "ARDENT_SCHEDULER_FLIGHT_SQL_PORT": str(flight),
        "ARDENT_SCHEDULER_USERS": str(users_file(tmp_path)),
    })
    try:
        wait_for("the Flight SQL port", lambda: port_open(flight), proc=server.proc, log=server.log)
        yield f"grpc://127.0.0.1:{flight}"
    finally:
        server.stop()


def test_flags_from_the_environment_and_handshake_flooding(scheduler_from_env):
    with ardent.connect(scheduler_from_env, user="alice", password=USERS["alice"]) as con:
        con.sql("CREATE VIEW v AS SELECT 1 AS one")
        assert con.tables() == ["v"]
    # A client guessing passwords is slowed down: past a burst of refusals (10), its handshakes
    # are refused unheard, one more allowed every 2 s.
    codes = []
    for _ in range(40):
        try:
            ardent.connect(scheduler_from_env, user="alice", password="guess")
        except ardent.ArdentError as e:
            codes.append(e.code)
    assert "RESOURCE_EXHAUSTED" in codes and codes.count("UNAUTHENTICATED") <= 16, codes


def test_without_users_loopback_clients_need_no_password(tmp_path):
    flight = free_port()
    server = start(tmp_path, "open-scheduler", [
        binary("ardent-scheduler"), "--bind-host", "127.0.0.1", "--bind-port", str(free_port()),
        "--flight-sql-port", str(flight),
    ])
    try:
        wait_for("the Flight SQL port", lambda: port_open(flight), proc=server.proc, log=server.log)
        with ardent.connect(f"grpc://127.0.0.1:{flight}") as con:
            con.sql("CREATE VIEW v AS SELECT 1 AS one")
            assert con.tables() == ["v"]
        assert "anyone on this host can query" in server.log.read_text()
    finally:
        server.stop()
