// Package simconfig holds the simulator's settings: what package bedrocksim's
// options set, and the knobs that only this module's tests and tools reach.
// A bedrocksim.Option is a func(*Settings[bedrocksim.Quota, bedrocksim.Faults]),
// so code inside the module can write its own; package internal/simtest has
// the usual ones.
//
// Settings is generic in the quota and faults types only because they are
// defined by package bedrocksim, which imports this package.
package simconfig

import "time"

// Default values, named once.
const (
	// DefaultWindow is the quota period.
	DefaultWindow = time.Minute
	// DefaultTokensPerDelta is the number of output tokens per stream delta.
	DefaultTokensPerDelta = 4
	// DefaultMaxBodyBytes is the largest request body accepted.
	DefaultMaxBodyBytes = 20 << 20
	// DefaultCacheTTL is how long a prompt-cache prefix stays warm.
	DefaultCacheTTL = 5 * time.Minute
)

// Settings is everything a bedrocksim.Server is built from. Q is
// bedrocksim.Quota and F is bedrocksim.Faults.
type Settings[Q, F any] struct {
	// Set by the public options (bedrocksim.With...).

	// Window is the quota period.
	Window time.Duration
	// DefaultQuota applies to keys without an entry in Quotas.
	DefaultQuota Q
	// Quotas by key (model ID or inference-profile ID, as sent).
	Quotas map[string]Q
	// Seed drives output lengths and text, fault selection and request IDs.
	Seed int64
	// LatencyBase is the simulated time to the first output token;
	// LatencyPerOutputToken the time per output token after it.
	LatencyBase, LatencyPerOutputToken time.Duration
	// OutputFraction, if in (0, 1], fixes every output length at that
	// fraction of max tokens.
	OutputFraction float64
	// Faults are the faults in force from the start.
	Faults F

	// Knobs without a public option (see package internal/simtest).

	// TokensPerDelta is the number of output tokens per stream delta.
	TokensPerDelta int
	// ShortRequestsMessage makes request-rate throttles use Bedrock's short
	// message.
	ShortRequestsMessage bool
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes int64
	// CacheTTL is how long a prompt-cache prefix stays warm.
	CacheTTL time.Duration
	// InputTokenScale, if positive, multiplies every input-token count
	// (rounding up): a tokenizer other than the simulator's own rule.
	InputTokenScale float64
	// Day is the period of the tokens-per-day quota; zero means 1440
	// windows (a day of one-minute windows).
	Day time.Duration

	// Err is the first invalid option's error; bedrocksim.New returns it.
	Err error
}

// Defaults returns the settings before any option.
func Defaults[Q, F any]() Settings[Q, F] {
	return Settings[Q, F]{
		Window:         DefaultWindow,
		Quotas:         map[string]Q{},
		TokensPerDelta: DefaultTokensPerDelta,
		MaxBodyBytes:   DefaultMaxBodyBytes,
		CacheTTL:       DefaultCacheTTL,
	}
}

// Fail records err unless an earlier option already failed.
func (s *Settings[Q, F]) Fail(err error) {
	if s.Err == nil {
		s.Err = err
	}
}
