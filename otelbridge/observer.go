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
	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// Span names besides the operation span, which is named
// "{gen_ai.operation.name} {gen_ai.request.model}".
const (
	// spanPacingWait is the child span of a pacing wait that was not
	// instant.
	spanPacingWait = "pacing wait"
	// spanAttempt is the child span of every attempt after the first.
	spanAttempt = "attempt"
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
	pending    engine.ThrottleEvent
	hasPending bool // a throttle waits for the retry decision
}

type stateKey struct{}

func stateFrom(ctx context.Context) *opState {
	st, _ := ctx.Value(stateKey{}).(*opState)
	return st
}

func opOf(st *opState, c *engine.Call) string {
	if st != nil {
		return st.op
	}
	return c.GenAIOperation
}

// setsOf returns the attribute sets of the operation.
func (b *Bridge) setsOf(st *opState, c *engine.Call) *attrSets {
	if st != nil {
		return st.sets
	}
	return b.setsFor(c, c.GenAIOperation)
}

// Start starts the operation span, or adopts the SDK's own operation span
// when the client's tracing is on (see the package documentation).
func (o *observer) Start(ctx context.Context, c *engine.Call) context.Context {
	b := (*Bridge)(o)
	b.remember(c)
	st := &opState{op: c.GenAIOperation, start: time.Now()}
	st.sets = b.setsFor(c, st.op)
	attrs := b.attrs(c, st.op,
		keyRequestMaxTokens.Int(c.MaxTokens),
		keyRequestStream.Bool(c.Stream),
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
func (o *observer) Paced(ctx context.Context, c *engine.Call, waited time.Duration, err error) {
	b := (*Bridge)(o)
	st := stateFrom(ctx)
	pri := keyPriority.String(limiter.Name(c.Priority))
	if err != nil {
		reason := pacingReason(err)
		b.paceRejected.Add(ctx, 1, metric.WithAttributes(b.attrs(c, opOf(st, c), pri, keyPacingReason.String(reason))...))
		if st != nil {
			st.span.AddEvent("aws.bedrock.pacing.rejected", trace.WithAttributes(
				keyPacingReason.String(reason), keyAttempt.Int(engine.Attempts(c))))
		}
		return
	}
	reserve := c.ReservedTokens
	sets := b.setsOf(st, c)
	b.paceWait.Record(ctx, waited.Seconds(), sets.wait)
	b.reserved.Add(ctx, reserve, sets.base)
	if waited > 0 {
		now := time.Now()
		_, s := b.tracer.Start(ctx, spanPacingWait, trace.WithTimestamp(now.Add(-waited)), trace.WithAttributes(b.with(
			keyAttempt.Int(engine.Attempts(c)), pri, keyReservedTokens.Int64(reserve))...))
		s.End(trace.WithTimestamp(now))
	}
}

func pacingReason(err error) string {
	var de *limiter.DeadlineError
	var tl *limiter.TooLargeError
	var be *limiter.BudgetError
	switch {
	case errors.As(err, &tl):
		return "too_large"
	case errors.As(err, &be):
		return "budget"
	case errors.As(err, &de):
		return "deadline"
	}
	return "canceled"
}

// AttemptStart starts a child span for every attempt after the first,
// unless the SDK's own tracing already makes one per attempt.
func (o *observer) AttemptStart(ctx context.Context, c *engine.Call, n int) context.Context {
	b := (*Bridge)(o)
	st := stateFrom(ctx)
	if n < 2 || st == nil || st.adopted {
		return ctx
	}
	ctx, _ = b.tracer.Start(ctx, spanAttempt, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(b.with(
		keyResendCount.Int(n-1), keyAttempt.Int(n))...))
	return ctx
}

// AttemptEnd records the request ID and ends the attempt's span.
func (o *observer) AttemptEnd(ctx context.Context, c *engine.Call, e engine.AttemptEvent) {
	st := stateFrom(ctx)
	if st == nil {
		return
	}
	if e.RequestID != "" {
		st.span.SetAttributes(keyAWSRequestID.String(e.RequestID))
	}
	s := trace.SpanFromContext(ctx)
	if e.Attempt < 2 || st.adopted || s.SpanContext().Equal(st.span.SpanContext()) {
		return
	}
	if e.RequestID != "" {
		s.SetAttributes(keyAWSRequestID.String(e.RequestID))
	}
	if e.Err != nil {
		et := errorType(e.Err)
		s.SetAttributes(keyErrorType.String(et))
		s.SetStatus(codes.Error, et)
	}
	s.End()
}

// Throttled counts the throttle at once; its span event waits for the
// retry decision (to carry the chosen delay) unless none can follow.
func (o *observer) Throttled(ctx context.Context, c *engine.Call, e engine.ThrottleEvent) {
	b := (*Bridge)(o)
	st := stateFrom(ctx)
	b.throttles.Add(ctx, 1, metric.WithAttributes(b.attrs(c, opOf(st, c),
		keyThrottleKind.String(e.Class.Kind.String()), keyThrottleStage.String(stage(e.Class)))...))
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
func (st *opState) takePending(n int) (engine.ThrottleEvent, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.hasPending || (n != 0 && st.pending.Attempt != n) {
		return engine.ThrottleEvent{}, false
	}
	st.hasPending = false
	return st.pending, true
}

func throttleEvent(s trace.Span, c *engine.Call, e engine.ThrottleEvent, retried bool, delay time.Duration) {
	attrs := [...]attribute.KeyValue{
		keyThrottleKind.String(e.Class.Kind.String()),
		keyThrottleStage.String(stage(e.Class)),
		keyErrorType.String(classType(e.Class)),
		keyAttempt.Int(e.Attempt),
		keyRetried.Bool(retried),
		keyRetryDelay.Float64(delay.Seconds()),
		keyEstimatedTokens.Int(c.InputTokens),
		keyReservedTokens.Int64(e.ReservedTokens),
		keyRateLowered.Bool(e.Lowered),
	}
	s.AddEvent(eventThrottle, trace.WithAttributes(attrs[:]...))
}

// Settled records token usage, the settlement and the estimate's accuracy.
func (o *observer) Settled(ctx context.Context, c *engine.Call, e engine.SettleEvent) {
	b := (*Bridge)(o)
	st := stateFrom(ctx)
	sets := b.setsOf(st, c)
	in := e.Usage.InputTokens + e.Usage.CacheReadInputTokens + e.Usage.CacheWriteInputTokens
	b.tokenUsage.Record(ctx, in, sets.input)
	b.tokenUsage.Record(ctx, e.Usage.OutputTokens, sets.output)
	b.settled.Add(ctx, e.Settled, sets.base)
	b.cost.record(ctx, b, c, opOf(st, c), e.Usage)
	if in > 0 && c.InputTokens > 0 {
		b.estimateRatio.Record(ctx, float64(c.InputTokens)/float64(in), sets.base)
	}
	if st == nil {
		return
	}
	st.span.SetAttributes(
		keyUsageInputTokens.Int64(in),
		keyUsageOutputTokens.Int64(e.Usage.OutputTokens),
		keyUsageCacheReadTokens.Int64(e.Usage.CacheReadInputTokens),
		keyUsageCacheCreationTokens.Int64(e.Usage.CacheWriteInputTokens),
	)
	if e.FinishReason != "" {
		st.span.SetAttributes(keyResponseFinishReasons.StringSlice([]string{e.FinishReason}))
	}
}

// End records the operation's duration and ends its span.
func (o *observer) End(ctx context.Context, c *engine.Call, err error) {
	b := (*Bridge)(o)
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
		set = metric.WithAttributes(b.attrs(c, st.op, keyErrorType.String(et))...)
	}
	b.duration.Record(ctx, time.Since(st.start).Seconds(), set)
	b.capacity.ended(ctx, c, st, set)
	b.spill.ended(ctx, b, c, st)
	if d, ok := c.FirstChunk(); ok {
		b.firstChunk.Record(ctx, d.Seconds(), set)
		st.span.SetAttributes(keyResponseTimeToFirstChunk.Float64(d.Seconds()))
	}
	st.span.SetAttributes(keyAttempts.Int(engine.Attempts(c)))
	if err != nil {
		st.span.SetAttributes(keyErrorType.String(et))
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
	var se *engine.StreamError
	if errors.As(err, &se) {
		return classType(se.Class)
	}
	var de *limiter.DeadlineError
	var tl *limiter.TooLargeError
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

// Retry counts a retry, or a retry the empty budget refused; for a retry
// it writes the pending throttle's span event with the chosen delay.
func (o *observer) Retry(ctx context.Context, c *engine.Call, ev engine.RetryEvent) {
	b := (*Bridge)(o)
	st := stateFrom(ctx)
	errType := keyErrorType.String(classType(ev.Class))
	if ev.BudgetExhausted {
		b.budgetExhausted.Add(ctx, 1, metric.WithAttributes(b.attrs(c, opOf(st, c), errType)...))
		return
	}
	b.retries.Add(ctx, 1, metric.WithAttributes(b.attrs(c, opOf(st, c), errType)...))
	if st == nil {
		return
	}
	if p, ok := st.takePending(ev.Attempt); ok {
		throttleEvent(st.span, c, p, true, ev.Delay)
	}
}
