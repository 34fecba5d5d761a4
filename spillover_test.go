package bedrockguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
)

// Two inference profiles of one model: separate quotas.
const (
	usHaiku     = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
	globalHaiku = "global.anthropic.claude-3-5-haiku-20241022-v1:0"
	euHaiku     = "eu.anthropic.claude-3-5-haiku-20241022-v1:0"
	novaLite    = "amazon.nova-lite-v1:0"
)

// spillRecorder keeps, per ended operation, where it was served, and the
// settled total.
type spillRecorder struct {
	bedrockguard.NopObserver
	mu      sync.Mutex
	served  []bedrockguard.Served
	settled int64
	ends    int
}

func (r *spillRecorder) Settled(_ context.Context, _ *bedrockguard.Call, e bedrockguard.SettleEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settled += e.Settled
}

func (r *spillRecorder) End(_ context.Context, c *bedrockguard.Call, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ends++
	r.served = append(r.served, bedrockguard.Served{ModelID: c.ServedModelID, Region: c.ServedRegion, Reason: c.SpillReason})
}

// charged is what the simulator charged over all keys.
func charged(st bedrocksim.Stats) int64 {
	var n int64
	for _, k := range st.Keys {
		n += k.TokensCharged
	}
	return n
}

// small quotas: one call of 800 output tokens empties a bucket for most of
// a minute.
var (
	simSmall   = bedrocksim.Quota{TokensPerWindow: 1000}
	guardSmall = bedrockguard.Quota{TokensPerWindow: 1000}
)

func TestSpilloverStaysOnThePrimaryUnderItsQuota(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, bedrocksim.Quota{TokensPerWindow: 1_000_000}),
		bedrocksim.WithQuota(globalHaiku, bedrocksim.Quota{TokensPerWindow: 1_000_000}))
	obs := &spillRecorder{}
	g, err := bedrockguard.Install(&cfg,
		// Both axes known: an unknown requests quota is learned in slow
		// start, which queues a burst (and would move it).
		bedrockguard.WithQuota(usHaiku, bedrockguard.Quota{TokensPerWindow: 1_000_000, RequestsPerWindow: 1000}),
		bedrockguard.WithQuota(globalHaiku, bedrockguard.Quota{TokensPerWindow: 1_000_000, RequestsPerWindow: 1000}),
		bedrockguard.WithSpillover(usHaiku, bedrockguard.Route{ModelID: globalHaiku, MaxWait: time.Nanosecond}),
		bedrockguard.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			out, err := client.Converse(ctx, converseInput(usHaiku, "hello", 200))
			if err != nil {
				t.Error(err)
				return
			}
			if s, ok := bedrockguard.ServedBy(out.ResultMetadata); !ok || s.ModelID != usHaiku || s.Reason != "" || s.Region != "us-east-1" {
				t.Errorf("ServedBy = %+v, %v; want the primary", s, ok)
			}
		})
	}
	wg.Wait()
	st := sim.Stats()
	if st.Keys[usHaiku].Accepted != 50 || st.Keys[globalHaiku].Requests != 0 {
		t.Fatalf("primary accepted %d, alternate got %d requests; want 50 and 0", st.Keys[usHaiku].Accepted, st.Keys[globalHaiku].Requests)
	}
	assertNoLeak(t, g)
}

// newSpillGuard installs a guard with small quotas on usHaiku and
// globalHaiku and the given route.
func newSpillGuard(t *testing.T, cfg *aws.Config, obs bedrockguard.Observer, r bedrockguard.Route, extra ...bedrockguard.Option) *bedrockguard.Guard {
	t.Helper()
	opts := append([]bedrockguard.Option{
		bedrockguard.WithQuota(usHaiku, guardSmall),
		bedrockguard.WithQuota(globalHaiku, guardSmall),
		bedrockguard.WithQuota(novaLite, guardSmall),
		bedrockguard.WithSpillover(usHaiku, r),
		bedrockguard.WithObserver(obs),
	}, extra...)
	g, err := bedrockguard.Install(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSpilloverWhenThePrimaryWaitPassesMaxWait(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, simSmall), bedrocksim.WithQuota(globalHaiku, simSmall), bedrocksim.WithOutputFraction(1))
	obs := &spillRecorder{}
	g := newSpillGuard(t, &cfg, obs, bedrockguard.Route{ModelID: globalHaiku, MaxWait: time.Second})
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()

	// The first call empties the primary's bucket; the second would wait
	// about 40 s there and goes to the alternate, which admits it at once.
	for i, want := range []bedrockguard.Served{{ModelID: usHaiku, Region: "us-east-1"}, {ModelID: globalHaiku, Region: "us-east-1", Reason: "max_wait"}} {
		out, err := client.Converse(ctx, converseInput(usHaiku, "hello", 800))
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := bedrockguard.ServedBy(out.ResultMetadata); s != want {
			t.Fatalf("call %d served by %+v, want %+v", i, s, want)
		}
	}
	// Both buckets are empty now: the third call waits on the primary (the
	// alternate would not admit it sooner) and its deadline fails it at once.
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := client.Converse(dctx, converseInput(usHaiku, "hello", 800))
	var de *bedrockguard.DeadlineError
	if !errors.As(err, &de) || de.Key != "us-east-1/"+usHaiku {
		t.Fatalf("third call: %v, want a DeadlineError on the primary", err)
	}
	st := sim.Stats()
	if st.Keys[usHaiku].Accepted != 1 || st.Keys[globalHaiku].Accepted != 1 {
		t.Fatalf("server accepted %d on the primary and %d on the alternate, want 1 and 1", st.Keys[usHaiku].Accepted, st.Keys[globalHaiku].Accepted)
	}
	if obs.settled != charged(st) {
		t.Fatalf("guard settled %d tokens, server charged %d", obs.settled, charged(st))
	}
	if obs.served[1].ModelID != globalHaiku || obs.served[1].Reason != "max_wait" {
		t.Fatalf("Call fields at End: %+v", obs.served[1])
	}
	assertNoLeak(t, g)
}

