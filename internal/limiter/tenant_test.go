package limiter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// TestDailyQuotaFailsAtOnce: a call the day's remainder cannot hold fails
// at once with a *BudgetError; settlement refunds the day like the minute
// buckets; a reservation larger than the whole day never fits.
func TestDailyQuotaFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		lim := Limits{TokensPerWindow: 10_000, TokensPerDay: 1000, Day: 100 * time.Second} // refills 10 tokens/s
		kc := l.KeyConfig(lim)
		ctx := context.Background()
		x := Extra{Limits: lim}
		tk, err := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 900}, Interactive, x)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(600) // 300 back: 400 left
		if d := l.DayState(ctx, "k", lim); d.Remaining != 400 {
			t.Fatalf("remaining %v, want 400", d.Remaining)
		}
		_, err = l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 500}, Interactive, x)
		var be *BudgetError
		if !errors.As(err, &be) || be.Scope != ScopeDay || be.Remaining != 400 || be.Reset != 15*time.Second {
			t.Fatalf("err %v (%+v), want a day BudgetError with 400 left, reset in 15s (550 with the margin)", err, be)
		}
		_, err = l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1001}, Interactive, x)
		if !errors.As(err, &be) || be.Reset != 0 {
			t.Fatalf("err %v, want a BudgetError that never resets", err)
		}
		time.Sleep(15 * time.Second)
		tk, err = l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 500}, Interactive, x)
		if err != nil {
			t.Fatal(err)
		}
		tk.Release()
		if d := l.DayState(ctx, "k", lim); d.Remaining != 550 {
			t.Fatalf("remaining after release %v, want 550", d.Remaining)
		}
		if n := l.Outstanding(); n != 0 {
			t.Fatalf("outstanding %d", n)
		}
	})
}

// TestDayForecast: under a steady workload the forecast of when the day runs
// out matches the true time within 10 %.
func TestDayForecast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		lim := Limits{TokensPerWindow: 1e6, TokensPerDay: 100_000, Day: time.Hour} // refills ~27.8/s
		kc := l.KeyConfig(lim)
		ctx := context.Background()
		x := Extra{Limits: lim}
		start := time.Now()
		var forecast time.Duration
		var exhausted time.Duration
		for i := 0; ; i++ {
			tk, err := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 200}, Interactive, x)
			if err != nil {
				var be *BudgetError
				if !errors.As(err, &be) {
					t.Fatal(err)
				}
				exhausted = time.Since(start)
				break
			}
			tk.Settle(100) // 100 tokens a second
			time.Sleep(time.Second)
			if d := l.DayState(ctx, "k", lim); i == 300 {
				forecast = time.Since(start) + d.EmptyIn
			}
		}
		if exhausted == 0 || forecast == 0 {
			t.Fatalf("exhausted at %v, forecast %v", exhausted, forecast)
		}
		if e := float64(forecast-exhausted) / float64(exhausted); e > 0.1 || e < -0.1 {
			t.Fatalf("forecast %v, exhausted at %v: %.1f %% off", forecast, exhausted, 100*e)
		}
	})
}

// admitOrder queues one waiter per entry, in order, on a key whose bucket
// starts empty, and returns the names in admission order.
func admitOrder(t *testing.T, l *Limiter, kc pacing.KeyConfig, entries []struct {
	name, tenant string
	tokens       float64
}) []string {
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Go(func() {
			tk, err := l.AcquireCall(context.Background(), "k", kc, pacing.Amount{Requests: 1, Tokens: e.tokens}, Interactive, Extra{Tenant: e.tenant})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, e.name)
			mu.Unlock()
			tk.Settle(e.tokens)
		})
		synctest.Wait()
	}
	wg.Wait()
	return order
}

// TestTenantsShareFairly: a noisy tenant's backlog does not delay a quiet
// tenant's calls; within a tenant the order is first come, first served.
func TestTenantsShareFairly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: -1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		var entries []struct {
			name, tenant string
			tokens       float64
		}
		for i := range 10 {
			entries = append(entries, struct {
				name, tenant string
				tokens       float64
			}{fmt.Sprintf("noisy-%d", i), "noisy", 100})
		}
		entries = append(entries, struct {
			name, tenant string
			tokens       float64
		}{"quiet-0", "quiet", 100}, struct {
			name, tenant string
			tokens       float64
		}{"quiet-1", "quiet", 100})
		order := admitOrder(t, l, kc, entries)
		pos := map[string]int{}
		for i, n := range order {
			pos[n] = i
		}
		if pos["quiet-0"] > 2 || pos["quiet-1"] > 4 {
			t.Fatalf("order %v: the quiet tenant waited behind the noisy backlog", order)
		}
		for i := 1; i < 10; i++ {
			if pos[fmt.Sprintf("noisy-%d", i)] < pos[fmt.Sprintf("noisy-%d", i-1)] {
				t.Fatalf("order %v: not FIFO within a tenant", order)
			}
		}
	})
}

