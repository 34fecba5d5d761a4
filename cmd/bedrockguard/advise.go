package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/bedrockguard/bedrockguard/quotas"
)

func init() {
	register(command{
		name:    "advise",
		summary: "read a guard's metrics and recommend max_tokens, quota increases and daily headroom",
		run:     runAdvise,
	})
}

type adviseFlags struct {
	metrics, prometheus string
	window              time.Duration
	margin              float64
	match               matcher
	codes               bool
	endpoint            string
	timeout             time.Duration
}

func parseAdviseFlags(args []string, stderr io.Writer) (adviseFlags, error) {
	var f adviseFlags
	var match string
	fs := flag.NewFlagSet("advise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bedrockguard advise (-metrics URL | -prometheus URL) [-window D] [-match label=value,...] [-margin F] [-quota-codes=false] [-quotas-endpoint URL]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Reads the otelbridge metrics of a running guard and prints, per model and Region: the max_tokens")
		fmt.Fprintln(stderr, "the observed output supports and the tokens-per-minute it would free, the quota the observed demand")
		fmt.Fprintln(stderr, "needs (with the Service Quotas code and the aws command to request it), and the tokens-per-day headroom.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.metrics, "metrics", "", "a guard's Prometheus endpoint, e.g. http://127.0.0.1:9464/metrics (scraped twice, -window apart)")
	fs.StringVar(&f.prometheus, "prometheus", "", "a Prometheus server, e.g. http://127.0.0.1:9090 (increase over -window)")
	fs.DurationVar(&f.window, "window", 0, "the period to measure rates over (default 30s with -metrics, 1h with -prometheus)")
	fs.Float64Var(&f.margin, "margin", 0.2, "headroom added to the observed p99 output and demand (0.2 = 20%)")
	fs.StringVar(&match, "match", "", `only series with these labels, e.g. job=api or bedrockguard_mode=guarded`)
	fs.BoolVar(&f.codes, "quota-codes", true, "look the quota codes up in Service Quotas (default credential chain, servicequotas:ListServiceQuotas)")
	fs.StringVar(&f.endpoint, "quotas-endpoint", "", "Service Quotas endpoint URL (a fake: see bedrockguard quotas -serve)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up after this long, the -window wait included")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, fmt.Errorf("%w: %v", errUsage, err)
	}
	var err error
	if f.match, err = parseMatch(match); err != nil {
		return f, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case (f.metrics == "") == (f.prometheus == ""):
		return f, fmt.Errorf("%w: %v", errUsage, errNoSource)
	case f.window < 0:
		return f, fmt.Errorf("%w: -window must not be negative", errUsage)
	case f.margin < 0 || f.margin > 10 || math.IsNaN(f.margin):
		return f, fmt.Errorf("%w: -margin must be in [0, 10]", errUsage)
	}
	for flagName, v := range map[string]string{"-metrics": f.metrics, "-prometheus": f.prometheus, "-quotas-endpoint": f.endpoint} {
		if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			return f, fmt.Errorf("%w: %s %q is not an http(s) URL", errUsage, flagName, v)
		}
	}
	if f.window == 0 {
		f.window = time.Hour
		if f.metrics != "" {
			f.window = 30 * time.Second
		}
	}
	if f.metrics != "" && f.window >= f.timeout {
		return f, fmt.Errorf("%w: -window (%v) must be shorter than -timeout (%v)", errUsage, f.window, f.timeout)
	}
	return f, nil
}

func runAdvise(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseAdviseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}
	var r readings
	if f.metrics != "" {
		r, err = fromEndpoint(ctx, client, f.metrics, f.window, f.match)
	} else {
		r, err = fromPrometheus(ctx, client, f.prometheus, f.window, f.match)
	}
	if err != nil {
		return err
	}
	advice := analyze(r, f.margin)
	if len(advice) == 0 {
		return fmt.Errorf("no bedrockguard operations in %s (is the guard's otelbridge on that endpoint, and did it serve calls in the window?)", r.source)
	}
	codes := map[string]*quotas.Catalog{}
	var codesErr error
	if f.codes {
		for _, a := range advice {
			if _, done := codes[a.Region]; done || a.Region == "" {
				continue
			}
			cat, err := discoverQuotas(ctx, a.Region, f.endpoint)
			if err != nil {
				codesErr = err
			}
			codes[a.Region] = cat
		}
	}
	for i := range advice {
		advice[i].attachQuotas(codes[advice[i].Region])
	}
	writeAdvice(stdout, r, f.margin, advice)
	if codesErr != nil {
		fmt.Fprintf(stdout, "\nquota codes: not looked up (%v); `bedrockguard quotas -region REGION -model MODEL` lists them\n", codesErr)
	}
	return nil
}

