package bedrocksim_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// TestLatencyModel runs the handler inside a synctest bubble: the fake clock
// shows the exact simulated latency, and the reported latency matches it.
func TestLatencyModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, err := bedrocksim.New(bedrocksim.WithOutputFraction(1),
			bedrocksim.WithLatency(time.Second, 10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		body := `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":32}}`
		for _, op := range []string{"converse", "converse-stream"} {
			start := time.Now()
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, httptest.NewRequest("POST", "/model/"+haiku3+"/"+op, strings.NewReader(body)))
			if got, want := time.Since(start), 1320*time.Millisecond; got != want {
				t.Errorf("%s took %v, want %v", op, got, want)
			}
			if rec.Code != 200 {
				t.Errorf("%s: status %d", op, rec.Code)
			}
			if op == "converse" && !strings.Contains(rec.Body.String(), `"latencyMs":1320`) {
				t.Errorf("converse body %s lacks latencyMs 1320", rec.Body)
			}
		}
	})
}

// TestDefaultRetryerSynctest drives the SDK's default retryer, with its
// real 1s-based throttle backoff, on synctest's fake clock: the server runs
// outside the bubble, the client inside without keep-alives.
func TestDefaultRetryerSynctest(t *testing.T) {
	sim, err := bedrocksim.New(bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 50}))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	defer ts.Close()
	synctest.Test(t, func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		client := bedrockruntime.NewFromConfig(bedrocksim.Config(ts.URL), func(o *bedrockruntime.Options) { o.HTTPClient = hc })
		start := time.Now()
		_, err := converse(t.Context(), client, haiku3, "hi", 100)
		var me *retry.MaxAttemptsError
		var te *types.ThrottlingException
		if !errors.As(err, &me) || !errors.As(err, &te) || me.Attempt != 3 {
			t.Fatalf("err = %v, want MaxAttemptsError after 3 attempts wrapping ThrottlingException", err)
		}
		// Full jitter: retry i waits rand[0,1) x 1s x 2^i, so under 3s in all.
		if d := time.Since(start); d >= 3*time.Second {
			t.Errorf("retries took %v of fake time, want < 3s", d)
		}
	})
	if got := sim.Stats().Keys[haiku3].ThrottledTokens; got != 3 {
		t.Errorf("server saw %d throttled attempts, want 3", got)
	}
}
