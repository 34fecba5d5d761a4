package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/smithy-go/middleware"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/tokens"
	"github.com/bedrockguard/bedrockguard/pacing"
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
	// Stream reports a streaming operation.
	Stream bool
	// Priority is the caller's priority (see WithPriority in the root package).
	Priority limiter.Priority
	// Tenant is the caller's tenant (see WithTenant in the root package),
	// "" when none was set.
	Tenant string
	// Started is when the operation entered the guard.
	Started time.Time
	// GenAIOperation is the OpenTelemetry gen_ai.operation.name of the
	// request: "chat" for Converse and messages-style InvokeModel bodies,
	// "text_completion" for prompt-style ones.
	GenAIOperation string
	// InputTokens is the estimated input tokens of the request.
	InputTokens int
	// MaxTokens is the output reservation: the request's max_tokens, or the
	// model's default maximum when the request sets none.
	MaxTokens int
	// ReservedTokens is what each attempt reserves against the tokens
	// quota: InputTokens + MaxTokens x the model's output burndown (on
	// the route that serves the attempt, with spillover).
	ReservedTokens int64
	// ServedModelID is the model ID the last attempt was sent to: ModelID,
	// or a spillover route's.
	ServedModelID string
	// ServedRegion is the region the last attempt was sent to: Region, or
	// a spillover route's.
	ServedRegion string
	// SpillReason says why the last attempt left ModelID for a spillover
	// route ("deadline", "max_wait", "tokens_per_day", "model_not_ready",
	// "throttled"); "" when it was sent to ModelID.
	SpillReason string

	key    string // the pacing key: region and model
	est    tokens.Estimate
	limits limiter.Limits

	cfg      pacing.KeyConfig
	limiter  *limiter.Limiter
	source   func(region, modelID string) string
	attempts atomic.Int32
	// lastClass is the class of the last failed attempt; attempts of one
	// call run one after another.
	lastClass classify.Class
	tapped    atomic.Bool // a stream tap will end the operation
	endOnce   sync.Once

	// firstChunk is the time from Started to the first content event of a
	// stream, plus one nanosecond; 0 until then (see FirstChunk).
	firstChunk atomic.Int64

	sp *spillState // spillover routes; nil without
}

// Attempts returns the number of attempts of c started so far.
func Attempts(c *Call) int { return int(c.attempts.Load()) }

// PacingState returns the current buckets and adaptive rates of c's key
// (rates per window). It asks the limiter's Store, so it may cost a round
// trip with a shared store.
func PacingState(ctx context.Context, c *Call) pacing.KeyState {
	if c.limiter == nil {
		return pacing.KeyState{}
	}
	key, _, cfg := c.asked()
	return c.limiter.State(ctx, key, cfg)
}

// StoreErrors returns how many of the limiter's Store calls failed and
// were served by its local fallback, and the limiter, to tell guards apart;
// (0, nil) when there is none.
func StoreErrors(c *Call) (int64, *limiter.Limiter) {
	if c.limiter == nil {
		return 0, nil
	}
	return c.limiter.StoreErrors(), c.limiter
}

// QuotaSource returns where the quota of c's model comes from now
// ("configured", "discovered" or "learned"), or "" when the guard does not
// say. A discovered quota can replace a learned one while the key lives.
func QuotaSource(c *Call) string {
	if c.source == nil {
		return ""
	}
	return c.source(c.Region, c.ModelID)
}

// Key returns c's pacing key (region and model ID) and its configured
// limits: those of the model asked for, even when a spillover route served
// the call.
func Key(c *Call) (string, limiter.Limits) {
	key, lim, _ := c.asked()
	return key, lim
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
	ticket *limiter.Ticket
	number int
	tapped bool // the stream tap owns the ticket now
	// sent reports that the request was written to the connection in
	// full: from then on a failure without a refusal counts as charged.
	sent atomic.Bool
}

func attemptFrom(ctx context.Context) *attempt {
	a, _ := middleware.GetStackValue(ctx, attemptKey{}).(*attempt)
	return a
}
