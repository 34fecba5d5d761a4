package otelbridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/internal/retry"
	"github.com/bedrockguard/bedrockguard/otelbridge"
	"github.com/bedrockguard/bedrockguard/quotas"
	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

// TestQuotaAttemptsAndMaxTokens checks the capacity metrics through the
// real client: the quota gauge reports each configured quota per minute
// with its source and nothing for a model whose quota is learned; the
// attempts histogram counts a retried call's two attempts; the max_tokens
// histogram records what each operation reserved.
func TestQuotaAttemptsAndMaxTokens(t *testing.T) {
	tel := newTelemetry(t)
	defer tel.bridge.Shutdown()
	_, _, cfg := newSim(t, []bedrocksim.Option{
		bedrocksim.WithWindow(10 * time.Second),
		bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 1}}),
	}, tel.bridge.Option(),
		bedrockguard.WithQuota(haiku, bedrockguard.Quota{TokensPerWindow: 20_000, RequestsPerWindow: 50, Window: 10 * time.Second}),
		guardtest.Retry(func(o *retry.Options) { o.ServerErrorBase, o.MaxBackoff = time.Millisecond, 5*time.Millisecond }))
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	// The first call meets a 503 and is retried once.
	if _, err := client.Converse(ctx, converseInput(haiku, "Say hello.", 300)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Converse(ctx, converseInput(nova, "Say hello.", 100)); err != nil {
		t.Fatal(err)
	}
	got := tel.metrics(t)

	g, ok := got[otelbridge.MetricPacingQuota].Data.(metricdata.Gauge[float64])
	if !ok {
		t.Fatalf("quota gauge: %T", got[otelbridge.MetricPacingQuota].Data)
	}
	quotas := map[string]float64{}
	for _, dp := range g.DataPoints {
		model, _ := dp.Attributes.Value(otelbridge.KeyRequestModel)
		limit, _ := dp.Attributes.Value(otelbridge.KeyPacingLimit)
		src, _ := dp.Attributes.Value(otelbridge.KeyQuotaSource)
		if src.AsString() != "configured" {
			t.Errorf("%s %s: source %q", model.AsString(), limit.AsString(), src.AsString())
		}
		quotas[model.AsString()+" "+limit.AsString()] = dp.Value
	}
	want := map[string]float64{haiku + " tokens": 120_000, haiku + " requests": 300}
	if len(quotas) != len(want) {
		t.Errorf("quota points %v, want %v (none for %s, whose quota is learned)", quotas, want, nova)
	}
	for k, v := range want {
		if quotas[k] != v {
			t.Errorf("quota %s = %v, want %v per minute", k, quotas[k], v)
		}
	}

	h, ok := got[otelbridge.MetricAttempts].Data.(metricdata.Histogram[int64])
	if !ok {
		t.Fatalf("attempts: %T", got[otelbridge.MetricAttempts].Data)
	}
	attempts := map[string][2]int64{} // model -> count, sum
	for _, dp := range h.DataPoints {
		model, _ := dp.Attributes.Value(otelbridge.KeyRequestModel)
		a := attempts[model.AsString()]
		attempts[model.AsString()] = [2]int64{a[0] + int64(dp.Count), a[1] + dp.Sum}
	}
	if attempts[haiku] != [2]int64{1, 2} || attempts[nova] != [2]int64{1, 1} {
		t.Errorf("attempts (operations, attempts) by model: %v", attempts)
	}

	mt, ok := got[otelbridge.MetricRequestMaxTokens].Data.(metricdata.Histogram[int64])
	if !ok {
		t.Fatalf("max tokens: %T", got[otelbridge.MetricRequestMaxTokens].Data)
	}
	maxTokens := map[string]int64{}
	for _, dp := range mt.DataPoints {
		model, _ := dp.Attributes.Value(otelbridge.KeyRequestModel)
		maxTokens[model.AsString()] += dp.Sum
		if _, ok := dp.Attributes.Value(otelbridge.KeyErrorType); ok {
			t.Errorf("max tokens point carries error.type: %v", dp.Attributes.ToSlice())
		}
	}
	if maxTokens[haiku] != 300 || maxTokens[nova] != 100 {
		t.Errorf("max tokens by model %v", maxTokens)
	}
}

// routeClient serves the SDK's requests in process, with no network (a
// synctest bubble stays idle): Service Quotas calls to quotas, the rest to
// the simulator.
type routeClient struct{ sim, quotas http.Handler }

func (c routeClient) Do(r *http.Request) (*http.Response, error) {
	h := c.sim
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "ServiceQuotas") {
		h = c.quotas
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// TestQuotaGaugeFollowsDiscovery checks that a quota discovered in the
// background (quotas.Background against the Service Quotas fake) reaches
// the quota gauge for a key first seen while its quota was learned.
func TestQuotaGaugeFollowsDiscovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		defer tel.bridge.Shutdown()
		sim, err := bedrocksim.New()
		if err != nil {
			t.Fatal(err)
		}
		cfg := bedrocksim.Config("http://bedrocksim.invalid")
		cfg.HTTPClient = routeClient{sim: sim, quotas: quotastest.Handler(quotastest.Sample(), quotastest.WithThrottleFirst(1))}
		if _, err := bedrockguard.Install(&cfg, tel.bridge.Option(), quotas.Background(),
			bedrockguard.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
			t.Fatal(err)
		}
		client := bedrockruntime.NewFromConfig(cfg)
		ctx := context.Background()
		quotaPoints := func() map[string]string {
			out := map[string]string{}
			if g, ok := tel.metrics(t)[otelbridge.MetricPacingQuota].Data.(metricdata.Gauge[float64]); ok {
				for _, dp := range g.DataPoints {
					limit, _ := dp.Attributes.Value(otelbridge.KeyPacingLimit)
					src, _ := dp.Attributes.Value(otelbridge.KeyQuotaSource)
					out[limit.AsString()] = fmt.Sprintf("%v %s", dp.Value, src.AsString())
				}
			}
			return out
		}
		if _, err := client.Converse(ctx, converseInput(haiku, "Say hello.", 50)); err != nil {
			t.Fatal(err)
		}
		if got := quotaPoints(); len(got) != 0 {
			t.Fatalf("quota points before discovery (the quota is learned): %v", got)
		}
		time.Sleep(time.Minute) // the fake throttles the first call: a second of backoff
		synctest.Wait()
		if _, err := client.Converse(ctx, converseInput(haiku, "Say hello.", 50)); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"tokens": "400000 discovered", "requests": "200 discovered"}
		if got := quotaPoints(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("quota points after discovery %v, want %v", got, want)
		}
	})
}
