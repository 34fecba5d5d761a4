package bedrocksim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
	"github.com/bedrockguard/bedrockguard/internal/wire"
)

func TestBadInput(t *testing.T) {
	sim, _, url := start(t, simtest.MaxBodyBytes(1<<10))
	tests := []struct {
		name, path, body string
		status           int
		code, msg        string
	}{
		{"malformed json", "/model/" + haiku3 + "/converse", `{"messages":`, 400, "ValidationException", "Malformed input request"},
		{"not an object", "/model/" + haiku3 + "/invoke", `[1,2]`, 400, "ValidationException", "Malformed input request"},
		{"unknown model", "/model/acme.wizard-v1/converse", `{"messages":[{"role":"user","content":[{"text":"x"}]}]}`, 400, "ValidationException", wire.MsgInvalidModel},
		{"empty messages", "/model/" + haiku3 + "/converse", `{"messages":[]}`, 400, "ValidationException", "at least one message"},
		{"assistant first", "/model/" + haiku3 + "/converse", `{"messages":[{"role":"assistant","content":[{"text":"x"}]}]}`, 400, "ValidationException", "must start with a user message"},
		{"anthropic without max_tokens", "/model/" + haiku3 + "/invoke", `{"messages":[{"role":"user","content":"x"}]}`, 400, "ValidationException", "required key [max_tokens]"},
		{"max tokens over limit", "/model/" + haiku3 + "/converse", `{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":999999}}`, 400, "ValidationException", "exceeds the model limit of 4096"},
		{"oversized body", "/model/" + haiku3 + "/converse", `{"messages":[{"role":"user","content":[{"text":"` + strings.Repeat("a", 2000) + `"}]}]}`, 400, "ValidationException", "maximum size"},
		{"unknown operation", "/model/" + haiku3 + "/teleport", `{}`, 404, "UnknownOperationException", "Unknown operation"},
		{"escaped ARN model", "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Afoundation-model%2Facme.x/converse", `{}`, 400, "ValidationException", wire.MsgInvalidModel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(url+tt.path, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Message string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || resp.Header.Get("X-Amzn-ErrorType") != tt.code+wire.ErrorTypeSuffix ||
				!strings.Contains(body.Message, tt.msg) || resp.Header.Get("X-Amzn-RequestId") == "" {
				t.Errorf("got %d %q %q, want %d %s %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body.Message, tt.status, tt.code, tt.msg)
			}
		})
	}
	st := sim.Stats()
	var errs int64
	for _, ks := range st.Keys {
		for _, n := range ks.Errors {
			errs += n
		}
	}
	if st.Requests != int64(len(tests)) || errs != int64(len(tests)) {
		t.Errorf("stats counted %d requests and %d errors, want %d each", st.Requests, errs, len(tests))
	}
}

func TestThrottleWireShape(t *testing.T) {
	_, _, url := start(t, bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 10}))
	resp, err := http.Post(url+"/model/"+haiku3+"/converse", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"x"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// The 63-byte body real Bedrock sends (docs/bedrock.md#error-responses).
	if resp.StatusCode != 429 || string(b) != `{"message":"Too many tokens, please wait before trying again."}` || len(b) != 63 ||
		resp.Header.Get("X-Amzn-ErrorType") != "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/" {
		t.Errorf("got %d %s %v", resp.StatusCode, b, resp.Header)
	}
}

// TestStatsOverHTTP runs in a synctest bubble, whose clock starts on a
// second and moves only when the test sleeps.
func TestStatsOverHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, client, hc := startInBubble(t, bedrocksim.WithOutputFraction(1))
		for range 3 {
			if _, err := converse(t.Context(), client, novaLite, "hi", 5); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
		}
		resp, err := hc.Get(bubbleURL + "/_sim/stats")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st bedrocksim.Stats
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		ks := st.Keys[novaLite]
		if st.Requests != 3 || ks.Accepted != 3 || ks.OutputTokens != 15 {
			t.Errorf("stats = %+v", st)
		}
		// Calls at 0s, 1.5s and 3s fall in seconds 0, 1 and 3.
		if len(st.Timeline) != 3 || st.Timeline[2].Time.Sub(st.Timeline[0].Time) != 3*time.Second || st.Timeline[1].OutputTokens != 5 {
			t.Errorf("timeline = %+v", st.Timeline)
		}
	})
}
