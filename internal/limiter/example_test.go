package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// A Limiter reserves a request's tokens at admission and settles them to
// what the service charged.
func ExampleNewLimiter() {
	l, err := limiter.NewLimiter(limiter.Config{InitialFill: 1})
	if err != nil {
		panic(err)
	}
	kc := l.KeyConfig(limiter.Limits{TokensPerWindow: 10_000, Window: time.Minute})
	ctx := context.Background()

	// input estimate 1200 + max_tokens 1000
	t, err := l.Acquire(ctx, "us-east-1/anthropic.claude-3-5-haiku-20241022-v1:0", kc,
		pacing.Amount{Requests: 1, Tokens: 2200}, limiter.Interactive)
	if err != nil {
		panic(err)
	}
	fmt.Println("waited:", t.Waited)
	t.Settle(1450) // usage: 1200 input + 250 output; 750 tokens come back
	fmt.Println("outstanding:", l.Outstanding())

	// A reservation larger than a whole window can never be admitted.
	_, err = l.Acquire(ctx, "us-east-1/anthropic.claude-3-5-haiku-20241022-v1:0", kc,
		pacing.Amount{Requests: 1, Tokens: 64_000}, limiter.Interactive)
	var tl *limiter.TooLargeError
	fmt.Println(errors.As(err, &tl), tl.Capacity)
	// Output:
	// waited: 0s
	// outstanding: 0
	// true 10000
}
