package load

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/redis/go-redis/v9"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
)

// Fleet is a multi-process run: Procs OS processes (this program, run
// with "loadtest -fleet-child"), each with Workers closed-loop callers and
// the guard on one shared Redis store, against one simulator in the parent.
// Even-numbered processes send only Large-token prompts, odd ones only
// Small-token ones.
type Fleet struct {
	Procs, Workers int
	Window         time.Duration
	Duration       time.Duration
	Seed           int64
	Server         bedrocksim.Quota
	Large, Small   int
	MaxTokens      []int
	// Store is "redis" (shared) or "none" (each process alone with the
	// whole quota). StoreAddr is a running Redis; empty starts redis-server.
	Store     string
	StoreAddr string
	// KillStoreAt, if positive, stops the redis-server this long into the
	// run and starts it again (empty, no persistence) StoreDown later.
	KillStoreAt, StoreDown time.Duration
	// InteractiveLast makes the last process's calls Interactive and every
	// other process's Batch (by default all are Interactive).
	InteractiveLast bool
	// Exe is the program to run as children (os.Executable when empty).
	Exe string
}

// FleetProc is one process's results.
type FleetProc struct {
	Index       int           `json:"index"`
	Class       string        `json:"class"`
	Calls       int           `json:"calls"`
	OK          int           `json:"ok"`
	Failed      int           `json:"failed"`
	P50         time.Duration `json:"p50"`
	P99         time.Duration `json:"p99"`
	Commands    int64         `json:"redisCommands"`
	StoreErrors int64         `json:"storeErrors"`
	Outstanding int64         `json:"outstanding"`
}

// FleetRow is the result of a fleet run.
type FleetRow struct {
	Procs            []FleetProc   `json:"procs"`
	Calls            int           `json:"calls"`
	OK               int           `json:"ok"`
	Failed           int           `json:"failed"`
	ThrottlesPer1000 float64       `json:"throttlesPer1000"`
	Throttles        int64         `json:"throttles"`
	GoodputPct       float64       `json:"goodputPct"`
	Fairness         float64       `json:"fairness"` // a large-prompt worker's completions / a small-prompt worker's
	CommandsPerCall  float64       `json:"redisCommandsPerCall"`
	OutagePct        float64       `json:"outageAdmittedPct,omitempty"` // tokens charged during the outage / quota over it
	Rejoin           time.Duration `json:"rejoin,omitempty"`            // restart to every process heard again
	Seed             int64         `json:"seed"`
}

type fleetChild struct {
	Index, Workers int
	Prompt         int
	MaxTokens      []int
	Endpoint       string
	StoreAddr      string
	Start          time.Time
	Duration       time.Duration
	Window         time.Duration
	Quota          bedrocksim.Quota
	Seed           int64
	Batch          bool
}

type childResult struct {
	Results     []fleetResult `json:"results"`
	Commands    int64         `json:"commands"`
	StoreErrors int64         `json:"storeErrors"`
	Outstanding int64         `json:"outstanding"`
}

type fleetResult struct {
	Start, End time.Time
	OK         bool
	Tokens     int64
	Err        string `json:",omitempty"`
}

