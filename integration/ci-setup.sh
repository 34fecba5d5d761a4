#!/usr/bin/env bash
# integration/ci-setup.sh: install and build the servers the integration
# tests (integration/demo_test.go) run against. Idempotent; .ci/run calls it
# before the tests.
#
#   1. Prometheus from Debian (apt-get install prometheus), unless a
#      prometheus binary is already on PATH. Its systemd service is not used:
#      the tests start their own Prometheus on a loopback port with a
#      temporary config and data directory.
#   2. Jaeger, the Go tool declared in integration/go.mod
#      (github.com/jaegertracing/jaeger/cmd/jaeger v1.76.0), built into
#      $JAEGER_BIN (default integration/bin/jaeger). The first build takes
#      10-15 minutes of CPU on 2 cores; later ones reuse Go's build cache
#      (go env GOCACHE) and take seconds, so keep that cache between CI runs.
#
# The tests start Jaeger themselves, on free loopback ports with in-memory
# storage; nothing is left running by this script. Export for the tests:
#   JAEGER_BIN=<path printed below>  PROMETHEUS_BIN=<path printed below>
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)

echo "== integration: Prometheus"
if ! command -v prometheus >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# --no-install-recommends: no node-exporter and friends; the package's
	# postinst may try to start its service, which the tests do not need.
	$sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
PROMETHEUS_BIN=${PROMETHEUS_BIN:-$(command -v prometheus)}
echo "PROMETHEUS_BIN=$PROMETHEUS_BIN"
"$PROMETHEUS_BIN" --version 2>&1 | head -n 1

echo "== integration: Jaeger (go tool, build cache $(go env GOCACHE))"
JAEGER_BIN=${JAEGER_BIN:-$here/bin/jaeger}
mkdir -p "$(dirname "$JAEGER_BIN")"
start=$(date +%s)
# GOWORK=off: the integration module's own go.mod decides the versions
# (the same ones as in the workspace: it requires the root module).
GOWORK=off go build -o "$JAEGER_BIN" github.com/jaegertracing/jaeger/cmd/jaeger
echo "built in $(($(date +%s) - start))s"
echo "JAEGER_BIN=$JAEGER_BIN"
# A go-built Jaeger has no version stamped in; the module version is in the binary.
go version -m "$JAEGER_BIN" | awk '$1 == "dep" && $2 == "github.com/jaegertracing/jaeger" || $1 == "mod" { print "jaeger module", $2, $3 }'
