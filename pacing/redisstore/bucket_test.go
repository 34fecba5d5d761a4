package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/storekit"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
)

// TestMirrorEvidenceBorders drives bucket.lua and bucket.go through the
// branches of the ceiling estimate that random sequences rarely reach: a
// throttle after a told quota was sustained (the evidence is within
// evidenceBelow of the throttled rate: the Beta step), and a throttle after
// a window of evidence under the rate (the estimate, then the hold).
func TestMirrorEvidenceBorders(t *testing.T) {
	srv := startRedis(t)
	clk := storekit.NewClock()
	got := redisstore.New(srv.Client(t), redisstore.WithPrefix(uniquePrefix(t)), redisstore.WithClientClock(clk.Now))
	want := storekit.Reference(clk.Now)
	ctx := context.Background()
	for _, quota := range []float64{1000, 0} {
		kc := storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{TokensPerWindow: quota, Window: time.Minute})
		key := "told"
		if quota == 0 {
			key = "learned"
		}
		check := func(step string) {
			t.Helper()
			g, err1 := got.State(ctx, key, kc)
			w, err2 := want.State(ctx, key, kc)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: State errors %v, %v", step, err1, err2)
			}
			if !storekit.Near(g.Rate[pacing.Tokens], w.Rate[pacing.Tokens]) {
				t.Fatalf("%s %s: rate %v, want %v", key, step, g.Rate[pacing.Tokens], w.Rate[pacing.Tokens])
			}
		}
		run := func(d time.Duration, perWindow float64) {
			for range int(d / time.Second) {
				clk.Add(time.Second)
				for _, s := range []pacing.Store{got, want} {
					if _, err := s.Reserve(ctx, key, kc, pacing.Amount{Tokens: perWindow / 60}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		throttle := func(step string) {
			t.Helper()
			g, err1 := got.Throttled(ctx, key, kc, pacing.Tokens)
			w, err2 := want.Throttled(ctx, key, kc, pacing.Tokens)
			if err1 != nil || err2 != nil || g != w {
				t.Fatalf("%s %s: Throttled %v, %v (errors %v, %v)", key, step, g, w, err1, err2)
			}
			check(step)
		}
		for _, s := range []pacing.Store{got, want} {
			s.Reserve(ctx, key, kc, pacing.Amount{Tokens: 1000})
		}
		run(5*time.Minute, 930) // evidence 941.7 per window: within 5 % of 1000
		throttle("sustained")
		run(90*time.Second, 500)
		throttle("after 1.5 windows")
		run(3*time.Minute, 480)
		throttle("after the hold")
		run(30*time.Second, 2000)
		throttle("short span")
	}
}
