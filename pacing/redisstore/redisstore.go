package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/redis/go-redis/v9"
)

// defaultPrefix is the namespace of the Redis keys, unless [WithPrefix]
// says otherwise.
const defaultPrefix = "bedrockguard:"

// defaultIdleWindows is how many windows (the longer of the key's two) a key
// may stay idle before Redis expires it, unless [WithIdleTTL] says
// otherwise. After that long a bucket has refilled and a CUBIC or AIMD
// recovery has ended, so forgetting the key changes nothing for a key with
// a configured quota.
const defaultIdleWindows = 10

// defaultRetryAfter is how long calls fail fast after a Redis error, unless
// [WithRetryAfter] says otherwise.
const defaultRetryAfter = time.Second

// errUnavailable is returned (wrapped) while the store fails fast after a
// Redis error; see [WithRetryAfter].
var errUnavailable = errors.New("redisstore: Redis unavailable")

//go:embed bucket.lua
var bucketLua string

//go:embed admit.lua
var admitLua string

// admitScript is [Store.Admit]: the fleet-wide queue (admit.lua).
var admitScript = redis.NewScript(bucketLua + admitLua)

// The four scripts: the common part (load, the arithmetic, save) and each
// operation's body. Their results are strings, since Redis truncates Lua
// numbers to integers.
var (
	reserveScript = redis.NewScript(bucketLua + `
local a1, a2 = tonumber(ARGV[19]), tonumber(ARGV[20])
local w = math.max(wait(st[1], cfg[1], a1), wait(st[2], cfg[2], a2))
if w > 0 then
	save()
	return { '0', fmt(w), fmt(now) }
end
take(st[1], cfg[1], a1)
take(st[2], cfg[2], a2)
save()
return { '1', '0', fmt(now) }
`)
	returnScript = redis.NewScript(bucketLua + `
give(st[1], cfg[1], tonumber(ARGV[19]))
give(st[2], cfg[2], tonumber(ARGV[20]))
save()
return { fmt(now) }
`)
	throttledScript = redis.NewScript(bucketLua + `
local a = tonumber(ARGV[19]) + 1
local lowered = '0'
if throttled(st[a], cfg[a]) then
	lowered = '1'
end
save()
return { lowered, fmt(now) }
`)
	stateScript = redis.NewScript(bucketLua + `
local out = {}
for i = 1, 2 do
	local s = st[i]
	local li = '0'
	if s.limited then
		li = '1'
	end
	out[#out + 1] = fmt(rate(s, cfg[i]))
	out[#out + 1] = fmt(s.level)
	out[#out + 1] = li
end
save()
out[#out + 1] = fmt(now)
return out
`)
)

// Store is a [pacing.Store] in Redis, shared by every process that uses the
// same Redis and prefix. It is safe for concurrent use.
type Store struct {
	client     redis.UniversalClient
	prefix     string
	idleTTL    time.Duration
	retryAfter time.Duration
	timeout    time.Duration
	epoch      string           // this store's random prefix of the epochs it gives keys that have none
	epochs     atomic.Uint64    // numbers the epochs: a key lost and recreated gets a new one
	now        func() time.Time // test-only client clock; nil means Redis TIME

	downUntil atomic.Int64     // unix ns until which calls fail fast; 0 when up
	failures  atomic.Int64     // the first failure and the failed probes after it: the fail-fast delay doubles with each
	wall      func() time.Time // tests: the clock of the fail-fast delays; nil means time.Now

	observe func(time.Time) // tests: the time each script used
}

// Option configures a [Store].
type Option func(*Store)

// WithPrefix namespaces the store's Redis keys: the state of key k is the
// hash prefix+k. The default is "bedrockguard:". Processes share quotas
// exactly when they share Redis, prefix and key.
func WithPrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// WithIdleTTL sets how long an idle key lives in Redis; every call renews
// it. Zero (the default) means 10 times the key's longer
// window. An expired key starts again as a new one (InitialFill, and an axis
// without a quota is unpaced until its next throttle).
func WithIdleTTL(d time.Duration) Option { return func(s *Store) { s.idleTTL = d } }

// WithRetryAfter sets how long, at most, after a call fails (other than by
// its own context ending), later calls fail at once with an error instead
// of reaching for Redis: an unreachable server then costs one timeout per
// d, not one per call, while the Limiter paces locally. After a first
// error the store fails fast for d/16 only, and the delay doubles with each
// failed retry up to d, so that a transient error (a dropped connection,
// one slow call) sends the process to local pacing for tens of
// milliseconds, not for d. The default is 1 s (also for d = 0); d < 0
// disables it.
func WithRetryAfter(d time.Duration) Option { return func(s *Store) { s.retryAfter = d } }

// WithTimeout bounds every call to Redis: a call that has not answered
// after d fails (and the Limiter paces locally, at this process's share of
// the quota). The default is 250 ms; d < 0 means only the caller's context.
// The Limiter also bounds each call it makes, at 250 ms. Both bounds are
// context deadlines, which go-redis only applies to a call when the
// client's ContextTimeoutEnabled option is set; without it a stalled
// server holds each call for the client's ReadTimeout (3 s by default).
func WithTimeout(d time.Duration) Option { return func(s *Store) { s.timeout = d } }

