package bedrockguard_test

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// TestHostileOptionsAreRejected: NaN, infinite, negative or absurd values in
// every numeric option fail Install with an *OptionError, never silently
// turn pacing off (issue 14, item 3: NaN InitialFill or Beta admitted 50 of
// 50 calls under a quota that admits 1).
func TestHostileOptionsAreRejected(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := map[string]bedrockguard.Option{
		"quota negative tokens":     bedrockguard.WithQuota("m", bedrockguard.Quota{TokensPerWindow: -1}),
		"quota negative requests":   bedrockguard.WithQuota("m", bedrockguard.Quota{RequestsPerWindow: -1}),
		"quota negative day":        bedrockguard.WithQuota("m", bedrockguard.Quota{TokensPerDay: -1}),
		"quota negative window":     bedrockguard.WithQuota("m", bedrockguard.Quota{TokensPerWindow: 1, Window: -time.Second}),
		"default quota negative":    bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: math.MinInt64}),
		"quota max int64":           bedrockguard.WithQuota("m", bedrockguard.Quota{TokensPerWindow: math.MaxInt64}),
		"quota day max int64":       bedrockguard.WithQuota("m", bedrockguard.Quota{TokensPerDay: math.MaxInt64}),
		"quota window max":          bedrockguard.WithQuota("m", bedrockguard.Quota{TokensPerWindow: 1, Window: time.Duration(math.MaxInt64)}),
		"burndown NaN":              bedrockguard.WithOutputBurndown("anthropic", nan),
		"burndown +Inf":             bedrockguard.WithOutputBurndown("anthropic", inf),
		"burndown -1":               bedrockguard.WithOutputBurndown("anthropic", -1),
		"burndown 1e300":            bedrockguard.WithOutputBurndown("anthropic", 1e300),
		"max attempts 0":            bedrockguard.WithMaxAttempts(0),
		"max attempts huge":         bedrockguard.WithMaxAttempts(math.MaxInt),
		"pacing InitialFill NaN":    guardtest.Pacing(func(c *limiter.Config) { c.InitialFill = nan }),
		"pacing Beta NaN":           guardtest.Pacing(func(c *limiter.Config) { c.Beta = nan }),
		"pacing Beta 1":             guardtest.Pacing(func(c *limiter.Config) { c.Beta = 1 }),
		"pacing CubicC +Inf":        guardtest.Pacing(func(c *limiter.Config) { c.CubicC = inf }),
		"pacing CubicC NaN":         guardtest.Pacing(func(c *limiter.Config) { c.CubicC = nan }),
		"pacing Cooldown NaN":       guardtest.Pacing(func(c *limiter.Config) { c.Cooldown = nan }),
		"pacing PriorityBoost NaN":  guardtest.Pacing(func(c *limiter.Config) { c.PriorityBoost = nan }),
		"pacing PriorityBoost -Inf": guardtest.Pacing(func(c *limiter.Config) { c.PriorityBoost = math.Inf(-1) }),
		"pacing AIMDIncrease NaN":   guardtest.Pacing(func(c *limiter.Config) { c.AIMDIncrease = nan }),
	}
	for name, opt := range cases {
		_, cfg := newSim(t)
		_, err := bedrockguard.Install(&cfg, opt)
		var oe *bedrockguard.OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%s: Install returned %v, want an *OptionError", name, err)
		}
	}
}

// TestHugeQuotasStayFinite: the largest quotas Install accepts (2^50) pace
// nothing, with finite bucket levels and nothing outstanding; larger ones
// are an *OptionError.
func TestHugeQuotasStayFinite(t *testing.T) {
	_, cfg := newSim(t)
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{
		RequestsPerWindow: 1 << 50, TokensPerWindow: 1 << 50, TokensPerDay: 1 << 50, Window: time.Second,
	}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		if _, err := client.Converse(ctx, converseInput(haiku, "hello", 100)); err != nil {
			t.Fatalf("call under a huge quota: %v", err)
		}
	}
	st := g.State(ctx, cfg.Region, haiku)
	for _, lv := range st.Level {
		if math.IsNaN(lv) || math.IsInf(lv, -1) || lv < 0 {
			t.Fatalf("levels %v under a huge quota", st.Level)
		}
	}
	assertNoLeak(t, g)
}

