// Package storetest is a conformance suite for implementations of
// [pacing.Store]: the same step tables run against the guard's in-process store and against any other Store, such as the Redis
// store in pacing/redisstore, so that every implementation applies exactly
// the same bucket arithmetic.
//
// The suite drives time through a fake clock that it passes to the store's
// constructor; a store that normally reads another clock (Redis TIME) must
// offer a way to read this one instead for the suite. All clock steps are
// whole microseconds, the resolution of Redis TIME.
package storetest

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/storekit"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// newStoreFunc returns a new, empty store that reads the time from now.
type newStoreFunc = func(now func() time.Time) pacing.Store

// Run runs the conformance suite against the stores newStore returns. Each
// call of newStore must return a new, empty store that reads the time from
// now and shares no keys with the stores returned before (for a shared
// server: a fresh key prefix).
func Run(t *testing.T, newStore func(now func() time.Time) pacing.Store) {
	t.Run("Steps", func(t *testing.T) { testSteps(t, newStore) })
	t.Run("OversizeAdmittedWhenFull", func(t *testing.T) { testOversize(t, newStore) })
	t.Run("AdaptiveRecovery", func(t *testing.T) { testAdaptiveRecovery(t, newStore) })
	t.Run("Cooldown", func(t *testing.T) { testCooldown(t, newStore) })
	t.Run("FastConvergence", func(t *testing.T) { testFastConvergence(t, newStore) })
	t.Run("MinRate", func(t *testing.T) { testMinRate(t, newStore) })
	t.Run("MaxWait", func(t *testing.T) { testMaxWait(t, newStore) })
	t.Run("NoQuota", func(t *testing.T) { testNoQuota(t, newStore) })
	t.Run("YoungKey", func(t *testing.T) { testYoungKey(t, newStore) })
	t.Run("InitialFill", func(t *testing.T) { testInitialFill(t, newStore) })
	t.Run("KeysAreIndependent", func(t *testing.T) { testKeys(t, newStore) })
	t.Run("RandomAgainstMemoryStore", func(t *testing.T) { testRandom(t, newStore) })
	runAdmit(t, newStore)
}

// harness wraps a store under test with failing helpers.
type harness struct {
	t   *testing.T
	s   pacing.Store
	clk *storekit.Clock
	ctx context.Context
}

func newHarness(t *testing.T, newStore newStoreFunc) *harness {
	clk := storekit.NewClock()
	return &harness{t: t, s: newStore(clk.Now), clk: clk, ctx: context.Background()}
}

func (h *harness) reserve(key string, kc pacing.KeyConfig, amt pacing.Amount) pacing.ReserveResult {
	h.t.Helper()
	res, err := h.s.Reserve(h.ctx, key, kc, amt)
	if err != nil {
		h.t.Fatalf("Reserve: %v", err)
	}
	return res
}

func (h *harness) ret(key string, kc pacing.KeyConfig, amt pacing.Amount) {
	h.t.Helper()
	if err := h.s.Return(h.ctx, key, kc, amt); err != nil {
		h.t.Fatalf("Return: %v", err)
	}
}

func (h *harness) throttled(key string, kc pacing.KeyConfig, a pacing.Axis) bool {
	h.t.Helper()
	lowered, err := h.s.Throttled(h.ctx, key, kc, a)
	if err != nil {
		h.t.Fatalf("Throttled: %v", err)
	}
	return lowered
}

func (h *harness) state(key string, kc pacing.KeyConfig) pacing.KeyState {
	h.t.Helper()
	ks, err := h.s.State(h.ctx, key, kc)
	if err != nil {
		h.t.Fatalf("State: %v", err)
	}
	return ks
}

