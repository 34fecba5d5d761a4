// Package storekit holds the helpers of the pacing store conformance suite
// that its users inside this repository share: a fake clock, float
// comparisons and key configurations.
package storekit

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// Clock is the settable fake clock the suite passes to stores. It is safe
// for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock set to a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Near reports whether a and b are equal up to a relative error of 1e-9
// (absolute below 1). Stores may compute exp and cube roots with different
// libraries, and compilers may fuse multiply-adds, so results can differ in
// the last bits; infinities must match exactly.
func Near(a, b float64) bool {
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

// NearWait reports whether two waits are equal up to the same relative
// error, and at least one microsecond.
func NearWait(a, b time.Duration) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return float64(d) <= math.Max(float64(time.Microsecond), 1e-9*float64(b))
}

// KeyConfig returns the store configuration of lim under a Limiter built
// from cfg, the way the Limiter passes it to its Store.
func KeyConfig(t testing.TB, cfg limiter.Config, lim limiter.Limits) pacing.KeyConfig {
	t.Helper()
	l, err := limiter.NewLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l.KeyConfig(lim)
}

// Compare runs n random operations, drawn from seed, against got and want
// and fails t at the first result that differs. advance moves the clock
// both stores read forward; a nil advance leaves time to the stores (their
// results must then be computed at the same instants some other way).
func Compare(t testing.TB, got, want pacing.Store, advance func(time.Duration), seed uint64, n int) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type key struct {
		name string
		kc   pacing.KeyConfig
	}
	var keys []key
	for i, c := range []struct {
		alg    pacing.Algorithm
		lim    limiter.Limits
		fill   float64
		window time.Duration
	}{
		{pacing.CUBIC, limiter.Limits{RequestsPerWindow: 20, TokensPerWindow: 5000}, 1, time.Second},
		{pacing.AIMD, limiter.Limits{RequestsPerWindow: 20, TokensPerWindow: 5000}, 0.3, time.Second},
		{pacing.CUBIC, limiter.Limits{TokensPerWindow: 2000}, 1, 2 * time.Second},
		{pacing.AIMD, limiter.Limits{}, 1, time.Second},
		{pacing.CUBIC, limiter.Limits{RequestsPerWindow: 3}, -1, time.Minute},
	} {
		c.lim.Window = c.window
		keys = append(keys, key{fmt.Sprint("key", i), KeyConfig(t, limiter.Config{Algorithm: c.alg, InitialFill: c.fill}, c.lim)})
	}
	var history []string // the operations so far, for failure messages
	fail := func(i int, op string, g, w any) {
		t.Helper()
		t.Fatalf("step %d %s: got %+v, want %+v; last operations:\n%s", i, op, g, w, strings.Join(history[max(0, len(history)-8):], "\n"))
	}
	for i := range n {
		k := keys[rng.IntN(len(keys))]
		logf := func(format string, args ...any) {
			history = append(history, fmt.Sprintf("%d %s: ", i, k.name)+fmt.Sprintf(format, args...))
		}
		if advance != nil {
			// Mostly short steps, sometimes a window or more; whole
			// microseconds.
			d := time.Duration(rng.ExpFloat64() * float64(k.kc.Tokens.Window) / 20)
			if rng.IntN(50) == 0 {
				d = time.Duration(rng.Float64() * 3 * float64(k.kc.Tokens.Window))
			}
			advance(d.Truncate(time.Microsecond))
			logf("advance %v", d.Truncate(time.Microsecond))
		}
		amt := pacing.Amount{Requests: float64(rng.IntN(3)), Tokens: math.Round(rng.ExpFloat64()*800*100) / 100}
		switch op := rng.IntN(10); {
		case op < 5:
			g, err1 := got.Reserve(ctx, k.name, k.kc, amt)
			w, err2 := want.Reserve(ctx, k.name, k.kc, amt)
			if err1 != nil || err2 != nil {
				t.Fatalf("step %d: Reserve errors %v, %v", i, err1, err2)
			}
			logf("Reserve(%+v) = %+v, %+v", amt, g, w)
			if g.OK != w.OK || !NearWait(g.Wait, w.Wait) {
				fail(i, "Reserve", g, w)
			}
		case op < 8:
			if rng.IntN(3) == 0 {
				amt.Tokens = -amt.Tokens / 2
			}
			err1 := got.Return(ctx, k.name, k.kc, amt)
			err2 := want.Return(ctx, k.name, k.kc, amt)
			logf("Return(%+v)", amt)
			if err1 != nil || err2 != nil {
				t.Fatalf("step %d: Return errors %v, %v", i, err1, err2)
			}
		case op < 9:
			a := pacing.Axis(rng.IntN(2))
			g, err1 := got.Throttled(ctx, k.name, k.kc, a)
			w, err2 := want.Throttled(ctx, k.name, k.kc, a)
			if err1 != nil || err2 != nil {
				t.Fatalf("step %d: Throttled errors %v, %v", i, err1, err2)
			}
			logf("Throttled(%v) = %v, %v", a, g, w)
			if g != w {
				fail(i, "Throttled", g, w)
			}
		default:
		}
		g, err1 := got.State(ctx, k.name, k.kc)
		w, err2 := want.State(ctx, k.name, k.kc)
		if err1 != nil || err2 != nil {
			t.Fatalf("step %d: State errors %v, %v", i, err1, err2)
		}
		if g.Limited != w.Limited || !Near(g.Rate[0], w.Rate[0]) || !Near(g.Rate[1], w.Rate[1]) ||
			!Near(g.Level[0], w.Level[0]) || !Near(g.Level[1], w.Level[1]) {
			fail(i, "State", g, w)
		}
	}
}

// Reference returns the in-process store the guard uses by default, which
// defines the bucket arithmetic every Store must reproduce.
func Reference(now func() time.Time) pacing.Store { return limiter.NewMemoryStore(now) }