// discoverQuotas lists the Region's Bedrock quotas with the default
// credential chain.
func discoverQuotas(ctx context.Context, region, endpoint string) (*quotas.Catalog, error) {
	cfg, err := loadAWSConfig(ctx, region)
	if err != nil {
		return nil, err
	}
	client := servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return quotas.Discover(ctx, client, quotas.WithRegion(region))
}

// modelKey is one model in one Region.
type modelKey struct{ model, region string }

// advice is what advise found for one model in one Region.
type advice struct {
	Model, Region string
	Minutes       float64 // the window

	Operations, Attempts float64 // in the window

	// max_tokens
	MaxTokensMean float64 // mean max_tokens asked for; 0 when unknown
	OutputP99     float64 // interpolated p99 of output tokens
	OutputBound   float64 // upper bound of the p99's bucket
	RecMaxTokens  float64 // recommended max_tokens; 0 when none fits
	Burndown      float64
	FreedTPM      float64

	// quota
	QuotaTPM    float64
	QuotaSource string // configured, discovered, or learned (the adaptive rate)
	SettledTPM  float64
	WaitShare   float64 // of operation time spent waiting for pacing
	RejectedPM  float64 // pacing refusals per minute (deadline, too large)
	DemandTPM   float64
	NeededTPM   float64 // with the margin, rounded up; 0 when the quota fits
	Capped      bool    // NeededTPM is maxStep x the quota, below the demand
	QuotaCode   string
	QuotaName   string

	// tokens per day
	TokensPerDay   float64
	TPDFromCatalog bool
	// The guard's own count, when it paces a TokensPerDay quota
	// (aws_bedrock_tokens_per_day_remaining and _exhaustion_seconds).
	DayCounted   bool
	DayRemaining float64
	DayEmptyIn   time.Duration // 0: the remainder is not falling

	CostPerHour float64
	HasCost     bool
}

