package bedrockguard

import (
	"context"
	"fmt"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/config"
	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// WithTenant returns a context whose Bedrock calls belong to tenant id
// (a customer of a service that serves many through one account). Within
// one model's quota, tenants share by weighted fair queueing (weights from
// [WithTenantPolicy], 1 by default): a tenant sending more than its share
// waits behind the others' calls, and gets all the capacity they leave
// unused. Priorities still apply (Interactive before Batch), first come,
// first served within a tenant. The tenant ID reaches telemetry only when
// the observer opts in; the guard never logs it.
func WithTenant(ctx context.Context, id string) context.Context {
	return engine.WithTenant(ctx, id)
}

// TenantPolicy is a tenant's share of each model's quota and its optional
// token budgets, for [WithTenantPolicy].
type TenantPolicy struct {
	// Weight is the tenant's share relative to the other tenants waiting
	// on the same model (zero: 1). A tenant of weight 2 gets twice the
	// tokens of a tenant of weight 1 when both have calls waiting.
	Weight float64
	// Budget caps the tenant's quota tokens across all models:
	// TokensPerWindow per Window (zero: one minute) and TokensPerDay per
	// Day (zero: 24 hours), each a bucket that refills continuously,
	// counted in the pacing store. A call its budget cannot hold fails at
	// once with a [*BudgetError] (Scope "tenant_window" or "tenant_day"),
	// nothing sent. RequestsPerWindow is not used.
	Budget Quota
}

// WithTenantPolicy sets the policy of tenant id (see [WithTenant]); an
// empty id sets the policy of every tenant without its own.
func WithTenantPolicy(id string, p TenantPolicy) Option {
	name := "WithTenantPolicy(" + id + ")"
	return func(s *config.Settings) {
		if !finite(p.Weight) || p.Weight < 0 || p.Weight > 1e6 {
			s.Errs = append(s.Errs, &OptionError{Option: name, Err: fmt.Errorf("weight %v is outside [0, 1e6]", p.Weight)})
			return
		}
		if p.Budget.RequestsPerWindow != 0 {
			s.Errs = append(s.Errs, optionErr(name, "Budget.RequestsPerWindow is not used; set TokensPerWindow or TokensPerDay"))
			return
		}
		if err := p.Budget.validate(name); err != nil {
			s.Errs = append(s.Errs, err)
			return
		}
		tp := limiter.TenantPolicy{
			Weight:          p.Weight,
			TokensPerWindow: float64(p.Budget.TokensPerWindow),
			Window:          p.Budget.Window,
			TokensPerDay:    float64(p.Budget.TokensPerDay),
			Day:             p.Budget.Day,
		}
		if tp.Window == 0 {
			tp.Window = time.Minute
		}
		if id == "" {
			s.Pacing.DefaultTenant = tp
			return
		}
		if s.Pacing.Tenants == nil {
			s.Pacing.Tenants = map[string]limiter.TenantPolicy{}
		}
		s.Pacing.Tenants[id] = tp
	}
}
