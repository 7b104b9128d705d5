#!/usr/bin/env bash
# System packages PERSE Studio needs on Debian 12 / Ubuntu, installed idempotently:
#   chromium              end-to-end tests and the in-browser benchmarks (no browser download is possible)
#   libvulkan1 + Mesa 25  WebGPU in Node (Dawn) on machines without a GPU: Mesa's llvmpipe Vulkan.
#                         Debian 12's own Mesa 22 is rejected by Dawn; bookworm-backports has Mesa 25.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-system-packages: run as root or install sudo" >&2; exit 1
  fi
fi

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
mesa_major() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }

if have_pkg chromium && have_pkg libvulkan1 && have_pkg mesa-vulkan-drivers && [ "$(mesa_major)" -ge 24 ] 2>/dev/null; then
  echo "install-system-packages: chromium, libvulkan1 and Mesa $(mesa_major) already installed"
  exit 0
fi

# On Debian 12, enable bookworm-backports (same mirror as the main suites) for a Mesa that Dawn accepts.
SOURCES=/etc/apt/sources.list.d/debian.sources
BACKPORTS=""
if grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release; then
  if [ -f "$SOURCES" ] && grep -q '^Suites: bookworm bookworm-updates$' "$SOURCES"; then
    $SUDO sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' "$SOURCES"
  fi
  grep -qsr 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && BACKPORTS="-t bookworm-backports"
fi

$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium libvulkan1 fonts-dejavu-core
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $BACKPORTS mesa-vulkan-drivers
echo "install-system-packages: done (Mesa $(mesa_major))"
