package main

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a strings.Builder safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// TestQuotasServe starts the Service Quotas fake from the CLI, lists its
// sample quotas with `quotas -endpoint` as its banner says, and stops it
// with the context (Ctrl-C).
func TestQuotasServe(t *testing.T) {
	isolateAWSEnv(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"quotas", "-serve", "127.0.0.1:0"}, &out, &errOut) }()
	urlRE := regexp.MustCompile(`-endpoint (http://127\.0\.0\.1:\d+)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); {
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("quotas -serve exited %d: %s%s", code, out.String(), errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("no endpoint in the banner: %q", out.String())
	}
	code, list, listErr := runCLI(t, "quotas", "-region", "us-east-1", "-endpoint", url)
	if code != 0 || !strings.Contains(list, "L-F1A00001") || !strings.Contains(list, "anthropic.claude-3-5-haiku-20241022-v1:0") {
		t.Errorf("quotas against the served fake: exit %d\n%s%s", code, list, listErr)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("quotas -serve exited %d after the interrupt: %s", code, errOut.String())
	}
	if code, _, _ := runCLI(t, "quotas", "-serve", "256.0.0.1:1"); code != 2 {
		t.Errorf("quotas -serve on a bad address: exit %d, want 2", code)
	}
}
