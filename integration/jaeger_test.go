package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// jaegerConfig is the configuration of the Jaeger v2 binary (an
// OpenTelemetry Collector distribution) used by the tests: in-memory trace
// storage, the OTLP receivers and the query API on loopback ports only, no
// self-telemetry endpoint. OTLP metrics are accepted and dropped (nop), so
// that a demo pointed at the generic OTEL_EXPORTER_OTLP_ENDPOINT exports
// both signals without errors, as it would to a collector. It is the
// embedded all-in-one configuration of cmd/jaeger/internal/all-in-one.yaml
// (v1.76.0) cut down to those parts.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
    metrics:
      receivers: [otlp]
      exporters: [nop]
  telemetry:
    metrics:
      level: none
    logs:
      level: info

extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: {{health}}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: {{query_http}}
    grpc:
      endpoint: {{query_grpc}}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: {{otlp_grpc}}
      http:
        endpoint: {{otlp_http}}

processors:
  batch:
    timeout: 200ms

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
  nop:
`

// jaeger is a Jaeger started by a test.
type jaeger struct {
	proc *process
	// OTLP is the OTLP/HTTP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT.
	OTLP string
	// Query is the base URL of the query API (and, in the official
	// release, the UI).
	Query string
}

// startJaeger starts Jaeger on free loopback ports and waits until its
// query API answers.
func startJaeger(t *testing.T) *jaeger {
	t.Helper()
	bin := findBinary(t, "JAEGER_BIN", "run integration/ci-setup.sh, or: cd integration && GOWORK=off go build -o bin/jaeger github.com/jaegertracing/jaeger/cmd/jaeger",
		filepath.Join("bin", "jaeger"), "jaeger")
	ports := map[string]int{}
	cfg := jaegerConfig
	for _, k := range []string{"health", "query_http", "query_grpc", "otlp_grpc", "otlp_http"} {
		ports[k] = freePort(t)
		cfg = strings.ReplaceAll(cfg, "{{"+k+"}}", addr(ports[k]))
	}
	path := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	j := &jaeger{
		OTLP:  "http://" + addr(ports["otlp_http"]),
		Query: "http://" + addr(ports["query_http"]),
	}
	j.proc = start(t, "jaeger", bin, []string{"--config", path}, nil)
	poll(t, "Jaeger's query API", 60*time.Second, func() error {
		_, err := httpGet(context.Background(), j.Query+"/api/services")
		return err
	}, j.proc)
	return j
}

// Jaeger query API (v1 JSON, /api/traces) types: the parts the tests read.
type (
	jTrace struct {
		TraceID   string              `json:"traceID"`
		Spans     []jSpan             `json:"spans"`
		Processes map[string]jProcess `json:"processes"`
	}
	jSpan struct {
		TraceID       string `json:"traceID"`
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime int64  `json:"startTime"` // µs since the epoch
		Duration  int64  `json:"duration"`  // µs
		Tags      []jKV  `json:"tags"`
		Logs      []jLog `json:"logs"`
		ProcessID string `json:"processID"`
	}
	jKV struct {
		Key   string `json:"key"`
		Type  string `json:"type"`
		Value any    `json:"value"`
	}
	jLog struct {
		Timestamp int64 `json:"timestamp"`
		Fields    []jKV `json:"fields"`
	}
	jProcess struct {
		ServiceName string `json:"serviceName"`
		Tags        []jKV  `json:"tags"`
	}
)

// tag returns the value of key among kvs as a string, and whether it is
// there.
func tag(kvs []jKV, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return fmt.Sprint(kv.Value), true
		}
	}
	return "", false
}

// parent returns the span's CHILD_OF parent ID, or "".
func (s jSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// event returns the name of a span log (an OTel span event).
func (l jLog) event() string {
	v, _ := tag(l.Fields, "event")
	return v
}

// findTraces fetches the service's traces of the last hour whose span tags
// match tags.
func (j *jaeger) findTraces(ctx context.Context, service string, tags map[string]string) ([]jTrace, error) {
	q := url.Values{"service": {service}, "limit": {"5000"}, "lookback": {"1h"}}
	if len(tags) > 0 {
		b, err := json.Marshal(tags)
		if err != nil {
			return nil, err
		}
		q.Set("tags", string(b))
	}
	body, err := httpGet(ctx, j.Query+"/api/traces?"+q.Encode())
	if err != nil {
		return nil, err
	}
	var resp struct {
		Data   []jTrace `json:"data"`
		Errors []any    `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding /api/traces: %w", err)
	}
	if len(resp.Errors) > 0 {
		return nil, fmt.Errorf("/api/traces errors: %v", resp.Errors)
	}
	return resp.Data, nil
}

// throttledTrace is what checkTrace found in one trace.
type throttledTrace struct {
	trace      jTrace
	op         jSpan   // the operation span
	pacing     []jSpan // its "pacing wait" children
	attempts   []jSpan // its "attempt" children
	throttles  []jLog  // its "aws.bedrock.throttle" events
	rateLowers int     // throttle events with aws.bedrock.pacing.rate_lowered=true
}

