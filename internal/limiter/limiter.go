package limiter

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// Priority orders waiters of one key. Lower values are served first.
type Priority int

const (
	// Interactive is the default priority: a user is waiting.
	Interactive Priority = iota
	// Batch traffic waits behind Interactive traffic, but not forever: a
	// Batch waiter older than the priority boost is served before newer
	// Interactive waiters.
	Batch
)

// Name returns "interactive" or "batch".
func Name(p Priority) string {
	if p == Batch {
		return "batch"
	}
	return "interactive"
}

// Limits are the configured quotas of one key. Zero means unknown on that
// axis: it starts in slow start and is learned from throttles.
type Limits struct {
	RequestsPerWindow float64
	TokensPerWindow   float64
	// Window is the quota period; zero means one minute.
	Window time.Duration
	// TokensPerDay is the daily token quota (zero: none), counted over Day
	// (zero: 24 hours) in a bucket of its own (see daily.go).
	TokensPerDay float64
	Day          time.Duration
}

// Config configures a [Limiter]. The zero value is valid: an in-process
// store, the wall clock, pacing.CUBIC recovery with the defaults below.
type Config struct {
	// pacing.Store keeps bucket state; nil means a new in-process MemoryStore.
	Store pacing.Store
	// Clock is the time source for waiting; nil means the wall clock.
	Clock Clock
	// pacing.Algorithm is the recovery curve after a throttle (default pacing.CUBIC).
	Algorithm pacing.Algorithm
	// Beta is the multiplicative decrease on a throttle (default 0.6).
	Beta float64
	// CubicC is the pacing.CUBIC scale in windows: with the defaults the rate is
	// back at its pre-throttle value about 3 windows after a decrease
	// (default 0.015).
	CubicC float64
	// AIMDIncrease is the pacing.AIMD additive increase per window, as a fraction
	// of the quota (default 0.1).
	AIMDIncrease float64
	// Cooldown is the shortest time between two decreases of one axis, as
	// a fraction of the window (default 0.1): a burst of in-flight requests
	// throttled together is one congestion signal.
	Cooldown float64
	// InitialFill is the fraction of a window's quota a new key may spend
	// at once. Zero means the default, 0.9; a negative value starts empty.
	// The service's own bucket is full at rest, but the first burst is
	// admitted before any usage has calibrated the estimate, and another
	// process may have spent part of the quota: starting just below full
	// keeps that burst from ending in a throttle (measured with the
	// simulator: one or two throttles in the first 0.3 s at 1, none at 0.9).
	InitialFill float64
	// StoreTimeout bounds each call to a shared Store (default 250 ms): a
	// call that takes longer counts as a store error, and the request is
	// paced locally instead.
	StoreTimeout time.Duration
	// PriorityBoost is how far ahead of a Batch waiter an Interactive waiter
	// that arrived at the same time is queued, as a fraction of the window
	// (default 1: a Batch request waits at most about one window longer than
	// it would without Interactive traffic).
	PriorityBoost float64
	// Tenants are the policies of named tenants (weights in each key's fair
	// queue, token budgets); DefaultTenant applies to the others.
	Tenants       map[string]TenantPolicy
	DefaultTenant TenantPolicy
}

