#!/usr/bin/env bash
# make-base.sh FLAVOUR...: makes ardent's base OS image from Debian's packages, with no registry,
# and prints its tag. mmdebstrap writes a minimal Debian 12 (bookworm) root filesystem with the
# packages of images/os/<FLAVOUR>.txt installed and slimmed the way Debian's official images are
# (debuerreotype's excludes), and `docker import` makes it an image. The tag carries a digest of
# this script and the package lists: an unchanged base is reused, a changed one gets a new tag.
#
#   DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR   mirrors (default deb.debian.org)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(($#)) || { echo "usage: $0 FLAVOUR... (flavours: runtime, python)" >&2; exit 2; }
lists=()
for flavour in "$@"; do
  [ -f "$here/$flavour.txt" ] || { echo "make-base.sh: no package list $here/$flavour.txt" >&2; exit 2; }
  lists+=("$here/$flavour.txt")
done
name=$(IFS=-; echo "$*")
digest=$(cat "$0" "${lists[@]}" | sha256sum | cut -c1-12)
tag="ardent-os:12-$name-$digest"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "make-base.sh: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }

packages=$(grep -hv '^#' "${lists[@]}" | paste -sd, -)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
work=$(mktemp -d "${TMPDIR:-/tmp}/ardent-os.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Slimming: documentation, manuals and translations are not installed, now or by later apt runs
# in derived images (the dpkg options stay in /etc/dpkg/dpkg.cfg.d); licences are kept.
slim=()
for path in doc man info groff linda lintian locale; do
  slim+=(--dpkgopt="path-exclude=/usr/share/$path/*")
done
slim+=(--dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-include=/usr/share/locale/locale.alias')

echo "make-base.sh: bootstrapping $tag with $packages" >&2
# The tar goes to a file first: a failed bootstrap then imports nothing.
mmdebstrap --variant=minbase --include="$packages" "${slim[@]}" \
  --aptopt='Acquire::Languages "none"' \
  --aptopt='APT::Install-Recommends "false"' \
  --customize-hook='printf "#!/bin/sh\nexit 101\n" > "$1/usr/sbin/policy-rc.d"; chmod 755 "$1/usr/sbin/policy-rc.d"' \
  --customize-hook=': > "$1/etc/machine-id"; rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log' \
  bookworm "$work/rootfs.tar" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main" >&2
docker import \
  --change 'CMD ["/bin/bash"]' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL org.opencontainers.image.title=ardent-os org.opencontainers.image.description=\"Debian 12 minbase with $packages\"" \
  --message "mmdebstrap bookworm minbase: $packages" \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "$tag"
