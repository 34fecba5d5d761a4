package load

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
)

// Spillover: a second inference profile of the scenario's model with a
// quota of its own (Scenario.Alternate), and the guard given a route to it
// with bedrockguard.WithSpillover. In RunWith, mode "spillover" is "guard"
// with that route (and the alternate's quota on the simulator);
// [RunSpillover] is the open-loop "spillover" scenario of the loadtest.

// ModeSpillover is the guarded mode with a spillover route.
const ModeSpillover = "spillover"

// SpilloverMaxWait is the route's MaxWait in the runs, as a fraction of
// the window: a call that would wait longer on the primary goes to the
// alternate if the alternate admits it sooner.
const SpilloverMaxWait = 1.0 / 24

// AlternateOf returns another inference profile of model: "us." + model
// for a model ID, "global." + the model for a profile ID.
func AlternateOf(model string) string {
	if b := engine.BaseModel(model); b != model {
		return "global." + b
	}
	return "us." + model
}

// alternateQuota gives the simulator the alternate's quota, equal to the
// model's (none without an alternate).
func alternateQuota(sc Scenario, q bedrocksim.Quota) bedrocksim.Option {
	if sc.Alternate == "" {
		return bedrocksim.WithQuota(sc.Model, q) // the model's again: no change
	}
	return bedrocksim.WithQuota(sc.Alternate, q)
}

// spilloverOptions are the guard's options for the alternate: its quota
// (q, the model's) and the route.
func spilloverOptions(sc Scenario, q bedrockguard.Quota) []bedrockguard.Option {
	if sc.Alternate == "" {
		return nil
	}
	return []bedrockguard.Option{
		bedrockguard.WithQuota(sc.Alternate, q),
		bedrockguard.WithSpillover(sc.Model, bedrockguard.Route{ModelID: sc.Alternate,
			MaxWait: time.Duration(SpilloverMaxWait * float64(sc.Window))}),
	}
}

// keyStats is the simulator's counts of the model and its alternate,
// summed.
func (sc Scenario) keyStats(st bedrocksim.Stats) bedrocksim.KeyStats {
	ks := st.Keys[sc.Model]
	if sc.Alternate == "" {
		return ks
	}
	a := st.Keys[sc.Alternate]
	ks.Requests += a.Requests
	ks.Accepted += a.Accepted
	ks.ThrottledRequests += a.ThrottledRequests
	ks.ThrottledTokens += a.ThrottledTokens
	ks.ThrottledTokensPerDay += a.ThrottledTokensPerDay
	ks.ThrottledMidStream += a.ThrottledMidStream
	ks.TokensCharged += a.TokensCharged
	return ks
}

// SpilloverScenario is the open-loop workload of the "spillover" loadtest
// scenario: the mixed scenario's calls arriving at random (Poisson) at
// twice the rate the model's quota serves, on a us. inference profile
// whose global. profile has an equal quota of its own.
func SpilloverScenario(window, duration time.Duration, seed int64) Scenario {
	sc := Scenarios(window, 1, duration)["mixed"]
	sc.Name = "spillover"
	sc.Model = "us." + DefaultModel
	sc.Alternate = AlternateOf(sc.Model)
	sc.Seed = seed
	return sc
}

// SpillRow is one run of the spillover scenario.
type SpillRow struct {
	Mode   string `json:"mode"` // "guard" (one route) or "spillover"
	Seed   int64  `json:"seed"`
	Calls  int    `json:"calls"`
	OK     int    `json:"ok"`
	Failed int    `json:"failed"`
	// Spilled is the calls served by the alternate.
	Spilled int `json:"spilled"`
	// ArrivalsPerSec is the offered load.
	ArrivalsPerSec float64       `json:"arrivalsPerSec"`
	P50            time.Duration `json:"p50"`
	P99            time.Duration `json:"p99"`
	// Throttles is the server's throttles on both profiles;
	// ThrottlesPer1000 is per 1000 calls.
	Throttles        int64   `json:"throttles"`
	ThrottlesPer1000 float64 `json:"throttlesPer1000"`
	// CombinedPct is the tokens/s of successful calls ending after the
	// first two windows and before the last arrival, as a percentage of
	// both profiles' refill rate together.
	CombinedPct float64 `json:"combinedPct"`
	// DemandPct is the tokens of the calls that arrived over the same span
	// (what they settled at), as a percentage of the same refill: the
	// random arrivals' realized demand, against which CombinedPct is
	// measured.
	DemandPct float64 `json:"demandPct"`
	// ThrottlesBy counts the server's throttles by "model kind".
	ThrottlesBy map[string]int64 `json:"throttlesBy,omitempty"`
	// RouteThrottlesAt is when, from the start, the guard saw each
	// throttle on the alternate.
	RouteThrottlesAt []time.Duration `json:"routeThrottlesAt,omitempty"`
	// InCooldown counts decisions to send a call to the alternate taken
	// within the route's cooldown after a throttle on the alternate.
	InCooldown int            `json:"inCooldown"`
	FailedBy   map[string]int `json:"failedBy,omitempty"`
}

