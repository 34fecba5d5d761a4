package otelbridge

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bedrockguard/bedrockguard/internal/engine"
)

// Spillover telemetry (bedrockguard.WithSpillover).
const (
	// metricSpillover counts operations served by a spillover route, by
	// reason.
	metricSpillover = "aws.bedrock.spillover"
	// keyResponseModel is the model ID that served the operation (the
	// asked one is gen_ai.request.model).
	keyResponseModel = attribute.Key("gen_ai.response.model")
	// keySpillReason says why the operation left the model asked for:
	// deadline, max_wait, tokens_per_day, model_not_ready, throttled.
	keySpillReason = attribute.Key("aws.bedrock.spillover.reason")
	// keyRouteRegion is the region that served the operation, on the span
	// of an operation that spilled over.
	keyRouteRegion = attribute.Key("aws.bedrock.route.region")
)

// spillMetrics is the spillover counter.
type spillMetrics struct {
	spilled metric.Int64Counter
}

func (sm *spillMetrics) init(m metric.Meter) error {
	var err error
	sm.spilled, err = m.Int64Counter(metricSpillover, metric.WithUnit("{call}"),
		metric.WithDescription("Operations served by a spillover route instead of the model asked for, by reason."))
	return err
}

// ended sets the served model on the operation's span and, when a route
// served it, the route and reason, and counts it.
func (sm *spillMetrics) ended(ctx context.Context, b *Bridge, c *engine.Call, st *opState) {
	if c.ServedModelID == "" {
		return
	}
	st.span.SetAttributes(keyResponseModel.String(c.ServedModelID))
	if c.SpillReason == "" {
		return
	}
	st.span.SetAttributes(keySpillReason.String(c.SpillReason), keyRouteRegion.String(c.ServedRegion))
	sm.spilled.Add(ctx, 1, metric.WithAttributes(b.attrs(c, st.op,
		keySpillReason.String(c.SpillReason), keyResponseModel.String(c.ServedModelID), keyRouteRegion.String(c.ServedRegion))...))
}
