package bedrockguard_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// TestHugeMaxTokensDoesNotPoisonTheKey: an InvokeModel body with a
// max_tokens of 2^63-1 is refused or clamped; the key's bucket stays sane and
// the next ordinary call passes (issue 14, item 1).
func TestHugeMaxTokensDoesNotPoisonTheKey(t *testing.T) {
	_, cfg := newSim(t)
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 100_000}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	for _, mt := range []string{"9223372036854775807", "2000000000000000000", "-1"} {
		body := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":` + mt + `,"messages":[{"role":"user","content":"hi"}]}`
		client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: []byte(body)})
	}
	st := g.State(context.Background(), cfg.Region, haiku)
	if lv := st.Level[pacing.Tokens]; lv != lv || lv < -100_000 {
		t.Fatalf("token level %v after hostile max_tokens", lv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.Converse(ctx, converseInput(haiku, "hello", 100)); err != nil {
		t.Fatalf("ordinary call after hostile max_tokens: %v", err)
	}
	assertNoLeak(t, g)
}

// panicky panics in every callback named in at.
type panicky struct {
	bedrockguard.NopObserver
	at   map[string]bool
	ends atomic.Int32
}

func (p *panicky) maybe(name string) {
	if p.at[name] {
		panic("observer bug in " + name)
	}
}
func (p *panicky) Start(ctx context.Context, _ *bedrockguard.Call) context.Context {
	p.maybe("Start")
	return ctx
}
func (p *panicky) Paced(context.Context, *bedrockguard.Call, time.Duration, error) { p.maybe("Paced") }
func (p *panicky) AttemptStart(ctx context.Context, _ *bedrockguard.Call, _ int) context.Context {
	p.maybe("AttemptStart")
	return ctx
}
func (p *panicky) AttemptEnd(context.Context, *bedrockguard.Call, bedrockguard.AttemptEvent) {
	p.maybe("AttemptEnd")
}
func (p *panicky) Settled(context.Context, *bedrockguard.Call, bedrockguard.SettleEvent) {
	p.maybe("Settled")
}
func (p *panicky) Throttled(context.Context, *bedrockguard.Call, bedrockguard.ThrottleEvent) {
	p.maybe("Throttled")
}
func (p *panicky) End(context.Context, *bedrockguard.Call, error) {
	p.ends.Add(1)
	p.maybe("End")
}

// TestPanickingCallbacksAreContained: a panic in any Observer method or in a
// Classifier is contained (not re-raised), the reservation is settled or
// released and End is called (issue 14, item 4).
func TestPanickingCallbacksAreContained(t *testing.T) {
	for _, at := range []string{"Start", "Paced", "AttemptStart", "AttemptEnd", "Settled", "End", "Classify"} {
		t.Run(at, func(t *testing.T) {
			_, cfg := newSim(t, bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 1}}))
			obs := &panicky{at: map[string]bool{at: true}}
			cls := classify.ClassifierFunc(func(error) classify.Class {
				if at == "Classify" {
					panic("classifier bug")
				}
				return classify.Class{}
			})
			g, err := bedrockguard.Install(&cfg, bedrockguard.WithObserver(obs), bedrockguard.WithClassifier(cls),
				bedrockguard.WithLogger(slog.New(slog.DiscardHandler)), guardtest.FastRetry(),
				bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 100_000}))
			if err != nil {
				t.Fatal(err)
			}
			client := bedrockruntime.NewFromConfig(cfg)
			for range 2 {
				if _, err := client.Converse(context.Background(), converseInput(haiku, "hello", 100)); err != nil {
					t.Fatalf("call failed: %v", err)
				}
			}
			if n := obs.ends.Load(); n != 2 {
				t.Fatalf("End called %d times, want 2", n)
			}
			assertNoLeak(t, g)
		})
	}
}

// TestCancelledInFlightCountsAsCharged: a call cancelled after its request
// was sent, before the answer, keeps its reservation charged (Bedrock
// counted it when it admitted it); a call refused by the service is
// released (issue 14, item 6).
func TestCancelledInFlightCountsAsCharged(t *testing.T) {
	_, cfg := newSim(t, bedrocksim.WithFaults(bedrocksim.Faults{SlowHeaders: bedrocksim.Trigger{Next: 1}, SlowHeadersDelay: time.Hour}))
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 100_000, Window: time.Hour}),
		guardtest.Pacing(func(c *limiter.Config) { c.InitialFill = 1 }), bedrockguard.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	level := func() float64 { return g.State(context.Background(), cfg.Region, haiku).Level[pacing.Tokens] }
	before := level()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { cancel() }})
	var reserved int64
	if _, err := client.Converse(ctx, converseInput(haiku, "hello", 1000)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	reserved = 1000 // at least max_tokens is reserved on haiku 3.5 (burndown 1)
	if spent := before - level(); spent < float64(reserved)-1 {
		t.Fatalf("bucket spent %.0f after a call cancelled in flight, want its reservation (>= %d) charged", spent, reserved)
	}
	assertNoLeak(t, g)
}