func (c *Config) setDefaults() error {
	if c.Store == nil {
		var now func() time.Time
		if c.Clock != nil {
			now = c.Clock.Now
		}
		c.Store = NewMemoryStore(now)
	}
	if c.Clock == nil {
		c.Clock = wallClock{}
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	for name, v := range map[string]float64{"Beta": c.Beta, "CubicC": c.CubicC, "AIMDIncrease": c.AIMDIncrease,
		"Cooldown": c.Cooldown, "InitialFill": c.InitialFill, "PriorityBoost": c.PriorityBoost} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s %v is not a finite number", name, v)
		}
	}
	def(&c.Beta, 0.6)
	def(&c.CubicC, 0.015)
	def(&c.AIMDIncrease, 0.1)
	def(&c.Cooldown, 0.1)
	def(&c.InitialFill, 0.9)
	if c.InitialFill < 0 {
		c.InitialFill = 0
	}
	def(&c.PriorityBoost, 1)
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = 250 * time.Millisecond
	}
	switch {
	case c.Beta <= 0 || c.Beta >= 1:
		return fmt.Errorf("the decrease factor Beta %v must be in (0, 1)", c.Beta)
	case c.CubicC < 0, c.AIMDIncrease < 0, c.Cooldown < 0, c.PriorityBoost < 0:
		return errors.New("CubicC, AIMDIncrease, Cooldown and PriorityBoost must not be negative")
	case c.InitialFill > 1:
		return fmt.Errorf("InitialFill %v must be in [0, 1]", c.InitialFill)
	case c.Algorithm != pacing.CUBIC && c.Algorithm != pacing.AIMD:
		return fmt.Errorf("unknown algorithm %d", c.Algorithm)
	}
	return nil
}

// Limiter paces requests per key under adaptive request and token buckets.
// Waiters of one key are served in order: by priority (with aging), then
// first come, first served, so a large request at the head is admitted as
// soon as its tokens have accumulated and is never starved by small ones.
// With a [pacing.FleetStore] the order is fleet-wide (see fleet.go).
// It is safe for concurrent use.
type Limiter struct {
	cfg      Config
	fallback *MemoryStore
	fleet    pacing.FleetStore // cfg.Store, when it keeps a fleet-wide queue
	proc     string            // this process in the fleet's heartbeats
	seq      atomic.Uint64

	queues    sync.Map // key -> *queue
	fleets    sync.Map // key -> *fleetKey
	meters    sync.Map // key -> *dayMeter
	lastSweep atomic.Int64

	outstanding atomic.Int64
	storeErrors atomic.Int64
}

// NewLimiter returns a Limiter, or an error for an invalid Config.
func NewLimiter(cfg Config) (*Limiter, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	l := &Limiter{
		cfg:      cfg,
		fallback: NewMemoryStore(cfg.Clock.Now),
		proc:     newProcessID(),
	}
	l.fleet, _ = cfg.Store.(pacing.FleetStore)
	return l, nil
}

// pacing.KeyConfig returns the store configuration for limits under this
// limiter's tuning.
func (l *Limiter) KeyConfig(lim Limits) pacing.KeyConfig {
	w := lim.Window
	if w <= 0 {
		w = time.Minute
	}
	ax := func(q float64) pacing.AxisConfig {
		return pacing.AxisConfig{
			Quota:        q,
			Window:       w,
			InitialFill:  l.cfg.InitialFill,
			Algorithm:    l.cfg.Algorithm,
			Beta:         l.cfg.Beta,
			CubicC:       l.cfg.CubicC,
			AIMDIncrease: l.cfg.AIMDIncrease,
			Cooldown:     time.Duration(l.cfg.Cooldown * float64(w)),
		}
	}
	return pacing.KeyConfig{Requests: ax(lim.RequestsPerWindow), Tokens: ax(lim.TokensPerWindow)}
}

// Outstanding returns the number of tickets neither settled nor released.
// After all calls have returned it must be zero; tests use it to prove that
// no reservation leaks.
func (l *Limiter) Outstanding() int64 { return l.outstanding.Load() }

// StoreErrors returns how many store calls failed and were served by the
// local fallback store instead.
func (l *Limiter) StoreErrors() int64 { return l.storeErrors.Load() }

// DeadlineError is returned by [Limiter.Acquire] when the caller's context
// deadline would pass before the request could be admitted: it fails at
// once instead of waiting in vain. Use errors.As with a *DeadlineError;
// errors.Is(err, context.DeadlineExceeded) also reports true.
type DeadlineError struct {
	// Key is the pacing key: region and model ID.
	Key string
	// Wait is the estimated time until admission.
	Wait time.Duration
	// Remaining is the time that was left before the deadline.
	Remaining time.Duration
}

