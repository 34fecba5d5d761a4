package quotas_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/quotas"
	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

// handlerClient serves the SDK's requests with a handler in process.
type handlerClient struct{ h http.Handler }

func (c handlerClient) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

const haiku = "anthropic.claude-3-5-haiku-20241022-v1:0"

func install(t *testing.T, h http.Handler, opts ...bedrockguard.Option) (*bedrockguard.Guard, *logBuf) {
	t.Helper()
	var logs logBuf
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient:  handlerClient{h},
	}
	opts = append(opts, bedrockguard.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	g, err := bedrockguard.Install(&cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g, &logs
}

// The account's quota is discovered in the background, through Service
// Quotas' own throttles, and applies to a model without a configured one;
// a configured quota wins.
func TestBackgroundDiscovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := quotastest.Handler(quotastest.Sample(), quotastest.WithThrottleFirst(2))
		g, logs := install(t, h, quotas.Background(),
			bedrockguard.WithQuota("amazon.nova-lite-v1:0", bedrockguard.Quota{TokensPerWindow: 1000}))
		ctx := context.Background()
		if st := g.State(ctx, "us-east-1", haiku); st.Limited[pacing.Tokens] && st.Rate[pacing.Tokens] == 400000 {
			t.Fatal("the quota was there before discovery ran")
		}
		time.Sleep(time.Minute) // the fake throttles the first two calls: 1 s and 2 s of backoff
		synctest.Wait()
		if st := g.State(ctx, "us-east-1", haiku); st.Rate[pacing.Tokens] != 400000 || st.Rate[pacing.Requests] != 200 {
			t.Fatalf("discovered rates %v, want 400000 tokens and 200 requests per window", st.Rate)
		}
		// A tokens-per-day quota is discovered and counted too.
		if st := g.State(ctx, "us-east-1", "anthropic.claude-sonnet-4-5-20250929-v1:0"); !st.DayLimited || st.DayRemaining != 288000000 {
			t.Fatalf("discovered day: limited %v, remaining %v; want 288000000", st.DayLimited, st.DayRemaining)
		}
		if st := g.State(ctx, "us-east-1", "amazon.nova-lite-v1:0"); st.Rate[pacing.Tokens] != 1000 {
			t.Fatalf("a configured quota was replaced by a discovered one: %v", st.Rate)
		}
		if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "failed") {
			t.Fatalf("logs:\n%s", logs)
		}
	})
}

// Without the permission, discovery fails once, quietly (one Info line),
// and the model learns its quota; no call waits for it.
func TestBackgroundDiscoveryDenied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		denied := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"AccessDeniedException","message":"not authorized"}`))
		})
		g, logs := install(t, denied, quotas.Background())
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := g.State(context.Background(), "us-east-1", haiku); st.Limited[pacing.Tokens] && st.Rate[pacing.Tokens] > 0 && !isInf(st.Rate[pacing.Tokens]) {
			t.Fatalf("rates %v after a denied discovery, want none (learned)", st.Rate)
		}
		out := logs.String()
		if n := strings.Count(out, "quota discovery failed"); n != 1 || !strings.Contains(out, "level=INFO") || strings.Contains(out, "level=WARN") {
			t.Fatalf("want one Info line about the failed discovery, got:\n%s", out)
		}
	})
}

func isInf(f float64) bool { return f > 1e300 }

func TestBackgroundInvalidOption(t *testing.T) {
	if _, err := bedrockguard.New(quotas.Background(quotas.WithRegion("US EAST"))); err == nil {
		t.Fatal("an invalid discovery option did not fail New")
	}
}

// Each Region a guarded client calls is discovered with that Region's
// quotas, in the background, on its first call; and every Region's
// listing is refreshed an hour later, on a call, so a granted increase
// applies without a restart.
func TestBackgroundDiscoveryPerRegionAndRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sample := quotastest.Sample()
		raised := quotastest.Sample()
		for i := range raised {
			if raised[i].Code == "L-F1A00001" { // Claude 3.5 Haiku tokens per minute
				raised[i].Value = 800000
			}
		}
		var (
			mu     sync.Mutex
			hosts  = map[string]int{}
			quotaH = quotastest.Handler(sample)
		)
		sim, err := bedrocksim.New()
		if err != nil {
			t.Fatal(err)
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Host, "bedrock-runtime.") {
				sim.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			hosts[r.URL.Host]++
			qh := quotaH
			mu.Unlock()
			qh.ServeHTTP(w, r)
		})
		listed := func(region string) int {
			mu.Lock()
			defer mu.Unlock()
			return hosts["servicequotas."+region+".amazonaws.com"]
		}
		var logs logBuf
		cfg := aws.Config{
			Region:      "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
			HTTPClient:  handlerClient{h},
		}
		g, err := bedrockguard.Install(&cfg, quotas.Background(),
			bedrockguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		call := func(region string) {
			t.Helper()
			c := cfg.Copy()
			c.Region = region
			_, err := bedrockruntime.NewFromConfig(c).Converse(context.Background(), &bedrockruntime.ConverseInput{
				ModelId: aws.String(haiku),
				Messages: []types.Message{{Role: types.ConversationRoleUser,
					Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello"}}}},
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(10)},
			})
			if err != nil {
				t.Fatalf("Converse in %s: %v", region, err)
			}
		}
		ctx := context.Background()
		tokens := func(region string) float64 { return g.State(ctx, region, haiku).Rate[pacing.Tokens] }

		time.Sleep(time.Minute)
		synctest.Wait()
		if listed("us-east-1") == 0 || listed("eu-west-1") != 0 {
			t.Fatalf("listings after Install: %v, want us-east-1 only", hosts)
		}
		call("eu-west-1")
		time.Sleep(time.Minute)
		synctest.Wait()
		if listed("eu-west-1") == 0 || tokens("eu-west-1") != 400000 {
			t.Fatalf("eu-west-1 after its first call: %d listings, rate %v; want its quota, 400000", listed("eu-west-1"), tokens("eu-west-1"))
		}

		// The quota is raised; calls within the hour do not list again.
		mu.Lock()
		quotaH = quotastest.Handler(raised)
		mu.Unlock()
		before := listed("us-east-1")
		call("us-east-1")
		synctest.Wait()
		if listed("us-east-1") != before || tokens("us-east-1") != 400000 {
			t.Fatalf("listed again within the hour (%d -> %d) or rate %v changed", before, listed("us-east-1"), tokens("us-east-1"))
		}
		time.Sleep(time.Hour)
		call("us-east-1")
		time.Sleep(time.Minute)
		synctest.Wait()
		call("us-east-1")
		if got := tokens("us-east-1"); got != 800000 {
			t.Fatalf("us-east-1 an hour later: rate %v, want the raised quota 800000 (%d listings)", got, listed("us-east-1"))
		}
		if strings.Contains(logs.String(), "level=WARN") {
			t.Fatalf("logs:\n%s", logs.String())
		}
	})
}
