#!/usr/bin/env bash
# Installs what pcct needs on a fresh Debian machine, skipping what is already there:
# system libraries from Debian (apt-get) and a project virtualenv (.venv) with the pinned
# Python packages of requirements/<set>.txt. Usage: scripts/setup.sh [dev|bench]
set -euo pipefail
cd "$(dirname "$0")/.."
set_name="${1:-dev}"

apt_packages=(libopenblas-openmp-dev libgtest-dev)
if [[ "$set_name" == bench ]]; then apt_packages+=(valgrind); fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
req="requirements/${set_name}.txt"
stamp=".venv/.installed-${set_name}-$(sha256sum "$req" requirements/dev.txt | sha256sum | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "setup: installing Python packages from $req"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt
  if [[ "$set_name" != dev ]]; then .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"; fi
  touch "$stamp"
fi
