#!/bin/sh
# deploy/check.sh: offline checks of the Prometheus rules and the Grafana dashboard.
#
#   1. promtool check rules   deploy/prometheus/bedrockguard-alerts.yml
#   2. promtool test rules    deploy/prometheus/bedrockguard-alerts.test.yml
#   3. promtool check config  deploy/prometheus/prometheus.yml
#   4. python3 -m json.tool   deploy/grafana/bedrockguard-dashboard.json (valid JSON)
#   5. deploy/grafana/queries.json is up to date with the dashboard
#   6. promtool check rules   on every dashboard query (as recording rules): PromQL syntax
#
# Needs promtool (Debian: apt-get install prometheus) and python3. Exits non-zero on
# the first failure. Running the queries against a live Prometheus during a demo is
# the integration test's job: deploy/grafana/queries.py --prometheus URL.
set -eu
cd "$(dirname "$0")"

if ! command -v promtool >/dev/null 2>&1; then
	echo "deploy/check.sh: promtool not found (apt-get install -y prometheus)" >&2
	exit 1
fi
echo "== $(promtool --version 2>&1 | head -n 1)"

step() { echo; echo "== $*"; }

step "promtool check rules prometheus/bedrockguard-alerts.yml"
promtool check rules prometheus/bedrockguard-alerts.yml

step "promtool test rules prometheus/bedrockguard-alerts.test.yml"
promtool test rules prometheus/bedrockguard-alerts.test.yml

step "promtool check config prometheus/prometheus.yml"
promtool check config prometheus/prometheus.yml

step "python3 -m json.tool grafana/bedrockguard-dashboard.json"
python3 -m json.tool grafana/bedrockguard-dashboard.json >/dev/null
echo "  SUCCESS: valid JSON"

step "grafana/queries.json matches the dashboard"
python3 grafana/queries.py --check grafana/queries.json

step "promtool check rules on the dashboard queries (PromQL syntax)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 grafana/queries.py --rules "$tmp/dashboard-queries.yml"
promtool check rules "$tmp/dashboard-queries.yml"

echo
echo "deploy/check.sh: all checks passed"