func TestSpilloverWhenThePrimaryWouldPassTheDeadline(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, simSmall), bedrocksim.WithQuota(globalHaiku, simSmall), bedrocksim.WithOutputFraction(1))
	obs := &spillRecorder{}
	g := newSpillGuard(t, &cfg, obs, bedrockguard.Route{ModelID: globalHaiku})
	client := bedrockruntime.NewFromConfig(cfg)
	if _, err := client.Converse(context.Background(), converseInput(usHaiku, "hello", 800)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	in := converseInput(usHaiku, "hello", 800)
	st, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: in.ModelId, Messages: in.Messages, InferenceConfig: in.InferenceConfig})
	if err != nil {
		t.Fatal(err)
	}
	for range st.GetStream().Events() {
	}
	if err := st.GetStream().Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := bedrockguard.ServedBy(st.ResultMetadata); s.ModelID != globalHaiku || s.Reason != "deadline" {
		t.Fatalf("stream served by %+v, want the alternate for its deadline", s)
	}
	ss := sim.Stats()
	if ss.Keys[globalHaiku].Accepted != 1 || obs.settled != charged(ss) || obs.ends != 2 {
		t.Fatalf("alternate accepted %d; settled %d of %d charged; %d ends", ss.Keys[globalHaiku].Accepted, obs.settled, charged(ss), obs.ends)
	}
	assertNoLeak(t, g)
}

func TestSpilloverAfterATokensPerDayThrottle(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, bedrocksim.Quota{TokensPerWindow: 100_000, TokensPerDay: 500}),
		bedrocksim.WithQuota(globalHaiku, simSmall))
	obs := &spillRecorder{}
	g := newSpillGuard(t, &cfg, obs, bedrockguard.Route{ModelID: globalHaiku}, guardtest.FastRetry())
	client := bedrockruntime.NewFromConfig(cfg)
	out, err := client.Converse(context.Background(), converseInput(usHaiku, "hello", 600))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := bedrockguard.ServedBy(out.ResultMetadata); s.ModelID != globalHaiku || s.Reason != "tokens_per_day" {
		t.Fatalf("served by %+v, want the alternate after the daily quota", s)
	}
	st := sim.Stats()
	if st.Keys[usHaiku].ThrottledTokensPerDay != 1 || st.Keys[globalHaiku].Accepted != 1 || obs.settled != charged(st) {
		t.Fatalf("primary TPD throttles %d, alternate accepted %d, settled %d of %d", st.Keys[usHaiku].ThrottledTokensPerDay,
			st.Keys[globalHaiku].Accepted, obs.settled, charged(st))
	}
	assertNoLeak(t, g)
}

