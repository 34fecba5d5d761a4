package limiter

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// BenchmarkAcquireSettle is the limiter's cost per call when no wait is
// needed: one admission and one settlement.
func BenchmarkAcquireSettle(b *testing.B) {
	l := mustLimiterB(b)
	kc := l.KeyConfig(Limits{RequestsPerWindow: 1e12, TokensPerWindow: 1e15})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		t, err := l.Acquire(ctx, "us-east-1/model", kc, pacing.Amount{Requests: 1, Tokens: 1000}, Interactive)
		if err != nil {
			b.Fatal(err)
		}
		t.Settle(600)
	}
}

// BenchmarkAcquireSettleParallel is the same under parallel load, on one
// key and spread over 8 keys.
func BenchmarkAcquireSettleParallel(b *testing.B) {
	for _, keys := range []int{1, 8} {
		b.Run("keys="+strconv.Itoa(keys), func(b *testing.B) {
			l := mustLimiterB(b)
			kc := l.KeyConfig(Limits{RequestsPerWindow: 1e12, TokensPerWindow: 1e15, Window: time.Minute})
			names := make([]string, keys)
			for i := range names {
				names[i] = "us-east-1/model-" + strconv.Itoa(i)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					t, err := l.Acquire(ctx, names[i%keys], kc, pacing.Amount{Requests: 1, Tokens: 1000}, Interactive)
					if err != nil {
						b.Error(err)
						return
					}
					t.Settle(600)
					i++
				}
			})
		})
	}
}

func mustLimiterB(b *testing.B) *Limiter {
	l, err := NewLimiter(Config{})
	if err != nil {
		b.Fatal(err)
	}
	return l
}
