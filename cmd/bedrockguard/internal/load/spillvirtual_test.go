package load

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var spSeeds = flag.String("sp.seeds", "1,2", "spillover seeds, comma-separated, or FROM-TO")

// TestSpilloverTargets checks issue 15's targets on virtual time (see
// TestZeroConfigTargets): calls arrive at twice the primary's quota, one
// alternate profile has an equal quota; against the same arrivals served
// by the primary alone, spillover fails nothing, at least halves p99,
// throttles at most once per 1000 calls, never routes to the alternate
// in its cooldown, and serves at least 95 % of what arrived up to the
// combined quota. With the primary under its quota no call leaves it.
func TestSpilloverTargets(t *testing.T) {
	var mu sync.Mutex
	var report []string
	for _, seed := range parseSeeds(t, *spSeeds) {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			sc := SpilloverScenario(6*time.Second, time.Minute, seed)
			var single, spill SpillRow
			synctest.Test(t, func(t *testing.T) {
				var err error
				if single, err = runSpillover(context.Background(), sc, false, nil, true); err != nil {
					t.Fatal(err)
				}
			})
			synctest.Test(t, func(t *testing.T) {
				var err error
				if spill, err = runSpillover(context.Background(), sc, true, nil, true); err != nil {
					t.Fatal(err)
				}
			})
			var miss []string
			if spill.Failed > 0 {
				miss = append(miss, fmt.Sprintf("%d failed", spill.Failed))
			}
			if 2*spill.P99 > single.P99 {
				miss = append(miss, fmt.Sprintf("p99 %v > half of one route's %v", spill.P99, single.P99))
			}
			if spill.ThrottlesPer1000 > 1 {
				miss = append(miss, fmt.Sprintf("%.1f throttles/1k > 1 (%v)", spill.ThrottlesPer1000, spill.ThrottlesBy))
			}
			if spill.InCooldown > 0 {
				miss = append(miss, fmt.Sprintf("%d calls to the alternate in its cooldown", spill.InCooldown))
			}
			if want := 0.95 * min(spill.DemandPct, 100); spill.CombinedPct < want {
				miss = append(miss, fmt.Sprintf("%.1f %% of the combined quota used < %.1f (demand %.1f %%)", spill.CombinedPct, want, spill.DemandPct))
			}
			line := fmt.Sprintf("seed %2d: calls %d spilled %d failed %d throttles/1k %.1f p50 %v p99 %v (one route %v) used %.1f%% of demand %.1f%%",
				seed, spill.Calls, spill.Spilled, spill.Failed, spill.ThrottlesPer1000, spill.P50.Round(time.Millisecond), spill.P99.Round(time.Millisecond),
				single.P99.Round(time.Millisecond), spill.CombinedPct, spill.DemandPct)
			if len(miss) > 0 {
				line += "  MISS: " + strings.Join(miss, "; ")
				t.Errorf("%s", line)
			}
			mu.Lock()
			report = append(report, line)
			mu.Unlock()
		})
	}
	t.Cleanup(func() {
		for _, l := range report {
			t.Log(l)
		}
	})
}
