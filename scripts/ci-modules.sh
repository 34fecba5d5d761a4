#!/usr/bin/env bash
# scripts/ci-modules.sh: the release checks of every Go module of the
# repository, each on its own as a user gets it (GOWORK=off: its own go.mod
# decides every version; .ci/run calls this after the tests):
#
#   1. go mod tidy -diff   go.mod and go.sum are tidy
#   2. go vet ./...
#   3. staticcheck ./...   default checks, tests included
#   4. an API report: apidiff between the module's last tag (v* for the root
#      module, DIR/v* for the module in DIR, e.g. pacing/redisstore/v0.1.0)
#      and the working tree. It reports and never fails (v0: no
#      compatibility promise yet); with no tag, or no tag in a shallow clone,
#      it says there is nothing to compare.
#
# The tools come from the Go module proxy (go install PKG@VERSION, pinned
# below) into $TOOLS_BIN, default .tools/bin (gitignored); an installed tool
# at the pinned version is reused. Every module is checked, and the script
# exits 1 at the end if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# staticcheck 2026.2.2, the release for Go 1.26.
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2
APIDIFF=golang.org/x/exp/cmd/apidiff@v0.0.0-20261113113407-e3970619a1a4

bin=${TOOLS_BIN:-$root/.tools/bin}
mkdir -p "$bin"
bin=$(cd "$bin" && pwd)

# install_tool PKG@VERSION: go install it into $bin unless it is there at
# that version.
install_tool() {
	local pkg=${1%@*} want=${1##*@} name have=""
	name=$(basename "$pkg")
	if [ -x "$bin/$name" ]; then
		have=$(go version -m "$bin/$name" 2>/dev/null | awk '$1 == "mod" { print $3 }')
	fi
	if [ "$have" != "$want" ]; then
		echo "installing $1 into $bin"
		GOBIN="$bin" GOWORK=off go install "$1"
	fi
}
install_tool "$STATICCHECK"
install_tool "$APIDIFF"
echo "$("$bin/staticcheck" -version); apidiff ${APIDIFF##*@}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOWORK=off

# last_tag GLOB: the newest tag matching GLOB, preferring one reachable
# from HEAD; empty when there is none.
last_tag() {
	git describe --tags --abbrev=0 --match "$1" HEAD 2>/dev/null ||
		git -c versionsort.suffix=- tag -l "$1" --sort=-v:refname | head -n 1
}

tags_fetched=
# api_report DIR MODULE_PATH
api_report() {
	local dir=$1 modpath=$2 glob tag old
	if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		echo "apidiff: not in a git work tree, nothing to compare"
		return 0
	fi
	if [ "$dir" = . ]; then glob='v[0-9]*'; else glob="${dir#./}/v[0-9]*"; fi
	tag=$(last_tag "$glob")
	if [ -z "$tag" ] && [ -z "$tags_fetched" ] && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
		# A shallow clone may lack the tags: ask its origin once, briefly.
		tags_fetched=1
		timeout 60 git fetch --quiet --tags origin >/dev/null 2>&1 || true
		tag=$(last_tag "$glob")
	fi
	if [ -z "$tag" ]; then
		echo "apidiff: no tag matches $glob, nothing to compare"
		return 0
	fi
	old="$tmp/old-${tag//\//-}"
	mkdir -p "$old"
	if ! git archive "$tag" | tar -x -C "$old" 2>/dev/null; then
		echo "apidiff: cannot read $tag in this clone (shallow?), nothing to compare"
		return 0
	fi
	if [ ! -f "$old/$dir/go.mod" ]; then
		echo "apidiff: $dir is not a module at $tag, nothing to compare"
		return 0
	fi
	echo "apidiff: $modpath, $tag -> working tree (informational)"
	if ! (cd "$old/$dir" && "$bin/apidiff" -m -w "$old/api.old" "$modpath") ||
		! (cd "$dir" && "$bin/apidiff" -m -w "$old/api.new" "$modpath"); then
		echo "apidiff: could not load $modpath (see above), no report"
		return 0
	fi
	local report
	if ! report=$("$bin/apidiff" -m "$old/api.old" "$old/api.new" 2>&1); then
		echo "apidiff failed, no report:"
		echo "$report"
		return 0
	fi
	report=$(echo "$report" | { grep -v '^Ignoring internal package' || true; })
	if [ -z "$report" ]; then
		echo "no API changes since $tag"
	else
		echo "$report" | sed 's/^/    /'
	fi
}

status=0
modules=$(find . -name go.mod -not -path '*/.*/*' -not -path '*/testdata/*' -exec dirname {} \; | sort)
for m in $modules; do
	modpath=$(cd "$m" && go list -m)
	echo "== module $m ($modpath)"
	if ! (cd "$m" && go mod tidy -diff); then
		echo "FAIL: $m is not tidy; fix: (cd $m && GOWORK=off go mod tidy)"
		status=1
	fi
	if ! (cd "$m" && go vet ./...); then
		echo "FAIL: go vet in $m"
		status=1
	fi
	if ! (cd "$m" && "$bin/staticcheck" ./...); then
		echo "FAIL: staticcheck in $m"
		status=1
	fi
	api_report "$m" "$modpath"
done
if [ "$status" -ne 0 ]; then
	echo "ci-modules: some checks failed (see FAIL above)"
fi
exit "$status"
