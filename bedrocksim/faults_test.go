package bedrocksim_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
	"github.com/bedrockguard/bedrockguard/internal/wire"
)

// TestThrottleMessages runs each case in a synctest bubble, so that no
// quota refills between its two calls.
func TestThrottleMessages(t *testing.T) {
	quota := func(q bedrocksim.Quota) []bedrocksim.Option {
		return []bedrocksim.Option{bedrocksim.WithDefaultQuota(q)}
	}
	tests := []struct {
		name  string
		opts  []bedrocksim.Option
		first bool // the first call is already refused
		want  string
		count func(bedrocksim.KeyStats) int64
	}{
		{"requests", quota(bedrocksim.Quota{RequestsPerWindow: 1}), false,
			wire.MsgTooManyRequests, func(k bedrocksim.KeyStats) int64 { return k.ThrottledRequests }},
		{"requests short", append(quota(bedrocksim.Quota{RequestsPerWindow: 1}), simtest.ShortRequestsMessage()), false,
			wire.MsgTooManyRequestsShort, func(k bedrocksim.KeyStats) int64 { return k.ThrottledRequests }},
		{"tokens", quota(bedrocksim.Quota{TokensPerWindow: 150}), false,
			wire.MsgTooManyTokens, func(k bedrocksim.KeyStats) int64 { return k.ThrottledTokens }},
		{"tokens never fit", quota(bedrocksim.Quota{TokensPerWindow: 50}), true,
			wire.MsgTooManyTokens, func(k bedrocksim.KeyStats) int64 { return k.ThrottledTokens }},
		{"tokens per day", quota(bedrocksim.Quota{TokensPerWindow: 1000, TokensPerDay: 150}), false,
			wire.MsgTooManyTokensPerDay, func(k bedrocksim.KeyStats) int64 { return k.ThrottledTokensPerDay }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim, client, _ := startInBubble(t, append(tt.opts, bedrocksim.WithOutputFraction(1))...)
				ctx := t.Context()
				if !tt.first {
					if _, err := converse(ctx, client, haiku3, "hi", 100, noRetry); err != nil {
						t.Fatal(err)
					}
				}
				_, err := converse(ctx, client, haiku3, "hi", 100, noRetry)
				var te *types.ThrottlingException
				if !errors.As(err, &te) || te.ErrorMessage() != tt.want {
					t.Fatalf("err = %v, want ThrottlingException %q", err, tt.want)
				}
				if got := tt.count(sim.Stats().Keys[haiku3]); got != 1 {
					t.Errorf("throttle counter = %d, want 1", got)
				}
			})
		})
	}
}

// TestRetryBehaviour checks how the SDK's default Standard retryer treats
// each simulated error (docs/bedrock.md#sdk-retries).
func TestRetryBehaviour(t *testing.T) {
	tests := []struct {
		name     string
		opts     bedrocksim.Option
		wantErr  any
		attempts int64
		ok       bool
	}{
		{"throttle retried 3 times", bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 50}), new(*types.ThrottlingException), 3, false},
		{"model not ready not retried", bedrocksim.WithFaults(bedrocksim.Faults{ModelNotReady: bedrocksim.Trigger{Next: 5}}), new(*types.ModelNotReadyException), 1, false},
		{"503 retried", bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 5}}), new(*types.ServiceUnavailableException), 3, false},
		{"two 503 then success", bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Next: 2}}), nil, 3, true},
		{"reset then success", bedrocksim.WithFaults(bedrocksim.Faults{Reset: bedrocksim.Trigger{Next: 1}}), nil, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, client, _ := start(t, tt.opts)
			_, err := converse(context.Background(), client, haiku3, "hi", 100)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v, want %T", err, tt.wantErr)
				}
				var me *retry.MaxAttemptsError
				if gotMax := errors.As(err, &me); gotMax != (tt.attempts > 1) {
					t.Errorf("MaxAttemptsError = %v, want %v (err %v)", gotMax, tt.attempts > 1, err)
				}
			}
			if got := sim.Stats().Keys[haiku3].Requests; got != tt.attempts {
				t.Errorf("server saw %d attempts, want %d", got, tt.attempts)
			}
		})
	}
}

