package bedrocksim_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// TestServerQuotaSettlement checks reservation, refund and burndown as the
// server books them, and that each inference-profile ID is its own key. It
// runs in a synctest bubble so that no refill happens between the calls.
func TestServerQuotaSettlement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, client, _ := startInBubble(t, bedrocksim.WithOutputFraction(0.1),
			bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 10_000}))
		in := int64(bedrocksim.InputTokens("hi") + bedrocksim.MessageOverhead)
		for _, model := range []string{"eu.anthropic.claude-sonnet-4-5-20250929-v1:0", sonnet45} {
			if _, err := converse(t.Context(), client, model, "hi", 1000, noRetry); err != nil {
				t.Fatal(err)
			}
			ks := sim.Stats().Keys[model]
			reserved, charged := in+1000, in+5*100
			if ks.TokensReserved != reserved || ks.TokensCharged != charged || ks.TokensRefunded != reserved-charged || ks.OutputTokens != 100 {
				t.Errorf("%s: %+v, want reserved %d charged %d", model, ks, reserved, charged)
			}
			tok := sim.TokensAvailable(model, time.Now())
			if tok != float64(10_000-charged) {
				t.Errorf("%s: tokens left %v, want %d", model, tok, 10_000-charged)
			}
		}
	})
}
