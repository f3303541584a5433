#!/usr/bin/env bash
# Makes .venv with the Python packages the tests and benchmarks use (tests/requirements.txt), once.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.requirements
if [ -f "$stamp" ] && cmp -s tests/requirements.txt "$stamp"; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r tests/requirements.txt
# matplotlib builds its font cache on first import: once here, not inside a test's kernel start.
MPLBACKEND=Agg .venv/bin/python -c "import matplotlib.pyplot"
cp tests/requirements.txt "$stamp"
