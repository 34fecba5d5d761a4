package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// demoArgs is the demo run under test: a 2s quota window, 8 workers, 10s
// per phase (unguarded, then guarded), then holding its /metrics endpoint
// open so Prometheus keeps scraping the final values while the test
// queries (the test interrupts it when done).
var demoArgs = []string{"demo", "-window", "2s", "-workers", "8", "-duration", "10s", "-q", "-hold", "5m"}

// serviceName is the demo's OTel service name in the test (its default).
const serviceName = "bedrockguard-demo"

// goldenTrace is the text rendering of a throttled call's trace, shown by
// the README; UPDATE_GOLDEN=1 rewrites it from the trace fetched here.
var goldenTrace = filepath.Join("..", "docs", "jaeger-trace.txt")

// modeKey is the demo's phase attribute, label bedrockguard_mode in
// Prometheus.
const modeKey = "bedrockguard.mode"

// eventDriven are the Prometheus series the OTel exporter shows only once
// their event happened (see otelbridge/doc.go): a dashboard query of only
// these may return no data when the demo never exhausted a retry budget or
// had pacing reject a call.
var eventDriven = []string{"aws_bedrock_retry_budget_exhausted_total", "aws_bedrock_pacing_rejected_total"}

// TestDemoTelemetry runs the demo once, exporting traces over OTLP to a
// real Jaeger and scraped every second by a real Prometheus that evaluates
// the alert rules of deploy/prometheus, then checks what each server saw:
// the trace of a throttled, paced call (subtest jaeger), the throttle alert
// firing for the unguarded phase and not for the guarded one (alerts), and
// data for every query of the Grafana dashboard (dashboard).
func TestDemoTelemetry(t *testing.T) {
	ctx := context.Background()
	j := startJaeger(t)
	rules, alerts := testRules(t)
	metricsAddr := addr(freePort(t))
	prom := startPrometheus(t, metricsAddr, rules)
	demoBin := buildDemo(t)
	poll(t, "Prometheus loading the test copy of the alert rules", 30*time.Second, func() error {
		return prom.rulesLoaded(ctx, alerts)
	}, prom.proc)

	begin := time.Now()
	demo := start(t, "demo", demoBin, append(slices.Clone(demoArgs), "-metrics-addr", metricsAddr),
		[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + j.OTLP, "OTEL_SERVICE_NAME=" + serviceName})
	poll(t, "the demo's two phases", 3*time.Minute, func() error {
		if !strings.Contains(demo.stdout.String(), "holding for") {
			return fmt.Errorf("still running")
		}
		return nil
	}, demo)
	t.Logf("demo ran in %v:\n%s", time.Since(begin).Round(time.Millisecond), demo.stdout.String())
	if s := demo.stderr.String(); strings.TrimSpace(s) != "" {
		t.Errorf("the demo wrote to stderr (failed exports?):\n%s", tail(s, 4000))
	}
	metricsURL := "http://" + metricsAddr + "/metrics"
	// Wait until Prometheus has scraped the final counts: two evaluation
	// rounds after the run, polled through its API rather than slept.
	poll(t, "Prometheus scraping the held /metrics", 30*time.Second, func() error {
		res, err := prom.query(ctx, `time() - timestamp(up{job="bedrockguard-demo"})`, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		if len(res) == 0 {
			return fmt.Errorf("no scrape yet")
		}
		if age := time.Since(begin).Seconds(); res[0].Values[0] > age {
			return fmt.Errorf("no scrape since the run started")
		}
		up, err := prom.query(ctx, `up{job="bedrockguard-demo"} == 1 and on() (time() - timestamp(up{job="bedrockguard-demo"}) < 1.5)`, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		if len(up) == 0 {
			return fmt.Errorf("no fresh successful scrape")
		}
		return nil
	}, prom.proc, demo)
	// The final counts are in; wait until the rules were evaluated on them.
	scraped := time.Now()
	poll(t, "Prometheus evaluating the rules after the run", 30*time.Second, func() error {
		return prom.evaluatedAfter(ctx, scraped.Add(time.Second))
	}, prom.proc)

	t.Run("jaeger", func(t *testing.T) { checkJaeger(t, j) })
	t.Run("alerts", func(t *testing.T) { checkAlerts(t, prom, alerts, begin) })
	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, prom, metricsURL, begin) })
}

