# ardent: the two commands are `make demo` and `make test`.
CARGO ?= cargo
OUT ?= out/demo
SIZE ?= 200

.PHONY: deps venv build test demo bench clean

deps:
	scripts/install-deps.sh

venv: deps
	scripts/venv.sh

build: deps
	$(CARGO) build --workspace --bins

## Unit, doc and integration tests (real GeoTIFF stacks, the CLI, an S3 server on loopback);
## benches run once each in test mode so they keep working.
test: venv
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

## The main job: a synthetic stack, yearly clear-sky NDVI medians in SQL, Parquet, a GeoTIFF map and PNG.
demo: deps
	$(CARGO) build --release --bin ardent
	ARDENT=target/release/ardent OUT=$(OUT) SIZE=$(SIZE) demo/run.sh

## Criterion benches (release build; results in target/criterion), then pyccd on the same pixels
## and the local vs one-host cluster comparison.
bench: venv
	$(CARGO) bench -p ardent-benches
	.venv/bin/python benches/pyccd_time.py
	$(CARGO) build --release --bins
	benches/local_vs_cluster.sh

clean:
	rm -rf out
