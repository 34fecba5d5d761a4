package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptrace"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/tokens"
	ids "github.com/bedrockguard/bedrockguard/middleware"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// The guard's middleware IDs; the public middleware package documents them.
const (
	EstimateID  = ids.EstimateID
	PaceID      = ids.PaceID
	StreamTapID = ids.StreamTapID
)

// Config is what the middleware needs from the guard.
type Config struct {
	// Limiter paces attempts. Required.
	Limiter *limiter.Limiter
	// Estimator estimates requests and learns from usage. Required.
	Estimator *tokens.Estimator
	// Limits returns the quota of a model ID in a region. Required.
	Limits func(region, modelID string) limiter.Limits
	// QuotaSource says where the quota Limits returns for a model ID in a
	// region comes from ("configured", "discovered", "learned"), for
	// telemetry; optional.
	QuotaSource func(region, modelID string) string
	// Classify classifies errors; nil means classify.Classify.
	Classify func(error) classify.Class
	// Observer receives events; nil means Nop. A panic in it (or in
	// Classify) is contained: see [Contain].
	Observer Observer
	// Logger receives the contained panics of callbacks; nil means
	// slog.Default.
	Logger *slog.Logger
	// Clock times abandoned streams; nil means the wall clock.
	Clock limiter.Clock
	// ObserveOnly classifies and reports without pacing: no waiting, no
	// reservations, no rate adaptation.
	ObserveOnly bool
	// StreamIdleTimeout ends the accounting of a stream that is neither
	// read nor closed for this long (default 5 minutes): its reservation
	// is settled with what was seen. The stream itself is left alone.
	StreamIdleTimeout time.Duration
	// StreamPeek turns on the stream peek: the stream tap reads a stream's
	// first frame before the stack returns, and an exception there fails
	// the attempt with a [*FirstFrameError], which the SDK's retry loop
	// retries.
	StreamPeek bool
	// Routes returns the spillover routes of a model ID (see route.go);
	// nil means none for any model.
	Routes func(modelID string) []Route
	// ClientOption adds the guard to a call made on a route's client.
	ClientOption func(*bedrockruntime.Options)
}

// Engine holds the guard's three middlewares. Build it once and add it to
// every stack with [Engine.AddTo]; it is safe for concurrent use.
type Engine struct {
	cfg    Config
	health health // spillover: when each key last throttled
}

// New returns an Engine, or an error when a required field is missing.
func New(cfg Config) (*Engine, error) {
	if cfg.Limiter == nil || cfg.Estimator == nil || cfg.Limits == nil {
		return nil, errors.New("bedrockguard: engine: Limiter, Estimator and Limits are required")
	}
	if cfg.Classify == nil {
		cfg.Classify = classify.Classify
	}
	cfg.Classify = containClassify(cfg.Classify, cfg.Logger)
	cfg.Observer = Contain(cfg.Observer, cfg.Logger)
	if cfg.Clock == nil {
		cfg.Clock = limiter.WallClock()
	}
	if cfg.StreamIdleTimeout <= 0 {
		cfg.StreamIdleTimeout = 5 * time.Minute
	}
	return &Engine{cfg: cfg}, nil
}

// AddTo adds the guard's middleware to stack. It is idempotent: a stack that
// already holds a guard's middleware is left as it is.
func (e *Engine) AddTo(stack *middleware.Stack) error {
	if _, ok := stack.Initialize.Get(EstimateID); ok {
		return nil
	}
	if err := stack.Initialize.Add(estimate{e}, middleware.After); err != nil {
		return err
	}
	if err := stack.Finalize.Insert(pace{e}, "Retry", middleware.After); err != nil {
		return fmt.Errorf("bedrockguard: the stack has no SDK %q middleware: %w", "Retry", err)
	}
	if e.cfg.Routes != nil && !e.cfg.ObserveOnly {
		if err := stack.Finalize.Insert(spillMiddleware{e}, "Retry", middleware.Before); err != nil {
			return err
		}
	}
	if _, ok := stack.Deserialize.Get("OperationEventStreamDeserializer"); ok {
		if err := stack.Deserialize.Insert(tapMiddleware{e}, "OperationEventStreamDeserializer", middleware.After); err != nil {
			return err
		}
	}
	return nil
}

