package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/load"
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
	scenarios := fs.String("scenario", "mixed", "scenarios to run, comma-separated, or all: "+strings.Join(load.ScenarioNames(), ", "))
	compare := fs.String("compare", "sdk-standard,sdk-adaptive,guard", "client configurations, comma-separated: "+strings.Join(load.Modes, ", "))
	window := fs.Duration("window", 6*time.Second, "quota window of the simulator and the guard")
	workers := fs.Int("workers", 32, "concurrent callers")
	duration := fs.Duration("duration", time.Minute, "length of each run")
	seed := fs.Int64("seed", 1, "workload and simulator seed")
	jsonOut := fs.String("json", "", "also write the rows as JSON to this file (- for stdout)")
	quiet := fs.Bool("q", false, "no live progress line")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	all := load.Scenarios(*window, *workers, *duration)
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
	var rows []load.Row
	for _, n := range names {
		sc, ok := all[n]
		if !ok {
			return fmt.Errorf("%w: unknown scenario %q (want %s)", errUsage, n, strings.Join(load.ScenarioNames(), ", "))
		}
		sc.Seed = *seed
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
	fmt.Fprintf(stdout, "window %v, %d workers, %v per run, seed %d\n", *window, *workers, *duration, *seed)
	if err := load.WriteTable(stdout, rows); err != nil {
		return err
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
