package limiter

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// fakeFleet is an in-process pacing.FleetStore with the admit semantics of
// redisstore's script (queue by order, amounts ahead kept in the bucket), a
// switch that makes every call fail, and a log of refunds.
type fakeFleet struct {
	*MemoryStore
	mu      sync.Mutex
	down    bool
	epoch   string
	queue   map[string]queued
	procs   map[string]time.Time
	refunds []pacing.Amount
}

type queued struct {
	order int64
	amt   pacing.Amount
}

var errDown = errors.New("store down")

func newFakeFleet() *fakeFleet {
	return &fakeFleet{MemoryStore: NewMemoryStore(nil), epoch: "e1", queue: map[string]queued{}, procs: map[string]time.Time{}}
}

func (f *fakeFleet) Throttled(ctx context.Context, key string, cfg pacing.KeyConfig, a pacing.Axis) (bool, error) {
	if f.isDown() {
		return false, errDown
	}
	return f.MemoryStore.Throttled(ctx, key, cfg, a)
}

func (f *fakeFleet) isDown() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.down }

func (f *fakeFleet) Admit(ctx context.Context, key string, cfg pacing.KeyConfig, req pacing.AdmitRequest) (pacing.AdmitResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return pacing.AdmitResult{}, errDown
	}
	now := time.Now()
	if req.RefundEpoch == "" || req.RefundEpoch == f.epoch {
		if req.Refund != (pacing.Amount{}) {
			f.refunds = append(f.refunds, req.Refund)
			_ = f.MemoryStore.Return(ctx, key, cfg, req.Refund)
		}
	}
	f.procs[req.Process] = now
	res := pacing.AdmitResult{Epoch: f.epoch, Processes: len(f.procs)}
	if req.Ticket == "" {
		return res, nil
	}
	if req.Cancel {
		delete(f.queue, req.Ticket)
		return res, nil
	}
	q, ok := f.queue[req.Ticket]
	if !ok {
		q = queued{order: req.Order, amt: req.Amount}
		if q.order == 0 {
			q.order = now.Add(-req.Boost).UnixMicro()
		}
		f.queue[req.Ticket] = q
	}
	res.Order = q.order
	var ahead pacing.Amount
	ids := make([]string, 0, len(f.queue))
	for id := range f.queue {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := f.queue[id]
		if o.order < q.order || (o.order == q.order && id < req.Ticket) {
			ahead.Requests += o.amt.Requests
			ahead.Tokens += o.amt.Tokens
		}
	}
	// Ask the bucket for ahead + own; take only own.
	r, _ := f.MemoryStore.Reserve(ctx, key, cfg, pacing.Amount{Requests: ahead.Requests + q.amt.Requests, Tokens: ahead.Tokens + q.amt.Tokens})
	if !r.OK {
		res.Wait = r.Wait
		return res, nil
	}
	_ = f.MemoryStore.Return(ctx, key, cfg, ahead)
	delete(f.queue, req.Ticket)
	res.OK = true
	return res, nil
}

func fleetLimiter(t *testing.T, f *fakeFleet) *Limiter {
	l, err := NewLimiter(Config{Store: f, InitialFill: 1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestFleetFIFOAcrossLimiters: a large request queued by one process is not
// overtaken by smaller ones from another, and waits without polling.
func TestFleetFIFOAcrossLimiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeFleet()
		a, b := fleetLimiter(t, f), fleetLimiter(t, f)
		kc := a.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute}) // 10 tokens/s
		ctx := context.Background()
		tk, err := a.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 600}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(600)
		var order []string
		var mu sync.Mutex
		var wg sync.WaitGroup
		wg.Go(func() {
			tk, err := a.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 300}, Interactive)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, "large")
			mu.Unlock()
			tk.Settle(300)
		})
		time.Sleep(time.Second) // the large one is queued first
		for range 3 {
			wg.Go(func() {
				tk, err := b.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 10}, Interactive)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, "small")
				mu.Unlock()
				tk.Settle(10)
			})
		}
		wg.Wait()
		if order[0] != "large" {
			t.Fatalf("admission order %v: the large request at the head was overtaken", order)
		}
		if a.Outstanding() != 0 || b.Outstanding() != 0 {
			t.Fatal("outstanding tickets")
		}
	})
}

// TestFleetDegradedShare: with the store down, each process paces at its
// share (the quota over the live processes), from an empty bucket; a
// refund owed to the store waits for it and never goes to the local bucket.
func TestFleetDegradedShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeFleet()
		a, b := fleetLimiter(t, f), fleetLimiter(t, f)
		kc := a.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute}) // 10 tokens/s
		ctx := context.Background()
		ta, err := a.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := b.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tb.Settle(100)
		if n := a.Processes("k"); n != 1 {
			t.Logf("a saw %d processes at its call", n)
		}
		time.Sleep(time.Second)
		// a heard of b through its next call's heartbeat.
		tk, err := a.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(1)
		if n := a.Processes("k"); n != 2 {
			t.Fatalf("Processes = %d, want 2", n)
		}
		f.mu.Lock()
		f.down = true
		nRefunds := len(f.refunds)
		f.mu.Unlock()

		ta.Settle(40) // refund of 60 owed to the fleet store, which is down
		start := time.Now()
		tk, err = a.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 50}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		// Share: 300 tokens/min = 5 tokens/s, from empty: 50 tokens take 10 s.
		if w := time.Since(start); w < 10*time.Second || w > 11*time.Second {
			t.Fatalf("local admission after %v, want 10 s (half the quota, from an empty bucket)", w)
		}
		tk.Settle(50) // settled locally
		if a.StoreErrors() == 0 {
			t.Fatal("no store errors counted")
		}
		f.mu.Lock()
		f.down = false
		f.mu.Unlock()
		time.Sleep(2 * time.Second) // the flush retries every second
		f.mu.Lock()
		got := f.refunds[nRefunds:]
		f.mu.Unlock()
		var tokens float64
		for _, r := range got {
			tokens += r.Tokens
		}
		// +60 owed to the store, -50 charged for the local admission.
		if tokens != 10 {
			t.Fatalf("refunds to the store after it came back: %+v, want +60 and -50", got)
		}
		if a.Outstanding() != 0 || b.Outstanding() != 0 {
			t.Fatal("outstanding tickets")
		}
	})
}
