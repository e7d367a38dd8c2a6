#!/usr/bin/env bash
# Install and start what the test suite needs on the machine: Debian's redis-server,
# redis-sentinel, redis-tools, docker.io, docker-registry, docker-compose and chromium (when root and missing), and a running
# dockerd.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /usr/bin/chromium ] || need+=(chromium)  # tests/tui/test_serve.py (the TUI in a browser)
# tests/backends/test_image_pull.py: a registry on 127.0.0.1 to pull from (no internet here)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
# tests/backends/test_docker_bits.py: `redislab export compose` run by Compose itself
# (v1, as in the walkthrough; the v2 plugin is used instead where it is installed)
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 \
    || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> apt-get install ${need[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "missing: ${need[*]} (install them: sudo apt-get install ${need[*]})" >&2
        exit 1
    fi
fi
# Debian's package may start a redis-server on 6379 via init scripts; tests use free ports,
# so it is left alone.
if command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "==> starting dockerd"
        nohup dockerd >/tmp/redislab-dockerd.log 2>&1 &
        for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
        docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /tmp/redislab-dockerd.log" >&2; exit 1; }
    else
        echo "Docker daemon not running and not root: Docker tests will fail in CI" >&2
    fi
fi
