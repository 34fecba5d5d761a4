package storetest_test

import (
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/pacing/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(now func() time.Time) pacing.Store { return limiter.NewMemoryStore(now) })
}
