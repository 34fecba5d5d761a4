package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
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
	"github.com/bedrockguard/bedrockguard/internal/simtest"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// Modes are the client configurations a run can compare. "unguarded" is
// the SDK's standard retryer with an ObserveOnly guard (events are reported,
// nothing is paced or retried differently); "guarded" is "guard" under the
// demo's name.
var Modes = []string{"sdk-standard", "sdk-adaptive", "guard", "guard-aimd", "unguarded", "guarded", ModeSpillover}

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
	// InMemory serves the simulator without a socket (simtest.Transport),
	// so that a run can go inside a testing/synctest bubble and take
	// virtual time.
	InMemory bool
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
	// After a change of the capacity left to the guard (a quota drop or
	// rise, a neighbour arriving): ChangeThrottles is the guard's throttles
	// from the change to the end of the changed span; AfterChangeGoodputPct
	// is goodput from two windows after the change to the end of the span
	// as a percentage of the capacity left (the lowered or raised quota,
	// or the quota minus what the neighbour used); AfterChangeThrottlesPer
	// is throttles per 1000 calls over that span; WindowsTo90 is the
	// number of whole windows after the change before the first window
	// whose goodput reaches 90 % of the capacity left (-1 if none).
	ChangeThrottles         int64   `json:"changeThrottles,omitempty"`
	AfterChangeGoodputPct   float64 `json:"afterChangeGoodputPct,omitempty"`
	AfterChangeThrottlesPer float64 `json:"afterChangeThrottlesPer1000,omitempty"`
	WindowsTo90             int     `json:"windowsTo90,omitempty"`
	// Seed is the run's seed.
	Seed int64 `json:"seed"`
	// FailedBy counts failed calls by error type (the service's error
	// code, or the guard's class name).
	FailedBy map[string]int `json:"failedBy,omitempty"`
	// FinalTokenRate is the guard's adaptive token rate per window at the end.
	FinalTokenRate float64 `json:"finalTokenRate,omitempty"`
	// Timeline samples the guard's adaptive rates and the server's
	// throttles every quarter window (guarded modes against the simulator).
	Timeline []Sample `json:"timeline,omitempty"`
}

// Sample is one point of Row.Timeline.
type Sample struct {
	// At is the time since the start of the run, in seconds.
	At float64 `json:"at"`
	// TokenRate and RequestRate are the guard's adaptive rates per window
	// (0 when the axis is not paced).
	TokenRate   float64 `json:"tokenRate"`
	RequestRate float64 `json:"requestRate"`
	// Throttles is the server's throttles so far.
	Throttles int64 `json:"throttles"`
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
	err    string // error type of a failed call
	class  int
	start  time.Time
	end    time.Time
	ok     bool
	tokens int64
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
	if mode == ModeSpillover && sc.Alternate == "" {
		sc.Alternate = AlternateOf(sc.Model)
	}
	progress := ro.Progress
	var sim *bedrocksim.Server
	var cfg aws.Config
	if ro.Config != nil {
		cfg = ro.Config.Copy()
	} else {
		var err error
		server := sc.Server
		if sc.RiseFactor > 1 {
			// The simulator only scales quotas down: start at the risen
			// quota scaled back to the initial one, and lift the scale at
			// RiseAfter.
			server.TokensPerWindow = int64(float64(server.TokensPerWindow) * sc.RiseFactor)
			server.RequestsPerWindow = int64(float64(server.RequestsPerWindow) * sc.RiseFactor)
		}
		sim, err = bedrocksim.New(
			bedrocksim.WithWindow(sc.Window),
			bedrocksim.WithQuota(sc.Model, server),
			alternateQuota(sc, server),
			simtest.Seed(sc.Seed),
			bedrocksim.WithLatency(sc.Latency.Base, sc.Latency.PerOutputToken),
			bedrocksim.WithFaults(sc.faults()),
			simtest.InputTokenScale(sc.InputTokenScale),
		)
		if err != nil {
			return Row{}, err
		}
		var stop func()
		cfg, stop = serve(sim, ro.InMemory)
		defer stop()
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
	case "guard", "guard-aimd", "guarded", ModeSpillover:
		q := bedrockguard.Quota{Window: sc.Window}
		if sc.Told {
			q.TokensPerWindow, q.RequestsPerWindow = sc.Server.TokensPerWindow, sc.Server.RequestsPerWindow
		}
		opts := append(guardOpts, bedrockguard.WithQuota(sc.Model, q), bedrockguard.WithObserver(counts))
		if mode == ModeSpillover {
			opts = append(opts, spilloverOptions(sc, q)...)
		}
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
	if sc.RiseFactor > 1 && sim != nil {
		f := sc.faults()
		f.QuotaDropFraction, f.QuotaDropAt = 1/sc.RiseFactor, start.Add(-time.Hour)
		if err := sim.SetFaults(f); err != nil {
			return Row{}, err
		}
		rise := time.AfterFunc(sc.RiseAfter, func() { _ = sim.SetFaults(sc.faults()) })
		defer rise.Stop()
	}
	var nb *neighbour
	if sc.Neighbour.Share > 0 {
		nb = startNeighbour(ctx, sc, cfg, start)
		defer nb.wait()
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
	var timeline []Sample
	sampled := make(chan struct{})
	if guard != nil && sim != nil {
		go func() {
			defer close(sampled)
			tick := time.NewTicker(sc.Window / 4)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					r := guard.State(ctx, cfg.Region, sc.Model).Rate
					timeline = append(timeline, Sample{At: time.Since(start).Seconds(),
						TokenRate: finite(r[pacing.Tokens]), RequestRate: finite(r[pacing.Requests]),
						Throttles: throttleTotal(sim, sc.Model, counts)})
				}
			}
		}()
	} else {
		close(sampled)
	}
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
	<-sampled
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
	if nb != nil {
		nb.wait()
	}
	row := summarize(sc, mode, start, all, st, nb)
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
		row.FinalTokenRate = finite(guard.State(ctx, cfg.Region, sc.Model).Rate[pacing.Tokens])
	}
	row.Timeline = timeline
	return row, nil
}

