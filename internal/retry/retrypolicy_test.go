package retry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/bedrockguard/bedrockguard/classify"
	rp "github.com/bedrockguard/bedrockguard/internal/retry"
)

// recorder is an Observer that keeps everything it is told.
type recorder struct {
	mu       sync.Mutex
	retries  []rp.RetryEvent
	budget   []classify.Class
	giveUps  []*rp.GiveUpError
	attempts []time.Time
}

func (r *recorder) OnRetry(_ context.Context, ev rp.RetryEvent) {
	r.mu.Lock()
	r.retries = append(r.retries, ev)
	r.mu.Unlock()
}

func (r *recorder) OnBudgetExhausted(_ context.Context, c classify.Class) {
	r.mu.Lock()
	r.budget = append(r.budget, c)
	r.mu.Unlock()
}

func (r *recorder) OnGiveUp(_ context.Context, err *rp.GiveUpError) {
	r.mu.Lock()
	r.giveUps = append(r.giveUps, err)
	r.mu.Unlock()
}

// stampAttempts records the (fake) time each attempt starts, from a
// Finalize middleware right after the SDK's Retry middleware.
func (r *recorder) stampAttempts(o *bedrockruntime.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("stamp", func(
			ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler,
		) (middleware.FinalizeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			r.attempts = append(r.attempts, time.Now())
			r.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), "Retry", middleware.After)
	})
}

func (r *recorder) gaps() []time.Duration {
	var out []time.Duration
	for i := 1; i < len(r.attempts); i++ {
		out = append(out, r.attempts[i].Sub(r.attempts[i-1]))
	}
	return out
}

func fixedRand(v float64) func() float64 { return func() float64 { return v } }