func testSteps(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{RequestsPerWindow: 10, TokensPerWindow: 600, Window: time.Minute})
	steps := []struct {
		name    string
		advance time.Duration
		op      string // reserve, return
		amt     pacing.Amount
		ok      bool
		wait    time.Duration
		level   float64 // tokens level after the step
	}{
		{"full bucket admits a window's worth", 0, "reserve", pacing.Amount{Requests: 1, Tokens: 600}, true, 0, 0},
		{"empty bucket: wait for refill at 10 tokens/s", 0, "reserve", pacing.Amount{Requests: 1, Tokens: 10}, false, time.Second, 0},
		{"one second later it fits", time.Second, "reserve", pacing.Amount{Requests: 1, Tokens: 10}, true, 0, 0},
		{"refund of an over-reservation", 0, "return", pacing.Amount{Tokens: 250}, false, 0, 250},
		{"refill is capped at capacity", 10 * time.Minute, "reserve", pacing.Amount{Requests: 1}, true, 0, 600},
		{"requests axis: 10 per minute, one taken above, 9 left", 0, "reserve", pacing.Amount{Requests: 9}, true, 0, 600},
		{"requests exhausted: 6 s per request", 0, "reserve", pacing.Amount{Requests: 1}, false, 6 * time.Second, 600},
		{"settlement above the reservation leaves debt", 0, "return", pacing.Amount{Tokens: -900}, false, 0, -300},
		{"debt delays admission", 0, "reserve", pacing.Amount{Tokens: 60}, false, 36 * time.Second, -300},
		{"a refund larger than capacity is capped", 0, "return", pacing.Amount{Requests: 50, Tokens: 5000}, false, 0, 600},
		{"partial refill after 1.5 s from empty", 0, "reserve", pacing.Amount{Tokens: 600}, true, 0, 0},
		{"1.5 s later: 15 tokens", 1500 * time.Millisecond, "reserve", pacing.Amount{Tokens: 20}, false, 500 * time.Millisecond, 15},
	}
	for _, st := range steps {
		h.clk.Add(st.advance)
		switch st.op {
		case "reserve":
			res := h.reserve("k", kc, st.amt)
			if res.OK != st.ok || !storekit.NearWait(res.Wait, st.wait) {
				t.Fatalf("%s: got ok=%v wait=%v, want ok=%v wait=%v", st.name, res.OK, res.Wait, st.ok, st.wait)
			}
		case "return":
			h.ret("k", kc, st.amt)
		}
		if ks := h.state("k", kc); !storekit.Near(ks.Level[pacing.Tokens], st.level) {
			t.Fatalf("%s: token level %v, want %v", st.name, ks.Level[pacing.Tokens], st.level)
		}
	}
}

func testOversize(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{TokensPerWindow: 600, Window: time.Minute})
	// After a throttle the capacity is 360: a 500-token request must still
	// be admitted once the bucket is full, not wait forever. The throttle
	// left a debt of half a cooldown (a twentieth of the window).
	h.throttled("k", kc, pacing.Tokens)
	if res := h.reserve("k", kc, pacing.Amount{Tokens: 500}); res.OK || !storekit.NearWait(res.Wait, 63*time.Second) {
		t.Fatalf("got %+v, want a wait of 1.05 windows for a full bucket", res)
	}
	h.clk.Add(63 * time.Second)
	if res := h.reserve("k", kc, pacing.Amount{Tokens: 500}); !res.OK {
		t.Fatalf("full bucket did not admit an oversize request: %+v", res)
	}
}

func testAdaptiveRecovery(t *testing.T, newStore newStoreFunc) {
	for _, alg := range []pacing.Algorithm{pacing.CUBIC, pacing.AIMD} {
		t.Run(alg.String(), func(t *testing.T) {
			h := newHarness(t, newStore)
			kc := storekit.KeyConfig(t, limiter.Config{Algorithm: alg}, limiter.Limits{TokensPerWindow: 1000, Window: time.Minute})
			rate := func() float64 { return h.state("k", kc).Rate[pacing.Tokens] }
			if r := rate(); r != 1000 {
				t.Fatalf("initial rate %v, want the quota", r)
			}
			if !h.throttled("k", kc, pacing.Tokens) {
				t.Fatal("first throttle did not lower the rate")
			}
			if r := rate(); !storekit.Near(r, 600) {
				t.Fatalf("rate after throttle %v, want 600", r)
			}
			h.clk.Add(time.Second) // inside the cooldown (6 s)
			if h.throttled("k", kc, pacing.Tokens) {
				t.Fatal("a throttle inside the cooldown lowered the rate again")
			}
			h.clk.Add(30*time.Second - time.Second)
			half := rate()
			h.clk.Add(30 * time.Second)
			at1 := rate()
			h.clk.Add(3 * time.Minute)
			at4 := rate() // 4 windows after the decrease
			switch alg {
			case pacing.CUBIC:
				// W(t) = 1000 (1 + 0.015 (t-K)^3), K = cbrt(0.4/0.015).
				k := math.Cbrt(0.4 / 0.015)
				w := func(t float64) float64 { return 1000 * (1 + 0.015*(t-k)*(t-k)*(t-k)) }
				if !storekit.Near(half, w(0.5)) || !storekit.Near(at1, w(1)) || at4 != 1000 {
					t.Fatalf("cubic: rate after 0.5, 1, 4 windows %v, %v, %v; want %v, %v, 1000", half, at1, at4, w(0.5), w(1))
				}
			case pacing.AIMD:
				if !storekit.Near(half, 650) || !storekit.Near(at1, 700) || !storekit.Near(at4, 1000) {
					t.Fatalf("aimd: rate after 0.5, 1, 4 windows %v, %v, %v; want 650, 700, 1000", half, at1, at4)
				}
			}
		})
	}
}

