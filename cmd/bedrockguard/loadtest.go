package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bedrockguard/bedrockguard/cmd/bedrockguard/internal/load"
)

func init() {
	register(command{
		name:    "loadtest",
		summary: "run a seeded workload through SDK retry modes and the guard; compare quota use",
		run:     runLoadtest,
	})
}

func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarios := fs.String("scenario", "mixed", "scenarios to run, comma-separated, or all: "+strings.Join(load.ScenarioNames(), ", ")+"; or spillover (open loop, on its own: one route vs. spillover to a second profile)")
	compare := fs.String("compare", "sdk-standard,sdk-adaptive,guard", "client configurations, comma-separated: "+strings.Join(load.Modes, ", "))
	window := fs.Duration("window", 6*time.Second, "quota window of the simulator and the guard")
	workers := fs.Int("workers", 32, "concurrent callers")
	duration := fs.Duration("duration", time.Minute, "length of each run")
	seed := fs.Int64("seed", 1, "workload and simulator seed")
	seedList := fs.String("seeds", "", "run every scenario with each of these seeds, comma-separated (overrides -seed), and print the spread")
	jsonOut := fs.String("json", "", "also write the rows as JSON to this file (- for stdout)")
	quiet := fs.Bool("q", false, "no live progress line")
	procs := fs.Int("procs", 0, "fleet mode: run this many OS processes sharing one quota (workers per process: -workers)")
	store := fs.String("store", "redis", "fleet mode: the shared store: redis, or none (each process alone with the whole quota)")
	storeAddr := fs.String("store-addr", "", "fleet mode: a running Redis (default: start a redis-server)")
	killStoreAt := fs.Duration("kill-store-at", 0, "fleet mode: stop the redis-server this long into the run")
	storeDown := fs.Duration("store-down", 15*time.Second, "fleet mode: how long the redis-server stays down")
	interactiveLast := fs.Bool("interactive-last", false, "fleet mode: the last process sends Interactive calls, the others Batch")
	tokenScale := fs.Float64("sim-token-scale", 0, "the simulator counts input tokens this many times its own rule (a tokenizer the guard does not know; 0 = 1)")
	simLatency := fs.String("sim-latency", "", "the simulator's latency as BASE,PER_OUTPUT_TOKEN (e.g. 600ms,1ms; default: each scenario's)")
	child := fs.String("fleet-child", "", "internal: run one process of a fleet run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // -h: the usage was printed; exit 0 like the other commands
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *child != "" {
		return load.RunFleetChild(ctx, *child, stdout)
	}
	if *procs > 0 {
		return runFleet(ctx, stdout, stderr, load.Fleet{Procs: *procs, Workers: *workers, Window: *window,
			Duration: *duration, Seed: *seed, Store: *store, StoreAddr: *storeAddr,
			KillStoreAt: *killStoreAt, StoreDown: *storeDown, InteractiveLast: *interactiveLast}, *jsonOut)
	}
	all := load.Scenarios(*window, *workers, *duration)
	var lat *load.Latency
	if *simLatency != "" {
		base, per, ok := strings.Cut(*simLatency, ",")
		b, err1 := time.ParseDuration(base)
		p, err2 := time.ParseDuration(per)
		if !ok || err1 != nil || err2 != nil || b < 0 || p < 0 {
			return fmt.Errorf("%w: -sim-latency %q: want BASE,PER_OUTPUT_TOKEN durations such as 600ms,1ms", errUsage, *simLatency)
		}
		lat = &load.Latency{Base: b, PerOutputToken: p}
	}
	if *tokenScale < 0 || math.IsNaN(*tokenScale) || math.IsInf(*tokenScale, 0) {
		return fmt.Errorf("%w: -sim-token-scale %v: want a positive number", errUsage, *tokenScale)
	}
	var names []string
	if *scenarios == "all" {
		names = load.ScenarioNames()
	} else {
		names = strings.Split(*scenarios, ",")
	}
	modes := strings.Split(*compare, ",")
	for _, m := range modes {
		if !contains(load.Modes, m) {
			return fmt.Errorf("%w: unknown configuration %q (want %s)", errUsage, m, strings.Join(load.Modes, ", "))
		}
	}
	seeds := []int64{*seed}
	if *seedList != "" {
		seeds = nil
		for _, f := range strings.Split(*seedList, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return fmt.Errorf("%w: -seeds: %v", errUsage, err)
			}
			seeds = append(seeds, v)
		}
	}
	if contains(names, "spillover") {
		if len(names) > 1 {
			return fmt.Errorf("%w: run -scenario spillover on its own", errUsage)
		}
		return runSpilloverLoad(ctx, stdout, stderr, *window, *duration, seeds, *quiet, *jsonOut)
	}
	var rows []load.Row
	for _, n := range names {
		for _, sd := range seeds {
			// The budget scenarios (tenants, daily) write reports of their own.
			if ok, err := load.RunBudgetScenario(ctx, n, load.BudgetRun{Window: *window, Duration: *duration, Seed: sd}, stdout); ok {
				if err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
				continue
			}
			sc, ok := all[n]
			if !ok {
				return fmt.Errorf("%w: unknown scenario %q (want %s)", errUsage, n, strings.Join(load.ScenarioNames(), ", "))
			}
			sc.Seed = sd
			sc.InputTokenScale = *tokenScale
			if lat != nil {
				sc.Latency = *lat
			}
			if err := sc.Validate(); err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			for _, m := range modes {
				var progress func(load.Progress)
				if !*quiet {
					progress = func(p load.Progress) {
						fmt.Fprintf(stderr, "\r%-10s %-13s %5.0fs  calls %6d  ok %6d  failed %6d ",
							p.Scenario, p.Mode, p.Elapsed.Seconds(), p.Calls, p.OK, p.Failed)
					}
				}
				row, err := load.Run(ctx, sc, m, progress)
				if !*quiet {
					fmt.Fprintln(stderr)
				}
				if err != nil {
					return fmt.Errorf("%s/%s: %w", n, m, err)
				}
				rows = append(rows, row)
			}
		}
	}
	if len(rows) == 0 {
		return nil // budget scenarios only
	}
	fmt.Fprintf(stdout, "window %v, %d workers, %v per run, seeds %v\n", *window, *workers, *duration, seeds)
	if err := load.WriteTable(stdout, rows); err != nil {
		return err
	}
	if len(seeds) > 1 {
		fmt.Fprintln(stdout)
		if err := load.WriteSpread(stdout, rows); err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		return writeJSON(stdout, *jsonOut, rows)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// runFleet runs the multi-process loadtest: half the processes send
// ~4,000-token prompts, half ~200-token ones, under the mixed scenario's
// quota.
func runFleet(ctx context.Context, stdout, stderr io.Writer, f load.Fleet, jsonOut string) error {
	if f.Store != "redis" && f.Store != "none" {
		return fmt.Errorf("%w: unknown store %q (want redis or none)", errUsage, f.Store)
	}
	if f.Store == "none" {
		f.StoreAddr, f.KillStoreAt = "", 0
	}
	sc := load.Scenarios(f.Window, f.Workers, f.Duration)["mixed"]
	f.Server, f.MaxTokens, f.Large, f.Small = sc.Server, []int{256, 512}, 4000, 200
	row, err := load.RunFleet(ctx, f, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d processes x %d workers, store %s, window %v, %v, seed %d", f.Procs, f.Workers, f.Store, f.Window, f.Duration, f.Seed)
	if f.KillStoreAt > 0 {
		fmt.Fprintf(stdout, ", redis-server down from %v for %v", f.KillStoreAt, f.StoreDown)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "| process | prompts | calls | ok | failed | p50 | p99 | Redis commands | store errors |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|")
	for _, p := range row.Procs {
		fmt.Fprintf(stdout, "| %d | %s | %d | %d | %d | %s | %s | %d | %d |\n", p.Index, p.Class, p.Calls, p.OK, p.Failed,
			load.FormatLatency(p.P50), load.FormatLatency(p.P99), p.Commands, p.StoreErrors)
	}
	fmt.Fprintf(stdout, "calls %d, failed %d, throttles %d (%.1f / 1000 calls), goodput %.1f %% of TPM, large/small worker completions %.2f, Redis commands per completed call %.2f\n",
		row.Calls, row.Failed, row.Throttles, row.ThrottlesPer1000, row.GoodputPct, row.Fairness, row.CommandsPerCall)
	if f.KillStoreAt > 0 {
		fmt.Fprintf(stdout, "tokens charged during the outage: %.1f %% of the quota; every process back on Redis %v after the restart\n",
			row.OutagePct, row.Rejoin.Round(time.Millisecond))
	}
	if jsonOut != "" {
		b, err := json.MarshalIndent(row, "", "  ")
		if err != nil {
			return err
		}
		if jsonOut == "-" {
			_, err = stdout.Write(append(b, '\n'))
			return err
		}
		return os.WriteFile(jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}
