package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/smithy-go/middleware"
	"github.com/bedrockguard/bedrockguard/classify"
)

type allPanic struct{}

func (allPanic) Start(context.Context, *Call) context.Context             { panic("Start") }
func (allPanic) Paced(context.Context, *Call, time.Duration, error)       { panic("Paced") }
func (allPanic) AttemptStart(context.Context, *Call, int) context.Context { panic("AttemptStart") }
func (allPanic) AttemptEnd(context.Context, *Call, AttemptEvent)          { panic("AttemptEnd") }
func (allPanic) Throttled(context.Context, *Call, ThrottleEvent)          { panic("Throttled") }
func (allPanic) Settled(context.Context, *Call, SettleEvent)              { panic("Settled") }
func (allPanic) Retry(context.Context, *Call, RetryEvent)                 { panic("Retry") }
func (allPanic) End(context.Context, *Call, error)                        { panic("End") }

// TestContainCoversEveryMethod: every Observer method's panic is contained
// and the context-returning ones keep the given context (issue 14, item 2).
func TestContainCoversEveryMethod(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	o := Contain(allPanic{}, log)
	ctx := context.WithValue(context.Background(), skipKey{}, 1)
	c := &Call{}
	if got := o.Start(ctx, c); got != ctx {
		t.Fatal("Start lost the context")
	}
	o.Paced(ctx, c, 0, nil)
	if got := o.AttemptStart(ctx, c, 1); got != ctx {
		t.Fatal("AttemptStart lost the context")
	}
	o.AttemptEnd(ctx, c, AttemptEvent{})
	o.Throttled(ctx, c, ThrottleEvent{})
	o.Settled(ctx, c, SettleEvent{})
	o.Retry(ctx, c, RetryEvent{})
	o.End(ctx, c, nil)
	if Contain(o, log) != o {
		t.Fatal("Contain is not idempotent")
	}
	cl := ContainClassifier(classify.ClassifierFunc(func(error) classify.Class { panic("x") }), log)
	if got := cl.Classify(errors.New("e")); got != (classify.Class{}) {
		t.Fatalf("contained classifier = %+v, want no opinion", got)
	}
	f := containClassify(func(error) classify.Class { panic("x") }, log)
	if got, want := f(context.DeadlineExceeded), classify.Classify(context.DeadlineExceeded); got != want {
		t.Fatalf("contained classify = %+v, want the default %+v", got, want)
	}
}

// TestFirstFrameExceptionIsNotCharged: a stream refused in its first frame
// (HTTP 200, then an exception) was not charged by the service, so an
// attempt sent in full and failed that way is released, not settled at its
// reservation (issue 14, item 3).
func TestFirstFrameExceptionIsNotCharged(t *testing.T) {
	var md middleware.Metadata
	if !refused(md, fmt.Errorf("wrapped: %w", &FirstFrameError{Code: "throttlingException", Status: 429})) {
		t.Fatal("a first-frame exception counts as charged")
	}
	if refused(md, context.Canceled) {
		t.Fatal("a cancellation without an answer counts as refused")
	}
}