func testCooldown(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{RequestsPerWindow: 100, TokensPerWindow: 1000, Window: time.Minute})
	if !h.throttled("k", kc, pacing.Requests) {
		t.Fatal("first throttle did not lower the rate")
	}
	h.clk.Add(kc.Requests.Cooldown - time.Millisecond)
	if h.throttled("k", kc, pacing.Requests) {
		t.Fatal("a throttle 1 ms before the end of the cooldown lowered the rate")
	}
	// A throttle inside the cooldown still empties the bucket.
	if ks := h.state("k", kc); ks.Level[pacing.Requests] > 0 {
		t.Fatalf("requests level %v after a throttle, want <= 0", ks.Level[pacing.Requests])
	}
	h.clk.Add(time.Millisecond)
	if !h.throttled("k", kc, pacing.Requests) {
		t.Fatal("a throttle at the end of the cooldown did not lower the rate")
	}
	// The other axis is untouched.
	if ks := h.state("k", kc); ks.Rate[pacing.Tokens] != 1000 || !storekit.Near(ks.Level[pacing.Tokens], 1000) {
		t.Fatalf("tokens axis changed by requests throttles: %+v", ks)
	}
}

func testFastConvergence(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{TokensPerWindow: 1000, Window: time.Minute})
	h.throttled("k", kc, pacing.Tokens)
	h.clk.Add(30 * time.Second)
	cur := h.state("k", kc).Rate[pacing.Tokens] // still below the 1000 that throttled
	if !h.throttled("k", kc, pacing.Tokens) {
		t.Fatal("second throttle did not lower the rate")
	}
	if r := h.state("k", kc).Rate[pacing.Tokens]; !storekit.Near(r, 0.6*cur) {
		t.Fatalf("rate after the second throttle %v, want 0.6 x %v", r, cur)
	}
	// The curve's plateau is at Wmax = cur (1+Beta)/2, reached K windows
	// after the decrease, K = cbrt((1 - 0.6/0.8)/C).
	k := math.Cbrt(0.25 / 0.015)
	h.clk.Add(time.Duration(k * float64(time.Minute)).Round(time.Microsecond))
	if r := h.state("k", kc).Rate[pacing.Tokens]; math.Abs(r-0.8*cur) > 1e-6*cur {
		t.Fatalf("plateau %v, want 0.8 x %v", r, cur)
	}
}

func testMinRate(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{TokensPerWindow: 10, Window: time.Minute})
	for range 10 {
		h.throttled("k", kc, pacing.Tokens)
		h.clk.Add(kc.Tokens.Cooldown)
	}
	h.throttled("k", kc, pacing.Tokens)
	if r := h.state("k", kc).Rate[pacing.Tokens]; !storekit.Near(r, 1) {
		t.Fatalf("rate after repeated throttles %v, want the floor of 1 per window", r)
	}
	// At one unit per window a request for 5 needs a full bucket (1 unit):
	// 1.05 windows from the throttle's debt of half a cooldown.
	if res := h.reserve("k", kc, pacing.Amount{Tokens: 5}); res.OK || !storekit.NearWait(res.Wait, 63*time.Second) {
		t.Fatalf("got %+v, want a wait of 1.05 windows", res)
	}
}

func testMaxWait(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{TokensPerWindow: 600, Window: time.Minute})
	h.ret("k", kc, pacing.Amount{Tokens: -1e12})
	if res := h.reserve("k", kc, pacing.Amount{Tokens: 1}); res.OK || res.Wait != 24*time.Hour {
		t.Fatalf("got %+v, want the 24h cap", res)
	}
}