// Error says how long admission would have taken and how long was left.
func (e *DeadlineError) Error() string {
	return fmt.Sprintf("bedrockguard: %s: admission in about %v would pass the context deadline (%v left)",
		e.Key, e.Wait.Round(time.Millisecond), e.Remaining.Round(time.Millisecond))
}

// Is reports true for context.DeadlineExceeded.
func (e *DeadlineError) Is(target error) bool { return target == context.DeadlineExceeded }

// TooLargeError is returned by [Limiter.Acquire] for a request whose token
// reservation exceeds a whole window of the configured quota: the service
// could never admit it either. Lower max_tokens. Use errors.As with a
// *TooLargeError.
type TooLargeError struct {
	// Key is the pacing key: region and model ID.
	Key string
	// Tokens is the reservation: input tokens + max_tokens x burndown.
	Tokens float64
	// Capacity is the quota: tokens per window.
	Capacity float64
}

// Error names both numbers.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("bedrockguard: %s: reservation of %.0f tokens exceeds the quota of %.0f tokens per window; lower max_tokens",
		e.Key, e.Tokens, e.Capacity)
}

// Ticket is an admitted reservation. Exactly one of Settle or Release must
// be called; later calls do nothing. It is safe for concurrent use.
type Ticket struct {
	l     *Limiter
	q     *queue       // local queue, or nil
	store pacing.Store // the store that charged a local ticket
	fk    *fleetKey    // the fleet key of a ticket the fleet store charged
	epoch string       // the fleet store's epoch that charged it
	amt   pacing.Amount
	quota float64   // the tokens quota at admission (0: unknown)
	at    time.Time // admission (local tickets)
	// budgets are the fixed budgets (daily quota, tenant budgets) the
	// ticket charged, refunded at settlement like the key's buckets.
	budgets []budgetCharge
	done    atomic.Bool
	// Waited is how long the request waited for admission.
	Waited time.Duration
}

// Reserved returns the amount the ticket holds (zero for a nil Ticket).
func (t *Ticket) Reserved() pacing.Amount {
	if t == nil {
		return pacing.Amount{}
	}
	return t.amt
}

// Settle ends the reservation with the tokens actually charged by the
// service: the difference is refunded (or charged, when larger). Settle and
// Release do nothing on a nil Ticket.
func (t *Ticket) Settle(tokens float64) { t.SettleAdmitted(tokens, math.NaN()) }

// SettleAdmitted is [Ticket.Settle] for a call whose admission charge at
// the service is known: admitted is what the service took from its quota
// when it admitted the request (the prompt's real count plus max_tokens x
// burndown), NaN (or any non-finite value) if unknown.
//
// The refund always goes back to the bucket. The store's evidence of the
// ceiling (see pacing's doc) counts it as the service's own refund, except
// for a ticket admitted before the tokens rate was last lowered: the span
// that decrease closed counted its reservation, not the service's charge,
// so the new span counts only what the service gave back (admitted minus
// charged), not the reservation's error. After slow start, with many calls
// in flight at the throttle, those errors added up to 15 % of the next
// estimate. And what the ticket reserved beyond admitted does not come back
// to the bucket when the bucket was full after the admission: the cap
// absorbed it on the service's side too (see MemoryStore.ReturnSplit).
func (t *Ticket) SettleAdmitted(tokens, admitted float64) {
	if t == nil || !t.done.CompareAndSwap(false, true) {
		return
	}
	t.l.outstanding.Add(-1)
	charged := t.charge(tokens)
	amt := pacing.Amount{Tokens: t.amt.Tokens - charged}
	t.l.refundBudgets(t.budgets, charged)
	if t.fk != nil {
		t.l.refund(t.fk, t.epoch, amt)
		return
	}
	t.q.mu.Lock()
	t.q.held-- // what release does, with the staleness read under the same lock
	stale := t.staleLocked()
	t.q.mu.Unlock()
	if sr, ok := t.store.(splitReturner); ok && !math.IsNaN(admitted) && !math.IsInf(admitted, 0) && amt.Tokens != 0 {
		evidence := amt
		if stale {
			evidence = pacing.Amount{Tokens: math.Max(admitted, charged) - charged}
		}
		over := math.Max(t.amt.Tokens-math.Max(admitted, 0), 0)
		t.l.returnWith(t.q, func(ctx context.Context, cfg pacing.KeyConfig) error {
			return sr.ReturnSplit(ctx, t.q.key, cfg, amt, evidence, t.at, over)
		})
		return
	}
	t.l.giveBack(t.q, t.store, amt)
}

