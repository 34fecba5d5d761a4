package bedrockguard

import "github.com/bedrockguard/bedrockguard/internal/limiter"

// BudgetError is returned, wrapped in the SDK's *smithy.OperationError,
// when a token budget cannot hold a call's reservation: the model's
// tokens-per-day quota ([Quota].TokensPerDay, Scope "day") or the caller's
// tenant budget per window or per day ([TenantPolicy].Budget, Scope
// "tenant_window" or "tenant_day"). The call fails at once; nothing was
// sent. Reset says when the budget holds the reservation again; Tenant
// names the tenant (the message does not, so that logging the error never
// logs a tenant ID). Use errors.As with a *BudgetError.
type BudgetError = limiter.BudgetError
