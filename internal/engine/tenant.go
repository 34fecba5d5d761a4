package engine

import "context"

type tenantKey struct{}

// WithTenant returns a context whose Bedrock calls belong to tenant id.
func WithTenant(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, tenantKey{}, id)
}

// TenantFrom returns the tenant set with [WithTenant], or "".
func TenantFrom(ctx context.Context) string {
	id, _ := ctx.Value(tenantKey{}).(string)
	return id
}
