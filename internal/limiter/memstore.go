package limiter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// Clock is the time source of the pacing layer. The default is the wall
// clock; tests run under testing/synctest or inject their own.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, like time.AfterFunc.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer that the limiter uses.
type Timer interface {
	Stop() bool
}

type wallClock struct{}

func (wallClock) Now() time.Time                            { return time.Now() }
func (wallClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// WallClock returns the real clock.
func WallClock() Clock { return wallClock{} }

// MemoryStore is the in-process [pacing.Store]. The zero value is not usable; call
// [NewMemoryStore]. It is safe for concurrent use.
//
// A key that is not used for [EvictIdleWindows] windows of its quota (the
// longer of its two axes) is forgotten, so that model IDs taken from user
// input cannot grow the store without bound: its next use starts it afresh,
// as a new key (configured quota: the initial fill; otherwise slow start).
// By then its bucket is full and a decrease has long recovered; only the
// ceiling learned from throttles is lost, and relearned.
type MemoryStore struct {
	now       func() time.Time
	keys      sync.Map // key -> *memKey
	lastSweep atomic.Int64
}

type memKey struct {
	mu   sync.Mutex
	axes [numAxes]axis
	used time.Time     // last use
	idle time.Duration // unused this long, it is evicted
	gone bool          // evicted: look the key up again
}

// EvictIdleWindows is how many windows of its quota a key of the in-process
// store or of a Limiter's queues stays unused before it is forgotten.
const EvictIdleWindows = 10

// sweepEvery is the shortest time between two sweeps for idle keys.
const sweepEvery = time.Minute

// idleAfter returns how long a key of cfg may stay unused.
func idleAfter(cfg *pacing.KeyConfig) time.Duration {
	w := max(cfg.Requests.Window, cfg.Tokens.Window, time.Minute)
	return EvictIdleWindows * w
}

// sweepDue reports whether a sweep should run at now, claiming it.
func sweepDue(last *atomic.Int64, now time.Time) bool {
	prev := last.Load()
	n := now.UnixNano()
	return n-prev >= int64(sweepEvery) && last.CompareAndSwap(prev, n)
}

// sweep forgets the keys unused for longer than their idle time. Keys in
// use (locked) are skipped.
func (m *MemoryStore) sweep(now time.Time) {
	if !sweepDue(&m.lastSweep, now) {
		return
	}
	m.keys.Range(func(key, v any) bool {
		k := v.(*memKey)
		if !k.mu.TryLock() {
			return true
		}
		if now.Sub(k.used) >= k.idle {
			k.gone = true
			m.keys.CompareAndDelete(key, k)
		}
		k.mu.Unlock()
		return true
	})
}

// Len returns the number of keys the store holds.
func (m *MemoryStore) Len() int {
	n := 0
	m.keys.Range(func(any, any) bool { n++; return true })
	return n
}

// NewMemoryStore returns an in-process store that reads time from now
// (time.Now when nil).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now}
}

// lock returns key's state, locked and brought up to date at now; the
// caller unlocks it.
func (m *MemoryStore) lock(key string, cfg *pacing.KeyConfig) (*memKey, time.Time) {
	m.sweep(m.now())
	for {
		v, ok := m.keys.Load(key)
		if !ok {
			v, _ = m.keys.LoadOrStore(key, new(memKey))
		}
		k := v.(*memKey)
		k.mu.Lock()
		if k.gone {
			k.mu.Unlock()
			continue
		}
		now := m.now()
		for a := range numAxes {
			k.axes[a].advance(axisOf(cfg, pacing.Axis(a)), now)
		}
		k.used, k.idle = now, idleAfter(cfg)
		return k, now
	}
}

// Reserve implements [pacing.Store].
func (m *MemoryStore) Reserve(_ context.Context, key string, cfg pacing.KeyConfig, amt pacing.Amount) (pacing.ReserveResult, error) {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	st := &k.axes
	w := max(st[pacing.Requests].wait(&cfg.Requests, now, amt.Requests), st[pacing.Tokens].wait(&cfg.Tokens, now, amt.Tokens))
	if w > 0 {
		return pacing.ReserveResult{Wait: w}, nil
	}
	st[pacing.Requests].take(&cfg.Requests, now, amt.Requests)
	st[pacing.Tokens].take(&cfg.Tokens, now, amt.Tokens)
	return pacing.ReserveResult{OK: true}, nil
}

// Return implements [pacing.Store].
func (m *MemoryStore) Return(_ context.Context, key string, cfg pacing.KeyConfig, amt pacing.Amount) error {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	st := &k.axes
	st[pacing.Requests].give(&cfg.Requests, now, amt.Requests)
	st[pacing.Tokens].give(&cfg.Tokens, now, amt.Tokens)
	return nil
}

// ReturnSplit is Return for a settlement whose admission charge at the
// service is known (see [Ticket.SettleAdmitted]): the evidence of the
// ceiling counts evidence as given back instead of amt, and over (what the
// ticket, admitted at admitted, reserved beyond the service's charge) does
// not come back when the bucket was full since then.
func (m *MemoryStore) ReturnSplit(_ context.Context, key string, cfg pacing.KeyConfig, amt, evidence pacing.Amount, admitted time.Time, over float64) error {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	st := &k.axes
	st[pacing.Requests].give(&cfg.Requests, now, amt.Requests)
	st[pacing.Tokens].giveSplit(&cfg.Tokens, now, amt.Tokens, evidence.Tokens, admitted, over)
	return nil
}

// Throttled implements [pacing.Store].
func (m *MemoryStore) Throttled(_ context.Context, key string, cfg pacing.KeyConfig, a pacing.Axis) (bool, error) {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	return k.axes[a].throttled(axisOf(&cfg, pacing.Axis(a)), now), nil
}

// State implements [pacing.Store].
func (m *MemoryStore) State(_ context.Context, key string, cfg pacing.KeyConfig) (pacing.KeyState, error) {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	st := &k.axes
	var ks pacing.KeyState
	for a := range numAxes {
		ks.Rate[a] = st[a].rate(axisOf(&cfg, pacing.Axis(a)), now)
		ks.Level[a] = st[a].level
		ks.Limited[a] = st[a].limited
	}
	return ks, nil
}

// numAxes is the number of axes of a key.
const numAxes = 2

// axisOf returns the configuration of one axis of k.
func axisOf(k *pacing.KeyConfig, a pacing.Axis) *pacing.AxisConfig {
	if a == pacing.Requests {
		return &k.Requests
	}
	return &k.Tokens
}