// analyze turns readings into advice per model and Region, sorted.
func analyze(r readings, margin float64) []advice {
	minutes := r.window.Minutes()
	if minutes <= 0 {
		return nil
	}
	type acc struct {
		ops, durSum, attempts, attemptsN, maxSum, maxN, waitSum float64
		inSum, outSum, reserved, settled, rejected, cost        float64
		hasCost                                                 bool
		quota, rate                                             float64
		dayRemaining, dayEmptyIn                                float64
		hasDay, hasDayEmpty                                     bool
		source                                                  string
		out                                                     map[float64]float64 // le -> cumulative count
	}
	by := map[modelKey]*acc{}
	get := func(l map[string]string) *acc {
		k := modelKey{l["gen_ai_request_model"], l["cloud_region"]}
		a := by[k]
		if a == nil {
			a = &acc{out: map[float64]float64{}}
			by[k] = a
		}
		return a
	}
	for _, s := range r.series {
		if s.labels["gen_ai_request_model"] == "" {
			continue
		}
		a := get(s.labels)
		v := s.value
		switch s.name {
		case "gen_ai_client_operation_duration_seconds_count":
			a.ops += v
		case "gen_ai_client_operation_duration_seconds_sum":
			a.durSum += v
		case "aws_bedrock_attempts_sum":
			a.attempts += v
		case "aws_bedrock_attempts_count":
			a.attemptsN += v
		case "aws_bedrock_request_max_tokens_sum":
			a.maxSum += v
		case "aws_bedrock_request_max_tokens_count":
			a.maxN += v
		case "aws_bedrock_pacing_wait_seconds_sum":
			a.waitSum += v
		case "gen_ai_client_token_usage_sum":
			switch s.labels["gen_ai_token_type"] {
			case "input":
				a.inSum += v
			case "output":
				a.outSum += v
			}
		case "gen_ai_client_token_usage_bucket":
			if s.labels["gen_ai_token_type"] == "output" {
				le, err := strconv.ParseFloat(s.labels["le"], 64)
				if err == nil {
					a.out[le] += v
				}
			}
		case "aws_bedrock_tokens_reserved_total":
			a.reserved += v
		case "aws_bedrock_tokens_settled_total":
			a.settled += v
		case "aws_bedrock_pacing_rejected_total":
			if r := s.labels["aws_bedrock_pacing_reason"]; r != "canceled" && r != "budget" {
				a.rejected += v
			}
		case "aws_bedrock_cost_usd_total":
			a.cost += v
			a.hasCost = true
		case "aws_bedrock_pacing_quota_per_min":
			if s.labels["aws_bedrock_pacing_limit"] == "tokens" && v > a.quota {
				a.quota, a.source = v, s.labels["aws_bedrock_quota_source"]
			}
		case "aws_bedrock_tokens_per_day_remaining":
			if !a.hasDay || v < a.dayRemaining {
				a.dayRemaining, a.hasDay = v, true
			}
		case "aws_bedrock_tokens_per_day_exhaustion_seconds":
			if !a.hasDayEmpty || v < a.dayEmptyIn {
				a.dayEmptyIn, a.hasDayEmpty = v, true
			}
		case "aws_bedrock_pacing_rate_per_min":
			if s.labels["aws_bedrock_pacing_limit"] == "tokens" {
				a.rate = max(a.rate, v)
			}
		}
	}
	var out []advice
	for k, a := range by {
		if a.ops <= 0 {
			continue
		}
		ad := advice{Model: k.model, Region: k.region, Minutes: minutes, Operations: a.ops, Attempts: a.ops}
		if a.attemptsN > 0 {
			ad.Attempts = a.attempts * a.ops / a.attemptsN
		}
		if a.maxN > 0 {
			ad.MaxTokensMean = a.maxSum / a.maxN
		}
		ad.OutputP99, ad.OutputBound, ad.RecMaxTokens = recommendMaxTokens(a.out, margin)
		ad.Burndown = 1
		if a.outSum > 0 && a.settled > a.inSum {
			ad.Burndown = max(1, math.Round((a.settled-a.inSum)/a.outSum))
		}
		if ad.RecMaxTokens > 0 && ad.MaxTokensMean > ad.RecMaxTokens {
			ad.FreedTPM = ad.Attempts / minutes * (ad.MaxTokensMean - ad.RecMaxTokens) * ad.Burndown
		}

		ad.SettledTPM = a.settled / minutes
		ad.QuotaTPM, ad.QuotaSource = a.quota, a.source
		if ad.QuotaTPM == 0 && a.rate > 0 {
			ad.QuotaTPM, ad.QuotaSource = a.rate, "learned"
		}
		if a.durSum > 0 {
			ad.WaitShare = min(a.waitSum/a.durSum, 0.95)
		}
		ad.RejectedPM = a.rejected / minutes
		settledPerOp := a.settled / a.ops
		// What callers would have used had pacing not held them: each
		// operation spent WaitShare of its time waiting.
		ad.DemandTPM = ad.SettledTPM/(1-ad.WaitShare) + ad.RejectedPM*settledPerOp
		if ad.QuotaTPM > 0 && ad.DemandTPM*(1+margin) > ad.QuotaTPM && (ad.WaitShare > 0.05 || ad.RejectedPM > 0) {
			ad.NeededTPM = roundUpNice(min(ad.DemandTPM*(1+margin), maxStep*ad.QuotaTPM))
			ad.Capped = ad.DemandTPM*(1+margin) > maxStep*ad.QuotaTPM
		}
		ad.DayCounted, ad.DayRemaining = a.hasDay, a.dayRemaining
		if a.hasDayEmpty {
			ad.DayEmptyIn = time.Duration(a.dayEmptyIn * float64(time.Second))
		}
		if a.hasCost {
			ad.HasCost, ad.CostPerHour = true, a.cost/minutes*60
		}
		out = append(out, ad)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Model != out[j].Model {
			return out[i].Model < out[j].Model
		}
		return out[i].Region < out[j].Region
	})
	return out
}

