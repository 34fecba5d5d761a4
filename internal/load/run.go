package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/config"
	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// Modes are the client configurations a run can compare. "unguarded" is
// the SDK's standard retryer with an ObserveOnly guard (events are reported,
// nothing is paced or retried differently); "guarded" is "guard" under the
// demo's name.
var Modes = []string{"sdk-standard", "sdk-adaptive", "guard", "guard-aimd", "unguarded", "guarded"}

// RunOptions are the optional hooks of [RunWith].
type RunOptions struct {
	// Progress, if not nil, is called about once a second.
	Progress func(Progress)
	// Observer, if not nil, receives the guard's events in the modes that
	// install a guard (otelbridge's Bridge, for example).
	Observer engine.Observer
	// GuardOptions are appended to the guard's options in the modes that
	// install one. Give the observer as Observer, not here.
	GuardOptions []bedrockguard.Option
	// Config, if not nil, is the client configuration to run against
	// instead of a fresh in-process simulator (real Bedrock, say). The
	// server's counts are then unknown: throttles are those the guard's
	// observer saw (only in modes that install a guard), and goodput is
	// measured against Scenario.Server's quota if it has one.
	Config *aws.Config
}

// Share is one size class's share of issued and of successful calls.
type Share struct {
	Issued float64 `json:"issued"`
	OK     float64 `json:"ok"`
}

// Row is the result of one scenario under one client configuration.
type Row struct {
	Scenario string `json:"scenario"`
	Mode     string `json:"mode"`
	Calls    int    `json:"calls"`
	OK       int    `json:"ok"`
	Failed   int    `json:"failed"`
	// Attempts is the server's request count per call issued.
	Attempts float64 `json:"attempts"`
	// GoodputPct is the tokens/s of successful calls in steady state (after
	// the first window) as a percentage of the server's TPM refill rate
	// (of the lowered quota after a drop).
	GoodputPct float64 `json:"goodputPct"`
	// RequestsPct is the calls/s in steady state as a percentage of the
	// server's RPM refill rate (0 when RPM is unlimited).
	RequestsPct float64 `json:"requestsPct"`
	// ThrottlesPer1000 is server-side throttles per 1000 calls in steady state.
	ThrottlesPer1000 float64 `json:"throttlesPer1000"`
	// Throttles counts all server-side throttles by kind.
	Throttles map[string]int64 `json:"throttles"`
	P50       time.Duration    `json:"p50"`
	P99       time.Duration    `json:"p99"`
	// Fairness is each prompt-size class's share of issued and of
	// successful calls.
	Fairness map[string]Share `json:"fairness"`
	// AfterDrop, for quota-drop, is goodput as a percentage of the lowered
	// quota from one window after the drop to the end, and the throttles
	// per 1000 calls over the same span.
	AfterDropGoodputPct   float64 `json:"afterDropGoodputPct,omitempty"`
	AfterDropThrottlesPer float64 `json:"afterDropThrottlesPer1000,omitempty"`
	// FailedBy counts failed calls by error type (the service's error
	// code, or the guard's class name).
	FailedBy map[string]int `json:"failedBy,omitempty"`
	// FinalTokenRate is the guard's adaptive token rate per window at the end.
	FinalTokenRate float64 `json:"finalTokenRate,omitempty"`
}

// Progress is a live snapshot of a run.
type Progress struct {
	Scenario, Mode string
	Elapsed        time.Duration
	Calls, OK      int64
	Failed         int64
	// Throttles is the number of throttles so far: the simulator's count,
	// or the guard's when running against another server.
	Throttles int64
}

// throttleTotal returns the throttles so far of model.
func throttleTotal(sim *bedrocksim.Server, model string, counts *throttleCounter) int64 {
	if sim != nil {
		k := sim.Stats().Keys[model]
		return k.ThrottledRequests + k.ThrottledTokens + k.ThrottledTokensPerDay + k.ThrottledMidStream
	}
	var n int64
	for _, v := range counts.snapshot() {
		n += v
	}
	return n
}

type result struct {
	err      string // error type of a failed call
	class    int
	start    time.Time
	end      time.Time
	ok       bool
	tokens   int64
	attempts int
}