// opShape says how an operation's response arrives.
type opShape uint8

const (
	unary     opShape = iota + 1 // one response
	streaming                    // an event stream
)

// guarded lists the operations the guard paces. Others pass through.
var guarded = map[string]opShape{
	"Converse":                      unary,
	"ConverseStream":                streaming,
	"InvokeModel":                   unary,
	"InvokeModelWithResponseStream": streaming,
}

type skipKey struct{}

// Skip marks ctx so that the guard passes the call through untouched: no
// estimate, no pacing, no events. (The estimator's own CountTokens calls are
// recognised by tokens.IsEstimatorCall instead.)
func Skip(ctx context.Context) context.Context { return context.WithValue(ctx, skipKey{}, true) }

type estimate struct{ e *Engine }

func (estimate) ID() string { return EstimateID }

func (m estimate) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	out middleware.InitializeOutput, md middleware.Metadata, err error,
) {
	e := m.e
	if c, ok := ctx.Value(routedKey{}).(*Call); ok {
		// A call on a spillover route's client, made for c: pace and
		// settle it as c's attempt (c's operation ends it).
		return next.HandleInitialize(middleware.WithStackValue(ctx, callKey{}, c), in)
	}
	op := awsmiddleware.GetOperationName(ctx)
	shape, ok := guarded[op]
	if !ok || awsmiddleware.GetServiceID(ctx) != bedrockruntime.ServiceID || ctx.Value(skipKey{}) != nil || tokens.IsEstimatorCall(ctx) {
		return next.HandleInitialize(ctx, in)
	}
	est := e.cfg.Estimator.Estimate(in.Parameters)
	region := awsmiddleware.GetRegion(ctx)
	c := &Call{
		Operation: op,
		ModelID:   est.ModelID,
		Region:    region,
		Stream:    shape == streaming,
		Priority:  PriorityFrom(ctx),
		Tenant:    TenantFrom(ctx),
		Started:   e.cfg.Clock.Now(),

		GenAIOperation: genAIOperation(op, est.Family),
		InputTokens:    est.InputTokens,
		MaxTokens:      est.MaxTokens,
		ReservedTokens: est.ReserveTokens(),

		key:    region + "/" + est.ModelID,
		est:    est,
		limits: e.cfg.Limits(region, est.ModelID),
	}
	c.cfg = e.cfg.Limiter.KeyConfig(c.limits)
	c.limiter = e.cfg.Limiter
	c.source = e.cfg.QuotaSource
	c.ServedModelID, c.ServedRegion = c.ModelID, region
	e.initSpill(c, in.Parameters)
	ctx = middleware.WithStackValue(ctx, callKey{}, c)
	ctx = e.cfg.Observer.Start(ctx, c)
	defer func() {
		if r := recover(); r != nil {
			// A panic in the stack: end the operation (its span) before
			// the panic goes on up to the caller.
			e.end(ctx, c, fmt.Errorf("bedrockguard: panic in the stack: %v", r))
			panic(r)
		}
	}()
	out, md, err = next.HandleInitialize(ctx, in)
	md.Set(servedKey{}, served{c.ServedModelID, c.ServedRegion, c.SpillReason})
	if err != nil || !c.Stream || !c.tapped.Load() {
		e.end(ctx, c, err)
	}
	return out, md, err
}

func (e *Engine) end(ctx context.Context, c *Call, err error) {
	c.endOnce.Do(func() { e.cfg.Observer.End(ctx, c, err) })
}

type pace struct{ e *Engine }

func (pace) ID() string { return PaceID }

