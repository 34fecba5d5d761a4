package otelbridge

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/middleware"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/retrypolicy"
	"github.com/bedrockguard/bedrockguard/tokens"
)

// Span names besides the operation span, which is named
// "{gen_ai.operation.name} {gen_ai.request.model}".
const (
	// SpanPacingWait is the child span of a pacing wait that was not
	// instant.
	SpanPacingWait = "pacing wait"
	// SpanAttempt is the child span of every attempt after the first.
	SpanAttempt = "attempt"
)

// opState is the bridge's record of one operation, carried in the context
// the guard uses for the rest of the operation.
type opState struct {
	span    trace.Span
	adopted bool // the SDK's own operation span, renamed; the SDK ends it
	op      string
	sets    *attrSets
	start   time.Time

	mu         sync.Mutex // the stream reader and the caller may race at the end
	pending    middleware.ThrottleEvent
	hasPending bool // a throttle waits for the retry decision
}

type stateKey struct{}

func stateFrom(ctx context.Context) *opState {
	st, _ := ctx.Value(stateKey{}).(*opState)
	return st
}

// operationName returns gen_ai.operation.name: "chat" for Converse and the
// messages-style InvokeModel bodies (Anthropic, Nova, Cohere),
// "text_completion" for the prompt-style ones.
func operationName(c *middleware.Call) string {
	switch c.Operation {
	case "Converse", "ConverseStream":
		return "chat"
	}
	switch c.Estimate.Family {
	case tokens.Anthropic, tokens.Nova, tokens.Cohere:
		return "chat"
	}
	return "text_completion"
}

func opOf(st *opState, c *middleware.Call) string {
	if st != nil {
		return st.op
	}
	return operationName(c)
}

// setsOf returns the attribute sets of the operation.
func (b *Bridge) setsOf(st *opState, c *middleware.Call) *attrSets {
	if st != nil {
		return st.sets
	}
	return b.setsFor(c, operationName(c))
}

// Start starts the operation span, or adopts the SDK's own operation span
// when the client's tracing is on (see the package documentation).
func (b *Bridge) Start(ctx context.Context, c *middleware.Call) context.Context {
	b.remember(c)
	st := &opState{op: operationName(c), start: time.Now()}
	st.sets = b.setsFor(c, st.op)
	attrs := b.attrs(c, st.op,
		KeyRequestMaxTokens.Int(c.Estimate.MaxTokens),
		KeyRequestStream.Bool(c.Stream),
	)
	name := st.op + " " + c.ModelID
	if s := sdkOperationSpan(ctx, c.Operation); s != nil {
		s.SetName(name)
		s.SetAttributes(attrs...)
		st.span, st.adopted = s, true
	} else {
		ctx, st.span = b.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	}
	return context.WithValue(ctx, stateKey{}, st)
}

// sdkOperationSpan returns the SDK's operation span ("Bedrock
// Runtime.<op>") when the client's smithy tracing is backed by
// OpenTelemetry and that span is the active one, else nil.
func sdkOperationSpan(ctx context.Context, op string) trace.Span {
	s, ok := tracing.GetSpan(ctx)
	if !ok {
		return nil
	}
	name := s.Name()
	if len(name) != len(bedrockruntime.ServiceID)+1+len(op) ||
		!strings.HasPrefix(name, bedrockruntime.ServiceID) || !strings.HasSuffix(name, op) {
		return nil
	}
	ot := trace.SpanFromContext(ctx)
	sc := ot.SpanContext()
	if !sc.IsValid() || s.Context().SpanID != sc.SpanID().String() {
		return nil
	}
	return ot
}

// Paced records the pacing wait (or rejection), the reservation, and a
// child span for a wait that was not instant.
func (b *Bridge) Paced(ctx context.Context, c *middleware.Call, waited time.Duration, err error) {
	st := stateFrom(ctx)
	pri := KeyPriority.String(c.Priority.String())
	if err != nil {
		reason := pacingReason(err)
		b.paceRejected.Add(ctx, 1, metric.WithAttributes(b.attrs(c, opOf(st, c), pri, KeyPacingReason.String(reason))...))
		if st != nil {
			st.span.AddEvent("aws.bedrock.pacing.rejected", trace.WithAttributes(
				KeyPacingReason.String(reason), KeyAttempt.Int(c.Attempts())))
		}
		return
	}
	reserve := c.Estimate.ReserveTokens()
	sets := b.setsOf(st, c)
	b.paceWait.Record(ctx, waited.Seconds(), sets.wait)
	b.reserved.Add(ctx, reserve, sets.base)
	if waited > 0 {
		now := time.Now()
		_, s := b.tracer.Start(ctx, SpanPacingWait, trace.WithTimestamp(now.Add(-waited)), trace.WithAttributes(b.with(
			KeyAttempt.Int(c.Attempts()), pri, KeyReservedTokens.Int64(reserve))...))
		s.End(trace.WithTimestamp(now))
	}
}

