#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and test ardent: GDAL, fonts for map
# legends, protoc for the Ballista stack, Python venvs, a Java runtime for the Spark baseline, and
# mmdebstrap for the images' base OS, and Chromium with its WebDriver for the web UI's browser tests.
set -euo pipefail

packages=(libgdal-dev gdal-bin pkg-config clang libclang-dev libfontconfig1-dev libfreetype-dev
          fonts-dejavu-core protobuf-compiler python3-venv default-jre-headless mmdebstrap
          chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust (https://rustup.rs)" >&2
  exit 1
fi
# make test runs cargo fmt --check and cargo clippy.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