// spillWatch records where calls were served, the alternate's throttles
// and the decisions to send a call there.
type spillWatch struct {
	bedrockguard.NopObserver
	alt       string
	spilled   atomic.Int64
	mu        sync.Mutex
	throttles []time.Time // on the alternate
	decisions []time.Time // to the alternate
}

func (w *spillWatch) Paced(_ context.Context, c *bedrockguard.Call, waited time.Duration, err error) {
	if err == nil && c.SpillReason != "" && c.ServedModelID == w.alt {
		w.mu.Lock()
		w.decisions = append(w.decisions, time.Now().Add(-waited))
		w.mu.Unlock()
	}
}

func (w *spillWatch) Throttled(_ context.Context, c *bedrockguard.Call, _ bedrockguard.ThrottleEvent) {
	if c.ServedModelID == w.alt {
		w.mu.Lock()
		w.throttles = append(w.throttles, time.Now())
		w.mu.Unlock()
	}
}

func (w *spillWatch) End(_ context.Context, c *bedrockguard.Call, _ error) {
	if c.SpillReason != "" {
		w.spilled.Add(1)
	}
}

// inCooldown counts decisions taken within cooldown after a throttle.
func (w *spillWatch) inCooldown(cooldown time.Duration) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, d := range w.decisions {
		for _, t := range w.throttles {
			if !d.Before(t) && d.Sub(t) < cooldown {
				n++
				break
			}
		}
	}
	return n
}

// meanCallTokens is the mean quota tokens a call of sc settles at in the
// simulator: its prompt, and an output uniform in [1, max_tokens] (capped
// at 1024) at burndown 1.
func meanCallTokens(sc Scenario) float64 {
	var in, w float64
	for _, c := range sc.Classes {
		in += c.Weight * float64(c.PromptTokens)
		w += c.Weight
	}
	var out float64
	for _, m := range sc.MaxTokens {
		out += float64(min(m, 1024)+1) / 2
	}
	return in/w + out/float64(len(sc.MaxTokens))
}

// RunSpillover runs the open-loop spillover scenario once: calls arrive at
// twice the rate the model's quota serves, for sc.Duration, and every call
// is waited for. With spill the guard has the route to sc.Alternate;
// without, it serves everything from sc.Model (the single-route
// reference). progress, if not nil, is called about once a second.
func RunSpillover(ctx context.Context, sc Scenario, spill bool, progress func(Progress)) (SpillRow, error) {
	return runSpillover(ctx, sc, spill, progress, false)
}

