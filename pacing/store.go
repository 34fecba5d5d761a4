package pacing

import (
	"context"
	"sync"
	"time"
)

// Amount is a cost on both axes: requests and tokens.
type Amount struct {
	Requests float64
	Tokens   float64
}

// KeyConfig is the configuration of both axes of a key, passed with every
// Store call so that a remote Store needs no registration step.
type KeyConfig struct {
	Requests AxisConfig
	Tokens   AxisConfig
}

func (k *KeyConfig) axis(a Axis) *AxisConfig {
	if a == Requests {
		return &k.Requests
	}
	return &k.Tokens
}

// ReserveResult is the answer of [Store.Reserve].
type ReserveResult struct {
	// OK reports that the amount was taken.
	OK bool
	// Wait is, when OK is false, how long until the amount would fit at the
	// current rates (a hint: refunds and rate changes can shorten it).
	Wait time.Duration
}

// KeyState is a snapshot of one key, for telemetry and tests.
type KeyState struct {
	// Rate is the effective rate per window of each axis; +Inf when the
	// axis is not paced.
	Rate [2]float64
	// Level is the units available in each bucket (negative is debt).
	Level [2]float64
	// Limited reports whether each axis is being paced.
	Limited [2]bool
}

// RequestRate returns the effective requests per window.
func (s KeyState) RequestRate() float64 { return s.Rate[Requests] }

// TokenRate returns the effective tokens per window.
func (s KeyState) TokenRate() float64 { return s.Rate[Tokens] }

// Store keeps the bucket state of every key. Each method is atomic per key
// and uses the store's own clock, so that a shared implementation (Redis,
// with server-side scripts and the server's TIME) gives every process the
// same view. The in-process default is [NewMemoryStore].
//
// A Store never queues: waiting, priorities and deadlines are the
// [Limiter]'s job, in each process.
type Store interface {
	// Reserve brings key's buckets up to date and, if both hold enough,
	// takes amt. Otherwise it takes nothing and says how long to wait.
	Reserve(ctx context.Context, key string, cfg KeyConfig, amt Amount) (ReserveResult, error)
	// Return gives amt back to key's buckets: a refund at settlement or a
	// release on failure. Negative amounts charge more.
	Return(ctx context.Context, key string, cfg KeyConfig, amt Amount) error
	// Throttled reports a throttle on one axis of key: the store empties
	// that bucket and lowers its rate (at most once per Cooldown). It
	// reports whether the rate was lowered.
	Throttled(ctx context.Context, key string, cfg KeyConfig, a Axis) (bool, error)
	// State returns a snapshot of key.
	State(ctx context.Context, key string, cfg KeyConfig) (KeyState, error)
}

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

// MemoryStore is the in-process [Store]. The zero value is not usable; call
// [NewMemoryStore]. It is safe for concurrent use.
type MemoryStore struct {
	now  func() time.Time
	keys sync.Map // key -> *memKey
}

type memKey struct {
	mu   sync.Mutex
	axes [numAxes]axis
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
func (m *MemoryStore) lock(key string, cfg *KeyConfig) (*memKey, time.Time) {
	v, ok := m.keys.Load(key)
	if !ok {
		v, _ = m.keys.LoadOrStore(key, new(memKey))
	}
	k := v.(*memKey)
	k.mu.Lock()
	now := m.now()
	for a := range numAxes {
		k.axes[a].advance(cfg.axis(a), now)
	}
	return k, now
}

// Reserve implements [Store].
func (m *MemoryStore) Reserve(_ context.Context, key string, cfg KeyConfig, amt Amount) (ReserveResult, error) {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	st := &k.axes
	w := max(st[Requests].wait(&cfg.Requests, now, amt.Requests), st[Tokens].wait(&cfg.Tokens, now, amt.Tokens))
	if w > 0 {
		return ReserveResult{Wait: w}, nil
	}
	st[Requests].take(&cfg.Requests, now, amt.Requests)
	st[Tokens].take(&cfg.Tokens, now, amt.Tokens)
	return ReserveResult{OK: true}, nil
}

// Return implements [Store].
func (m *MemoryStore) Return(_ context.Context, key string, cfg KeyConfig, amt Amount) error {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	st := &k.axes
	st[Requests].give(&cfg.Requests, now, amt.Requests)
	st[Tokens].give(&cfg.Tokens, now, amt.Tokens)
	return nil
}

// Throttled implements [Store].
func (m *MemoryStore) Throttled(_ context.Context, key string, cfg KeyConfig, a Axis) (bool, error) {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	return k.axes[a].throttled(cfg.axis(a), now), nil
}

// State implements [Store].
func (m *MemoryStore) State(_ context.Context, key string, cfg KeyConfig) (KeyState, error) {
	k, now := m.lock(key, &cfg)
	defer k.mu.Unlock()
	st := &k.axes
	var ks KeyState
	for a := range numAxes {
		ks.Rate[a] = st[a].rate(cfg.axis(a), now)
		ks.Level[a] = st[a].level
		ks.Limited[a] = st[a].limited
	}
	return ks, nil
}
