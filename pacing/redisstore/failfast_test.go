package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/storekit"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestFailFastBacksOff: after a first error the store fails fast for only
// a sixteenth of the retry delay, so that a transient error sends the
// process to local pacing (where it admits at its share of the quota
// without knowing what the fleet took) for about 60 ms instead of a whole
// second; each failed retry doubles the delay up to the retry delay, and a
// success starts over. The fail-fast clock is a fake one; the errors are
// real (a stopped redis-server).
func TestFailFastBacksOff(t *testing.T) {
	srv := startRedis(t)
	clk := storekit.NewClock()
	st := redisstore.New(srv.Client(t), redisstore.WithRetryAfter(time.Second))
	redisstore.SetWallClock(st, clk.Now)
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{TokensPerWindow: 100})
	ctx := context.Background()
	call := func() error {
		_, err := st.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 1})
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr
	srv.Stop()
	if err := call(); err == nil || errors.Is(err, redisstore.ErrUnavailableForTest) {
		t.Fatalf("first call after the stop: %v, want the connection error", err)
	}
	// Each probe fails; the delays before them double up to 1 s.
	for i, delay := range []time.Duration{62500 * time.Microsecond, 125 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, time.Second} {
		clk.Add(delay - time.Millisecond)
		if err := call(); !errors.Is(err, redisstore.ErrUnavailableForTest) {
			t.Fatalf("probe %d: %v before the %v delay ended, want a fast failure", i, err, delay)
		}
		clk.Add(time.Millisecond)
		if err := call(); err == nil || errors.Is(err, redisstore.ErrUnavailableForTest) {
			t.Fatalf("probe %d: %v after the %v delay, want a call to Redis", i, err, delay)
		}
	}
	// Redis is back: the next probe succeeds, and the next error starts
	// over at the short delay.
	srv2 := startRedisAt(t, addr)
	if srv2 == nil {
		t.Fatalf("could not restart redis-server on %s", addr)
	}
	clk.Add(time.Second)
	if err := call(); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if err := call(); err != nil {
		t.Fatalf("second call after the restart: %v", err)
	}
	srv2.Stop()
	if err := call(); err == nil {
		t.Fatal("a stopped server answered")
	}
	clk.Add(62500 * time.Microsecond)
	if err := call(); errors.Is(err, redisstore.ErrUnavailableForTest) {
		t.Fatalf("a new outage after a success: %v, want the short delay again", err)
	}
}

// TestFailFastConcurrentFailuresCountOnce: calls in flight together when
// Redis stalls all fail, and count as one failure (the short delay), not
// one each, which would take the delay straight to its maximum.
func TestFailFastConcurrentFailuresCountOnce(t *testing.T) {
	srv := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	clk := storekit.NewClock()
	st := redisstore.New(c, redisstore.WithRetryAfter(time.Second), redisstore.WithTimeout(50*time.Millisecond))
	redisstore.SetWallClock(st, clk.Now)
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{TokensPerWindow: 100})
	ctx := context.Background()
	call := func() error {
		_, err := st.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 1})
		return err
	}
	// Open the connections the concurrent calls will use.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := call(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := srv.Client(t).ClientPause(ctx, 500*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int32
	for range 8 {
		wg.Go(func() {
			if err := call(); err != nil && !errors.Is(err, redisstore.ErrUnavailableForTest) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() < 2 {
		t.Fatalf("%d calls failed in flight; the test needs several", failed.Load())
	}
	clk.Add(62500 * time.Microsecond)
	if err := call(); errors.Is(err, redisstore.ErrUnavailableForTest) {
		t.Fatalf("%d concurrent failures: still failing fast after the first failure's delay: %v", failed.Load(), err)
	}
}
