package limiter

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// fakeNow is a settable clock for the pure store arithmetic.
type fakeNow struct{ t time.Time }

func (f *fakeNow) Now() time.Time      { return f.t }
func (f *fakeNow) add(d time.Duration) { f.t = f.t.Add(d) }
func newFakeNow() *fakeNow             { return &fakeNow{t: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)} }
func near(a, b float64) bool           { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }
func mustLimiter(t *testing.T, c Config) *Limiter {
	t.Helper()
	l, err := NewLimiter(c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestStoreSteps(t *testing.T) {
	clk := newFakeNow()
	s := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Store: s, InitialFill: 1})
	kc := l.KeyConfig(Limits{RequestsPerWindow: 10, TokensPerWindow: 600, Window: time.Minute})
	ctx := context.Background()

	steps := []struct {
		name    string
		advance time.Duration
		op      string // reserve, return, throttle
		amt     pacing.Amount
		ok      bool
		wait    time.Duration
		level   float64 // tokens level after the step
	}{
		{"full bucket admits a window's worth", 0, "reserve", pacing.Amount{Requests: 1, Tokens: 600}, true, 0, 0},
		{"empty bucket: wait for refill at 10 tokens/s", 0, "reserve", pacing.Amount{Requests: 1, Tokens: 10}, false, time.Second, 0},
		{"one second later it fits", time.Second, "reserve", pacing.Amount{Requests: 1, Tokens: 10}, true, 0, 0},
		{"refund of an over-reservation", 0, "return", pacing.Amount{Requests: 0, Tokens: 250}, false, 0, 250},
		{"refill is capped at capacity", 10 * time.Minute, "reserve", pacing.Amount{Requests: 1, Tokens: 0}, true, 0, 600},
		{"requests axis: 10 per minute, one taken above, 9 left", 0, "reserve", pacing.Amount{Requests: 9, Tokens: 0}, true, 0, 600},
		{"requests exhausted: 6 s per request", 0, "reserve", pacing.Amount{Requests: 1, Tokens: 0}, false, 6 * time.Second, 600},
		{"settlement above the reservation leaves debt", 0, "return", pacing.Amount{Requests: 0, Tokens: -900}, false, 0, -300},
		{"debt delays admission", 0, "reserve", pacing.Amount{Requests: 0, Tokens: 60}, false, 36 * time.Second, -300},
	}
	for _, st := range steps {
		clk.add(st.advance)
		switch st.op {
		case "reserve":
			res, _ := s.Reserve(ctx, "k", kc, st.amt)
			if res.OK != st.ok || res.Wait != st.wait {
				t.Fatalf("%s: got ok=%v wait=%v, want ok=%v wait=%v", st.name, res.OK, res.Wait, st.ok, st.wait)
			}
		case "return":
			_ = s.Return(ctx, "k", kc, st.amt)
		}
		if ks, _ := s.State(ctx, "k", kc); !near(ks.Level[pacing.Tokens], st.level) {
			t.Fatalf("%s: token level %v, want %v", st.name, ks.Level[pacing.Tokens], st.level)
		}
	}
}

func TestOversizeRequestAdmittedWhenBucketFull(t *testing.T) {
	clk := newFakeNow()
	s := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Store: s, InitialFill: 1})
	kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
	ctx := context.Background()
	// After a throttle the capacity is 360: a 500-token request must still
	// be admitted once the bucket is full, not wait forever.
	s.Throttled(ctx, "k", kc, pacing.Tokens)
	res, _ := s.Reserve(ctx, "k", kc, pacing.Amount{Requests: 0, Tokens: 500})
	if res.OK || res.Wait != time.Minute {
		t.Fatalf("got %+v, want a one-window wait for a full bucket", res)
	}
	clk.add(time.Minute)
	if res, _ := s.Reserve(ctx, "k", kc, pacing.Amount{Requests: 0, Tokens: 500}); !res.OK {
		t.Fatalf("full bucket did not admit an oversize request: %+v", res)
	}
}

