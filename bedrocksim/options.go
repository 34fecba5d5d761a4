package bedrocksim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Options configures a [Server]. The zero value is usable: one-minute
// windows, no quotas, no latency, no faults, seed 0. [New] checks the
// fields and returns an [*OptionError] for the first invalid one.
type Options struct {
	// Window is the quota period: Quota.RequestsPerWindow and
	// Quota.TokensPerWindow are per Window, and a day is 1440 Windows.
	// Default time.Minute; tests use seconds.
	Window time.Duration
	// DefaultQuota applies to keys without an entry in Quotas.
	DefaultQuota Quota
	// Quotas by key: a model ID or an inference-profile ID, exactly as the
	// client sends it ("us.anthropic..." is its own key).
	Quotas map[string]Quota
	// Seed drives output lengths, output text, fault selection and request
	// IDs. The same seed and the same calls give the same answers.
	Seed int64
	// Now is the accounting clock (quotas, fault windows, timeline).
	// Default time.Now.
	Now func() time.Time
	// Latency is the simulated model latency. The zero value is off.
	Latency Latency
	// OutputFraction, if in (0, 1], makes every output ceil(OutputFraction
	// x max tokens) long. If zero, the output length is drawn
	// deterministically from Seed and the prompt, uniform in
	// [1, min(max tokens, 1024)].
	OutputFraction float64
	// TokensPerDelta is the number of output tokens per stream delta.
	// Default 4.
	TokensPerDelta int
	// ShortRequestsMessage makes request-rate throttles say "Too many
	// requests, please wait before trying again." instead of Bedrock's
	// longer form of the same message.
	ShortRequestsMessage bool
	// MaxBodyBytes is the largest request body accepted; larger bodies get a
	// ValidationException. Default 20 MiB.
	MaxBodyBytes int64
	// CacheTTL is how long a prompt-cache prefix stays warm on the
	// accounting clock. Default 5 minutes.
	CacheTTL time.Duration
	// Faults are the faults in force from the start (see [Server.SetFaults]).
	Faults Faults
}

// Latency is the simulated model latency: Base before the first output
// token, then PerOutputToken for each token. Streams pace their deltas with
// it. It is also what the responses report as latencyMs / invocation
// latency, so reported latencies are deterministic.
type Latency struct {
	Base           time.Duration
	PerOutputToken time.Duration
}

// total is the latency of an output of n tokens.
func (l Latency) total(n int) time.Duration { return l.Base + time.Duration(n)*l.PerOutputToken }

// OptionError reports an invalid field of [Options] given to [New], or of
// [Faults] given to [Server.SetFaults]: the field's name and the cause,
// which it unwraps to. Use errors.As with a *OptionError.
type OptionError struct {
	// Option names the field, such as "Window",
	// "Quotas[\"amazon.nova-lite-v1:0\"].TokensPerWindow" or
	// "Faults.ServiceUnavailable.Rate".
	Option string
	// Err is what is wrong with it.
	Err error
}

// Error returns "bedrocksim: invalid option <Option>: <Err>".
func (e *OptionError) Error() string {
	return "bedrocksim: invalid option " + e.Option + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OptionError) Unwrap() error { return e.Err }

// Defaults of the zero fields of [Options].
const (
	defaultWindow         = time.Minute
	defaultTokensPerDelta = 4
	defaultMaxBodyBytes   = 20 << 20
	defaultCacheTTL       = 5 * time.Minute
)

// defaultOutputCap bounds the default output-length draw (see
// [Options.OutputFraction]).
const defaultOutputCap = 1024

// withDefaults checks o and returns it with its zero fields set to their
// defaults and its Quotas map copied.
func (o Options) withDefaults() (Options, error) {
	bad := func(option, format string, args ...any) error {
		return &OptionError{Option: option, Err: fmt.Errorf(format, args...)}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Window", o.Window}, {"CacheTTL", o.CacheTTL}, {"Latency.Base", o.Latency.Base}, {"Latency.PerOutputToken", o.Latency.PerOutputToken}} {
		if d.v < 0 {
			return o, bad(d.name, "%v is negative", d.v)
		}
	}
	if o.TokensPerDelta < 0 {
		return o, bad("TokensPerDelta", "%d is negative", o.TokensPerDelta)
	}
	if o.MaxBodyBytes < 0 {
		return o, bad("MaxBodyBytes", "%d is negative", o.MaxBodyBytes)
	}
	if !inUnit(o.OutputFraction) {
		return o, bad("OutputFraction", "%v is outside [0, 1]", o.OutputFraction)
	}
	if err := o.DefaultQuota.check("DefaultQuota"); err != nil {
		return o, err
	}
	for _, k := range slices.Sorted(maps.Keys(o.Quotas)) {
		if err := o.Quotas[k].check(fmt.Sprintf("Quotas[%q]", k)); err != nil {
			return o, err
		}
	}
	if err := o.Faults.check("Faults."); err != nil {
		return o, err
	}
	if o.Window == 0 {
		o.Window = defaultWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokensPerDelta == 0 {
		o.TokensPerDelta = defaultTokensPerDelta
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = defaultMaxBodyBytes
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = defaultCacheTTL
	}
	o.Quotas = maps.Clone(o.Quotas)
	return o, nil
}

// check returns an *OptionError naming option if q has a negative limit.
func (q Quota) check(option string) error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"RequestsPerWindow", q.RequestsPerWindow}, {"TokensPerWindow", q.TokensPerWindow}, {"TokensPerDay", q.TokensPerDay}} {
		if f.v < 0 {
			return &OptionError{Option: option + "." + f.name, Err: fmt.Errorf("%d is negative", f.v)}
		}
	}
	return nil
}

// check returns an *OptionError, its name prefixed with prefix, for the
// first field of f that is out of range.
func (f Faults) check(prefix string) error {
	bad := func(option, format string, args ...any) error {
		return &OptionError{Option: prefix + option, Err: fmt.Errorf(format, args...)}
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

// outputTokens decides the output length of a call with budget maxTokens;
// h is a hash of the seed and the prompt.
func (o *Options) outputTokens(maxTokens int, h uint64) int {
	var n int
	if o.OutputFraction > 0 {
		n = int(float64(maxTokens)*o.OutputFraction + 0.999999)
	} else {
		n = 1 + int(h%uint64(min(maxTokens, defaultOutputCap)))
	}
	return max(0, min(n, maxTokens))
}
