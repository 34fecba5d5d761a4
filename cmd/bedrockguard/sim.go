package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
)

func init() {
	register(command{name: "sim", summary: "run the local Bedrock Runtime simulator", run: runSim})
}

// runSim serves the simulator until ctx ends (SIGINT/SIGTERM from main).
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr       = fs.String("addr", "127.0.0.1:8787", "listen address (port 0 picks a free one)")
		rpm        = fs.Int64("rpm", 0, "requests per window for every model key (0 = unlimited)")
		tpm        = fs.Int64("tpm", 0, "tokens per window for every model key (0 = unlimited)")
		tpd        = fs.Int64("tpd", 0, "tokens per day (1440 windows) for every model key (0 = unlimited)")
		window     = fs.Duration("window", time.Minute, "quota window")
		seed       = fs.Int64("seed", 0, "seed for output lengths and fault selection")
		latBase    = fs.Duration("latency", 0, "simulated time to first token")
		latTok     = fs.Duration("latency-per-token", 0, "simulated time per output token")
		outFrac    = fs.Float64("output-fraction", 0, "make outputs this fraction of max tokens (0 = seeded draw)")
		shortMsg   = fs.Bool("short-requests-message", false, "use the short request-rate throttle message")
		rate503    = fs.Float64("fault-503-rate", 0, "fraction of calls answered 503 ServiceUnavailableException")
		notReady   = fs.Duration("fault-not-ready", 0, "answer ModelNotReadyException for this long after start")
		streamRate = fs.Float64("fault-stream-throttle-rate", 0, "fraction of streams cut by a throttlingException frame")
		streamAt   = fs.Int("fault-stream-throttle-after", 0, "events sent before the stream throttle (0 = first frame)")
		dropFrac   = fs.Float64("fault-quota-drop", 0, "drop every quota to this fraction (another tenant arrives)")
		dropAt     = fs.Duration("fault-quota-drop-at", 0, "when the quota drop happens, after start")
		slowRate   = fs.Float64("fault-slow-headers-rate", 0, "fraction of calls whose headers are delayed")
		slowDelay  = fs.Duration("fault-slow-headers", time.Second, "delay of slow headers")
		resetRate  = fs.Float64("fault-reset-rate", 0, "fraction of calls whose connection is reset")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *window <= 0 {
		return fmt.Errorf("%w: -window must be positive", errUsage)
	}
	for name, v := range map[string]float64{"-fault-503-rate": *rate503, "-fault-stream-throttle-rate": *streamRate,
		"-fault-quota-drop": *dropFrac, "-fault-slow-headers-rate": *slowRate, "-fault-reset-rate": *resetRate} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%w: %s must be in [0, 1]", errUsage, name)
		}
	}
	now := time.Now()
	opts := []bedrocksim.Option{
		bedrocksim.WithWindow(*window),
		bedrocksim.WithDefaultQuota(bedrocksim.Quota{RequestsPerWindow: *rpm, TokensPerWindow: *tpm, TokensPerDay: *tpd}),
		simtest.Seed(*seed),
		bedrocksim.WithLatency(*latBase, *latTok),
		bedrocksim.WithOutputFraction(*outFrac),
		bedrocksim.WithFaults(bedrocksim.Faults{
			ServiceUnavailable:  bedrocksim.Trigger{Rate: *rate503},
			ModelNotReady:       bedrocksim.Trigger{Until: now.Add(*notReady)},
			StreamThrottle:      bedrocksim.Trigger{Rate: *streamRate},
			StreamThrottleAfter: *streamAt,
			QuotaDropFraction:   *dropFrac,
			QuotaDropAt:         now.Add(*dropAt),
			SlowHeaders:         bedrocksim.Trigger{Rate: *slowRate},
			SlowHeadersDelay:    *slowDelay,
			Reset:               bedrocksim.Trigger{Rate: *resetRate},
		}),
	}
	if *shortMsg {
		opts = append(opts, simtest.ShortRequestsMessage())
	}
	sim, err := bedrocksim.New(opts...)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	url, err := sim.Start(*addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `bedrocksim listening on %s
quotas per model key: rpm=%d tpm=%d tpd=%d window=%s (0 = unlimited)
stats: GET %s/_sim/stats

Point a client at it:
  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=%s
  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=sim AWS_SECRET_ACCESS_KEY=sim
or in Go:
  client := bedrockruntime.NewFromConfig(bedrocksim.Config(%q))

Press Ctrl-C to stop.
`, url, *rpm, *tpm, *tpd, *window, url, url, url)
	<-ctx.Done()
	sim.Close()
	st := sim.Stats()
	fmt.Fprintf(stdout, "bedrocksim stopped after %d requests\n", st.Requests)
	return nil
}