func (m pace) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	out middleware.FinalizeOutput, md middleware.Metadata, err error,
) {
	e := m.e
	c, ok := CallFrom(ctx)
	if !ok {
		return next.HandleFinalize(ctx, in)
	}
	if c.sp != nil && ctx.Value(routedKey{}) == nil {
		e.choose(ctx, c)
		if st := &c.sp.states[c.sp.current]; st.client != nil {
			return e.routeElsewhere(ctx, c, st)
		}
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			setModelPath(req, c.ServedModelID)
		}
	}
	n := int(c.attempts.Add(1))
	if n > 1 && e.cfg.ObserveOnly {
		// The client's own retryer decided this retry: report it, as the
		// retry policy does when the guard retries (the SDK's delay is not
		// known here).
		e.cfg.Observer.Retry(ctx, c, RetryEvent{Attempt: n - 1, Class: c.lastClass})
	}
	reserve := c.ReservedTokens
	var t *limiter.Ticket // nil in observe-only mode: nothing is reserved
	if !e.cfg.ObserveOnly {
		t, err = e.cfg.Limiter.AcquireCall(ctx, c.key, c.cfg, pacing.Amount{Requests: 1, Tokens: float64(reserve)}, c.Priority,
			limiter.Extra{Tenant: c.Tenant, Limits: c.limits})
	}
	var waited time.Duration
	if t != nil {
		waited = t.Waited
	}
	e.cfg.Observer.Paced(ctx, c, waited, err)
	if err != nil {
		return out, md, err
	}
	a := &attempt{ticket: t, number: n}
	if t != nil {
		ctx = traceSent(ctx, a)
		in.Request = shieldBody(in.Request)
	}
	ctx = middleware.WithStackValue(ctx, attemptKey{}, a)
	ctx = e.cfg.Observer.AttemptStart(ctx, c, n)
	defer func() {
		if r := recover(); r != nil {
			t.Release()
			panic(r)
		}
	}()
	out, md, err = next.HandleFinalize(ctx, in)
	reqID, _ := awsmiddleware.GetRequestIDMetadata(md)
	e.cfg.Observer.AttemptEnd(ctx, c, AttemptEvent{Attempt: n, RequestID: reqID, Err: err})
	if a.tapped {
		return out, md, err // the stream tap settles when the stream ends
	}
	if err != nil {
		if a.sent.Load() && !refused(md, err) {
			// Sent and not refused (cancelled or timed out in flight, the
			// connection lost, the body unreadable): Bedrock took the
			// reservation from its quota when it admitted the request, and
			// it settles the real usage without telling a client that has
			// gone; count it as charged at the reservation.
			t.Settle(float64(reserve))
		}
		e.failed(ctx, c, a, err)
		return out, md, err
	}
	if u, ok := usageOf(out.Result, md); ok {
		e.settleWith(ctx, c, t, u, finishReason(out.Result))
	} else {
		t.Settle(float64(reserve)) // no usage reported: assume the reservation was spent
	}
	return out, md, err
}

// traceSent marks a when its request has been written to the connection
// in full (net/http's WroteRequest without error). It composes with a
// client trace already in ctx.
func traceSent(ctx context.Context, a *attempt) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			a.sent.Store(true)
		}
	}})
}

// refused reports whether the service answered the attempt with an error
// status, or with an exception as a stream's first frame (the stream peek):
// it did not charge the attempt's reservation.
func refused(md middleware.Metadata, err error) bool {
	if _, ok := errors.AsType[*FirstFrameError](err); ok {
		return true
	}
	resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	return ok && resp != nil && resp.Response != nil && resp.StatusCode >= 300
}

