package limiter

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// Budgets: the tokens-per-day quota of a key and the optional token budgets
// of a tenant are fixed token buckets, checked before a call queues. Each
// is a store key of its own with a non-adaptive configuration: its tokens
// axis holds Quota and refills continuously over its Window (a day for a
// daily budget), its requests axis never limits (it is charged nothing),
// and it is never told of a throttle, so its rate stays its quota. The
// same Store code (in process or Redis) keeps them, so a shared store
// counts them fleet-wide.
//
// A call takes its reservation from every budget at once, before it waits
// for pacing; when one of them cannot hold it, nothing is taken and the
// call fails at once with a *BudgetError (nothing is sent). Settlement
// refunds the difference between reservation and usage to every budget
// the call charged, as it does for the key's buckets; a call that fails
// before the service counted it gives all of it back.

// Budget scopes, the Scope of a [BudgetError].
const (
	// ScopeDay is the key's tokens-per-day quota (shared by every tenant).
	ScopeDay = "day"
	// ScopeTenantWindow is a tenant's token budget per window.
	ScopeTenantWindow = "tenant_window"
	// ScopeTenantDay is a tenant's token budget per day.
	ScopeTenantDay = "tenant_day"
)

// Day is the length of the tokens-per-day quota's period when none is set.
const Day = 24 * time.Hour

// TenantPolicy configures one tenant: its weight in the fair queue of each
// key and its optional token budgets. Zero fields mean the default weight
// (1) and no budget.
type TenantPolicy struct {
	// Weight is the tenant's share relative to other tenants of a key.
	Weight float64
	// TokensPerWindow caps the tenant's tokens per Window, across models.
	TokensPerWindow float64
	// Window is the period of TokensPerWindow (zero: one minute).
	Window time.Duration
	// TokensPerDay caps the tenant's tokens per Day, across models.
	TokensPerDay float64
	// Day is the period of TokensPerDay (zero: 24 hours).
	Day time.Duration
}

// BudgetError is returned by [Limiter.AcquireCall] when a token budget
// cannot hold a call's reservation: the key's tokens-per-day quota
// (Scope "day") or a tenant's budget per window or per day. The call fails
// at once; nothing was sent. Its message never names the tenant.
type BudgetError struct {
	// Key is the pacing key: region and model ID.
	Key string
	// Tenant is the caller's tenant ("" for the key's daily quota when no
	// tenant was named).
	Tenant string
	// Scope is "day", "tenant_window" or "tenant_day".
	Scope string
	// Needed is the call's reservation, in quota tokens.
	Needed float64
	// Remaining is what the budget held (negative: in debt).
	Remaining float64
	// Reset is the time until the budget refills enough to hold Needed
	// (plus, for the daily quota, the margin it holds for in-flight calls:
	// a tenth of Needed) at its refill rate; zero when it never could
	// (Needed exceeds the whole budget).
	Reset time.Duration
}

// Error says which budget refused and when it would hold the reservation.
func (e *BudgetError) Error() string {
	what := map[string]string{ScopeDay: "the tokens-per-day quota", ScopeTenantWindow: "the tenant's token budget per window",
		ScopeTenantDay: "the tenant's token budget per day"}[e.Scope]
	if what == "" {
		what = "a token budget"
	}
	if e.Reset <= 0 {
		return fmt.Sprintf("bedrockguard: %s: reservation of %.0f tokens exceeds all of %s", e.Key, e.Needed, what)
	}
	return fmt.Sprintf("bedrockguard: %s: reservation of %.0f tokens exceeds the %.0f left in %s; it refills enough in about %v",
		e.Key, e.Needed, math.Max(e.Remaining, 0), what, e.Reset.Round(time.Second))
}

// Extra is what [Limiter.AcquireCall] needs beyond [Limiter.Acquire]'s
// arguments.
type Extra struct {
	// Tenant names the caller's tenant; "" for none.
	Tenant string
	// Limits are the key's configured limits: TokensPerDay and Day are
	// used.
	Limits Limits
}

// budget is one fixed bucket a call is charged on.
type budget struct {
	scope string
	key   string // store key
	cfg   pacing.KeyConfig
}

// budgetCharge is a budget a ticket charged, the store that charged it
// and the amount.
type budgetCharge struct {
	b     budget
	store pacing.Store
	amt   float64
}

// dayMargin is the share of a reservation the tokens-per-day bucket holds
// on top of it until settlement. The service counts the real input tokens
// where the guard counts its estimate: with a few calls in flight when the
// day runs out, an estimate a few percent low would let the guard send a
// call the service then throttles. The margin covers that, and settlement
// refunds it (measured with the daily load test: one tokens-per-day
// throttle in a run without it, none with it).
const dayMargin = 0.1

