// Package simtest gives this module's tests and tools the simulator's
// settings that are not public options of package bedrocksim. Each function
// returns a bedrocksim.Option; bedrocksim.New checks the value and fails
// with a *bedrockguard.OptionError naming the setting (such as
// "bedrocksim.TokensPerDelta") if it is out of range.
package simtest

import (
	"time"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simconfig"
)

type settings = simconfig.Settings[bedrocksim.Quota, bedrocksim.Faults]

// TokensPerDelta sets the number of output tokens per stream delta
// (default simconfig.DefaultTokensPerDelta); it must be positive.
func TokensPerDelta(n int) bedrocksim.Option {
	return func(s *settings) { s.TokensPerDelta = n }
}

// ShortRequestsMessage makes request-rate throttles say "Too many requests,
// please wait before trying again." instead of Bedrock's longer form of the
// same message (bedrockguard sim -short-requests-message).
func ShortRequestsMessage() bedrocksim.Option {
	return func(s *settings) { s.ShortRequestsMessage = true }
}

// MaxBodyBytes sets the largest request body accepted (default
// simconfig.DefaultMaxBodyBytes); larger bodies get a ValidationException.
// It must be positive.
func MaxBodyBytes(n int64) bedrocksim.Option {
	return func(s *settings) { s.MaxBodyBytes = n }
}

// CacheTTL sets how long a prompt-cache prefix stays warm (default
// simconfig.DefaultCacheTTL); it must be positive.
func CacheTTL(d time.Duration) bedrocksim.Option {
	return func(s *settings) { s.CacheTTL = d }
}

// Day sets the period of the tokens-per-day quota (default 1440 windows),
// so that a test or a load test can compress a day into minutes. It must
// not be negative.
func Day(d time.Duration) bedrocksim.Option {
	return func(s *settings) { s.Day = d }
}

// Seed sets the seed (default 0) that drives output lengths, output text,
// fault selection and request IDs. The same seed and the same calls give
// the same answers.
func Seed(seed int64) bedrocksim.Option {
	return func(s *settings) { s.Seed = seed }
}

// InputTokenScale makes the simulator count every input f times its own
// rule (rounded up), as a tokenizer the guard's estimator does not know
// would; zero means 1. It must be positive and finite.
func InputTokenScale(f float64) bedrocksim.Option {
	return func(s *settings) { s.InputTokenScale = f }
}
