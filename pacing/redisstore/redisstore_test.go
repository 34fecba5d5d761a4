package redisstore_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/storekit"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
	"github.com/bedrockguard/bedrockguard/pacing/storetest"
)

// TestConformance runs the Store suite, the same step tables as
// limiter.MemoryStore's, with the scripts reading the suite's fake clock.
func TestConformance(t *testing.T) {
	srv := startRedis(t)
	t.Logf("redis-server %s on %s", srv.Version(t), srv.Addr)
	c := srv.Client(t)
	storetest.Run(t, func(now func() time.Time) pacing.Store {
		return redisstore.New(c, redisstore.WithPrefix(uniquePrefix(t)), redisstore.WithClientClock(now))
	})
}

// TestServerClock checks the production path, where the scripts read Redis
// TIME: a random sequence of calls gives the same results as a MemoryStore
// that is shown, for each call, the instant the script used.
func TestServerClock(t *testing.T) {
	srv := startRedis(t)
	st := redisstore.New(srv.Client(t), redisstore.WithPrefix(uniquePrefix(t)))
	var last time.Time
	redisstore.SetObserver(st, func(now time.Time) {
		if now.Before(last) {
			t.Errorf("server time went back from %v to %v", last, now)
		}
		last = now
	})
	ref := storekit.Reference(func() time.Time { return last })
	storekit.Compare(t, st, ref, nil, 7, 1000)
	if time.Since(last).Abs() > time.Minute {
		t.Fatalf("the scripts' time %v is not the server's clock (now %v)", last, time.Now())
	}
}

func TestKeyLayoutAndTTL(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client(t)
	ctx := context.Background()
	kc := storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{RequestsPerWindow: 10, TokensPerWindow: 600, Window: time.Minute})

	st := redisstore.New(c)
	if got := st.Key("us-east-1/m"); got != "bedrockguard:{us-east-1/m}" {
		t.Fatalf("Key = %q, want the default prefix", got)
	}
	if _, err := st.Reserve(ctx, "us-east-1/m", kc, pacing.Amount{Requests: 1, Tokens: 100}); err != nil {
		t.Fatal(err)
	}
	h, err := c.HGetAll(ctx, "bedrockguard:{us-east-1/m}").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 48 || h["tlv"] != "500" || h["rlv"] != "9" || h["tli"] != "1" {
		t.Fatalf("hash = %v, want 48 fields with token level 500 and request level 9", h)
	}
	ttl, err := c.PTTL(ctx, "bedrockguard:{us-east-1/m}").Result()
	if err != nil || ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("TTL = %v (%v), want 10 windows", ttl, err)
	}

	st = redisstore.New(c, redisstore.WithPrefix("other:"), redisstore.WithIdleTTL(90*time.Second))
	if err := st.Return(ctx, "k", kc, pacing.Amount{Tokens: 1}); err != nil {
		t.Fatal(err)
	}
	if ttl, err := c.PTTL(ctx, "other:{k}").Result(); err != nil || ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Fatalf("TTL = %v (%v), want 90s", ttl, err)
	}
}

func TestInvalidConfig(t *testing.T) {
	srv := startRedis(t)
	st := redisstore.New(srv.Client(t))
	if _, err := st.Reserve(context.Background(), "k", pacing.KeyConfig{}, pacing.Amount{}); err == nil {
		t.Fatal("a zero window must be an error")
	}
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{TokensPerWindow: 1})
	if _, err := st.Throttled(context.Background(), "k", kc, 5); err == nil {
		t.Fatal("an unknown axis must be an error")
	}
}

// TestStateInfinity checks that an axis without a quota and without
// admissions (in slow start, not yet started) comes back as +Inf.
func TestStateInfinity(t *testing.T) {
	srv := startRedis(t)
	st := redisstore.New(srv.Client(t))
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{TokensPerWindow: 100})
	ks, err := st.State(context.Background(), "k", kc)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(ks.Rate[pacing.Requests], 1) || ks.Rate[pacing.Tokens] != 100 || ks.Limited != [2]bool{true, true} {
		t.Fatalf("state %+v", ks)
	}
}

// TestFailFast checks that after an error the store fails at once with
// errUnavailable, and tries Redis again after the retry delay.
func TestFailFast(t *testing.T) {
	srv := startRedis(t)
	st := redisstore.New(srv.Client(t), redisstore.WithRetryAfter(time.Hour))
	kc := storekit.KeyConfig(t, limiter.Config{}, limiter.Limits{TokensPerWindow: 100})
	ctx := context.Background()
	if _, err := st.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 1}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, err := st.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 1})
	if err == nil || errors.Is(err, redisstore.ErrUnavailableForTest) {
		t.Fatalf("first call after the stop: %v, want the connection error", err)
	}
	_, err = st.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 1})
	if !errors.Is(err, redisstore.ErrUnavailableForTest) {
		t.Fatalf("second call: %v, want errUnavailable", err)
	}

	// A cancelled context is the caller's doing, not Redis's.
	srv2 := startRedis(t)
	st = redisstore.New(srv2.Client(t), redisstore.WithRetryAfter(time.Hour))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.Reserve(cctx, "k", kc, pacing.Amount{Tokens: 1}); err == nil {
		t.Fatal("a cancelled context must fail the call")
	}
	if _, err := st.Reserve(ctx, "k", kc, pacing.Amount{Tokens: 1}); err != nil {
		t.Fatalf("after a cancelled call: %v, want no fail-fast", err)
	}
}
