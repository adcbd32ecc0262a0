#!/usr/bin/env bash
# Installs what pcct needs on a fresh Debian machine, skipping what is already there:
# system libraries from Debian (apt-get) and a project virtualenv (.venv) with the pinned
# Python packages of requirements/dev.txt (build, tests, benchmark peers, plots), every
# dependency pinned by requirements/constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: pcct needs Python >= 3.11 as python3 (found: $(python3 --version 2>&1 || echo none))" >&2
  exit 1
fi

# The compiler and make are on the machines this project targets, but a bare image may lack them.
apt_packages=(g++ make libopenblas-openmp-dev libgtest-dev valgrind)
# Debian's own python3 ships venv (ensurepip) and its C headers (for the extension) apart.
if ! python3 -c 'import ensurepip, os, sysconfig
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null; then
  apt_packages+=(python3-venv python3-dev)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  # env inside sudo: sudo's env_reset would drop a DEBIAN_FRONTEND set outside it.
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements/dev.txt requirements/constraints.txt | sha256sum | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "setup: installing Python packages from requirements/dev.txt (pinned by requirements/constraints.txt)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt \
    -c requirements/constraints.txt
  touch "$stamp"
fi
