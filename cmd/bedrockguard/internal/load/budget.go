package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
)

// The budget scenarios (issue 16) measure what the generic table cannot:
// "tenants" runs tenants with open-loop demand against one quota, with and
// without a noisy tenant, and reports each tenant's latency; "daily" spends
// a tokens-per-day quota in a compressed day and reports the guard's
// refusals, its forecast of the exhaustion and the service's throttles.

// BudgetRun is the shape of a budget scenario run.
type BudgetRun struct {
	// Window is the quota window of the simulator and the guard.
	Window time.Duration
	// Duration is the length of each run.
	Duration time.Duration
	Seed     int64
}

// budgetScenarios are the scenarios with a report of their own.
var budgetScenarios = map[string]func(context.Context, BudgetRun, io.Writer) error{
	"tenants": RunTenants,
	"daily":   RunDaily,
}

// RunBudgetScenario runs the budget scenario name and writes its report;
// ok is false when name is not one.
func RunBudgetScenario(ctx context.Context, name string, r BudgetRun, w io.Writer) (ok bool, err error) {
	f, ok := budgetScenarios[name]
	if !ok {
		return false, nil
	}
	return true, f(ctx, r, w)
}

// openCall is one call of an open-loop workload.
type openCall struct {
	tenant  string
	start   time.Time
	end     time.Time
	err     error
	tokens  int64
	refused bool // a *BudgetError: nothing was sent
}

// openLoad issues calls of prompt/maxTokens at a fixed interval until
// deadline, each in its own goroutine, tagged with tenant when tagged, and
// returns them once all have ended.
func openLoad(ctx context.Context, client *bedrockruntime.Client, model, tenant string, tagged bool, every time.Duration,
	prompt string, maxTokens int, start, deadline time.Time, out chan<- openCall, wg *sync.WaitGroup) {
	cctx := ctx
	if tagged {
		cctx = bedrockguard.WithTenant(ctx, tenant)
	}
	for t := start; t.Before(deadline); t = t.Add(every) {
		if d := time.Until(t); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
		wg.Go(func() {
			c := openCall{tenant: tenant, start: time.Now()}
			o, err := client.Converse(cctx, &bedrockruntime.ConverseInput{
				ModelId:         aws.String(model),
				Messages:        []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: prompt}}}},
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(int32(maxTokens))},
			})
			c.end, c.err = time.Now(), err
			var be *bedrockguard.BudgetError
			c.refused = errors.As(err, &be)
			if err == nil && o.Usage != nil {
				c.tokens = int64(aws.ToInt32(o.Usage.InputTokens) + aws.ToInt32(o.Usage.OutputTokens))
			}
			out <- c
		})
	}
}

