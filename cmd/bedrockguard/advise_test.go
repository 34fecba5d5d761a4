package main

import (
	"context"
	"log/slog"
	"math"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/otelbridge"
	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

const adviseModel = "anthropic.claude-3-5-haiku-20241022-v1:0"

// guardedMetrics starts the simulator, a guarded client with an otelbridge
// exporting to Prometheus, and the Prometheus endpoint; it returns the
// client and the endpoint's URL.
func guardedMetrics(t *testing.T, quota bedrockguard.Quota, so ...bedrocksim.Option) (*bedrockruntime.Client, string) {
	t.Helper()
	sim, err := bedrocksim.New(so...)
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	bridge, err := otelbridge.New(otelbridge.WithMeterProvider(mp),
		otelbridge.WithPrices(map[string]otelbridge.Price{adviseModel: {InputPer1K: 0.001, OutputPer1K: 0.005}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bridge.Shutdown() })
	metricsSrv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(metricsSrv.Close)
	cfg := bedrocksim.Config(simSrv.URL)
	if _, err := bedrockguard.Install(&cfg, bridge.Option(), bedrockguard.WithLogger(slog.New(slog.DiscardHandler)),
		bedrockguard.WithQuota(adviseModel, quota)); err != nil {
		t.Fatal(err)
	}
	return bedrockruntime.NewFromConfig(cfg), metricsSrv.URL + "/metrics"
}

func adviseInput(maxTokens int32) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId: aws.String(adviseModel),
		Messages: []types.Message{{Role: types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: strings.Repeat("word ", 100)}}}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)},
	}
}

// TestAdviseAgainstSimulator runs advise on the metrics endpoint of a real
// guarded client whose callers ask for 2,000 max_tokens and get 200
// output tokens, and whose demand is far above its quota; the quota codes
// come from the Service Quotas fake. It checks the recommended max_tokens,
// the quota request with its code and exact command, the daily headroom and
// the cost.
func TestAdviseAgainstSimulator(t *testing.T) {
	isolateAWSEnv(t, true)
	fq := newFakeQuotas(t, quotastest.Sample())
	client, metricsURL := guardedMetrics(t,
		bedrockguard.Quota{TokensPerWindow: 6_000, Window: time.Second},
		bedrocksim.WithWindow(time.Second), bedrocksim.WithOutputFraction(0.1),
		bedrocksim.WithQuota(adviseModel, bedrocksim.Quota{TokensPerWindow: 6_000}))

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, _ = client.Converse(ctx, adviseInput(2000))
			}
		})
	}
	code, out, errOut := runCLI(t, "advise", "-metrics", metricsURL, "-window", "3s", "-quotas-endpoint", fq.URL)
	stop()
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	t.Log("\n" + out)
	for _, re := range []string{
		`(?m)^` + regexp.QuoteMeta(adviseModel) + ` in us-east-1: [\d,]+ operations in 3s, 1\.\d\d attempts each$`,
		// Outputs are 200 tokens: the p99 is read in the (64, 256] bucket.
		`max_tokens: 2,000 on average, p99 output 2\d\d tokens \(bucket up to 256\): set max_tokens 320 \(p99 \+20%`,
		`burndown \(1\) up front: frees [\d,]+ tokens/min`,
		`quota:      360,000 tokens/min \(configured\); settled [\d,]+ tokens/min, \d+% of operation time waiting for pacing`,
		`request [\d,]+ tokens/min \(.*\) for "On-demand model inference tokens per minute for Anthropic Claude 3.5 Haiku":`,
		`aws service-quotas request-service-quota-increase --service-code bedrock --quota-code L-F1A00001 --desired-value \d+ --region us-east-1\n`,
		`per day:    [\d,]+ tokens at this rate, .*518,400,000 tokens/day \(assumed TPM x 1440, Bedrock's default\)`,
		`cost:       \d+\.\d{4} USD/hour`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s", re)
		}
	}
	// The requested value is above the quota and above the settled rate.
	m := regexp.MustCompile(`--desired-value (\d+)`).FindStringSubmatch(out)
	s := regexp.MustCompile(`settled ([\d,]+) tokens/min`).FindStringSubmatch(out)
	if m == nil || s == nil {
		t.Fatal("no desired value or settled rate")
	}
	if want, settled := atof(m[1]), atof(s[1]); want <= 360_000 || want <= settled {
		t.Errorf("desired value %v, settled %v, quota 360,000", want, settled)
	}
}

func atof(s string) float64 {
	var v float64
	for _, c := range strings.ReplaceAll(s, ",", "") {
		v = v*10 + float64(c-'0')
	}
	return v
}

// TestAdviseQuietWhenTheQuotaFits checks that a model whose demand fits
// its quota gets no increase, that the tokens-per-day line comes from the
// guard's own count when it has a TokensPerDay quota, and that
// -quota-codes=false makes no AWS call.
func TestAdviseQuietWhenTheQuotaFits(t *testing.T) {
	isolateAWSEnv(t, false)
	client, metricsURL := guardedMetrics(t, bedrockguard.Quota{TokensPerWindow: 1_000_000, Window: time.Second,
		TokensPerDay: 100_000_000, Day: time.Hour},
		bedrocksim.WithWindow(time.Second))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_, _ = client.Converse(ctx, adviseInput(100))
		}
	}()
	code, out, errOut := runCLI(t, "advise", "-metrics", metricsURL, "-window", "1s", "-quota-codes=false")
	stop()
	<-done
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if strings.Contains(out, "request-service-quota-increase") || !strings.Contains(out, "the quota holds the demand") {
		t.Errorf("advice for a quota that fits:\n%s", out)
	}
	t.Log("\n" + out)
	if !regexp.MustCompile(`per day:    [\d,]+ tokens left of the day's quota \(the guard's count\)`).MatchString(out) {
		t.Errorf("no tokens-per-day line from the guard's count:\n%s", out)
	}
	if strings.Contains(out, "quota codes: not looked up") {
		t.Errorf("looked up quota codes with -quota-codes=false:\n%s", out)
	}
}

