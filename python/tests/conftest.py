"""A real cluster for the client's tests: ardent-scheduler with Flight SQL and users, two
ardent-executors, a synthetic stack; and a second scheduler with TLS and a short session idle
time. The binaries come from ARDENT_BIN (default: the workspace's target/debug)."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import free_port, make_certificates, port_open, scheduler_rest, wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("ARDENT_BIN", ROOT / "target" / "debug"))
USERS = {"alice": "wonder land", "bob": "builder:42"}
STACK_SIZE = 16


def binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: build it first (cargo build --workspace --bins)")
    return str(path)


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    log: Path

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Cluster:
    root: Path
    stack: Path
    scheduler_port: int
    flight_port: int
    ui_port: int
    servers: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.flight_port}"

    def rest(self, path: str):
        return scheduler_rest(self.scheduler_port, path)

    def jobs(self) -> list[dict]:
        return self.rest("/api/jobs")

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.log.read_text()}" for s in self.servers)


def start(root: Path, name: str, args: list[str], env: dict | None = None) -> Server:
    log = root / f"{name}.log"
    proc = subprocess.Popen(
        args,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "RUST_LOG": "info", **(env or {})},
    )
    return Server(name, proc, log)


def users_file(root: Path) -> Path:
    lines = []
    for user, password in USERS.items():
        out = subprocess.run(
            [binary("ardent"), "passwd", user], input=password, capture_output=True, text=True, check=True
        )
        lines.append(out.stdout.strip())
    path = root / "users"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_scheduler(root: Path, name: str, extra: list[str]) -> tuple[Server, int, int]:
    port, flight = free_port(), free_port()
    server = start(
        root,
        name,
        [binary("ardent-scheduler"), "--bind-host", "127.0.0.1", "--bind-port", str(port),
         "--flight-sql-port", str(flight), *extra],
    )
    wait_for(f"{name}'s Flight SQL port", lambda: port_open(flight), proc=server.proc, log=server.log)
    return server, port, flight


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    stack = root / "stack"
    subprocess.run(
        [binary("ardent"), "synth", "--out", str(stack), "--size", str(STACK_SIZE), "--start", "2014-01-01",
         "--end", "2017-12-31", "--seed", "7"],
        check=True, capture_output=True,
    )
    users = users_file(root)
    ui = free_port()
    scheduler, port, flight = start_scheduler(root, "scheduler", ["--users", str(users), "--ui-port", str(ui)])
    c = Cluster(root, stack, port, flight, ui, [scheduler])
    try:
        for i in range(2):
            c.servers.append(start(root, f"executor{i}", [
                binary("ardent-executor"), "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port),
                "--bind-host", "127.0.0.1", "--bind-port", str(free_port()),
                "--bind-grpc-port", str(free_port()), "--bind-health-port", str(free_port()),
                "--vcores", "2", "--work-dir", str(root / f"work{i}"),
            ]))
        wait_for("two executors registered", lambda: len(c.rest("/api/executors")) == 2, log=scheduler.log)
        yield c
    finally:
        for s in reversed(c.servers):
            s.stop()


@dataclass
class TlsScheduler:
    url: str
    ca: str
    flight_port: int
    idle_seconds: int
    certs: dict


@pytest.fixture(scope="session")
def tls_scheduler(tmp_path_factory):
    """A scheduler (no executors: only statements it runs itself) with TLS and a 2 s idle limit."""
    root = tmp_path_factory.mktemp("tls")
    certs = make_certificates(root)
    idle = 2
    server, _, flight = start_scheduler(root, "tls-scheduler", [
        "--users", str(users_file(root)), "--tls-cert", str(certs["cert"]), "--tls-key", str(certs["key"]),
        "--session-idle-seconds", str(idle),
    ])
    try:
        yield TlsScheduler(f"grpc+tls://localhost:{flight}", certs["ca"].read_text(), flight, idle, certs)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mtls_scheduler(tmp_path_factory, tls_scheduler):
    """A scheduler that also requires client certificates signed by the test CA."""
    root = tmp_path_factory.mktemp("mtls")
    certs = tls_scheduler.certs
    server, _, flight = start_scheduler(root, "mtls-scheduler", [
        "--users", str(users_file(root)), "--tls-cert", str(certs["cert"]), "--tls-key", str(certs["key"]),
        "--tls-client-ca", str(certs["ca"]),
    ])
    try:
        yield f"grpc+tls://localhost:{flight}"
    finally:
        server.stop()