// recommendMaxTokens returns the p99 of the output tokens (interpolated
// in its bucket, as Prometheus' histogram_quantile does), the upper bound
// of that bucket, and the recommended max_tokens: p99 x (1 + margin)
// rounded up to a multiple of 64, and never under the p99's bucket bound,
// so that no output at or under the p99 would have been cut (the
// interpolation can underestimate within a bucket). 0 when the histogram
// is empty or the p99 is past its last finite bound.
func recommendMaxTokens(cum map[float64]float64, margin float64) (p99, bound, rec float64) {
	les := make([]float64, 0, len(cum))
	for le := range cum {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 {
		return 0, 0, 0
	}
	total := cum[les[len(les)-1]]
	if total <= 0 {
		return 0, 0, 0
	}
	rank := 0.99 * total
	prevLe, prevCum := 0.0, 0.0
	for _, le := range les {
		c := cum[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return prevLe, math.Inf(1), 0
			}
			p99 = prevLe
			if c > prevCum {
				p99 += (le - prevLe) * (rank - prevCum) / (c - prevCum)
			}
			bound = le
			break
		}
		prevLe, prevCum = le, c
	}
	return p99, bound, max(bound, math.Ceil(p99*(1+margin)/maxTokensStep)*maxTokensStep)
}

// maxTokensStep is what a recommended max_tokens is rounded up to.
const maxTokensStep = 64

// maxStep bounds one increase request: at most this many times the
// current quota. A demand measured under heavy pacing is an estimate (see
// analyze), and a pool of callers that never waited would ask for more
// still; ask in steps and measure again once granted.
const maxStep = 2

// roundUpNice rounds v up to two significant digits (123,456 -> 130,000).
func roundUpNice(v float64) float64 {
	if v <= 0 {
		return 0
	}
	step := math.Pow(10, math.Floor(math.Log10(v))-1)
	return math.Ceil(v/step-1e-9) * step
}

// attachQuotas fills the quota code and name of the tokens-per-minute
// quota of a's model ID, and its tokens-per-day quota, from cat (nil: not
// looked up).
func (a *advice) attachQuotas(cat *quotas.Catalog) {
	if cat == nil {
		return
	}
	for _, e := range cat.For(a.Model) {
		if e.Context != "" || !slices.Contains(e.IDs, a.Model) {
			continue
		}
		switch e.Kind {
		case "tokens-per-minute":
			if a.QuotaCode == "" {
				a.QuotaCode, a.QuotaName = e.QuotaCode, e.QuotaName
			}
		case "tokens-per-day":
			if !a.TPDFromCatalog {
				a.TokensPerDay, a.TPDFromCatalog = e.Value, true
			}
		}
	}
}

