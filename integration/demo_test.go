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
// their event happened (see otelbridge/doc.go), or only for keys with a
// tokens-per-day quota (the demo has none): a dashboard query of only these
// may return no data when the demo never exhausted a retry budget or had
// pacing reject a call.
var eventDriven = []string{"aws_bedrock_retry_budget_exhausted_total", "aws_bedrock_pacing_rejected_total",
	"aws_bedrock_tokens_per_day_exhaustion_seconds", "aws_bedrock_tokens_per_day_remaining"}

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
	// Wait for a scrape of the final counts (one that started after the run
	// ended), then for a rule evaluation after it: polled, not slept.
	ran := time.Now()
	var scraped time.Time
	poll(t, "Prometheus scraping the final counts", 30*time.Second, func() error {
		res, err := prom.query(ctx, `timestamp(up{job="bedrockguard-demo"} == 1)`, time.Now())
		if err != nil {
			return err
		}
		if len(res) == 0 {
			return fmt.Errorf("no successful scrape")
		}
		scraped = time.UnixMilli(int64(res[0].Values[0] * 1000))
		if !scraped.After(ran) {
			return fmt.Errorf("last scrape at %v, before the run ended", scraped)
		}
		return nil
	}, prom.proc, demo)
	poll(t, "Prometheus evaluating the rules on the final counts", 30*time.Second, func() error {
		return prom.evaluatedAfter(ctx, scraped)
	}, prom.proc)
	end := time.Now()

	t.Run("jaeger", func(t *testing.T) { checkJaeger(t, j) })
	t.Run("alerts", func(t *testing.T) { checkAlerts(t, prom, alerts, begin, scraped, end) })
	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, prom, metricsURL, begin, end) })
	t.Run("advise", func(t *testing.T) { checkAdvise(t, demoBin, prom, begin) })
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
			return fmt.Errorf("%d guarded traces, %d with an operation span, none with a pacing wait", len(guarded), len(found))
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
		"span.kind":      "client",
		keyProviderName:  providerBedrock,
		keyOperationName: strings.Fields(op.OperationName)[0],
		modeKey:          "guarded",
	}
	for k, v := range want {
		if got, _ := tag(op.Tags, k); got != v {
			t.Errorf("operation span %q: %s = %q, want %q", op.OperationName, k, got, v)
		}
	}
	for _, k := range []string{keyRequestModel, keyCloudRegion, keyRequestMaxToken, keyAttempts} {
		if _, ok := tag(op.Tags, k); !ok {
			t.Errorf("operation span %q: no %s", op.OperationName, k)
		}
	}
	var ugThrottled, ugPaced int
	var ugEvents []jLog
	for _, tr := range unguarded {
		u, ok := inspect(tr)
		if !ok {
			continue
		}
		if len(u.throttles) > 0 {
			ugThrottled++
			if ugEvents == nil {
				ugEvents = u.throttles
			}
		}
		ugPaced += len(u.pacing)
	}
	events := tt.throttles
	if len(events) == 0 {
		t.Logf("the picked guarded call was paced but not throttled; checking the throttle events of an unguarded call")
		events = ugEvents
	}
	kinds := map[string]bool{"throttle_requests": true, "throttle_tokens": true, "throttle_tokens_per_day": true, "throttle_unknown": true}
	for _, ev := range events {
		kind, _ := tag(ev.Fields, keyThrottleKind)
		if !kinds[kind] {
			t.Errorf("throttle event: %s = %q, want throttle_requests, throttle_tokens, throttle_tokens_per_day or throttle_unknown", keyThrottleKind, kind)
		}
		for _, k := range []string{keyThrottleStage, keyErrorType, keyAttempt, keyRetried} {
			if _, ok := tag(ev.Fields, string(k)); !ok {
				t.Errorf("throttle event: no %s", k)
			}
		}
		if et, _ := tag(ev.Fields, keyErrorType); et != "ThrottlingException" && et != "ServiceUnavailableException" {
			t.Errorf("throttle event: error.type %q", et)
		}
	}
	for _, pw := range tt.pacing {
		for _, k := range []string{keyAttempt, keyPriority, keyReservedTokens} {
			if _, ok := tag(pw.Tags, string(k)); !ok {
				t.Errorf("pacing wait span: no %s", k)
			}
		}
		if pw.StartTime < op.StartTime || pw.StartTime+pw.Duration > op.StartTime+op.Duration {
			t.Errorf("pacing wait [%d, +%d] outside its operation [%d, +%d]", pw.StartTime, pw.Duration, op.StartTime, op.Duration)
		}
	}

	t.Logf("unguarded: %d traces, %d with throttle events, %d pacing waits", len(unguarded), ugThrottled, ugPaced)
	if ugThrottled == 0 {
		t.Errorf("no unguarded trace has an %s event", eventThrottle)
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
		if err := os.MkdirAll(filepath.Dir(goldenTrace), 0o755); err != nil {
			t.Fatal(err)
		}
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
	for _, s := range []string{op.OperationName, spanPacingWait, eventThrottle, keyThrottleKind} {
		if !strings.Contains(string(b), s) {
			t.Errorf("%s does not show %q any more; regenerate it with UPDATE_GOLDEN=1", goldenTrace, s)
		}
	}
}

