// Package examples_test builds every example and runs it against its
// in-process simulator.
package examples_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// examples maps each example directory to a piece of its expected output.
var examples = map[string]string{
	"minimal":           "output tokens",
	"loaddefaultconfig": "guarded call done",
	"batch":             "interactive",
	"streaming":         "output tokens]",
	"otlp-jaeger":       "the first was retried after ModelNotReadyException",
	"prometheus":        "aws_bedrock_throttles_total{",
}

func TestExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every example")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, d := range dirs {
		if d.IsDir() {
			if _, ok := examples[d.Name()]; !ok {
				t.Errorf("example %s has no entry in this test", d.Name())
			}
		}
	}
	for name, want := range examples {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			exe := filepath.Join(bin, name)
			if out, err := exec.CommandContext(ctx, goTool, "build", "-o", exe, "./"+name).CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			cmd := exec.CommandContext(ctx, exe)
			cmd.Env = append(os.Environ(), "BEDROCK_ENDPOINT=", "OTEL_EXPORTER_OTLP_ENDPOINT=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		})
	}
}

// The otlp-jaeger doc comment names the fault its in-process simulator
// injects, the one the example prints (it once said a throttle).
func TestOTLPJaegerCommentMatchesFault(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("otlp-jaeger", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	doc, _, _ := strings.Cut(src, "package main")
	if !strings.Contains(src, "ModelNotReady: bedrocksim.Trigger") || !strings.Contains(doc, "first answer is a\n// ModelNotReadyException") {
		t.Errorf("the package comment does not name the injected ModelNotReadyException:\n%s", doc)
	}
}
