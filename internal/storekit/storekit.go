// Package storekit holds the helpers of the pacing store conformance suite
// that its users inside this repository share: a fake clock, float
// comparisons and key configurations.
package storekit

import (
	"math"
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
