package bedrockguard_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
)

// cannedConverse answers every request with the same Converse response, in
// memory, so that benchmarks measure the client stack and not a network.
type cannedConverse struct{}

const converseBody = `{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn",` +
	`"usage":{"inputTokens":12,"outputTokens":2,"totalTokens":14},"metrics":{"latencyMs":5}}`

func (cannedConverse) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    200,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Amzn-Requestid": {"bench"}},
		Body:          io.NopCloser(strings.NewReader(converseBody)),
		ContentLength: int64(len(converseBody)),
		Request:       r,
	}, nil
}

func benchConverse(b *testing.B, guarded bool) {
	cfg := bedrocksim.Config("http://127.0.0.1:1") // credentials and region; never dialled
	cfg.HTTPClient = cannedConverse{}
	if guarded {
		// A trivial tokenizer: the benchmark measures pacing and middleware,
		// not tiktoken (see the tokens package's benchmarks for that).
		_, err := bedrockguard.Install(&cfg,
			bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1e12, RequestsPerWindow: 1e12}),
			guardtest.Tokenizer(func(s string) int { return len(s) / 4 }))
		if err != nil {
			b.Fatal(err)
		}
	}
	client := bedrockruntime.NewFromConfig(cfg)
	in := converseInput(haiku, "How many tokens is this?", 64)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Converse(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConverse compares a bare client with a guarded one on an
// in-memory transport; the difference is the guard's added cost per call
// when no wait is needed.
func BenchmarkConverse(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchConverse(b, false) })
	b.Run("guarded", func(b *testing.B) { benchConverse(b, true) })
}
