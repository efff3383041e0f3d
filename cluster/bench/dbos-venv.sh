#!/usr/bin/env bash
# Creates the Python venv that `syncengine bench journal` runs its DBOS Transact peer in:
# .build-bench-venv/ at the package root (ignored by git as .build-*). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${SYNC_BENCH_VENV:-$root/.build-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import dbos, psycopg' 2>/dev/null \
    || "$venv/bin/pip" install --quiet 'dbos==3.4.0' 'psycopg[binary]'
"$venv/bin/python" -c "from importlib.metadata import version; print('dbos', version('dbos'), 'in $venv')"