func TestSpilloverAfterTheRetriesGaveUpOnThrottles(t *testing.T) {
	// The guard believes in a larger quota than the server's, so the server
	// throttles the primary until the retry policy gives up.
	sim, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, bedrocksim.Quota{TokensPerWindow: 100}), bedrocksim.WithQuota(globalHaiku, simSmall))
	obs := &spillRecorder{}
	g := newSpillGuard(t, &cfg, obs, bedrockguard.Route{ModelID: globalHaiku}, guardtest.FastRetry(), bedrockguard.WithMaxAttempts(2),
		bedrockguard.WithQuota(usHaiku, bedrockguard.Quota{TokensPerWindow: 1_000_000}))
	client := bedrockruntime.NewFromConfig(cfg)
	out, err := client.Converse(context.Background(), converseInput(usHaiku, "hello", 300))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := bedrockguard.ServedBy(out.ResultMetadata); s.ModelID != globalHaiku || s.Reason != "throttled" {
		t.Fatalf("served by %+v", s)
	}
	st := sim.Stats()
	if st.Keys[usHaiku].ThrottledTokens != 2 || st.Keys[globalHaiku].Accepted != 1 || obs.settled != charged(st) {
		t.Fatalf("primary throttles %d, alternate accepted %d, settled %d of %d", st.Keys[usHaiku].ThrottledTokens,
			st.Keys[globalHaiku].Accepted, obs.settled, charged(st))
	}
	assertNoLeak(t, g)
}

func TestSpilloverSkipsAnAlternateThrottledWithinItsCooldown(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, simSmall), bedrocksim.WithQuota(globalHaiku, bedrocksim.Quota{TokensPerWindow: 100}), bedrocksim.WithOutputFraction(1))
	obs := &spillRecorder{}
	g := newSpillGuard(t, &cfg, obs, bedrockguard.Route{ModelID: globalHaiku, MaxWait: time.Second, Cooldown: time.Hour}, bedrockguard.WithMaxAttempts(1))
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	// The alternate throttles a direct call (the guard's quota for it is
	// larger than the server's).
	if _, err := client.Converse(ctx, converseInput(globalHaiku, "hello", 300)); err == nil {
		t.Fatal("the alternate did not throttle")
	}
	if _, err := client.Converse(ctx, converseInput(usHaiku, "hello", 800)); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := client.Converse(dctx, converseInput(usHaiku, "hello", 800)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the primary's deadline error: the alternate is cooling down", err)
	}
	if n := sim.Stats().Keys[globalHaiku].Requests; n != 1 {
		t.Fatalf("alternate got %d requests, want only the direct one", n)
	}
	assertNoLeak(t, g)
}

func invokeBody(maxTokens int) []byte {
	b, _ := json.Marshal(map[string]any{
		"anthropic_version": "bedrock-2023-05-31",
		"max_tokens":        maxTokens,
		"messages":          []any{map[string]any{"role": "user", "content": "Name a color."}},
	})
	return b
}

func TestSpilloverInvokeModelStaysWithinTheModel(t *testing.T) {
	// An inference profile ARN of the same model (its escaping in the URL
	// path is the SDK's), and another model listed first: InvokeModel's
	// Anthropic body may only go to the ARN.
	arn := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + globalHaiku
	sim, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, simSmall), bedrocksim.WithQuota(arn, simSmall), bedrocksim.WithQuota(novaLite, simSmall), bedrocksim.WithOutputFraction(1))
	obs := &spillRecorder{}
	g, err := bedrockguard.Install(&cfg,
		bedrockguard.WithQuota(usHaiku, guardSmall), bedrockguard.WithQuota(arn, guardSmall), bedrockguard.WithQuota(novaLite, guardSmall),
		bedrockguard.WithSpillover(usHaiku, bedrockguard.Route{ModelID: novaLite, MaxWait: time.Second}, bedrockguard.Route{ModelID: arn, MaxWait: time.Second}),
		bedrockguard.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	for _, want := range []string{usHaiku, arn} {
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(usHaiku), Body: invokeBody(800)})
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := bedrockguard.ServedBy(out.ResultMetadata); s.ModelID != want {
			t.Fatalf("served by %+v, want %s", s, want)
		}
	}
	st := sim.Stats()
	if st.Keys[arn].Accepted != 1 || st.Keys[novaLite].Requests != 0 || obs.settled != charged(st) {
		t.Fatalf("ARN accepted %d, Nova got %d requests, settled %d of %d", st.Keys[arn].Accepted, st.Keys[novaLite].Requests, obs.settled, charged(st))
	}
	// Converse is model-neutral: it may cross to the other family.
	out, err := client.Converse(ctx, converseInput(usHaiku, "hello", 800))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := bedrockguard.ServedBy(out.ResultMetadata); s.ModelID != novaLite {
		t.Fatalf("Converse served by %+v, want the other family", s)
	}
	assertNoLeak(t, g)
}

// twoRegions starts a second simulator standing in for eu-west-1 and
// returns a client for it (not guarded by itself) and the simulator.
func twoRegions(t *testing.T, opts ...bedrocksim.Option) (*bedrocksim.Server, *bedrockruntime.Client) {
	t.Helper()
	sim, err := bedrocksim.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := bedrocksim.Config(srv.URL)
	cfg.Region = "eu-west-1"
	return sim, bedrockruntime.NewFromConfig(cfg)
}

