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
	// be admitted once the bucket is full, not wait forever. The throttle
	// left a debt of half a cooldown (a twentieth of the window): the wait is 1.05
	// windows.
	s.Throttled(ctx, "k", kc, pacing.Tokens)
	res, _ := s.Reserve(ctx, "k", kc, pacing.Amount{Requests: 0, Tokens: 500})
	if res.OK || !near(float64(res.Wait), float64(63*time.Second)) {
		t.Fatalf("got %+v, want a wait of 1.05 windows for a full bucket", res)
	}
	clk.add(63 * time.Second)
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

// Without a quota the first admission is a small burst (four times the
// first request), then the rate grows with what is admitted.
func TestNoQuotaSlowStart(t *testing.T) {
	clk := newFakeNow()
	s := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Store: s})
	kc := l.KeyConfig(Limits{Window: time.Minute})
	ctx := context.Background()
	amt := pacing.Amount{Requests: 1, Tokens: 1000}
	for i := range 4 {
		if res, _ := s.Reserve(ctx, "k", kc, amt); !res.OK {
			t.Fatalf("request %d of the first burst waited %v", i, res.Wait)
		}
	}
	res, _ := s.Reserve(ctx, "k", kc, amt)
	if res.OK || res.Wait <= 0 {
		t.Fatalf("the fifth request at once: %+v, want a wait", res)
	}
	ks, _ := s.State(ctx, "k", kc)
	if !ks.Limited[pacing.Tokens] || !ks.Limited[pacing.Requests] {
		t.Fatalf("limited = %v, want both axes paced from the start", ks.Limited)
	}
	r0 := ks.Rate[pacing.Tokens]
	// Keep the bucket busy for a window: the rate grows by e every quarter
	// window, bounded by 8x what was admitted over the last window.
	var admitted float64
	for range 600 {
		clk.add(100 * time.Millisecond)
		for {
			res, _ := s.Reserve(ctx, "k", kc, amt)
			if !res.OK {
				break
			}
			admitted += amt.Tokens
		}
	}
	ks, _ = s.State(ctx, "k", kc)
	if r := ks.Rate[pacing.Tokens]; r < 20*r0 || r > 8*admitted {
		t.Fatalf("slow-start rate after a window %v (from %v, %v admitted), want above 20x, at most 8x admitted", r, r0, admitted)
	}
}

// The first throttle out of slow start estimates the ceiling from what was
// admitted: against a server bucket of Q per window, full at the start,
// slow start sends below Q for a while (the server's refill is wasted),
// then drains it. The estimate comes from the suffix of the span that
// starts about when the bucket began to drain, so the rate lands just under
// Q, not the 20 % under it that the whole span would give.
func TestNoQuotaFirstThrottleEstimatesCeiling(t *testing.T) {
	clk := newFakeNow()
	s := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Store: s})
	kc := l.KeyConfig(Limits{Window: time.Minute})
	ctx := context.Background()
	const q = 60000.0 // the server's tokens per window
	amt := pacing.Amount{Requests: 1, Tokens: 1000}
	server, last, start := q, clk.t, clk.t
	var wasted float64
	throttled := false
	for i := 0; i < 6000 && !throttled; i++ { // at most 10 windows
		clk.add(100 * time.Millisecond)
		refill := q * float64(clk.t.Sub(last)) / float64(time.Minute)
		wasted += math.Max(0, server+refill-q)
		server, last = math.Min(q, server+refill), clk.t
		// The demand: one call every 2 s (half the ceiling) for two
		// windows, then as much as the limiter admits.
		for n := 0; ; n++ {
			if clk.t.Sub(start) < 2*time.Minute && (n > 0 || clk.t.Sub(start)%(2*time.Second) != 0) {
				break
			}
			res, _ := s.Reserve(ctx, "k", kc, amt)
			if !res.OK {
				break
			}
			if server < amt.Tokens {
				if lowered, _ := s.Throttled(ctx, "k", kc, pacing.Tokens); !lowered {
					t.Fatal("the first throttle did not lower the rate")
				}
				throttled = true
				break
			}
			server -= amt.Tokens
		}
	}
	if !throttled {
		t.Fatal("slow start never reached the server's ceiling")
	}
	if wasted < 0.2*q {
		t.Fatalf("the server wasted only %v of its refill: the test does not exercise the suffixes", wasted)
	}
	ks, _ := s.State(ctx, "k", kc)
	if r := ks.Rate[pacing.Tokens]; r < 0.9*q || r > q {
		t.Fatalf("rate after the first throttle %v, want within 10 %% under the ceiling %v", r, q)
	}
}

