package pacing

import (
	"context"
	"time"
)

// Amount is a cost on both axes: requests and tokens.
type Amount struct {
	Requests float64
	Tokens   float64
}

// KeyConfig is the configuration of both axes of a key, passed with every
// Store call so that a remote Store needs no registration step.
type KeyConfig struct {
	Requests AxisConfig
	Tokens   AxisConfig
}

// ReserveResult is the answer of [Store.Reserve].
type ReserveResult struct {
	// OK reports that the amount was taken.
	OK bool
	// Wait is, when OK is false, how long until the amount would fit at the
	// current rates (a hint: refunds and rate changes can shorten it).
	Wait time.Duration
}

// KeyState is a snapshot of one key, for telemetry and tests.
type KeyState struct {
	// Rate is the effective rate per window of each axis; +Inf when the
	// axis is not paced.
	Rate [2]float64
	// Level is the units available in each bucket (negative is debt).
	Level [2]float64
	// Limited reports whether each axis is being paced.
	Limited [2]bool

	// DayLimited reports that the key has a tokens-per-day quota (the
	// guard's Quota.TokensPerDay); the fields below are zero otherwise.
	// Stores leave them alone: the guard fills them.
	DayLimited bool
	// DayRemaining is what is left of the day's tokens (negative: in debt).
	DayRemaining float64
	// DayEmptyIn forecasts when DayRemaining runs out at the current usage
	// rate; zero when it is not falling.
	DayEmptyIn time.Duration
}

// Store keeps the bucket state of every key. Each method is atomic per key
// and uses the store's own clock, so that a shared implementation (Redis,
// with server-side scripts and the server's TIME) gives every process the
// same view. The in-process default is [NewMemoryStore].
//
// A Store never queues: waiting, priorities and deadlines are the
// [Limiter]'s job, in each process.
type Store interface {
	// Reserve brings key's buckets up to date and, if both hold enough,
	// takes amt. Otherwise it takes nothing and says how long to wait.
	Reserve(ctx context.Context, key string, cfg KeyConfig, amt Amount) (ReserveResult, error)
	// Return gives amt back to key's buckets: a refund at settlement or a
	// release on failure. Negative amounts charge more.
	Return(ctx context.Context, key string, cfg KeyConfig, amt Amount) error
	// Throttled reports a throttle on one axis of key: the store empties
	// that bucket and lowers its rate (at most once per Cooldown). It
	// reports whether the rate was lowered.
	Throttled(ctx context.Context, key string, cfg KeyConfig, a Axis) (bool, error)
	// State returns a snapshot of key.
	State(ctx context.Context, key string, cfg KeyConfig) (KeyState, error)
}