// checkJaeger finds, among the guarded phase's traces, a throttled call
// with its operation span, a "pacing wait" child and throttle events, and
// checks their attributes; the unguarded phase's traces carry throttle
// events but, the guard only observing, no pacing.
func checkJaeger(t *testing.T, j *jaeger) {
	ctx := context.Background()
	var found []throttledTrace
	var unguarded []jTrace
	poll(t, "a throttled, paced call's trace in Jaeger", 30*time.Second, func() error {
		var err error
		guarded, err := j.findTraces(ctx, serviceName, map[string]string{modeKey: "guarded"})
		if err != nil {
			return err
		}
		found = found[:0]
		for _, tr := range guarded {
			if tt, ok := inspect(tr); ok {
				found = append(found, tt)
			}
		}
		if _, ok := pickTrace(found); !ok {
			return fmt.Errorf("%d guarded traces, %d with an operation span, none with a throttle event and a pacing wait", len(guarded), len(found))
		}
		unguarded, err = j.findTraces(ctx, serviceName, map[string]string{modeKey: "unguarded"})
		if err != nil {
			return err
		}
		if len(unguarded) == 0 {
			return fmt.Errorf("no unguarded traces")
		}
		return nil
	}, j.proc)
	tt, _ := pickTrace(found)
	t.Logf("%d guarded operation traces; picked %s (%d spans)", len(found), tt.trace.TraceID, len(tt.trace.Spans))

	op := tt.op
	if svc := tt.trace.Processes[op.ProcessID].ServiceName; svc != serviceName {
		t.Errorf("service %q, want %q", svc, serviceName)
	}
	want := map[string]string{
		"span.kind":                         "client",
		string(otelbridge.KeyProviderName):  otelbridge.ProviderBedrock,
		string(otelbridge.KeyOperationName): strings.Fields(op.OperationName)[0],
		modeKey:                             "guarded",
	}
	for k, v := range want {
		if got, _ := tag(op.Tags, k); got != v {
			t.Errorf("operation span %q: %s = %q, want %q", op.OperationName, k, got, v)
		}
	}
	for _, k := range []string{string(otelbridge.KeyRequestModel), string(otelbridge.KeyCloudRegion), string(otelbridge.KeyRequestMaxTokens), string(otelbridge.KeyAttempts)} {
		if _, ok := tag(op.Tags, k); !ok {
			t.Errorf("operation span %q: no %s", op.OperationName, k)
		}
	}
	kinds := map[string]bool{"throttle_requests": true, "throttle_tokens": true, "throttle_tokens_per_day": true, "throttle_unknown": true}
	for _, ev := range tt.throttles {
		kind, _ := tag(ev.Fields, string(otelbridge.KeyThrottleKind))
		if !kinds[kind] {
			t.Errorf("throttle event: %s = %q, want throttle_requests, throttle_tokens, throttle_tokens_per_day or throttle_unknown", otelbridge.KeyThrottleKind, kind)
		}
		for _, k := range []attribute.Key{otelbridge.KeyThrottleStage, otelbridge.KeyErrorType, otelbridge.KeyAttempt, otelbridge.KeyRetried} {
			if _, ok := tag(ev.Fields, string(k)); !ok {
				t.Errorf("throttle event: no %s", k)
			}
		}
		if et, _ := tag(ev.Fields, string(otelbridge.KeyErrorType)); et != "ThrottlingException" && et != "ServiceUnavailableException" {
			t.Errorf("throttle event: error.type %q", et)
		}
	}
	for _, pw := range tt.pacing {
		for _, k := range []attribute.Key{otelbridge.KeyAttempt, otelbridge.KeyPriority, otelbridge.KeyReservedTokens} {
			if _, ok := tag(pw.Tags, string(k)); !ok {
				t.Errorf("pacing wait span: no %s", k)
			}
		}
		if pw.StartTime < op.StartTime || pw.StartTime+pw.Duration > op.StartTime+op.Duration {
			t.Errorf("pacing wait [%d, +%d] outside its operation [%d, +%d]", pw.StartTime, pw.Duration, op.StartTime, op.Duration)
		}
	}

	var ugThrottled, ugPaced int
	for _, tr := range unguarded {
		u, ok := inspect(tr)
		if !ok {
			continue
		}
		if len(u.throttles) > 0 {
			ugThrottled++
		}
		ugPaced += len(u.pacing)
	}
	t.Logf("unguarded: %d traces, %d with throttle events, %d pacing waits", len(unguarded), ugThrottled, ugPaced)
	if ugThrottled == 0 {
		t.Errorf("no unguarded trace has an %s event", otelbridge.EventThrottle)
	}
	if ugPaced != 0 {
		t.Errorf("unguarded (observe-only) traces have %d pacing waits, want 0", ugPaced)
	}

	text := renderTree(tt.trace)
	t.Logf("the trace:\n%s", text)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		header := "# The trace of one throttled call of the demo's guarded phase, as Jaeger stores it:\n" +
			"# fetched from Jaeger's query API (/api/traces) by integration/TestDemoTelemetry and drawn as\n" +
			"# text (regenerate: cd integration && UPDATE_GOLDEN=1 go test -run TestDemoTelemetry/jaeger .).\n" +
			"# Demo: bedrockguard " + strings.Join(demoArgs[:len(demoArgs)-2], " ") + ", Jaeger v1.76.0.\n" +
			"# Offsets and bars are relative to the start of the operation span.\n\n"
		if err := os.WriteFile(goldenTrace, []byte(header+text), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenTrace)
		return
	}
	b, err := os.ReadFile(goldenTrace)
	if err != nil {
		t.Errorf("%v (generate it: UPDATE_GOLDEN=1 go test -run TestDemoTelemetry/jaeger .)", err)
		return
	}
	for _, s := range []string{op.OperationName, otelbridge.SpanPacingWait, otelbridge.EventThrottle, string(otelbridge.KeyThrottleKind)} {
		if !strings.Contains(string(b), s) {
			t.Errorf("%s does not show %q any more; regenerate it with UPDATE_GOLDEN=1", goldenTrace, s)
		}
	}
}

