package bedrocksim_test

import (
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
)

// TestOptionErrors checks that New names the invalid option in an
// *OptionError that unwraps to its cause.
func TestOptionErrors(t *testing.T) {
	faults := func(f bedrocksim.Faults) []bedrocksim.Option { return []bedrocksim.Option{bedrocksim.WithFaults(f)} }
	tests := []struct {
		name   string
		opts   []bedrocksim.Option
		option string
	}{
		{"negative window", []bedrocksim.Option{bedrocksim.WithWindow(-time.Second)}, "WithWindow"},
		{"zero window", []bedrocksim.Option{bedrocksim.WithWindow(0)}, "WithWindow"},
		{"negative latency base", []bedrocksim.Option{bedrocksim.WithLatency(-1, 0)}, "WithLatency"},
		{"negative latency per token", []bedrocksim.Option{bedrocksim.WithLatency(0, -1)}, "WithLatency"},
		{"fraction above one", []bedrocksim.Option{bedrocksim.WithOutputFraction(1.5)}, "WithOutputFraction"},
		{"fraction NaN", []bedrocksim.Option{bedrocksim.WithOutputFraction(math.NaN())}, "WithOutputFraction"},
		{"negative default quota", []bedrocksim.Option{bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerDay: -1})}, "WithDefaultQuota.TokensPerDay"},
		{"negative key quota", []bedrocksim.Option{bedrocksim.WithQuota("b", bedrocksim.Quota{}), bedrocksim.WithQuota("a", bedrocksim.Quota{RequestsPerWindow: -5})}, `WithQuota("a").RequestsPerWindow`},
		{"empty model ID", []bedrocksim.Option{bedrocksim.WithQuota("", bedrocksim.Quota{})}, `WithQuota("")`},
		{"first invalid option wins", []bedrocksim.Option{bedrocksim.WithOutputFraction(2), bedrocksim.WithWindow(-1)}, "WithOutputFraction"},
		{"nil option", []bedrocksim.Option{nil}, "Option"},
		{"rate above one", faults(bedrocksim.Faults{Reset: bedrocksim.Trigger{Rate: 2}}), "WithFaults.Reset.Rate"},
		{"negative next", faults(bedrocksim.Faults{ModelNotReady: bedrocksim.Trigger{Next: -1}}), "WithFaults.ModelNotReady.Next"},
		{"negative stream throttle after", faults(bedrocksim.Faults{StreamThrottleAfter: -1}), "WithFaults.StreamThrottleAfter"},
		{"negative slow headers", faults(bedrocksim.Faults{SlowHeadersDelay: -1}), "WithFaults.SlowHeadersDelay"},
		{"quota drop above one", faults(bedrocksim.Faults{QuotaDropFraction: 1.01}), "WithFaults.QuotaDropFraction"},
		// The knobs without a public option (internal/simtest).
		{"zero cache TTL", []bedrocksim.Option{simtest.CacheTTL(0)}, "CacheTTL"},
		{"negative tokens per delta", []bedrocksim.Option{simtest.TokensPerDelta(-1)}, "TokensPerDelta"},
		{"negative body size", []bedrocksim.Option{simtest.MaxBodyBytes(-1)}, "MaxBodyBytes"},
		{"negative day", []bedrocksim.Option{simtest.Day(-time.Second)}, "Day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, err := bedrocksim.New(tt.opts...)
			var oe *bedrockguard.OptionError
			if sim != nil || !errors.As(err, &oe) || oe.Option != "bedrocksim."+tt.option {
				t.Fatalf("New = %v, %v; want *OptionError for %s", sim, err, tt.option)
			}
			if errors.Unwrap(err) != oe.Err || oe.Err == nil {
				t.Errorf("Unwrap = %v, want %v", errors.Unwrap(err), oe.Err)
			}
			if !strings.HasPrefix(err.Error(), "bedrockguard: invalid option bedrocksim."+tt.option+": ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// TestOptionsValid checks that valid options, the zero values among them,
// are accepted, and that a later option replaces an earlier one.
func TestOptionsValid(t *testing.T) {
	sim, err := bedrocksim.New(bedrocksim.WithWindow(time.Hour), simtest.Seed(-3),
		bedrocksim.WithLatency(0, 0), bedrocksim.WithOutputFraction(0), bedrocksim.WithDefaultQuota(bedrocksim.Quota{}),
		bedrocksim.WithQuota(haiku3, bedrocksim.Quota{RequestsPerWindow: 1}), bedrocksim.WithFaults(bedrocksim.Faults{}),
		bedrocksim.WithQuota(haiku3, bedrocksim.Quota{RequestsPerWindow: 2}), bedrocksim.WithOutputFraction(1))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	defer ts.Close()
	client := bedrockruntime.NewFromConfig(bedrocksim.Config(ts.URL))
	for i := range 3 {
		out, err := converse(t.Context(), client, haiku3, "hi", 10, noRetry)
		var te *types.ThrottlingException
		switch {
		case i < 2 && err != nil:
			t.Fatalf("call %d: %v (the second WithQuota allows 2 requests)", i, err)
		case i < 2 && *out.Usage.OutputTokens != 10:
			t.Errorf("call %d: %d output tokens, want 10 (the last WithOutputFraction)", i, *out.Usage.OutputTokens)
		case i == 2 && !errors.As(err, &te):
			t.Errorf("call 3: err = %v, want ThrottlingException", err)
		}
	}
}

// TestSetFaultsChecks checks that SetFaults refuses an invalid Faults and
// keeps the faults in force.
func TestSetFaultsChecks(t *testing.T) {
	sim, client, _ := start(t)
	var oe *bedrockguard.OptionError
	err := sim.SetFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 1, Rate: -0.5}})
	if !errors.As(err, &oe) || oe.Option != "bedrocksim.Faults.ServiceUnavailable.Rate" {
		t.Fatalf("SetFaults = %v, want *OptionError for Faults.ServiceUnavailable.Rate", err)
	}
	if _, err := converse(t.Context(), client, haiku3, "hi", 10, noRetry); err != nil {
		t.Errorf("call after a refused SetFaults: %v", err)
	}
	if err := sim.SetFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := converse(t.Context(), client, haiku3, "hi", 10, noRetry); err == nil {
		t.Error("call after SetFaults(Next: 1) succeeded, want a 503")
	}
}