// p99 returns the 99th percentile of the successful calls' latencies.
func p99(calls []openCall) time.Duration {
	var lat []time.Duration
	for _, c := range calls {
		if c.err == nil {
			lat = append(lat, c.end.Sub(c.start))
		}
	}
	if len(lat) == 0 {
		return 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[min(len(lat)-1, len(lat)*99/100)]
}

// newBudgetSim starts a simulator with q on DefaultModel.
func newBudgetSim(r BudgetRun, q bedrocksim.Quota, day time.Duration, lat Latency) (*bedrocksim.Server, aws.Config, func(), error) {
	opts := []bedrocksim.Option{bedrocksim.WithWindow(r.Window), bedrocksim.WithQuota(DefaultModel, q),
		simtest.Seed(r.Seed), bedrocksim.WithLatency(lat.Base, lat.PerOutputToken)}
	if day > 0 {
		opts = append(opts, simtest.Day(day))
	}
	sim, err := bedrocksim.New(opts...)
	if err != nil {
		return nil, aws.Config{}, nil, err
	}
	srv := httptest.NewServer(sim)
	return sim, bedrocksim.Config(srv.URL), srv.Close, nil
}

// chargedBetween returns the tokens the simulator charged from `from` to `to`
// (whole seconds of its timeline).
func chargedBetween(st bedrocksim.Stats, from, to time.Time) int64 {
	var n int64
	for _, s := range st.Timeline {
		if !s.Time.Before(from) && s.Time.Before(to) {
			n += s.TokensCharged
		}
	}
	return n
}

// tenantsShape: four quiet tenants each at a tenth of the token quota, and
// a noisy one at ten times that (the whole quota): 140 % demand.
const (
	quietTenants   = 4
	tenantShare    = 0.10
	noisyFactor    = 10
	tenantPrompt   = 400 // tokens
	tenantMaxToken = 400
)

// tenantsResult is one run of the tenants scenario.
type tenantsResult struct {
	p99      map[string]time.Duration
	calls    map[string]int
	failed   int
	usedPct  float64 // tokens charged in steady state, % of the quota
	throttle int64
}

// runTenantsOnce runs the tenants workload: with the noisy tenant or not,
// and with tenant IDs or not (then every call is one anonymous tenant).
func runTenantsOnce(ctx context.Context, r BudgetRun, noisy, tagged bool) (tenantsResult, error) {
	perWindow := int64(10_000 * r.Window.Seconds())
	lat := Latency{Base: 200 * time.Millisecond, PerOutputToken: 500 * time.Microsecond}
	sim, cfg, stop, err := newBudgetSim(r, bedrocksim.Quota{TokensPerWindow: perWindow}, 0, lat)
	if err != nil {
		return tenantsResult{}, err
	}
	defer stop()
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		bedrockguard.WithQuota(DefaultModel, bedrockguard.Quota{TokensPerWindow: perWindow, Window: r.Window}))
	if err != nil {
		return tenantsResult{}, err
	}
	client := bedrockruntime.NewFromConfig(cfg)
	// A call costs about tenantPrompt + tenantMaxToken/2 tokens charged, and
	// reserves tenantPrompt + tenantMaxToken.
	perCall := float64(tenantPrompt) + tenantMaxToken/2
	quotaPerSec := float64(perWindow) / r.Window.Seconds()
	every := time.Duration(float64(time.Second) * perCall / (tenantShare * quotaPerSec))
	prompt := makePrompts(Scenario{Seed: r.Seed, Classes: []SizeClass{{PromptTokens: tenantPrompt}}})[0][0]

	start := time.Now()
	deadline := start.Add(r.Duration)
	out := make(chan openCall, 1024)
	var wg, gen sync.WaitGroup
	for i := range quietTenants {
		gen.Go(func() {
			openLoad(ctx, client, DefaultModel, fmt.Sprintf("quiet-%d", i), tagged, every, prompt, tenantMaxToken,
				start.Add(time.Duration(i)*every/quietTenants), deadline, out, &wg)
		})
	}
	if noisy {
		gen.Go(func() {
			openLoad(ctx, client, DefaultModel, "noisy", tagged, every/noisyFactor, prompt, tenantMaxToken, start, deadline, out, &wg)
		})
	}
	var calls []openCall
	done := make(chan struct{})
	go func() {
		for c := range out {
			calls = append(calls, c)
		}
		close(done)
	}()
	gen.Wait()
	wg.Wait()
	close(out)
	<-done
	if err := ctx.Err(); err != nil {
		return tenantsResult{}, err
	}
	if n := g.Outstanding(); n != 0 {
		return tenantsResult{}, fmt.Errorf("guard leaked %d reservations", n)
	}
	res := tenantsResult{p99: map[string]time.Duration{}, calls: map[string]int{}}
	by := map[string][]openCall{}
	steady := start.Add(SteadyAfter * r.Window)
	for _, c := range calls {
		if c.start.Before(steady) {
			continue
		}
		by[c.tenant] = append(by[c.tenant], c)
		res.calls[c.tenant]++
		if c.err != nil {
			res.failed++
		}
	}
	for t, cs := range by {
		res.p99[t] = p99(cs)
	}
	st := sim.Stats()
	// Steady-state use: from the first full second after `steady` to the
	// last full second before the deadline.
	from := steady.Truncate(time.Second).Add(time.Second)
	to := deadline.Truncate(time.Second)
	if secs := to.Sub(from).Seconds(); secs > 0 {
		res.usedPct = 100 * float64(chargedBetween(st, from, to)) / (quotaPerSec * secs)
	}
	ks := st.Keys[DefaultModel]
	res.throttle = ks.ThrottledRequests + ks.ThrottledTokens + ks.ThrottledTokensPerDay + ks.ThrottledMidStream
	return res, nil
}