// After a throttle, a later throttle with a window or more of evidence
// sets the rate just under the rate charged since the previous one, and
// the rate holds there for the hold before it probes; a probe that only
// confirms the ceiling doubles the next hold.
func TestEvidenceHoldAndProbe(t *testing.T) {
	clk := newFakeNow()
	s := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Store: s, InitialFill: 1})
	kc := l.KeyConfig(Limits{TokensPerWindow: 1000, Window: time.Minute})
	ctx := context.Background()
	rate := func() float64 { ks, _ := s.State(ctx, "k", kc); return ks.Rate[pacing.Tokens] }
	s.Throttled(ctx, "k", kc, pacing.Tokens) // no evidence: Beta
	if r := rate(); !near(r, 600) {
		t.Fatalf("rate after a throttle without evidence %v, want 600", r)
	}
	// Two windows at the server's real ceiling, 700 per window.
	for range 120 {
		clk.add(time.Second)
		s.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 700.0 / 60})
	}
	spent := stateOf(s, "k").spent
	left := stateOf(s, "k").avgTake / 2 // what the server held at the throttle, on average
	if spent < 1300 {
		t.Fatalf("spent %v over two windows, want about 1400", spent)
	}
	s.Throttled(ctx, "k", kc, pacing.Tokens)
	hold := (spent + left) / 2 * (1 - holdMargin)
	if r := rate(); !near(r, hold) {
		t.Fatalf("rate after two windows at 700 %v, want %v", r, hold)
	}
	spend := func(d time.Duration, perWindow float64) {
		for range int(d / time.Second) {
			clk.add(time.Second)
			s.Reserve(ctx, "k", kc, pacing.Amount{Tokens: perWindow / 60})
		}
	}
	spend(time.Duration(minHoldTold)*time.Minute, 680) // the hold under a configured quota
	if r := rate(); !near(r, hold) {
		t.Fatalf("rate at the end of the hold %v, want %v", r, hold)
	}
	spend(3*time.Minute, 680)
	if r := rate(); r <= 700 {
		t.Fatalf("rate 3 windows into the probe %v, want above the estimate 700", r)
	}
	// The probe ends with a throttle that confirms 700: the next hold is
	// twice as long.
	s.Throttled(ctx, "k", kc, pacing.Tokens)
	st := stateOf(s, "k")
	if st.gap != 2*minHoldTold {
		t.Fatalf("hold after a confirming probe %v windows, want %v", st.gap, 2*minHoldTold)
	}
}

// Each probe that confirms the ceiling doubles the next hold, up to
// maxHold with a configured quota and maxHoldLearned without one, so that
// a learned ceiling that rose is found within about ten windows.
func TestHoldCap(t *testing.T) {
	for _, quota := range []float64{0, 1000} {
		c := pacing.AxisConfig{Quota: quota, Window: time.Minute, Beta: 0.6, CubicC: 0.015, Cooldown: 6 * time.Second}
		t0 := newFakeNow().t
		s := axis{init: true, limited: true, last: t0, wMax: 700, base: 679, gap: minHold, decreasedAt: t0, markAt: t0}
		now := t0
		var gaps []float64
		for range 6 {
			// Twenty windows at the ceiling, 700 per window, then the
			// throttle of the probe past it (450 admitted over the last
			// window caps a learned rate at 900: the estimate is within a
			// Beta step of it).
			now = now.Add(20 * time.Minute)
			s.spent, s.measured, s.measuredAt = 14000, 450, now
			if !s.throttled(&c, now) {
				t.Fatal("the throttle did not lower the rate")
			}
			gaps = append(gaps, s.gap)
		}
		want := []float64{4, 8, 16, 16, 16, 16}
		if quota == 0 {
			want = []float64{4, 4, 4, 4, 4, 4}
		}
		for i := range want {
			if gaps[i] != want[i] {
				t.Fatalf("quota %v: holds %v, want %v", quota, gaps, want)
			}
		}
	}
}

