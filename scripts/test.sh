#!/usr/bin/env bash
# Runs every test of every Go module in this repository, with the race detector.
# This is the README's test command; .ci/run calls it after installing services.
set -euo pipefail
cd "$(dirname "$0")/.."
modules=$(find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
status=0
for m in $modules; do
	echo "== go test -race $m/..."
	(cd "$m" && go test -race -count=1 ${GOTESTFLAGS:-} ./...) || status=1
done
exit $status
