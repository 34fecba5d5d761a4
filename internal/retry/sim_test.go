package retry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/classify"
	rp "github.com/bedrockguard/bedrockguard/internal/retry"
)

// simClient starts a bedrocksim server configured by o (outside any
// synctest bubble) and returns a real client for it with the given options.
func simClient(t *testing.T, o bedrocksim.Option, optFns ...func(*bedrockruntime.Options)) *bedrockruntime.Client {
	t.Helper()
	sim, err := bedrocksim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	noKeepAlive := func(o *bedrockruntime.Options) {
		o.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	return bedrockruntime.NewFromConfig(bedrocksim.Config(srv.URL), append([]func(*bedrockruntime.Options){noKeepAlive}, optFns...)...)
}

func noRetries(o *bedrockruntime.Options) { o.Retryer = aws.NopRetryer{} }

// Faults that the policy retries through: 503 burst, ModelNotReady window,
// connection reset. Each hits the first two calls; the third succeeds.
func TestSimFaultsRetried(t *testing.T) {
	two := bedrocksim.Trigger{Next: 2}
	tests := []struct {
		name   string
		faults bedrocksim.Faults
		kind   classify.Kind
		gaps   []time.Duration
	}{
		{"503 burst", bedrocksim.Faults{ServiceUnavailable: two}, classify.Unavailable,
			[]time.Duration{125 * time.Millisecond, 250 * time.Millisecond}},
		{"model not ready", bedrocksim.Faults{ModelNotReady: two}, classify.ModelNotReady,
			[]time.Duration{time.Second, 2 * time.Second}},
		{"connection reset", bedrocksim.Faults{Reset: two}, classify.Unavailable,
			[]time.Duration{125 * time.Millisecond, 250 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, rec, _ := newPolicy(t, rp.Options{Rand: fixedRand(0.5)})
			client := simClient(t, bedrocksim.WithFaults(tt.faults), p.ClientOption(), rec.stampAttempts)
			synctest.Test(t, func(t *testing.T) {
				if err := converse(t.Context(), client); err != nil {
					t.Fatalf("Converse: %v", err)
				}
			})
			if len(rec.retries) != 2 || rec.retries[0].Class.Kind != tt.kind {
				t.Fatalf("retries = %+v", rec.retries)
			}
			if !equalDurations(rec.gaps(), tt.gaps) {
				t.Errorf("gaps %v, want %v", rec.gaps(), tt.gaps)
			}
		})
	}
}

// Throttles of each kind, from the simulator's quotas, classified from the
// raw SDK error (no retries).
func TestSimThrottleKinds(t *testing.T) {
	tests := []struct {
		name  string
		quota bedrocksim.Quota
		kind  classify.Kind
	}{
		{"requests", bedrocksim.Quota{RequestsPerWindow: 1}, classify.ThrottleRequests},
		{"tokens", bedrocksim.Quota{TokensPerWindow: 30}, classify.ThrottleTokens},
		{"tokens per day", bedrocksim.Quota{TokensPerDay: 30}, classify.ThrottleTokensPerDay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := simClient(t, bedrocksim.WithDefaultQuota(tt.quota), noRetries)
			var err error
			for range 3 {
				if err = converse(t.Context(), client); err != nil {
					break
				}
			}
			c := classify.Classify(err)
			if c.Kind != tt.kind || c.Code != "ThrottlingException" || c.Status != 429 || c.MidStream {
				t.Errorf("Classify(%v) = %+v, want %v", err, c, tt.kind)
			}
		})
	}
	// Tokens per day through the policy: one attempt, a GiveUpError.
	p, _, _ := newPolicy(t, rp.Options{})
	client := simClient(t, bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerDay: 30}), p.ClientOption())
	var err error
	for range 3 {
		if err = converse(t.Context(), client); err != nil {
			break
		}
	}
	if g, ok := errors.AsType[*rp.GiveUpError](err); !ok || len(g.Attempts) != 1 || g.Attempts[len(g.Attempts)-1].Class.Kind != classify.ThrottleTokensPerDay {
		t.Errorf("tokens per day through the policy: %v", err)
	}
}

func TestSimMidStreamThrottle(t *testing.T) {
	client := simClient(t, bedrocksim.WithFaults(bedrocksim.Faults{
		StreamThrottle: bedrocksim.Trigger{Next: 1}, StreamThrottleAfter: 2}))
	out, err := client.ConverseStream(t.Context(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), Messages: hello(),
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	for range stream.Events() {
	}
	err = stream.Err()
	_ = stream.Close()
	c := classify.Classify(err)
	if !c.Throttle || !c.MidStream || c.Code != "ThrottlingException" || c.Status != 0 {
		t.Errorf("Classify(%T %v) = %+v", err, err, c)
	}
}

func TestSimSlowHeadersAndDeadline(t *testing.T) {
	p, _, logs := newPolicy(t, rp.Options{})
	client := simClient(t, bedrocksim.WithFaults(bedrocksim.Faults{
		SlowHeaders: bedrocksim.Trigger{Next: 1}, SlowHeadersDelay: 300 * time.Millisecond}), p.ClientOption())
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := converse(ctx, client)
	if c := classify.Classify(err); c.Kind != classify.Canceled {
		t.Errorf("Classify(%v) = %+v", err, c)
	}
	if errors.As(err, new(*rp.GiveUpError)) || logs.Len() != 0 {
		t.Errorf("the caller's own deadline is not a give-up: %v %s", err, logs.String())
	}
}