// Run runs scenario sc through one client configuration against a fresh
// in-process simulator and returns its row. progress, if not nil, is
// called about once a second.
func Run(ctx context.Context, sc Scenario, mode string, progress func(Progress)) (Row, error) {
	return RunWith(ctx, sc, mode, RunOptions{Progress: progress})
}

// RunWith is [Run] with hooks: a progress callback, extra guard options and
// an optional client configuration in place of the simulator.
func RunWith(ctx context.Context, sc Scenario, mode string, ro RunOptions) (Row, error) {
	if err := sc.Validate(); err != nil {
		return Row{}, err
	}
	progress := ro.Progress
	var sim *bedrocksim.Server
	var cfg aws.Config
	if ro.Config != nil {
		cfg = ro.Config.Copy()
	} else {
		var err error
		sim, err = bedrocksim.New(bedrocksim.Options{
			Window:  sc.Window,
			Quotas:  map[string]bedrocksim.Quota{sc.Model: sc.Server},
			Seed:    sc.Seed,
			Latency: sc.Latency,
			Faults:  sc.faults(),
		})
		if err != nil {
			return Row{}, err
		}
		srv := httptest.NewServer(sim)
		defer srv.Close()
		cfg = bedrocksim.Config(srv.URL)
	}
	counts := newThrottleCounter(ro.Observer)
	guardOpts := append([]bedrockguard.Option{
		bedrockguard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, ro.GuardOptions...)
	var guard *bedrockguard.Guard
	var err error
	switch mode {
	case "sdk-standard":
	case "sdk-adaptive":
		cfg.RetryMode = aws.RetryModeAdaptive
	case "unguarded":
		_, err = bedrockguard.Install(&cfg, append(guardOpts, bedrockguard.ObserveOnly(), bedrockguard.WithObserver(counts))...)
		if err != nil {
			return Row{}, err
		}
	case "guard", "guard-aimd", "guarded":
		q := bedrockguard.Quota{Window: sc.Window}
		if sc.Told {
			q.TokensPerWindow, q.RequestsPerWindow = sc.Server.TokensPerWindow, sc.Server.RequestsPerWindow
		}
		opts := append(guardOpts, bedrockguard.WithQuota(sc.Model, q), bedrockguard.WithObserver(counts))
		if mode == "guard-aimd" {
			opts = append(opts, bedrockguard.Option(func(s *config.Settings) { s.Pacing.Algorithm = pacing.AIMD }))
		}
		guard, err = bedrockguard.Install(&cfg, opts...)
		if err != nil {
			return Row{}, err
		}
	default:
		return Row{}, fmt.Errorf("unknown mode %q (want one of %s)", mode, strings.Join(Modes, ", "))
	}

	prompts := makePrompts(sc)
	start := time.Now()
	if sc.DropFraction > 0 && sim != nil {
		f := sc.faults()
		f.QuotaDropFraction, f.QuotaDropAt = sc.DropFraction, start.Add(sc.DropAfter)
		if err := sim.SetFaults(f); err != nil {
			return Row{}, err
		}
	}
	deadline := start.Add(sc.Duration)
	var calls, oks, fails atomic.Int64
	var issued atomic.Int64
	results := make([][]result, sc.Workers)
	var wg sync.WaitGroup
	for w := range sc.Workers {
		wg.Go(func() {
			client := bedrockruntime.NewFromConfig(cfg)
			rng := rand.New(rand.NewPCG(uint64(sc.Seed), uint64(w)))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if sc.MaxCalls > 0 && issued.Add(1) > int64(sc.MaxCalls) {
					return
				}
				class := pick(rng, sc.Classes)
				maxTokens := sc.MaxTokens[rng.IntN(len(sc.MaxTokens))]
				text := prompts[class][rng.IntN(len(prompts[class]))]
				stream := rng.Float64() < sc.StreamShare
				calls.Add(1)
				r := call(ctx, client, sc.Model, text, maxTokens, stream)
				r.class = class
				if r.ok {
					oks.Add(1)
				} else {
					fails.Add(1)
				}
				results[w] = append(results[w], r)
			}
		})
	}
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
					progress(Progress{sc.Name, mode, time.Since(start), calls.Load(), oks.Load(), fails.Load(),
						throttleTotal(sim, sc.Model, counts)})
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := ctx.Err(); err != nil {
		return Row{}, err
	}

	var all []result
	for _, rs := range results {
		all = append(all, rs...)
	}
	var st bedrocksim.Stats
	if sim != nil {
		st = sim.Stats()
	}
	row := summarize(sc, mode, start, all, st)
	if sim == nil {
		row.Throttles = counts.snapshot()
		row.Attempts = 0
		row.ThrottlesPer1000 = 0
		if n := int64(row.Calls); n > 0 {
			var total int64
			for _, v := range row.Throttles {
				total += v
			}
			row.ThrottlesPer1000 = per1000(total, n)
		}
	}
	if guard != nil {
		if n := guard.Outstanding(); n != 0 {
			return row, fmt.Errorf("guard leaked %d reservations", n)
		}
		row.FinalTokenRate = guard.State(ctx, cfg.Region, sc.Model).Rate[pacing.Tokens]
	}
	return row, nil
}