// TestTenantWeights: two backlogged tenants of weights 1 and 3 get tokens
// in that ratio.
func TestTenantWeights(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: -1, Tenants: map[string]TenantPolicy{"heavy": {Weight: 3}}})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		got := map[string]float64{}
		var wg sync.WaitGroup
		for _, tenant := range []string{"light", "heavy"} {
			for range 8 { // 8 workers each, always backlogged
				wg.Go(func() {
					for ctx.Err() == nil {
						tk, err := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 50}, Interactive, Extra{Tenant: tenant})
						if err != nil {
							return
						}
						mu.Lock()
						got[tenant] += 50
						mu.Unlock()
						tk.Settle(50)
					}
				})
			}
		}
		time.Sleep(30 * time.Minute) // 360 calls: the first ones' order weighs little
		cancel()
		wg.Wait()
		if r := got["heavy"] / got["light"]; r < 2.7 || r > 3.3 {
			t.Fatalf("heavy/light = %.2f (%v), want 3", r, got)
		}
	})
}

// TestTenantBudgets: a tenant's budget per window fails its calls at once
// and does not touch another tenant's.
func TestTenantBudgets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1, DefaultTenant: TenantPolicy{TokensPerWindow: 300, Window: time.Minute}})
		kc := l.KeyConfig(Limits{TokensPerWindow: 10_000, Window: time.Minute})
		ctx := context.Background()
		for range 3 {
			tk, err := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive, Extra{Tenant: "a"})
			if err != nil {
				t.Fatal(err)
			}
			tk.Settle(100)
		}
		_, err := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive, Extra{Tenant: "a"})
		var be *BudgetError
		if !errors.As(err, &be) || be.Scope != ScopeTenantWindow || be.Tenant != "a" {
			t.Fatalf("err %v, want a tenant_window BudgetError", err)
		}
		if msg := be.Error(); strings.Contains(msg, `"a"`) || strings.Contains(msg, "tenant a") {
			t.Fatalf("message %q names the tenant", msg)
		}
		tk, err := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive, Extra{Tenant: "b"})
		if err != nil {
			t.Fatalf("tenant b: %v", err)
		}
		tk.Settle(100)
	})
}

// TestTenantStateEvicted: per-tenant state is bounded and dropped when
// idle, like per-model state.
func TestTenantStateEvicted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: 1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 1e9, Window: time.Minute})
		ctx := context.Background()
		for i := range 2 * maxTenants {
			tk, err := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1}, Interactive, Extra{Tenant: fmt.Sprint("t", i)})
			if err != nil {
				t.Fatal(err)
			}
			tk.Settle(1)
		}
		q := l.lockQueue("k", l.cfg.Store)
		n := q.tenants.len()
		q.mu.Unlock()
		if n > maxTenants {
			t.Fatalf("%d tenants tracked, want at most %d", n, maxTenants)
		}
		time.Sleep(2 * sweepEvery)
		tk, _ := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 1}, Interactive, Extra{Tenant: "last"})
		tk.Settle(1)
		q = l.lockQueue("k", l.cfg.Store)
		n = q.tenants.len()
		q.mu.Unlock()
		if n != 1 {
			t.Fatalf("%d tenants tracked after the idle time, want 1", n)
		}
	})
}

// TestFleetTenantsShareFairly: in fleet mode the tenant's start tag moves
// its ticket back in the store's queue, so a quiet tenant is not queued
// behind a noisy tenant's backlog from the same process.
func TestFleetTenantsShareFairly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeFleet()
		l := fleetLimiter(t, f)
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute}) // 10 tokens/s
		ctx := context.Background()
		tk, err := l.Acquire(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 600}, Interactive)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(600)
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		start := func(name, tenant string) {
			wg.Go(func() {
				tk, err := l.AcquireCall(ctx, "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, Interactive, Extra{Tenant: tenant})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				tk.Settle(100)
			})
			synctest.Wait()
		}
		for i := range 8 {
			start(fmt.Sprint("noisy-", i), "noisy")
		}
		start("quiet", "quiet")
		wg.Wait()
		for i, n := range order {
			if n == "quiet" && i > 2 {
				t.Fatalf("order %v: the quiet tenant waited behind the noisy backlog", order)
			}
		}
	})
}

// TestTenantsKeepPriorities: with tenants in use, a tenant's Interactive
// call still goes ahead of Batch calls queued before it, its own and other
// tenants'.
func TestTenantsKeepPriorities(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustLimiter(t, Config{InitialFill: -1})
		kc := l.KeyConfig(Limits{TokensPerWindow: 600, Window: time.Minute})
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		start := func(name, tenant string, p Priority) {
			wg.Go(func() {
				tk, err := l.AcquireCall(context.Background(), "k", kc, pacing.Amount{Requests: 1, Tokens: 100}, p, Extra{Tenant: tenant})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				tk.Settle(100)
			})
			synctest.Wait()
		}
		start("a-batch-1", "a", Batch)
		start("b-batch-1", "b", Batch)
		start("a-batch-2", "a", Batch)
		start("a-interactive", "a", Interactive)
		wg.Wait()
		if order[0] != "a-interactive" {
			t.Fatalf("order %v: want the Interactive call first", order)
		}
		if order[1] != "a-batch-1" && order[1] != "b-batch-1" || order[3] != "a-batch-2" {
			t.Fatalf("order %v: want the tenants' first Batch calls, then a's second", order)
		}
	})
}
