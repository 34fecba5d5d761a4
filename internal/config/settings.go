// Package config holds the guard's settings: what the root package's
// options set, and the tuning knobs that only this module's tests and tools
// reach (an Option is a func(*Settings), so code inside the module can write
// its own).
package config

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/retry"
	"github.com/bedrockguard/bedrockguard/internal/tokens"
)

// Default values, named once.
const (
	// DefaultMaxAttempts is the attempts per call, the first included.
	DefaultMaxAttempts = retry.DefaultMaxAttempts
	// DefaultStreamIdleTimeout is how long a stream may be neither read nor
	// closed before its accounting ends.
	DefaultStreamIdleTimeout = 5 * time.Minute
)

// Settings is everything a Guard is built from.
type Settings struct {
	// Quotas are the configured limits per model ID.
	Quotas map[string]limiter.Limits
	// DefaultQuota applies to models without their own.
	DefaultQuota limiter.Limits
	// Discover, when set (package quotas' Background option), lists the
	// account's quotas per model ID in the background once the guard is
	// installed on an aws.Config; they apply to models without a
	// configured quota.
	Discover func(ctx context.Context, cfg aws.Config) (map[string]limiter.Limits, error)
	// Errs collects option errors; New fails with all of them.
	Errs []error

	// Pacing tunes the limiter (algorithm, store, clock...).
	Pacing limiter.Config
	// Estimator tunes token estimation.
	Estimator tokens.Options
	// Retry tunes the retry policy (attempts, backoff, budget).
	Retry retry.Options

	Observer    engine.Observer
	Logger      *slog.Logger
	Classifiers []classify.Classifier
	StreamPeek  bool
	StreamIdle  time.Duration
	ObserveOnly bool
	// Routes are the spillover routes per model ID (WithSpillover).
	Routes map[string][]engine.Route
}

// Defaults returns the settings before any option.
func Defaults() Settings {
	return Settings{
		Quotas:     map[string]limiter.Limits{},
		Retry:      retry.Options{MaxAttempts: DefaultMaxAttempts},
		StreamPeek: true,
		StreamIdle: DefaultStreamIdleTimeout,
	}
}
