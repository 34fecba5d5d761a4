package bedrocksim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// benchClient is a real client with enough idle connections for
// RunParallel.
func benchClient(url string) *bedrockruntime.Client {
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 512 })
	return bedrockruntime.NewFromConfig(bedrocksim.Config(url), func(o *bedrockruntime.Options) { o.HTTPClient = hc })
}

// BenchmarkConverseLoopback measures simulator throughput through the real
// client over loopback HTTP, latency off, no quotas, 32-token outputs.
func BenchmarkConverseLoopback(b *testing.B) {
	sim, _ := bedrocksim.New(bedrocksim.WithOutputFraction(0.5))
	ts := httptest.NewServer(sim)
	defer ts.Close()
	client := benchClient(ts.URL)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := converse(context.Background(), client, haiku3, "benchmark prompt", 64); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkConverseStreamLoopback is the same for ConverseStream, reading
// every event; one client per goroutine
// (docs/bedrock.md#concurrent-streams-on-one-client).
func BenchmarkConverseStreamLoopback(b *testing.B) {
	sim, _ := bedrocksim.New(bedrocksim.WithOutputFraction(0.5))
	ts := httptest.NewServer(sim)
	defer ts.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		client := benchClient(ts.URL)
		for pb.Next() {
			out, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
				ModelId: aws.String(haiku3), Messages: userMsg("benchmark prompt"),
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(64)},
			})
			if err != nil {
				b.Error(err)
				return
			}
			for range out.GetStream().Events() {
			}
			if err := out.GetStream().Err(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkServeHTTP is the handler alone, without HTTP or the SDK.
func BenchmarkServeHTTP(b *testing.B) {
	sim, _ := bedrocksim.New(bedrocksim.WithOutputFraction(0.5))
	body := `{"messages":[{"role":"user","content":[{"text":"benchmark prompt"}]}],"inferenceConfig":{"maxTokens":64}}`
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/model/"+haiku3+"/converse", strings.NewReader(body))
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
