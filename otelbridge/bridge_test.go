package otelbridge_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

const (
	haiku  = "anthropic.claude-3-5-haiku-20241022-v1:0"
	sonnet = "us.anthropic.claude-sonnet-4-20250514-v1:0"
	nova   = "amazon.nova-lite-v1:0"
)

// telemetry is an in-memory span recorder and metric reader behind a Bridge.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	bridge *otelbridge.Bridge
}

func newTelemetry(t testing.TB) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	b, err := otelbridge.New(otelbridge.WithTracerProvider(tel.tp), otelbridge.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	tel.bridge = b
	return tel
}

func (tel *telemetry) metrics(t testing.TB) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelbridge.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// newSim starts a simulator configured by so and returns it with a guarded
// client.
func newSim(t testing.TB, so []bedrocksim.Option, opts ...bedrockguard.Option) (*bedrocksim.Server, *bedrockguard.Guard, aws.Config) {
	t.Helper()
	sim, err := bedrocksim.New(so...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := bedrocksim.Config(srv.URL)
	opts = append([]bedrockguard.Option{bedrockguard.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	g, err := bedrockguard.Install(&cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return sim, g, cfg
}

func converseInput(model, text string, maxTokens int32) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId: aws.String(model),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)},
	}
}

func streamInput(model, text string, maxTokens int32) *bedrockruntime.ConverseStreamInput {
	in := converseInput(model, text, maxTokens)
	return &bedrockruntime.ConverseStreamInput{ModelId: in.ModelId, Messages: in.Messages, InferenceConfig: in.InferenceConfig}
}

// drain reads a stream to its end and returns its text.
func drain(t testing.TB, out *bedrockruntime.ConverseStreamOutput) (string, error) {
	t.Helper()
	st := out.GetStream()
	defer st.Close()
	var text []byte
	for ev := range st.Events() {
		if d, ok := ev.(*types.ConverseStreamOutputMemberContentBlockDelta); ok {
			if tx, ok := d.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				text = append(text, tx.Value...)
			}
		}
	}
	return string(text), st.Err()
}

func attrOf(kvs []attribute.KeyValue, k attribute.Key) (attribute.Value, bool) {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func sumCounter(t testing.TB, m metricdata.Metrics, match func(attribute.Set) bool) int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: %T, want an int64 Sum", m.Name, m.Data)
	}
	var n int64
	for _, dp := range s.DataPoints {
		if match == nil || match(dp.Attributes) {
			n += dp.Value
		}
	}
	return n
}

func is(k attribute.Key, v string) func(attribute.Set) bool {
	return func(s attribute.Set) bool {
		got, ok := s.Value(k)
		return ok && got.AsString() == v
	}
}

