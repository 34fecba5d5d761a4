package load

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The zero-config targets (issue 12) asserted on virtual time: each run is
// the loadtest command's run, through the real bedrockruntime client and
// the guard, against the simulator served in memory inside a synctest
// bubble, so a minute of load takes well under a second and the targets
// can be checked over many seeds and two token rules. The flags widen the
// sweep when tuning (go test -run TestZeroConfigTargets -args -zc.seeds=1-20 -v).
var (
	zcSeeds     = flag.String("zc.seeds", "1,2", "seeds, comma-separated, or FROM-TO")
	zcScenarios = flag.String("zc.scenarios", "", "scenarios, comma-separated (default: all of the zero-config targets)")
	zcDuration  = flag.Duration("zc.duration", time.Minute, "length of each run")
	zcTimeline  = flag.Bool("zc.timeline", false, "log the guard's rates and the throttles of runs that miss a target")
	zcStrict    = flag.Bool("zc.strict", false, "fail on goal misses too")
	zcWindow    = flag.Duration("zc.window", 6*time.Second, "quota window of the simulator and the guard")
	zcWorkers   = flag.Int("zc.workers", 32, "concurrent callers")
)

// zcRule is a server the guard does not know: the simulator's own counting
// rule and latency, or a tokenizer that counts a third more with slower
// answers.
type zcRule struct {
	name    string
	scale   float64
	latency *Latency
}

var zcRules = []zcRule{
	{name: "own"},
	{name: "4/3,600ms+1ms", scale: 4.0 / 3, latency: &Latency{Base: 600 * time.Millisecond, PerOutputToken: time.Millisecond}},
}

// zcTarget is what one scenario must meet; check returns the misses.
// Misses of the targets that one run of a minute measures with
// a noise of several percent (goodput over the 18 s after a quota drop,
// p99/p50, throttles per drop) are goals: logged, and failures only with
// -zc.strict; the others fail the test in every run.
type zcTarget struct {
	name  string
	check func(Row) (hard, goal []string)
	// runs is the run length when it is not -zc.duration: a quota rise
	// a third into the run needs 10 windows after it.
	runs time.Duration
}

// miss appends a miss to *to when bad.
func miss(to *[]string, bad bool, format string, args ...any) {
	if bad {
		*to = append(*to, fmt.Sprintf(format, args...))
	}
}

func p99OverP50(r Row) float64 { return float64(r.P99) / float64(max(r.P50, 1)) }

// noQuotaTarget: no quota told, any workload.
func noQuotaTarget(name string, requests bool) zcTarget {
	return zcTarget{name: name, check: func(r Row) (hard, goal []string) {
		used := r.GoodputPct
		if requests {
			used = r.RequestsPct
		}
		miss(&hard, r.Failed > 0, "%d failed", r.Failed)
		miss(&hard, r.ThrottlesPer1000 > 20, "%.1f throttles/1k > 20", r.ThrottlesPer1000)
		miss(&hard, used < 90, "%.1f %% of the quota < 90", used)
		miss(&hard, p99OverP50(r) > 3, "p99/p50 %.2f > 3", p99OverP50(r))
		return hard, nil
	}}
}

var zcTargets = []zcTarget{
	noQuotaTarget("no-quota", false),
	noQuotaTarget("large-no-quota", false),
	noQuotaTarget("tpm-bound-no-quota", false),
	noQuotaTarget("rpm-bound-no-quota", true),
	{name: "quota-drop", check: func(r Row) (hard, goal []string) {
		miss(&hard, r.Failed > 0, "%d failed", r.Failed)
		miss(&hard, r.ChangeThrottles > 4, "%d throttles from the drop > 4", r.ChangeThrottles)
		miss(&goal, r.ChangeThrottles > 3, "%d throttles from the drop > 3", r.ChangeThrottles)
		miss(&goal, r.AfterChangeGoodputPct < 95, "%.1f %% of the lowered quota < 95", r.AfterChangeGoodputPct)
		miss(&goal, p99OverP50(r) > 3, "p99/p50 %.2f > 3", p99OverP50(r))
		return hard, goal
	}},
	{name: "quota-drop-no-quota", check: func(r Row) (hard, goal []string) {
		miss(&hard, r.Failed > 0, "%d failed", r.Failed)
		miss(&goal, r.ChangeThrottles > 3, "%d throttles from the drop > 3", r.ChangeThrottles)
		miss(&goal, r.AfterChangeGoodputPct < 90, "%.1f %% of the lowered quota < 90", r.AfterChangeGoodputPct)
		miss(&goal, r.ThrottlesPer1000 > 20, "%.1f throttles/1k > 20", r.ThrottlesPer1000)
		return hard, goal
	}},
	{name: "noisy-neighbour", check: neighbourTarget},
	{name: "noisy-neighbour-no-quota", check: neighbourTarget},
	{name: "quota-rise", check: func(r Row) (hard, goal []string) {
		miss(&hard, r.Failed > 0, "%d failed", r.Failed)
		miss(&goal, r.WindowsTo90 < 0 || r.WindowsTo90 > 10, "%d windows to 90 %% of the new quota (-1: not within the run) > 10", r.WindowsTo90)
		return hard, goal
	}, runs: 90 * time.Second},
	{name: "mixed", check: toldTarget},
	{name: "tpm-bound", check: toldTarget},
	{name: "rpm-bound", check: toldTarget},
}

