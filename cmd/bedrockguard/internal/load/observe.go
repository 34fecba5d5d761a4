package load

import (
	"context"
	"sync"

	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/engine"
)

// throttleCounter counts the throttles the guard saw, by kind, and passes
// every event on to an inner observer.
type throttleCounter struct {
	engine.Observer

	mu     sync.Mutex
	counts map[string]int64
}

var _ engine.Observer = (*throttleCounter)(nil)

func newThrottleCounter(inner engine.Observer) *throttleCounter {
	if inner == nil {
		inner = engine.NopObserver{}
	}
	return &throttleCounter{Observer: inner, counts: map[string]int64{}}
}

// Throttled counts the throttle by the kind names of Row.Throttles.
func (tc *throttleCounter) Throttled(ctx context.Context, c *engine.Call, e engine.ThrottleEvent) {
	kind := "unknown"
	switch {
	case e.Class.MidStream:
		kind = "mid_stream"
	case e.Class.Kind == classify.ThrottleRequests:
		kind = "requests"
	case e.Class.Kind == classify.ThrottleTokens:
		kind = "tokens"
	case e.Class.Kind == classify.ThrottleTokensPerDay:
		kind = "tokens_per_day"
	}
	tc.mu.Lock()
	tc.counts[kind]++
	tc.mu.Unlock()
	tc.Observer.Throttled(ctx, c, e)
}

func (tc *throttleCounter) snapshot() map[string]int64 {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	out := make(map[string]int64, len(tc.counts))
	for k, v := range tc.counts {
		out[k] = v
	}
	return out
}