func TestAdaptiveRecovery(t *testing.T) {
	for _, alg := range []pacing.Algorithm{pacing.CUBIC, pacing.AIMD} {
		t.Run(alg.String(), func(t *testing.T) {
			clk := newFakeNow()
			s := NewMemoryStore(clk.Now)
			l := mustLimiter(t, Config{Store: s, Algorithm: alg})
			kc := l.KeyConfig(Limits{TokensPerWindow: 1000, Window: time.Minute})
			ctx := context.Background()
			rate := func() float64 { ks, _ := s.State(ctx, "k", kc); return ks.Rate[pacing.Tokens] }
			if r := rate(); r != 1000 {
				t.Fatalf("initial rate %v, want the quota", r)
			}
			if lowered, _ := s.Throttled(ctx, "k", kc, pacing.Tokens); !lowered {
				t.Fatal("first throttle did not lower the rate")
			}
			if r := rate(); !near(r, 600) {
				t.Fatalf("rate after throttle %v, want 600", r)
			}
			clk.add(time.Second) // inside the cooldown (6 s)
			if lowered, _ := s.Throttled(ctx, "k", kc, pacing.Tokens); lowered {
				t.Fatal("a throttle inside the cooldown lowered the rate again")
			}
			var at1, at3 float64
			clk.add(time.Minute - time.Second)
			at1 = rate()
			clk.add(3 * time.Minute)
			at3 = rate() // 4 windows after the decrease
			switch alg {
			case pacing.CUBIC:
				// K = cbrt(0.4/0.015) = 2.99 windows: most of the way back after
				// one window, at the quota after K.
				if !(at1 > 850 && at1 < 1000) || at3 != 1000 {
					t.Fatalf("cubic: rate after 1 window %v, after 4 windows %v", at1, at3)
				}
			case pacing.AIMD:
				if !near(at1, 700) || !near(at3, 1000) {
					t.Fatalf("aimd: rate after 1 window %v (want 700), after 4 windows %v (want 1000)", at1, at3)
				}
			}
		})
	}
}

func TestNoQuotaPacedOnlyAfterThrottle(t *testing.T) {
	clk := newFakeNow()
	s := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Store: s})
	kc := l.KeyConfig(Limits{Window: time.Minute})
	ctx := context.Background()
	for range 100 {
		if res, _ := s.Reserve(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1000}); !res.OK {
			t.Fatal("an unknown quota must not be paced before a throttle")
		}
		clk.add(600 * time.Millisecond)
	}
	// About 100k tokens per minute were admitted; a throttle sets the rate
	// to beta times that.
	s.Throttled(ctx, "k", kc, pacing.Tokens)
	ks, _ := s.State(ctx, "k", kc)
	if !ks.Limited[pacing.Tokens] || ks.Limited[pacing.Requests] {
		t.Fatalf("limited = %v, want tokens only", ks.Limited)
	}
	if r := ks.Rate[pacing.Tokens]; r < 0.6*60_000 || r > 0.6*100_000 {
		t.Fatalf("rate after throttle %v, want 0.6 x the measured ~63k-100k per window", r)
	}
	if res, _ := s.Reserve(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1000}); res.OK {
		t.Fatal("the bucket must be empty right after a throttle")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{{Beta: 1.5}, {InitialFill: 2}, {Cooldown: -1}, {Algorithm: 7}} {
		if _, err := NewLimiter(c); err == nil {
			t.Errorf("NewLimiter(%+v) = nil error", c)
		}
	}
}

// A key without a quota that is throttled seconds after it started must not
// crawl: its rate comes from what it sent per unit of time, not from the
// small total it has sent so far.
func TestNoQuotaYoungKeyThrottle(t *testing.T) {
	clk := newFakeNow()
	s := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Store: s})
	kc := l.KeyConfig(Limits{Window: time.Minute})
	ctx := context.Background()
	for range 5 { // 5000 tokens in 2 s: 150k per minute
		s.Reserve(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1000})
		clk.add(400 * time.Millisecond)
	}
	s.Throttled(ctx, "k", kc, pacing.Tokens)
	ks, _ := s.State(ctx, "k", kc)
	if r := ks.Rate[pacing.Tokens]; r < 0.6*100_000 {
		t.Fatalf("rate after an early throttle %v per minute, want about 0.6 x 150k", r)
	}
	res, _ := s.Reserve(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1000})
	if res.OK || res.Wait > time.Second {
		t.Fatalf("next 1000-token request: %+v, want a wait under a second", res)
	}
}
