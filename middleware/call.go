package middleware

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/smithy-go/middleware"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/tokens"
)

// Call is the guard's view of one operation. Its fields are set before
// pacing and read-only afterwards, except through its methods.
type Call struct {
	// Operation is the SDK operation name, e.g. "Converse".
	Operation string
	// ModelID is the model ID, inference profile ID or ARN of the input.
	ModelID string
	// Region is the client's region.
	Region string
	// Key is the pacing key: region and model.
	Key string
	// Stream reports a streaming operation.
	Stream bool
	// Priority is the caller's priority (see WithPriority in the root package).
	Priority pacing.Priority
	// Estimate is the token estimate of the request.
	Estimate tokens.Estimate
	// Limits are the configured quotas of Key.
	Limits pacing.Limits
	// Started is when the operation entered the guard.
	Started time.Time

	cfg      pacing.KeyConfig
	limiter  *pacing.Limiter
	attempts atomic.Int32
	// lastClass is the class of the last failed attempt; attempts of one
	// call run one after another.
	lastClass classify.Class
	tapped    atomic.Bool // a stream tap will end the operation
	endOnce   sync.Once

	// firstChunk is the time from Started to the first content event of a
	// stream, plus one nanosecond; 0 until then (see FirstChunk).
	firstChunk atomic.Int64
}

// Attempts returns the number of attempts started so far.
func (c *Call) Attempts() int { return int(c.attempts.Load()) }

// PacingState returns the current buckets and adaptive rates of the call's
// key (rates are per Limits.Window, one minute when zero). It asks the
// limiter's Store, so it may cost a round trip with a shared store.
func (c *Call) PacingState(ctx context.Context) pacing.KeyState {
	if c.limiter == nil {
		return pacing.KeyState{}
	}
	return c.limiter.State(ctx, c.Key, c.cfg)
}

// StoreErrors returns how many of the limiter's Store calls failed and
// were served by its local fallback (see pacing.Limiter.StoreErrors), and
// the limiter, to tell guards apart; (0, nil) when there is none.
func (c *Call) StoreErrors() (int64, *pacing.Limiter) {
	if c.limiter == nil {
		return 0, nil
	}
	return c.limiter.StoreErrors(), c.limiter
}

type callKey struct{}

// CallFrom returns the Call of the operation running in ctx, if any.
func CallFrom(ctx context.Context) (*Call, bool) {
	c, ok := middleware.GetStackValue(ctx, callKey{}).(*Call)
	return c, ok
}

// attemptKey holds the per-attempt handoff between pacing (Finalize) and the
// stream tap (Deserialize).
type attemptKey struct{}

type attempt struct {
	ticket  *pacing.Ticket
	number  int
	tapped  bool // the stream tap owns the ticket now
	settled bool
}

func attemptFrom(ctx context.Context) *attempt {
	a, _ := middleware.GetStackValue(ctx, attemptKey{}).(*attempt)
	return a
}
