# ardent: the two commands are `make demo` and `make test`.
CARGO ?= cargo
OUT ?= out/demo
SIZE ?= 200

.PHONY: deps venv build test demo bench images clean

deps:
	scripts/install-deps.sh

venv: deps
	scripts/venv.sh

build: deps
	$(CARGO) build --workspace --bins

## Formatting, clippy (warnings are errors) and rustdoc (no broken links); then unit, doc and integration tests (real GeoTIFF stacks, the CLI, clusters and an S3 server on
## loopback, pyccd parity, the web UI driven in headless Chromium, the Mesos framework against a
## fake master whose agents run real executors); the Python client's tests (pytest, ADBC against a real scheduler
## with Flight SQL and two executors, the example notebook run headless); the images' tests when a
## Docker engine answers (images from the debug binaries, one container, the compose cluster with
## an executor killed and one cut off, the derived image, the Kubernetes manifests validated,
## executor containers placed through the fake Mesos master);
## criterion benches run once each in test mode, and the benchmark harness in quick mode (debug
## build, small inputs, answers cross-checked), so they keep working.
test: venv
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps
	# The binaries with the tests, in one build: --bins alone unifies the dependencies' features
	# without the dev-dependencies, which would build the whole stack a second time for the tests.
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc
	.venv/bin/pip install -q --no-deps --no-build-isolation ./python
	.venv/bin/python -m pytest -q python/tests
	.venv/bin/python -m pytest -q -rs tests/images
	target/debug/ardent-bench --quick --out target/bench/quick

## The main job: a synthetic stack, yearly clear-sky NDVI medians in SQL, Parquet, a GeoTIFF map and PNG.
demo: venv
	$(CARGO) build --release --bin ardent
	ARDENT=target/release/ardent OUT=$(OUT) SIZE=$(SIZE) demo/run.sh

## The benchmark report (release build): ardent local and on a one-host cluster (or the cluster
## in ARDENT_MASTER) vs pyccd, rasterio + numpy and Apache Spark, into benches/results; then the
## criterion benches (target/criterion) and pyccd timed on the same single pixels.
bench: venv
	$(CARGO) build --release --bins
	target/release/ardent-bench --out benches/results
	$(CARGO) bench -p ardent-benches
	.venv/bin/python benches/pyccd_time.py

## The images (release binaries): ardent, ardent-scheduler and ardent-executor at the workspace's
## version, on a base OS made here from Debian's packages (images/README.md).
images: deps
	$(CARGO) build --release --bins
	images/build.sh

clean:
	rm -rf out