// staleLocked reports whether a local ticket was admitted before its
// queue's tokens rate was last lowered. t.q.mu must be held.
func (t *Ticket) staleLocked() bool { return !t.q.lowered.IsZero() && t.at.Before(t.q.lowered) }

// splitReturner is a store that settles with the service's admission
// charge known (MemoryStore): see MemoryStore.ReturnSplit.
type splitReturner interface {
	ReturnSplit(ctx context.Context, key string, cfg pacing.KeyConfig, amt, evidence pacing.Amount, admitted time.Time, over float64) error
}

// charge bounds what a ticket is charged at settlement: NaN or a negative
// count charges the reservation; a charge above it is capped at the
// reservation plus one window of the quota (or twice the reservation while
// the quota is unknown), so that no report, however wrong, leaves a bucket
// more than one window in debt.
func (t *Ticket) charge(tokens float64) float64 {
	if math.IsNaN(tokens) || tokens < 0 {
		return t.amt.Tokens
	}
	extra := t.quota
	if extra <= 0 {
		extra = t.amt.Tokens
	}
	return math.Min(tokens, t.amt.Tokens+extra)
}

// Release ends the reservation without a charge: the call failed before the
// service counted its tokens (error, throttle, cancellation). The request
// itself stays counted.
func (t *Ticket) Release() { t.Settle(0) }

