package load

import (
	"context"
	"sync"

	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/middleware"
	"github.com/bedrockguard/bedrockguard/retrypolicy"
)

// throttleCounter counts the throttles the guard saw, by kind, and passes
// every event on to an inner observer (retry events too, when the inner
// observer understands them).
type throttleCounter struct {
	middleware.Observer
	retry retrypolicy.Observer

	mu     sync.Mutex
	counts map[string]int64
}

var (
	_ middleware.Observer  = (*throttleCounter)(nil)
	_ retrypolicy.Observer = (*throttleCounter)(nil)
)

func newThrottleCounter(inner middleware.Observer) *throttleCounter {
	if inner == nil {
		inner = middleware.Nop{}
	}
	tc := &throttleCounter{Observer: inner, counts: map[string]int64{}}
	tc.retry, _ = inner.(retrypolicy.Observer)
	return tc
}

// Throttled counts the throttle by the kind names of Row.Throttles.
func (tc *throttleCounter) Throttled(ctx context.Context, c *middleware.Call, e middleware.ThrottleEvent) {
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

// OnRetry implements retrypolicy.Observer.
func (tc *throttleCounter) OnRetry(ctx context.Context, ev retrypolicy.RetryEvent) {
	if tc.retry != nil {
		tc.retry.OnRetry(ctx, ev)
	}
}

// OnBudgetExhausted implements retrypolicy.Observer.
func (tc *throttleCounter) OnBudgetExhausted(ctx context.Context, c classify.Class) {
	if tc.retry != nil {
		tc.retry.OnBudgetExhausted(ctx, c)
	}
}

// OnGiveUp implements retrypolicy.Observer.
func (tc *throttleCounter) OnGiveUp(ctx context.Context, err *retrypolicy.GiveUpError) {
	if tc.retry != nil {
		tc.retry.OnGiveUp(ctx, err)
	}
}
