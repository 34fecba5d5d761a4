package limiter

import (
	"context"
	"math"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// Predict returns how long a request of amt at priority pri would wait for
// admission on key if it asked now: 0 when it would be admitted at once,
// otherwise the time until the buckets, at their current adaptive rates,
// refill what it and the waiters queued before it need. It reserves
// nothing and queues nothing. With a fleet store it reads the key's state
// and does not see the other processes' queue.
func (l *Limiter) Predict(ctx context.Context, key string, kc pacing.KeyConfig, amt pacing.Amount, pri Priority) time.Duration {
	if l.fleet != nil {
		return predictFrom(l.stateFleet(ctx, key, kc), kc, amt)
	}
	q := l.lockQueue(key, l.cfg.Store)
	defer q.mu.Unlock()
	q.cfg = kc
	if len(q.waiters) == 0 {
		ctx, cancel := l.storeCtx(ctx)
		st, err := q.store.State(ctx, q.key, q.cfg)
		cancel()
		if err != nil {
			l.storeErrors.Add(1)
			st, _ = l.fallback.State(context.Background(), q.key, q.cfg)
		}
		return predictFrom(st, kc, amt)
	}
	w := &waiter{
		amt:   amt,
		order: l.cfg.Clock.Now().Add(-time.Duration(l.priorityBoost(pri, kc))),
		seq:   math.MaxUint64,
	}
	return l.estimate(q, w)
}

// predictFrom is the wait for amt given a key's state: the time for the
// slower of the paced axes to refill what amt needs beyond its level.
func predictFrom(st pacing.KeyState, kc pacing.KeyConfig, amt pacing.Amount) time.Duration {
	var est time.Duration
	for a, n := range [numAxes]float64{amt.Requests, amt.Tokens} {
		if !st.Limited[a] || st.Rate[a] <= 0 || n <= st.Level[a] {
			continue
		}
		win := axisOf(&kc, pacing.Axis(a)).Window
		if d := (n - st.Level[a]) / st.Rate[a] * float64(win); d > float64(est) {
			est = time.Duration(math.Min(d, float64(maxWait)))
		}
	}
	return est
}
