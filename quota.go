package bedrockguard

import (
	"fmt"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// Quota is a model's Bedrock quota in one region. Zero fields mean "not
// limited on that axis" (the guard still adapts to throttles on it).
type Quota struct {
	// RequestsPerMinute is the requests allowed per Window. Bedrock no
	// longer enforces RPM on bedrock-runtime for most models; it remains a
	// safety knob.
	RequestsPerMinute int64
	// TokensPerMinute is the tokens allowed per Window (input + output x
	// burndown, with max_tokens reserved up front), the main limit.
	TokensPerMinute int64
	// TokensPerDay is the daily token quota (1440 windows). It is validated
	// but not paced against: a day is too long a horizon to pace. Bedrock
	// fails calls past it with a tokens-per-day throttle, which the guard
	// classifies, reports (deploy/'s BedrockTokensPerDayThrottled alert pages
	// on it) and does not retry.
	TokensPerDay int64
	// Window is the quota period; zero means one minute. Tests and the
	// simulator use seconds.
	Window time.Duration
}

func (q Quota) validate(what string) error {
	switch {
	case q.RequestsPerMinute < 0, q.TokensPerMinute < 0, q.TokensPerDay < 0:
		return &OptionError{Option: what, Reason: fmt.Sprintf("negative quota %+v", q)}
	case q.Window != 0 && q.Window < time.Second:
		return &OptionError{Option: what, Reason: fmt.Sprintf("window %v is under one second", q.Window)}
	}
	return nil
}

func (q Quota) limits() pacing.Limits {
	return pacing.Limits{
		RequestsPerWindow: float64(q.RequestsPerMinute),
		TokensPerWindow:   float64(q.TokensPerMinute),
		Window:            q.Window,
	}
}

// OptionError reports an invalid option given to [New], [Install] or
// [LoadOption]. Use errors.As with a *OptionError.
type OptionError struct {
	Option string
	Reason string
}

func (e *OptionError) Error() string {
	return "bedrockguard: invalid option " + e.Option + ": " + e.Reason
}