// serve returns a client configuration for sim: over loopback HTTP, or in
// memory (see RunOptions.InMemory). stop shuts the server down.
func serve(sim *bedrocksim.Server, inMemory bool) (cfg aws.Config, stop func()) {
	if inMemory {
		cfg = bedrocksim.Config("http://bedrocksim.invalid")
		cfg.HTTPClient = &http.Client{Transport: simtest.Transport(sim)}
		return cfg, func() {}
	}
	srv := httptest.NewServer(sim)
	return bedrocksim.Config(srv.URL), srv.Close
}

// finite maps an unpaced axis's infinite rate to 0 (JSON has no infinity).
func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return v
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

func summarize(sc Scenario, mode string, start time.Time, all []result, st bedrocksim.Stats, nb *neighbour) Row {
	row := Row{Scenario: sc.Name, Mode: mode, Seed: sc.Seed, Calls: len(all), Throttles: map[string]int64{}, Fairness: map[string]Share{}}
	end := start.Add(sc.Duration)
	steady := start.Add(SteadyAfter * sc.Window)
	var lat []time.Duration
	var steadyTokens, steadyCalls int64
	issued := make([]int, len(sc.Classes))
	oks := make([]int, len(sc.Classes))
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
	}
	ks := sc.keyStats(st)
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
		// The capacity left to the guard over [steady, end): the quota,
		// scaled after a drop or rise, minus what a neighbour used.
		row.GoodputPct = 100 * float64(steadyTokens) / sc.capacity(rate, steady.Sub(start), sc.Duration, nb, start)
		if at := sc.changeAt(); at > 0 {
			spanEnd := sc.Duration
			if sc.Neighbour.Share > 0 {
				spanEnd = sc.Neighbour.Until
			}
			from, to := start.Add(at+2*sc.Window), start.Add(spanEnd)
			var tok, n int64
			for _, r := range all {
				if r.ok && !r.end.Before(from) && r.end.Before(to) {
					tok += r.tokens
					n++
				}
			}
			if c := sc.capacity(rate, at+2*sc.Window, spanEnd, nb, start); c > 0 {
				row.AfterChangeGoodputPct = 100 * float64(tok) / c
			}
			row.AfterChangeThrottlesPer = per1000(throttlesBetween(st, from, to)-nb.throttlesBetween(from, to), n)
			row.ChangeThrottles = throttlesBetween(st, start.Add(at), to) - nb.throttlesBetween(start.Add(at), to)
			row.WindowsTo90 = -1
			for k := 0; start.Add(at+time.Duration(k+1)*sc.Window).Compare(to) <= 0; k++ {
				w0, w1 := start.Add(at+time.Duration(k)*sc.Window), start.Add(at+time.Duration(k+1)*sc.Window)
				var wt int64
				for _, r := range all {
					if r.ok && !r.end.Before(w0) && r.end.Before(w1) {
						wt += r.tokens
					}
				}
				if c := sc.capacity(rate, w0.Sub(start), w1.Sub(start), nb, start); c > 0 && float64(wt) >= 0.9*c {
					row.WindowsTo90 = k
					break
				}
			}
		}
	}
	if sc.Server.RequestsPerWindow > 0 {
		row.RequestsPct = 100 * float64(steadyCalls) / (float64(sc.Server.RequestsPerWindow) / window * secs)
	}
	row.ThrottlesPer1000 = per1000(throttlesBetween(st, steady, end)-nb.throttlesBetween(steady, end), steadyCalls)
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