// checkAlerts checks the throttle alerts (those over the throttle counter):
// Prometheus fired them during the run (ALERTS, with the test copy's
// for: 0s), and their expression, restricted to each phase's series, holds
// for the unguarded phase and never for the guarded phase. Every other
// alert is only reported.
func checkAlerts(t *testing.T, prom *prometheus, alerts []alertRule, begin time.Time) {
	ctx := context.Background()
	end := time.Now()
	names, err := prom.metricNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var throttleAlerts int
	for _, a := range alerts {
		isThrottle := strings.Contains(a.Expr, throttleMetric)
		if isThrottle {
			throttleAlerts++
		}
		firing, err := prom.query(ctx, fmt.Sprintf(`ALERTS{alertname=%q, alertstate="firing"}`, a.Name), begin, end)
		if err != nil {
			t.Fatal(err)
		}
		phase := map[string]int{}
		for _, mode := range []string{"unguarded", "guarded"} {
			expr := withMatcher(a.Expr, fmt.Sprintf("bedrockguard_mode=%q", mode), names)
			res, err := prom.query(ctx, expr, begin, end)
			if err != nil {
				t.Fatalf("alert %s, %s phase: %v", a.Name, mode, err)
			}
			for _, s := range res {
				phase[mode] += len(s.Values)
			}
			if isThrottle {
				t.Logf("alert %s, %s only: %s", a.Name, mode, expr)
			}
		}
		t.Logf("alert %s (for %s in the rules, 0s here): firing series %d; expression true at %d steps (1s) for unguarded, %d for guarded",
			a.Name, cmpOr(a.For, "0s"), len(firing), phase["unguarded"], phase["guarded"])
		if !isThrottle {
			continue
		}
		if len(firing) == 0 {
			t.Errorf("throttle alert %s never fired during the demo", a.Name)
		}
		for _, s := range firing {
			if m, ok := s.Metric["bedrockguard_mode"]; ok && m != "unguarded" {
				t.Errorf("throttle alert %s fired for bedrockguard_mode=%q: %v", a.Name, m, s.Metric)
			}
		}
		if phase["unguarded"] == 0 {
			t.Errorf("throttle alert %s: its expression never held for the unguarded phase", a.Name)
		}
		if phase["guarded"] != 0 {
			t.Errorf("throttle alert %s: its expression held for the guarded phase at %d steps", a.Name, phase["guarded"])
		}
	}
	if throttleAlerts == 0 {
		t.Fatalf("%s has no alert over %s", rulesFile, throttleMetric)
	}
}

// checkDashboard runs every panel query of the Grafana dashboard as a
// range query over the demo run and wants a finite value from each,
// except those over counters of events that did not happen in this run.
func checkDashboard(t *testing.T, prom *prometheus, metricsURL string, begin time.Time) {
	ctx := context.Background()
	end := time.Now()
	names, err := prom.metricNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exposed, err := exposedFamilies(ctx, metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range dashboardQueries(t) {
		res, err := prom.query(ctx, q.Resolved, begin, end)
		if err != nil {
			t.Errorf("panel %q %s: %v", q.Panel, q.RefID, err)
			continue
		}
		var finite int
		for _, s := range res {
			if s.finite() {
				finite++
			}
		}
		if finite > 0 {
			t.Logf("panel %q %s: %d series", q.Panel, q.RefID, finite)
			continue
		}
		var unseen []string
		allEventDriven := true
		for _, n := range selectorNames(q.Resolved) {
			if !names[n] && !exposed[n] {
				unseen = append(unseen, n)
			}
			if !slices.Contains(eventDriven, n) {
				allEventDriven = false
			}
		}
		if allEventDriven && len(unseen) == len(selectorNames(q.Resolved)) {
			t.Logf("panel %q %s: no data: %v never happened in this run (event counters)", q.Panel, q.RefID, unseen)
			continue
		}
		t.Errorf("panel %q %s: no data from %s", q.Panel, q.RefID, q.Resolved)
	}
}