// Acquire waits until the request may be sent and reserves amt on key. It
// fails at once with a *TooLargeError or *DeadlineError, and returns the
// context's error if ctx ends while waiting.
func (l *Limiter) Acquire(ctx context.Context, key string, kc pacing.KeyConfig, amt pacing.Amount, pri Priority) (*Ticket, error) {
	if !validAmount(amt.Tokens) || !validAmount(amt.Requests) {
		// NaN, infinite or negative: a reservation that could never be
		// repaid (a negative one would credit the bucket, and its release
		// would leave a debt no window can refill).
		return nil, &TooLargeError{Key: key, Tokens: amt.Tokens, Capacity: kc.Tokens.Quota}
	}
	if q := kc.Tokens.Quota; q > 0 && amt.Tokens > q {
		return nil, &TooLargeError{Key: key, Tokens: amt.Tokens, Capacity: q}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.acquire(ctx, key, kc, amt, pri, "")
}

// acquire waits for admission of a valid amount, in the fleet's queue or
// the local one, at tenant's fair-queueing place.
func (l *Limiter) acquire(ctx context.Context, key string, kc pacing.KeyConfig, amt pacing.Amount, pri Priority, tenant string) (*Ticket, error) {
	l.sweepQueues(l.cfg.Clock.Now())
	var t *Ticket
	var err error
	if l.fleet != nil {
		t, err = l.acquireFleet(ctx, key, kc, amt, pri, tenant)
	} else {
		t, err = l.acquireLocal(ctx, key, l.cfg.Store, kc, amt, pri, tenant)
	}
	if t != nil {
		t.quota = kc.Tokens.Quota
	}
	return t, err
}

// validAmount reports whether v is a finite, non-negative amount.
func validAmount(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// acquireLocal waits in q, this process's queue of a key.
func (l *Limiter) acquireLocal(ctx context.Context, key string, st pacing.Store, kc pacing.KeyConfig, amt pacing.Amount, pri Priority, tenant string) (*Ticket, error) {
	q := l.lockQueue(key, st)
	q.cfg = kc
	now := l.cfg.Clock.Now()
	q.used = now
	// The waiter's place: its arrival, or its tenant's start tag once
	// tenants are named on the key (see tenant.go).
	arrival := now
	var ts *tenantState
	if tenant != "" || q.tenants.used() {
		arrival, ts = q.tenants.tag(now, tenant, l.tenantPolicy(tenant).Weight, pri, amt.Tokens, l.tenantRate(q, now), kc.Tokens.Window)
	}
	if len(q.waiters) == 0 {
		if res, st := l.reserve(q, amt); res.OK {
			q.held++
			q.mu.Unlock()
			return l.ticket(q, st, amt, 0), nil
		}
	}
	w := &waiter{
		amt:    amt,
		order:  arrival.Add(-time.Duration(l.priorityBoost(pri, kc))),
		seq:    q.nextSeq(),
		ready:  make(chan struct{}),
		tenant: ts,
	}
	if dl, ok := ctx.Deadline(); ok {
		if est := l.estimate(q, w); now.Add(est).After(dl) {
			if ts != nil {
				ts.untag(pri, arrival) // refused: it takes no share
			}
			q.mu.Unlock()
			return nil, &DeadlineError{Key: key, Wait: est, Remaining: dl.Sub(now)}
		}
	}
	heap.Push(&q.waiters, w)
	if ts != nil {
		ts.waiting++
	}
	l.dispatch(q)
	q.mu.Unlock()

	select {
	case <-w.ready:
		return l.ticket(q, w.store, amt, l.cfg.Clock.Now().Sub(now)), nil
	case <-ctx.Done():
		q.mu.Lock()
		admitted := w.admitted
		if !admitted {
			heap.Remove(&q.waiters, w.index)
			w.dequeued()
			l.dispatch(q)
		}
		q.mu.Unlock()
		if admitted {
			l.release(q)
			l.giveBack(q, w.store, pacing.Amount{Tokens: amt.Tokens})
		}
		return nil, context.Cause(ctx)
	}
}

// Throttled reports a throttle of axis a on key: the limiter lowers that
// axis' rate and empties its bucket. It reports whether the rate was lowered
// (throttles within the cooldown of a decrease only empty the bucket).
func (l *Limiter) Throttled(ctx context.Context, key string, kc pacing.KeyConfig, a pacing.Axis) bool {
	if l.fleet != nil {
		return l.throttledFleet(ctx, key, kc, a)
	}
	sctx, cancel := l.storeCtx(ctx)
	defer cancel()
	lowered, err := l.cfg.Store.Throttled(sctx, key, kc, a)
	if err != nil {
		l.storeErrors.Add(1)
		lowered, _ = l.fallback.Throttled(ctx, key, kc, a)
	}
	return lowered
}

// State returns a snapshot of key's buckets and rates.
func (l *Limiter) State(ctx context.Context, key string, kc pacing.KeyConfig) pacing.KeyState {
	if l.fleet != nil {
		return l.stateFleet(ctx, key, kc)
	}
	sctx, cancel := l.storeCtx(ctx)
	defer cancel()
	st, err := l.cfg.Store.State(sctx, key, kc)
	if err != nil {
		l.storeErrors.Add(1)
		st, _ = l.fallback.State(ctx, key, kc)
	}
	return st
}

func (l *Limiter) ticket(q *queue, st pacing.Store, amt pacing.Amount, waited time.Duration) *Ticket {
	l.outstanding.Add(1)
	return &Ticket{l: l, q: q, store: st, amt: amt, at: l.cfg.Clock.Now(), Waited: waited}
}

// storeCtx returns the context of one call to a shared store: bounded by
// StoreTimeout, and not ended by the caller's cancellation, so that the
// limiter always learns whether the store charged.
func (l *Limiter) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), l.cfg.StoreTimeout)
}