// withClientClock makes the scripts use now, from this process, instead of
// the Redis server's TIME. It is for tests only (a fake clock drives the
// same step tables as limiter.MemoryStore's): in production every process
// must read the one server clock, or skewed clocks would refill the shared
// buckets at different times.
func withClientClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store that keeps bucket state in client (a *redis.Client,
// *redis.ClusterClient or failover client). Give the client short timeouts
// and few retries: a waiter waits for its store call, and only a store
// error lets the guard fall back to local pacing; set ContextTimeoutEnabled
// so that [WithTimeout] applies. With go-redis's
// defaults a call to a stopped server takes about 1.7 s (3 command retries,
// each dialing 5 times); see the package example for settings that fail in
// about a millisecond on a refused connection and in DialTimeout otherwise.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{client: client, prefix: defaultPrefix, retryAfter: defaultRetryAfter, timeout: defaultTimeout}
	for _, o := range opts {
		o(s)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	s.epoch = hex.EncodeToString(b[:])
	if s.retryAfter == 0 {
		s.retryAfter = defaultRetryAfter
	}
	return s
}

// defaultTimeout bounds a Redis call unless [WithTimeout] says otherwise.
const defaultTimeout = 250 * time.Millisecond

// key returns the Redis key that holds key's bucket state. The key is a
// hash tag, so that the queue, leases and heartbeats of the key (the same
// name with ":q", ":l" and ":p" appended) are in the same Redis Cluster slot.
func (s *Store) key(key string) string { return s.prefix + "{" + key + "}" }

var _ pacing.FleetStore = (*Store)(nil)

// Admit implements [pacing.FleetStore].
func (s *Store) Admit(ctx context.Context, key string, cfg pacing.KeyConfig, req pacing.AdmitRequest) (pacing.AdmitResult, error) {
	member := ""
	if req.Ticket != "" {
		member = req.Ticket + "|" + f64(req.Amount.Requests) + "|" + f64(req.Amount.Tokens)
	}
	order := ""
	if req.Order != 0 {
		order = strconv.FormatInt(req.Order, 10)
	}
	cancel := "0"
	if req.Cancel {
		cancel = "1"
	}
	k := s.key(key)
	v, err := s.runKeys(ctx, admitScript, "admit", []string{k, k + ":q", k + ":l", k + ":p"}, key, &cfg, 6,
		f64(req.Amount.Requests), f64(req.Amount.Tokens), member, order, req.Boost.Microseconds(),
		max(int64(req.MaxWait), 0), req.Lease.Microseconds(), cancel,
		f64(req.Refund.Requests), f64(req.Refund.Tokens), req.RefundEpoch,
		req.Process, max(req.Live.Microseconds(), 1), s.epoch+"."+strconv.FormatUint(s.epochs.Add(1), 36))
	if err != nil {
		return pacing.AdmitResult{}, err
	}
	var r pacing.AdmitResult
	r.OK = v[0] == "1"
	w, err1 := strconv.ParseFloat(v[1], 64)
	o, err2 := strconv.ParseFloat(v[2], 64)
	n, err3 := strconv.Atoi(v[4])
	if err := errors.Join(err1, err2, err3); err != nil {
		return pacing.AdmitResult{}, fmt.Errorf("redisstore: admit %q: %w", key, err)
	}
	r.Wait, r.Order, r.Epoch, r.Processes = time.Duration(w), int64(o), v[3], n
	return r, nil
}

var _ pacing.Store = (*Store)(nil)

// Reserve implements [pacing.Store].
func (s *Store) Reserve(ctx context.Context, key string, cfg pacing.KeyConfig, amt pacing.Amount) (pacing.ReserveResult, error) {
	v, err := s.run(ctx, reserveScript, "reserve", key, &cfg, 3, amt.Requests, amt.Tokens)
	if err != nil {
		return pacing.ReserveResult{}, err
	}
	return pacing.ReserveResult{OK: v[0] == 1, Wait: time.Duration(v[1])}, nil
}

// Return implements [pacing.Store].
func (s *Store) Return(ctx context.Context, key string, cfg pacing.KeyConfig, amt pacing.Amount) error {
	_, err := s.run(ctx, returnScript, "return", key, &cfg, 1, amt.Requests, amt.Tokens)
	return err
}

// Throttled implements [pacing.Store].
func (s *Store) Throttled(ctx context.Context, key string, cfg pacing.KeyConfig, a pacing.Axis) (bool, error) {
	if a != pacing.Requests && a != pacing.Tokens {
		return false, fmt.Errorf("redisstore: unknown axis %d", a)
	}
	v, err := s.run(ctx, throttledScript, "throttled", key, &cfg, 2, float64(a))
	if err != nil {
		return false, err
	}
	return v[0] == 1, nil
}

// State implements [pacing.Store].
func (s *Store) State(ctx context.Context, key string, cfg pacing.KeyConfig) (pacing.KeyState, error) {
	v, err := s.run(ctx, stateScript, "state", key, &cfg, 7)
	if err != nil {
		return pacing.KeyState{}, err
	}
	var ks pacing.KeyState
	for a := range 2 {
		ks.Rate[a] = v[3*a]
		ks.Level[a] = v[3*a+1]
		ks.Limited[a] = v[3*a+2] == 1
	}
	return ks, nil
}

// run evaluates sc on key with the common arguments and extra, and parses
// its n results (the last is the time it used).
func (s *Store) run(ctx context.Context, sc *redis.Script, op, key string, cfg *pacing.KeyConfig, n int, extra ...float64) ([]float64, error) {
	args := make([]any, len(extra))
	for i, x := range extra {
		args[i] = f64(x)
	}
	res, err := s.runKeys(ctx, sc, op, []string{s.key(key)}, key, cfg, n, args...)
	if err != nil {
		return nil, err
	}
	v := make([]float64, n)
	for i, r := range res {
		if v[i], err = strconv.ParseFloat(r, 64); err != nil {
			return nil, fmt.Errorf("redisstore: %s %q: %w", op, key, err)
		}
	}
	return v, nil
}

// runKeys evaluates sc on keys with the common arguments and extra, and
// returns its n results (the last is the time it used).
func (s *Store) runKeys(ctx context.Context, sc *redis.Script, op string, keys []string, key string, cfg *pacing.KeyConfig, n int, extra ...any) ([]string, error) {
	if cfg.Requests.Window <= 0 || cfg.Tokens.Window <= 0 {
		return nil, fmt.Errorf("redisstore: %s %q: window must be positive", op, key)
	}
	probing := false
	if until := s.downUntil.Load(); until != 0 {
		// Down: fail fast until the retry delay has passed, then let one
		// caller probe Redis while the others keep failing fast.
		now := s.wallNow().UnixNano()
		if left := time.Duration(until - now); left > 0 {
			return nil, fmt.Errorf("%w (failing fast for %v after an error)", errUnavailable, left.Round(time.Millisecond))
		}
		if !s.downUntil.CompareAndSwap(until, now+int64(s.retryAfter)) {
			return nil, fmt.Errorf("%w (another call is probing it)", errUnavailable)
		}
		probing = true
	}
	args := make([]any, 0, 2+16+len(extra))
	if s.now != nil {
		args = append(args, s.now().UnixMicro())
	} else {
		args = append(args, "")
	}
	ttl := s.idleTTL
	if ttl <= 0 {
		ttl = defaultIdleWindows * max(cfg.Requests.Window, cfg.Tokens.Window)
	}
	args = append(args, max(ttl.Milliseconds(), 1))
	for _, c := range []*pacing.AxisConfig{&cfg.Requests, &cfg.Tokens} {
		args = append(args, f64(c.Quota), int64(c.Window), f64(c.InitialFill), int(c.Algorithm),
			f64(c.Beta), f64(c.CubicC), f64(c.AIMDIncrease), int64(c.Cooldown))
	}
	args = append(args, extra...)
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	res, err := sc.Run(ctx, s.client, keys, args...).StringSlice()
	if err != nil {
		if context.Cause(ctx) != context.Canceled && s.retryAfter >= 0 {
			// Only a failed probe doubles the delay: calls that were in
			// flight together when Redis failed are one failure.
			n := s.failures.Load()
			if probing {
				n = s.failures.Add(1)
			} else if n == 0 && s.failures.CompareAndSwap(0, 1) {
				n = 1
			}
			s.downUntil.Store(s.wallNow().Add(s.failFastDelay(max(n, 1))).UnixNano())
		}
		return nil, fmt.Errorf("redisstore: %s %q: %w", op, key, err)
	}
	if s.downUntil.Load() != 0 {
		s.downUntil.Store(0)
	}
	if s.failures.Load() != 0 {
		s.failures.Store(0)
	}
	if len(res) != n {
		return nil, fmt.Errorf("redisstore: %s %q: script returned %d values, want %d", op, key, len(res), n)
	}
	if s.observe != nil {
		if us, err := strconv.ParseFloat(res[n-1], 64); err == nil {
			s.observe(time.UnixMicro(int64(us)))
		}
	}
	return res, nil
}

// failFastDelay is how long calls fail fast after the first failure (n =
// 1) and each failed probe after it: retryAfter/16, doubling up to
// retryAfter.
func (s *Store) failFastDelay(n int64) time.Duration {
	d := min(max(s.retryAfter/16, time.Millisecond), s.retryAfter)
	for i := int64(1); i < n && d < s.retryAfter; i++ {
		d *= 2
	}
	return min(d, s.retryAfter)
}

func (s *Store) wallNow() time.Time {
	if s.wall != nil {
		return s.wall()
	}
	return time.Now()
}

// f64 formats x so that Lua's tonumber reads back the same double.
func f64(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