func pacingReason(err error) string {
	var de *pacing.DeadlineError
	var tl *pacing.TooLargeError
	switch {
	case errors.As(err, &tl):
		return "too_large"
	case errors.As(err, &de):
		return "deadline"
	}
	return "canceled"
}

// AttemptStart starts a child span for every attempt after the first,
// unless the SDK's own tracing already makes one per attempt.
func (b *Bridge) AttemptStart(ctx context.Context, c *middleware.Call, n int) context.Context {
	st := stateFrom(ctx)
	if n < 2 || st == nil || st.adopted {
		return ctx
	}
	ctx, _ = b.tracer.Start(ctx, SpanAttempt, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(b.with(
		KeyResendCount.Int(n-1), KeyAttempt.Int(n))...))
	return ctx
}

// AttemptEnd records the request ID and ends the attempt's span.
func (b *Bridge) AttemptEnd(ctx context.Context, c *middleware.Call, e middleware.AttemptEvent) {
	st := stateFrom(ctx)
	if st == nil {
		return
	}
	if e.RequestID != "" {
		st.span.SetAttributes(KeyAWSRequestID.String(e.RequestID))
	}
	s := trace.SpanFromContext(ctx)
	if e.Attempt < 2 || st.adopted || s.SpanContext().Equal(st.span.SpanContext()) {
		return
	}
	if e.RequestID != "" {
		s.SetAttributes(KeyAWSRequestID.String(e.RequestID))
	}
	if e.Err != nil {
		et := errorType(e.Err)
		s.SetAttributes(KeyErrorType.String(et))
		s.SetStatus(codes.Error, et)
	}
	s.End()
}

// Throttled counts the throttle at once; its span event waits for the
// retry decision (to carry the chosen delay) unless none can follow.
func (b *Bridge) Throttled(ctx context.Context, c *middleware.Call, e middleware.ThrottleEvent) {
	st := stateFrom(ctx)
	b.throttles.Add(ctx, 1, metric.WithAttributes(b.attrs(c, opOf(st, c),
		KeyThrottleKind.String(e.Class.Kind.String()), KeyThrottleStage.String(stage(e.Class)))...))
	if st == nil {
		return
	}
	if e.Class.MidStream || !e.Class.Retryable {
		throttleEvent(st.span, c, e, false, 0)
		return
	}
	st.mu.Lock()
	prev, had := st.pending, st.hasPending
	st.pending, st.hasPending = e, true
	st.mu.Unlock()
	if had {
		throttleEvent(st.span, c, prev, false, 0)
	}
}

func stage(c classify.Class) string {
	if c.MidStream {
		return "mid_stream"
	}
	return "response"
}

// takePending returns the pending throttle of attempt n (any attempt when
// n is 0) and clears it.
func (st *opState) takePending(n int) (middleware.ThrottleEvent, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.hasPending || (n != 0 && st.pending.Attempt != n) {
		return middleware.ThrottleEvent{}, false
	}
	st.hasPending = false
	return st.pending, true
}

func throttleEvent(s trace.Span, c *middleware.Call, e middleware.ThrottleEvent, retried bool, delay time.Duration) {
	attrs := [...]attribute.KeyValue{
		KeyThrottleKind.String(e.Class.Kind.String()),
		KeyThrottleStage.String(stage(e.Class)),
		KeyErrorType.String(classType(e.Class)),
		KeyAttempt.Int(e.Attempt),
		KeyRetried.Bool(retried),
		KeyRetryDelay.Float64(delay.Seconds()),
		KeyEstimatedTokens.Int(c.Estimate.InputTokens),
		KeyReservedTokens.Int64(e.ReservedTokens),
		KeyRateLowered.Bool(e.Lowered),
	}
	s.AddEvent(EventThrottle, trace.WithAttributes(attrs[:]...))
}