// failed releases a failed attempt's reservation (a no-op when it was
// already settled as charged) and adapts to throttles.
func (e *Engine) failed(ctx context.Context, c *Call, a *attempt, err error) {
	cls := e.cfg.Classify(err)
	ax, paced := throttleAxis(cls.Kind)
	paced = paced && cls.Throttle && !e.cfg.ObserveOnly
	if !paced {
		a.ticket.Release()
	}
	c.lastClass = cls
	if e.cfg.Routes != nil && (cls.Throttle || cls.Kind == classify.ModelNotReady) {
		e.health.mark(c.key, e.cfg.Clock.Now())
	}
	if !cls.Throttle {
		return
	}
	if cls.Kind == classify.ThrottleTokensPerDay && !e.cfg.ObserveOnly {
		// The service's day is spent: so is the guard's count of it.
		e.cfg.Limiter.DayThrottled(context.WithoutCancel(ctx), c.key, c.limits)
	}
	ev := ThrottleEvent{Class: cls, Attempt: a.number, ReservedTokens: int64(a.ticket.Reserved().Tokens)}
	if paced {
		// Released and reported together: the refused attempt's tokens
		// must not admit the next waiter into the server's empty bucket.
		ev.Lowered = e.cfg.Limiter.ReleaseThrottled(context.WithoutCancel(ctx), a.ticket, c.key, c.cfg, ax)
	}
	e.cfg.Observer.Throttled(ctx, c, ev)
}

// throttleAxis maps a throttle kind to the limit it lowers. A tokens-per-day
// throttle lowers neither: no per-minute pacing can help it. An unknown
// throttle lowers the tokens rate, the limit Bedrock enforces today.
func throttleAxis(k classify.Kind) (pacing.Axis, bool) {
	switch k {
	case classify.ThrottleRequests:
		return pacing.Requests, true
	case classify.ThrottleTokens, classify.ThrottleUnknown:
		return pacing.Tokens, true
	}
	return 0, false
}

// settleWith settles t with u and reports the model's finish reason, if
// known.
func (e *Engine) settleWith(ctx context.Context, c *Call, t *limiter.Ticket, u tokens.Usage, finish string) {
	settled := u.SettledTokens(c.est.Burndown)
	t.SettleAdmitted(float64(settled), float64(u.AdmittedTokens(c.est.MaxTokens, c.est.Burndown)))
	e.cfg.Estimator.Observe(c.est, u)
	e.cfg.Observer.Settled(ctx, c, SettleEvent{Usage: Usage(u), Reserved: int64(t.Reserved().Tokens), Settled: settled, FinishReason: finish})
}

// finishReason returns Converse's stop reason; other operations report it
// in a model-specific body, which the guard does not parse.
func finishReason(result any) string {
	if o, ok := result.(*bedrockruntime.ConverseOutput); ok {
		return string(o.StopReason)
	}
	return ""
}

// usageOf reads the usage of a plain operation: Converse's usage field, or
// InvokeModel's token-count headers.
func usageOf(result any, md middleware.Metadata) (tokens.Usage, bool) {
	if o, ok := result.(*bedrockruntime.ConverseOutput); ok {
		return tokens.UsageFromConverse(o.Usage)
	}
	if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		return tokens.UsageFromHeaders(resp.Header)
	}
	return tokens.Usage{}, false
}

type priorityKey struct{}

// WithPriority returns a context whose Bedrock calls are paced at priority p.
func WithPriority(ctx context.Context, p limiter.Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority set with [WithPriority], or Interactive.
func PriorityFrom(ctx context.Context) limiter.Priority {
	p, _ := ctx.Value(priorityKey{}).(limiter.Priority)
	return p
}

// genAIOperation returns the OpenTelemetry gen_ai.operation.name of an
// operation: "chat" for Converse and the messages-style InvokeModel bodies
// (Anthropic, Nova, Cohere), "text_completion" for the prompt-style ones.
func genAIOperation(op string, f tokens.Family) string {
	switch op {
	case "Converse", "ConverseStream":
		return "chat"
	}
	switch f {
	case tokens.Anthropic, tokens.Nova, tokens.Cohere:
		return "chat"
	}
	return "text_completion"
}