// TestAdviseFromPrometheusAPI checks the -prometheus path against a fake
// Prometheus HTTP API that answers every query with one series.
func TestAdviseFromPrometheusAPI(t *testing.T) {
	isolateAWSEnv(t, false)
	answers := map[string]string{
		"gen_ai_client_operation_duration_seconds_count": `{"metric":{"gen_ai_request_model":"m","cloud_region":"us-west-2"},"value":[0,"600"]}`,
		"gen_ai_client_operation_duration_seconds_sum":   `{"metric":{"gen_ai_request_model":"m","cloud_region":"us-west-2"},"value":[0,"1200"]}`,
		"aws_bedrock_pacing_wait_seconds_sum":            `{"metric":{"gen_ai_request_model":"m","cloud_region":"us-west-2"},"value":[0,"600"]}`,
		"aws_bedrock_tokens_settled_total":               `{"metric":{"gen_ai_request_model":"m","cloud_region":"us-west-2"},"value":[0,"600000"]}`,
		"aws_bedrock_pacing_quota_per_min":               `{"metric":{"gen_ai_request_model":"m","cloud_region":"us-west-2","aws_bedrock_pacing_limit":"tokens","aws_bedrock_quota_source":"discovered"},"value":[0,"60000"]}`,
	}
	var mu sync.Mutex
	var queries []string
	prom := httptest.NewServer(httpHandlerFunc(func(q string) string {
		mu.Lock()
		queries = append(queries, q)
		mu.Unlock()
		for name, a := range answers {
			if strings.Contains(q, name+"{") {
				return `{"status":"success","data":{"resultType":"vector","result":[` + a + `]}}`
			}
		}
		return `{"status":"success","data":{"resultType":"vector","result":[]}}`
	}))
	defer prom.Close()
	code, out, errOut := runCLI(t, "advise", "-prometheus", prom.URL, "-window", "10m", "-match", "job=api", "-quota-codes=false")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	// 60,000 settled/min while half the time waited: demand 120,000/min,
	// +20% is 144,000: more than twice the quota, so 120,000.
	for _, want := range []string{
		"m in us-west-2: 600 operations in 10m0s",
		"quota:      60,000 tokens/min (discovered); settled 60,000 tokens/min, 50% of operation time waiting for pacing: demand about 120,000 tokens/min",
		"request 120,000 tokens/min (2x the quota, the most advise asks for at once: measure again once granted)",
		"--quota-code QUOTA_CODE --desired-value 120000 --region us-west-2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, q := range queries {
		if !strings.Contains(q, `job="api"`) {
			t.Errorf("query without the -match filter: %s", q)
		}
	}
}

func TestRecommendMaxTokens(t *testing.T) {
	for _, tc := range []struct {
		name            string
		cum             map[float64]float64
		p99, bound, rec float64
	}{
		{"empty", map[float64]float64{}, 0, 0, 0},
		{"all in one coarse bucket", map[float64]float64{64: 0, 256: 100, math.Inf(1): 100}, 254.08, 256, 320},
		{"fine buckets", map[float64]float64{100: 50, 200: 98, 300: 100, math.Inf(1): 100}, 250, 300, 320},
		{"never under the bucket bound", map[float64]float64{16: 0, 1024: 100, math.Inf(1): 100}, 1013.92, 1024, 1280},
		{"p99 past the last bound", map[float64]float64{256: 90, math.Inf(1): 100}, 256, math.Inf(1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p99, bound, rec := recommendMaxTokens(tc.cum, 0.2)
			if math.Abs(p99-tc.p99) > 0.01 || bound != tc.bound || rec != tc.rec {
				t.Errorf("got p99 %v, bound %v, rec %v; want %v, %v, %v", p99, bound, rec, tc.p99, tc.bound, tc.rec)
			}
		})
	}
}

func TestAdviseBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-metrics", "http://x", "-prometheus", "http://y"},
		{"-metrics", "http://x", "-window", "-1s"},
		{"-metrics", "http://x", "-margin", "-0.1"},
		{"-metrics", "http://x", "-match", "no-equals"},
		{"-metrics", "http://x", "extra"},
		{"-metrics", "127.0.0.1:9464/metrics"},
		{"-prometheus", "http://p:9090", "-quotas-endpoint", "not a url"},
	} {
		if code, _, _ := runCLI(t, append([]string{"advise"}, args...)...); code != 2 {
			t.Errorf("advise %q: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := runCLI(t, "advise", "-h"); code != 0 {
		t.Errorf("advise -h: exit %d", code)
	}
}

func TestRoundUpNice(t *testing.T) {
	for v, want := range map[float64]float64{144_000: 150_000, 120_000: 120_000, 123_456: 130_000, 9.1: 9.1, 0: 0} {
		if got := roundUpNice(v); math.Abs(got-want) > 1e-9 {
			t.Errorf("roundUpNice(%v) = %v, want %v", v, got, want)
		}
	}
}
