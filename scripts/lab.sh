#!/usr/bin/env bash
# Set up .venv if needed and start the lab on the built-in engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
exec .venv/bin/redislab "$@"