// Settled records token usage, the settlement and the estimate's accuracy.
func (b *Bridge) Settled(ctx context.Context, c *middleware.Call, e middleware.SettleEvent) {
	st := stateFrom(ctx)
	sets := b.setsOf(st, c)
	in := e.Usage.PromptTokens()
	b.tokenUsage.Record(ctx, in, sets.input)
	b.tokenUsage.Record(ctx, e.Usage.OutputTokens, sets.output)
	b.settled.Add(ctx, e.Settled, sets.base)
	if in > 0 && c.Estimate.InputTokens > 0 {
		b.estimateRatio.Record(ctx, float64(c.Estimate.InputTokens)/float64(in), sets.base)
	}
	if st == nil {
		return
	}
	st.span.SetAttributes(
		KeyUsageInputTokens.Int64(in),
		KeyUsageOutputTokens.Int64(e.Usage.OutputTokens),
		KeyUsageCacheReadTokens.Int64(e.Usage.CacheReadInputTokens),
		KeyUsageCacheCreationTokens.Int64(e.Usage.CacheWriteInputTokens),
	)
	if e.FinishReason != "" {
		st.span.SetAttributes(KeyResponseFinishReasons.StringSlice([]string{e.FinishReason}))
	}
}

// End records the operation's duration and ends its span.
func (b *Bridge) End(ctx context.Context, c *middleware.Call, err error) {
	st := stateFrom(ctx)
	if st == nil {
		return
	}
	if p, ok := st.takePending(0); ok {
		throttleEvent(st.span, c, p, false, 0)
	}
	set, et := st.sets.base, ""
	if err != nil {
		et = errorType(err)
		set = metric.WithAttributes(b.attrs(c, st.op, KeyErrorType.String(et))...)
	}
	b.duration.Record(ctx, time.Since(st.start).Seconds(), set)
	if d, ok := c.FirstChunk(); ok {
		b.firstChunk.Record(ctx, d.Seconds(), set)
		st.span.SetAttributes(KeyResponseTimeToFirstChunk.Float64(d.Seconds()))
	}
	st.span.SetAttributes(KeyAttempts.Int(c.Attempts()))
	if err != nil {
		st.span.SetAttributes(KeyErrorType.String(et))
		st.span.SetStatus(codes.Error, et)
	}
	if !st.adopted {
		st.span.End()
	}
}

// errorType returns the error.type of err: its service code, or the
// guard's class name when it has none. Never the message, which may echo
// request content.
func errorType(err error) string {
	var se *middleware.StreamError
	if errors.As(err, &se) {
		return classType(se.Class)
	}
	var de *pacing.DeadlineError
	var tl *pacing.TooLargeError
	if errors.As(err, &de) || errors.As(err, &tl) {
		return "PacingRejected"
	}
	return classType(classify.Classify(err))
}

func classType(c classify.Class) string {
	if c.Code != "" {
		return c.Code
	}
	return c.Kind.String()
}

// OnRetry counts the retry and writes the pending throttle's span event
// with the chosen delay.
func (b *Bridge) OnRetry(ctx context.Context, ev retrypolicy.RetryEvent) {
	c, ok := middleware.CallFrom(ctx)
	if !ok {
		b.retries.Add(ctx, 1, metric.WithAttributes(b.with(KeyErrorType.String(classType(ev.Class)))...))
		return
	}
	st := stateFrom(ctx)
	b.retries.Add(ctx, 1, metric.WithAttributes(b.attrs(c, opOf(st, c), KeyErrorType.String(classType(ev.Class)))...))
	if st == nil {
		return
	}
	if p, ok := st.takePending(ev.Attempt); ok {
		throttleEvent(st.span, c, p, true, ev.Delay)
	}
}

// OnBudgetExhausted counts a retry the empty budget refused.
func (b *Bridge) OnBudgetExhausted(ctx context.Context, cls classify.Class) {
	c, ok := middleware.CallFrom(ctx)
	if !ok {
		b.budgetExhausted.Add(ctx, 1, metric.WithAttributes(b.with(KeyErrorType.String(classType(cls)))...))
		return
	}
	b.budgetExhausted.Add(ctx, 1, metric.WithAttributes(b.attrs(c, opOf(stateFrom(ctx), c), KeyErrorType.String(classType(cls)))...))
}

// OnGiveUp does nothing: the operation's span status, error.type and
// duration already tell a failed operation.
func (b *Bridge) OnGiveUp(context.Context, *retrypolicy.GiveUpError) {}
