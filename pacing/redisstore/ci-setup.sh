#!/usr/bin/env bash
# pacing/redisstore/ci-setup.sh: install redis-server for the Redis store's
# tests. Idempotent: does nothing when redis-server is already on PATH (or
# $REDIS_SERVER is set). The tests start their own redis-server on a free
# loopback port, without persistence; the Debian service is not used.
# With CI=true the tests fail, instead of skipping, when it is missing.
set -euo pipefail

bin=${REDIS_SERVER:-}
if [ -z "$bin" ] && ! command -v redis-server >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
	# The package may start its own service on 6379; the tests do not need it.
	if command -v systemctl >/dev/null 2>&1; then
		$sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
	fi
fi
bin=${bin:-$(command -v redis-server)}
echo "REDIS_SERVER=$bin"
"$bin" --version
