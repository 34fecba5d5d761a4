package classify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard/classify"
)

// fault is what the fake Bedrock does for one model ID.
type fault struct {
	status  int    // error status for the initial response
	code    string // X-Amzn-ErrorType code, "" for none (unmodeled)
	message string
	// exception, when set, is a mid-stream exception-type sent after one
	// messageStart event on a 200 ConverseStream response.
	exception string
	reset     bool          // abort the connection with a TCP RST
	eof       bool          // close the connection before any response
	stall     time.Duration // wait this long before the headers
}

// fakeBedrock answers /model/{id}/converse and /converse-stream with the
// wire shapes of docs/bedrock.md#error-responses and
// docs/bedrock.md#errors-inside-a-stream.
func fakeBedrock(t *testing.T, faults map[string]fault) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/") // "", "model", id, op
		f := faults[parts[2]]
		switch {
		case f.reset || f.eof:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok && f.reset {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
			return
		case f.stall > 0:
			select {
			case <-time.After(f.stall):
			case <-r.Context().Done():
				return
			}
		}
		if f.status != 0 {
			if f.code != "" {
				w.Header().Set("X-Amzn-ErrorType", f.code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.status)
			body, _ := json.Marshal(map[string]string{"message": f.message})
			_, _ = w.Write(body)
			return
		}
		if parts[3] == "converse-stream" {
			w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
			var buf bytes.Buffer
			enc := eventstream.NewEncoder()
			frame := func(kind, typ string, payload string) {
				var h eventstream.Headers
				h.Set(":message-type", eventstream.StringValue(kind))
				if kind == "event" {
					h.Set(":event-type", eventstream.StringValue(typ))
				} else {
					h.Set(":exception-type", eventstream.StringValue(typ))
				}
				h.Set(":content-type", eventstream.StringValue("application/json"))
				if err := enc.Encode(&buf, eventstream.Message{Headers: h, Payload: []byte(payload)}); err != nil {
					t.Error(err)
				}
			}
			frame("event", "messageStart", `{"role":"assistant"}`)
			if f.exception != "" {
				body, _ := json.Marshal(map[string]string{"message": f.message})
				frame("exception", f.exception, string(body))
			} else {
				frame("event", "messageStop", `{"stopReason":"end_turn"}`)
			}
			_, _ = w.Write(buf.Bytes()) // headers go out with the first frames
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn",` +
			`"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func wireClient(url string, timeout time.Duration) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}, nil
		}),
		Retryer:    aws.NopRetryer{}, // one attempt: classify the raw error
		HTTPClient: &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}},
	})
}

var hello = []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}}

// Every row of the package doc's table and every message variant
// (docs/bedrock.md#throttling-messages), through a real client against the
// exact wire shapes.
func TestClassifyRealClient(t *testing.T) {
	t.Parallel()
	faults := map[string]fault{
		"requests-long":  {status: 429, code: "ThrottlingException", message: msgRequestsLong},
		"requests":       {status: 429, code: "ThrottlingException", message: msgRequests},
		"tokens":         {status: 429, code: "ThrottlingException", message: msgTokens},
		"tokens-per-day": {status: 429, code: "ThrottlingException", message: msgTokensPerDay},
		"unmodeled-429":  {status: 429, message: "slow down"},
		"not-ready":      {status: 429, code: "ModelNotReadyException", message: "Model is not ready for inference."},
		"unavailable":    {status: 503, code: "ServiceUnavailableException", message: "The service isn't currently available."},
		"internal":       {status: 500, code: "InternalServerException", message: "internal"},
		"unmodeled-502":  {status: 502},
		"unmodeled-504":  {status: 504},
		"model-timeout":  {status: 408, code: "ModelTimeoutException", message: "timeout"},
		"too-long":       {status: 400, code: "ValidationException", message: msgInputTooLong},
		"access-denied":  {status: 403, code: "AccessDeniedException", message: "denied"},
		"quota":          {status: 400, code: "ServiceQuotaExceededException", message: "Your request exceeds the service quota for your account."},
		"reset":          {reset: true},
		"eof":            {eof: true},
		"slow-headers":   {stall: 500 * time.Millisecond},
	}
	url := fakeBedrock(t, faults)
	tests := []struct {
		model  string
		kind   classify.Kind
		code   string
		status int
	}{
		{"requests-long", classify.ThrottleRequests, "ThrottlingException", 429},
		{"requests", classify.ThrottleRequests, "ThrottlingException", 429},
		{"tokens", classify.ThrottleTokens, "ThrottlingException", 429},
		{"tokens-per-day", classify.ThrottleTokensPerDay, "ThrottlingException", 429},
		{"unmodeled-429", classify.ThrottleUnknown, "UnknownError", 429},
		{"not-ready", classify.ModelNotReady, "ModelNotReadyException", 429},
		{"unavailable", classify.Unavailable, "ServiceUnavailableException", 503},
		{"internal", classify.Unavailable, "InternalServerException", 500},
		{"unmodeled-502", classify.Unavailable, "UnknownError", 502},
		{"unmodeled-504", classify.Unavailable, "UnknownError", 504},
		{"model-timeout", classify.Timeout, "ModelTimeoutException", 408},
		{"too-long", classify.NotRetryable, "ValidationException", 400},
		{"access-denied", classify.NotRetryable, "AccessDeniedException", 403},
		{"quota", classify.NotRetryable, "ServiceQuotaExceededException", 400},
		{"reset", classify.Unavailable, "", 0},
		{"eof", classify.Unavailable, "", 0},
	}
	client := wireClient(url, 0)
	for _, tt := range tests {
		_, err := client.Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(tt.model), Messages: hello})
		if err == nil {
			t.Errorf("%s: no error", tt.model)
			continue
		}
		c := classify.Classify(err)
		if c.Kind != tt.kind || c.Code != tt.code || c.Status != tt.status || c.MidStream {
			t.Errorf("%s: Classify(%v) = %+v, want %v %q %d", tt.model, err, c, tt.kind, tt.code, tt.status)
		}
	}

	// Slow headers: the caller's deadline is canceled, http.Client.Timeout is a timeout.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("slow-headers"), Messages: hello})
	if c := classify.Classify(err); c.Kind != classify.Canceled {
		t.Errorf("deadline: Classify(%v) = %+v", err, c)
	}
	_, err = wireClient(url, 50*time.Millisecond).Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String("slow-headers"), Messages: hello})
	if c := classify.Classify(err); c.Kind != classify.Timeout || !c.Retryable {
		t.Errorf("client timeout: Classify(%v) = %+v", err, c)
	}
}

// Mid-stream exception frames: stream.Err() is a bare modeled error.
func TestClassifyRealStream(t *testing.T) {
	t.Parallel()
	faults := map[string]fault{
		"throttle-requests": {exception: "throttlingException", message: msgRequestsLong},
		"throttle-tokens":   {exception: "throttlingException", message: msgTokens},
		"throttle-day":      {exception: "throttlingException", message: msgTokensPerDay},
		"unavailable":       {exception: "serviceUnavailableException", message: "busy"},
		"internal":          {exception: "internalServerException", message: "oops"},
		"model-stream":      {exception: "modelStreamErrorException", message: "model failed"},
		"model-timeout":     {exception: "modelTimeoutException", message: "slow"}, // not in the ConverseStream union
		"initial-429":       {status: 429, code: "ThrottlingException", message: msgTokens},
	}
	url := fakeBedrock(t, faults)
	tests := []struct {
		model     string
		kind      classify.Kind
		code      string
		midStream bool
	}{
		{"throttle-requests", classify.ThrottleRequests, "ThrottlingException", true},
		{"throttle-tokens", classify.ThrottleTokens, "ThrottlingException", true},
		{"throttle-day", classify.ThrottleTokensPerDay, "ThrottlingException", true},
		{"unavailable", classify.Unavailable, "ServiceUnavailableException", true},
		{"internal", classify.Unavailable, "InternalServerException", true},
		{"model-stream", classify.NotRetryable, "ModelStreamErrorException", true},
		{"model-timeout", classify.Timeout, "ModelTimeoutException", true},
		{"initial-429", classify.ThrottleTokens, "ThrottlingException", false},
	}
	client := wireClient(url, 0)
	for _, tt := range tests {
		out, err := client.ConverseStream(t.Context(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(tt.model), Messages: hello})
		if err == nil {
			stream := out.GetStream()
			for range stream.Events() {
			}
			err = stream.Err()
			_ = stream.Close()
		}
		if err == nil {
			t.Errorf("%s: no error", tt.model)
			continue
		}
		c := classify.Classify(err)
		if c.Kind != tt.kind || c.Code != tt.code || c.MidStream != tt.midStream {
			t.Errorf("%s: Classify(%T %v) = %+v, want %v %q mid-stream %v", tt.model, err, err, c, tt.kind, tt.code, tt.midStream)
		}
	}
}
