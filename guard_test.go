package bedrockguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	gmw "github.com/bedrockguard/bedrockguard/middleware"
	"github.com/bedrockguard/bedrockguard/pacing"
)

const haiku = "anthropic.claude-3-5-haiku-20241022-v1:0"

// newSim starts a simulator on loopback and returns it with an aws.Config
// pointing at it.
func newSim(t *testing.T, opts ...bedrocksim.Option) (*bedrocksim.Server, aws.Config) {
	t.Helper()
	sim, err := bedrocksim.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, bedrocksim.Config(srv.URL)
}

func converseInput(model, text string, maxTokens int32) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId: aws.String(model),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)},
	}
}

func assertNoLeak(t *testing.T, g *bedrockguard.Guard) {
	t.Helper()
	if n := g.Outstanding(); n != 0 {
		t.Fatalf("%d reservations neither settled nor released", n)
	}
}

func TestEveryOperationSettlesToTheServersCharge(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 1_000_000}))
	obs := &recorder{}
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}), bedrockguard.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()

	if _, err := client.Converse(ctx, converseInput(haiku, "Say hello in three languages.", 200)); err != nil {
		t.Fatal(err)
	}
	ci := converseInput(haiku, "Count to ten.", 100)
	st, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: ci.ModelId, Messages: ci.Messages, InferenceConfig: ci.InferenceConfig})
	if err != nil {
		t.Fatal(err)
	}
	for range st.GetStream().Events() {
	}
	if err := st.GetStream().Close(); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"anthropic_version": "bedrock-2023-05-31",
		"max_tokens":        150,
		"messages":          []any{map[string]any{"role": "user", "content": "Name a color."}},
	})
	if _, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: body}); err != nil {
		t.Fatal(err)
	}
	ist, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(haiku), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	for range ist.GetStream().Events() {
	}
	ist.GetStream().Close()

	assertNoLeak(t, g)
	ks := sim.Stats().Keys[haiku]
	if ks.Accepted != 4 {
		t.Fatalf("server accepted %d calls, want 4", ks.Accepted)
	}
	if obs.settles != 4 || obs.settled != ks.TokensCharged {
		t.Fatalf("guard settled %d calls for %d tokens; server charged %d tokens", obs.settles, obs.settled, ks.TokensCharged)
	}
	// Converse and ConverseStream report the model's stop reason.
	if obs.finishes[0] == "" || obs.finishes[1] == "" {
		t.Fatalf("finish reasons %q, want Converse's and ConverseStream's", obs.finishes)
	}
}

// recorder is an Observer that keeps counts.
type recorder struct {
	bedrockguard.NopObserver
	mu                sync.Mutex
	settles, throttle int
	settled           int64
	finishes          []string
	lowered           int
	kinds             []string
	retries           []string
	ends              int
}

func (r *recorder) Settled(_ context.Context, _ *bedrockguard.Call, e bedrockguard.SettleEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settles++
	r.settled += e.Settled
	r.finishes = append(r.finishes, e.FinishReason)
}

func (r *recorder) Throttled(_ context.Context, _ *bedrockguard.Call, e bedrockguard.ThrottleEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.throttle++
	r.kinds = append(r.kinds, e.Class.Kind.String())
	if e.Lowered {
		r.lowered++
	}
}

