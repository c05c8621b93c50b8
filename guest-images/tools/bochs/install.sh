#!/usr/bin/env bash
# install.sh - install Debian's Bochs 2.7 for run-bochs.sh (development aid, not a project
# dependency): packages bochs, bochsbios, bochs-term, vgabios, plus script(1) (bsdutils) and
# binutils. Idempotent: does nothing when every package is installed; otherwise runs
# apt-get update once and installs the missing ones. Needs root (or sudo) and apt-get.
set -euo pipefail
PACKAGES=(bochs bochsbios bochs-term vgabios bsdutils binutils)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if (( ${#missing[@]} == 0 )); then
    echo "install.sh: already installed: ${PACKAGES[*]}"
    exit 0
fi

SUDO=
if (( EUID != 0 )); then
    command -v sudo >/dev/null 2>&1 || { echo "install.sh: run as root (missing: ${missing[*]})" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
echo "install.sh: installed ${missing[*]}"
