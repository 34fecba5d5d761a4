package retry

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bedrockguard/bedrockguard/classify"
)

// Defaults used for zero fields of [Options].
const (
	DefaultMaxAttempts       = 5
	DefaultThrottleBase      = 1 * time.Second
	DefaultServerErrorBase   = 250 * time.Millisecond
	DefaultModelNotReadyBase = 2 * time.Second
	DefaultMaxBackoff        = 20 * time.Second
	DefaultBudgetCapacity    = 100.0
	DefaultRetryCost         = 1.0
	DefaultSuccessCredit     = 0.1
)

// Options configures a [Policy]. The zero value means "all defaults"; every
// zero field takes the default named in its comment.
type Options struct {
	// MaxAttempts is the most attempts per operation, the first one
	// included. Default [DefaultMaxAttempts] (5). 1 disables retries.
	MaxAttempts int

	// ThrottleBase is the backoff base for throttles (requests, tokens,
	// unknown): the first retry waits up to 1 base, the second up to 2, the
	// third up to 4. Default [DefaultThrottleBase] (1 s).
	ThrottleBase time.Duration
	// ServerErrorBase is the backoff base for unavailable (5xx, connection
	// failures) and timeout errors. Default [DefaultServerErrorBase] (250 ms).
	ServerErrorBase time.Duration
	// ModelNotReadyBase is the backoff base for ModelNotReadyException,
	// which clears only once the model is loaded. Default
	// [DefaultModelNotReadyBase] (2 s).
	ModelNotReadyBase time.Duration
	// MaxBackoff caps every delay. Default [DefaultMaxBackoff] (20 s).
	MaxBackoff time.Duration

	// NoTimeoutRetries makes timeouts (ModelTimeoutException, 408,
	// transport timeouts) fail at once instead of being retried.
	NoTimeoutRetries bool

	// BudgetCapacity is the size of the retry budget shared by every client
	// wrapped by this Policy; the bucket starts full. Default
	// [DefaultBudgetCapacity] (100 retries).
	BudgetCapacity float64
	// RetryCost is what one retry takes from the budget. Default
	// [DefaultRetryCost] (1).
	RetryCost float64
	// SuccessCredit is what one successful attempt gives back to the
	// budget, up to its capacity. Default [DefaultSuccessCredit] (0.1): in
	// the long run at most one retry per ten successes.
	SuccessCredit float64
	// NoBudget disables the retry budget.
	NoBudget bool
	// PacedThrottles tells the policy that every attempt waits for pacing
	// admission (the guard's limiter, whose rate a throttle lowers): a
	// throttle's retry then waits in the queue instead of adding load, so it
	// is not charged to the budget and never refused by it. The budget
	// still bounds retries of everything else (5xx, timeouts, resets).
	PacedThrottles bool

	// Rand returns a uniform number in [0, 1) for the jitter. It must be
	// safe for concurrent use. Default math/rand/v2.Float64.
	Rand func() float64
	// Now is the clock used for deadline checks and for the rate limit of
	// the give-up log. Default time.Now.
	Now func() time.Time
	// Logger receives one Warn record per operation the policy gives up on,
	// at most one per 10 s for each region, model, operation, reason and
	// error type; the next one counts the records left out ("suppressed").
	// Default slog.Default() at the time of logging.
	Logger *slog.Logger
	// Classifier decides the class of each attempt's error. Default
	// classify.Classify (the default chain); use classify.With to put your
	// own classifiers in front.
	Classifier classify.Classifier
	// Observer is told about retries, budget exhaustion and give-ups, for
	// telemetry. Default a no-op.
	Observer Observer
}

// OptionsError reports an invalid field of [Options]. New returns it as a
// *OptionsError; use errors.As with that target.
type OptionsError struct {
	// Field is the name of the offending Options field.
	Field string
	// Value is the rejected value.
	Value any
	// Reason says what is wrong with it.
	Reason string
}

// Error returns a message naming the field, the value and the reason.
func (e *OptionsError) Error() string {
	return fmt.Sprintf("retrypolicy: invalid Options.%s %v: %s", e.Field, e.Value, e.Reason)
}

// withDefaults validates o and returns it with defaults filled in.
func (o Options) withDefaults() (Options, error) {
	if o.MaxAttempts < 0 {
		return o, &OptionsError{"MaxAttempts", o.MaxAttempts, "must not be negative"}
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ThrottleBase", &o.ThrottleBase, DefaultThrottleBase},
		{"ServerErrorBase", &o.ServerErrorBase, DefaultServerErrorBase},
		{"ModelNotReadyBase", &o.ModelNotReadyBase, DefaultModelNotReadyBase},
		{"MaxBackoff", &o.MaxBackoff, DefaultMaxBackoff},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return o, &OptionsError{d.name, *d.v, "must not be negative"}
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	floats := []struct {
		name string
		v    *float64
		def  float64
	}{
		{"BudgetCapacity", &o.BudgetCapacity, DefaultBudgetCapacity},
		{"RetryCost", &o.RetryCost, DefaultRetryCost},
		{"SuccessCredit", &o.SuccessCredit, DefaultSuccessCredit},
	}
	for _, f := range floats {
		if *f.v < 0 || math.IsNaN(*f.v) || math.IsInf(*f.v, 0) {
			return o, &OptionsError{f.name, *f.v, "must be a finite number, not negative"}
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if o.RetryCost > o.BudgetCapacity && !o.NoBudget {
		return o, &OptionsError{"RetryCost", o.RetryCost, fmt.Sprintf("exceeds BudgetCapacity %v, so no retry could ever be made", o.BudgetCapacity)}
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Classifier == nil {
		o.Classifier = classify.ClassifierFunc(classify.Classify)
	}
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	return o, nil
}
