package retry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"

	"github.com/bedrockguard/bedrockguard/classify"
)

// MiddlewareID is the ID of the Initialize middleware added by
// [Policy.AddTo].
const MiddlewareID = "bedrockguard.RetryPolicy"

type stop uint8

const (
	stopNone stop = iota
	stopBudget
	stopDeadline
)

// opState is the per-operation record, kept as a smithy stack value (cleared
// per operation, so it never leaks into nested SDK calls). The SDK runs the
// attempts of one operation one after another, so it needs no lock.
type opState struct {
	attempts int       // attempts started (counted in GetAttemptToken)
	history  []Attempt // one entry per retried attempt
	pending  []error   // hand-off keys to delete when the operation ends
	stop     stop
}

type stateKey struct{}

func stateFrom(ctx context.Context) *opState {
	st, _ := middleware.GetStackValue(ctx, stateKey{}).(*opState)
	return st
}

// attempt returns the number of the current attempt.
func (st *opState) attempt() int {
	return max(st.attempts, len(st.history)+1)
}

// AddTo adds the policy's Initialize middleware (ID [MiddlewareID]) to the
// front of stack. It keeps the per-operation attempt history the wrapped
// retryer records, and turns a failure the policy gave up on into a
// [*GiveUpError], logged once. Adding it to a stack that already has it does
// nothing. Its signature fits aws.Config.APIOptions and
// bedrockruntime.Options.APIOptions.
func (p *Policy) AddTo(stack *middleware.Stack) error {
	if _, ok := stack.Initialize.Get(MiddlewareID); ok {
		return nil
	}
	return stack.Initialize.Add(&initMiddleware{p: p}, middleware.Before)
}

// ClientOption returns a bedrockruntime option that wires the policy into a
// client: it wraps o.Retryer with [Policy.Wrap] and appends [Policy.AddTo]
// to o.APIOptions. Applying it twice changes nothing more.
//
//	client := bedrockruntime.NewFromConfig(cfg, policy.ClientOption())
//
// A non-zero Options.RetryMaxAttempts on the client (from AWS_MAX_ATTEMPTS,
// say) still overrides the policy's MaxAttempts, as the SDK re-wraps the
// retryer after client options run.
func (p *Policy) ClientOption() func(*bedrockruntime.Options) {
	return func(o *bedrockruntime.Options) {
		o.Retryer = p.Wrap(o.Retryer)
		o.APIOptions = append(o.APIOptions, p.AddTo)
	}
}

// ServiceOption returns a callback for aws.Config.ServiceOptions that applies
// [Policy.ClientOption] to Bedrock Runtime clients only.
func (p *Policy) ServiceOption() func(serviceID string, options any) {
	opt := p.ClientOption()
	return func(serviceID string, options any) {
		if o, ok := options.(*bedrockruntime.Options); ok && serviceID == bedrockruntime.ServiceID {
			opt(o)
		}
	}
}

type initMiddleware struct{ p *Policy }

func (*initMiddleware) ID() string { return MiddlewareID }

func (m *initMiddleware) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	out middleware.InitializeOutput, md middleware.Metadata, err error,
) {
	st := &opState{}
	ctx = middleware.WithStackValue(ctx, stateKey{}, st)
	out, md, err = next.HandleInitialize(ctx, in)
	for _, k := range st.pending {
		m.p.pending.Delete(k) // normally already taken by RetryDelay
	}
	if err != nil {
		if g := m.p.giveUp(ctx, st, err); g != nil {
			err = g
		}
	}
	return out, md, err
}

// giveUp builds, logs and reports the GiveUpError for a failed operation, or
// returns nil when the failure is not one the policy gave up on: nothing was
// sent, the caller canceled, or a single attempt failed with an error that
// is neither retryable nor a throttle (a ValidationException, say), which is
// returned untouched.
func (p *Policy) giveUp(ctx context.Context, st *opState, err error) *GiveUpError {
	if st.attempts == 0 && len(st.history) == 0 {
		return nil
	}
	last := p.Classify(err)
	if last.Kind == classify.Canceled {
		return nil
	}
	reason := ReasonNotRetryable
	switch {
	case st.stop == stopBudget:
		reason = ReasonBudget
	case st.stop == stopDeadline:
		reason = ReasonDeadline
	default:
		if _, ok := errors.AsType[*retry.MaxAttemptsError](err); ok {
			reason = ReasonMaxAttempts
		}
	}
	if reason == ReasonNotRetryable && len(st.history) == 0 && !last.Throttle {
		return nil
	}
	attempts := make([]Attempt, 0, len(st.history)+1)
	attempts = append(attempts, st.history...)
	attempts = append(attempts, Attempt{Number: st.attempt(), Class: last})
	g := &GiveUpError{Reason: reason, Attempts: attempts, Err: err}
	p.log(ctx, g)
	p.opts.Observer.OnGiveUp(ctx, g)
	return g
}

// log writes the one record per give-up. It carries classes, codes and
// delays only: never the error message, which could echo request content.
func (p *Policy) log(ctx context.Context, g *GiveUpError) {
	logger := p.opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if !logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	classes := make([]string, len(g.Attempts))
	delays := make([]time.Duration, 0, len(g.Attempts))
	for i, a := range g.Attempts {
		classes[i] = a.Class.String()
		if i < len(g.Attempts)-1 {
			delays = append(delays, a.Delay)
		}
	}
	logger.LogAttrs(ctx, slog.LevelWarn, "bedrock call failed, not retrying",
		slog.String("operation", awsmiddleware.GetOperationName(ctx)),
		slog.String("reason", g.Reason.String()),
		slog.Int("attempts", len(g.Attempts)),
		slog.Any("classes", classes),
		slog.Any("delays", delays),
		slog.String("error.type", g.last().Code),
	)
}
