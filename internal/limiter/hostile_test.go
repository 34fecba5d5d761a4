package limiter

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// TestAcquireRejectsInvalidAmounts: a negative, NaN or infinite amount is
// refused before it reaches a bucket (issue 14, item 1).
func TestAcquireRejectsInvalidAmounts(t *testing.T) {
	l := mustLimiter(t, Config{InitialFill: 1})
	kc := l.KeyConfig(Limits{TokensPerWindow: 1000})
	for _, amt := range []pacing.Amount{
		{Requests: 1, Tokens: -9.2e18}, {Requests: 1, Tokens: math.NaN()}, {Requests: 1, Tokens: math.Inf(1)},
		{Requests: math.NaN(), Tokens: 1}, {Requests: -1, Tokens: 1},
	} {
		tk, err := l.Acquire(context.Background(), "k", kc, amt, Interactive)
		var tl *TooLargeError
		if !errors.As(err, &tl) {
			tk.Release()
			t.Errorf("Acquire(%+v) = %v, want a *TooLargeError", amt, err)
		}
	}
	if st := l.State(context.Background(), "k", kc); st.Level[pacing.Tokens] < 0 {
		t.Fatalf("level %v", st.Level[pacing.Tokens])
	}
}

// TestSettleBoundsTheDebt: whatever a settlement reports, the bucket is never
// left more than one window in debt, and the key admits again within about a
// window.
func TestSettleBoundsTheDebt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 1000, Window: time.Minute})
		ctx := context.Background()
		for _, settle := range []float64{9.2e18, math.Inf(1), math.NaN(), -1e18} {
			tk, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive)
			if err != nil {
				t.Fatal(err)
			}
			tk.Settle(settle)
			if lv := l.State(ctx, "k", kc).Level[pacing.Tokens]; math.IsNaN(lv) || lv < -1000 {
				t.Fatalf("settle %v: level %v, want >= -1 window", settle, lv)
			}
			start := time.Now()
			tk, err = l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive)
			if err != nil {
				t.Fatal(err)
			}
			tk.Release()
			if w := time.Since(start); w > 3*time.Minute {
				t.Fatalf("settle %v: next admission after %v", settle, w)
			}
		}
		if n := l.Outstanding(); n != 0 {
			t.Fatalf("outstanding %d", n)
		}
	})
}

// A settlement's admission charge that is not a finite number is treated
// as unknown: the evidence of the ceiling stays finite.
func TestSettleAdmittedIgnoresNonFiniteAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, _, tks := inFlightAtADecrease(t)
		tks[1].SettleAdmitted(400, math.Inf(1))
		tks[2].SettleAdmitted(400, math.Inf(-1))
		if sp := stateOf(s, "k").spent; math.IsInf(sp, 0) || math.IsNaN(sp) {
			t.Fatalf("spent %v after non-finite admissions, want a finite number", sp)
		}
	})
}
