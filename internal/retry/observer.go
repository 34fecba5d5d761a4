package retry

import (
	"context"
	"time"

	"github.com/bedrockguard/bedrockguard/classify"
)

// Observer is told what the policy decides, for telemetry. Its methods are
// called synchronously on the request's goroutine and must be quick and safe
// for concurrent use. The guard's telemetry bridge implements it.
type Observer interface {
	// OnRetry is called once per retry, after the budget was charged and
	// before the SDK sleeps for ev.Delay.
	OnRetry(ctx context.Context, ev RetryEvent)
	// OnBudgetExhausted is called when a retry is refused because the
	// shared budget is empty; c is the class of the error not retried.
	OnBudgetExhausted(ctx context.Context, c classify.Class)
	// OnGiveUp is called once per operation the policy gives up on, with
	// the error the caller will receive (inside its OperationError).
	OnGiveUp(ctx context.Context, err *GiveUpError)
}

// RetryEvent describes one retry.
type RetryEvent struct {
	// Attempt is the 1-based number of the attempt that failed.
	Attempt int
	// Class is the classification of its error.
	Class classify.Class
	// Delay is the backoff before the next attempt (before the SDK's
	// X-Amz-Retry-After adjustment).
	Delay time.Duration
}

// NopObserver is an [Observer] that does nothing. It is the default.
type NopObserver struct{}

// OnRetry does nothing.
func (NopObserver) OnRetry(context.Context, RetryEvent) {}

// OnBudgetExhausted does nothing.
func (NopObserver) OnBudgetExhausted(context.Context, classify.Class) {}

// OnGiveUp does nothing.
func (NopObserver) OnGiveUp(context.Context, *GiveUpError) {}
