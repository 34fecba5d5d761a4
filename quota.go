package bedrockguard

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// Quota is a model's Bedrock quota in one region: how many requests and
// tokens it may use per Window. Bedrock's quotas are per minute, so Window
// defaults to one minute and TokensPerWindow is then the account's
// tokens-per-minute (TPM) quota. Zero fields mean "not known on that axis":
// the guard still learns that limit from throttles.
//
// A Quota{TokensPerWindow: 400_000} is the Service Quotas value "On-demand
// model inference tokens per minute for <model>" of 400,000.
type Quota struct {
	// RequestsPerWindow is the requests allowed per Window (RPM when the
	// window is a minute).
	RequestsPerWindow int64
	// TokensPerWindow is the tokens allowed per Window (TPM when the window
	// is a minute): input tokens plus output tokens times the model's
	// output burndown, with max_tokens reserved when a call is admitted.
	TokensPerWindow int64
	// TokensPerDay is the daily token quota ("Model invocation max tokens
	// per day"). The guard counts every call against it in the pacing store
	// (so a shared store counts the fleet's): a bucket of TokensPerDay that
	// refills continuously over Day, charged with each reservation and
	// settled to reported usage. A call whose reservation the day's
	// remainder cannot hold fails at once with a [*BudgetError] (Scope
	// "day"), nothing sent. [Guard.State] reports the remainder and when it
	// runs out at the current rate.
	TokensPerDay int64
	// Window is the quota period; zero means one minute. Tests and the
	// simulator use a few seconds.
	Window time.Duration
	// Day is the period of TokensPerDay; zero means 24 hours. Bedrock does
	// not document whether its day is rolling or a calendar day; the guard
	// treats it as rolling, a bucket that refills continuously like the
	// per-minute ones (docs/bedrock.md, "Tokens per day"). Tests and the
	// simulator use a shorter day.
	Day time.Duration
}

// maxQuota bounds every quota field: far above any real quota, small enough
// that the pacing arithmetic (float64 token counts) stays exact.
const maxQuota = 1 << 50

func (q Quota) validate(option string) error {
	bad := func(format string, args ...any) error {
		return &OptionError{Option: option, Err: fmt.Errorf(format, args...)}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"RequestsPerWindow", q.RequestsPerWindow}, {"TokensPerWindow", q.TokensPerWindow}, {"TokensPerDay", q.TokensPerDay}} {
		if f.v < 0 || f.v > maxQuota {
			return bad("%s %d is outside [0, 2^50]", f.name, f.v)
		}
	}
	if q.Window != 0 && q.Window < time.Second {
		return bad("Window %v is under one second", q.Window)
	}
	if q.Window > 24*time.Hour {
		return bad("Window %v is over a day", q.Window)
	}
	if q.Day != 0 && (q.Day < time.Second || q.Day > 7*24*time.Hour) {
		return bad("Day %v is outside [1s, 7 days]", q.Day)
	}
	return nil
}

func (q Quota) limits() limiter.Limits {
	return limiter.Limits{
		RequestsPerWindow: float64(q.RequestsPerWindow),
		TokensPerWindow:   float64(q.TokensPerWindow),
		Window:            q.Window,
		TokensPerDay:      float64(q.TokensPerDay),
		Day:               q.Day,
	}
}

// OptionError reports an invalid option given to [New], [Install] or
// [LoadOption]: the option's name and the cause, which it unwraps to. Use
// errors.As with a *OptionError.
type OptionError struct {
	// Option names the option, such as "WithQuota(anthropic.claude-3-haiku)".
	Option string
	// Err is what is wrong with it.
	Err error
}

// Error returns "bedrockguard: invalid option <Option>: <Err>".
func (e *OptionError) Error() string {
	return "bedrockguard: invalid option " + e.Option + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OptionError) Unwrap() error { return e.Err }

// optionErr returns an *OptionError for option with a plain message.
func optionErr(option, msg string) error {
	return &OptionError{Option: option, Err: errors.New(msg)}
}

// finite reports whether v is a finite number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