// TestEveryThrottleOnceAsEventAndCounter drives token, request and
// mid-stream throttles through the real client and checks that each
// throttle the simulator produced shows up exactly once as a span event and
// once in the throttle counter, with its kind.
func TestEveryThrottleOnceAsEventAndCounter(t *testing.T) {
	tel := newTelemetry(t)
	sim, g, cfg := newSim(t, []bedrocksim.Option{
		bedrocksim.WithWindow(10 * time.Second),
		bedrocksim.WithOutputFraction(1),
		bedrocksim.WithQuota(haiku, bedrocksim.Quota{TokensPerWindow: 1000}),
		bedrocksim.WithQuota(sonnet, bedrocksim.Quota{RequestsPerWindow: 1, TokensPerWindow: 1_000_000}),
		bedrocksim.WithQuota(nova, bedrocksim.Quota{TokensPerWindow: 1_000_000}),
		bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 1}, StreamThrottleAfter: 2}),
	},
		tel.bridge.Option(),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000, Window: 10 * time.Second}),
		guardtest.FastRetry(), bedrockguard.WithMaxAttempts(2))
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()

	// Tokens: the guard believes in a far larger quota than the server's.
	if _, err := client.Converse(ctx, converseInput(haiku, "hello", 900)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Converse(ctx, converseInput(haiku, "hello", 900)); err == nil {
		t.Fatal("want the token throttle after 2 attempts")
	}
	// Requests: one per window on the server.
	if _, err := client.Converse(ctx, converseInput(sonnet, "hi", 50)); err != nil {
		t.Fatal(err)
	}
	// After the throttle the guard paces requests from the rate it measured;
	// the retry is throttled again or, with the deadline, refused by pacing.
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := client.Converse(dctx, converseInput(sonnet, "hi", 50)); err == nil {
		t.Fatal("want the request throttle, then a pacing deadline")
	}
	// Mid-stream: the stream is cut after two events.
	out, err := client.ConverseStream(ctx, streamInput(nova, "tell me a story", 200))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(t, out); err == nil {
		t.Fatal("want the mid-stream throttle")
	}
	if n := g.Outstanding(); n != 0 {
		t.Fatalf("%d reservations outstanding", n)
	}

	type kindStage struct{ kind, stage string }
	want := map[kindStage]int64{}
	var total int64
	for _, ks := range sim.Stats().Keys {
		want[kindStage{"throttle_tokens", "response"}] += ks.ThrottledTokens
		want[kindStage{"throttle_requests", "response"}] += ks.ThrottledRequests
		want[kindStage{"throttle_tokens_per_day", "response"}] += ks.ThrottledTokensPerDay
		total += ks.ThrottledTokens + ks.ThrottledRequests + ks.ThrottledTokensPerDay + ks.ThrottledMidStream
	}
	// The retry of the request-throttled call is either throttled again or
	// refused by pacing (deadline), depending on how fast the young key's
	// measured request rate lets it through: one or two request throttles.
	reqs := want[kindStage{"throttle_requests", "response"}]
	if want[kindStage{"throttle_tokens", "response"}] != 2 || reqs < 1 || reqs > 2 || total != 3+reqs {
		t.Fatalf("simulator throttled %v (total %d): the scenario did not happen", want, total)
	}

	// Span events.
	events := map[kindStage]int64{}
	var nEvents int64
	var midStream int64
	for _, s := range tel.spans.Ended() {
		for _, ev := range s.Events() {
			if ev.Name != otelbridge.EventThrottle {
				continue
			}
			nEvents++
			kind, _ := attrOf(ev.Attributes, otelbridge.KeyThrottleKind)
			st, _ := attrOf(ev.Attributes, otelbridge.KeyThrottleStage)
			if st.AsString() == "mid_stream" {
				midStream++
				continue
			}
			events[kindStage{kind.AsString(), st.AsString()}]++
			for _, k := range []attribute.Key{otelbridge.KeyAttempt, otelbridge.KeyRetried, otelbridge.KeyRetryDelay,
				otelbridge.KeyEstimatedTokens, otelbridge.KeyReservedTokens, otelbridge.KeyErrorType, otelbridge.KeyRateLowered} {
				if _, ok := attrOf(ev.Attributes, k); !ok {
					t.Errorf("throttle event on %q lacks %s", s.Name(), k)
				}
			}
			if r, _ := attrOf(ev.Attributes, otelbridge.KeyRetried); r.AsBool() {
				if d, _ := attrOf(ev.Attributes, otelbridge.KeyRetryDelay); d.AsFloat64() <= 0 {
					t.Errorf("retried throttle with delay %v", d.AsFloat64())
				}
			}
		}
	}
	if nEvents != total {
		t.Errorf("%d throttle span events, simulator throttled %d", nEvents, total)
	}
	ms := sim.Stats().Keys[nova].ThrottledMidStream
	if midStream != ms {
		t.Errorf("%d mid-stream throttle events, simulator cut %d streams", midStream, ms)
	}
	for k, n := range want {
		if events[k] != n {
			t.Errorf("span events %v: %d, simulator %d", k, events[k], n)
		}
	}

	// Counter.
	m := tel.metrics(t)
	throttles := m[otelbridge.MetricThrottles]
	if got := sumCounter(t, throttles, nil); got != total {
		t.Errorf("throttle counter %d, simulator %d", got, total)
	}
	for k, n := range want {
		got := sumCounter(t, throttles, func(s attribute.Set) bool {
			return is(otelbridge.KeyThrottleKind, k.kind)(s) && is(otelbridge.KeyThrottleStage, k.stage)(s)
		})
		if got != n {
			t.Errorf("throttle counter %v = %d, simulator %d", k, got, n)
		}
	}
	// Exemplars lead from the counter to the traces.
	traces := map[trace.TraceID]bool{}
	for _, s := range tel.spans.Ended() {
		traces[s.SpanContext().TraceID()] = true
	}
	for _, dp := range throttles.Data.(metricdata.Sum[int64]).DataPoints {
		if len(dp.Exemplars) == 0 {
			t.Errorf("throttle data point %v has no exemplar", dp.Attributes.ToSlice())
		}
		for _, ex := range dp.Exemplars {
			if !traces[trace.TraceID(ex.TraceID)] {
				t.Errorf("exemplar trace %x is not a recorded trace", ex.TraceID)
			}
		}
	}
	if got := sumCounter(t, throttles, is(otelbridge.KeyThrottleStage, "mid_stream")); got != ms {
		t.Errorf("mid-stream throttle counter %d, simulator %d", got, ms)
	}
	// One retry per throttled operation, none after the stream was cut.
	if got := sumCounter(t, m[otelbridge.MetricRetries], is(otelbridge.KeyErrorType, "ThrottlingException")); got != 2 {
		t.Errorf("retries of ThrottlingException = %d, want 2", got)
	}
	// A single request throttle means the retry was refused by pacing.
	var rejected int64
	if pr, ok := m[otelbridge.MetricPacingRejected]; ok && pr.Data != nil {
		rejected = sumCounter(t, pr, is(otelbridge.KeyPacingReason, "deadline"))
	}
	if want := 2 - reqs; rejected != want {
		t.Errorf("pacing rejections for the deadline = %d, want %d", rejected, want)
	}
}
