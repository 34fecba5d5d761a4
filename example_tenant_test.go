package bedrockguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// Tenants share a model's quota fairly; each may have token budgets, and
// the model a tokens-per-day quota.
func ExampleWithTenant() {
	sim, _ := bedrocksim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cfg := bedrocksim.Config(srv.URL)
	ctx := context.Background()

	guard, err := bedrockguard.Install(&cfg,
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 200_000, TokensPerDay: 288_000_000}),
		bedrockguard.WithTenantPolicy("acme", bedrockguard.TenantPolicy{Weight: 2}),
		bedrockguard.WithTenantPolicy("", bedrockguard.TenantPolicy{ // every other tenant
			Budget: bedrockguard.Quota{TokensPerDay: 1_000_000}}),
	)
	if err != nil {
		panic(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	_, err = client.Converse(bedrockguard.WithTenant(ctx, "acme"), converseInput(haiku, "Hello.", 100))
	var be *bedrockguard.BudgetError
	if errors.As(err, &be) {
		fmt.Printf("refused (%s budget), try again in %v\n", be.Scope, be.Reset)
	}
	st := guard.State(ctx, "us-east-1", haiku)
	fmt.Println("day limited:", st.DayLimited, "- runs out in under an hour:", st.DayEmptyIn > 0 && st.DayEmptyIn < time.Hour)
	// Output: day limited: true - runs out in under an hour: false
}

func ExampleWithTenantPolicy() {
	_, err := bedrockguard.New(bedrockguard.WithTenantPolicy("acme", bedrockguard.TenantPolicy{Weight: -1}))
	var oe *bedrockguard.OptionError
	fmt.Println(errors.As(err, &oe))
	// Output: true
}
