package otelbridge_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/tracing"
	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// smithyOTel is a minimal OpenTelemetry adapter for the SDK's smithy
// tracing, behaving like smithy-go's tracing/smithyoteltracing: the
// smithy span and the OTel span are both put in the context.
type smithyOTel struct{ tp oteltrace.TracerProvider }

func (p smithyOTel) Tracer(scope string, _ ...tracing.TracerOption) tracing.Tracer {
	return smithyTracer{p.tp.Tracer(scope)}
}

type smithyTracer struct{ t oteltrace.Tracer }

func (t smithyTracer) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	if parent, ok := tracing.GetSpan(ctx); ok {
		if p, ok := parent.(*smithySpan); ok {
			ctx = oteltrace.ContextWithSpan(ctx, p.s)
		}
	}
	var o tracing.SpanOptions
	for _, f := range opts {
		f(&o)
	}
	kind := oteltrace.SpanKindInternal
	if o.Kind == tracing.SpanKindClient {
		kind = oteltrace.SpanKindClient
	}
	ctx, s := t.t.Start(ctx, name, oteltrace.WithSpanKind(kind))
	ours := &smithySpan{s: s, name: name}
	for k, v := range o.Properties.Values() {
		ours.SetProperty(k, v)
	}
	return tracing.WithSpan(ctx, ours), ours
}

type smithySpan struct {
	s    oteltrace.Span
	name string
}

func (s *smithySpan) Name() string { return s.name }
func (s *smithySpan) Context() tracing.SpanContext {
	sc := s.s.SpanContext()
	return tracing.SpanContext{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()}
}
func (s *smithySpan) AddEvent(string, ...tracing.EventOption) {}
func (s *smithySpan) SetProperty(k, v any) {
	if ks, ok := k.(string); ok {
		if vs, ok := v.(string); ok {
			s.s.SetAttributes(attribute.String(ks, vs))
		}
	}
}
func (s *smithySpan) SetStatus(tracing.SpanStatus) {}
func (s *smithySpan) End()                         { s.s.End() }

// TestSDKTracingOnNoDuplicateOperationSpan turns the SDK's own tracing on:
// the bridge adopts the SDK's operation span (renamed, with the GenAI
// attributes) instead of starting a second one, and leaves attempts to the
// SDK's Attempt spans.
func TestSDKTracingOnNoDuplicateOperationSpan(t *testing.T) {
	tel := newTelemetry(t)
	_, _, cfg := newSim(t, []bedrocksim.Option{
		bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 1}}),
	}, tel.bridge.Option(), guardtest.FastRetry())
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) { o.TracerProvider = smithyOTel{tel.tp} })
	if _, err := client.Converse(context.Background(), converseInput(haiku, "hello", 50)); err != nil {
		t.Fatal(err)
	}
	var ops, sdkOps, attempts, ours int
	for _, s := range tel.spans.Ended() {
		switch s.Name() {
		case "chat " + haiku:
			ops++
			if s.SpanKind() != oteltrace.SpanKindClient {
				t.Errorf("kind %v", s.SpanKind())
			}
			a := s.Attributes()
			for _, k := range []attribute.Key{otelbridge.KeyProviderName, otelbridge.KeyRequestModel, otelbridge.KeyUsageInputTokens, otelbridge.KeyAWSRequestID} {
				if _, ok := attrOf(a, k); !ok {
					t.Errorf("adopted span lacks %s", k)
				}
			}
			if v, _ := attrOf(a, "rpc.service"); v.AsString() != bedrockruntime.ServiceID {
				t.Errorf("the operation span is not the SDK's: rpc.service %q", v.AsString())
			}
		case bedrockruntime.ServiceID + ".Converse":
			sdkOps++
		case "Attempt":
			attempts++
		case otelbridge.SpanAttempt:
			ours++
		}
	}
	if ops != 1 || sdkOps != 0 {
		t.Errorf("%d GenAI operation spans and %d SDK operation spans, want one span in all", ops, sdkOps)
	}
	if attempts != 2 || ours != 0 {
		t.Errorf("%d SDK attempt spans and %d of ours, want the SDK's 2 only", attempts, ours)
	}
}