// fixedConfig is the store configuration of a fixed bucket of quota per w.
func fixedConfig(quota float64, w time.Duration) pacing.KeyConfig {
	ax := func(q float64) pacing.AxisConfig {
		return pacing.AxisConfig{Quota: q, Window: w, InitialFill: 1, Beta: 0.5, CubicC: 0.015, AIMDIncrease: 0.1}
	}
	return pacing.KeyConfig{Requests: ax(1), Tokens: ax(quota)}
}

// dayOf returns the period of a daily quota.
func dayOf(d time.Duration) time.Duration {
	if d <= 0 {
		return Day
	}
	return d
}

// dayKey is the store key of key's tokens-per-day bucket.
func dayKey(key string) string { return key + "#day" }

// budgets returns the budgets a call of x on key is charged on.
func (l *Limiter) budgets(key string, x Extra) []budget {
	var bs []budget
	if x.Limits.TokensPerDay > 0 {
		bs = append(bs, budget{ScopeDay, dayKey(key), fixedConfig(x.Limits.TokensPerDay, dayOf(x.Limits.Day))})
	}
	if x.Tenant == "" {
		return bs
	}
	p := l.tenantPolicy(x.Tenant)
	if p.TokensPerWindow > 0 {
		w := p.Window
		if w <= 0 {
			w = time.Minute
		}
		bs = append(bs, budget{ScopeTenantWindow, "tenant#" + x.Tenant + "#window", fixedConfig(p.TokensPerWindow, w)})
	}
	if p.TokensPerDay > 0 {
		bs = append(bs, budget{ScopeTenantDay, "tenant#" + x.Tenant + "#day", fixedConfig(p.TokensPerDay, dayOf(p.Day))})
	}
	return bs
}

// tenantPolicy returns the policy of tenant id.
func (l *Limiter) tenantPolicy(id string) TenantPolicy {
	if p, ok := l.cfg.Tenants[id]; ok {
		return p
	}
	return l.cfg.DefaultTenant
}

// chargeBudgets takes tokens from every budget, or from none: it returns
// a *BudgetError for the first that cannot hold them.
func (l *Limiter) chargeBudgets(key, tenant string, bs []budget, tokens float64) ([]budgetCharge, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	charged := make([]budgetCharge, 0, len(bs))
	for _, b := range bs {
		q := b.cfg.Tokens.Quota
		amt := tokens
		if b.scope == ScopeDay {
			amt = math.Min(tokens*(1+dayMargin), q)
		}
		var res pacing.ReserveResult
		st := l.cfg.Store
		if tokens <= q {
			res, st = l.reserveFixed(b, amt)
		}
		if !res.OK {
			l.refundBudgets(charged, 0)
			e := &BudgetError{Key: key, Tenant: tenant, Scope: b.scope, Needed: tokens, Remaining: l.fixedLevel(b)}
			if tokens <= q {
				e.Reset = res.Wait
			}
			return nil, e
		}
		charged = append(charged, budgetCharge{b, st, amt})
	}
	return charged, nil
}

// reserveFixed reserves tokens on b in the limiter's store, falling back
// to the local store on error; it returns the store that answered.
func (l *Limiter) reserveFixed(b budget, tokens float64) (pacing.ReserveResult, pacing.Store) {
	amt := pacing.Amount{Tokens: tokens}
	if l.cfg.Store != pacing.Store(l.fallback) {
		ctx, cancel := l.storeCtx(context.Background())
		res, err := l.cfg.Store.Reserve(ctx, b.key, b.cfg, amt)
		cancel()
		if err == nil {
			return res, l.cfg.Store
		}
		l.storeErrors.Add(1)
	}
	res, _ := l.fallback.Reserve(context.Background(), b.key, b.cfg, amt)
	return res, l.fallback
}

// fixedLevel returns what b holds now.
func (l *Limiter) fixedLevel(b budget) float64 {
	ctx, cancel := l.storeCtx(context.Background())
	defer cancel()
	st, err := l.cfg.Store.State(ctx, b.key, b.cfg)
	if err != nil {
		l.storeErrors.Add(1)
		st, _ = l.fallback.State(ctx, b.key, b.cfg)
	}
	return st.Level[pacing.Tokens]
}

// refundBudgets settles every budget charged to used tokens: what each
// charged beyond them goes back (a negative difference charges more), to
// the store that charged it.
func (l *Limiter) refundBudgets(charged []budgetCharge, used float64) {
	for _, c := range charged {
		if d := c.amt - used; d != 0 {
			ctx, cancel := l.storeCtx(context.Background())
			if err := c.store.Return(ctx, c.b.key, c.b.cfg, pacing.Amount{Tokens: d}); err != nil {
				l.storeErrors.Add(1)
			}
			cancel()
		}
	}
}

