package otelbridge_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
)

// TestNoPromptOrCompletionText sends prompts with a marker through
// successes, throttles, a mid-stream throttle and a validation error, and
// checks that neither the prompts nor the completions reach any span name,
// attribute, event, status or metric attribute.
func TestNoPromptOrCompletionText(t *testing.T) {
	tel := newTelemetry(t)
	_, _, cfg := newSim(t, []bedrocksim.Option{
		bedrocksim.WithWindow(10 * time.Second),
		bedrocksim.WithOutputFraction(1),
		bedrocksim.WithQuota(sonnet, bedrocksim.Quota{TokensPerWindow: 300}),
		bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 1}, StreamThrottleAfter: 3}),
	}, tel.bridge.Option(),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000, Window: 10 * time.Second}),
		guardtest.FastRetry(), bedrockguard.WithMaxAttempts(2))
	client := bedrockruntime.NewFromConfig(cfg)
	ctx := context.Background()

	const marker = "ZEBRA-PROMPT-MARKER"
	secrets := []string{marker}
	prompt := func(i int) string { return fmt.Sprintf("%s %d: describe the sea in detail", marker, i) }

	out, err := client.Converse(ctx, converseInput(haiku, prompt(1), 200))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range out.Output.(*types.ConverseOutputMemberMessage).Value.Content {
		if tx, ok := c.(*types.ContentBlockMemberText); ok {
			secrets = append(secrets, completionPieces(tx.Value)...)
		}
	}
	st, err := client.ConverseStream(ctx, streamInput(nova, prompt(2), 200))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := drain(t, st) // cut mid-stream
	secrets = append(secrets, completionPieces(text)...)
	// A throttle (sonnet's quota is tiny) and a validation error.
	client.Converse(ctx, converseInput(sonnet, prompt(3), 250))
	client.Converse(ctx, converseInput(sonnet, prompt(4), 250))
	client.Converse(ctx, converseInput(haiku, prompt(5), -1))
	if len(secrets) < 3 {
		t.Fatalf("no completion text to look for: %q", secrets)
	}

	var seen []string
	for _, s := range tel.spans.Ended() {
		seen = append(seen, s.Name(), s.Status().Description)
		seen = appendAttrs(seen, s.Attributes())
		for _, ev := range s.Events() {
			seen = append(seen, ev.Name)
			seen = appendAttrs(seen, ev.Attributes)
		}
		for _, l := range s.Links() {
			seen = appendAttrs(seen, l.Attributes)
		}
	}
	for _, m := range tel.metrics(t) {
		seen = append(seen, m.Name, m.Description, m.Unit)
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				seen = appendAttrs(seen, dp.Attributes.ToSlice())
				for _, ex := range dp.Exemplars {
					seen = appendAttrs(seen, ex.FilteredAttributes)
				}
			}
		case metricdata.Histogram[int64]:
			for _, dp := range d.DataPoints {
				seen = appendAttrs(seen, dp.Attributes.ToSlice())
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				seen = appendAttrs(seen, dp.Attributes.ToSlice())
			}
		case metricdata.Gauge[float64]:
			for _, dp := range d.DataPoints {
				seen = appendAttrs(seen, dp.Attributes.ToSlice())
			}
		}
	}
	if len(seen) < 50 {
		t.Fatalf("only %d strings recorded: the scenario did not run", len(seen))
	}
	for _, v := range seen {
		for _, s := range secrets {
			if strings.Contains(v, s) {
				t.Errorf("telemetry holds %q (from %q)", s, v)
			}
		}
	}
}

// completionPieces returns runs of five words of a completion: a span that
// held any part of the text would contain one.
func completionPieces(text string) []string {
	w := strings.Fields(text)
	var out []string
	for i := 0; i+5 <= len(w); i += 5 {
		out = append(out, strings.Join(w[i:i+5], " "))
	}
	return out
}

func appendAttrs(dst []string, kvs []attribute.KeyValue) []string {
	for _, kv := range kvs {
		dst = append(dst, string(kv.Key), kv.Value.String())
	}
	return dst
}