func (r *recorder) Retry(_ context.Context, _ *bedrockguard.Call, e bedrockguard.RetryEvent) {
	if e.BudgetExhausted {
		return // a refused retry, not a retry
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries = append(r.retries, e.Class.Kind.String())
}

func (r *recorder) End(context.Context, *bedrockguard.Call, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ends++
}

func TestThrottleIsRetriedAndLowersTheRate(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithWindow(10*time.Second), bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 1000}), bedrocksim.WithOutputFraction(1))
	obs := &recorder{}
	g, err := bedrockguard.Install(&cfg,
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000, Window: 10 * time.Second}),
		bedrockguard.WithObserver(obs), guardtest.FastRetry(), bedrockguard.WithMaxAttempts(2))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	// The guard believes in a far larger quota than the server's: the
	// server throttles the second call, and the guard lowers its rate.
	if _, err := client.Converse(ctx, converseInput(haiku, "hello", 900)); err != nil {
		t.Fatal(err)
	}
	_, err = client.Converse(ctx, converseInput(haiku, "hello", 900))
	var te *types.ThrottlingException
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want the server's throttle after 2 attempts", err)
	}
	ks := sim.Stats().Keys[haiku]
	if ks.ThrottledTokens != 2 || obs.throttle != 2 || obs.kinds[0] != "throttle_tokens" {
		t.Fatalf("server throttled %d, guard saw %d %v", ks.ThrottledTokens, obs.throttle, obs.kinds)
	}
	if obs.lowered != 1 {
		t.Fatalf("rate lowered %d times, want once (the second throttle falls in the cooldown)", obs.lowered)
	}
	// 0.6 x, plus the little the rate regrew while the retry waited out
	// the half cooldown a throttle leaves (0.05 window: 1.9 %).
	if r := g.State(ctx, "us-east-1", haiku).Rate[pacing.Tokens]; r < 600_000 || r > 625_000 {
		t.Fatalf("token rate %v, want 0.6 x the configured quota", r)
	}
	assertNoLeak(t, g)
}

func TestDeadlineFailsAtOnceWithTypedError(t *testing.T) {
	_, cfg := newSim(t)
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	if _, err := client.Converse(context.Background(), converseInput(haiku, "hi", 800)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err = client.Converse(ctx, converseInput(haiku, "hi", 900))
	var de *bedrockguard.DeadlineError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *bedrockguard.DeadlineError", err)
	}
	if de.Wait < 5*time.Second {
		t.Fatalf("estimated wait %v", de.Wait)
	}
	_ = start
	assertNoLeak(t, g)
}

func TestTooLargeFailsAtOnce(t *testing.T) {
	_, cfg := newSim(t)
	_, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	_, err = client.Converse(context.Background(), converseInput(haiku, "hi", 4000))
	var tl *bedrockguard.TooLargeError
	if !errors.As(err, &tl) || tl.Capacity != 1000 {
		t.Fatalf("err = %v, want a *bedrockguard.TooLargeError", err)
	}
}

func TestInvalidOptionsFailAtInstall(t *testing.T) {
	cases := map[string]bedrockguard.Option{
		"negative":   bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: -1}),
		"empty id":   bedrockguard.WithQuota("", bedrockguard.Quota{TokensPerWindow: 1}),
		"short win":  bedrockguard.WithQuota(haiku, bedrockguard.Quota{Window: time.Millisecond}),
		"0 attempts": bedrockguard.WithMaxAttempts(0),
	}
	for name, opt := range cases {
		var cfg aws.Config
		_, err := bedrockguard.Install(&cfg, opt)
		var oe *bedrockguard.OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%s: err = %v, want *OptionError", name, err)
		}
		if len(cfg.ServiceOptions) != 0 {
			t.Errorf("%s: a failed Install changed the config", name)
		}
	}
}

// stackProbe records whether the guard's middleware is in a client's stack
// and aborts the call before it reaches the network.
type stackProbe struct{ estimate, pace int }

var errProbe = errors.New("probe")

func (p *stackProbe) apiOption(s *middleware.Stack) error {
	if _, ok := s.Initialize.Get(gmw.EstimateID); ok {
		p.estimate++
	}
	if _, ok := s.Finalize.Get(gmw.PaceID); ok {
		p.pace++
	}
	return errProbe
}

