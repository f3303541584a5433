"""The images on their own: a query in one container, what they are made of, a derived image,
and the Kubernetes manifests checked offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from io import StringIO

import pandas as pd
import pytest
import yaml

from conftest import ROOT, STACK_SIZE, VERSION, ccdc_sql, docker, local_answer, raster_sql, run, wait_for


def in_container(images, data_dir, *args: str) -> str:
    return docker("run", "--rm", "-v", f"{data_dir}:/data:ro", images["ardent"], *args).stdout


def test_one_container_answers_raster_and_ccdc_queries_as_local_mode(images, data_dir):
    for sql in (raster_sql, ccdc_sql):
        embedded = in_container(images, data_dir, "sql", "--quiet", "--format", "csv", sql("/data/stack"))
        assert embedded == local_answer(sql(str(data_dir / "stack")))
        assert len(embedded.splitlines()) > 1


def test_the_entrypoint_runs_every_role_and_other_programs(images, data_dir):
    assert "ardent-scheduler" in in_container(images, data_dir, "scheduler", "--help")
    assert "--cache-memory-limit" in in_container(images, data_dir, "executor", "--help")
    assert "Run SQL statements" in in_container(images, data_dir, "--help")
    assert in_container(images, data_dir, "python", "-c", "import ardent; print(ardent.__version__)").strip() == "0.1.0"
    pins = dict(re.findall(r"^([\w-]+)==(\S+)", (ROOT / "images" / "requirements.txt").read_text(), re.M))
    # Flags after `jupyter` go to JupyterLab; a subcommand goes to jupyter itself.
    assert in_container(images, data_dir, "jupyter", "--version").strip() == pins["jupyterlab"]
    assert in_container(images, data_dir, "jupyter", "nbconvert", "--version").strip() == pins["nbconvert"]
    failed = docker("run", "--rm", images["ardent"], "sql", "SELEC 1", check=False)
    assert failed.returncode != 0 and "SELEC" in failed.stderr


def inspect(image: str) -> dict:
    return json.loads(docker("image", "inspect", image).stdout)[0]


@pytest.mark.parametrize("name", ["ardent", "ardent-scheduler", "ardent-executor"])
def test_images_are_labelled_non_root_and_health_checked(images, name):
    config = inspect(images[name])["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.title"] == name
    revision = run(["git", "-C", str(ROOT), "rev-parse", "HEAD"]).stdout.strip()
    assert labels["org.opencontainers.image.revision"].startswith(revision)
    assert labels["org.opencontainers.image.source"]
    assert config["User"] == "ardent"
    assert config["Healthcheck"]["Test"] == ["CMD", "ardent-healthcheck"]
    assert config["Entrypoint"][:2] == ["tini", "--"]
    uid = docker("run", "--rm", "--entrypoint", "id", images[name], "-u").stdout.strip()
    assert uid == "10001"


def test_no_certificates_or_secrets_are_baked_in(images):
    for image in images.values():
        history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout.lower()
        for word in ("password", "secret", "token", ".key"):
            assert word not in history, f"{image}'s layers mention {word}"
        # As root, so that find sees every folder.
        found = docker("run", "--rm", "--user", "0", "--entrypoint", "sh", image, "-c",
                       "ls -A /certs 2>/dev/null; find / -xdev \\( -name '*.key' -o -name '*.pem' -o -name users \\) "
                       "-not -path '/usr/*' -not -path '/etc/ssl/*' -not -path '/opt/ardent/venv/*' 2>/dev/null").stdout
        assert found.strip() == "", f"{image} holds {found}"


def test_the_slim_images_hold_one_server_each(images):
    for name, present, absent in [("ardent-scheduler", "ardent-scheduler", "ardent-executor"),
                                  ("ardent-executor", "ardent-executor", "ardent-scheduler")]:
        listing = docker("run", "--rm", "--entrypoint", "ls", images[name], "/usr/local/bin").stdout.split()
        assert present in listing and absent not in listing and "ardent" not in listing
        assert "python3" not in docker("run", "--rm", "--entrypoint", "sh", images[name], "-c",
                                       "ls /usr/bin").stdout.split()
    slim = inspect(images["ardent-executor"])["Size"]
    assert slim < inspect(images["ardent"])["Size"] / 2


@pytest.fixture(scope="module")
def derived(images):
    tag = f"ardent-greenness-test:{VERSION}"
    docker("build", "-q", "--network", "none", "--build-arg", f"ARDENT_VERSION={VERSION}", "-t", tag,
           str(ROOT / "examples" / "derived"), timeout=900)
    yield tag
    docker("image", "rm", "-f", tag, check=False)


def test_a_derived_image_runs_its_own_package_over_a_stack(derived, data_dir):
    out = data_dir / "out"
    out.mkdir(mode=0o777, exist_ok=True)
    out.chmod(0o777)
    printed = docker("run", "--rm", "-v", f"{data_dir}:/data", derived,
                     "greenness", "/data/stack", "--out", "/data/out/trend.parquet").stdout
    trend = pd.read_parquet(out / "trend.parquet")
    assert f"{len(trend)} pixels" in printed
    assert 0 < len(trend) <= STACK_SIZE * STACK_SIZE
    # The same package on the host, over local mode's answer on the host, agrees.
    sys.path.insert(0, str(ROOT / "examples" / "derived" / "greenness"))
    from greenness.trend import trends
    sql = (ROOT / "examples" / "derived" / "greenness" / "greenness" / "annual_ndvi.sql").read_text()
    host = trends(pd.read_csv(StringIO(local_answer(sql.format(stack=data_dir / "stack")))))
    pd.testing.assert_frame_equal(trend, host, check_dtype=False)
    # Its notebook runs in the image, embedded.
    docker("run", "--rm", "-v", f"{data_dir}:/data:ro", "-e", "ARDENT_STACK=/data/stack", derived,
           "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", "/tmp/trend.ipynb",
           "notebooks/greenness/trend.ipynb", timeout=600)
    failed = docker("run", "--rm", derived, "greenness", "/data/missing", "--out", "/tmp/x.parquet", check=False)
    assert failed.returncode == 1 and "/data/missing" in failed.stderr


def k8s_documents() -> list[dict]:
    k8s = ROOT / "images" / "k8s"
    if shutil.which("kubectl"):
        text = run(["kubectl", "kustomize", str(k8s)]).stdout
    else:  # without kubectl, the files the kustomization lists, as they are
        listed = yaml.safe_load((k8s / "kustomization.yaml").read_text())["resources"]
        text = "\n---\n".join((k8s / name).read_text() for name in listed)
    return [d for d in yaml.safe_load_all(text) if d]


def test_the_kubernetes_manifests_validate_against_the_api_schemas(tmp_path):
    documents = k8s_documents()
    rendered = tmp_path / "ardent.yaml"
    rendered.write_text(yaml.safe_dump_all(documents))
    validate = run([sys.executable, "-m", "kubernetes_validate", "--strict", "--kubernetes-version", "1.32",
                    "--quiet", str(rendered)], check=False)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert {("Deployment", "ardent-scheduler"), ("Deployment", "ardent-executor"),
            ("Service", "ardent-scheduler"), ("Service", "ardent-scheduler-internal"),
            ("PersistentVolumeClaim", "ardent-data")} <= kinds
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    assert by_name[("Service", "ardent-scheduler-internal")]["spec"]["publishNotReadyAddresses"] is True
    scheduler = by_name[("Deployment", "ardent-scheduler")]["spec"]["template"]["spec"]["containers"][0]
    assert "--external-host=ardent-scheduler-internal" in scheduler["args"]
    executor = by_name[("Deployment", "ardent-executor")]["spec"]["template"]["spec"]
    container = executor["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["ARDENT_EXECUTOR_EXTERNAL_HOST"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["ARDENT_EXECUTOR_SCHEDULER_HOST"]["value"] == "ardent-scheduler-internal"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert executor["terminationGracePeriodSeconds"] >= 60
    for d in documents:
        if d["kind"] == "Deployment":
            for c in d["spec"]["template"]["spec"]["containers"]:
                assert c["image"].endswith(f":{VERSION}"), c["image"]


def test_the_executor_answers_its_probes(images):
    """With no scheduler to register with: alive (/healthz) but not ready (/readyz)."""
    name = f"ardent-probe-test-{os.getpid()}"
    docker("run", "-d", "--rm", "--name", name, images["ardent-executor"], "--scheduler-connect-timeout-seconds", "600")
    try:
        def probe(path):
            request = f"exec 3<>/dev/tcp/127.0.0.1/50053; printf 'GET /{path} HTTP/1.0\\r\\n\\r\\n' >&3; head -1 <&3"
            return docker("exec", name, "bash", "-c", request, check=False).stdout
        wait_for("the executor's /healthz", lambda: "200" in probe("healthz"))
        assert " 503 " in probe("readyz")
        health = json.loads(docker("inspect", "--format", "{{json .State.Health}}", name).stdout)
        assert health["Status"] in ("starting", "healthy")
    finally:
        docker("rm", "-f", name, check=False)