// RunFleet runs f and returns its row.
func RunFleet(ctx context.Context, f Fleet, progress io.Writer) (FleetRow, error) {
	if f.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return FleetRow{}, err
		}
		f.Exe = exe
	}
	model := DefaultModel
	sim, err := bedrocksim.New(bedrocksim.WithWindow(f.Window), bedrocksim.WithQuota(model, f.Server),
		simtest.Seed(f.Seed), bedrocksim.WithLatency(200*time.Millisecond, 500*time.Microsecond))
	if err != nil {
		return FleetRow{}, err
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()

	var rs *redisProc
	addr := f.StoreAddr
	if f.Store == "redis" && addr == "" {
		if rs, err = startRedisServer(""); err != nil {
			return FleetRow{}, err
		}
		defer rs.stop()
		addr = rs.addr
	}
	if f.KillStoreAt > 0 && rs == nil {
		return FleetRow{}, errors.New("-kill-store-at needs the loadtest's own redis-server (no -store-addr)")
	}
	var rc *redis.Client
	if addr != "" {
		rc = redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
		defer rc.Close()
		_ = rc.FlushAll(ctx).Err()
	}

	start := time.Now().Add(2 * time.Second)
	outs := make([][]byte, f.Procs)
	var wg sync.WaitGroup
	errs := make([]error, f.Procs)
	for i := range f.Procs {
		fc := fleetChild{Index: i, Workers: f.Workers, Prompt: f.Large, MaxTokens: f.MaxTokens, Endpoint: srv.URL,
			StoreAddr: addr, Start: start, Duration: f.Duration, Window: f.Window, Quota: f.Server, Seed: f.Seed*1000 + int64(i)}
		if i%2 == 1 {
			fc.Prompt = f.Small
		}
		fc.Batch = f.InteractiveLast && i < f.Procs-1
		b, _ := json.Marshal(fc)
		cmd := exec.CommandContext(ctx, f.Exe, "loadtest", "-fleet-child", string(b))
		cmd.Stderr = os.Stderr
		wg.Go(func() { outs[i], errs[i] = cmd.Output() })
	}
	var row FleetRow
	if f.KillStoreAt > 0 {
		wait := func(t time.Time) {
			select {
			case <-time.After(time.Until(t)):
			case <-ctx.Done():
			}
		}
		wait(start.Add(f.KillStoreAt))
		rs.stop()
		fmt.Fprintf(progress, "redis-server stopped at %v\n", f.KillStoreAt)
		wait(start.Add(f.KillStoreAt + f.StoreDown))
		if rs, err = startRedisServer(rs.addr); err != nil {
			return FleetRow{}, fmt.Errorf("restarting redis-server: %w", err)
		}
		defer rs.stop()
		fmt.Fprintf(progress, "redis-server restarted (empty) at %v\n", f.KillStoreAt+f.StoreDown)
		back := time.Now()
		pk := "bedrockguard:{" + "us-east-1/" + model + "}:p"
		for time.Since(back) < 3*f.Window {
			if n, err := rc.ZCard(ctx, pk).Result(); err == nil && int(n) >= f.Procs {
				row.Rejoin = time.Since(back)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wg.Wait()
	for i, e := range errs {
		if e != nil {
			return FleetRow{}, fmt.Errorf("process %d: %w", i, e)
		}
	}
	st := sim.Stats()
	k := st.Keys[model]
	row.Seed = f.Seed
	row.Throttles = k.ThrottledRequests + k.ThrottledTokens + k.ThrottledMidStream
	var goodTokens float64
	var cmds int64
	perWorker := map[string][]float64{}
	for i, out := range outs {
		var cr childResult
		if err := json.Unmarshal(out, &cr); err != nil {
			return FleetRow{}, fmt.Errorf("process %d output: %w", i, err)
		}
		p := FleetProc{Index: i, Class: "large", Commands: cr.Commands, StoreErrors: cr.StoreErrors, Outstanding: cr.Outstanding}
		if i%2 == 1 {
			p.Class = "small"
		}
		var lat []time.Duration
		for _, r := range cr.Results {
			p.Calls++
			if !r.OK {
				p.Failed++
				continue
			}
			p.OK++
			lat = append(lat, r.End.Sub(r.Start))
			if r.End.After(start.Add(SteadyAfter*f.Window)) && !r.End.After(start.Add(f.Duration)) {
				goodTokens += float64(r.Tokens)
			}
		}
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		if len(lat) > 0 {
			p.P50, p.P99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
		}
		perWorker[p.Class] = append(perWorker[p.Class], float64(p.OK)/float64(f.Workers))
		cmds += cr.Commands
		row.Calls += p.Calls
		row.OK += p.OK
		row.Failed += p.Failed
		row.Procs = append(row.Procs, p)
	}
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(max(len(v), 1))
	}
	if s := mean(perWorker["small"]); s > 0 {
		row.Fairness = mean(perWorker["large"]) / s
	}
	row.ThrottlesPer1000 = 1000 * float64(row.Throttles) / float64(max(row.Calls, 1))
	rate := float64(f.Server.TokensPerWindow) / f.Window.Seconds()
	row.GoodputPct = 100 * goodTokens / (rate * (f.Duration - SteadyAfter*f.Window).Seconds())
	if row.OK > 0 {
		row.CommandsPerCall = float64(cmds) / float64(row.OK)
	}
	if f.KillStoreAt > 0 {
		var charged int64
		from, to := start.Add(f.KillStoreAt), start.Add(f.KillStoreAt+f.StoreDown)
		for _, s := range st.Timeline {
			if !s.Time.Before(from.Truncate(time.Second)) && s.Time.Before(to) {
				charged += s.TokensCharged
			}
		}
		row.OutagePct = 100 * float64(charged) / (rate * f.StoreDown.Seconds())
	}
	return row, nil
}

// RunFleetChild is one process of a fleet run: arg is its JSON
// configuration; it writes its results as JSON to stdout.
func RunFleetChild(ctx context.Context, arg string, stdout io.Writer) error {
	var fc fleetChild
	if err := json.Unmarshal([]byte(arg), &fc); err != nil {
		return err
	}
	cfg := bedrocksim.Config(fc.Endpoint)
	model := DefaultModel
	opts := []bedrockguard.Option{
		bedrockguard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		bedrockguard.WithQuota(model, bedrockguard.Quota{Window: fc.Window,
			TokensPerWindow: fc.Quota.TokensPerWindow, RequestsPerWindow: fc.Quota.RequestsPerWindow}),
	}
	var commands, storeErrs atomic.Int64
	if fc.StoreAddr != "" {
		rc := redis.NewClient(&redis.Options{Addr: fc.StoreAddr, MaxRetries: -1, DialerRetries: 1,
			DialTimeout: 250 * time.Millisecond, ReadTimeout: 250 * time.Millisecond, WriteTimeout: 250 * time.Millisecond})
		defer rc.Close()
		rc.AddHook(countHook{&commands, &storeErrs})
		opts = append(opts, bedrockguard.WithStore(redisstore.New(rc)))
	}
	guard, err := bedrockguard.Install(&cfg, opts...)
	if err != nil {
		return err
	}
	prompts := makePrompts(Scenario{Seed: fc.Seed, Classes: []SizeClass{{Name: "p", Weight: 1, PromptTokens: fc.Prompt}}})[0]
	time.Sleep(time.Until(fc.Start))
	deadline := fc.Start.Add(fc.Duration)
	results := make([][]fleetResult, fc.Workers)
	var wg sync.WaitGroup
	for w := range fc.Workers {
		wg.Go(func() {
			client := bedrockruntime.NewFromConfig(cfg)
			rng := rand.New(rand.NewPCG(uint64(fc.Seed), uint64(w)))
			cctx := ctx
			if fc.Batch {
				cctx = bedrockguard.WithPriority(ctx, bedrockguard.Batch)
			}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				r := call(cctx, client, model, prompts[rng.IntN(len(prompts))], fc.MaxTokens[rng.IntN(len(fc.MaxTokens))], rng.Float64() < 0.25)
				results[w] = append(results[w], fleetResult{Start: r.start, End: r.end, OK: r.ok, Tokens: r.tokens, Err: r.err})
			}
		})
	}
	wg.Wait()
	var cr childResult
	for _, r := range results {
		cr.Results = append(cr.Results, r...)
	}
	cr.Commands = commands.Load()
	cr.StoreErrors = storeErrs.Load()
	cr.Outstanding = guard.Outstanding()
	return json.NewEncoder(stdout).Encode(cr)
}

// countHook counts the commands sent to Redis.
type countHook struct{ n, errs *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		err := next(ctx, cmd)
		if err != nil && !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "NOSCRIPT") {
			h.errs.Add(1)
		}
		return err
	}
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// redisProc is a redis-server started by the loadtest, without persistence.
type redisProc struct {
	addr string
	cmd  *exec.Cmd
}

func startRedisServer(addr string) (*redisProc, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH (apt-get install redis-server, or give -store-addr): %w", err)
	}
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr = l.Addr().String()
		l.Close()
	}
	_, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "bedrockguard-redis")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", dir, "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			w := bufio.NewWriter(c)
			w.WriteString("PING\r\n")
			w.Flush()
			c.Close()
			return &redisProc{addr: addr, cmd: cmd}, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, errors.New("redis-server did not start on " + addr + " (port " + strconv.Quote(port) + ")")
}

func (r *redisProc) stop() {
	if r == nil || r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
}
