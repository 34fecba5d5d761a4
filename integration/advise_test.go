package integration

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// checkAdvise runs `bedrockguard advise -prometheus` against the real
// Prometheus that scraped the demo, over a window that holds the whole run,
// restricted to the guarded phase: it must find the model, the configured
// quota (the demo's 4,000 tokens per second), the pacing waits, a
// tokens-per-day line and the cost of the demo's made-up prices.
func checkAdvise(t *testing.T, demoBin string, prom *prometheus, begin time.Time) {
	window := time.Since(begin).Round(time.Second) + 5*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, demoBin, "advise", "-prometheus", prom.URL, "-window", window.String(),
		"-match", "bedrockguard_mode=guarded", "-quota-codes=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("advise: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Logf("advise over the demo's guarded phase:\n%s", out)
	for _, re := range []string{
		`(?m)^anthropic\.claude-3-5-haiku-20241022-v1:0 in us-east-1: [\d,]+ operations in `,
		`max_tokens: `,
		`quota:      240,000 tokens/min \(configured\); settled [\d,]+ tokens/min, \d+% of operation time waiting for pacing`,
		`per day:    [\d,]+ tokens at this rate`,
		`cost:       \d+\.\d{4} USD/hour`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("advise output lacks %s", re)
		}
	}
	if regexp.MustCompile(`unguarded`).MatchString(out) {
		t.Errorf("advise reports the unguarded phase despite -match")
	}
}