// hostileBodies are InvokeModel bodies with hostile values in every
// family's output-length field and other hostile shapes: huge, negative,
// fractional, string and out-of-range numbers, duplicate keys, invalid
// UTF-8, nesting past encoding/json's limit, 10 MB.
func hostileBodies() map[string][]string {
	values := []string{"9223372036854775807", "-9223372036854775808", "1e308", "-1e308", "-1", "0", "1.5", `"5"`, "99999999999999999999999999999", "null", "[1]"}
	fields := map[string]func(v string) string{
		haiku: func(v string) string {
			return `{"anthropic_version":"bedrock-2023-05-31","max_tokens":` + v + `,"messages":[{"role":"user","content":"hi"}]}`
		},
		"amazon.nova-lite-v1:0": func(v string) string {
			return `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"max_new_tokens":` + v + `}}`
		},
		"amazon.titan-text-express-v1":    func(v string) string { return `{"inputText":"hi","textGenerationConfig":{"maxTokenCount":` + v + `}}` },
		"cohere.command-r-v1:0":           func(v string) string { return `{"message":"hi","max_tokens":` + v + `}` },
		"meta.llama3-8b-instruct-v1:0":    func(v string) string { return `{"prompt":"hi","max_gen_len":` + v + `}` },
		"mistral.mistral-large-2407-v1:0": func(v string) string { return `{"messages":[{"role":"user","content":"hi"}],"max_tokens":` + v + `}` },
		"openai.gpt-oss-120b-1:0": func(v string) string {
			return `{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":` + v + `}`
		},
	}
	out := map[string][]string{}
	for model, field := range fields {
		for _, v := range values {
			out[model] = append(out[model], field(v))
		}
		dup := field("1")
		out[model] = append(out[model],
			dup[:len(dup)-1]+`,`+dup[1:len(dup)-1]+`,`+strings.TrimPrefix(field("9223372036854775807"), "{"), // duplicate keys, the huge one last
			strings.Replace(field("100"), `"hi"`, "\"\xff\xfe\xc0\x80 bad utf-8\"", 1),
			strings.Replace(field("100"), `"hi"`, `"`+strings.Repeat("a", 10<<20)+`"`, 1),
			strings.Replace(field("100"), `"hi"`, strings.Repeat("[", 20000)+strings.Repeat("]", 20000), 1),
		)
	}
	return out
}

// TestHostileRequestFields: hostile values in every numeric request field,
// in each family's place for the output length, through the real client
// against the simulator: no panic, every call returns, levels stay finite
// and above minus one window, nothing is left outstanding, and an
// ordinary call on the same model passes afterwards.
func TestHostileRequestFields(t *testing.T) {
	const tpm = 200_000
	_, cfg := newSim(t, bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 10 * tpm, RequestsPerWindow: 10_000}))
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: tpm, RequestsPerWindow: 5000}),
		bedrockguard.WithMaxAttempts(2), guardtest.FastRetry())
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	check := func(model, what string) {
		t.Helper()
		st := g.State(context.Background(), cfg.Region, model)
		for a, q := range []float64{5000, tpm} {
			if lv := st.Level[a]; math.IsNaN(lv) || math.IsInf(lv, 0) || lv < -q {
				t.Fatalf("%s %s: axis %d level %v", model, what, a, lv)
			}
		}
		if n := g.Outstanding(); n != 0 {
			t.Fatalf("%s %s: %d outstanding", model, what, n)
		}
	}
	bodies := hostileBodies()
	for _, model := range slices.Sorted(maps.Keys(bodies)) {
		for i, body := range bodies[model] {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: []byte(body)})
			if out, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(model), Body: []byte(body)}); err == nil {
				for range out.GetStream().Events() {
				}
				out.GetStream().Close()
			}
			cancel()
			check(model, "body "+strconv.Itoa(i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// Converse: the numeric fields of InferenceConfig and a max_tokens in
		// additionalModelRequestFields.
		for _, mt := range []int32{math.MaxInt32, math.MinInt32, -1, 0} {
			in := converseInput(model, "hi", mt)
			in.InferenceConfig.Temperature = aws.Float32(float32(math.NaN()))
			in.InferenceConfig.TopP = aws.Float32(float32(math.Inf(1)))
			in.AdditionalModelRequestFields = document.NewLazyDocument(map[string]any{"max_tokens": 1e308, "inferenceConfig": map[string]any{"max_new_tokens": -1}})
			client.Converse(ctx, in)
			check(model, "converse max tokens "+strconv.Itoa(int(mt)))
		}
		// The simulator does not serve every provider (gpt-oss): a
		// validation error for the model ID is its answer, not the guard's.
		if _, err := client.Converse(ctx, converseInput(model, "hello", 100)); err != nil && !strings.Contains(err.Error(), "model identifier is invalid") {
			t.Fatalf("%s: ordinary call after the hostile ones: %v", model, err)
		}
		cancel()
	}
	assertNoLeak(t, g)
}