// AcquireCall is [Limiter.Acquire] with a tenant and the key's daily
// quota: it first charges the call's reservation to the key's
// tokens-per-day bucket and the tenant's budgets (failing at once with a
// *BudgetError when one cannot hold it), then waits in the key's queue at
// the tenant's fair-queueing place. The ticket's settlement refunds the
// budgets too.
func (l *Limiter) AcquireCall(ctx context.Context, key string, kc pacing.KeyConfig, amt pacing.Amount, pri Priority, x Extra) (*Ticket, error) {
	if !validAmount(amt.Tokens) || !validAmount(amt.Requests) {
		return nil, &TooLargeError{Key: key, Tokens: amt.Tokens, Capacity: kc.Tokens.Quota}
	}
	if q := kc.Tokens.Quota; q > 0 && amt.Tokens > q {
		return nil, &TooLargeError{Key: key, Tokens: amt.Tokens, Capacity: q}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	charged, err := l.chargeBudgets(key, x.Tenant, l.budgets(key, x), amt.Tokens)
	if err != nil {
		return nil, err
	}
	t, err := l.acquire(ctx, key, kc, amt, pri, x.Tenant)
	if err != nil {
		l.refundBudgets(charged, 0)
		return nil, err
	}
	t.budgets = charged
	return t, nil
}

// DayState is a snapshot of a key's tokens-per-day bucket.
type DayState struct {
	// Limited reports that the key has a tokens-per-day quota.
	Limited bool
	// Remaining is what the day's bucket holds (negative: in debt).
	Remaining float64
	// Rate is the measured net drain, in tokens per second: usage minus
	// the bucket's refill. Zero or negative: not running out.
	Rate float64
	// EmptyIn is the forecast of when Remaining runs out at Rate; zero when
	// it is not falling (or not yet measured).
	EmptyIn time.Duration
}

// dayMeter measures the drain of one key's day bucket from successive
// samples of its level: an exponentially weighted rate.
type dayMeter struct {
	mu     sync.Mutex
	at     time.Time
	level  float64
	rate   float64 // usage, tokens per second (EWMA)
	primed bool
}

// dayTau is the time constant of the usage rate, as a fraction of the day.
const dayTau = 1.0 / 48

// DayState returns the tokens-per-day state of key under lim, with the
// forecast of when it runs out at the current usage rate (measured from
// successive calls of DayState, so a caller that polls it, such as a
// metrics exporter, keeps the measurement going).
func (l *Limiter) DayState(ctx context.Context, key string, lim Limits) DayState {
	if lim.TokensPerDay <= 0 {
		return DayState{}
	}
	b := budget{ScopeDay, dayKey(key), fixedConfig(lim.TokensPerDay, dayOf(lim.Day))}
	sctx, cancel := l.storeCtx(ctx)
	st, err := l.cfg.Store.State(sctx, b.key, b.cfg)
	cancel()
	if err != nil {
		l.storeErrors.Add(1)
		st, _ = l.fallback.State(ctx, b.key, b.cfg)
	}
	level := st.Level[pacing.Tokens]
	now := l.cfg.Clock.Now()
	day := dayOf(lim.Day)
	refill := lim.TokensPerDay / day.Seconds()

	v, _ := l.meters.LoadOrStore(key, &dayMeter{})
	m := v.(*dayMeter)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.primed {
		if dt := now.Sub(m.at).Seconds(); dt >= day.Seconds()/86400 {
			// usage over dt = what the level lost + what it refilled (the
			// refill stops at a full bucket: count none then).
			gain := refill * dt
			if level >= lim.TokensPerDay {
				gain = 0
			}
			u := math.Max(0, (m.level-level)+gain) / dt
			a := 1 - math.Exp(-dt/(dayTau*day.Seconds()))
			if m.rate == 0 {
				a = 1
			}
			m.rate += a * (u - m.rate)
			m.at, m.level = now, level
		}
	} else {
		m.at, m.level, m.primed = now, level, true
	}
	ds := DayState{Limited: true, Remaining: level, Rate: m.rate - refill}
	if ds.Rate > 0 && level > 0 {
		ds.EmptyIn = time.Duration(math.Min(level/ds.Rate, float64(maxWait)/1e9) * 1e9)
	}
	return ds
}

// DayThrottled records a tokens-per-day throttle from the service on key:
// the day's bucket is emptied, so that no further call is sent until it
// refills.
func (l *Limiter) DayThrottled(ctx context.Context, key string, lim Limits) {
	if lim.TokensPerDay <= 0 {
		return
	}
	b := budget{ScopeDay, dayKey(key), fixedConfig(lim.TokensPerDay, dayOf(lim.Day))}
	if level := l.fixedLevel(b); level > 0 {
		l.refundBudgets([]budgetCharge{{b, l.cfg.Store, 0}}, level)
	}
}