func (l *Limiter) priorityBoost(p Priority, kc pacing.KeyConfig) float64 {
	if p == Batch {
		return 0
	}
	return l.cfg.PriorityBoost * float64(kc.Tokens.Window)
}

// lockQueue returns the local queue of key, locked; its reservations go
// to st.
func (l *Limiter) lockQueue(key string, st pacing.Store) *queue {
	for {
		v, ok := l.queues.Load(key)
		if !ok {
			v, _ = l.queues.LoadOrStore(key, &queue{key: key, store: st})
		}
		q := v.(*queue)
		q.mu.Lock()
		if !q.gone {
			return q
		}
		q.mu.Unlock()
	}
}

// release counts the end of one of q's tickets.
func (l *Limiter) release(q *queue) {
	q.mu.Lock()
	q.held--
	q.mu.Unlock()
}

// sweepQueues forgets the queues of keys unused for EvictIdleWindows
// windows, with no waiter and no ticket outstanding, at most once a
// sweepEvery; busy queues are skipped.
func (l *Limiter) sweepQueues(now time.Time) {
	if !sweepDue(&l.lastSweep, now) {
		return
	}
	l.queues.Range(func(key, v any) bool {
		q := v.(*queue)
		if !q.mu.TryLock() {
			return true
		}
		if len(q.waiters) == 0 && q.timer == nil && q.held == 0 && now.Sub(q.used) >= idleAfter(&q.cfg) {
			q.gone = true
			l.queues.CompareAndDelete(key, q)
			l.meters.Delete(key)
		}
		q.mu.Unlock()
		return true
	})
}

// reserve calls q's store, falling back to the local store on error, and
// returns the store that answered. Called with q.mu held. A local queue is
// only used with an in-process store or, for a shared store that keeps no
// fleet-wide queue (not a [pacing.FleetStore]), with its calls bounded by
// StoreTimeout.
func (l *Limiter) reserve(q *queue, amt pacing.Amount) (pacing.ReserveResult, pacing.Store) {
	if q.store != pacing.Store(l.fallback) {
		ctx, cancel := l.storeCtx(context.Background())
		res, err := q.store.Reserve(ctx, q.key, q.cfg, amt)
		cancel()
		if err == nil {
			return res, q.store
		}
		l.storeErrors.Add(1)
	}
	res, _ := l.fallback.Reserve(context.Background(), q.key, q.cfg, amt)
	return res, l.fallback
}

// giveBack returns amt to st, the store that charged it, without holding
// q's lock, then admits whoever now fits. A refund the charging store cannot
// take is dropped: it is never given to a store that did not charge it.
func (l *Limiter) giveBack(q *queue, st pacing.Store, amt pacing.Amount) {
	if amt.Tokens == 0 && amt.Requests == 0 {
		return
	}
	l.returnWith(q, func(ctx context.Context, cfg pacing.KeyConfig) error { return st.Return(ctx, q.key, cfg, amt) })
}

