package bedrockguard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
)

// TestDailyQuotaStopsBeforeTheService: with a tokens-per-day quota the
// guard fails calls at once when the day is spent, before the service
// would throttle them, and Guard.State reports the remainder.
func TestDailyQuotaStopsBeforeTheService(t *testing.T) {
	const tpd = 20_000
	day := 2 * time.Hour // long enough that the refill during the test is a few tokens
	sim, cfg := newSim(t, bedrocksim.WithWindow(time.Second), simtest.Day(day),
		bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 1_000_000, TokensPerDay: tpd}))
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{
		TokensPerWindow: 1_000_000, Window: time.Second, TokensPerDay: tpd, Day: day}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	ok := 0
	var be *bedrockguard.BudgetError
	for range 200 {
		_, err := client.Converse(ctx, converseInput(haiku, "Write a short poem about quotas.", 300))
		if err == nil {
			ok++
			continue
		}
		if !errors.As(err, &be) {
			t.Fatalf("after %d calls: %v, want a *BudgetError", ok, err)
		}
		break
	}
	if be == nil || be.Scope != "day" || be.Reset <= 0 {
		t.Fatalf("no day BudgetError after %d calls (%+v)", ok, be)
	}
	st := sim.Stats()
	ks := st.Keys[haiku]
	if ks.ThrottledTokensPerDay != 0 || ks.Requests != int64(ok) {
		t.Fatalf("service saw %d requests (%d TPD throttles) for %d successful calls", ks.Requests, ks.ThrottledTokensPerDay, ok)
	}
	s := g.State(ctx, "us-east-1", haiku)
	// The day holds a tenth more than a reservation until settlement.
	if !s.DayLimited || s.DayRemaining >= 1.1*be.Needed+1 {
		t.Fatalf("state %+v: want the day limited with less than 1.1 x %v left", s, be.Needed)
	}
	// The guard's count matches the service's within the refill of the test.
	if charged := float64(ks.TokensCharged); s.DayRemaining < tpd-charged-1 || s.DayRemaining > tpd-charged+tpd*5/(2*3600) {
		t.Fatalf("guard has %v left, the service charged %v of %d", s.DayRemaining, charged, tpd)
	}
	assertNoLeak(t, g)
}

// TestTenantBudgetRefuses: a tenant's budget per window fails its calls with
// a *BudgetError naming the tenant; another tenant is not affected.
func TestTenantBudgetRefuses(t *testing.T) {
	_, cfg := newSim(t, bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 1_000_000}), bedrocksim.WithOutputFraction(1))
	g, err := bedrockguard.Install(&cfg,
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000, RequestsPerWindow: 1000}),
		bedrockguard.WithTenantPolicy("small", bedrockguard.TenantPolicy{Budget: bedrockguard.Quota{TokensPerWindow: 1000}}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	small := bedrockguard.WithTenant(context.Background(), "small")
	var be *bedrockguard.BudgetError
	for i := range 10 {
		_, err := client.Converse(small, converseInput(haiku, "Hello.", 300))
		if errors.As(err, &be) {
			break
		}
		if err != nil || i == 9 {
			t.Fatalf("call %d: %v, want a *BudgetError within 4 calls", i, err)
		}
	}
	if be.Scope != "tenant_window" || be.Tenant != "small" {
		t.Fatalf("%+v", be)
	}
	if _, err := client.Converse(bedrockguard.WithTenant(context.Background(), "other"), converseInput(haiku, "Hello.", 300)); err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, g)
}

func TestTenantPolicyValidation(t *testing.T) {
	for _, p := range []bedrockguard.TenantPolicy{
		{Weight: -1},
		{Budget: bedrockguard.Quota{RequestsPerWindow: 5}},
		{Budget: bedrockguard.Quota{TokensPerDay: -1}},
		{Budget: bedrockguard.Quota{Day: time.Millisecond}},
	} {
		_, err := bedrockguard.New(bedrockguard.WithTenantPolicy("t", p))
		var oe *bedrockguard.OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%+v: %v, want an *OptionError", p, err)
		}
	}
}
