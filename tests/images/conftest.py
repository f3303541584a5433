"""The images' tests run the real Docker engine: images built by images/build.sh from the local
base OS, a compose cluster on a private network, a derived image. Without a Docker engine they
are skipped with the reason printed (pytest -rs).

ARDENT_IMAGE_PROFILE picks the binaries the images ship (default debug: the test command has
built them; `make images` builds release ones)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))

from support import free_port, make_certificates, wait_for  # noqa: E402

VERSION = re.search(r'^\[workspace\.package\][^\[]*?^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(),
                    re.M | re.S).group(1)
PROFILE = os.environ.get("ARDENT_IMAGE_PROFILE", "debug")
IMAGES = ("ardent", "ardent-scheduler", "ardent-executor")
# A small stack: CCDC in a debug build over it takes seconds.
STACK_SIZE = 10

__all__ = ["ROOT", "VERSION", "STACK_SIZE", "ccdc_sql", "docker", "free_port", "local_answer", "make_certificates",
           "raster_sql", "run", "wait_for"]


def run(args: list[str], timeout: float = 900, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Runs a command, failing with its output when it fails."""
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {out.returncode}:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return out


def docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return run(["docker", *args], **kwargs)


@pytest.fixture(scope="session")
def engine():
    if shutil.which("docker") is None:
        pytest.skip("no docker command on this machine: the images' tests need a Docker engine")
    out = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"no Docker engine answers ({out.stderr.strip()}): the images' tests need one")
    return out.stdout.strip()


@pytest.fixture(scope="session")
def images(engine):
    """ardent, ardent-scheduler and ardent-executor at the workspace's version, built now."""
    def dangling() -> set[str]:
        return set(docker("images", "-q", "--filter", "dangling=true").stdout.split())

    before = dangling()
    build = run([str(ROOT / "images" / "build.sh")], timeout=1800, env={**os.environ, "PROFILE": PROFILE})
    sys.stderr.write(build.stderr)
    assert dangling() <= before, "images/build.sh left untagged images behind"
    yield {name: f"{name}:{VERSION}" for name in IMAGES}
    assert dangling() <= before, "the images' tests left untagged images behind"


def host_ardent() -> str:
    path = ROOT / "target" / PROFILE / "ardent"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: build it first (cargo build --workspace --bins)")
    return str(path)


def local_answer(sql: str) -> str:
    """The answer of local mode on the host, as CSV."""
    return run([host_ardent(), "sql", "--quiet", "--format", "csv", "--", sql]).stdout


@pytest.fixture(scope="session")
def data_dir(images, tmp_path_factory):
    """A host folder mounted at /data, with a stack written by the image's own `ardent synth`."""
    root = tmp_path_factory.mktemp("data")
    root.chmod(0o777)  # the images run as uid 10001
    docker("run", "--rm", "-v", f"{root}:/data", images["ardent"], "synth", "--out", "/data/stack",
           "--size", str(STACK_SIZE), "--start", "2014-01-01", "--end", "2017-12-31", "--seed", "7")
    return root


def raster_sql(stack: str, options: str = "") -> str:
    """Yearly clear-sky NDVI medians of a stack: a scan, a filter, an exchange and an aggregate."""
    return (f"CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{stack}' OPTIONS ('layout' 'observations'{options}); "
            "SELECT CAST(date_part('year', date) AS INT) AS year, round(median(ndvi(red, nir)), 9) AS ndvi, "
            "count(*) AS n FROM obs WHERE qa_clear(qa, 'c1') GROUP BY year ORDER BY year")


def ccdc_sql(stack: str) -> str:
    """CCDC on every pixel: each pixel's segment count, first break and first segment's NIR rmse."""
    return (f"CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{stack}'; "
            "SELECT row, col, cardinality(c['change_models']) AS segments, "
            "c['change_models'][1]['break_day'] AS break_day, "
            "round(c['change_models'][1]['nir']['rmse'], 6) AS nir_rmse "
            "FROM (SELECT row, col, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) AS c FROM pix) "
            "ORDER BY row, col")
