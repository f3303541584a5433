"""images/compose.yaml as users run it: a scheduler with Flight SQL (users, TLS from /certs), two
executors, JupyterLab, the `cli` service; queries from the CLI container and from Python in the
Jupyter container (and on the host) with a password, each equal to local mode's answer; an
executor killed, then one cut off from the network, mid-job; and nothing left behind."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

import ardent
from support import scheduler_rest
from conftest import ROOT, VERSION, ccdc_sql, docker, free_port, make_certificates, raster_sql, run, wait_for

STACK = "/data/stacks/t"
PASSWORD = "compose " + secrets.token_hex(8)


@dataclass
class Compose:
    project: str
    env: dict
    root: Path
    scheduler_port: int
    flight_port: int
    jupyter_port: int
    ui_port: int
    token: str
    ca: str

    def command(self, *args: str) -> list[str]:
        return ["docker-compose", "-f", str(ROOT / "images" / "compose.yaml"), "-p", self.project, *args]

    def __call__(self, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
        return run(self.command(*args), env=self.env, timeout=timeout, **kwargs)

    def cli(self, *args: str, local: bool = False) -> str:
        master = ["-e", "ARDENT_MASTER=local"] if local else []
        return self("run", "--rm", "-T", *master, "cli", *args).stdout

    def container(self, service: str) -> str:
        return self("ps", "-q", service).stdout.strip()

    def rest(self, path: str):
        return scheduler_rest(self.scheduler_port, path)

    def executors(self) -> list[dict]:
        return self.rest("/api/executors")

    def logs(self) -> str:
        return self("logs", "--no-color", check=False).stdout


@pytest.fixture(scope="module")
def compose(images, tmp_path_factory):
    root = tmp_path_factory.mktemp("compose")
    certs = root / "certs"
    certs.mkdir()
    made = make_certificates(certs, hosts=("scheduler", "localhost", "127.0.0.1"))
    for name, file in [("ca", "trustedroot.crt"), ("cert", "ardent.crt"), ("key", "ardent.key")]:
        made[name].rename(certs / file)
        (certs / file).chmod(0o644)  # the services run as uid 10001
    users = root / "users"
    users.write_text(run([str(ROOT / "target" / "debug" / "ardent"), "passwd", "alice"], input=PASSWORD).stdout)
    users.chmod(0o644)
    ports = [free_port() for _ in range(4)]
    token = secrets.token_hex(16)
    env = {**os.environ, "ARDENT_VERSION": VERSION, "ARDENT_CERTS": str(certs), "ARDENT_USERS": str(users),
           "JUPYTER_TOKEN": token, "ARDENT_USER": "alice", "ARDENT_PASSWORD": PASSWORD,
           "ARDENT_SCHEDULER_PORT": str(ports[0]), "ARDENT_FLIGHT_SQL_PORT": str(ports[1]),
           "ARDENT_JUPYTER_PORT": str(ports[2]), "ARDENT_UI_PORT": str(ports[3]),
           # Executor loss noticed in seconds, as the loss tests need (the defaults suit real clusters).
           "ARDENT_EXECUTOR_TIMEOUT_SECONDS": "6", "ARDENT_EXPIRE_DEAD_EXECUTOR_INTERVAL_SECONDS": "1",
           "ARDENT_HEARTBEAT_INTERVAL_SECONDS": "1"}
    c = Compose(f"ardenttest{os.getpid()}", env, root, ports[0], ports[1], ports[2], ports[3], token,
                (certs / "trustedroot.crt").read_text())
    try:
        c("up", "-d", timeout=600)
        wait_for("two executors registered", lambda: len(c.executors()) == 2, timeout=120)
        c.cli("synth", "--out", STACK, "--size", "10", "--start", "2014-01-01", "--end", "2017-12-31", "--seed", "7")
        yield c
    except Exception:
        print(c.logs())
        raise
    finally:
        logs = c.logs()
        c("down", "--volumes", "--remove-orphans", "--timeout", "30", check=False, timeout=300)
        label = f"label=com.docker.compose.project={c.project}"
        left = [docker(*kind, "-q", "--filter", label).stdout.strip()
                for kind in (("ps", "-a"), ("volume", "ls"), ("network", "ls"))]
        assert left == ["", "", ""], f"compose left behind containers, volumes, networks: {left}"
        assert PASSWORD not in logs and token not in logs, "a secret appears in the services' logs"


def table(csv: str) -> pd.DataFrame:
    return pd.read_csv(StringIO(csv))


def test_every_service_is_healthy(compose):
    for service in ("scheduler", "executor1", "executor2", "jupyter"):
        container = compose.container(service)
        wait_for(f"{service} healthy", lambda: docker(
            "inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip() == "healthy", timeout=120)


def test_the_cli_container_answers_raster_and_ccdc_queries_as_local_mode(compose):
    for sql in (raster_sql(STACK), ccdc_sql(STACK)):
        on_cluster = compose.cli("sql", "--quiet", "--format", "csv", sql)
        assert on_cluster == compose.cli("sql", "--quiet", "--format", "csv", sql, local=True)
        assert len(on_cluster.splitlines()) > 1
    jobs = compose.rest("/api/jobs")
    assert sum(j["status"] == "Completed" for j in jobs) >= 2


# Python in the Jupyter container, connected the way examples/session.ipynb is: from the
# service's environment (URL, CA file, user, password).
IN_JUPYTER = """
import os, sys, ardent
create, select = sys.argv[1].split("; ", 1)
with open(os.environ["ARDENT_CA"]) as ca, ardent.connect(os.environ["ARDENT_URL"], user=os.environ["ARDENT_USER"],
        password=os.environ["ARDENT_PASSWORD"], tls_root_certs=ca.read()) as con:
    con.sql(create)
    con.sql(select).to_pandas().to_csv(sys.stdout, index=False)
