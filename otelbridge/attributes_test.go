package otelbridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/internal/retry"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// TestWithAttributes checks that the constant attributes reach every data
// point of every metric and every span, throttles and retries included.
func TestWithAttributes(t *testing.T) {
	mode := attribute.String("bedrockguard.mode", "guarded")
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	b, err := otelbridge.New(otelbridge.WithTracerProvider(tp), otelbridge.WithMeterProvider(mp),
		otelbridge.WithAttributes(mode), otelbridge.WithAttributes(attribute.String("deployment", "test")))
	if err != nil {
		t.Fatal(err)
	}
	// The first stream is cut by a throttle frame and retried by the
	// guard: throttle, retry, attempt span and pacing all happen.
	_, _, cfg := newSim(t, []bedrocksim.Option{
		bedrocksim.WithWindow(time.Second),
		bedrocksim.WithQuota(haiku, bedrocksim.Quota{TokensPerWindow: 2000}),
		bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 1}}),
	}, b.Option(),
		bedrockguard.WithQuota(haiku, bedrockguard.Quota{TokensPerWindow: 2000, Window: time.Second}),
		guardtest.Retry(func(o *retry.Options) { o.ThrottleBase, o.MaxBackoff = time.Millisecond, 5*time.Millisecond }))
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	out, err := client.ConverseStream(ctx, streamInput(haiku, strings.Repeat("word ", 200), 300))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(t, out); err != nil {
		t.Fatal(err)
	}
	for range 3 { // the bucket runs dry: later calls wait
		if _, err := client.Converse(ctx, converseInput(haiku, strings.Repeat("word ", 200), 300)); err != nil {
			t.Fatal(err)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, set := range pointSets(m) {
				seen[m.Name] = true
				for _, want := range []attribute.KeyValue{mode, attribute.String("deployment", "test")} {
					if v, ok := set.Value(want.Key); !ok || v != want.Value {
						t.Errorf("%s point %v lacks %v", m.Name, set.ToSlice(), want)
					}
				}
			}
		}
	}
	for _, name := range []string{otelbridge.MetricThrottles, otelbridge.MetricRetries, otelbridge.MetricOperationDuration,
		otelbridge.MetricTokenUsage, otelbridge.MetricPacingWait, otelbridge.MetricPacingRate} {
		if !seen[name] {
			t.Errorf("no data points for %s", name)
		}
	}
	ended := spans.Ended()
	if len(ended) == 0 {
		t.Fatal("no spans")
	}
	names := map[string]bool{}
	for _, s := range ended {
		names[s.Name()] = true
		found := false
		for _, kv := range s.Attributes() {
			found = found || kv == mode
		}
		if !found {
			t.Errorf("span %q lacks %v: %v", s.Name(), mode, s.Attributes())
		}
	}
	if !names[otelbridge.SpanAttempt] {
		t.Errorf("no attempt span among %v", names)
	}
}

// pointSets returns the attribute set of every data point of m.
func pointSets(m metricdata.Metrics) []attribute.Set {
	var out []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	}
	return out
}

// TestNoopProvidersWithRetries is a regression test: with no-op providers
// (the global default), ending a retried attempt compared uncomparable
// no-op spans and panicked.
func TestNoopProvidersWithRetries(t *testing.T) {
	b, err := otelbridge.New(otelbridge.WithTracerProvider(tracenoop.NewTracerProvider()),
		otelbridge.WithMeterProvider(metricnoop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	_, _, cfg := newSim(t, []bedrocksim.Option{bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 1}})},
		b.Option(), guardtest.Retry(func(o *retry.Options) { o.ServerErrorBase, o.MaxBackoff = time.Millisecond, 5*time.Millisecond }))
	if _, err := bedrockruntime.NewFromConfig(cfg).Converse(context.Background(), converseInput(haiku, "hello", 10)); err != nil {
		t.Fatal(err)
	}
}