func pick(rng *rand.Rand, classes []SizeClass) int {
	var sum float64
	for _, c := range classes {
		sum += c.Weight
	}
	x := rng.Float64() * sum
	for i, c := range classes {
		if x < c.Weight {
			return i
		}
		x -= c.Weight
	}
	return len(classes) - 1
}

var words = strings.Fields(`the quota bucket refills every minute while requests wait in line for tokens
and the model answers with a stream of words about rivers mountains cities markets engines gardens
letters numbers music weather history science travel cooking`)

// makePrompts builds a pool of prompts per size class whose length in the
// simulator's counting rule (one token per 4 ASCII bytes) matches the class.
func makePrompts(sc Scenario) [][]string {
	rng := rand.New(rand.NewPCG(uint64(sc.Seed), 99))
	out := make([][]string, len(sc.Classes))
	for i, c := range sc.Classes {
		for range 16 {
			var b strings.Builder
			for b.Len() < 4*c.PromptTokens {
				b.WriteString(words[rng.IntN(len(words))])
				b.WriteByte(' ')
			}
			out[i] = append(out[i], b.String()[:4*c.PromptTokens])
		}
	}
	return out
}

func call(ctx context.Context, client *bedrockruntime.Client, model, text string, maxTokens int, stream bool) result {
	r := result{start: time.Now()}
	msgs := []types.Message{{
		Role:    types.ConversationRoleUser,
		Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}},
	}}
	inf := &types.InferenceConfiguration{MaxTokens: aws.Int32(int32(maxTokens))}
	if !stream {
		out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs, InferenceConfig: inf})
		r.end = time.Now()
		if err == nil && out.Usage != nil {
			r.ok = true
			r.tokens = int64(aws.ToInt32(out.Usage.InputTokens) + aws.ToInt32(out.Usage.OutputTokens))
		}
		r.err = errorType(err)
		return r
	}
	out, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(model), Messages: msgs, InferenceConfig: inf})
	if err != nil {
		r.end = time.Now()
		r.err = errorType(err)
		return r
	}
	es := out.GetStream()
	for ev := range es.Events() {
		if md, ok := ev.(*types.ConverseStreamOutputMemberMetadata); ok && md.Value.Usage != nil {
			r.tokens = int64(aws.ToInt32(md.Value.Usage.InputTokens) + aws.ToInt32(md.Value.Usage.OutputTokens))
			r.ok = true
		}
	}
	if err := es.Err(); err != nil {
		r.ok = false
		r.err = errorType(err)
	} else if !r.ok {
		r.err = "NoUsage"
	}
	es.Close()
	r.end = time.Now()
	return r
}

// errorType names a failed call's error by its class: the service's code,
// or the class name when there is none. Never the message.
func errorType(err error) string {
	if err == nil {
		return "NoUsage"
	}
	var se *engine.StreamError
	if errors.As(err, &se) {
		if se.Class.Code != "" {
			return se.Class.Code
		}
		return se.Class.Kind.String()
	}
	if c := classify.Classify(err); c.Code != "" {
		return c.Code
	} else if c.Kind != classify.Unknown {
		return c.Kind.String()
	}
	return "other"
}