"""


def test_python_in_the_jupyter_container_answers_with_a_password_over_tls(compose):
    for sql in (raster_sql(STACK), ccdc_sql(STACK)):
        answer = compose("exec", "-T", "jupyter", "python", "-c", IN_JUPYTER, sql).stdout
        local = compose.cli("sql", "--quiet", "--format", "csv", sql, local=True)
        pd.testing.assert_frame_equal(table(answer), table(local), check_dtype=False)
        assert len(table(answer)) > 0


def test_python_on_the_host_reaches_the_published_port_and_a_wrong_password_is_refused(compose):
    url = f"grpc+tls://localhost:{compose.flight_port}"
    with ardent.connect(url, user="alice", password=PASSWORD, tls_root_certs=compose.ca) as con:
        create, select = raster_sql(STACK).split("; ", 1)
        con.sql(create)
        answer = con.sql(select).to_pandas()
    local = table(compose.cli("sql", "--quiet", "--format", "csv", raster_sql(STACK), local=True))
    pd.testing.assert_frame_equal(answer, local, check_dtype=False)
    with pytest.raises(ardent.ArdentError):
        ardent.connect(url, user="alice", password="wrong", tls_root_certs=compose.ca).sql("SELECT 1")


def test_jupyter_asks_for_its_token(compose):
    status = f"http://127.0.0.1:{compose.jupyter_port}/api/status"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(status, timeout=5)
    assert refused.value.code == 403
    request = urllib.request.Request(status, headers={"Authorization": f"token {compose.token}"})
    with urllib.request.urlopen(request, timeout=5) as r:
        assert r.status == 200


def test_the_web_ui_is_published_behind_the_users(compose):
    jobs = f"http://127.0.0.1:{compose.ui_port}/api/ui/jobs"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(jobs, timeout=5)
    assert refused.value.code == 401
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(jobs, headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=5) as r:
        assert r.status == 200
        assert isinstance(json.load(r), list)


def job_under_way(compose: Compose) -> subprocess.Popen:
    """Starts a job of many tasks from the CLI container; returns once some scan tasks are done."""
    many_tasks = raster_sql(STACK, ", 'chip_size' '2', 'chips_per_partition' '1'")
    before = {j["job_id"] for j in compose.rest("/api/jobs")}
    client = subprocess.Popen(compose.command("run", "--rm", "-T", "cli", "sql", "--quiet", "--format", "csv",
                                              many_tasks), env=compose.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def scans_done():
        for job in compose.rest("/api/jobs"):
            if job["job_id"] not in before and job["status"] == "Running" and job["completed_stages"] == 0:
                stages = compose.rest(f"/api/job/{job['job_id']}/stages")["stages"]
                done = sum(t is not None and t["status"] == "Successful" for s in stages for t in s["tasks"])
                return done >= 2
        return False

    wait_for("a job with scan tasks done", scans_done, timeout=180)
    return client, many_tasks


def finished(client: subprocess.Popen, compose: Compose) -> str:
    try:
        out, err = client.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        client.kill()
        raise AssertionError(f"the job hangs after losing an executor:\n{compose.logs()[-5000:]}")
    assert client.returncode == 0, err
    return out


def test_a_job_survives_an_executor_killed_mid_way(compose):
    before = {e["id"] for e in compose.executors()}
    client, sql = job_under_way(compose)
    docker("kill", compose.container("executor1"))
    assert finished(client, compose) == compose.cli("sql", "--quiet", "--format", "csv", sql, local=True)
    compose("up", "-d", "executor1")
    wait_for("executor1 registered anew", lambda: len(ids := {e["id"] for e in compose.executors()}) == 2
             and ids != before, timeout=120)


def test_a_job_survives_an_executor_cut_off_mid_way(compose):
    network = f"{compose.project}_default"
    victim = compose.container("executor2")
    client, sql = job_under_way(compose)
    docker("network", "disconnect", network, victim)
    try:
        assert finished(client, compose) == compose.cli("sql", "--quiet", "--format", "csv", sql, local=True)
    finally:
        docker("network", "connect", "--alias", "executor2", network, victim, check=False)
