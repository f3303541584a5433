"""examples/session.ipynb runs headless against the cluster, and its outputs hold the expected
tables and pictures."""

from __future__ import annotations

import os

import nbformat
import pyarrow.parquet as pq
from nbclient import NotebookClient

from conftest import ROOT, USERS, STACK_SIZE


def test_the_example_notebook_runs(cluster, tmp_path, monkeypatch):
    out = tmp_path / "out"
    for key, value in {
        "ARDENT_URL": cluster.url, "ARDENT_USER": "alice", "ARDENT_PASSWORD": USERS["alice"],
        "ARDENT_STACK": str(cluster.stack), "ARDENT_OUT": str(out),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws the figures
    notebook = nbformat.read(ROOT / "examples" / "session.ipynb", as_version=4)
    # A fresh venv's first kernel compiles its modules and builds matplotlib's font cache: give
    # it time to start (nbclient's default is 60 s).
    NotebookClient(notebook, timeout=600, startup_timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4, "series plot, NDVI map, change map and pixel plot"
    html = "\n".join(o["data"].get("text/html", "") for o in outputs if "data" in o)
    for column in ("sday", "bday", "chprob", "nirmag"):
        assert column in html, f"the segment table shows {column}"
    assert (out / "ndvi_2015.tif").exists()
    assert pq.read_table(out / "ccdc.parquet").num_rows == STACK_SIZE * STACK_SIZE
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"parquet rows: {STACK_SIZE * STACK_SIZE}" in text
