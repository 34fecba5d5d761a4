package bedrockguard

import (
	"bytes"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// Each model's quota source is logged once, and again when it changes; a
// configured quota (own or default) wins over a discovered one.
func TestQuotaSource(t *testing.T) {
	var buf bytes.Buffer
	g, err := New(WithLogger(slog.New(slog.NewTextHandler(&buf, nil))), WithQuota("told", Quota{TokensPerWindow: 10}))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		g.limits("us-east-1", "m")
		g.limits("us-east-1", "told")
	}
	if got := g.quotaSource("us-east-1", "m"); got != sourceLearned {
		t.Fatalf("source %q before discovery, want learned", got)
	}
	g.setDiscovered("us-east-1", map[string]limiter.Limits{"m": {TokensPerWindow: 500}, "told": {TokensPerWindow: 99}})
	for range 3 {
		if q := g.limits("us-east-1", "m"); q.TokensPerWindow != 500 {
			t.Fatalf("discovered quota not applied: %+v", q)
		}
		if q := g.limits("us-east-1", "told"); q.TokensPerWindow != 10 {
			t.Fatalf("a discovered quota replaced a configured one: %+v", q)
		}
	}
	out := buf.String()
	for _, want := range []string{
		"gen_ai.request.model=m aws.bedrock.quota.source=learned",
		"gen_ai.request.model=told aws.bedrock.quota.source=configured",
		"gen_ai.request.model=m aws.bedrock.quota.source=discovered",
	} {
		if strings.Count(out, want) != 1 {
			t.Errorf("want one %q line, got:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "quota source"); n != 3 {
		t.Errorf("%d source lines, want 3:\n%s", n, out)
	}

	d, _ := New(WithDefaultQuota(Quota{TokensPerWindow: 7}))
	d.setDiscovered("us-east-1", map[string]limiter.Limits{"m": {TokensPerWindow: 500}})
	if q, src := d.quota("us-east-1", "m"); q.TokensPerWindow != 7 || src != sourceConfigured {
		t.Fatalf("with a default quota: %+v from %s, want the default, configured", q, src)
	}
}

// setDiscovered makes m region's discovered quotas, as if a listing had
// just ended.
func (g *Guard) setDiscovered(region string, m map[string]limiter.Limits) {
	g.discoveryCfg.CompareAndSwap(nil, &aws.Config{Region: region})
	d := g.discovery(region)
	d.next.Store(math.MaxInt64)
	d.quotas.Store(&m)
}
