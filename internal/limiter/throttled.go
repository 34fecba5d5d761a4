package limiter

import (
	"context"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// ReleaseThrottled ends t, whose attempt the service throttled on axis a of
// key, and reports the throttle as [Limiter.Throttled] does, returning
// whether the rate was lowered. The reservation goes back to the store and
// the throttle empties the bucket with no admission in between: released
// first on its own, the refused attempt's tokens would admit the next
// waiter straight into the server's empty bucket (a second throttle for one
// signal). A nil or already ended ticket only reports the throttle.
func (l *Limiter) ReleaseThrottled(ctx context.Context, t *Ticket, key string, kc pacing.KeyConfig, a pacing.Axis) bool {
	if t == nil || t.q == nil || t.fk != nil {
		// No local queue to hold (a fleet ticket's refund is batched and
		// reaches the store later anyway).
		t.Release()
		return l.Throttled(ctx, key, kc, a)
	}
	if !t.done.CompareAndSwap(false, true) {
		return l.Throttled(ctx, key, kc, a)
	}
	// What Release does, but under the queue's lock until the throttle
	// has emptied the bucket.
	l.outstanding.Add(-1)
	l.refundBudgets(t.budgets, 0)
	q := t.q
	q.mu.Lock()
	defer q.mu.Unlock()
	q.held--
	// A ticket admitted before the last decrease of the tokens rate (an
	// attempt in flight when an earlier one was throttled) was charged in
	// the evidence span that decrease closed; its release would count in
	// the new span as tokens the server gave back, though the server never
	// charged them, and bias the next estimate of the ceiling low (by
	// several requests after slow start, when many are in flight at once).
	// It stays charged: the throttle caps the bucket at the same debt
	// either way, unless the bucket was deeper in debt than that.
	if t.amt.Tokens != 0 && !t.staleLocked() {
		sctx, cancel := l.storeCtx(ctx)
		err := t.store.Return(sctx, q.key, q.cfg, pacing.Amount{Tokens: t.amt.Tokens})
		cancel()
		if err != nil {
			l.storeErrors.Add(1)
		}
	}
	lowered := l.Throttled(ctx, key, kc, a)
	if lowered && a == pacing.Tokens {
		q.lowered = l.cfg.Clock.Now()
	}
	l.dispatch(q)
	return lowered
}
