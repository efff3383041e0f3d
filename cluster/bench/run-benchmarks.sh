#!/usr/bin/env bash
# Builds syncengine in release (its own scratch path, so debug builds in .build are not blocked),
# prepares the DBOS peer's venv, and runs `syncengine bench` against the development Postgres.
#   cluster/bench/run-benchmarks.sh [store|journal|replay|all] [more bench options...]
# Tables go to stdout; progress (SYNC_LOG_LEVEL=info) to stderr.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
name="${1:-all}"
shift || true
eval "$(cluster/services start)"   # idempotent: starts Postgres only if it is not running
cluster/bench/dbos-venv.sh >&2 || echo "DBOS venv unavailable: the journal table will say so" >&2
swift build -c release --product syncengine --scratch-path .build-release >&2
exec .build-release/release/syncengine bench "$name" --postgres "$SYNC_TEST_POSTGRES_URL" "$@"
