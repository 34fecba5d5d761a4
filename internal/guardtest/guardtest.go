// Package guardtest gives this module's tests and tools the guard's tuning
// knobs that are not public options: fast retries, pacing and estimator
// settings.
package guardtest

import (
	"time"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/internal/config"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/retry"
	"github.com/bedrockguard/bedrockguard/internal/tokens"
)

// FastRetry makes every backoff base one millisecond, so that tests retry
// without waiting.
func FastRetry() bedrockguard.Option {
	return Retry(func(o *retry.Options) {
		o.ThrottleBase, o.ServerErrorBase, o.ModelNotReadyBase = time.Millisecond, time.Millisecond, time.Millisecond
	})
}

// Retry changes the retry policy's options (MaxAttempts is also set by
// bedrockguard.WithMaxAttempts).
func Retry(f func(*retry.Options)) bedrockguard.Option {
	return func(s *config.Settings) { f(&s.Retry) }
}

// Pacing changes the limiter's configuration (the store is also set by
// bedrockguard.WithStore).
func Pacing(f func(*limiter.Config)) bedrockguard.Option {
	return func(s *config.Settings) { f(&s.Pacing) }
}

// Estimator changes the token estimator's options.
func Estimator(f func(*tokens.Options)) bedrockguard.Option {
	return func(s *config.Settings) { f(&s.Estimator) }
}

// StreamIdleTimeout sets how long a stream may be neither read nor closed
// before the guard settles its reservation with what it has seen (default
// 5 minutes).
func StreamIdleTimeout(d time.Duration) bedrockguard.Option {
	return func(s *config.Settings) { s.StreamIdle = d }
}

// Tokenizer counts input text with count instead of tiktoken's cl100k_base.
func Tokenizer(count func(text string) int) bedrockguard.Option {
	return Estimator(func(o *tokens.Options) { o.Tokenizer = tokens.TokenizerFunc(count) })
}