func writeAdvice(w io.Writer, r readings, margin float64, all []advice) {
	fmt.Fprintf(w, "bedrockguard advise: %s\n", r.source)
	for _, a := range all {
		fmt.Fprintf(w, "\n%s in %s: %s operations in %s, %.2f attempts each\n", a.Model, a.Region,
			thousands(a.Operations), fmtMinutes(a.Minutes), a.Attempts/a.Operations)

		switch {
		case a.MaxTokensMean == 0 || a.OutputBound == 0:
			fmt.Fprintln(w, "  max_tokens: no max_tokens or output histogram in the window")
		case a.RecMaxTokens == 0:
			fmt.Fprintf(w, "  max_tokens: keep; p99 output is past the histogram's last bucket (max_tokens %s on average)\n", thousands(a.MaxTokensMean))
		case a.RecMaxTokens >= a.MaxTokensMean:
			fmt.Fprintf(w, "  max_tokens: keep it (%s on average); p99 output %s tokens (bucket up to %s) needs it\n",
				thousands(a.MaxTokensMean), thousands(a.OutputP99), thousands(a.OutputBound))
		default:
			fmt.Fprintf(w, "  max_tokens: %s on average, p99 output %s tokens (bucket up to %s): set max_tokens %s (p99 +%.0f%%, at least the bucket's bound)\n",
				thousands(a.MaxTokensMean), thousands(a.OutputP99), thousands(a.OutputBound), thousands(a.RecMaxTokens), 100*margin)
			fmt.Fprintf(w, "              Bedrock reserves max_tokens x burndown (%.0f) up front: frees %s tokens/min of quota at this call rate\n",
				a.Burndown, thousands(a.FreedTPM))
		}

		quota := "unknown (not paced)"
		if a.QuotaTPM > 0 {
			quota = fmt.Sprintf("%s tokens/min (%s)", thousands(a.QuotaTPM), a.QuotaSource)
		}
		fmt.Fprintf(w, "  quota:      %s; settled %s tokens/min, %.0f%% of operation time waiting for pacing",
			quota, thousands(a.SettledTPM), 100*a.WaitShare)
		if a.RejectedPM > 0 {
			fmt.Fprintf(w, ", %s refused/min", thousands(a.RejectedPM))
		}
		fmt.Fprintf(w, ": demand about %s tokens/min\n", thousands(a.DemandTPM))
		switch {
		case a.NeededTPM > 0:
			code := a.QuotaCode
			if code == "" {
				code = "QUOTA_CODE"
			}
			name := a.QuotaName
			if name == "" {
				name = "the model's tokens-per-minute quota"
			}
			why := fmt.Sprintf("demand +%.0f%%", 100*margin)
			if a.Capped {
				why = fmt.Sprintf("%dx the quota, the most advise asks for at once: measure again once granted", maxStep)
			}
			fmt.Fprintf(w, "              request %s tokens/min (%s) for %q:\n", thousands(a.NeededTPM), why, name)
			fmt.Fprintf(w, "              aws service-quotas request-service-quota-increase --service-code bedrock --quota-code %s --desired-value %.0f --region %s\n",
				code, a.NeededTPM, a.Region)
		case a.QuotaTPM > 0:
			fmt.Fprintf(w, "              the quota holds the demand (%.0f%% of it)\n", 100*a.DemandTPM/a.QuotaTPM)
		}

		tpd, how := a.TokensPerDay, "Service Quotas"
		if !a.TPDFromCatalog && a.QuotaTPM > 0 && a.QuotaSource != "learned" {
			tpd, how = a.QuotaTPM*1440, "assumed TPM x 1440, Bedrock's default"
		}
		day := a.SettledTPM * 1440
		switch {
		case a.DayCounted && a.DayEmptyIn > 0:
			fmt.Fprintf(w, "  per day:    %s tokens left of the day's quota (the guard's count); at this rate they run out in %s\n",
				thousands(a.DayRemaining), a.DayEmptyIn.Round(time.Minute))
		case a.DayCounted:
			fmt.Fprintf(w, "  per day:    %s tokens left of the day's quota (the guard's count), not falling\n", thousands(a.DayRemaining))
		case tpd <= 0:
			fmt.Fprintf(w, "  per day:    %s tokens at this rate; tokens-per-day quota unknown\n", thousands(day))
		case day <= tpd:
			fmt.Fprintf(w, "  per day:    %s tokens at this rate, %.0f%% of %s tokens/day (%s): %.0f%% headroom\n",
				thousands(day), 100*day/tpd, thousands(tpd), how, 100*(1-day/tpd))
		default:
			fmt.Fprintf(w, "  per day:    %s tokens at this rate, over %s tokens/day (%s): exhausted %.1f h into a day\n",
				thousands(day), thousands(tpd), how, tpd/a.SettledTPM/60)
		}
		if a.HasCost {
			fmt.Fprintf(w, "  cost:       %s USD/hour at this rate\n", strconv.FormatFloat(a.CostPerHour, 'f', 4, 64))
		}
	}
}

func fmtMinutes(m float64) string {
	d := time.Duration(m * float64(time.Minute)).Round(time.Second)
	return d.String()
}

// thousands formats v rounded to an integer with thousands separators.
func thousands(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "-"
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
