package retry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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
	model    string // the input's model ID, for the log's rate limit
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
	st := &opState{model: modelOf(in.Parameters)}
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
	p.log(ctx, g, st.model)
	p.opts.Observer.OnGiveUp(ctx, g)
	return g
}

// log writes the one record per give-up, at most one per [LogInterval] and
// key (region, model, operation, reason, error type): a storm of failing
// calls is one line per key and interval, and the next line after a quiet
// spell counts what was left out ("suppressed"). It carries classes, codes
// and delays only: never the error message, which could echo request
// content.
func (p *Policy) log(ctx context.Context, g *GiveUpError, model string) {
	logger := p.opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if !logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	op := awsmiddleware.GetOperationName(ctx)
	key := logKey{region: awsmiddleware.GetRegion(ctx), model: model, op: op, reason: g.Reason, code: g.last().Code}
	suppressed, ok := p.logs.allow(key, p.opts.Now())
	if !ok {
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
	attrs := []slog.Attr{
		slog.String("operation", op),
		slog.String("reason", g.Reason.String()),
		slog.Int("attempts", len(g.Attempts)),
		slog.Any("classes", classes),
		slog.Any("delays", delays),
		slog.String("error.type", g.last().Code),
	}
	if model != "" {
		attrs = append(attrs, slog.String("model", model))
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	logger.LogAttrs(ctx, slog.LevelWarn, "bedrock call failed, not retrying", attrs...)
}

// LogInterval is the shortest time between two give-up records of one key.
const LogInterval = 10 * time.Second

// maxLogKeys bounds the rate limiter's memory: beyond it, keys quiet for an
// interval are dropped (their suppressed count was 0 or is lost).
const maxLogKeys = 1024

type logKey struct {
	region, model, op string
	reason            Reason
	code              string
}

type logState struct {
	last       time.Time
	suppressed int
}

// logLimiter lets one record per key through per LogInterval and counts the
// others.
type logLimiter struct {
	mu   sync.Mutex
	keys map[logKey]*logState
}

// allow reports whether a record of k may be written at now, and how many
// records of k were suppressed since the last one written.
func (l *logLimiter) allow(k logKey, now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = make(map[logKey]*logState)
	}
	s := l.keys[k]
	if s == nil {
		if len(l.keys) >= maxLogKeys {
			for kk, ss := range l.keys {
				if now.Sub(ss.last) >= LogInterval && ss.suppressed == 0 {
					delete(l.keys, kk)
				}
			}
		}
		l.keys[k] = &logState{last: now}
		return 0, true
	}
	if now.Sub(s.last) < LogInterval {
		s.suppressed++
		return 0, false
	}
	suppressed = s.suppressed
	s.last, s.suppressed = now, 0
	return suppressed, true
}

// modelOf returns the model ID of a Bedrock Runtime operation's input.
func modelOf(params any) string {
	var id *string
	switch in := params.(type) {
	case *bedrockruntime.ConverseInput:
		id = in.ModelId
	case *bedrockruntime.ConverseStreamInput:
		id = in.ModelId
	case *bedrockruntime.InvokeModelInput:
		id = in.ModelId
	case *bedrockruntime.InvokeModelWithResponseStreamInput:
		id = in.ModelId
	}
	if id == nil {
		return ""
	}
	return *id
}
