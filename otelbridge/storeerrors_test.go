package otelbridge_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/otelbridge"
	"github.com/bedrockguard/bedrockguard/pacing"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// deadStore is a shared Store that is down: every call fails. It counts
// its calls: each is a store error the guard served locally.
type deadStore struct{ calls atomic.Int64 }

var errDown = errors.New("store down")

func (s *deadStore) Reserve(context.Context, string, pacing.KeyConfig, pacing.Amount) (pacing.ReserveResult, error) {
	s.calls.Add(1)
	return pacing.ReserveResult{}, errDown
}
func (s *deadStore) Return(context.Context, string, pacing.KeyConfig, pacing.Amount) error {
	s.calls.Add(1)
	return errDown
}
func (s *deadStore) Throttled(context.Context, string, pacing.KeyConfig, pacing.Axis) (bool, error) {
	s.calls.Add(1)
	return false, errDown
}
func (s *deadStore) State(context.Context, string, pacing.KeyConfig) (pacing.KeyState, error) {
	s.calls.Add(1)
	return pacing.KeyState{}, errDown
}

// A dead shared store degrades to local pacing, and says so in the store
// errors counter.
func TestStoreErrorsCounted(t *testing.T) {
	tel := newTelemetry(t)
	store := &deadStore{}
	_, _, cfg := newSim(t, nil, tel.bridge.Option(),
		bedrockguard.WithStore(store),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}))
	client := bedrockruntime.NewFromConfig(cfg)
	if _, err := client.Converse(context.Background(), converseInput(haiku, "hello", 50)); err != nil {
		t.Fatalf("a dead store must not fail the call: %v", err)
	}
	want := store.calls.Load()
	if want == 0 {
		t.Fatal("the guard made no store call")
	}
	m := tel.metrics(t)[otelbridge.MetricPacingStoreErrors]
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok || len(sum.DataPoints) != 1 || sum.DataPoints[0].Value < want {
		t.Fatalf("%s = %+v, want one point of at least %d", otelbridge.MetricPacingStoreErrors, m.Data, want)
	}
}
