package otelbridge_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// sdkBridge returns a bridge on real SDK providers: every span sampled and
// recorded (no exporter), metrics aggregated for a reader.
func sdkBridge(b *testing.B) *otelbridge.Bridge {
	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	br, err := otelbridge.New(otelbridge.WithTracerProvider(tp), otelbridge.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// BenchmarkConverse measures one guarded Converse call through the real
// client against the simulator, with telemetry off (the default no-op
// observer) and on (the bridge on the OTel SDK).
func BenchmarkConverse(b *testing.B) {
	for _, tc := range []struct {
		name string
		opt  func(b *testing.B) bedrockguard.Option
	}{
		{"off", func(*testing.B) bedrockguard.Option { return bedrockguard.WithObserver(bedrockguard.NopObserver{}) }},
		{"on", func(b *testing.B) bedrockguard.Option { return sdkBridge(b).Option() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			_, _, cfg := newSim(b, nil, tc.opt(b))
			client := bedrockruntime.NewFromConfig(cfg)
			in := converseInput(haiku, "Say hello in three languages.", 100)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Converse(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvents measures the bridge alone: the events of one successful
// operation (start, pacing, attempt, settlement, end).
func BenchmarkEvents(b *testing.B) {
	for _, tc := range []struct {
		name string
		obs  func(b *testing.B) bedrockguard.Observer
	}{
		{"off", func(*testing.B) bedrockguard.Observer { return bedrockguard.NopObserver{} }},
		{"on", func(b *testing.B) bedrockguard.Observer { return sdkBridge(b).Observer() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			o := tc.obs(b)
			c := &bedrockguard.Call{
				Operation: "Converse", ModelID: haiku, Region: "us-east-1",
				GenAIOperation: "chat", InputTokens: 12, MaxTokens: 100, ReservedTokens: 112,
			}
			settle := bedrockguard.SettleEvent{Usage: bedrockguard.Usage{InputTokens: 11, OutputTokens: 40}, Reserved: 112, Settled: 51, FinishReason: "end_turn"}
			b.ReportAllocs()
			for b.Loop() {
				ctx := o.Start(context.Background(), c)
				o.Paced(ctx, c, 0, nil)
				actx := o.AttemptStart(ctx, c, 1)
				o.AttemptEnd(actx, c, bedrockguard.AttemptEvent{Attempt: 1, RequestID: "req-1"})
				o.Settled(actx, c, settle)
				o.End(ctx, c, nil)
			}
		})
	}
}