// neighbourTarget: an unguarded client takes 40 % of the quota for the
// middle third of the run.
func neighbourTarget(r Row) (hard, goal []string) {
	miss(&hard, r.Failed > 0, "%d failed", r.Failed)
	miss(&hard, r.ChangeThrottles > 5, "%d throttles while the neighbour ran > 5", r.ChangeThrottles)
	miss(&goal, r.AfterChangeGoodputPct < 90, "%.1f %% of what the neighbour left < 90", r.AfterChangeGoodputPct)
	return hard, goal
}

// toldTarget: with the quota told, no throttle at all.
func toldTarget(r Row) (hard, goal []string) {
	var n int64
	for _, v := range r.Throttles {
		n += v
	}
	miss(&hard, n > 0 || r.Failed > 0, "%d throttles, %d failed with the quota told", n, r.Failed)
	return hard, nil
}

func parseSeeds(t *testing.T, s string) []int64 {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
		if err != nil {
			t.Fatalf("-zc.seeds: %v", err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(strings.TrimSpace(hi), 10, 64); err != nil {
				t.Fatalf("-zc.seeds: %v", err)
			}
		}
		for v := a; v <= b; v++ {
			out = append(out, v)
		}
	}
	return out
}

func TestZeroConfigTargets(t *testing.T) {
	seeds := parseSeeds(t, *zcSeeds)
	want := map[string]bool{}
	if *zcScenarios != "" {
		for _, n := range strings.Split(*zcScenarios, ",") {
			want[n] = true
		}
	}
	all := Scenarios(*zcWindow, *zcWorkers, *zcDuration)
	var mu sync.Mutex
	var report []string
	for _, tg := range zcTargets {
		if len(want) > 0 && !want[tg.name] {
			continue
		}
		for _, rule := range zcRules {
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("%s/%s/seed%d", tg.name, rule.name, seed), func(t *testing.T) {
					t.Parallel()
					sc := all[tg.name]
					if tg.runs > *zcDuration {
						sc = Scenarios(*zcWindow, *zcWorkers, tg.runs)[tg.name]
					}
					sc.Seed = seed
					sc.InputTokenScale = rule.scale
					if rule.latency != nil {
						sc.Latency = *rule.latency
					}
					var row Row
					synctest.Test(t, func(t *testing.T) {
						var err error
						row, err = RunWith(context.Background(), sc, "guard", RunOptions{InMemory: true})
						if err != nil {
							t.Fatal(err)
						}
					})
					hard, goal := tg.check(row)
					line := fmt.Sprintf("%-24s %-14s seed %2d: calls %4d failed %d goodput %5.1f%% req %5.1f%% throttles/1k %5.1f p99/p50 %.2f change: throttles %d goodput %5.1f%% windows-to-90 %d",
						tg.name, rule.name, seed, row.Calls, row.Failed, row.GoodputPct, row.RequestsPct, row.ThrottlesPer1000,
						p99OverP50(row), row.ChangeThrottles, row.AfterChangeGoodputPct, row.WindowsTo90)
					if len(goal) > 0 {
						line += "  GOAL MISSED: " + strings.Join(goal, "; ")
					}
					if len(hard) > 0 {
						line += "  MISS: " + strings.Join(hard, "; ")
					}
					if len(hard) > 0 || (*zcStrict && len(goal) > 0) {
						t.Errorf("%s", line)
						if *zcTimeline {
							var b strings.Builder
							for _, p := range row.Timeline {
								fmt.Fprintf(&b, "\n%6.1fs tokens %8.0f requests %6.1f throttles %d", p.At, p.TokenRate, p.RequestRate, p.Throttles)
							}
							t.Logf("timeline:%s", b.String())
						}
					}
					mu.Lock()
					report = append(report, line)
					mu.Unlock()
				})
			}
		}
	}
	t.Cleanup(func() {
		for _, l := range report {
			t.Log(l)
		}
	})
}
