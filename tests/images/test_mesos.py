"""Mesos placement with the executor image: ardent-scheduler on the host places its executors
through the tests' fake Mesos master (no real master can run here), whose agents run each
executor task as a container of ardent-executor, as Mesos' Docker containerizer does: host
network, the task's volumes and parameters, the image's entrypoint given the task's arguments."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request

import pytest

from conftest import PROFILE, ROOT, free_port, local_answer, raster_sql, run, wait_for


def state(master: str) -> dict:
    with urllib.request.urlopen(f"{master}/state", timeout=5) as reply:
        return json.load(reply)


def running(master: str) -> list[dict]:
    return [t for t in state(master)["tasks"] if t["state"] in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING")]


def executors(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/executors", timeout=5) as reply:
            return len(json.load(reply))
    except OSError:
        return 0


@pytest.fixture
def fake_master(images, tmp_path):
    binary = ROOT / "target" / PROFILE / "fake-mesos-master"
    logs = tmp_path / "logs"
    logs.mkdir()
    process = subprocess.Popen([str(binary), "--agents", "2", "--cpus", "1", "--runner", "docker",
                                "--logs", str(logs)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    assert url.startswith("http://"), url
    yield url, logs
    process.stdin.close()
    process.wait(timeout=60)


def test_a_query_runs_on_executor_containers_placed_through_mesos(images, data_dir, fake_master, tmp_path):
    master, logs = fake_master
    port = free_port()
    scheduler_log = tmp_path / "scheduler.log"
    scheduler = subprocess.Popen(
        [str(ROOT / "target" / PROFILE / "ardent-scheduler"), "--bind-host", "127.0.0.1",
         "--external-host", "127.0.0.1", "--bind-port", str(port), "--ui-port", "0",
         "--mesos-master", master, "--cores-max", "2", "--executor-cores", "1", "--executor-memory", "512m",
         "--executor-image", images["ardent-executor"],
         "--mesos-docker-volumes", f"{data_dir}:{data_dir}:ro"],
        stdout=subprocess.DEVNULL, stderr=open(scheduler_log, "w"))

    def logs_text() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in [scheduler_log, *logs.iterdir()])

    try:
        wait_for("two executor containers registered", lambda: executors(port) == 2, 120, proc=scheduler,
                 log=scheduler_log)
        tasks = running(master)
        assert len(tasks) == 2 and {t["agent"] for t in tasks} == {"a1", "a2"}, tasks
        containers = run(["docker", "ps", "--filter", "name=mesos-", "--format", "{{.Image}}"]).stdout.split()
        assert containers == [images["ardent-executor"]] * 2, containers

        sql = raster_sql(f"{data_dir}/stack", ", 'chip_size' '4'")
        out = run([str(ROOT / "target" / PROFILE / "ardent"), "sql", "--quiet", "--master",
                   f"df://127.0.0.1:{port}", "--format", "csv", "--", sql])
        assert out.stdout == local_answer(sql), logs_text()

        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=60) == 0, logs_text()
        calls = [c["type"] for c in state(master)["calls"]]
        assert calls.count("TEARDOWN") == 1, calls
        assert running(master) == []
        wait_for("the executor containers to go",
                 lambda: run(["docker", "ps", "-q", "--filter", "name=mesos-"]).stdout.strip() == "", 30)
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