func testNoQuota(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{Window: time.Minute})
	if ks := h.state("k", kc); ks.Limited != [2]bool{true, true} || !math.IsInf(ks.Rate[pacing.Tokens], 1) {
		t.Fatalf("state before any admission %+v, want paced with infinite rates", ks)
	}
	// Slow start: a burst of four times the first request, then a wait.
	for i := range 4 {
		if res := h.reserve("k", kc, pacing.Amount{Requests: 1, Tokens: 1000}); !res.OK {
			t.Fatalf("request %d of the first burst: %+v", i, res)
		}
	}
	if res := h.reserve("k", kc, pacing.Amount{Requests: 1, Tokens: 1000}); res.OK || res.Wait <= 0 {
		t.Fatalf("fifth request %+v, want a wait", res)
	}
	// Keep it busy for 1.5 windows: the rate grows with what is admitted.
	// The store keeps a checkpoint of the span (time and amount admitted)
	// at the first admission of each quarter window, the last four.
	type checkpoint struct {
		at       time.Duration
		admitted float64
	}
	cks := []checkpoint{{0, 0}}
	var admitted float64 = 4000
	var at time.Duration
	for range 90 {
		h.clk.Add(time.Second)
		at += time.Second
		for h.reserve("k", kc, pacing.Amount{Requests: 1, Tokens: 1000}).OK {
			if at-cks[0].at >= 15*time.Second {
				cks = append([]checkpoint{{at, admitted}}, cks[:min(len(cks), 3)]...)
			}
			admitted += 1000
		}
	}
	before := h.state("k", kc).Rate[pacing.Tokens]
	if before < 10*4000 {
		t.Fatalf("slow-start rate after 1.5 windows %v, want well above the first burst", before)
	}
	// The first throttle: the server's bucket, full at the start, refilled
	// 1.5 windows: the ceiling is at least what was admitted over 2.5
	// windows, and over 1 + d windows for the last d windows from each
	// checkpoint (the server's bucket held at most one window then).
	if !h.throttled("k", kc, pacing.Tokens) {
		t.Fatal("the first throttle must lower the rate")
	}
	ks := h.state("k", kc)
	est := admitted / 2.5
	for _, c := range cks {
		est = max(est, (admitted-c.admitted)/(1+(at-c.at).Minutes()))
	}
	want := est * 0.97
	if r := ks.Rate[pacing.Tokens]; math.Abs(r-want) > 0.01*want {
		t.Fatalf("rate after throttle %v, want %v (slow start was at %v)", r, want, before)
	}
	if res := h.reserve("k", kc, pacing.Amount{Requests: 1, Tokens: 1000}); res.OK {
		t.Fatal("the bucket must be empty right after a throttle")
	}
}

// testYoungKey: a key throttled before it is a window old is paced from
// what it was admitted, counting the server's full bucket at the start:
// the estimate is at least what it admitted in its first window, plus half
// a mean admission for what the server still held when it refused one.
func testYoungKey(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{Window: time.Minute})
	h.reserve("k", kc, pacing.Amount{Requests: 1, Tokens: 1000})
	h.clk.Add(2 * time.Second)
	h.reserve("k", kc, pacing.Amount{Requests: 1, Tokens: 1000})
	h.throttled("k", kc, pacing.Tokens)
	want := (2000 + 1000/2) / (1 + 2.0/60) * 0.97
	if r := h.state("k", kc).Rate[pacing.Tokens]; !storekit.Near(r, want) {
		t.Fatalf("rate after a throttle at 2 s %v, want %v", r, want)
	}
}

func testInitialFill(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	for _, c := range []struct {
		fill  float64
		level float64
	}{{-1, 0}, {0, 540}, {0.5, 300}, {1, 600}} { // 0: the default, 0.9
		kc := storekit.KeyConfig(t, limiter.Config{InitialFill: c.fill}, limiter.Limits{TokensPerWindow: 600, Window: time.Minute})
		key := fmt.Sprint("fill", c.fill)
		if ks := h.state(key, kc); !storekit.Near(ks.Level[pacing.Tokens], c.level) {
			t.Fatalf("InitialFill %v: level %v, want %v", c.fill, ks.Level[pacing.Tokens], c.level)
		}
	}
	kc := storekit.KeyConfig(t, limiter.Config{InitialFill: -1}, limiter.Limits{TokensPerWindow: 600, Window: time.Minute})
	if res := h.reserve("empty", kc, pacing.Amount{Tokens: 1}); res.OK || !storekit.NearWait(res.Wait, 100*time.Millisecond) {
		t.Fatalf("empty start: got %+v, want a 100ms wait", res)
	}
}

func testKeys(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{TokensPerWindow: 600, Window: time.Minute})
	if res := h.reserve("us-east-1/a", kc, pacing.Amount{Tokens: 600}); !res.OK {
		t.Fatal(res)
	}
	if res := h.reserve("us-east-1/b", kc, pacing.Amount{Tokens: 600}); !res.OK {
		t.Fatalf("key b shares key a's bucket: %+v", res)
	}
	if res := h.reserve("us-east-1/a", kc, pacing.Amount{Tokens: 1}); res.OK {
		t.Fatal("key a was not charged")
	}
}

// testRandom runs a seeded random sequence of operations against the store
// under test and a reference MemoryStore on the same clock, and compares
// every result.
func testRandom(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	ref := limiter.NewMemoryStore(h.clk.Now)
	storekit.Compare(t, h.s, ref, h.clk.Add, 1, 2000)
}
