package bedrockguard

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const haiku = "us.anthropic.claude-3-5-haiku-20241022-v1:0"

// A model called without a quota of its own while quotas are configured is
// warned about once, naming the closest configured ID (the typo: the
// ":0" suffix left out).
func TestWarnsOnceForModelWithoutQuota(t *testing.T) {
	var buf syncBuffer
	g, err := New(WithLogger(slog.New(slog.NewTextHandler(&buf, nil))),
		WithQuota(haiku, Quota{TokensPerWindow: 10}),
		WithQuota("amazon.nova-lite-v1:0", Quota{TokensPerWindow: 10}))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		g.limits("us-east-1", "us.anthropic.claude-3-5-haiku-20241022-v1")
		g.limits("us-east-1", haiku)
	}
	out := buf.String()
	if n := strings.Count(out, "model called without a configured quota"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, out)
	}
	for _, want := range []string{"level=WARN", "gen_ai.request.model=us.anthropic.claude-3-5-haiku-20241022-v1 ",
		"closest_configured=" + haiku, "edit_distance=2", "aws.bedrock.quota.source=learned"} {
		if !strings.Contains(out, want) {
			t.Errorf("warning lacks %q:\n%s", want, out)
		}
	}

	// Without per-model quotas there is nothing to mistype: no warning.
	var quiet syncBuffer
	d, _ := New(WithLogger(slog.New(slog.NewTextHandler(&quiet, nil))), WithDefaultQuota(Quota{TokensPerWindow: 7}))
	d.limits("us-east-1", "anything")
	if strings.Contains(quiet.String(), "WARN") {
		t.Errorf("warning without configured quotas:\n%s", quiet.String())
	}
}

// A configured quota that matched no call is warned about once, five
// minutes after the first call (on synctest's fake clock).
func TestWarnsOnceForUnusedQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf syncBuffer
		g, err := New(WithLogger(slog.New(slog.NewTextHandler(&buf, nil))),
			WithQuota(haiku, Quota{TokensPerWindow: 10}),
			WithQuota("amazon.nova-lite-v1:0", Quota{TokensPerWindow: 10}))
		if err != nil {
			t.Fatal(err)
		}
		const msg = "a configured quota matched no call"
		g.limits("us-east-1", "amazon.nova-lite-v1:0")
		time.Sleep(unusedQuotaAfter - time.Second)
		g.limits("us-east-1", "amazon.nova-lite-v1:0")
		if strings.Contains(buf.String(), msg) {
			t.Fatalf("warned before %v:\n%s", unusedQuotaAfter, buf.String())
		}
		time.Sleep(time.Second)
		for range 3 {
			g.limits("us-east-1", "amazon.nova-lite-v1:0")
		}
		out := buf.String()
		if n := strings.Count(out, msg); n != 1 {
			t.Fatalf("%d warnings, want 1:\n%s", n, out)
		}
		if !strings.Contains(out, "gen_ai.request.model="+haiku) || strings.Contains(out, "model=amazon.nova-lite-v1:0 since") {
			t.Errorf("wrong model warned about:\n%s", out)
		}
	})
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {haiku, haiku, 0},
		{"anthropic.claude-3-5-haikuu-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	long := strings.Repeat("a", 100_000)
	if got := editDistance(long, "a"); got != maxEditLen-1 {
		t.Errorf("long input: %d", got)
	}
}
