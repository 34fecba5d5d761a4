package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/storekit"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
)

// TestIdleKeysExpire: every Redis key the store writes (a key's bucket
// hash, its fleet queue, leases and heartbeats) carries the idle TTL, so
// that many distinct keys (model IDs from user input) leave nothing behind
// in Redis once idle, as the in-process store evicts them. It checks the
// TTLs Redis holds rather than waiting for them.
func TestIdleKeysExpire(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client(t)
	ctx := context.Background()
	prefix := uniquePrefix(t)
	const ttl = 90 * time.Second
	st := redisstore.New(c, redisstore.WithPrefix(prefix), redisstore.WithIdleTTL(ttl))
	kc := storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{RequestsPerWindow: 10, TokensPerWindow: 600, Window: time.Minute})
	const keys = 500
	for i := range keys {
		k := "us-east-1/model-" + strconv.Itoa(i)
		var err error
		switch i % 5 {
		case 0:
			_, err = st.Reserve(ctx, k, kc, pacing.Amount{Requests: 1, Tokens: 100})
		case 1:
			err = st.Return(ctx, k, kc, pacing.Amount{Tokens: 10})
		case 2:
			_, err = st.Throttled(ctx, k, kc, pacing.Tokens)
		case 3:
			_, err = st.State(ctx, k, kc)
		case 4:
			// A fleet key: the bucket taken, tickets left queued (their
			// processes died), heartbeats, a cancelled ticket.
			for j, amt := range []float64{600, 300, 300, 50} {
				_, err = st.Admit(ctx, k, kc, pacing.AdmitRequest{
					Ticket: "t" + strconv.Itoa(j), Amount: pacing.Amount{Requests: 1, Tokens: amt},
					Lease: time.Hour, Process: "p" + strconv.Itoa(j), Live: time.Hour,
				})
				if err != nil {
					break
				}
			}
			if err == nil {
				_, err = st.Admit(ctx, k, kc, pacing.AdmitRequest{Ticket: "t3", Amount: pacing.Amount{Requests: 1, Tokens: 50}, Cancel: true})
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	// Each fleet key has its hash, queue, leases and heartbeats.
	if want := keys + 3*keys/5; len(all) != want {
		t.Fatalf("%d Redis keys for %d store keys, want %d", len(all), keys, want)
	}
	for _, k := range all {
		d, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d <= 0 || d > ttl {
			t.Fatalf("%s: TTL %v, want (0, %v]: it would stay in Redis forever once idle", k, d, ttl)
		}
	}

	// The default TTL is ten windows of the key.
	st = redisstore.New(c, redisstore.WithPrefix(prefix+"default:"))
	for _, tk := range []string{"drain", "queued"} {
		if _, err := st.Admit(ctx, "k", kc, pacing.AdmitRequest{Ticket: tk, Amount: pacing.Amount{Tokens: 600}, Lease: time.Hour, Process: "p", Live: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	for _, suffix := range []string{"", ":q", ":l", ":p"} {
		k := st.Key("k") + suffix
		if d, err := c.PTTL(ctx, k).Result(); err != nil || d <= 9*time.Minute || d > 10*time.Minute {
			t.Fatalf("%s: TTL %v (%v), want ten windows", k, d, err)
		}
	}
}

// TestEpochChangesWhenKeyIsLost: a key Redis lost (expired idle, flushed,
// a restart without persistence) comes back with a new epoch, also when the
// same store recreates it, and a refund for the old epoch is not applied to
// the new state, which never charged it.
func TestEpochChangesWhenKeyIsLost(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client(t)
	ctx := context.Background()
	st := redisstore.New(c, redisstore.WithPrefix(uniquePrefix(t)))
	kc := storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{TokensPerWindow: 600, Window: time.Minute})
	admit := func(req pacing.AdmitRequest) pacing.AdmitResult {
		t.Helper()
		r, err := st.Admit(ctx, "k", kc, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r1 := admit(pacing.AdmitRequest{Ticket: "a", Amount: pacing.Amount{Tokens: 600}})
	if !r1.OK || r1.Epoch == "" {
		t.Fatalf("%+v", r1)
	}
	if r := admit(pacing.AdmitRequest{}); r.Epoch != r1.Epoch {
		t.Fatalf("epoch changed from %q to %q while Redis kept the key", r1.Epoch, r.Epoch)
	}
	if err := c.Del(ctx, st.Key("k"), st.Key("k")+":q", st.Key("k")+":l", st.Key("k")+":p").Err(); err != nil {
		t.Fatal(err)
	}
	r2 := admit(pacing.AdmitRequest{Ticket: "b", Amount: pacing.Amount{Tokens: 600}})
	if !r2.OK || r2.Epoch == r1.Epoch {
		t.Fatalf("the recreated key: %+v, want a full bucket and an epoch other than %q", r2, r1.Epoch)
	}
	// The old state's refund must not land in the new one.
	admit(pacing.AdmitRequest{Refund: pacing.Amount{Tokens: 600}, RefundEpoch: r1.Epoch})
	ks, err := st.State(ctx, "k", kc)
	if err != nil {
		t.Fatal(err)
	}
	if lv := ks.Level[pacing.Tokens]; lv > 100 {
		t.Fatalf("level %v after a full admission: the old epoch's refund was applied to the new state", lv)
	}
}