// inspect looks for a guarded operation's span in tr: a CLIENT span named
// "chat <model>" or "text_completion <model>" with
// gen_ai.provider.name=aws.bedrock, and collects its pacing-wait and
// attempt children and its throttle events.
func inspect(tr jTrace) (throttledTrace, bool) {
	for _, s := range tr.Spans {
		if s.parent() != "" {
			continue
		}
		op, _ := tag(s.Tags, keyOperationName)
		model, _ := tag(s.Tags, keyRequestModel)
		if op == "" || s.OperationName != op+" "+model {
			continue
		}
		if kind, _ := tag(s.Tags, "span.kind"); kind != "client" {
			continue
		}
		if p, _ := tag(s.Tags, keyProviderName); p != providerBedrock {
			continue
		}
		tt := throttledTrace{trace: tr, op: s}
		for _, c := range tr.Spans {
			if c.parent() != s.SpanID {
				continue
			}
			switch c.OperationName {
			case spanPacingWait:
				tt.pacing = append(tt.pacing, c)
			case spanAttempt:
				tt.attempts = append(tt.attempts, c)
			}
		}
		for _, l := range s.Logs {
			if l.event() == eventThrottle {
				tt.throttles = append(tt.throttles, l)
				if v, _ := tag(l.Fields, keyRateLowered); v == "true" {
					tt.rateLowers++
				}
			}
		}
		return tt, true
	}
	return throttledTrace{}, false
}

// pickTrace returns the most telling throttled trace among found: one with
// a throttle event, a pacing wait and a retry attempt if there is one,
// preferring few spans (a readable tree), then the earliest.
func pickTrace(found []throttledTrace) (throttledTrace, bool) {
	var best []throttledTrace
	for _, f := range found {
		if len(f.throttles) > 0 && len(f.pacing) > 0 {
			best = append(best, f)
		}
	}
	if len(best) == 0 {
		// The guard may avoid every throttle in a short run: then a paced
		// call alone; the throttle events are checked on the unguarded
		// phase's traces.
		for _, f := range found {
			if len(f.pacing) > 0 {
				best = append(best, f)
			}
		}
	}
	if len(best) == 0 {
		return throttledTrace{}, false
	}
	score := func(f throttledTrace) int {
		s := len(f.trace.Spans)
		if len(f.attempts) == 0 {
			s += 100
		}
		return s
	}
	sort.SliceStable(best, func(i, k int) bool {
		si, sk := score(best[i]), score(best[k])
		if si != sk {
			return si < sk
		}
		return best[i].op.StartTime < best[k].op.StartTime
	})
	return best[0], true
}

// renderTree draws a trace as text: one line per span with its offset,
// duration and a timeline bar, then its attributes and events, children
// indented under their parent, as Jaeger's UI shows it.
func renderTree(tr jTrace) string {
	var sb strings.Builder
	children := map[string][]jSpan{}
	var roots []jSpan
	byID := map[string]bool{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = true
	}
	t0, t1 := int64(1<<62), int64(0)
	for _, s := range tr.Spans {
		if p := s.parent(); p != "" && byID[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
		t0 = min(t0, s.StartTime)
		t1 = max(t1, s.StartTime+s.Duration)
	}
	for _, c := range children {
		sort.Slice(c, func(i, k int) bool { return c[i].StartTime < c[k].StartTime })
	}
	total := max(t1-t0, 1)
	service := ""
	for _, p := range tr.Processes {
		service = p.ServiceName
	}
	fmt.Fprintf(&sb, "trace %s  service %s  %d spans  %s\n\n", tr.TraceID, service, len(tr.Spans), fmtMicros(total))
	const width = 40
	bar := func(s jSpan) string {
		from := int((s.StartTime - t0) * width / total)
		to := int((s.StartTime + s.Duration - t0) * width / total)
		to = max(to, from+1)
		to = min(to, width)
		return "|" + strings.Repeat(" ", from) + strings.Repeat("=", to-from) + strings.Repeat(" ", width-to) + "|"
	}
	var walk func(s jSpan, prefix string, last, root bool)
	walk = func(s jSpan, prefix string, last, root bool) {
		branch, next := "", ""
		if !root {
			branch, next = "├─ ", "│  "
			if last {
				branch, next = "└─ ", "   "
			}
		}
		kind, _ := tag(s.Tags, "span.kind")
		name := s.OperationName
		if kind != "" && kind != "internal" {
			name += " [" + kind + "]"
		}
		head := prefix + branch + name
		fmt.Fprintf(&sb, "%-62s %s %8s %8s\n", head, bar(s), "+"+fmtMicros(s.StartTime-t0), fmtMicros(s.Duration))
		body := prefix + next
		if len(children[s.SpanID]) > 0 {
			body += "│  "
		} else {
			body += "   "
		}
		for _, kv := range sortedTags(s.Tags) {
			fmt.Fprintf(&sb, "%s  %s = %v\n", body, kv.Key, kv.Value)
		}
		for _, l := range s.Logs {
			fmt.Fprintf(&sb, "%s  event %q at +%s\n", body, l.event(), fmtMicros(l.Timestamp-t0))
			for _, kv := range sortedTags(l.Fields) {
				if kv.Key == "event" {
					continue
				}
				fmt.Fprintf(&sb, "%s      %s = %v\n", body, kv.Key, kv.Value)
			}
		}
		cs := children[s.SpanID]
		for i, c := range cs {
			walk(c, prefix+next, i == len(cs)-1, false)
		}
	}
	sort.Slice(roots, func(i, k int) bool { return roots[i].StartTime < roots[k].StartTime })
	for _, r := range roots {
		walk(r, "", true, true)
	}
	return sb.String()
}

// sortedTags returns kvs by key, without Jaeger's own bookkeeping tags
// (otel.scope.*, internal.span.format) that say nothing about the call.
func sortedTags(kvs []jKV) []jKV {
	var out []jKV
	for _, kv := range kvs {
		if strings.HasPrefix(kv.Key, "otel.scope.") || strings.HasPrefix(kv.Key, "otel.library.") || kv.Key == "internal.span.format" || kv.Key == "span.kind" {
			continue
		}
		out = append(out, kv)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Key < out[k].Key })
	return out
}

// fmtMicros formats a duration given in microseconds.
func fmtMicros(us int64) string {
	d := time.Duration(us) * time.Microsecond
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.String()
}
