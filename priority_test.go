package bedrockguard_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
)

// The guard's pacing through the real client, on synctest's clock: the
// simulator (started outside the bubble, without a quota) answers at once,
// and the guard's own 1000-tokens-per-minute quota makes calls wait.

// An Interactive call that arrives after a waiting Batch call is served
// first; the Batch call is served next, not starved.
func TestPriorityThroughTheClient(t *testing.T) {
	_, cfg := newSim(t, bedrocksim.WithOutputFraction(1))
	synctest.Test(t, func(t *testing.T) {
		g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1000}))
		if err != nil {
			t.Fatal(err)
		}
		client := bedrockruntime.NewFromConfig(cfg, noKeepAlive)
		ctx := context.Background()
		// Drains the bucket: the next 400-token reservations each wait.
		if _, err := client.Converse(ctx, converseInput(haiku, "fill", 900)); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		call := func(name string, p bedrockguard.Priority) {
			wg.Go(func() {
				if _, err := client.Converse(bedrockguard.WithPriority(ctx, p), converseInput(haiku, name, 400)); err != nil {
					t.Error(err)
				}
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			})
			synctest.Wait() // queued before the next arrives
		}
		call("batch", bedrockguard.Batch)
		call("interactive", bedrockguard.Interactive)
		wg.Wait()
		if len(order) != 2 || order[0] != "interactive" || order[1] != "batch" {
			t.Fatalf("served %v, want interactive before batch", order)
		}
		assertNoLeak(t, g)
	})
}

// Cancelling a call that waits for pacing returns the context's error at
// once and leaves nothing reserved or running (synctest fails the test on
// a leaked goroutine or timer).
func TestCancelWhilePacedThroughTheClient(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithOutputFraction(1))
	synctest.Test(t, func(t *testing.T) {
		g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1000}))
		if err != nil {
			t.Fatal(err)
		}
		client := bedrockruntime.NewFromConfig(cfg, noKeepAlive)
		if _, err := client.Converse(context.Background(), converseInput(haiku, "fill", 900)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() {
			_, err := client.Converse(ctx, converseInput(haiku, "wait", 400))
			errc <- err
		}()
		synctest.Wait()
		start := time.Now()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if time.Since(start) != 0 {
			t.Fatal("cancellation was not immediate")
		}
		if n := sim.Stats().Keys[haiku].Requests; n != 1 {
			t.Fatalf("the server saw %d requests, want only the first", n)
		}
		assertNoLeak(t, g)
	})
}

// Every failure path releases its reservation: the simulator's faults
// through the real client, each call failing or succeeding after retries.
func TestEveryFailurePathReleases(t *testing.T) {
	faults := map[string]bedrocksim.Faults{
		"503":             {ServiceUnavailable: bedrocksim.Trigger{Next: 10}},
		"model not ready": {ModelNotReady: bedrocksim.Trigger{Next: 10}},
		"reset":           {Reset: bedrocksim.Trigger{Next: 10}},
		"slow headers":    {SlowHeaders: bedrocksim.Trigger{Next: 10}, SlowHeadersDelay: time.Minute},
		"stream throttle": {StreamThrottle: bedrocksim.Trigger{Next: 10}, StreamThrottleAfter: 2},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			sim, cfg := newSim(t, bedrocksim.WithOutputFraction(1), bedrocksim.WithFaults(f))
			g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}),
				guardtest.FastRetry(), bedrockguard.WithMaxAttempts(3))
			if err != nil {
				t.Fatal(err)
			}
			client := bedrockruntime.NewFromConfig(cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err = client.Converse(ctx, converseInput(haiku, "x", 50))
			if err == nil && f.StreamThrottle.Next == 0 {
				t.Fatal("want the fault's error")
			}
			ci := converseInput(haiku, "y", 50)
			if st, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: ci.ModelId, Messages: ci.Messages, InferenceConfig: ci.InferenceConfig}); err == nil {
				for range st.GetStream().Events() {
				}
				st.GetStream().Close()
			}
			if sim.Stats().Requests == 0 {
				t.Fatal("no request reached the simulator")
			}
			assertNoLeak(t, g)
		})
	}
}
