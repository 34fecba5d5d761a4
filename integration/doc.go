// Package integration holds bedrockguard's end-to-end telemetry tests: a
// real demo run exports traces over OTLP to a real Jaeger and is scraped by
// a real Prometheus that loads the alert rules of deploy/prometheus; the
// tests then read back what those servers saw through their query APIs.
//
// It is a module of its own, so that Jaeger (declared as a Go tool in this
// module's go.mod, about 10-15 minutes of CPU to build the first time) and
// its large dependency graph stay out of the library's go.mod. The repo's
// go.work lists both modules.
//
// Run it with
//
//	bash integration/ci-setup.sh   # installs Prometheus (Debian), builds integration/bin/jaeger
//	cd integration && go test -race -v ./...
//
// The tests find the servers through JAEGER_BIN (default bin/jaeger in this
// directory, then jaeger on PATH) and PROMETHEUS_BIN (default prometheus on
// PATH), and build the demo from ../cmd/bedrockguard (or use DEMO_BIN). When
// a server binary is missing they skip, unless CI=true, when they fail.
// UPDATE_GOLDEN=1 rewrites docs/jaeger-trace.txt from the trace fetched from
// Jaeger. See README.md in this directory.
package integration
