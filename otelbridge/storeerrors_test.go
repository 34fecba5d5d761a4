package otelbridge_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/otelbridge"
	"github.com/bedrockguard/bedrockguard/pacing"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// deadStore is a shared Store that is down: every call fails.
type deadStore struct{}

var errDown = errors.New("store down")

func (deadStore) Reserve(context.Context, string, pacing.KeyConfig, pacing.Amount) (pacing.ReserveResult, error) {
	return pacing.ReserveResult{}, errDown
}
func (deadStore) Return(context.Context, string, pacing.KeyConfig, pacing.Amount) error {
	return errDown
}
func (deadStore) Throttled(context.Context, string, pacing.KeyConfig, pacing.Axis) (bool, error) {
	return false, errDown
}
func (deadStore) State(context.Context, string, pacing.KeyConfig) (pacing.KeyState, error) {
	return pacing.KeyState{}, errDown
}

// A dead shared store degrades to local pacing, and says so in the store
// errors counter.
func TestStoreErrorsCounted(t *testing.T) {
	tel := newTelemetry(t)
	_, g, cfg := newSim(t, bedrocksim.Options{}, tel.bridge.Option(),
		bedrockguard.WithStore(deadStore{}),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}))
	client := bedrockruntime.NewFromConfig(cfg)
	if _, err := client.Converse(context.Background(), converseInput(haiku, "hello", 50)); err != nil {
		t.Fatalf("a dead store must not fail the call: %v", err)
	}
	want := g.Limiter().StoreErrors()
	if want == 0 {
		t.Fatal("the limiter counted no store error")
	}
	m := tel.metrics(t)[otelbridge.MetricPacingStoreErrors]
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok || len(sum.DataPoints) != 1 || sum.DataPoints[0].Value < want {
		t.Fatalf("%s = %+v, want one point of at least %d", otelbridge.MetricPacingStoreErrors, m.Data, want)
	}
}
