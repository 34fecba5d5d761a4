package limiter

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// manualClock is a Clock moved by hand; AfterFunc timers never fire (the
// tests below never wait).
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *manualClock) Advance(d time.Duration)               { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func (c *manualClock) AfterFunc(time.Duration, func()) Timer { return stopped{} }

type stopped struct{}

func (stopped) Stop() bool { return false }

func (l *Limiter) queueCount() int {
	n := 0
	l.queues.Range(func(any, any) bool { n++; return true })
	return n
}

// touchKeys acquires and settles once on n distinct keys.
func touchKeys(tb testing.TB, l *Limiter, prefix string, n int) {
	kc := l.KeyConfig(Limits{TokensPerWindow: 1000})
	for i := range n {
		tk, err := l.Acquire(context.Background(), fmt.Sprintf("%s-%d", prefix, i), kc, pacing.Amount{Requests: 1, Tokens: 10}, Interactive)
		if err != nil {
			tb.Fatal(err)
		}
		tk.Settle(10)
	}
}

// TestIdleKeysAreEvicted: keys unused for EvictIdleWindows windows leave the
// store and the limiter's queues; a key in use or holding a ticket stays
// (issue 14, item 5).
func TestIdleKeysAreEvicted(t *testing.T) {
	clk := &manualClock{now: time.Unix(1_000_000, 0)}
	store := NewMemoryStore(clk.Now)
	l := mustLimiter(t, Config{Clock: clk, Store: store, InitialFill: 1})
	touchKeys(t, l, "model", 1000)
	kc := l.KeyConfig(Limits{TokensPerWindow: 1000})
	held, err := l.Acquire(context.Background(), "held", kc, pacing.Amount{Requests: 1, Tokens: 10}, Interactive)
	if err != nil {
		t.Fatal(err)
	}
	if store.Len() < 1000 || l.queueCount() < 1000 {
		t.Fatalf("before: %d store keys, %d queues", store.Len(), l.queueCount())
	}
	clk.Advance(EvictIdleWindows*time.Minute - time.Second)
	touchKeys(t, l, "late", 1)
	if store.Len() < 1000 {
		t.Fatalf("evicted early: %d store keys", store.Len())
	}
	clk.Advance(2 * time.Minute)
	touchKeys(t, l, "later", 1)
	if s, q := store.Len(), l.queueCount(); s > 3 || q > 3 {
		t.Fatalf("after idle: %d store keys, %d queues, want the recent and held ones only", s, q)
	}
	held.Settle(10)
	// The evicted key works again, from a fresh state.
	touchKeys(t, l, "model", 1)
	if n := l.Outstanding(); n != 0 {
		t.Fatalf("outstanding %d", n)
	}
}

// BenchmarkIdleKeysRetained: 100,000 distinct model IDs, then idle: the heap
// they leave behind once evicted (budget 8 MiB).
func BenchmarkIdleKeysRetained(b *testing.B) {
	for b.Loop() {
		clk := &manualClock{now: time.Unix(1_000_000, 0)}
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		store := NewMemoryStore(clk.Now)
		l, err := NewLimiter(Config{Clock: clk, Store: store, InitialFill: 1})
		if err != nil {
			b.Fatal(err)
		}
		touchKeys(b, l, "us.invalid.model-id-from-user-input", 100_000)
		var busy runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&busy)
		clk.Advance(EvictIdleWindows*time.Minute + time.Minute)
		touchKeys(b, l, "after", 1)
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
		b.ReportMetric(float64(int64(busy.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "MiB-live")
		b.ReportMetric(retained, "MiB-retained")
		if retained > 8 {
			b.Fatalf("%.1f MiB retained after 100,000 idle keys, want <= 8", retained)
		}
		runtime.KeepAlive(l)
	}
}