func TestOnlyBedrockRuntimeIsTouched(t *testing.T) {
	_, cfg := newSim(t)
	if _, err := bedrockguard.Install(&cfg); err != nil {
		t.Fatal(err)
	}
	var p stackProbe
	stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) { o.APIOptions = append(o.APIOptions, p.apiOption) })
	if _, err := stsClient.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); !errors.Is(err, errProbe) {
		t.Fatalf("err = %v", err)
	}
	if p.estimate != 0 || p.pace != 0 {
		t.Fatalf("STS client got the guard's middleware: %+v", p)
	}
	var q stackProbe
	br := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) { o.APIOptions = append(o.APIOptions, q.apiOption) })
	if _, err := br.Converse(context.Background(), converseInput(haiku, "x", 10)); !errors.Is(err, errProbe) {
		t.Fatalf("err = %v", err)
	}
	if q.estimate != 1 || q.pace != 1 {
		t.Fatalf("Bedrock Runtime client: %+v, want the guard's middleware once", q)
	}
}

func TestInstallTwiceDoesNotDouble(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 100}}))
	g, err := bedrockguard.New(bedrockguard.WithMaxAttempts(2), guardtest.FastRetry())
	if err != nil {
		t.Fatal(err)
	}
	g.Install(&cfg)
	g.Install(&cfg)
	var p stackProbe
	probe := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) { o.APIOptions = append(o.APIOptions, p.apiOption) })
	probe.Converse(context.Background(), converseInput(haiku, "x", 10))
	if p.estimate != 1 || p.pace != 1 {
		t.Fatalf("after two Installs: %+v, want the middleware once", p)
	}
	client := bedrockruntime.NewFromConfig(cfg, g.ClientOption())
	if _, err := client.Converse(context.Background(), converseInput(haiku, "x", 10)); err == nil {
		t.Fatal("want the 503 after retries")
	}
	if got := sim.Stats().Keys[haiku].Requests; got != 2 {
		t.Fatalf("server saw %d attempts, want 2 (max attempts not multiplied)", got)
	}
	assertNoLeak(t, g)
}

func TestPanicInsideTheStackReleases(t *testing.T) {
	_, cfg := newSim(t)
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 100_000}))
	if err != nil {
		t.Fatal(err)
	}
	boom := func(s *middleware.Stack) error {
		return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("boom", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			panic("handler bug")
		}), middleware.After)
	}
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) { o.APIOptions = append(o.APIOptions, boom) })
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "handler bug") {
				t.Fatalf("recovered %v", r)
			}
		}()
		client.Converse(context.Background(), converseInput(haiku, "x", 10))
	}()
	assertNoLeak(t, g)
}

func TestObserveOnlyReportsWithoutPacing(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithWindow(10*time.Second), bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 1000}), bedrocksim.WithOutputFraction(1))
	obs := &recorder{}
	g, err := bedrockguard.Install(&cfg, bedrockguard.ObserveOnly(), bedrockguard.WithObserver(obs),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1000, Window: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Millisecond)
	})
	ctx := context.Background()
	for range 2 {
		client.Converse(ctx, converseInput(haiku, "hello", 900))
	}
	// The second call is throttled by the server on all 3 of the SDK's own
	// attempts; the guard neither paced nor retried, but saw every throttle.
	if got := sim.Stats().Keys[haiku].Requests; got != 4 {
		t.Fatalf("server saw %d requests, want 4 (1 + the SDK's 3 attempts)", got)
	}
	if obs.throttle != 3 || obs.lowered != 0 {
		t.Fatalf("observed %d throttles (%d lowered), want 3 and none lowered", obs.throttle, obs.lowered)
	}
	if len(obs.retries) != 2 || obs.retries[0] != "throttle_tokens" {
		t.Fatalf("observed retries %v, want the SDK's 2 retries of a tokens throttle", obs.retries)
	}
	if st := g.State(ctx, "us-east-1", haiku); st.Rate[pacing.Tokens] != 1000 {
		t.Fatalf("rate %v changed in observe-only mode", st.Rate[pacing.Tokens])
	}
	assertNoLeak(t, g)
}