// SteadyAfter is the number of windows at the start of a run that steady
// state measurements leave out.
const SteadyAfter = 2

// capacity is the tokens the server could grant the guard over [from, to)
// of the run, at rate tokens per second of the initial quota: scaled after
// a drop or a rise, minus the neighbour's successful tokens.
func (sc Scenario) capacity(rate float64, from, to time.Duration, nb *neighbour, start time.Time) float64 {
	scaleAt := func(t time.Duration) float64 {
		switch {
		case sc.DropFraction > 0 && t >= sc.DropAfter:
			return sc.DropFraction
		case sc.RiseFactor > 1 && t >= sc.RiseAfter:
			return sc.RiseFactor
		}
		return 1
	}
	var c float64
	const step = 100 * time.Millisecond
	for t := from; t < to; t += step {
		c += rate * scaleAt(t) * min(step, to-t).Seconds()
	}
	return c - float64(nb.tokensBetween(start.Add(from), start.Add(to)))
}

// neighbour is a running unguarded client on the same key.
type neighbour struct {
	wg        sync.WaitGroup
	mu        sync.Mutex
	oks       []result // successful calls
	throttled []time.Time
}

// startNeighbour sends the scenario's neighbour calls, open loop, from
// start+From to start+Until, each with a single attempt.
func startNeighbour(ctx context.Context, sc Scenario, cfg aws.Config, start time.Time) *neighbour {
	nb := &neighbour{}
	n := sc.Neighbour
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		o.Retryer = aws.NopRetryer{}
		o.APIOptions = nil
	})
	// Each call settles at about its prompt and half its max tokens.
	perCall := float64(n.PromptTokens) + float64(n.MaxTokens)/2
	every := time.Duration(perCall / (n.Share * float64(sc.Server.TokensPerWindow)) * float64(sc.Window))
	text := makePrompts(Scenario{Seed: sc.Seed + 7, Classes: []SizeClass{{PromptTokens: n.PromptTokens}}})[0][0]
	nb.wg.Go(func() {
		t := time.NewTimer(time.Until(start.Add(n.From)))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if time.Since(start) >= n.Until {
				return
			}
			nb.wg.Go(func() {
				r := call(ctx, client, sc.Model, text, n.MaxTokens, false)
				nb.mu.Lock()
				defer nb.mu.Unlock()
				if r.ok {
					nb.oks = append(nb.oks, r)
				} else if r.err == "ThrottlingException" {
					nb.throttled = append(nb.throttled, r.end)
				}
			})
			t.Reset(every)
		}
	})
	return nb
}

func (nb *neighbour) wait() {
	if nb != nil {
		nb.wg.Wait()
	}
}

// tokensBetween is the neighbour's successful tokens ending in [from, to).
func (nb *neighbour) tokensBetween(from, to time.Time) int64 {
	if nb == nil {
		return 0
	}
	nb.mu.Lock()
	defer nb.mu.Unlock()
	var n int64
	for _, r := range nb.oks {
		if !r.end.Before(from) && r.end.Before(to) {
			n += r.tokens
		}
	}
	return n
}

// throttlesBetween is the neighbour's throttles in [from, to), counted by
// the whole seconds the server's timeline uses.
func (nb *neighbour) throttlesBetween(from, to time.Time) int64 {
	if nb == nil {
		return 0
	}
	nb.mu.Lock()
	defer nb.mu.Unlock()
	var n int64
	for _, t := range nb.throttled {
		if !t.Truncate(time.Second).Before(from.Truncate(time.Second)) && t.Before(to) {
			n++
		}
	}
	return n
}
