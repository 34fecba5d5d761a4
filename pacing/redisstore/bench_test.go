package redisstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/bedrockguard/bedrockguard/internal/storekit"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
)

// BenchmarkReserveReturn measures one admission and its settlement (two
// script calls, two round trips) on a loopback redis-server; the in-process
// MemoryStore is the baseline.
func BenchmarkReserveReturn(b *testing.B) {
	srv := startRedis(b)
	kc := storekit.KeyConfig(b, limiter.Config{}, limiter.Limits{RequestsPerWindow: 1e12, TokensPerWindow: 1e15})
	amt := pacing.Amount{Requests: 1, Tokens: 1000}
	stores := []struct {
		name string
		s    pacing.Store
	}{
		{"memory", storekit.Reference(nil)},
		{"redis", redisstore.New(srv.Client(b), redisstore.WithPrefix(uniquePrefix(b)))},
	}
	for _, st := range stores {
		ctx := context.Background()
		b.Run(st.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res, err := st.s.Reserve(ctx, "k", kc, amt); err != nil || !res.OK {
					b.Fatal(res, err)
				}
				if err := st.s.Return(ctx, "k", kc, pacing.Amount{Tokens: 400}); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, keys := range []int{1, 64} {
			b.Run(st.name+"/parallel-keys="+strconv.Itoa(keys), func(b *testing.B) {
				b.ReportAllocs()
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					key := "k" + strconv.Itoa(int(n.Add(1))%keys)
					for pb.Next() {
						if _, err := st.s.Reserve(ctx, key, kc, amt); err != nil {
							b.Fatal(err)
						}
						if err := st.s.Return(ctx, key, kc, pacing.Amount{Tokens: 400}); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}
