package bedrocksim_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// TestOptionErrors checks that New names the invalid field in an
// *OptionError that unwraps to its cause.
func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name   string
		opts   bedrocksim.Options
		option string
	}{
		{"negative window", bedrocksim.Options{Window: -time.Second}, "Window"},
		{"negative cache TTL", bedrocksim.Options{CacheTTL: -1}, "CacheTTL"},
		{"negative latency", bedrocksim.Options{Latency: bedrocksim.Latency{PerOutputToken: -1}}, "Latency.PerOutputToken"},
		{"negative tokens per delta", bedrocksim.Options{TokensPerDelta: -1}, "TokensPerDelta"},
		{"negative body size", bedrocksim.Options{MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"fraction above one", bedrocksim.Options{OutputFraction: 1.5}, "OutputFraction"},
		{"fraction NaN", bedrocksim.Options{OutputFraction: math.NaN()}, "OutputFraction"},
		{"negative default quota", bedrocksim.Options{DefaultQuota: bedrocksim.Quota{TokensPerDay: -1}}, "DefaultQuota.TokensPerDay"},
		{"negative key quota", bedrocksim.Options{Quotas: map[string]bedrocksim.Quota{"b": {}, "a": {RequestsPerWindow: -5}}}, `Quotas["a"].RequestsPerWindow`},
		{"rate above one", bedrocksim.Options{Faults: bedrocksim.Faults{Reset: bedrocksim.Trigger{Rate: 2}}}, "Faults.Reset.Rate"},
		{"negative next", bedrocksim.Options{Faults: bedrocksim.Faults{ModelNotReady: bedrocksim.Trigger{Next: -1}}}, "Faults.ModelNotReady.Next"},
		{"negative stream throttle after", bedrocksim.Options{Faults: bedrocksim.Faults{StreamThrottleAfter: -1}}, "Faults.StreamThrottleAfter"},
		{"negative slow headers", bedrocksim.Options{Faults: bedrocksim.Faults{SlowHeadersDelay: -1}}, "Faults.SlowHeadersDelay"},
		{"quota drop above one", bedrocksim.Options{Faults: bedrocksim.Faults{QuotaDropFraction: 1.01}}, "Faults.QuotaDropFraction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, err := bedrocksim.New(tt.opts)
			var oe *bedrocksim.OptionError
			if sim != nil || !errors.As(err, &oe) || oe.Option != tt.option {
				t.Fatalf("New = %v, %v; want *OptionError for %s", sim, err, tt.option)
			}
			if errors.Unwrap(err) != oe.Err || oe.Err == nil {
				t.Errorf("Unwrap = %v, want %v", errors.Unwrap(err), oe.Err)
			}
			if !strings.HasPrefix(err.Error(), "bedrocksim: invalid option "+tt.option+": ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// TestSetFaultsChecks checks that SetFaults refuses an invalid Faults and
// keeps the faults in force.
func TestSetFaultsChecks(t *testing.T) {
	sim, client, _ := start(t, bedrocksim.Options{})
	var oe *bedrocksim.OptionError
	err := sim.SetFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 1, Rate: -0.5}})
	if !errors.As(err, &oe) || oe.Option != "Faults.ServiceUnavailable.Rate" {
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
