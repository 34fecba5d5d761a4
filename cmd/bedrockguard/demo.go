package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"go.opentelemetry.io/otel/attribute"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/cmd/bedrockguard/internal/load"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

func init() {
	register(command{
		name:    "demo",
		summary: "the same bursty workload through a plain and a guarded client, side by side",
		run:     runDemo,
	})
}

// demoPhases are the demo's client configurations, in order; each is
// also the value of the bedrockguard.mode attribute of its telemetry. The
// last, spillover, is the guarded client with a spillover route to a
// second inference profile of the model that has a quota of its own (not
// run with -aws).
var demoPhases = []string{"unguarded", "guarded", load.ModeSpillover}

// ModeKey labels each phase's metrics and spans (Prometheus label
// bedrockguard_mode).
const modeKey = attribute.Key("bedrockguard.mode")

// awsMaxCalls bounds each phase of the -aws run, to keep it cheap.
const awsMaxCalls = 30

type demoFlags struct {
	window, duration, hold time.Duration
	workers                int
	seed                   int64
	quiet, useAWS          bool
	metricsAddr, jsonOut   string
	model, region          string
}

func parseDemoFlags(args []string, stderr io.Writer) (demoFlags, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f demoFlags
	fs.DurationVar(&f.window, "window", 6*time.Second, "quota window of the simulator and the guard")
	fs.IntVar(&f.workers, "workers", 16, "concurrent callers")
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "length of each phase")
	fs.Int64Var(&f.seed, "seed", 1, "workload and simulator seed")
	fs.BoolVar(&f.quiet, "q", false, "no live progress line")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. :9464)")
	fs.DurationVar(&f.hold, "hold", 0, "keep serving telemetry this long after the run (Ctrl-C ends it early)")
	fs.BoolVar(&f.useAWS, "aws", false, "run a small, cheap workload against real Amazon Bedrock (default credential chain)")
	fs.StringVar(&f.model, "model", "", "with -aws: the model ID or inference profile ID to call")
	fs.StringVar(&f.region, "region", "", "with -aws: the AWS region (default from the environment or shared config)")
	fs.StringVar(&f.jsonOut, "json", "", "also write the rows as JSON to this file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case f.window < time.Second:
		return f, fmt.Errorf("%w: -window must be at least 1s", errUsage)
	case f.workers < 1:
		return f, fmt.Errorf("%w: -workers must be at least 1", errUsage)
	case f.duration <= f.window && !f.useAWS:
		return f, fmt.Errorf("%w: -duration (%v) must exceed -window (%v)", errUsage, f.duration, f.window)
	case f.hold < 0:
		return f, fmt.Errorf("%w: -hold must not be negative", errUsage)
	case !f.useAWS && (f.model != "" || f.region != ""):
		return f, fmt.Errorf("%w: -model and -region apply only with -aws", errUsage)
	case f.useAWS && f.model == "":
		return f, fmt.Errorf("%w: -aws needs -model (a model ID or inference profile ID your account can call)", errUsage)
	}
	return f, nil
}

