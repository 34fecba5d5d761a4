package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bedrockguard/bedrockguard/cmd/bedrockguard/internal/load"
)

// runSpilloverLoad runs the open-loop spillover scenario for each seed:
// the guard with one route, then with a spillover route to a second
// inference profile with an equal quota, under demand at twice the first
// profile's quota.
func runSpilloverLoad(ctx context.Context, stdout, stderr io.Writer, window, duration time.Duration, seeds []int64, quiet bool, jsonOut string) error {
	var rows []load.SpillRow
	for _, seed := range seeds {
		sc := load.SpilloverScenario(window, duration, seed)
		if err := sc.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		for _, spill := range []bool{false, true} {
			var progress func(load.Progress)
			if !quiet {
				progress = func(p load.Progress) {
					fmt.Fprintf(stderr, "\r%-10s %-10s %5.0fs  calls %6d  ok %6d  failed %6d ",
						p.Scenario, p.Mode, p.Elapsed.Seconds(), p.Calls, p.OK, p.Failed)
				}
			}
			row, err := load.RunSpillover(ctx, sc, spill, progress)
			if !quiet {
				fmt.Fprintln(stderr)
			}
			if err != nil {
				return fmt.Errorf("spillover seed %d: %w", seed, err)
			}
			rows = append(rows, row)
		}
	}
	sc := load.SpilloverScenario(window, duration, 0)
	fmt.Fprintf(stdout, "spillover: window %v, %v of arrivals per run, seeds %v; %s and %s, %d tokens and %d requests per window each; demand twice one quota\n",
		window, duration, seeds, sc.Model, sc.Alternate, sc.Server.TokensPerWindow, sc.Server.RequestsPerWindow)
	if err := load.WriteSpillTable(stdout, rows); err != nil {
		return err
	}
	if jsonOut == "" {
		return nil
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	if jsonOut == "-" {
		_, err = stdout.Write(append(b, '\n'))
		return err
	}
	return os.WriteFile(jsonOut, append(b, '\n'), 0o644)
}
