#!/usr/bin/env bash
# covertreex (the library pcct replaces) only ships wheels for Python >= 3.12, so the peer
# benchmark runs it in its own virtualenv (.venv-ctx) through bench/covertreex_runner.py.
# Not fatal when no such Python exists: bench/peers.py then reports covertreex as missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv-ctx/bin/python ]] && exit 0
py=""
for cand in /root/.pyenv/versions/3.12*/bin/python /root/.pyenv/versions/3.13*/bin/python python3.12 python3.13; do
  # Run it: a pyenv shim can exist without a usable interpreter behind it.
  if "$cand" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then py="$cand"; break; fi
done
if [[ -z "$py" ]]; then
  echo "setup_covertreex: no Python >= 3.12 found; covertreex will be reported as missing"
  exit 0
fi
echo "setup_covertreex: creating .venv-ctx with $py"
"$py" -m venv .venv-ctx
.venv-ctx/bin/python -m pip install -q --disable-pip-version-check "covertreex[numba]==0.4.5" "numpy>=2"
