#!/usr/bin/env bash
# scripts/install-proof.sh: proves that a user outside this repository can
# install its modules at the version about to be tagged ($VERSION, default
# v0.1.0). .ci/run calls it.
#
#   1. scripts/modproxy writes a file-system module proxy holding
#      github.com/bedrockguard/bedrockguard and
#      github.com/bedrockguard/bedrockguard/pacing/redisstore at $VERSION,
#      zipped from the working tree as the go command zips a tagged commit.
#   2. In an empty temporary directory, a new module holding a copy of
#      scripts/installproof/main.go (which imports the root package and
#      redisstore) runs "go get" of each module at $VERSION, then "go mod
#      tidy" and "go build", with GOWORK=off, so no go.work and no replace
#      directive helps: only what the proxy serves. Before that, each module
#      is fetched alone into an empty module of its own, so that one
#      module's requirements cannot paper over the other's.
#
# GOPROXY is the file proxy, then the module cache's download directory (a
# proxy too, so that dependencies already downloaded are not fetched
# again), then the usual GOPROXY. GONOSUMDB keeps the checksum database out
# of our untagged modules; every other module is checked against the go.sum
# lines of our modules (copied in, so that the checksum database is asked
# only for modules they lack). The module cache is a new, private one: the
# go command takes a module version in its cache to be immutable (it even
# indexes its packages once), so the shared cache would keep serving the
# first v0.1.0 it saw. -trimpath makes the build cache independent of that
# cache's path, so that the dependencies compile once per build cache, not
# once per run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
VERSION=${VERSION:-v0.1.0}
modules=(. pacing/redisstore)
paths=(github.com/bedrockguard/bedrockguard github.com/bedrockguard/bedrockguard/pacing/redisstore)

cache=$(go env GOMODCACHE)
tmp=$(mktemp -d)
cleanup() { chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

echo "install proof: module proxy at $tmp/proxy"
(cd scripts && go run ./modproxy -C "$root" -out "$tmp/proxy" -version "$VERSION" "${modules[@]}")

upstream=$(go env GOPROXY)
app="$tmp/app"
mkdir -p "$app"
cp scripts/installproof/main.go "$app/main.go"
for m in "${modules[@]}"; do
	cat "$m/go.sum"
done | sort -u >"$app/go.sum"

cd "$app"
export GOWORK=off
export GOFLAGS=-modcacherw
export GOMODCACHE="$tmp/modcache"
export GOPROXY="file://$tmp/proxy,file://$cache/cache/download,$upstream"
export GONOSUMDB=github.com/bedrockguard/bedrockguard
export GOPRIVATE= GONOPROXY=
# Each module alone, in a module of its own: its own requirements must
# resolve (a placeholder version of the other module fails here, which a
# "go get" of both together can hide).
for p in "${paths[@]}"; do
	mkdir "$tmp/alone" && cd "$tmp/alone"
	go mod init example.com/alone 2>/dev/null
	go get "$p@$VERSION"
	cd "$app" && rm -rf "$tmp/alone"
done
go mod init example.com/installproof
for p in "${paths[@]}"; do
	go get "$p@$VERSION"
done
go mod tidy
go build -trimpath -o "$tmp/installproof" .
# Every module of ours in the build list is at $VERSION.
stray=$(go list -m all | awk -v v="$VERSION" '$1 ~ /^github\.com\/bedrockguard\// && $2 != v')
if [ -n "$stray" ]; then
	echo "install proof: modules of this repository at another version than $VERSION:"
	echo "$stray"
	exit 1
fi
echo "install proof: built an outside program from the proxy; its go.mod:"
sed 's/^/    /' go.mod
go version -m "$tmp/installproof" | awk '$2 ~ /^github.com\/bedrockguard\// { print "    " $1, $2, $3, $4 }'
echo "install proof ok: ${paths[*]} install at $VERSION"
