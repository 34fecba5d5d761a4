package middleware

import (
	"context"
	"time"

	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/tokens"
)

// Observer receives the guard's events. Implementations must be safe for
// concurrent use and must not block. The otelbridge package turns them into
// OpenTelemetry spans and metrics; [Nop] ignores them.
//
// Events never carry prompt or completion text.
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
	// End is called once per operation when it is over: when the stack
	// returns for plain operations, when the stream ends for streams.
	End(ctx context.Context, c *Call, err error)
}

// ThrottleEvent describes one throttle.
type ThrottleEvent struct {
	Class   classify.Class
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
	Usage    tokens.Usage
	Reserved int64
	Settled  int64
	// FinishReason is why the model stopped (Converse's stopReason, such
	// as "end_turn" or "max_tokens"), or empty when the response did not
	// say.
	FinishReason string
}

// Nop is an Observer that does nothing.
type Nop struct{}

// Start implements [Observer].
func (Nop) Start(ctx context.Context, _ *Call) context.Context { return ctx }

// Paced implements [Observer].
func (Nop) Paced(context.Context, *Call, time.Duration, error) {}

// AttemptStart implements [Observer].
func (Nop) AttemptStart(ctx context.Context, _ *Call, _ int) context.Context { return ctx }

// AttemptEnd implements [Observer].
func (Nop) AttemptEnd(context.Context, *Call, AttemptEvent) {}

// Throttled implements [Observer].
func (Nop) Throttled(context.Context, *Call, ThrottleEvent) {}

// Settled implements [Observer].
func (Nop) Settled(context.Context, *Call, SettleEvent) {}

// End implements [Observer].
func (Nop) End(context.Context, *Call, error) {}
