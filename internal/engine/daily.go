package engine

import (
	"context"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// DayState returns the tokens-per-day state of c's key: the day's
// remainder and the forecast of when it runs out (zero when the key has no
// tokens-per-day quota). It asks the limiter's Store.
func DayState(ctx context.Context, c *Call) limiter.DayState {
	if c.limiter == nil {
		return limiter.DayState{}
	}
	return c.limiter.DayState(ctx, c.key, c.limits)
}