func summarize(sc Scenario, mode string, start time.Time, all []result, st bedrocksim.Stats) Row {
	row := Row{Scenario: sc.Name, Mode: mode, Calls: len(all), Throttles: map[string]int64{}, Fairness: map[string]Share{}}
	end := start.Add(sc.Duration)
	steady := start.Add(sc.Window)
	var lat []time.Duration
	var steadyTokens, steadyCalls int64
	issued := make([]int, len(sc.Classes))
	oks := make([]int, len(sc.Classes))
	dropSteady := start.Add(sc.DropAfter + sc.Window)
	var dropTokens, dropCalls int64
	for _, r := range all {
		issued[r.class]++
		if !r.ok {
			row.Failed++
			if row.FailedBy == nil {
				row.FailedBy = map[string]int{}
			}
			row.FailedBy[r.err]++
			continue
		}
		row.OK++
		oks[r.class]++
		lat = append(lat, r.end.Sub(r.start))
		if !r.end.Before(steady) && !r.end.After(end) {
			steadyTokens += r.tokens
			steadyCalls++
		}
		if sc.DropFraction > 0 && !r.end.Before(dropSteady) && !r.end.After(end) {
			dropTokens += r.tokens
			dropCalls++
		}
	}
	ks := st.Keys[sc.Model]
	row.Throttles["requests"] = ks.ThrottledRequests
	row.Throttles["tokens"] = ks.ThrottledTokens
	row.Throttles["tokens_per_day"] = ks.ThrottledTokensPerDay
	row.Throttles["mid_stream"] = ks.ThrottledMidStream
	if row.Calls > 0 {
		row.Attempts = float64(ks.Requests) / float64(row.Calls)
	}
	secs := end.Sub(steady).Seconds()
	window := sc.Window.Seconds()
	if sc.Server.TokensPerWindow > 0 {
		rate := float64(sc.Server.TokensPerWindow) / window
		if sc.DropFraction > 0 {
			// Before the drop the full rate, after it the lowered one.
			before := sc.DropAfter.Seconds() - sc.Window.Seconds()
			after := sc.Duration.Seconds() - sc.DropAfter.Seconds()
			row.GoodputPct = 100 * float64(steadyTokens) / (rate*before + rate*sc.DropFraction*after)
			span := end.Sub(dropSteady).Seconds()
			row.AfterDropGoodputPct = 100 * float64(dropTokens) / (rate * sc.DropFraction * span)
			row.AfterDropThrottlesPer = per1000(throttlesBetween(st, dropSteady, end), dropCalls)
		} else {
			row.GoodputPct = 100 * float64(steadyTokens) / (rate * secs)
		}
	}
	if sc.Server.RequestsPerWindow > 0 {
		row.RequestsPct = 100 * float64(steadyCalls) / (float64(sc.Server.RequestsPerWindow) / window * secs)
	}
	row.ThrottlesPer1000 = per1000(throttlesBetween(st, steady, end), steadyCalls)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		row.P50 = lat[len(lat)/2]
		row.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	for i, c := range sc.Classes {
		s := Share{}
		if row.Calls > 0 {
			s.Issued = float64(issued[i]) / float64(row.Calls)
		}
		if row.OK > 0 {
			s.OK = float64(oks[i]) / float64(row.OK)
		}
		row.Fairness[c.Name] = s
	}
	return row
}

func per1000(n, calls int64) float64 {
	if calls == 0 {
		return 0
	}
	return 1000 * float64(n) / float64(calls)
}

// throttlesBetween sums the server's throttles in [from, to) from its
// per-second timeline.
func throttlesBetween(st bedrocksim.Stats, from, to time.Time) int64 {
	var n int64
	for _, s := range st.Timeline {
		if !s.Time.Before(from.Truncate(time.Second)) && s.Time.Before(to) {
			n += s.Throttled
		}
	}
	return n
}

// faults are the simulator faults in force from the start of a run: with
// an UnavailableRate, the first two calls get a 503 too, so that every run,
// however short, shows how each client retries one.
func (sc Scenario) faults() bedrocksim.Faults {
	if sc.UnavailableRate == 0 {
		return bedrocksim.Faults{}
	}
	return bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 2, Rate: sc.UnavailableRate}}
}
