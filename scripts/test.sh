#!/usr/bin/env bash
# The whole test suite from a fresh clone: system packages, dockerd, .venv, offline image,
# then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh
scripts/setup.sh --test
if docker info >/dev/null 2>&1 && .venv/bin/redislab image --help >/dev/null 2>&1; then
    .venv/bin/redislab image build --if-missing
fi
# The suite mostly waits on real nodes (replication, failovers, containers), so it runs
# in 4 workers even on 2 cores; REDISLAB_TEST_WORKERS=0 runs it in one process.
workers=${REDISLAB_TEST_WORKERS:-4}
if [ "$workers" = 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
