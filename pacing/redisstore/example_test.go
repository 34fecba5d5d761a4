package redisstore_test

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/redis/go-redis/v9"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
)

// Every process of a fleet installs the guard with a store in the same
// Redis: together they stay within one quota.
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr: "redis.internal:6379",
		// Fail fast, so that the guard falls back to local pacing at once
		// when Redis is unreachable instead of waiting out retries.
		DialTimeout:   250 * time.Millisecond,
		ReadTimeout:   250 * time.Millisecond,
		WriteTimeout:  250 * time.Millisecond,
		MaxRetries:    -1,
		DialerRetries: 1,
		// Let the store's and the guard's per-call bounds (250 ms) cut a
		// slow call short: go-redis ignores context deadlines without it.
		ContextTimeoutEnabled: true,
	})
	store := redisstore.New(client, redisstore.WithPrefix("myapp:bedrock:"))

	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	_, err = bedrockguard.Install(&cfg,
		bedrockguard.WithStore(store),
		bedrockguard.WithQuota("us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			bedrockguard.Quota{TokensPerWindow: 400_000}),
	)
	if err != nil {
		panic(err)
	}
	// Every Bedrock Runtime client made from cfg now paces against the
	// fleet-wide quota in Redis.
}
