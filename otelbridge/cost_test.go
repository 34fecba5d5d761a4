package otelbridge_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// TestCostFromReportedUsage checks the cost counter against the usage the
// simulator reported to the real client: priced models are counted (an
// inference profile ID with the price of its model ID), others are not.
func TestCostFromReportedUsage(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	price := otelbridge.Price{InputPer1K: 0.0008, OutputPer1K: 0.004, CacheReadPer1K: 0.00008, CacheWritePer1K: 0.001}
	b, err := otelbridge.New(otelbridge.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		otelbridge.WithPrices(map[string]otelbridge.Price{haiku: price}))
	if err != nil {
		t.Fatal(err)
	}
	_, _, cfg := newSim(t, nil, b.Option())
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	var want float64
	for _, model := range []string{haiku, "us." + haiku, nova} {
		out, err := client.Converse(ctx, converseInput(model, strings.Repeat("word ", 100), 200))
		if err != nil {
			t.Fatal(err)
		}
		if model == nova {
			continue
		}
		u := out.Usage
		want += (float64(*u.InputTokens)*price.InputPer1K + float64(*u.OutputTokens)*price.OutputPer1K) / 1000
		if u.CacheReadInputTokens != nil || u.CacheWriteInputTokens != nil {
			want += (float64(derefInt32(u.CacheReadInputTokens))*price.CacheReadPer1K + float64(derefInt32(u.CacheWriteInputTokens))*price.CacheWritePer1K) / 1000
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != otelbridge.MetricCost {
				continue
			}
			if m.Unit != "{USD}" || m.Description == "" {
				t.Errorf("cost unit %q, description %q", m.Unit, m.Description)
			}
			for _, dp := range m.Data.(metricdata.Sum[float64]).DataPoints {
				model, _ := dp.Attributes.Value(otelbridge.KeyRequestModel)
				got[model.AsString()] += dp.Value
				if _, ok := dp.Attributes.Value(otelbridge.KeyTenant); ok {
					t.Errorf("tenant attribute without WithTenantAttribute: %v", dp.Attributes.ToSlice())
				}
			}
		}
	}
	if want <= 0 {
		t.Fatal("the simulator reported no usage")
	}
	total := got[haiku] + got["us."+haiku]
	if math.Abs(total-want) > 1e-12 || got[haiku] == 0 || got["us."+haiku] == 0 {
		t.Errorf("cost %v (total %v), want %v over %s and its profile", got, total, want, haiku)
	}
	if _, ok := got[nova]; ok {
		t.Errorf("%s has no price but was counted", nova)
	}
}

func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// TestInvalidPricesAndTenantLimit checks that bad prices and limits fail
// New with a *bedrockguard.OptionError naming the option.
func TestInvalidPricesAndTenantLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opt    otelbridge.Option
		option string
	}{
		{"negative", otelbridge.WithPrices(map[string]otelbridge.Price{haiku: {InputPer1K: -0.001}}), `otelbridge.WithPrices("` + haiku + `")`},
		{"NaN", otelbridge.WithPrices(map[string]otelbridge.Price{haiku: {OutputPer1K: math.NaN()}}), `otelbridge.WithPrices("` + haiku + `")`},
		{"infinite", otelbridge.WithPrices(map[string]otelbridge.Price{haiku: {CacheReadPer1K: math.Inf(1)}}), `otelbridge.WithPrices("` + haiku + `")`},
		{"per million as per 1K", otelbridge.WithPrices(map[string]otelbridge.Price{haiku: {CacheWritePer1K: 1500}}), `otelbridge.WithPrices("` + haiku + `")`},
		{"empty model ID", otelbridge.WithPrices(map[string]otelbridge.Price{"": {InputPer1K: 0.001}}), "otelbridge.WithPrices"},
		{"tenant limit 0", otelbridge.WithTenantAttribute(0), "otelbridge.WithTenantAttribute"},
		{"tenant limit too high", otelbridge.WithTenantAttribute(10_001), "otelbridge.WithTenantAttribute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := otelbridge.New(tc.opt)
			var oe *bedrockguard.OptionError
			if b != nil || !errors.As(err, &oe) {
				t.Fatalf("New = %v, %v; want a *bedrockguard.OptionError", b, err)
			}
			if oe.Option != tc.option {
				t.Errorf("Option %q, want %q (%v)", oe.Option, tc.option, err)
			}
		})
	}
	if _, err := otelbridge.New(otelbridge.WithPrices(map[string]otelbridge.Price{haiku: {}}), otelbridge.WithTenantAttribute(10_000)); err != nil {
		t.Errorf("zero prices and the highest limit: %v", err)
	}
}

// TestCostByTenantThroughTheClient checks that the tenant the application
// sets with bedrockguard.WithTenant reaches the cost counter with
// WithTenantAttribute, and only there.
func TestCostByTenantThroughTheClient(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	b, err := otelbridge.New(otelbridge.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		otelbridge.WithPrices(map[string]otelbridge.Price{haiku: {InputPer1K: 1, OutputPer1K: 1}}), otelbridge.WithTenantAttribute(1))
	if err != nil {
		t.Fatal(err)
	}
	_, _, cfg := newSim(t, nil, b.Option())
	client := bedrockruntime.NewFromConfig(cfg)
	for _, tenant := range []string{"acme", "globex", ""} {
		ctx := context.Background()
		if tenant != "" {
			ctx = bedrockguard.WithTenant(ctx, tenant)
		}
		if _, err := client.Converse(ctx, converseInput(haiku, "Say hello.", 50)); err != nil {
			t.Fatal(err)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	tenants := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, s := range pointSets(m) { // every metric but the (float) cost counter
				if _, ok := s.Value(otelbridge.KeyTenant); ok {
					t.Errorf("%s carries the tenant", m.Name)
				}
			}
			if d, ok := m.Data.(metricdata.Sum[float64]); ok && m.Name == otelbridge.MetricCost {
				for _, dp := range d.DataPoints {
					v, _ := dp.Attributes.Value(otelbridge.KeyTenant)
					tenants[v.AsString()] = dp.Value > 0
				}
			}
		}
	}
	// acme is the one tenant under the limit, globex is "other", the call
	// without a tenant has no attribute ("").
	if len(tenants) != 3 || !tenants["acme"] || !tenants["other"] || !tenants[""] {
		t.Errorf("cost series by tenant: %v", tenants)
	}
}
