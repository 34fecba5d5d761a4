package retry_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	rp "github.com/bedrockguard/bedrockguard/internal/retry"
)

// fakeClock is an injected Options.Now: the rate limit of the give-up log is
// tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A storm of failing calls on one key writes one Warn record per
// LogInterval; the next record counts what was suppressed.
func TestGiveUpLogRateLimitedPerKey(t *testing.T) {
	_, url := newServer(t, tokensPerDay)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p, rec, logs := newPolicy(t, rp.Options{Now: clock.Now})
	c := newClient(url, p.ClientOption())
	for range 50 {
		if err := converse(t.Context(), c); err == nil {
			t.Fatal("want an error")
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("50 failures in one instant: want 1 record, got %d:\n%s", len(lines), logs.String())
	}
	if strings.Contains(lines[0], "suppressed") {
		t.Errorf("first record counts suppressed: %s", lines[0])
	}
	if !strings.Contains(lines[0], `"model":"us.anthropic.claude-sonnet-4-5-20250929-v1:0"`) {
		t.Errorf("record lacks the model: %s", lines[0])
	}
	if len(rec.giveUps) != 50 {
		t.Errorf("OnGiveUp calls = %d, want every one of the 50 (only the log is limited)", len(rec.giveUps))
	}

	clock.Advance(rp.LogInterval - time.Millisecond)
	_ = converse(t.Context(), c)
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Fatalf("inside the interval: %d records", n)
	}
	clock.Advance(time.Millisecond)
	_ = converse(t.Context(), c)
	lines = strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("after the interval: want 2 records, got %d:\n%s", len(lines), logs.String())
	}
	if !strings.Contains(lines[1], `"suppressed":50`) {
		t.Errorf("second record should count the 50 suppressed: %s", lines[1])
	}

	// Another key (here another reason and error type) has its own limit.
	_, url2 := newServer(t, tokens, validationErr)
	_ = converse(t.Context(), newClient(url2, p.ClientOption()))
	lines = strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], `"error.type":"ValidationException"`) {
		t.Errorf("a new key should log at once: %s", logs.String())
	}
}

// A give-up refused by the retry budget is one line: the SDK joins the
// budget error to the attempt's with errors.Join, whose text has a newline.
func TestBudgetGiveUpIsOneLine(t *testing.T) {
	_, url := newServer(t, tokens)
	p, _, _ := newPolicy(t, rp.Options{Rand: fixedRand(0), BudgetCapacity: 1})
	err := converse(t.Context(), newClient(url, p.ClientOption()))
	g, ok := errors.AsType[*rp.GiveUpError](err)
	if !ok || g.Reason != rp.ReasonBudget {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("give-up error spans lines:\n%s", err)
	}
	if !strings.Contains(err.Error(), "retry budget exhausted (0 available, 1 needed)") {
		t.Errorf("error = %s", err)
	}
}

// The budget error never reads as if the budget could have paid.
func TestBudgetExhaustedErrorRounding(t *testing.T) {
	for _, tc := range []struct {
		avail, cost float64
		want        string
	}{
		{0.96, 1, "(0.96 available, 1 needed)"},
		{0.999, 1, "(0.99 available, 1 needed)"},
		{0, 1, "(0 available, 1 needed)"},
		{2.5, 3.001, "(2.5 available, 3.01 needed)"},
	} {
		got := (&rp.BudgetExhaustedError{Available: tc.avail, Cost: tc.cost}).Error()
		if !strings.HasSuffix(got, tc.want) {
			t.Errorf("%v/%v: %s, want suffix %s", tc.avail, tc.cost, got, tc.want)
		}
	}
}
