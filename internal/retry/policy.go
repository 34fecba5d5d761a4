package retry

import (
	"errors"
	"sync"
	"time"

	"github.com/bedrockguard/bedrockguard/classify"
)

// Policy holds the retry decisions of one guard: how errors are classified,
// the backoff, the attempt limit, and the retry budget shared by every client
// it wraps. Create it with [New]; one Policy per guard. A Policy is safe for
// concurrent use.
type Policy struct {
	opts    Options
	budget  budget
	pending sync.Map // error -> time.Duration, handed from GetRetryToken to RetryDelay
	logs    logLimiter
}

// New returns a Policy for opts. Zero fields take their defaults; an invalid
// field gives an [*OptionsError].
func New(opts Options) (*Policy, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Policy{opts: o}
	p.budget = budget{
		disabled: o.NoBudget,
		tokens:   o.BudgetCapacity,
		capacity: o.BudgetCapacity,
		cost:     o.RetryCost,
		credit:   o.SuccessCredit,
	}
	return p, nil
}

// MaxAttempts returns the attempt limit per operation.
func (p *Policy) MaxAttempts() int { return p.opts.MaxAttempts }

// Classify classifies err with the policy's classifier.
func (p *Policy) Classify(err error) classify.Class {
	return p.opts.Classifier.Classify(err)
}

// Retryable reports whether the policy retries an error of class c. It is
// c.Retryable, except that timeouts are not retried when
// Options.NoTimeoutRetries is set.
func (p *Policy) Retryable(c classify.Class) bool {
	if c.Kind == classify.Timeout && p.opts.NoTimeoutRetries {
		return false
	}
	return c.Retryable
}

// isErrorRetryable is Retryable for an error, also honouring errors the SDK
// marks retryable itself (clock-skew correction wraps AccessDenied and
// signature errors in an error whose RetryableError method returns true).
func (p *Policy) isErrorRetryable(err error) bool {
	c := p.Classify(err)
	if p.Retryable(c) {
		return true
	}
	if c.Kind != classify.NotRetryable {
		return false
	}
	if v, ok := errors.AsType[interface {
		error
		RetryableError() bool
	}](err); ok {
		return v.RetryableError()
	}
	return false
}

// Base returns the backoff base for an error of class c: ThrottleBase for
// throttles, ModelNotReadyBase for a model that is not ready, and
// ServerErrorBase for everything else.
func (p *Policy) Base(c classify.Class) time.Duration {
	switch {
	case c.Throttle:
		return p.opts.ThrottleBase
	case c.Kind == classify.ModelNotReady:
		return p.opts.ModelNotReadyBase
	}
	return p.opts.ServerErrorBase
}

// Delay draws the backoff after failed attempt number attempt (1-based) with
// error class c: full jitter over min(MaxBackoff, base x 2^(attempt-1)).
func (p *Policy) Delay(attempt int, c classify.Class) time.Duration {
	return FullJitter(attempt-1, p.Base(c), p.opts.MaxBackoff, p.opts.Rand())
}

// FullJitter is the backoff formula: r x min(max, base x 2^retry), where
// retry is the 0-based retry index and r is uniform in [0, 1). It never
// overflows and returns 0 for r <= 0; r is clamped below 1.
func FullJitter(retry int, base, max time.Duration, r float64) time.Duration {
	if retry < 0 {
		retry = 0
	}
	ceiling := min(base, max)
	for i := 0; i < retry && ceiling < max; i++ {
		if ceiling > max/2 {
			ceiling = max
			break
		}
		ceiling *= 2
	}
	if r <= 0 || r != r { // NaN too
		return 0
	}
	d := r * float64(ceiling)
	if r >= 1 || d >= float64(ceiling) {
		return ceiling
	}
	return time.Duration(d)
}

// charged reports whether a retry of class c is paid from the budget: all
// are, except throttles when attempts are paced (Options.PacedThrottles).
func (p *Policy) charged(c classify.Class) bool {
	return !(p.opts.PacedThrottles && c.Throttle)
}

// BudgetAvailable returns what is left in the shared retry budget and its
// capacity (both 0 when the budget is disabled).
func (p *Policy) BudgetAvailable() (available, capacity float64) {
	return p.budget.available()
}

// budget is the shared retry token bucket: a retry takes cost, a successful
// attempt gives back credit, never above capacity.
type budget struct {
	mu       sync.Mutex
	disabled bool
	tokens   float64
	capacity float64
	cost     float64
	credit   float64
}

// take pays for one retry; it reports false and what was left when the
// bucket cannot pay.
func (b *budget) take() (ok bool, left float64) {
	if b.disabled {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < b.cost {
		return false, b.tokens
	}
	b.tokens -= b.cost
	return true, b.tokens
}

// succeed credits one successful attempt.
func (b *budget) succeed() {
	if b.disabled {
		return
	}
	b.mu.Lock()
	b.tokens = min(b.capacity, b.tokens+b.credit)
	b.mu.Unlock()
}

func (b *budget) available() (float64, float64) {
	if b.disabled {
		return 0, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens, b.capacity
}