// throttleAlert is the alert of deploy/prometheus over the rate of
// throttles, which the guard should keep quiet.
const throttleAlert = "BedrockThrottleRateHigh"

// checkAlerts checks the throttle alert, throttleAlert. The alert
// expressions aggregate the demo's phase label away (in
// production there is one mode), so the check is in two parts:
//
//   - Prometheus, evaluating the test copy of the rules (for: 0s), fired
//     the alert (ALERTS{alertstate="firing"}) during the unguarded phase,
//     i.e. before the first guarded series was scraped;
//   - the alert's expression restricted to each phase's series (the label
//     matcher bedrockguard_mode="..." added to every selector), evaluated
//     once the run is over, when its rate window spans the whole run: it
//     holds for the unguarded phase and is empty for the guarded one. This
//     is the verdict on each phase as a whole, as the real alert's "for"
//     asks for a sustained rate, not a blip.
//
// Every other alert is only reported.
func checkAlerts(t *testing.T, prom *prometheus, alerts []alertRule, begin, scraped, end time.Time) {
	ctx := context.Background()
	names, err := prom.metricNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	guardedRes, err := prom.queryRange(ctx, `count({bedrockguard_mode="guarded"})`, begin, end)
	if err != nil {
		t.Fatal(err)
	}
	guardedStart := firstSample(guardedRes)
	if guardedStart.IsZero() {
		t.Fatal("no series with bedrockguard_mode=\"guarded\" in Prometheus")
	}
	t.Logf("first guarded series scraped %v after the start", guardedStart.Sub(begin).Round(time.Second))
	var checked bool
	for _, a := range alerts {
		isThrottle := a.Name == throttleAlert
		if isThrottle {
			checked = true
			if !strings.Contains(a.Expr, throttleMetric) {
				t.Errorf("alert %s does not read %s: %s", a.Name, throttleMetric, a.Expr)
			}
		}
		firing, err := prom.queryRange(ctx, fmt.Sprintf(`ALERTS{alertname=%q, alertstate="firing"}`, a.Name), begin, end)
		if err != nil {
			t.Fatal(err)
		}
		fired := firstSample(firing)
		verdict := map[string][]promSeries{}
		for _, mode := range []string{"unguarded", "guarded"} {
			expr := withMatcher(a.Expr, fmt.Sprintf("bedrockguard_mode=%q", mode), names)
			verdict[mode], err = prom.query(ctx, expr, scraped)
			if err != nil {
				t.Fatalf("alert %s, %s phase: %v", a.Name, mode, err)
			}
			if isThrottle {
				t.Logf("alert %s on the %s phase: %s", a.Name, mode, strings.Join(strings.Fields(expr), " "))
				for _, s := range verdict[mode] {
					t.Logf("    %v %v", s.Values, s.Metric)
				}
			}
		}
		when := "never"
		if !fired.IsZero() {
			when = fmt.Sprintf("first at +%v", fired.Sub(begin).Round(time.Second))
		}
		t.Logf("alert %s (for %s in the rules, 0s here): fired %s; over the whole run its expression holds for %d unguarded and %d guarded series",
			a.Name, cmpOr(a.For, "0s"), when, len(verdict["unguarded"]), len(verdict["guarded"]))
		if !isThrottle {
			continue
		}
		switch {
		case fired.IsZero():
			t.Errorf("throttle alert %s never fired during the demo", a.Name)
		case !fired.Before(guardedStart):
			t.Errorf("throttle alert %s first fired at +%v, after the guarded phase began (+%v)", a.Name, fired.Sub(begin), guardedStart.Sub(begin))
		}
		if len(verdict["unguarded"]) == 0 {
			t.Errorf("throttle alert %s: its expression does not hold for the unguarded phase", a.Name)
		}
		if len(verdict["guarded"]) != 0 {
			t.Errorf("throttle alert %s: its expression holds for the guarded phase", a.Name)
		}
	}
	if !checked {
		t.Fatalf("%s has no alert %s", rulesFile, throttleAlert)
	}
}

// checkDashboard runs every panel query of the Grafana dashboard as a
// range query over the demo run and wants a finite value from each,
// except those over counters of events that did not happen in this run.
func checkDashboard(t *testing.T, prom *prometheus, metricsURL string, begin, end time.Time) {
	ctx := context.Background()
	names, err := prom.metricNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exposed, err := exposedFamilies(ctx, metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range dashboardQueries(t) {
		res, err := prom.queryRange(ctx, q.Resolved, begin, end)
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
			t.Logf("panel %q %s: no data: %v never happened in this run (event counters, day gauges)", q.Panel, q.RefID, unseen)
			continue
		}
		t.Errorf("panel %q %s: no data from %s", q.Panel, q.RefID, q.Resolved)
	}
}
