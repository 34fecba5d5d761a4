package bedrocksim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/bedrockguard/bedrockguard"

	"github.com/bedrockguard/bedrockguard/internal/simconfig"
)

// settings is what a Server is built from.
type settings = simconfig.Settings[Quota, Faults]

// Option configures a [Server]; pass options to [New]. Options are applied
// in order and a later option of the same kind replaces an earlier one
// ([WithQuota]: for the same key). Without options a Server has one-minute
// windows, no quotas, no latency, no faults and seed 0. An invalid value
// makes New fail with an [*OptionError].
type Option func(*settings)

// WithWindow sets the quota period (default one minute): a [Quota]'s
// RequestsPerWindow and TokensPerWindow are per d, and a simulated day is
// 1440 windows. Tests use seconds. d must be positive.
func WithWindow(d time.Duration) Option {
	return func(s *settings) {
		if d <= 0 {
			s.Fail(optionError("WithWindow", fmt.Errorf("%v is not positive", d)))
			return
		}
		s.Window = d
	}
}

// WithDefaultQuota sets the quota of keys without their own [WithQuota]
// (default: unlimited).
func WithDefaultQuota(q Quota) Option {
	return func(s *settings) {
		if err := q.check("WithDefaultQuota"); err != nil {
			s.Fail(err)
			return
		}
		s.DefaultQuota = q
	}
}

// WithQuota sets the quota of one key: a model ID or an inference-profile
// ID, exactly as the client sends it ("us.anthropic..." is its own key).
func WithQuota(modelID string, q Quota) Option {
	name := "WithQuota(" + strconv.Quote(modelID) + ")"
	return func(s *settings) {
		if modelID == "" {
			s.Fail(optionError(name, errors.New("empty model ID")))
			return
		}
		if err := q.check(name); err != nil {
			s.Fail(err)
			return
		}
		s.Quotas[modelID] = q
	}
}

// WithLatency sets the simulated model latency (default none): base before
// the first output token, then perOutputToken for each token. Streams pace
// their deltas with it, and it is what the responses report as latencyMs
// and invocation latency, so reported latencies are deterministic. Neither
// may be negative. A stream's first frame waits at least 5 ms whatever base
// is (see the package doc).
func WithLatency(base, perOutputToken time.Duration) Option {
	return func(s *settings) {
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"base", base}, {"perOutputToken", perOutputToken}} {
			if d.v < 0 {
				s.Fail(optionError("WithLatency", fmt.Errorf("%s %v is negative", d.name, d.v)))
				return
			}
		}
		s.LatencyBase, s.LatencyPerOutputToken = base, perOutputToken
	}
}

// WithOutputFraction makes every output ceil(f x max tokens) long, for f in
// (0, 1]. With f = 0, the default, the output length is drawn
// deterministically from the seed and the prompt, uniform in
// [1, min(max tokens, 1024)].
func WithOutputFraction(f float64) Option {
	return func(s *settings) {
		if !inUnit(f) {
			s.Fail(optionError("WithOutputFraction", fmt.Errorf("%v is outside [0, 1]", f)))
			return
		}
		s.OutputFraction = f
	}
}

// WithFaults sets the faults in force from the start (default none); see
// [Faults] and [Server.SetFaults].
func WithFaults(f Faults) Option {
	return func(s *settings) {
		if err := f.check("WithFaults."); err != nil {
			s.Fail(err)
			return
		}
		s.Faults = f
	}
}

// optionError reports an invalid [Option] given to [New], or an invalid
// field of [Faults] given to [Server.SetFaults], as a
// *bedrockguard.OptionError whose Option is "bedrocksim." followed by the
// option's name and, for a struct argument, the field, such as
// "bedrocksim.WithWindow",
// `bedrocksim.WithQuota("amazon.nova-lite-v1:0").TokensPerWindow`,
// "bedrocksim.WithFaults.Reset.Rate" or, from SetFaults,
// "bedrocksim.Faults.ServiceUnavailable.Rate".
func optionError(option string, err error) error {
	return &bedrockguard.OptionError{Option: "bedrocksim." + option, Err: err}
}

