package engine

import (
	"context"
	"time"

	"github.com/bedrockguard/bedrockguard/classify"
)

// Observer receives the guard's events; the root package re-exports it as
// bedrockguard.Observer, which documents it for users. Implementations
// embed [NopObserver], so that methods added later have a default.
type Observer interface {
	// Start is called once per guarded operation, before pacing. The
	// returned context is used for the rest of the operation (it may carry
	// a span).
	Start(ctx context.Context, c *Call) context.Context
	// Paced is called after each attempt's pacing, with the time waited and
	// the error that ended the wait, if any.
	Paced(ctx context.Context, c *Call, waited time.Duration, err error)
	// AttemptStart is called for every attempt that pacing admitted, right
	// before it is signed and sent; n is the 1-based attempt number. The
	// returned context is used for the attempt (it may carry a span).
	AttemptStart(ctx context.Context, c *Call, n int) context.Context
	// AttemptEnd is called with the context AttemptStart returned as soon
	// as the attempt's response or error is known (for a stream: when the
	// stream opened), before its reservation is settled or released.
	AttemptEnd(ctx context.Context, c *Call, e AttemptEvent)
	// Throttled is called for every throttle the service returned,
	// including mid-stream ones.
	Throttled(ctx context.Context, c *Call, e ThrottleEvent)
	// Settled is called when an attempt's reservation is settled with the
	// usage the service reported.
	Settled(ctx context.Context, c *Call, e SettleEvent)
	// Retry is called when a failed attempt is retried (e.Delay is the
	// backoff before the next attempt) and when a retry is refused because
	// the retry budget is empty (e.BudgetExhausted).
	Retry(ctx context.Context, c *Call, e RetryEvent)
	// End is called once per operation when it is over: when the stack
	// returns for plain operations, when the stream ends for streams. err
	// is what the application got (for a stream, what ended it).
	End(ctx context.Context, c *Call, err error)
}

// ThrottleEvent describes one throttle.
type ThrottleEvent struct {
	// Class is the throttle's classification (its Kind says which limit).
	Class classify.Class
	// Attempt is the 1-based number of the throttled attempt.
	Attempt int
	// Lowered reports whether the adaptive rate was lowered by it.
	Lowered bool
	// ReservedTokens is what the throttled attempt had reserved.
	ReservedTokens int64
}

// AttemptEvent describes the outcome of one attempt.
type AttemptEvent struct {
	// Attempt is the 1-based attempt number.
	Attempt int
	// RequestID is the service's request ID (x-amzn-RequestId), or empty
	// when no response arrived.
	RequestID string
	// Err is the attempt's error; nil when the service answered.
	Err error
}

// SettleEvent describes one settlement.
type SettleEvent struct {
	// Usage is what Bedrock reported.
	Usage Usage
	// Reserved is what the attempt had reserved, in quota tokens.
	Reserved int64
	// Settled is what the attempt cost in quota tokens: input, cache writes
	// and output times the model's burndown.
	Settled int64
	// FinishReason is why the model stopped (Converse's stopReason, such
	// as "end_turn" or "max_tokens"), or empty when the response did not
	// say.
	FinishReason string
}

// RetryEvent describes a retry decision.
type RetryEvent struct {
	// Attempt is the 1-based number of the attempt that failed.
	Attempt int
	// Class is the classification of its error.
	Class classify.Class
	// Delay is the backoff before the next attempt (0 when it is not
	// known: the client's own retryer in observe-only mode).
	Delay time.Duration
	// BudgetExhausted reports that no retry follows: the retry budget
	// could not pay for it.
	BudgetExhausted bool
}

// Usage is what Bedrock reported a call consumed. InputTokens excludes the
// cache reads and writes, which are counted separately; the prompt Bedrock
// processed is their sum.
type Usage struct {
	InputTokens           int64
	OutputTokens          int64
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
}

// NopObserver is an Observer that does nothing. Embed it in an Observer
// implementation so that methods added to the interface later do nothing
// instead of breaking the build.
type NopObserver struct{}

// Start returns ctx.
func (NopObserver) Start(ctx context.Context, _ *Call) context.Context { return ctx }

// Paced does nothing.
func (NopObserver) Paced(context.Context, *Call, time.Duration, error) {}

// AttemptStart returns ctx.
func (NopObserver) AttemptStart(ctx context.Context, _ *Call, _ int) context.Context { return ctx }

// AttemptEnd does nothing.
func (NopObserver) AttemptEnd(context.Context, *Call, AttemptEvent) {}

// Throttled does nothing.
func (NopObserver) Throttled(context.Context, *Call, ThrottleEvent) {}

// Settled does nothing.
func (NopObserver) Settled(context.Context, *Call, SettleEvent) {}

// Retry does nothing.
func (NopObserver) Retry(context.Context, *Call, RetryEvent) {}

// End does nothing.
func (NopObserver) End(context.Context, *Call, error) {}