// runDemo runs the demo: see the package README's Quickstart.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	sc := load.Scenarios(f.window, f.workers, f.duration)["demo"]
	sc.Seed = f.seed
	var awsCfg *aws.Config
	if f.useAWS {
		cfg, err := loadAWSConfig(ctx, f.region)
		if err != nil {
			return err
		}
		awsCfg = &cfg
		sc = awsScenario(sc, f)
	}
	if err := sc.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}

	tel, err := setupTelemetry(ctx, f.metricsAddr)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		tel.shutdown(sctx)
	}()

	target := fmt.Sprintf("in-process bedrocksim, quota %d tokens and %d requests per %v window for %s, 503 for the first 2 calls and %.0f%% of the rest",
		sc.Server.TokensPerWindow, sc.Server.RequestsPerWindow, sc.Window, sc.Model, 100*sc.UnavailableRate)
	if f.useAWS {
		target = fmt.Sprintf("Amazon Bedrock in %s, model %s, at most %d calls per phase", awsCfg.Region, sc.Model, sc.MaxCalls)
	}
	fmt.Fprintf(stdout, "bedrockguard demo: %s\n", target)
	fmt.Fprintf(stdout, "workload: %d workers, %v per phase, seed %d, %.0f%% streams\n", sc.Workers, sc.Duration, sc.Seed, 100*sc.StreamShare)
	if len(tel.where) == 0 {
		fmt.Fprintln(stdout, "telemetry: off (set OTEL_EXPORTER_OTLP_ENDPOINT, or pass -metrics-addr :9464)")
	}
	for _, w := range tel.where {
		fmt.Fprintf(stdout, "telemetry: %s  (label bedrockguard.mode)\n", w)
	}

	var rows []load.Row
	for _, phase := range demoPhases {
		if phase == load.ModeSpillover && f.useAWS {
			continue // the account may not have a second profile
		}
		bopts := []otelbridge.Option{otelbridge.WithTracerProvider(tel.tp), otelbridge.WithMeterProvider(tel.mp),
			otelbridge.WithAttributes(modeKey.String(phase))}
		if !f.useAWS {
			bopts = append(bopts, otelbridge.WithPrices(demoPrices))
		}
		bridge, err := otelbridge.New(bopts...)
		if err != nil {
			return err
		}
		ro := load.RunOptions{Observer: bridge.Observer(), Config: awsCfg}
		if !f.quiet {
			ro.Progress = func(p load.Progress) {
				fmt.Fprintf(stderr, "\r%-9s %4.0fs  calls %5d  ok %5d  failed %5d  throttles %5d ",
					phase, p.Elapsed.Seconds(), p.Calls, p.OK, p.Failed, p.Throttles)
			}
		}
		row, err := load.RunWith(ctx, sc, phase, ro)
		if !f.quiet {
			fmt.Fprintln(stderr)
		}
		if err != nil {
			return fmt.Errorf("%s phase: %w", phase, err)
		}
		rows = append(rows, row)
	}

	fmt.Fprintln(stdout)
	if err := writeDemoTable(stdout, sc, rows, f.useAWS); err != nil {
		return err
	}
	if f.jsonOut != "" {
		if err := writeJSON(stdout, f.jsonOut, rows); err != nil {
			return err
		}
	}
	if err := tel.flush(ctx); err != nil {
		fmt.Fprintf(stderr, "bedrockguard demo: flushing telemetry: %v\n", err)
	}
	if f.hold > 0 {
		fmt.Fprintf(stdout, "holding for %v so telemetry can be scraped (Ctrl-C to stop)\n", f.hold)
		t := time.NewTimer(f.hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return nil
}

// demoPrices are the prices the demo's bridges count the simulator's cost
// with (aws_bedrock_cost_usd_total): made-up round numbers, not Amazon
// Bedrock's prices, which the bridge never ships (see otelbridge.WithPrices).
// Runs with -aws count no cost.
var demoPrices = map[string]otelbridge.Price{load.DefaultModel: {InputPer1K: 0.001, OutputPer1K: 0.005}}

// awsScenario turns the demo scenario into a small, cheap one for real
// Bedrock: short prompts, small outputs, a few workers and a call cap. The
// guard is not told a quota: it paces from throttles alone.
func awsScenario(sc load.Scenario, f demoFlags) load.Scenario {
	sc.Name = "aws"
	sc.Model = f.model
	sc.Server = bedrocksim.Quota{}
	sc.Told = false
	sc.Window = time.Minute
	sc.Workers = min(f.workers, 4)
	sc.Duration = max(f.duration, sc.Window+time.Second)
	sc.MaxCalls = awsMaxCalls
	sc.Classes = []load.SizeClass{{Name: "small", Weight: 0.8, PromptTokens: 50}, {Name: "medium", Weight: 0.2, PromptTokens: 400}}
	sc.MaxTokens = []int{32, 64}
	return sc
}

// loadAWSConfig loads the default configuration and makes sure the
// credential chain yields credentials before any call is made.
func loadAWSConfig(ctx context.Context, region string) (cfg aws.Config, err error) {
	// The SDK's log lines wait until the credentials are known to work: a
	// missing credential chain is reported by the error below, not after
	// the IMDS client's "falling back to IMDSv1" warning.
	sdkLog := &heldLogger{}
	defer func() { sdkLog.release(err == nil) }()
	opts := []func(*config.LoadOptions) error{config.WithLogger(sdkLog)}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err = config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return cfg, fmt.Errorf("%w: no AWS region: pass -region or set AWS_REGION", errUsage)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if cfg.Credentials == nil {
		return cfg, errors.New("no AWS credentials: the default credential chain is empty")
	}
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return cfg, fmt.Errorf("no AWS credentials from the default chain (environment, shared config and credentials files, SSO, container or instance metadata); set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: %w", err)
	}
	return cfg, nil
}

// writeDemoTable writes the side-by-side comparison of the phases.
func writeDemoTable(w io.Writer, sc load.Scenario, rows []load.Row, real bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	by := "server"
	if real {
		by = "client"
	}
	fmt.Fprintf(tw, "phase\tcalls\tok\tfailed to app\tthrottled (%s): requests\ttokens\tmid-stream\tgoodput/TPM %%\tp50\tp99\t\n", by)
	for _, r := range rows {
		goodput := "-"
		if sc.Server.TokensPerWindow > 0 {
			goodput = fmt.Sprintf("%.1f", r.GoodputPct)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", r.Mode, r.Calls, r.OK, r.Failed,
			r.Throttles["requests"], r.Throttles["tokens"]+r.Throttles["tokens_per_day"], r.Throttles["mid_stream"],
			goodput, load.FormatLatency(r.P50), load.FormatLatency(r.P99))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Failed == 0 {
			continue
		}
		var parts []string
		for k, v := range r.FailedBy {
			parts = append(parts, fmt.Sprintf("%s %d", k, v))
		}
		sort.Strings(parts)
		fmt.Fprintf(w, "%s failures by error: %s\n", r.Mode, strings.Join(parts, ", "))
	}
	for _, r := range rows {
		if r.Mode == load.ModeSpillover {
			fmt.Fprintf(w, "spillover: the guarded client with a route to %s, which has a quota of its own equal to %s's;\n"+
				"  its goodput counts both profiles against one quota.\n", load.AlternateOf(sc.Model), sc.Model)
		}
	}
	fmt.Fprintln(w, "failed to app: calls that returned an error to the application after the client's own retries;")
	fmt.Fprintln(w, "  p50/p99: latency of successful calls, pacing waits included.")
	if sc.Server.TokensPerWindow > 0 {
		fmt.Fprintf(w, "goodput/TPM: tokens/s of successful calls after the first window, as a share of the quota's refill (%d tokens per %v);\n"+
			"  short runs can exceed 100 because the bucket starts full.\n",
			sc.Server.TokensPerWindow, sc.Window)
	}
	return nil
}

// writeJSON writes rows as JSON to path, or to stdout for "-".
func writeJSON(stdout io.Writer, path string, rows []load.Row) error {
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