// RunTenants runs the tenants scenario three times (quiet tenants alone;
// with the noisy tenant; with it but without tenant IDs, as before tenants
// existed) and writes each tenant's steady-state p99.
func RunTenants(ctx context.Context, r BudgetRun, w io.Writer) error {
	alone, err := runTenantsOnce(ctx, r, false, true)
	if err != nil {
		return err
	}
	with, err := runTenantsOnce(ctx, r, true, true)
	if err != nil {
		return err
	}
	fifo, err := runTenantsOnce(ctx, r, true, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "tenants: window %v, %v per run, seed %d; %d quiet tenants at %.0f %% of the token quota each, a noisy one at %dx that (open loop, %d-token prompts, max_tokens %d)\n",
		r.Window, r.Duration, r.Seed, quietTenants, 100*tenantShare, noisyFactor, tenantPrompt, tenantMaxToken)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tenant\tcalls (alone / with noisy)\tp99 alone\tp99 with noisy (tenants)\tratio\tp99 with noisy (no tenant IDs)\t")
	worst := 0.0
	names := []string{}
	for i := range quietTenants {
		names = append(names, fmt.Sprintf("quiet-%d", i))
	}
	for _, n := range append(names, "noisy") {
		ratio := "-"
		if a := alone.p99[n]; a > 0 {
			x := float64(with.p99[n]) / float64(a)
			worst = math.Max(worst, x)
			ratio = fmt.Sprintf("%.2f", x)
		}
		fmt.Fprintf(tw, "%s\t%d / %d\t%v\t%v\t%s\t%v\t\n", n, alone.calls[n], with.calls[n],
			alone.p99[n].Round(time.Millisecond), with.p99[n].Round(time.Millisecond), ratio, fifo.p99[n].Round(time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "worst quiet p99 ratio %.2f (target <= 1.5); quota used with the noisy tenant %.1f %% (target >= 97), %.1f %% without tenant IDs; failed calls %d / %d / %d; service throttles %d / %d / %d\n",
		worst, with.usedPct, fifo.usedPct, alone.failed, with.failed, fifo.failed, alone.throttle, with.throttle, fifo.throttle)
	return nil
}

// RunDaily spends a tokens-per-day quota in a compressed day with a steady
// open-loop workload at half the per-window quota, and reports when the
// guard started refusing, how far its forecast of that moment was off
// when asked at a quarter, half and three quarters of the way, the calls
// the guard sent once the day was spent, and the service's
// tokens-per-day throttles.
func RunDaily(ctx context.Context, r BudgetRun, w io.Writer) error {
	perWindow := int64(10_000 * r.Window.Seconds())
	quotaPerSec := float64(perWindow) / r.Window.Seconds()
	const prompt, maxTokens = 500, 500
	perCall := float64(prompt) + maxTokens/2
	usage := 0.5 * quotaPerSec // tokens per second, steady
	every := time.Duration(float64(time.Second) * perCall / usage)
	// The day is 4 x the run; the day's quota runs out about halfway
	// through the run: tpd / (usage - tpd/day) = duration / 2.
	day := 4 * r.Duration
	half := r.Duration.Seconds() / 2
	tpd := int64(half * usage / (1 + half/day.Seconds()))
	lat := Latency{Base: 200 * time.Millisecond, PerOutputToken: 500 * time.Microsecond}
	sim, cfg, stop, err := newBudgetSim(r, bedrocksim.Quota{TokensPerWindow: perWindow, TokensPerDay: tpd}, day, lat)
	if err != nil {
		return err
	}
	defer stop()
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		bedrockguard.WithQuota(DefaultModel, bedrockguard.Quota{TokensPerWindow: perWindow, Window: r.Window, TokensPerDay: tpd, Day: day}))
	if err != nil {
		return err
	}
	client := bedrockruntime.NewFromConfig(cfg)
	text := makePrompts(Scenario{Seed: r.Seed, Classes: []SizeClass{{PromptTokens: prompt}}})[0][0]

	start := time.Now()
	deadline := start.Add(r.Duration)
	out := make(chan openCall, 1024)
	var wg, gen sync.WaitGroup
	gen.Go(func() {
		openLoad(ctx, client, DefaultModel, "", false, every, text, maxTokens, start, deadline, out, &wg)
	})

	// Sample the guard's forecast once a second (the sampling also keeps
	// its usage measurement going, as a metrics exporter would).
	type sample struct {
		at       time.Duration
		forecast time.Duration // predicted exhaustion, from start
		left     float64
	}
	var samples []sample
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if now.After(deadline) {
					return
				}
				st := g.State(ctx, cfg.Region, DefaultModel)
				at := now.Sub(start)
				s := sample{at: at, left: st.DayRemaining}
				if st.DayEmptyIn > 0 {
					s.forecast = at + st.DayEmptyIn
				}
				samples = append(samples, s)
			}
		}
	}()
	var calls []openCall
	done := make(chan struct{})
	go func() {
		for c := range out {
			calls = append(calls, c)
		}
		close(done)
	}()
	gen.Wait()
	wg.Wait()
	close(out)
	<-done
	<-sampled
	if err := ctx.Err(); err != nil {
		return err
	}
	if n := g.Outstanding(); n != 0 {
		return fmt.Errorf("guard leaked %d reservations", n)
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].start.Before(calls[j].start) })
	var exhausted time.Duration // first refusal
	var refused, sentAfter, okAfter, failed int
	for _, c := range calls {
		switch {
		case c.refused:
			refused++
			if exhausted == 0 {
				exhausted = c.start.Sub(start)
			}
		case exhausted > 0:
			sentAfter++
			if c.err == nil {
				okAfter++
			}
		}
		if c.err != nil && !c.refused {
			failed++
		}
	}
	ks := sim.Stats().Keys[DefaultModel]
	fmt.Fprintf(w, "daily: window %v, day %v, %v run, seed %d; tokens per day %d, steady open-loop use %.0f tokens/s (%.0f %% of the per-window quota), day refill %.0f tokens/s\n",
		r.Window, day, r.Duration, r.Seed, tpd, usage, 100*usage/quotaPerSec, float64(tpd)/day.Seconds())
	if exhausted == 0 {
		fmt.Fprintf(w, "the day's quota was not spent in the run (%d calls)\n", len(calls))
		return nil
	}
	fmt.Fprintf(w, "calls %d, refused by the guard (BudgetError, nothing sent) %d, first refusal at %.1fs\n", len(calls), refused, exhausted.Seconds())
	fmt.Fprintf(w, "calls sent after the first refusal %d (%d ok): admitted by the day's refill, each within the remainder\n", sentAfter, okAfter)
	fmt.Fprintf(w, "service: tokens-per-day throttles %d, other throttles %d, failed calls (not refused) %d\n",
		ks.ThrottledTokensPerDay, ks.ThrottledRequests+ks.ThrottledTokens+ks.ThrottledMidStream, failed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "asked at\tday tokens left\tforecast exhaustion\terror (% of the time left)\t")
	for _, frac := range []float64{0.25, 0.5, 0.75} {
		at := time.Duration(frac * float64(exhausted))
		for _, s := range samples {
			if s.at < at {
				continue
			}
			e := "-"
			if s.forecast > 0 {
				e = fmt.Sprintf("%+.1f %%", 100*float64(s.forecast-exhausted)/float64(exhausted-s.at))
			}
			fmt.Fprintf(tw, "%.1fs\t%.0f\t%.1fs\t%s\t\n", s.at.Seconds(), s.left, s.forecast.Seconds(), e)
			break
		}
	}
	return tw.Flush()
}
