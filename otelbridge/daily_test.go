package otelbridge_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// stepClock is a limiter clock moved by hand; its timers are real (the
// test's quotas never make a call wait).
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
func (c *stepClock) AfterFunc(d time.Duration, f func()) limiter.Timer { return time.AfterFunc(d, f) }

// dayGauge returns the value of a tokens-per-day gauge for model, if any.
func dayGauge(t *testing.T, got map[string]metricdata.Metrics, name, model string) (float64, bool) {
	t.Helper()
	g, ok := got[name].Data.(metricdata.Gauge[float64])
	if !ok {
		return 0, false
	}
	for _, dp := range g.DataPoints {
		if v, _ := dp.Attributes.Value("gen_ai.request.model"); v.AsString() == model {
			return dp.Value, true
		}
	}
	return 0, false
}

// TestTokensPerDayGauges: the remaining gauge reports what the guard counts
// of a model's tokens-per-day quota, the exhaustion gauge forecasts when it
// runs out at the rate measured between two collections, and a model
// without a daily quota reports neither.
func TestTokensPerDayGauges(t *testing.T) {
	// The telemetry of newTelemetry, plus the Prometheus exporter for the
	// documented names.
	tel := &telemetry{reader: sdkmetric.NewManualReader()}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	tel.bridge, err = otelbridge.New(otelbridge.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader), sdkmetric.WithReader(exp))))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.bridge.Shutdown()
	clk := &stepClock{now: time.Unix(1_800_000_000, 0)}
	_, g, cfg := newSim(t, nil, tel.bridge.Option(),
		bedrockguard.WithQuota(haiku, bedrockguard.Quota{TokensPerWindow: 1_000_000, RequestsPerWindow: 1000, TokensPerDay: 1_000_000, Day: 7 * 24 * time.Hour}),
		bedrockguard.WithQuota(nova, bedrockguard.Quota{TokensPerWindow: 1_000_000, RequestsPerWindow: 1000}),
		guardtest.Pacing(func(c *limiter.Config) { c.Clock = clk }))
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	for _, m := range []string{haiku, nova} {
		if _, err := client.Converse(ctx, converseInput(m, "Say hello.", 200)); err != nil {
			t.Fatal(err)
		}
	}
	got := tel.metrics(t)
	l1, ok := dayGauge(t, got, "aws.bedrock.tokens_per_day.remaining", haiku)
	if !ok || l1 >= 1_000_000 || l1 <= 990_000 {
		t.Fatalf("remaining %v (%v), want a little under 1,000,000", l1, ok)
	}
	if _, ok := dayGauge(t, got, "aws.bedrock.tokens_per_day.remaining", nova); ok {
		t.Fatal("a model without a daily quota reports a remainder")
	}
	for range 10 { // about 1,000 tokens, ten times the refill of a minute
		if _, err := client.Converse(ctx, converseInput(haiku, "Say hello again.", 200)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	got = tel.metrics(t)
	l2, _ := dayGauge(t, got, "aws.bedrock.tokens_per_day.remaining", haiku)
	ex, ok := dayGauge(t, got, "aws.bedrock.tokens_per_day.exhaustion", haiku)
	// The usage over the minute, net of the refill, is l1 - l2 per minute.
	want := l2 * 60 / (l1 - l2)
	if !ok || math.Abs(ex-want) > 0.01*want {
		t.Fatalf("exhaustion forecast %v s (%v), want %v s", ex, ok, want)
	}
	if st := g.State(ctx, "us-east-1", haiku); !st.DayLimited || st.DayRemaining != l2 {
		t.Fatalf("state %+v, want the gauge's remainder %v", st, l2)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	prom := map[string]bool{}
	for _, f := range families {
		prom[f.GetName()] = true
	}
	for _, n := range []string{"aws_bedrock_tokens_per_day_remaining", "aws_bedrock_tokens_per_day_exhaustion_seconds"} {
		if !prom[n] {
			t.Errorf("Prometheus name %s not exposed", n)
		}
	}
}
