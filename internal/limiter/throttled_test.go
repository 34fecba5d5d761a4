package limiter

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// A throttled attempt's reservation goes back to the bucket, but the waiter
// behind it is not admitted on those tokens: the throttle empties the bucket
// first, so the waiter goes only after the lowered rate has refilled it.
// Released on its own first (Release, then Throttled), the same tokens
// admit the waiter at once, into the server's empty bucket.
func TestReleaseThrottledAdmitsNoWaiterOnTheRefund(t *testing.T) {
	for _, together := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			l := mustLimiter(t, Config{InitialFill: 1})
			kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute}) // 10 tokens/s
			ctx := context.Background()
			first, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 600}, Interactive)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			admitted := make(chan time.Duration, 1)
			go func() {
				tk, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 60}, Interactive)
				if err != nil {
					t.Error(err)
				}
				admitted <- time.Since(start)
				tk.Release()
			}()
			synctest.Wait() // the second request waits in the queue
			if together {
				if !l.ReleaseThrottled(ctx, first, "k", kc, pacing.Tokens) {
					t.Error("the throttle did not lower the rate")
				}
			} else {
				first.Release()
				l.Throttled(ctx, "k", kc, pacing.Tokens)
			}
			got := <-admitted
			// The rate is lowered to 360 per minute (6 tokens/s) with a debt
			// of half a cooldown (18 tokens): (18 + 60) / 6 = 13 s.
			if together && got != 13*time.Second {
				t.Errorf("released with the throttle: the waiter went after %v, want 13s", got)
			}
			if !together && got != 0 {
				t.Errorf("released before the throttle: the waiter went after %v, want at once", got)
			}
			if l.Outstanding() != 0 {
				t.Error("leaked a ticket")
			}
		})
	}
}

// ReleaseThrottled on a nil or already settled ticket only reports the
// throttle.
func TestReleaseThrottledEndedTicket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		ctx := context.Background()
		tk, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(100)
		if !l.ReleaseThrottled(ctx, tk, "k", kc, pacing.Tokens) {
			t.Fatal("the throttle did not lower the rate")
		}
		if l.ReleaseThrottled(ctx, nil, "k", kc, pacing.Tokens) {
			t.Fatal("a throttle in the cooldown lowered the rate again")
		}
		if st := l.State(ctx, "k", kc); st.Level[pacing.Tokens] > 0 || st.Rate[pacing.Tokens] != 360 {
			t.Fatalf("state %+v, want an empty bucket at 360 per window", st)
		}
		if l.Outstanding() != 0 {
			t.Fatal("leaked a ticket")
		}
	})
}

// Attempts in flight when the rate is lowered were charged in the evidence
// span that decrease closed. Their ends must not count in the new span as
// tokens the service gave back: a throttled one was never charged by the
// service, and a settled one gives back only admitted - charged (the
// reservation's own error stays in the old span). Otherwise the next
// estimate of the ceiling comes out low by all of them together.
func TestInFlightAtADecreaseLeaveTheNextSpan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, l, kc, tks := inFlightAtADecrease(t)
		ctx := context.Background()
		if sp := stateOf(s, "k").spent; sp != 0 {
			t.Fatalf("spent %v right after the decrease, want 0", sp)
		}
		time.Sleep(100 * time.Millisecond)
		// Throttled too, within the cooldown: the service never charged it.
		if l.ReleaseThrottled(ctx, tks[1], "k", kc, pacing.Tokens) {
			t.Fatal("a throttle in the cooldown lowered the rate again")
		}
		if sp := stateOf(s, "k").spent; sp != 0 {
			t.Fatalf("spent %v after a throttled attempt admitted before the decrease, want 0", sp)
		}
		// Settled: reserved 1000, the service admitted it at 900 (prompt
		// + max_tokens) and charged 400; it gave back 500, not 600.
		tks[2].SettleAdmitted(400, 900)
		if sp := stateOf(s, "k").spent; sp != -500 {
			t.Fatalf("spent %v after a settlement admitted before the decrease, want -500", sp)
		}
		// One admitted after the decrease counts as before: its whole refund.
		time.Sleep(time.Minute)
		tk, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1000}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tk.SettleAdmitted(400, 900)
		if sp := stateOf(s, "k").spent; sp != -500+400 {
			t.Fatalf("spent %v after a settlement within the span, want %v", sp, -500+400)
		}
		if l.Outstanding() != 0 {
			t.Fatal("leaked a ticket")
		}
	})
}

// What a ticket reserved beyond the service's admission charge is not
// refunded when the bucket was full since the ticket's admission: the cap
// absorbed it on the service's side too, and refunding it would leave the
// bucket above the service's.
func TestOverReservationAbsorbedByAFullBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 6000, Window: time.Minute})
		ctx := context.Background()
		level := func() float64 { return l.State(ctx, "k", kc).Level[pacing.Tokens] }
		acquire := func(n float64) *Ticket {
			tk, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: n}, Interactive)
			if err != nil {
				t.Fatal(err)
			}
			return tk
		}
		early := acquire(1000)  // the service admits it at 900
		time.Sleep(time.Minute) // the bucket refills to its cap
		burst := acquire(5000)  // 1000 left
		early.SettleAdmitted(400, 900)
		if got, want := level(), 1000.0+500; got != want {
			t.Fatalf("level %v after a settlement across a full bucket, want %v (the 100 over-reserved stays taken)", got, want)
		}
		late := acquire(1000) // 500 left
		late.SettleAdmitted(400, 900)
		if got, want := level(), 500.0+600; got != want {
			t.Fatalf("level %v after a settlement with no full bucket since its admission, want %v", got, want)
		}
		burst.Release()
		if l.Outstanding() != 0 {
			t.Fatal("leaked a ticket")
		}
	})
}

// inFlightAtADecrease admits three tickets of 1000 tokens on key "k"
// (6000 per one-minute window, in a MemoryStore) and, a second later,
// throttles the first one: the other two are in flight across the
// decrease. Call it inside a synctest bubble.
func inFlightAtADecrease(t *testing.T) (*MemoryStore, *Limiter, pacing.KeyConfig, []*Ticket) {
	t.Helper()
	s := NewMemoryStore(nil)
	l := mustLimiter(t, Config{Store: s, InitialFill: 1})
	kc := l.KeyConfig(Limits{TokensPerWindow: 6000, Window: time.Minute})
	var tks []*Ticket
	for range 3 {
		tk, err := l.Acquire(context.Background(), "k", kc, pacing.Amount{Requests: 1, Tokens: 1000}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tks = append(tks, tk)
	}
	time.Sleep(time.Second)
	if !l.ReleaseThrottled(context.Background(), tks[0], "k", kc, pacing.Tokens) {
		t.Fatal("the first throttle did not lower the rate")
	}
	return s, l, kc, tks
}
