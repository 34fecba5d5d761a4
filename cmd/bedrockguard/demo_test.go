package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bedrockguard/bedrockguard/cmd/bedrockguard/internal/load"
)

// clearOTelEnv makes sure the test exports nowhere.
func clearOTelEnv(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"} {
		t.Setenv(k, "")
	}
}

var shortDemo = []string{"demo", "-duration", "5s", "-window", "2s", "-workers", "4", "-q"}

func TestDemoTable(t *testing.T) {
	clearOTelEnv(t)
	jsonPath := filepath.Join(t.TempDir(), "rows.json")
	var out, errOut strings.Builder
	if code := run(context.Background(), append(shortDemo, "-json", jsonPath), &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	var header, unguarded, guarded []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "phase":
			header = f
		case f[0] == "unguarded" && unguarded == nil:
			unguarded = f
		case f[0] == "guarded" && guarded == nil:
			guarded = f
		}
	}
	if header == nil || unguarded == nil || guarded == nil {
		t.Fatalf("table lacks rows:\n%s", out.String())
	}
	for _, col := range []string{"calls", "failed", "requests", "tokens", "mid-stream", "goodput/TPM", "p50", "p99"} {
		if !strings.Contains(strings.Join(header, " "), col) {
			t.Errorf("header %q lacks %q", header, col)
		}
	}
	// phase calls ok failed requests tokens mid-stream goodput p50 p99
	if len(unguarded) != 10 || len(guarded) != 10 {
		t.Fatalf("rows have %d and %d columns, want 10:\n%s", len(unguarded), len(guarded), out.String())
	}
	if guarded[3] != "0" {
		t.Errorf("guarded phase failed %s calls:\n%s", guarded[3], out.String())
	}
	if !strings.Contains(out.String(), "telemetry: off") {
		t.Errorf("no telemetry line:\n%s", out.String())
	}

	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rows []load.Row
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Mode != "unguarded" || rows[1].Mode != "guarded" || rows[2].Mode != load.ModeSpillover {
		t.Fatalf("JSON rows %+v", rows)
	}
	if rows[1].Failed != 0 || rows[1].Calls == 0 {
		t.Errorf("guarded row %+v", rows[1])
	}
	// The spillover phase serves the same workload from two profiles'
	// quotas: it completes more calls than the guarded phase in the same
	// time (goodput % of one quota is noisy in a phase this short: the
	// first window's full bucket weighs too much).
	if rows[2].Failed != 0 || rows[2].Calls <= rows[1].Calls {
		t.Errorf("spillover row %+v, guarded %+v", rows[2], rows[1])
	}
	var throttled int64
	for _, n := range rows[0].Throttles {
		throttled += n
	}
	if throttled == 0 {
		t.Errorf("the unguarded phase saw no throttles: %+v", rows[0])
	}
}

func TestDemoBadFlags(t *testing.T) {
	clearOTelEnv(t)
	for _, args := range [][]string{
		{"-workers", "0"}, {"-window", "500ms"}, {"-duration", "1s"}, {"-hold", "-1s"},
		{"-seed", "x"}, {"-nope"}, {"extra"}, {"-model", "m"}, {"-aws"},
	} {
		var errOut strings.Builder
		if code := run(context.Background(), append([]string{"demo"}, args...), io.Discard, &errOut); code != 2 {
			t.Errorf("demo %q: exit %d, want 2", args, code)
		}
		if !strings.Contains(errOut.String(), "bedrockguard demo:") && !strings.Contains(errOut.String(), "flag") {
			t.Errorf("demo %q: no message: %q", args, errOut.String())
		}
	}
}

func TestDemoUnreachableOTLP(t *testing.T) {
	clearOTelEnv(t)
	// A port nothing listens on: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
	var errOut strings.Builder
	code := run(context.Background(), shortDemo, io.Discard, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "unreachable") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// TestDemoAWSWithoutCredentials checks that -aws fails fast, before any
// call, when the default chain has no credentials. Instance metadata is
// disabled so that nothing goes to the network.
func TestDemoAWSWithoutCredentials(t *testing.T) {
	clearOTelEnv(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_REGION": "us-east-1",
	} {
		t.Setenv(k, v)
	}
	args := []string{"demo", "-aws", "-model", "anthropic.claude-3-5-haiku-20241022-v1:0", "-q"}
	var errOut strings.Builder
	if code := run(context.Background(), args, io.Discard, &errOut); code == 0 || !strings.Contains(errOut.String(), "no AWS credentials") {
		t.Errorf("no credentials: exit %d, stderr %q", code, errOut.String())
	}

	t.Setenv("AWS_PROFILE", "bedrockguard-no-such-profile")
	errOut.Reset()
	if code := run(context.Background(), args, io.Discard, &errOut); code == 0 || !strings.Contains(errOut.String(), "bedrockguard-no-such-profile") {
		t.Errorf("missing profile: exit %d, stderr %q", code, errOut.String())
	}
}

// TestDemoMetricsEndpoint runs a short demo with a Prometheus endpoint and
// -hold, scrapes it while the demo holds, then ends the hold by
// cancelling the context.
func TestDemoMetricsEndpoint(t *testing.T) {
	clearOTelEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	args := append(append([]string{}, shortDemo...), "-metrics-addr", "127.0.0.1:0", "-hold", "10m")
	go func() {
		done <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var url string
	var out []string
	for lines.Scan() {
		l := lines.Text()
		out = append(out, l)
		if i := strings.Index(l, "Prometheus http://"); i >= 0 {
			url = strings.Fields(l[i+len("Prometheus "):])[0]
		}
		if strings.HasPrefix(l, "holding for") {
			break
		}
	}
	if url == "" {
		t.Fatalf("no metrics URL in output:\n%s", strings.Join(out, "\n"))
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"aws_bedrock_throttles_total{", `bedrockguard_mode="unguarded"`, `bedrockguard_mode="guarded"`, "gen_ai_client_operation_duration_seconds_bucket{"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if code := <-done; code != 0 {
		t.Errorf("exit %d after the hold was cancelled", code)
	}
}