func newPolicy(t *testing.T, o rp.Options) (*rp.Policy, *recorder, *bytes.Buffer) {
	t.Helper()
	rec := &recorder{}
	var logs bytes.Buffer
	if o.Observer == nil {
		o.Observer = rec
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	}
	p, err := rp.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p, rec, &logs
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Two throttles then success: 3 attempts, waits of exactly
// rand x 1 s and rand x 2 s on the fake clock.
func TestTwoThrottlesThenSuccess(t *testing.T) {
	srv, url := newServer(t, tokens, requests, ok)
	p, rec, logs := newPolicy(t, rp.Options{Rand: fixedRand(0.5)})
	synctest.Test(t, func(t *testing.T) {
		client := newClient(url, p.ClientOption(), rec.stampAttempts)
		if err := converse(t.Context(), client); err != nil {
			t.Fatalf("Converse: %v", err)
		}
	})
	if srv.Calls() != 3 {
		t.Fatalf("server saw %d attempts, want 3", srv.Calls())
	}
	want := []time.Duration{500 * time.Millisecond, 1 * time.Second}
	if g := rec.gaps(); !equalDurations(g, want) {
		t.Errorf("gaps between attempts = %v, want %v", g, want)
	}
	if len(rec.retries) != 2 || rec.retries[0].Class.Kind != classify.ThrottleTokens ||
		rec.retries[1].Class.Kind != classify.ThrottleRequests || rec.retries[1].Attempt != 2 {
		t.Errorf("retry events = %+v", rec.retries)
	}
	if avail, capacity := p.BudgetAvailable(); avail != capacity-2+0.1 {
		t.Errorf("budget = %v of %v, want two retries charged and one success credited", avail, capacity)
	}
	if logs.Len() != 0 || len(rec.giveUps) != 0 {
		t.Errorf("success must not log or give up: %s", logs.String())
	}
}

// Delays stay inside the full-jitter bounds for any random draw.
func TestDelaysInsideJitterBounds(t *testing.T) {
	for _, r := range []float64{0, 0.25, 0.999999} {
		_, url := newServer(t, tokens, tokens, ok)
		p, rec, _ := newPolicy(t, rp.Options{Rand: fixedRand(r)})
		synctest.Test(t, func(t *testing.T) {
			if err := converse(t.Context(), newClient(url, p.ClientOption(), rec.stampAttempts)); err != nil {
				t.Fatal(err)
			}
		})
		g := rec.gaps()
		if len(g) != 2 || g[0] < 0 || g[0] >= time.Second || g[1] < 0 || g[1] >= 2*time.Second {
			t.Errorf("rand %v: gaps %v outside [0,1s) and [0,2s)", r, g)
		}
		if g[0] != time.Duration(r*float64(time.Second)) {
			t.Errorf("rand %v: first gap %v", r, g[0])
		}
	}
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	srv, url := newServer(t, tokens)
	p, rec, logs := newPolicy(t, rp.Options{Rand: fixedRand(0.5)})
	var err error
	synctest.Test(t, func(t *testing.T) {
		err = converse(t.Context(), newClient(url, p.ClientOption(), rec.stampAttempts))
	})
	if srv.Calls() != 5 {
		t.Fatalf("attempts = %d, want the default 5", srv.Calls())
	}
	var g *rp.GiveUpError
	if !errors.As(err, &g) {
		t.Fatalf("error %T is not a *GiveUpError: %v", err, err)
	}
	if g.Reason != rp.ReasonMaxAttempts || len(g.Attempts) != 5 {
		t.Errorf("reason %v attempts %d", g.Reason, len(g.Attempts))
	}
	wantDelays := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 0}
	for i, a := range g.Attempts {
		if a.Number != i+1 || a.Class.Kind != classify.ThrottleTokens || a.Delay != wantDelays[i] {
			t.Errorf("attempt %d = %+v", i, a)
		}
	}
	if !equalDurations(rec.gaps(), wantDelays[:4]) {
		t.Errorf("gaps %v", rec.gaps())
	}
	// The SDK's errors are still reachable.
	if _, ok := errors.AsType[*types.ThrottlingException](err); !ok {
		t.Error("errors.As *types.ThrottlingException failed")
	}
	if _, ok := errors.AsType[*retry.MaxAttemptsError](err); !ok {
		t.Error("errors.As *retry.MaxAttemptsError failed")
	}
	// One Warn record, with classes and delays and no message text.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 log record, got %d: %s", len(lines), logs.String())
	}
	for _, want := range []string{`"level":"WARN"`, `"reason":"max_attempts"`, `"attempts":5`, `"operation":"Converse"`,
		`"throttle_tokens(ThrottlingException)"`, `"error.type":"ThrottlingException"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log lacks %s: %s", want, lines[0])
		}
	}
	if strings.Contains(lines[0], "Too many tokens") {
		t.Errorf("log carries message text: %s", lines[0])
	}
	if len(rec.giveUps) != 1 || rec.giveUps[0] != g {
		t.Errorf("OnGiveUp calls = %d", len(rec.giveUps))
	}
}

func TestTokensPerDayFailsAtOnce(t *testing.T) {
	srv, url := newServer(t, tokensPerDay, ok)
	p, _, logs := newPolicy(t, rp.Options{})
	err := converse(t.Context(), newClient(url, p.ClientOption()))
	if srv.Calls() != 1 {
		t.Fatalf("attempts = %d, want 1", srv.Calls())
	}
	g, ok := errors.AsType[*rp.GiveUpError](err)
	if !ok || g.Reason != rp.ReasonNotRetryable || g.Attempts[len(g.Attempts)-1].Class.Kind != classify.ThrottleTokensPerDay {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(logs.String(), "throttle_tokens_per_day") {
		t.Errorf("no warn log: %s", logs.String())
	}
}

func TestModelNotReadyIsRetriedWithLongerBase(t *testing.T) {
	srv, url := newServer(t, notReady, notReady, ok)
	p, rec, _ := newPolicy(t, rp.Options{Rand: fixedRand(0.5)})
	synctest.Test(t, func(t *testing.T) {
		if err := converse(t.Context(), newClient(url, p.ClientOption(), rec.stampAttempts)); err != nil {
			t.Fatal(err)
		}
	})
	if srv.Calls() != 3 {
		t.Fatalf("attempts = %d (the SDK alone makes 1)", srv.Calls())
	}
	if want := []time.Duration{time.Second, 2 * time.Second}; !equalDurations(rec.gaps(), want) {
		t.Errorf("gaps %v, want %v", rec.gaps(), want)
	}
}

func TestServiceUnavailableUsesSmallerBase(t *testing.T) {
	_, url := newServer(t, unavailable, unavailable, ok)
	p, rec, _ := newPolicy(t, rp.Options{Rand: fixedRand(0.5)})
	synctest.Test(t, func(t *testing.T) {
		if err := converse(t.Context(), newClient(url, p.ClientOption(), rec.stampAttempts)); err != nil {
			t.Fatal(err)
		}
	})
	if want := []time.Duration{125 * time.Millisecond, 250 * time.Millisecond}; !equalDurations(rec.gaps(), want) {
		t.Errorf("gaps %v, want %v", rec.gaps(), want)
	}
}

func TestValidationErrorIsReturnedUntouched(t *testing.T) {
	srv, url := newServer(t, validationErr)
	p, _, logs := newPolicy(t, rp.Options{})
	err := converse(t.Context(), newClient(url, p.ClientOption()))
	if srv.Calls() != 1 {
		t.Fatalf("attempts = %d", srv.Calls())
	}
	if errors.As(err, new(*rp.GiveUpError)) {
		t.Errorf("a single not-retryable error should not be wrapped: %v", err)
	}
	if _, ok := errors.AsType[*types.ValidationException](err); !ok {
		t.Errorf("err = %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("unexpected log: %s", logs.String())
	}
}

func TestDeadlineStopsRetryThatWouldOutliveIt(t *testing.T) {
	srv, url := newServer(t, tokens)
	p, rec, logs := newPolicy(t, rp.Options{Rand: fixedRand(0.9)})
	var err error
	var elapsed time.Duration
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 1200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = converse(ctx, newClient(url, p.ClientOption(), rec.stampAttempts))
		elapsed = time.Since(start)
	})
	// First delay 0.9 s fits in 1.2 s; the second (1.8 s) does not.
	if srv.Calls() != 2 || elapsed != 900*time.Millisecond {
		t.Fatalf("attempts %d elapsed %v, want 2 attempts after 900ms", srv.Calls(), elapsed)
	}
	var d *rp.BackoffDeadlineError
	if !errors.As(err, &d) || d.Attempt != 2 || d.Delay != 1800*time.Millisecond || d.Remaining != 300*time.Millisecond {
		t.Fatalf("err = %v (deadline %+v)", err, d)
	}
	g, ok := errors.AsType[*rp.GiveUpError](err)
	if !ok || g.Reason != rp.ReasonDeadline || len(g.Attempts) != 2 {
		t.Fatalf("give-up = %+v", g)
	}
	if _, ok := errors.AsType[*types.ThrottlingException](err); !ok {
		t.Error("last error not wrapped")
	}
	if !strings.Contains(logs.String(), `"reason":"deadline"`) {
		t.Errorf("log: %s", logs.String())
	}
}

// The budget is shared by all clients of one policy.
func TestBudgetSharedAcrossClients(t *testing.T) {
	srvA, urlA := newServer(t, tokens)
	srvB, urlB := newServer(t, tokens)
	p, rec, _ := newPolicy(t, rp.Options{Rand: fixedRand(0), BudgetCapacity: 2})
	errA := converse(t.Context(), newClient(urlA, p.ClientOption()))
	errB := converse(t.Context(), newClient(urlB, p.ClientOption()))
	if srvA.Calls() != 3 || srvB.Calls() != 1 {
		t.Fatalf("attempts A=%d B=%d, want 3 and 1", srvA.Calls(), srvB.Calls())
	}
	for _, err := range []error{errA, errB} {
		g, ok := errors.AsType[*rp.GiveUpError](err)
		if !ok || g.Reason != rp.ReasonBudget {
			t.Errorf("err = %v", err)
		}
		if _, ok := errors.AsType[*rp.BudgetExhaustedError](err); !ok {
			t.Errorf("no *BudgetExhaustedError in %v", err)
		}
	}
	if len(rec.budget) != 2 || rec.budget[0].Kind != classify.ThrottleTokens {
		t.Errorf("OnBudgetExhausted = %+v", rec.budget)
	}
}

// Wiring the policy twice (client option applied twice, plus a per-call
// option) counts every retry once.
func TestWiringTwiceDoesNotDouble(t *testing.T) {
	srv, url := newServer(t, tokens, tokens, ok)
	p, rec, _ := newPolicy(t, rp.Options{Rand: fixedRand(0)})
	client := newClient(url, p.ClientOption(), p.ClientOption())
	if _, err := client.Converse(t.Context(), &bedrockruntime.ConverseInput{
		ModelId:  strPtr("m"),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "x"}}}},
	}, p.ClientOption()); err != nil {
		t.Fatal(err)
	}
	if srv.Calls() != 3 || len(rec.retries) != 2 || rec.retries[1].Attempt != 2 {
		t.Fatalf("calls %d retries %+v", srv.Calls(), rec.retries)
	}
	if avail, _ := p.BudgetAvailable(); avail != 98.1 {
		t.Errorf("budget %v, want 98.1", avail)
	}
}

func strPtr(s string) *string { return &s }
