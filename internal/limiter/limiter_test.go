package limiter

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// Under synctest the wall clock is the bubble's fake clock, so the default
// Clock and MemoryStore are used unchanged.

func TestAcquireWaitsForRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute}) // 10 tokens/s
		ctx := context.Background()
		start := time.Now()
		tk, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 600}, Interactive)
		if err != nil || tk.Waited != 0 {
			t.Fatalf("first acquire: %v, waited %v", err, tk.Waited)
		}
		tk.Settle(600)
		tk2, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 50}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Fatalf("admitted after %v, want 5s", got)
		}
		tk2.Release()
		if n := l.Outstanding(); n != 0 {
			t.Fatalf("outstanding = %d", n)
		}
	})
}

func TestRefundAdmitsWaiterEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		ctx := context.Background()
		start := time.Now()
		tk, _ := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 600}, Interactive)
		done := make(chan time.Duration)
		go func() {
			t2, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 300}, Interactive)
			if err != nil {
				t.Error(err)
			}
			t2.Settle(300)
			done <- time.Since(start)
		}()
		time.Sleep(time.Second)
		tk.Settle(200) // 400 tokens come back
		if got := <-done; got != time.Second {
			t.Fatalf("waiter admitted after %v, want 1s (at the refund)", got)
		}
	})
}

func TestFIFOAndPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: -1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		ctx := context.Background()
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		start := func(name string, tokens float64, p Priority) {
			wg.Go(func() {
				tk, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: tokens}, p)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				tk.Settle(tokens)
			})
			synctest.Wait() // queued before the next one arrives
		}
		start("batch-1", 10, Batch)
		start("large", 500, Interactive)
		for i := range 5 {
			start("small-"+string(rune('a'+i)), 10, Interactive)
		}
		start("batch-2", 10, Batch)
		wg.Wait()
		want := []string{"large", "small-a", "small-b", "small-c", "small-d", "small-e", "batch-1", "batch-2"}
		if len(order) != len(want) {
			t.Fatalf("order %v", order)
		}
		for i := range want {
			if order[i] != want[i] {
				t.Fatalf("order %v, want %v", order, want)
			}
		}
	})
}

func TestBatchAging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: -1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 60, Window: time.Minute}) // 1 token/s
		ctx := context.Background()
		got := make(chan string, 2)
		go func() {
			tk, _ := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 0, Tokens: 90}, Batch) // needs a full bucket: 60 s
			tk.Settle(90)
			got <- "batch"
		}()
		synctest.Wait()
		time.Sleep(61 * time.Second) // the batch waiter is now older than one window...
		go func() {
			tk, _ := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 0, Tokens: 1}, Interactive)
			tk.Settle(1)
			got <- "interactive"
		}()
		if first := <-got; first != "batch" {
			t.Fatalf("%s served first; an aged batch waiter must go before new interactive traffic", first)
		}
		<-got
	})
}

func TestDeadlineFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: -1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive) // needs 10 s
		var de *DeadlineError
		if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want *DeadlineError", err)
		}
		if time.Since(start) != 0 || de.Wait != 10*time.Second || de.Remaining != 2*time.Second {
			t.Fatalf("failed after %v with %+v", time.Since(start), de)
		}
	})
}

func TestTooLarge(t *testing.T) {
	l := mustLimiter(t, Config{})
	kc := l.KeyConfig(Limits{TokensPerWindow: 1000})
	_, err := l.Acquire(context.Background(), "k", kc, pacing.Amount{Requests: 1, Tokens: 1001}, Interactive)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Tokens != 1001 || tl.Capacity != 1000 {
		t.Fatalf("err = %v", err)
	}
}

func TestCancelWhileWaitingLeaksNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: -1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() {
			_, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive)
			errc <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		// The queue is empty and its timer stopped: a later request is
		// admitted at its own time, and the bubble ends with no goroutine
		// or timer left (synctest.Test fails otherwise).
		tk, err := l.Acquire(context.Background(), "k", kc, pacing.Amount{Requests: 1, Tokens: 10}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tk.Release()
		if l.Outstanding() != 0 {
			t.Fatal("leaked a ticket")
		}
	})
}

func TestThrottleSlowsAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		ctx := context.Background()
		if !l.Throttled(ctx, "k", kc, pacing.Tokens) {
			t.Fatal("rate not lowered")
		}
		start := time.Now()
		tk, _ := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 42}, Interactive)
		tk.Release()
		// 360 per minute = 6 tokens/s, from a debt of half a cooldown
		// (18 tokens): (18 + 42) / 6.
		if got := time.Since(start); got != 10*time.Second {
			t.Fatalf("admitted after %v, want 10s", got)
		}
	})
}

type failingStore struct{ pacing.Store }

func (failingStore) Reserve(context.Context, string, pacing.KeyConfig, pacing.Amount) (pacing.ReserveResult, error) {
	return pacing.ReserveResult{}, errors.New("store down")
}

func TestStoreFailureFallsBackToLocal(t *testing.T) {
	l := mustLimiter(t, Config{Store: failingStore{NewMemoryStore(nil)}, InitialFill: 1})
	kc := l.KeyConfig(Limits{TokensPerWindow: 600})
	tk, err := l.Acquire(context.Background(), "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive)
	if err != nil {
		t.Fatal(err)
	}
	tk.Settle(100)
	if l.StoreErrors() == 0 {
		t.Fatal("store error not counted")
	}
}