// returnWith runs one refund to q's store (ret) outside q's lock, then
// admits the waiters it made room for.
func (l *Limiter) returnWith(q *queue, ret func(context.Context, pacing.KeyConfig) error) {
	q.mu.Lock()
	cfg := q.cfg
	q.mu.Unlock()
	ctx, cancel := l.storeCtx(context.Background())
	err := ret(ctx, cfg)
	cancel()
	if err != nil {
		l.storeErrors.Add(1)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	l.dispatch(q)
}

// estimate returns how long until w would be admitted, given the waiters
// ordered before it, at the current rates. Called with q.mu held.
func (l *Limiter) estimate(q *queue, w *waiter) time.Duration {
	need := w.amt
	for _, o := range q.waiters {
		if o.less(w) {
			need.Requests += o.amt.Requests
			need.Tokens += o.amt.Tokens
		}
	}
	ctx, cancel := l.storeCtx(context.Background())
	st, err := q.store.State(ctx, q.key, q.cfg)
	cancel()
	if err != nil {
		l.storeErrors.Add(1)
		st, _ = l.fallback.State(ctx, q.key, q.cfg)
	}
	var est time.Duration
	for a, n := range [numAxes]float64{need.Requests, need.Tokens} {
		if !st.Limited[a] || st.Rate[a] <= 0 {
			continue
		}
		win := axisOf(&q.cfg, pacing.Axis(a)).Window
		if d := (n - st.Level[a]) / st.Rate[a] * float64(win); d > float64(est) {
			est = time.Duration(math.Min(d, float64(maxWait)))
		}
	}
	return est
}

// dispatch admits waiters from the head of q while they fit, then arms a
// timer for the head. Called with q.mu held.
func (l *Limiter) dispatch(q *queue) {
	for len(q.waiters) > 0 {
		head := q.waiters[0]
		res, st := l.reserve(q, head.amt)
		if !res.OK {
			q.arm(l, res.Wait)
			return
		}
		heap.Pop(&q.waiters)
		head.dequeued()
		q.held++
		head.admitted = true
		head.store = st
		close(head.ready)
	}
	q.disarm()
}

// queue holds the waiters of one key.
type queue struct {
	key   string
	store pacing.Store // where its reservations go first

	mu      sync.Mutex
	cfg     pacing.KeyConfig
	used    time.Time // last Acquire
	held    int       // tickets neither settled nor released
	gone    bool      // evicted: look the key up again
	waiters waiterHeap
	seq     uint64
	timer   Timer
	tenants tenantTable
	rate    float64   // the tokens rate last read for tenant tags, when the quota is unknown
	rateAt  time.Time // when it was read
	// lowered is when ReleaseThrottled last lowered the tokens rate: the
	// start of the store's evidence span (see ReleaseThrottled).
	lowered time.Time
}

func (q *queue) nextSeq() uint64 { q.seq++; return q.seq }

func (q *queue) arm(l *Limiter, d time.Duration) {
	q.disarm()
	if d <= 0 {
		d = time.Millisecond
	}
	q.timer = l.cfg.Clock.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.timer = nil
		l.dispatch(q)
	})
}

func (q *queue) disarm() {
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
}

type waiter struct {
	amt      pacing.Amount
	order    time.Time
	seq      uint64
	ready    chan struct{}
	admitted bool
	store    pacing.Store // the store that charged it
	index    int
	tenant   *tenantState // its tenant's state, when tenants are in use
}

// dequeued counts w out of its tenant's waiters.
func (w *waiter) dequeued() {
	if w.tenant != nil {
		w.tenant.waiting--
		w.tenant = nil
	}
}

// tenantRate returns q's tokens per window for tenant tags: the quota, or
// the store's current rate (read at most once per tenth of a window).
// Called with q.mu held.
func (l *Limiter) tenantRate(q *queue, now time.Time) float64 {
	if r := q.cfg.Tokens.Quota; r > 0 {
		return r
	}
	w := q.cfg.Tokens.Window
	if !q.rateAt.IsZero() && now.Sub(q.rateAt) < w/10 {
		return q.rate
	}
	ctx, cancel := l.storeCtx(context.Background())
	st, err := q.store.State(ctx, q.key, q.cfg)
	cancel()
	if err != nil {
		l.storeErrors.Add(1)
		st, _ = l.fallback.State(ctx, q.key, q.cfg)
	}
	q.rate, q.rateAt = 0, now
	if r := st.Rate[pacing.Tokens]; st.Limited[pacing.Tokens] && r > 0 && !math.IsInf(r, 0) {
		q.rate = r
	}
	return q.rate
}

func (w *waiter) less(o *waiter) bool {
	if !w.order.Equal(o.order) {
		return w.order.Before(o.order)
	}
	return w.seq < o.seq
}

type waiterHeap []*waiter

func (h waiterHeap) Len() int           { return len(h) }
func (h waiterHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *waiterHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}
