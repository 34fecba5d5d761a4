package bedrockguard_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

type handClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *handClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *handClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func (c *handClock) AfterFunc(d time.Duration, f func()) limiter.Timer {
	return time.AfterFunc(time.Hour, func() {}) // never needed: nothing waits
}

var errStop = errors.New("stopped before the network")

// stopAfterPace ends every call right after pacing, without a request.
func stopAfterPace(s *middleware.Stack) error {
	return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("stop", func(context.Context, middleware.FinalizeInput, middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, errStop
	}), middleware.After)
}

// BenchmarkDistinctModelIDsRetained: 100,000 calls with distinct (invalid)
// model IDs through the guard, then ten idle windows: the heap left behind
// once idle (issue 14: at most 8 MiB).
func BenchmarkDistinctModelIDsRetained(b *testing.B) {
	// The tokenizer's tables (about 11 MiB, loaded once per process) are
	// not per-model state: load them before measuring.
	warm := bedrocksim.Config("http://127.0.0.1:9")
	if _, err := bedrockguard.Install(&warm); err != nil {
		b.Fatal(err)
	}
	bedrockruntime.NewFromConfig(warm, func(o *bedrockruntime.Options) { o.APIOptions = append(o.APIOptions, stopAfterPace) }).
		InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("warm-up"), Body: []byte(`{"prompt":"hi","max_tokens":10}`)})
	for b.Loop() {
		clk := &handClock{now: time.Unix(1_000_000, 0)}
		var before runtime.MemStats
		runtime.GC()
		runtime.GC() // and sync.Pool's victim cache
		runtime.ReadMemStats(&before)
		cfg := bedrocksim.Config("http://127.0.0.1:9") // never dialled: stopAfterPace ends each call
		g, err := bedrockguard.Install(&cfg, bedrockguard.WithMaxAttempts(1),
			bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}),
			guardtest.Pacing(func(c *limiter.Config) { c.Clock = clk }))
		if err != nil {
			b.Fatal(err)
		}
		client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) { o.APIOptions = append(o.APIOptions, stopAfterPace) })
		body := []byte(`{"prompt":"hi","max_tokens":10}`)
		for i := range 100_000 {
			client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(fmt.Sprintf("user-input-model-%d", i)), Body: body})
		}
		var busy runtime.MemStats
		runtime.GC()
		runtime.GC() // and sync.Pool's victim cache
		runtime.ReadMemStats(&busy)
		clk.advance(11 * time.Minute)
		client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("after"), Body: body})
		var after runtime.MemStats
		runtime.GC()
		runtime.GC() // and sync.Pool's victim cache
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(busy.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "MiB-live")
		retained := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
		b.ReportMetric(retained, "MiB-retained")
		if n := g.Outstanding(); n != 0 {
			b.Fatalf("%d outstanding", n)
		}
		// The budget is 8 MiB (0.17 MiB measured; 77 MiB before idle keys
		// were evicted).
		if retained > 8 {
			b.Fatalf("%.1f MiB retained by 100,000 idle model IDs (budget 8 MiB)", retained)
		}
		runtime.KeepAlive(client)
		runtime.KeepAlive(g)
	}
}