// runSpillover is RunSpillover, in memory (see RunOptions.InMemory) when
// inMemory is set.
func runSpillover(ctx context.Context, sc Scenario, spill bool, progress func(Progress), inMemory bool) (SpillRow, error) {
	mode := "guard"
	if spill {
		mode = ModeSpillover
	}
	if sc.Alternate == "" {
		return SpillRow{}, fmt.Errorf("spillover scenario without an alternate")
	}
	sim, err := bedrocksim.New(
		bedrocksim.WithWindow(sc.Window),
		bedrocksim.WithQuota(sc.Model, sc.Server),
		bedrocksim.WithQuota(sc.Alternate, sc.Server),
		simtest.Seed(sc.Seed),
		bedrocksim.WithLatency(sc.Latency.Base, sc.Latency.PerOutputToken),
	)
	if err != nil {
		return SpillRow{}, err
	}
	cfg, shutdown := serve(sim, inMemory)
	defer shutdown()
	q := bedrockguard.Quota{Window: sc.Window, TokensPerWindow: sc.Server.TokensPerWindow, RequestsPerWindow: sc.Server.RequestsPerWindow}
	watch := &spillWatch{alt: sc.Alternate}
	opts := []bedrockguard.Option{
		bedrockguard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		bedrockguard.WithQuota(sc.Model, q), bedrockguard.WithQuota(sc.Alternate, q),
		bedrockguard.WithObserver(watch),
	}
	if spill {
		opts = append(opts, spilloverOptions(sc, q)[1:]...)
	}
	guard, err := bedrockguard.Install(&cfg, opts...)
	if err != nil {
		return SpillRow{}, err
	}
	prompts := makePrompts(sc)
	rate := 2 * float64(sc.Server.TokensPerWindow) / sc.Window.Seconds() / meanCallTokens(sc)
	rng := rand.New(rand.NewPCG(uint64(sc.Seed), 1))
	start := time.Now()
	end := start.Add(sc.Duration)
	var mu sync.Mutex
	var all []result
	var calls, oks, fails atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	if progress != nil {
		go func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					progress(Progress{sc.Name, mode, time.Since(start), calls.Load(), oks.Load(), fails.Load(), throttlesOf(sim.Stats(), sc)})
				}
			}
		}()
	}
	next := start
	for ctx.Err() == nil {
		next = next.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
		if !next.Before(end) {
			break
		}
		class := pick(rng, sc.Classes)
		maxTokens := sc.MaxTokens[rng.IntN(len(sc.MaxTokens))]
		text := prompts[class][rng.IntN(len(prompts[class]))]
		stream := rng.Float64() < sc.StreamShare
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		calls.Add(1)
		wg.Go(func() {
			// A client per call: smithy-go v1.28 shares one event-stream
			// codec between a client's concurrent streams, a data race
			// under -race (aws/smithy-go#714).
			client := bedrockruntime.NewFromConfig(cfg)
			r := call(ctx, client, sc.Model, text, maxTokens, stream)
			r.class = class
			if r.ok {
				oks.Add(1)
			} else {
				fails.Add(1)
			}
			mu.Lock()
			all = append(all, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(stop)
	if err := ctx.Err(); err != nil {
		return SpillRow{}, err
	}
	if n := guard.Outstanding(); n != 0 {
		return SpillRow{}, fmt.Errorf("guard leaked %d reservations", n)
	}
	st := sim.Stats()
	row := SpillRow{Mode: mode, Seed: sc.Seed, Calls: len(all), Spilled: int(watch.spilled.Load()), ArrivalsPerSec: rate,
		Throttles: throttlesOf(st, sc), InCooldown: watch.inCooldown(sc.Window)}
	for _, at := range watch.throttles {
		row.RouteThrottlesAt = append(row.RouteThrottlesAt, at.Sub(start))
	}
	row.ThrottlesPer1000 = per1000(row.Throttles, int64(row.Calls))
	steady := start.Add(SteadyAfter * sc.Window)
	var lat []time.Duration
	var tokens, demand int64
	for _, r := range all {
		if !r.start.Before(steady) && r.start.Before(end) {
			demand += r.tokens
		}
		if !r.ok {
			row.Failed++
			if row.FailedBy == nil {
				row.FailedBy = map[string]int{}
			}
			row.FailedBy[r.err]++
			continue
		}
		row.OK++
		lat = append(lat, r.end.Sub(r.start))
		if !r.end.Before(steady) && r.end.Before(end) {
			tokens += r.tokens
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		row.P50 = lat[len(lat)/2]
		row.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	combined := 2 * float64(sc.Server.TokensPerWindow) / sc.Window.Seconds() * end.Sub(steady).Seconds()
	row.CombinedPct = 100 * float64(tokens) / combined
	row.DemandPct = 100 * float64(demand) / combined
	for _, m := range []string{sc.Model, sc.Alternate} {
		k := st.Keys[m]
		for kind, n := range map[string]int64{"requests": k.ThrottledRequests, "tokens": k.ThrottledTokens,
			"tokens_per_day": k.ThrottledTokensPerDay, "mid_stream": k.ThrottledMidStream} {
			if n > 0 {
				if row.ThrottlesBy == nil {
					row.ThrottlesBy = map[string]int64{}
				}
				row.ThrottlesBy[m+" "+kind] = n
			}
		}
	}
	return row, nil
}

// throttlesOf is the server's throttles on sc's model and its alternate.
func throttlesOf(st bedrocksim.Stats, sc Scenario) int64 {
	ks := sc.keyStats(st)
	return ks.ThrottledRequests + ks.ThrottledTokens + ks.ThrottledTokensPerDay + ks.ThrottledMidStream
}

// WriteSpillTable writes the spillover runs as a Markdown table.
func WriteSpillTable(w io.Writer, rows []SpillRow) error {
	var b strings.Builder
	b.WriteString("| client | seed | arrivals/s | calls | failed | served by the alternate | throttles / 1k calls | p50 | p99 | demand % of the combined quota | used % of the combined quota | to the alternate in its cooldown |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %.1f | %d | %d | %d | %.1f | %s | %s | %.1f | %.1f | %d |\n", r.Mode, r.Seed, r.ArrivalsPerSec, r.Calls, r.Failed,
			r.Spilled, r.ThrottlesPer1000, FormatLatency(r.P50), FormatLatency(r.P99), r.DemandPct, r.CombinedPct, r.InCooldown)
	}
	for _, r := range rows {
		for k, n := range r.ThrottlesBy {
			fmt.Fprintf(&b, "%s seed %d: %d throttles on %s\n", r.Mode, r.Seed, n, k)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
