package otelbridge_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/retry"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// documented is the metrics table of the package documentation.
var documented = []struct {
	name, prom, kind, unit string
	attrs                  []attribute.Key
}{
	{otelbridge.MetricTokenUsage, "gen_ai_client_token_usage", "histogram", "{token}",
		[]attribute.Key{otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion, otelbridge.KeyTokenType}},
	{otelbridge.MetricOperationDuration, "gen_ai_client_operation_duration_seconds", "histogram", "s",
		[]attribute.Key{otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricTimeToFirstChunk, "gen_ai_client_operation_time_to_first_chunk_seconds", "histogram", "s",
		[]attribute.Key{otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricThrottles, "aws_bedrock_throttles_total", "counter", "{throttle}",
		[]attribute.Key{otelbridge.KeyThrottleKind, otelbridge.KeyThrottleStage, otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricRetries, "aws_bedrock_retries_total", "counter", "{retry}",
		[]attribute.Key{otelbridge.KeyErrorType, otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricRetryBudgetExhausted, "aws_bedrock_retry_budget_exhausted_total", "counter", "{retry}",
		[]attribute.Key{otelbridge.KeyErrorType, otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricPacingWait, "aws_bedrock_pacing_wait_seconds", "histogram", "s",
		[]attribute.Key{otelbridge.KeyPriority, otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricPacingRejected, "aws_bedrock_pacing_rejected_total", "counter", "{request}",
		[]attribute.Key{otelbridge.KeyPacingReason, otelbridge.KeyPriority, otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricPacingRate, "aws_bedrock_pacing_rate_per_min", "gauge", "1/min",
		[]attribute.Key{otelbridge.KeyPacingLimit, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion, otelbridge.KeyQuotaSource}},
	{otelbridge.MetricTokensReserved, "aws_bedrock_tokens_reserved_total", "counter", "{token}",
		[]attribute.Key{otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricTokensSettled, "aws_bedrock_tokens_settled_total", "counter", "{token}",
		[]attribute.Key{otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricPacingStoreErrors, "aws_bedrock_pacing_store_errors_total", "counter", "{error}", nil},
	{otelbridge.MetricEstimateRatio, "aws_bedrock_tokens_estimate_ratio", "histogram", "1",
		[]attribute.Key{otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricPacingQuota, "aws_bedrock_pacing_quota_per_min", "gauge", "1/min",
		[]attribute.Key{otelbridge.KeyPacingLimit, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion, otelbridge.KeyQuotaSource}},
	{otelbridge.MetricAttempts, "aws_bedrock_attempts", "histogram", "{attempt}",
		[]attribute.Key{otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
	{otelbridge.MetricRequestMaxTokens, "aws_bedrock_request_max_tokens", "histogram", "{token}",
		[]attribute.Key{otelbridge.KeyOperationName, otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyCloudRegion}},
}

// dataPoints returns the attribute sets of m's points and its kind.
func dataPoints(t *testing.T, m metricdata.Metrics) (string, []attribute.Set) {
	t.Helper()
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
		if !d.IsMonotonic {
			t.Errorf("%s is not monotonic", m.Name)
		}
		return "counter", sets
	case metricdata.Histogram[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
		return "histogram", sets
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
		return "histogram", sets
	case metricdata.Gauge[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
		return "gauge", sets
	}
	t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
	return "", nil
}

// TestMetricsAndSpansAsDocumented runs every kind of operation and outcome
// through the real client and checks every metric's name, instrument,
// unit, attributes and Prometheus name against the documented table, and
// the span shapes.
func TestMetricsAndSpansAsDocumented(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithReader(exp))
	bridge, err := otelbridge.New(otelbridge.WithTracerProvider(tp), otelbridge.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer bridge.Shutdown()
	sim, g, cfg := newSim(t, []bedrocksim.Option{
		bedrocksim.WithWindow(10 * time.Second),
		bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 2}}),
		bedrocksim.WithQuota(sonnet, bedrocksim.Quota{TokensPerWindow: 1_000_000, TokensPerDay: 10}),
	}, bridge.Option(),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000, Window: 10 * time.Second}),
		bedrockguard.WithQuota(nova, bedrockguard.Quota{RequestsPerWindow: 50, Window: time.Second}),
		// Every key starts empty, so that every first call waits a little.
		guardtest.Pacing(func(c *limiter.Config) { c.InitialFill = -1 }),
		guardtest.FastRetry(), guardtest.Retry(func(o *retry.Options) { o.BudgetCapacity, o.RetryCost = 1, 1 }),
		bedrockguard.WithMaxAttempts(3))
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()

	// 503, retried once; the second 503 finds the budget empty.
	if _, err := client.Converse(ctx, converseInput(haiku, "x", 10)); err == nil {
		t.Fatal("want the 503 after the budget ran out")
	}
	// Plain successes of every operation.
	if _, err := client.Converse(ctx, converseInput(haiku, "Say hello.", 100)); err != nil {
		t.Fatal(err)
	}
	out, err := client.ConverseStream(ctx, streamInput(nova, "Count to five.", 100))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(t, out); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
		"messages": []any{map[string]any{"role": "user", "content": "Name a color."}},
	})
	if _, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: body}); err != nil {
		t.Fatal(err)
	}
	// A tokens-per-day throttle, not retried.
	if _, err := client.Converse(ctx, converseInput(sonnet, "x", 10)); err == nil {
		t.Fatal("want a tokens-per-day throttle")
	}
	// Too large for a whole window: refused by pacing at once.
	if _, err := client.Converse(ctx, converseInput(haiku, "x", 2_000_000)); err == nil {
		t.Fatal("want a TooLargeError")
	}
	if n := g.Outstanding(); n != 0 {
		t.Fatalf("%d reservations outstanding", n)
	}
	if got := sim.Stats().Keys[haiku].Errors["ServiceUnavailableException"]; got != 2 {
		t.Fatalf("simulator answered %d 503s, want 2", got)
	}

	// Metrics: as documented.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}
	if len(got) != len(documented) {
		t.Errorf("%d metrics recorded, %d documented", len(got), len(documented))
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	prom := map[string]bool{}
	for _, f := range families {
		prom[f.GetName()] = true
	}
	for _, d := range documented {
		m, ok := got[d.name]
		if !ok {
			t.Errorf("%s: not recorded", d.name)
			continue
		}
		if m.Unit != d.unit {
			t.Errorf("%s: unit %q, documented %q", d.name, m.Unit, d.unit)
		}
		if m.Description == "" {
			t.Errorf("%s: no description", d.name)
		}
		kind, sets := dataPoints(t, m)
		if kind != d.kind {
			t.Errorf("%s: %s, documented %s", d.name, kind, d.kind)
		}
		if len(sets) == 0 {
			t.Errorf("%s: no data points", d.name)
		}
		for _, s := range sets {
			for _, k := range d.attrs {
				if !s.HasValue(k) {
					t.Errorf("%s: data point %v lacks %s", d.name, s.ToSlice(), k)
				}
			}
			for _, kv := range s.ToSlice() {
				if !documentedKey(d.attrs, kv.Key) && kv.Key != otelbridge.KeyErrorType {
					t.Errorf("%s: undocumented attribute %s", d.name, kv.Key)
				}
				if kv.Key == otelbridge.KeyAWSRequestID {
					t.Errorf("%s carries a request ID", d.name)
				}
			}
		}
		if !prom[d.prom] {
			t.Errorf("%s: Prometheus name %s not exposed", d.name, d.prom)
		}
	}
	// The documented buckets of the GenAI histograms.
	if h, ok := got[otelbridge.MetricOperationDuration].Data.(metricdata.Histogram[float64]); ok {
		if b := h.DataPoints[0].Bounds; len(b) != 14 || b[0] != 0.01 || b[13] != 81.92 {
			t.Errorf("duration buckets %v", b)
		}
	}
	if h, ok := got[otelbridge.MetricTokenUsage].Data.(metricdata.Histogram[int64]); ok {
		if b := h.DataPoints[0].Bounds; len(b) != 14 || b[0] != 1 || b[13] != 67108864 {
			t.Errorf("token usage buckets %v", b)
		}
	}
	// Failed operations carry error.type on the duration.
	failed := 0
	for _, s := range func() []attribute.Set { _, s := dataPoints(t, got[otelbridge.MetricOperationDuration]); return s }() {
		if v, ok := s.Value(otelbridge.KeyErrorType); ok {
			failed++
			if e := v.AsString(); e != "ServiceUnavailableException" && e != "PacingRejected" && e != "ThrottlingException" {
				t.Errorf("duration error.type %q", e)
			}
		}
	}
	if failed != 3 {
		t.Errorf("%d failed duration series, want 3", failed)
	}

	// Spans.
	ops := map[string][]sdktrace.ReadOnlySpan{}
	var attempts, waits []sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		switch {
		case s.Name() == otelbridge.SpanAttempt:
			attempts = append(attempts, s)
		case s.Name() == otelbridge.SpanPacingWait:
			waits = append(waits, s)
		default:
			ops[s.Name()] = append(ops[s.Name()], s)
		}
	}
	if len(ops["chat "+haiku]) != 4 || len(ops["chat "+nova]) != 1 || len(ops["chat "+sonnet]) != 1 || len(ops) != 3 {
		t.Fatalf("operation spans %v", keys(ops))
	}
	for name, ss := range ops {
		for _, s := range ss {
			if s.SpanKind() != trace.SpanKindClient {
				t.Errorf("%s: kind %v", name, s.SpanKind())
			}
			a := s.Attributes()
			for k, want := range map[attribute.Key]string{
				otelbridge.KeyOperationName: "chat",
				otelbridge.KeyProviderName:  "aws.bedrock",
				otelbridge.KeyCloudRegion:   "us-east-1",
			} {
				if v, _ := attrOf(a, k); v.AsString() != want {
					t.Errorf("%s: %s = %q, want %q", name, k, v.AsString(), want)
				}
			}
			if v, _ := attrOf(a, otelbridge.KeyRequestModel); !strings.HasSuffix(name, v.AsString()) {
				t.Errorf("%s: request model %q", name, v.AsString())
			}
			if _, ok := attrOf(a, otelbridge.KeyRequestMaxTokens); !ok {
				t.Errorf("%s: no max tokens", name)
			}
			_, hasErr := attrOf(a, otelbridge.KeyErrorType)
			if hasErr != (s.Status().Code == codes.Error) {
				t.Errorf("%s: error.type %v but status %v", name, hasErr, s.Status())
			}
			if hasErr {
				continue
			}
			for _, k := range []attribute.Key{otelbridge.KeyUsageInputTokens, otelbridge.KeyUsageOutputTokens, otelbridge.KeyAWSRequestID} {
				if v, ok := attrOf(a, k); !ok || v.String() == "" || v.String() == "0" {
					t.Errorf("%s: %s = %v", name, k, v.String())
				}
			}
		}
	}
	conv := ops["chat "+haiku][1]
	if v, _ := attrOf(conv.Attributes(), otelbridge.KeyResponseFinishReasons); len(v.AsStringSlice()) != 1 {
		t.Errorf("Converse finish reasons %v", v.String())
	}
	if _, ok := attrOf(ops["chat "+nova][0].Attributes(), otelbridge.KeyResponseTimeToFirstChunk); !ok {
		t.Error("stream span lacks time to first chunk")
	}
	// The 503 operation: its second attempt has a span with the resend count.
	first := ops["chat "+haiku][0]
	if len(attempts) != 1 || attempts[0].Parent().SpanID() != first.SpanContext().SpanID() {
		t.Fatalf("attempt spans %d, want 1 under the first operation", len(attempts))
	}
	if v, _ := attrOf(attempts[0].Attributes(), otelbridge.KeyResendCount); v.AsInt64() != 1 {
		t.Errorf("resend count %v", v.String())
	}
	if v, _ := attrOf(attempts[0].Attributes(), otelbridge.KeyErrorType); v.AsString() != "ServiceUnavailableException" {
		t.Errorf("attempt error.type %q", v.AsString())
	}
	// Pacing waits: every key started empty, so its first admission waited.
	if len(waits) == 0 {
		t.Fatal("no pacing wait span")
	}
	for _, w := range waits {
		if !w.Parent().IsValid() || w.EndTime().Sub(w.StartTime()) <= 0 {
			t.Errorf("pacing wait span %v..%v, parent %v", w.StartTime(), w.EndTime(), w.Parent())
		}
	}
}

func documentedKey(ks []attribute.Key, k attribute.Key) bool {
	for _, d := range ks {
		if d == k {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