// defaultOutputCap bounds the default output-length draw (see
// [WithOutputFraction]).
const defaultOutputCap = 1024

// newSettings applies opts to the defaults and checks the result. The
// knobs without a public option (internal/simtest) are checked here.
func newSettings(opts []Option) (settings, error) {
	s := simconfig.Defaults[Quota, Faults]()
	for _, o := range opts {
		if o == nil {
			s.Fail(optionError("Option", errors.New("nil option")))
			continue
		}
		o(&s)
	}
	if s.Err != nil {
		return s, s.Err
	}
	bad := func(option, format string, args ...any) error {
		return optionError(option, fmt.Errorf(format, args...))
	}
	switch {
	case s.Window <= 0:
		return s, bad("WithWindow", "%v is not positive", s.Window)
	case s.TokensPerDelta <= 0:
		return s, bad("TokensPerDelta", "%d is not positive", s.TokensPerDelta)
	case s.MaxBodyBytes <= 0:
		return s, bad("MaxBodyBytes", "%d is not positive", s.MaxBodyBytes)
	case s.Day < 0:
		return s, bad("Day", "%v is negative", s.Day)
	case s.CacheTTL <= 0:
		return s, bad("CacheTTL", "%v is not positive", s.CacheTTL)
	case s.InputTokenScale < 0 || math.IsNaN(s.InputTokenScale) || math.IsInf(s.InputTokenScale, 0):
		return s, bad("InputTokenScale", "%v is not a positive number", s.InputTokenScale)
	}
	return s, nil
}

// check returns an *OptionError naming option if q has a negative limit.
func (q Quota) check(option string) error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"RequestsPerWindow", q.RequestsPerWindow}, {"TokensPerWindow", q.TokensPerWindow}, {"TokensPerDay", q.TokensPerDay}} {
		if f.v < 0 {
			return optionError(option+"."+f.name, fmt.Errorf("%d is negative", f.v))
		}
	}
	return nil
}

// check returns an *OptionError, its name prefixed with prefix, for the
// first field of f that is out of range.
func (f Faults) check(prefix string) error {
	bad := func(option, format string, args ...any) error {
		return optionError(prefix+option, fmt.Errorf(format, args...))
	}
	for _, t := range []struct {
		name string
		t    Trigger
	}{{"ServiceUnavailable", f.ServiceUnavailable}, {"ModelNotReady", f.ModelNotReady},
		{"StreamThrottle", f.StreamThrottle}, {"Reset", f.Reset}, {"SlowHeaders", f.SlowHeaders}} {
		if t.t.Next < 0 {
			return bad(t.name+".Next", "%d is negative", t.t.Next)
		}
		if !inUnit(t.t.Rate) {
			return bad(t.name+".Rate", "%v is outside [0, 1]", t.t.Rate)
		}
	}
	switch {
	case f.StreamThrottleAfter < 0:
		return bad("StreamThrottleAfter", "%d is negative", f.StreamThrottleAfter)
	case f.SlowHeadersDelay < 0:
		return bad("SlowHeadersDelay", "%v is negative", f.SlowHeadersDelay)
	case !inUnit(f.QuotaDropFraction):
		return bad("QuotaDropFraction", "%v is outside [0, 1]", f.QuotaDropFraction)
	}
	return nil
}

// inUnit reports whether v is in [0, 1] (and so not NaN).
func inUnit(v float64) bool { return v >= 0 && v <= 1 && !math.IsNaN(v) }

// latency is the simulated latency of an output of n tokens.
func (s *Server) latency(n int) time.Duration {
	return s.opts.LatencyBase + time.Duration(n)*s.opts.LatencyPerOutputToken
}

// outputTokens decides the output length of a call with budget maxTokens;
// h is a hash of the seed and the prompt.
func (s *Server) outputTokens(maxTokens int, h uint64) int {
	var n int
	if f := s.opts.OutputFraction; f > 0 {
		n = int(float64(maxTokens)*f + 0.999999)
	} else {
		n = 1 + int(h%uint64(min(maxTokens, defaultOutputCap)))
	}
	return max(0, min(n, maxTokens))
}
