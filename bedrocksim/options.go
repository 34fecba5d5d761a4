package bedrocksim

import (
	"errors"
	"fmt"
	"time"
)

// Options configures a [Server]. The zero value is usable: one-minute
// windows, no quotas, no latency, no faults, seed 0.
type Options struct {
	// Window is the quota period: "per minute" quotas are per Window and a
	// day is 1440 Windows. Default time.Minute; tests use seconds.
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
	// Output, if set, decides the number of output tokens of each call. The
	// result is clamped to [0, OutputRequest.MaxTokens].
	Output func(OutputRequest) int
	// OutputFraction, if in (0, 1] and Output is nil, makes every output
	// ceil(OutputFraction x max tokens) long. Otherwise the output length
	// is drawn deterministically from Seed and the prompt, uniform in
	// [1, min(max tokens, DefaultOutputCap)].
	OutputFraction float64
	// TokensPerDelta is the number of output tokens per stream delta.
	// Default 4.
	TokensPerDelta int
	// ShortRequestsMessage makes request-rate throttles use
	// [MsgTooManyRequestsShort] instead of [MsgTooManyRequests].
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

// OutputRequest is what [Options.Output] decides from.
type OutputRequest struct {
	ModelID     string // as sent by the client
	Operation   string // "Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"
	InputTokens int    // all input tokens, cached ones included
	MaxTokens   int    // the request's budget, or the model's MaxOutput when unset
	Hash        uint64 // a deterministic hash of the seed and the prompt
}

// DefaultOutputCap bounds the default output-length draw (see
// [Options.OutputFraction]).
const DefaultOutputCap = 1024

func (o *Options) setDefaults() error {
	if o.Window == 0 {
		o.Window = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokensPerDelta == 0 {
		o.TokensPerDelta = 4
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 20 << 20
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 5 * time.Minute
	}
	var errs []error
	if o.Window < 0 || o.TokensPerDelta < 0 || o.MaxBodyBytes < 0 || o.CacheTTL < 0 {
		errs = append(errs, errors.New("Window, TokensPerDelta, MaxBodyBytes and CacheTTL must not be negative"))
	}
	if o.OutputFraction < 0 || o.OutputFraction > 1 {
		errs = append(errs, fmt.Errorf("OutputFraction %v is outside [0, 1]", o.OutputFraction))
	}
	if o.Latency.Base < 0 || o.Latency.PerOutputToken < 0 {
		errs = append(errs, errors.New("latencies must not be negative"))
	}
	check := func(name string, q Quota) {
		if q.RequestsPerMinute < 0 || q.TokensPerMinute < 0 || q.TokensPerDay < 0 {
			errs = append(errs, fmt.Errorf("quota %s has a negative limit", name))
		}
	}
	check("DefaultQuota", o.DefaultQuota)
	for k, q := range o.Quotas {
		check(fmt.Sprintf("%q", k), q)
	}
	return errors.Join(errs...)
}

// outputTokens decides the output length of a call.
func (o *Options) outputTokens(req OutputRequest) int {
	var n int
	switch {
	case o.Output != nil:
		n = o.Output(req)
	case o.OutputFraction > 0:
		n = int(float64(req.MaxTokens)*o.OutputFraction + 0.999999)
	default:
		n = 1 + int(req.Hash%uint64(min(req.MaxTokens, DefaultOutputCap)))
	}
	return max(0, min(n, req.MaxTokens))
}
