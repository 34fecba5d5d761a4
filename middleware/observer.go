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

// SettleEvent describes one settlement.
type SettleEvent struct {
	Usage    tokens.Usage
	Reserved int64
	Settled  int64
}

// Nop is an Observer that does nothing.
type Nop struct{}

// Start implements [Observer].
func (Nop) Start(ctx context.Context, _ *Call) context.Context { return ctx }

// Paced implements [Observer].
func (Nop) Paced(context.Context, *Call, time.Duration, error) {}

// Throttled implements [Observer].
func (Nop) Throttled(context.Context, *Call, ThrottleEvent) {}

// Settled implements [Observer].
func (Nop) Settled(context.Context, *Call, SettleEvent) {}

// End implements [Observer].
func (Nop) End(context.Context, *Call, error) {}
