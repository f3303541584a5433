#!/usr/bin/env bash
# build.sh: builds ardent's images (`make images`) from binaries built on the host.
#
#   ardent:VERSION            CLI, scheduler, executor, Python 3 with the ardent package, JupyterLab
#   ardent-scheduler:VERSION  the scheduler alone
#   ardent-executor:VERSION   the executor alone
#
# Environment:
#   PROFILE=release|debug   which target/PROFILE binaries to ship (default release; debug ones are
#                           stripped here, and serve the tests, which do not wait for a release build)
#   BASE=IMAGE              the OS under the slim images (default: ardent's local base, made by
#                           os/make-base.sh from Debian's packages); e.g. debian:bookworm-slim
#   PYTHON_BASE=IMAGE       the OS under the ardent image (default: the local base with Python)
#   TARGETS="ardent ..."    which images to build (default all three)
#   PIP=COMMAND             the pip that downloads the wheelhouse (default python3 -m pip)
#
# Nothing is fetched inside `docker build` when the bases are local (--network none): the
# wheelhouse is downloaded on the host once and kept under target/images, keyed by its pins.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
images="$root/images"
profile=${PROFILE:-release}
targets=${TARGETS:-ardent ardent-scheduler ardent-executor}
pip=${PIP:-python3 -m pip}
die() { echo "build.sh: $*" >&2; exit 1; }

docker version --format '{{.Server.Version}}' >/dev/null 2>&1 \
  || die "no Docker engine answers (docker version failed)"
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml")
[ -n "$version" ] || die "no version under [workspace.package] in Cargo.toml"
source=$(sed -n '/^\[workspace.package\]/,/^\[/s/^repository *= *"\(.*\)"/\1/p' "$root/Cargo.toml")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || revision="$revision-dirty"
client_version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/python/pyproject.toml")
grep -qx "ardent==$client_version" "$images/requirements.txt" \
  || die "images/requirements.txt must pin ardent==$client_version (python/pyproject.toml)"

bin="$root/target/$profile"
for b in ardent ardent-scheduler ardent-executor; do
  [ -x "$bin/$b" ] || die "$bin/$b is missing: run cargo build $([ "$profile" = release ] && echo --release) --bins first"
done

out="$root/target/images"
context="$out/context-$profile"
rm -rf "$context"
mkdir -p "$context/bin" "$context/notebooks/examples"
cp -r "$images/os" "$context/os"
cp "$images/Dockerfile" "$context/"
cp "$images/bin/ardent-entrypoint" "$images/bin/ardent-healthcheck" "$context/bin/"
for b in ardent ardent-scheduler ardent-executor; do
  # Release binaries are stripped by the release profile; debug ones are stripped here.
  strip --strip-all -o "$context/bin/$b" "$bin/$b"
done
cp "$root/examples/session.ipynb" "$context/notebooks/examples/"

# The wheelhouse: CPython 3.11 wheels for Debian 12's glibc, whatever Python the host runs.
digest=$(cat "$images/requirements.txt" "$root"/python/pyproject.toml "$root"/python/ardent/*.py | sha256sum | cut -c1-12)
wheelhouse="$out/wheelhouse-$digest"
if [ ! -f "$wheelhouse/requirements.txt" ]; then
  echo "build.sh: downloading the wheelhouse into $wheelhouse" >&2
  rm -rf "$wheelhouse.tmp"
  mkdir -p "$wheelhouse.tmp"
  grep -v '^ardent==' "$images/requirements.txt" > "$wheelhouse.tmp/third-party.txt"
  # pip does not widen --platform to older manylinux levels by itself: glibc 2.36 runs them all.
  platforms=()
  for level in manylinux_2_{36..17} manylinux2014 manylinux_2_12 manylinux1; do
    platforms+=(--platform "${level}_$(uname -m)")
  done
  $pip download -q --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
    "${platforms[@]}" --dest "$wheelhouse.tmp" -r "$wheelhouse.tmp/third-party.txt" \
    || die "pip download of images/requirements.txt failed"
  $pip wheel -q --no-deps --wheel-dir "$wheelhouse.tmp" "$root/python" \
    || die "building the ardent client's wheel failed (python/)"
  cp "$images/requirements.txt" "$wheelhouse.tmp/requirements.txt"
  rm "$wheelhouse.tmp/third-party.txt"
  mv "$wheelhouse.tmp" "$wheelhouse"
fi
cp -r "$wheelhouse" "$context/wheelhouse"

network=()
if [ -z "${BASE:-}" ]; then
  BASE=$("$images/os/make-base.sh" runtime)
fi
if [ -z "${PYTHON_BASE:-}" ]; then
  PYTHON_BASE=$("$images/os/make-base.sh" runtime python)
fi
case "$BASE $PYTHON_BASE" in
  # Only bases from a registry need apt inside the build.
  *ardent-os:*ardent-os:*) network=(--network none) ;;
esac

# build TARGET: one target of the Dockerfile as TARGET:VERSION. The image that tag named before,
# now untagged, is removed, so rebuilds leave nothing dangling.
build() {
  local target=$1 tag="$1:$version" old
  old=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  docker build -q "${network[@]}" --target "$target" \
    --build-arg BASE="$BASE" --build-arg PYTHON_BASE="$PYTHON_BASE" \
    --label org.opencontainers.image.title="$target" \
    --label org.opencontainers.image.version="$version" \
    --label org.opencontainers.image.source="$source" \
    --label org.opencontainers.image.revision="$revision" \
    --label org.opencontainers.image.licenses=Apache-2.0 \
    --tag "$tag" "$context" >/dev/null
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    docker image rm "$old" >/dev/null 2>&1 || true  # still used by a container or another tag
  fi
}

for target in $targets; do
  case "$target" in
    ardent | ardent-scheduler | ardent-executor) ;;
    *) die "unknown target $target (ardent, ardent-scheduler, ardent-executor)" ;;
  esac
  echo "build.sh: $target:$version from target/$profile on $([ "$target" = ardent ] && echo "$PYTHON_BASE" || echo "$BASE")" >&2
  start=$(date +%s)
  # The venv stage is tagged too (ardent-python-env): kept as the build cache, not left dangling.
  [ "$target" = ardent ] && build ardent-python-env
  build "$target"
  size=$(docker image inspect --format '{{.Size}}' "$target:$version")
  echo "build.sh: $target:$version built in $(( $(date +%s) - start )) s, $(( size / 1000000 )) MB" >&2
done