// Out of slow start, evidence that asks for a cut deeper than Beta is used
// only over a span of deepSpan windows or more (a probe that ran far past
// the ceiling on the server's saved slack), and the rate then regrows at
// once; over a shorter span the rate takes the Beta step.
func TestDeepCut(t *testing.T) {
	t0 := newFakeNow().Now()
	c := &pacing.AxisConfig{Window: time.Minute, Beta: 0.6, CubicC: 0.015, Cooldown: 6 * time.Second}
	// A rate of 1000 per window (the learned ceiling caps it at twice the
	// 500 admitted over the last window), and 400 per window charged.
	probe := func(windows float64) axis {
		now := t0.Add(time.Duration(windows * float64(time.Minute)))
		return axis{init: true, limited: true, last: now, wMax: 1000, base: 1000, decreasedAt: t0.Add(-time.Hour),
			markAt: t0, spent: 400 * windows, measured: 500, measuredAt: now}
	}
	long := probe(3)
	long.throttled(c, t0.Add(3*time.Minute))
	if want := 400 * (1 - holdMargin); !near(long.base, want) || long.hold != 0 {
		t.Fatalf("3 windows of evidence: rate %v and hold %v after the throttle, want the estimate's %v and 0", long.base, long.hold, want)
	}
	short := probe(1.5)
	short.throttled(c, t0.Add(90*time.Second))
	if !near(short.base, 600) {
		t.Fatalf("1.5 windows of evidence: rate after the throttle %v, want the Beta step 600", short.base)
	}
}

// stateOf returns a copy of the tokens axis of key.
func stateOf(s *MemoryStore, key string) axis {
	v, _ := s.keys.Load(key)
	k := v.(*memKey)
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.axes[pacing.Tokens]
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{{Beta: 1.5}, {InitialFill: 2}, {Cooldown: -1}, {Algorithm: 7}} {
		if _, err := NewLimiter(c); err == nil {
			t.Errorf("NewLimiter(%+v) = nil error", c)
		}
	}
}

// A silent quota drop: the guard was told Q and ran at Q for five windows,
// so the evidence at the first throttle says Q. An estimate that close to
// the throttled rate measures the old ceiling, not the new one: the rate
// takes the Beta step instead of holding just under Q.
func TestToldQuotaDropTakesBetaStep(t *testing.T) {
	clk := newFakeNow()
	s := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Store: s, InitialFill: 1})
	kc := l.KeyConfig(Limits{TokensPerWindow: 1000, Window: time.Minute})
	ctx := context.Background()
	rate := func() float64 { ks, _ := s.State(ctx, "k", kc); return ks.Rate[pacing.Tokens] }
	s.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 1000}) // the initial fill
	for range 300 {                                      // then five windows at the told quota
		clk.add(time.Second)
		s.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 1000.0 / 60})
	}
	if est := stateOf(s, "k").spent / 6; est < 0.95*1000*0.99 {
		t.Fatalf("evidence %v per window, want about the told 1000", est)
	}
	s.Throttled(ctx, "k", kc, pacing.Tokens)
	if r := rate(); !near(r, 600) {
		t.Fatalf("rate after a drop from a sustained told quota %v, want the Beta step 600", r)
	}
}

// In slow start there was no ceiling before, so an estimate close to the
// throttled rate is used; so it is while the rate probes past the last
// estimate. While the rate is held (the hold after a decrease, or a
// configured quota never lowered), the same evidence says the ceiling held
// most of the span and dropped just before its end: the Beta step.
func TestEvidenceBelowOnlyOutOfSlowStart(t *testing.T) {
	t0 := newFakeNow().Now()
	c := &pacing.AxisConfig{Window: time.Minute, Beta: 0.6, CubicC: 0.015, Cooldown: 6 * time.Second}
	slow := axis{init: true, limited: true, last: t0, slow: 1000, base: 100, markAt: t0, credit: 1, spent: 1940}
	now := t0.Add(time.Minute) // span 2 windows: estimate 970, 97 % of the rate 1000
	slow.throttled(c, now)
	if want := 970 * (1 - holdMargin); !near(slow.base, want) {
		t.Fatalf("slow start: rate after the throttle %v, want the estimate's hold %v", slow.base, want)
	}
	held := axis{init: true, limited: true, last: t0, wMax: 1000, base: 1000, hold: 100, decreasedAt: t0.Add(-time.Hour), markAt: t0, spent: 1940}
	held.throttled(c, now.Add(time.Minute)) // span 2 windows: estimate 970 of a rate of 1000
	if !near(held.base, 600) {
		t.Fatalf("held: rate after the throttle %v, want the Beta step 600", held.base)
	}
	probing := axis{init: true, limited: true, last: t0, wMax: 1000, base: 970, hold: 2, decreasedAt: t0.Add(-time.Hour), markAt: t0, spent: 1940}
	probing.throttled(c, now.Add(time.Minute))
	if want := 970 * (1 - holdMargin); !near(probing.base, want) {
		t.Fatalf("probing: rate after the throttle %v, want the estimate's hold %v", probing.base, want)
	}
}
