package retry

import (
	"context"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Wrap returns an aws.RetryerV2 that makes the policy's decisions on top of
// inner, the retryer the client already has. The SDK keeps doing what only
// it can (request cloning, body rewind, re-signing, clock-skew correction,
// the X-Amz-Retry-After clamp); the wrapper decides the rest:
//
//   - IsErrorRetryable: the policy's classification, not the SDK's lists.
//   - MaxAttempts: the policy's limit.
//   - GetRetryToken: charges the policy's shared budget instead of inner's
//     per-client retry quota, draws the backoff, and refuses a retry whose
//     backoff would outlive the context deadline.
//   - RetryDelay: the backoff drawn by GetRetryToken.
//   - GetAttemptToken: inner's (so adaptive mode still paces attempts), and
//     credits the budget for each successful attempt.
//
// Deadline checks and the per-attempt history need the middleware from
// [Policy.AddTo] on the same stack; [Policy.ClientOption] installs both.
//
// Wrapping a retryer that this policy already wraps returns it unchanged; a
// retryer wrapped by another Policy is re-wrapped around its inner retryer,
// so the last policy wins and nothing is counted twice. A nil inner acts as
// aws.NopRetryer.
func (p *Policy) Wrap(inner aws.Retryer) aws.RetryerV2 {
	if r, ok := inner.(*retryer); ok {
		if r.p == p {
			return r
		}
		inner = r.inner
	}
	if inner == nil {
		inner = aws.NopRetryer{}
	}
	r := &retryer{p: p, inner: inner}
	r.innerV2, _ = inner.(aws.RetryerV2)
	return r
}

type retryer struct {
	p       *Policy
	inner   aws.Retryer
	innerV2 aws.RetryerV2 // nil when inner is a plain Retryer
}

// nestedKey marks the context passed to the inner retryer's
// GetAttemptToken, so that a policy retryer found deeper in the chain (the
// SDK's own decorators embed and forward) passes through instead of
// counting the attempt twice.
type nestedKey struct{}

func (r *retryer) IsErrorRetryable(err error) bool { return r.p.isErrorRetryable(err) }

func (r *retryer) MaxAttempts() int { return r.p.opts.MaxAttempts }

func (r *retryer) GetInitialToken() func(error) error { return r.inner.GetInitialToken() }

func (r *retryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if ctx.Value(nestedKey{}) != nil {
		return r.innerAttemptToken(ctx)
	}
	if st := stateFrom(ctx); st != nil {
		st.attempts++
	}
	release, err := r.innerAttemptToken(context.WithValue(ctx, nestedKey{}, true))
	if err != nil {
		return nil, err
	}
	b := &r.p.budget
	return func(opErr error) error {
		if opErr == nil {
			b.succeed()
		}
		return release(opErr)
	}, nil
}

func (r *retryer) innerAttemptToken(ctx context.Context) (func(error) error, error) {
	if r.innerV2 != nil {
		return r.innerV2.GetAttemptToken(ctx)
	}
	return r.inner.GetInitialToken(), nil
}

// GetRetryToken decides whether the failed attempt is retried. The SDK calls
// it right before RetryDelay with the same error, and joins an error it
// returns with the attempt's error.
func (r *retryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	p := r.p
	c := p.Classify(opErr)
	st := stateFrom(ctx)
	if st == nil {
		// No per-operation state (Wrap without AddTo): the attempt number
		// is unknown here, so RetryDelay draws the delay.
		if p.charged(c) {
			if ok, left := p.budget.take(); !ok {
				p.opts.Observer.OnBudgetExhausted(ctx, c)
				return nil, &BudgetExhaustedError{Available: left, Cost: p.opts.RetryCost}
			}
		}
		return nopRelease, nil
	}
	attempt := st.attempt()
	delay := p.Delay(attempt, c)
	if deadline, ok := ctx.Deadline(); ok {
		if remaining := deadline.Sub(p.opts.Now()); delay >= remaining {
			st.stop = stopDeadline
			return nil, &BackoffDeadlineError{Attempt: attempt, Delay: delay, Remaining: max(remaining, 0)}
		}
	}
	if !p.charged(c) {
		// Paced: the retry waits for admission.
	} else if ok, left := p.budget.take(); !ok {
		st.stop = stopBudget
		p.opts.Observer.OnBudgetExhausted(ctx, c)
		return nil, &BudgetExhaustedError{Available: left, Cost: p.opts.RetryCost}
	}
	if handOff(opErr) {
		p.pending.Store(opErr, delay)
		st.pending = append(st.pending, opErr)
	}
	st.history = append(st.history, Attempt{Number: attempt, Class: c, Delay: delay})
	p.opts.Observer.OnRetry(ctx, RetryEvent{Attempt: attempt, Class: c, Delay: delay})
	return nopRelease, nil
}

// RetryDelay returns the delay GetRetryToken drew for err, or draws one when
// there is none (Wrap used without AddTo).
func (r *retryer) RetryDelay(attempt int, opErr error) (time.Duration, error) {
	if handOff(opErr) {
		if d, ok := r.p.pending.LoadAndDelete(opErr); ok {
			return d.(time.Duration), nil
		}
	}
	return r.p.Delay(attempt, r.p.Classify(opErr)), nil
}

// handOff reports whether err can key the hand-off map: only pointers are
// used, since an interface holding a non-comparable value would panic as a
// map key. Every error the SDK's retry loop produces is a pointer.
func handOff(err error) bool {
	return err != nil && reflect.TypeOf(err).Kind() == reflect.Pointer
}

func nopRelease(error) error { return nil }
