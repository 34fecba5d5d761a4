package bedrockguard

import "github.com/bedrockguard/bedrockguard/internal/engine"

// Observer receives the guard's events, for telemetry: package otelbridge
// turns them into OpenTelemetry spans and metrics. Give one to the guard
// with [WithObserver].
//
// Methods are called synchronously on the request's goroutine (or, for a
// stream, the goroutine reading it): they must be quick and safe for
// concurrent use. Events never carry prompt or completion text. A panic in
// a method is contained, logged with its stack and not re-raised: the guard
// goes on as if the method had returned (Start and AttemptStart then keep
// the context they were given), so accounting and End are unaffected.
//
// Implementations embed [NopObserver] and override the methods they need,
// so that methods added to Observer in later versions do nothing instead of
// breaking the build:
//
//	type throttleLog struct{ bedrockguard.NopObserver }
//
//	func (throttleLog) Throttled(ctx context.Context, c *bedrockguard.Call, e bedrockguard.ThrottleEvent) {
//		log.Printf("%s %s throttled (%s)", c.Region, c.ModelID, e.Class.Kind)
//	}
//
// The calls of one operation come in this order: Start; then per attempt
// Paced, and if admitted AttemptStart, AttemptEnd, Throttled (on a
// throttle) or Settled (with usage), then Retry when it is retried; End
// last (for a stream, when the stream ends).
type Observer = engine.Observer

// NopObserver is an [Observer] that does nothing; embed it in yours.
type NopObserver = engine.NopObserver

// Call is the guard's view of one operation, passed to every [Observer]
// method. Its fields are set before pacing and read-only afterwards.
type Call = engine.Call

// ThrottleEvent describes one throttle Bedrock returned.
type ThrottleEvent = engine.ThrottleEvent

// AttemptEvent describes the outcome of one attempt.
type AttemptEvent = engine.AttemptEvent

// SettleEvent describes an attempt's settlement with reported usage.
type SettleEvent = engine.SettleEvent

// RetryEvent describes a retry decision.
type RetryEvent = engine.RetryEvent

// Usage is the token usage Bedrock reported for a call. InputTokens
// excludes cache reads and writes, which are counted separately.
type Usage = engine.Usage
