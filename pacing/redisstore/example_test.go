package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every process of a fleet builds its Limiter on a Store in the same Redis:
// together they stay within one quota. With bedrockguard itself, pass the
// store with bedrockguard.WithStore.
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr: "redis.internal:6379",
		// Fail fast, so that the Limiter falls back to local pacing at once
		// when Redis is unreachable instead of waiting out retries.
		DialTimeout:   250 * time.Millisecond,
		ReadTimeout:   250 * time.Millisecond,
		WriteTimeout:  250 * time.Millisecond,
		MaxRetries:    -1,
		DialerRetries: 1,
	})
	store := redisstore.New(client, redisstore.WithPrefix("myapp:bedrock:"))

	l, err := pacing.NewLimiter(pacing.Config{Store: store})
	if err != nil {
		panic(err)
	}
	kc := l.KeyConfig(pacing.Limits{TokensPerWindow: 400_000, RequestsPerWindow: 200})
	ctx := context.Background()
	tk, err := l.Acquire(ctx, "us-east-1/anthropic.claude-sonnet-4", kc, pacing.Amount{Requests: 1, Tokens: 5000}, pacing.Interactive)
	if err != nil {
		panic(err)
	}
	// ... call Bedrock, then settle with the tokens it reports:
	tk.Settle(3200)
	if n := l.StoreErrors(); n > 0 {
		fmt.Println("Redis was unreachable; paced locally", n, "times")
	}
}