// TestFaultUntilUsesAccountingClock runs in a synctest bubble: the
// accounting clock is the bubble's fake clock.
func TestFaultUntilUsesAccountingClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, client, _ := startInBubble(t)
		sim.SetFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Until: time.Now().Add(3 * time.Second)}})
		ctx := t.Context()
		for range 2 {
			var su *types.ServiceUnavailableException
			if _, err := converse(ctx, client, haiku3, "hi", 10, noRetry); !errors.As(err, &su) {
				t.Fatalf("err = %v, want ServiceUnavailableException", err)
			}
		}
		time.Sleep(3 * time.Second)
		if _, err := converse(ctx, client, haiku3, "hi", 10, noRetry); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		ks := sim.Stats().Keys[haiku3]
		if ks.Errors[wire.CodeServiceUnavailable] != 2 || ks.Accepted != 1 || ks.Requests != 3 {
			t.Errorf("stats = %+v", ks)
		}
	})
}

func TestFaultRateDeterministic(t *testing.T) {
	run := func() (pattern string) {
		_, client, _ := start(t, simtest.Seed(7), bedrocksim.WithFaults(bedrocksim.Faults{ServiceUnavailable: bedrocksim.Trigger{Rate: 0.5}}))
		for range 20 {
			if _, err := converse(context.Background(), client, haiku3, "hi", 10, noRetry); err != nil {
				pattern += "x"
			} else {
				pattern += "."
			}
		}
		return pattern
	}
	a, b := run(), run()
	if a != b {
		t.Errorf("fault pattern differs with the same seed:\n%s\n%s", a, b)
	}
	if !containsBoth(a) {
		t.Errorf("rate 0.5 over 20 calls gave %s", a)
	}
}

func containsBoth(s string) bool {
	var x, dot bool
	for _, c := range s {
		x, dot = x || c == 'x', dot || c == '.'
	}
	return x && dot
}

func TestMidStreamThrottle(t *testing.T) {
	for _, after := range []int{0, 2} {
		sim, client, _ := start(t, bedrocksim.WithOutputFraction(1), bedrocksim.WithFaults(bedrocksim.Faults{
			StreamThrottle: bedrocksim.Trigger{Next: 1}, StreamThrottleAfter: after}))
		out, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
			ModelId: aws.String(haiku3), Messages: userMsg("hi"),
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(40)},
		})
		if err != nil {
			t.Fatalf("after %d: ConverseStream err = %v, want nil (the throttle comes in the stream)", after, err)
		}
		n := 0
		for range out.GetStream().Events() {
			n++
		}
		var te *types.ThrottlingException
		if err := out.GetStream().Err(); !errors.As(err, &te) || te.ErrorMessage() != wire.MsgTooManyTokens {
			t.Errorf("after %d: stream.Err() = %v, want ThrottlingException", after, err)
		}
		if n != after {
			t.Errorf("got %d events before the throttle, want %d", n, after)
		}
		ks := sim.Stats().Keys[haiku3]
		if ks.Requests != 1 || ks.ThrottledMidStream != 1 || ks.OutputTokens != int64(4*max(0, after-1)) {
			t.Errorf("after %d: stats = %+v", after, ks)
		}
	}
}

func TestQuotaDropAtTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, client, _ := startInBubble(t, bedrocksim.WithOutputFraction(1),
			bedrocksim.WithDefaultQuota(bedrocksim.Quota{RequestsPerWindow: 4}))
		sim.SetFaults(bedrocksim.Faults{QuotaDropFraction: 0.25, QuotaDropAt: time.Now().Add(time.Minute)})
		ctx := t.Context()
		for i := range 2 {
			if _, err := converse(ctx, client, haiku3, "hi", 1, noRetry); err != nil {
				t.Fatalf("call %d before the drop: %v", i, err)
			}
		}
		time.Sleep(time.Minute) // refilled to 4, then cut to 1 by the drop
		if _, err := converse(ctx, client, haiku3, "hi", 1, noRetry); err != nil {
			t.Fatalf("first call after the drop: %v", err)
		}
		var te *types.ThrottlingException
		if _, err := converse(ctx, client, haiku3, "hi", 1, noRetry); !errors.As(err, &te) {
			t.Fatalf("second call after the drop: %v, want ThrottlingException", err)
		}
	})
}

func TestInvokeStreamThrottle(t *testing.T) {
	_, client, _ := start(t, bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 1}, StreamThrottleAfter: 1}))
	out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(novaLite), Body: []byte(familyCases[1].body)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range out.GetStream().Events() {
		n++
	}
	var te *types.ThrottlingException
	if err := out.GetStream().Err(); !errors.As(err, &te) || n != 1 {
		t.Errorf("%d events then %v, want 1 then ThrottlingException", n, err)
	}
}
