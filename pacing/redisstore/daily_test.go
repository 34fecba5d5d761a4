package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
)

// TestDailyQuotaFleetWide: two Limiters sharing one Redis count one
// tokens-per-day quota together: what one process spent, the other cannot,
// and a settlement's refund reaches the shared count.
func TestDailyQuotaFleetWide(t *testing.T) {
	srv := startRedis(t)
	prefix := uniquePrefix(t)
	var procs [2]*limiter.Limiter
	for i := range procs {
		l, err := limiter.NewLimiter(limiter.Config{Store: redisstore.New(srv.Client(t), redisstore.WithPrefix(prefix))})
		if err != nil {
			t.Fatal(err)
		}
		procs[i] = l
	}
	// A day of 100,000 s: the refill during the test is well under a token.
	lim := limiter.Limits{TokensPerWindow: 1e6, TokensPerDay: 10_000, Day: 100_000 * time.Second}
	x := limiter.Extra{Limits: lim}
	ctx := context.Background()
	a, b := procs[0], procs[1]
	kc := a.KeyConfig(lim)
	tk, err := a.AcquireCall(ctx, "us-east-1/model", kc, pacing.Amount{Requests: 1, Tokens: 8000}, limiter.Interactive, x)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.AcquireCall(ctx, "us-east-1/model", kc, pacing.Amount{Requests: 1, Tokens: 1200}, limiter.Interactive, x)
	var be *limiter.BudgetError
	if !errors.As(err, &be) || be.Scope != limiter.ScopeDay {
		t.Fatalf("process b: %v, want a day BudgetError (a holds 8,800 of 10,000 with its margin; b needs 1,320)", err)
	}
	tk.Settle(6000) // 2,800 back: 4,000 left
	tk2, err := b.AcquireCall(ctx, "us-east-1/model", kc, pacing.Amount{Requests: 1, Tokens: 3000}, limiter.Interactive, x)
	if err != nil {
		t.Fatalf("process b after a's settlement: %v", err)
	}
	tk2.Settle(3000)
	if d := a.DayState(ctx, "us-east-1/model", lim); d.Remaining < 999 || d.Remaining > 1001 {
		t.Fatalf("process a sees %v left, want 1,000", d.Remaining)
	}
}