func TestSpilloverToAnotherRegionAfterModelNotReady(t *testing.T) {
	us, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, simSmall), bedrocksim.WithFaults(bedrocksim.Faults{ModelNotReady: bedrocksim.Trigger{Next: 100}}))
	eu, euClient := twoRegions(t, bedrocksim.WithQuota(euHaiku, simSmall))
	obs := &spillRecorder{}
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithQuota(usHaiku, guardSmall), bedrockguard.WithQuota(euHaiku, guardSmall),
		bedrockguard.WithSpillover(usHaiku, bedrockguard.Route{ModelID: euHaiku, Client: euClient}),
		bedrockguard.WithObserver(obs), guardtest.FastRetry())
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	out, err := client.Converse(context.Background(), converseInput(usHaiku, "hello", 300))
	if err != nil {
		t.Fatal(err)
	}
	want := bedrockguard.Served{ModelID: euHaiku, Region: "eu-west-1", Reason: "model_not_ready"}
	if s, _ := bedrockguard.ServedBy(out.ResultMetadata); s != want {
		t.Fatalf("served by %+v, want %+v", s, want)
	}
	if n := us.Stats().Keys[usHaiku].Requests; n != 1 {
		t.Fatalf("primary got %d requests, want 1: the retry goes to the other region", n)
	}
	es := eu.Stats()
	if es.Keys[euHaiku].Accepted != 1 || obs.settled != charged(es) || obs.ends != 1 {
		t.Fatalf("eu accepted %d, settled %d of %d charged, %d ends", es.Keys[euHaiku].Accepted, obs.settled, charged(es), obs.ends)
	}
	// The call was paced and reserved once, on the route's key.
	if lvl := g.State(context.Background(), "eu-west-1", euHaiku).Level; lvl[1] >= 900 {
		t.Fatalf("eu tokens bucket %v: the call was not charged there", lvl)
	}
	assertNoLeak(t, g)
}

func TestSpilloverStreamToAnotherRegion(t *testing.T) {
	us, cfg := newSim(t, bedrocksim.WithQuota(usHaiku, simSmall), bedrocksim.WithOutputFraction(1))
	eu, euClient := twoRegions(t, bedrocksim.WithQuota(euHaiku, simSmall), bedrocksim.WithOutputFraction(1))
	obs := &spillRecorder{}
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithQuota(usHaiku, guardSmall), bedrockguard.WithQuota(euHaiku, guardSmall),
		bedrockguard.WithSpillover(usHaiku, bedrockguard.Route{ModelID: euHaiku, Client: euClient, MaxWait: time.Second}),
		bedrockguard.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()
	body := invokeBody(800)
	for _, want := range []string{"us-east-1", "eu-west-1"} {
		out, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(usHaiku), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ev := range out.GetStream().Events() {
			if _, ok := ev.(*types.ResponseStreamMemberChunk); ok {
				n++
			}
		}
		if err := out.GetStream().Close(); err != nil || n == 0 {
			t.Fatalf("stream: %d chunks, %v", n, err)
		}
		if s, _ := bedrockguard.ServedBy(out.ResultMetadata); s.Region != want {
			t.Fatalf("served by %+v, want %s", s, want)
		}
	}
	us1, eu1 := us.Stats(), eu.Stats()
	if us1.Keys[usHaiku].Accepted != 1 || eu1.Keys[euHaiku].Accepted != 1 {
		t.Fatalf("accepted us %d, eu %d", us1.Keys[usHaiku].Accepted, eu1.Keys[euHaiku].Accepted)
	}
	if total := charged(us1) + charged(eu1); obs.settled != total || obs.ends != 2 {
		t.Fatalf("settled %d, charged %d, %d ends", obs.settled, total, obs.ends)
	}
	assertNoLeak(t, g)
}

func TestWithSpilloverRejectsBadRoutes(t *testing.T) {
	for _, o := range []bedrockguard.Option{
		bedrockguard.WithSpillover(""),
		bedrockguard.WithSpillover(usHaiku),
		bedrockguard.WithSpillover(usHaiku, bedrockguard.Route{}),
		bedrockguard.WithSpillover(usHaiku, bedrockguard.Route{ModelID: usHaiku}),
		bedrockguard.WithSpillover(usHaiku, bedrockguard.Route{ModelID: globalHaiku, MaxWait: -1}),
		bedrockguard.WithSpillover(usHaiku, bedrockguard.Route{ModelID: globalHaiku, Client: bedrockruntime.New(bedrockruntime.Options{})}),
	} {
		_, err := bedrockguard.New(o)
		var oe *bedrockguard.OptionError
		if !errors.As(err, &oe) {
			t.Errorf("New: %v, want an *OptionError", err)
		}
	}
}
