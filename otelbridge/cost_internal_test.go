package otelbridge

import (
	"context"
	"fmt"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bedrockguard/bedrockguard/internal/engine"
)

// TestTenantAttributeCapped checks that the first limit tenants get their
// own aws.bedrock.tenant value, later ones "other", and calls without a
// tenant none; the total cost is unchanged.
func TestTenantAttributeCapped(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	b, err := New(WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		WithPrices(map[string]Price{"amazon.nova-lite-v1:0": {InputPer1K: 1, OutputPer1K: 2}}), WithTenantAttribute(3))
	if err != nil {
		t.Fatal(err)
	}
	o := b.Observer().(*observer)
	ctx := context.Background()
	settle := func(tenant string) {
		c := &engine.Call{ModelID: "amazon.nova-lite-v1:0", Region: "us-east-1", Tenant: tenant, GenAIOperation: "chat"}
		o.Settled(ctx, c, engine.SettleEvent{Usage: engine.Usage{InputTokens: 1000, OutputTokens: 500}})
	}
	for i := range 10 {
		settle(fmt.Sprintf("tenant-%d", i%5)) // 5 tenants, each twice
	}
	settle("")
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != metricCost {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[float64]).DataPoints {
				v, ok := dp.Attributes.Value(keyTenant)
				name := v.AsString()
				if !ok {
					name = "(none)"
				}
				got[name] += dp.Value
			}
		}
	}
	want := map[string]float64{"tenant-0": 4, "tenant-1": 4, "tenant-2": 4, "other": 8, "(none)": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cost by tenant %v, want %v", got, want)
	}
}
