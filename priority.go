package bedrockguard

import (
	"context"

	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// Priority orders the waiting calls of one model: Interactive before Batch.
type Priority = limiter.Priority

const (
	// Interactive is the default priority: a user is waiting.
	Interactive = limiter.Interactive
	// Batch yields to Interactive traffic, but waits at most about one
	// quota window longer than it would otherwise.
	Batch = limiter.Batch
)

// WithPriority returns a context whose Bedrock calls are paced at p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return engine.WithPriority(ctx, p)
}
