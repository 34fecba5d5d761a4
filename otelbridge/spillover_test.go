package otelbridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"go.opentelemetry.io/otel/attribute"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

func TestSpilloverSetsTheServedModelAndCountsByReason(t *testing.T) {
	const us, global = "us." + haiku, "global." + haiku
	tel := newTelemetry(t)
	q := bedrocksim.Quota{TokensPerWindow: 1000}
	gq := bedrockguard.Quota{TokensPerWindow: 1000}
	_, _, cfg := newSim(t, []bedrocksim.Option{bedrocksim.WithQuota(us, q), bedrocksim.WithQuota(global, q), bedrocksim.WithOutputFraction(1)},
		bedrockguard.WithQuota(us, gq), bedrockguard.WithQuota(global, gq), tel.bridge.Option(),
		bedrockguard.WithSpillover(us, bedrockguard.Route{ModelID: global, MaxWait: time.Second}))
	client := bedrockruntime.NewFromConfig(cfg)
	for range 2 { // the second call finds the primary's bucket empty
		if _, err := client.Converse(context.Background(), converseInput(us, "hello", 800)); err != nil {
			t.Fatal(err)
		}
	}
	spans := tel.spans.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	for i, want := range []string{us, global} {
		attrs := spans[i].Attributes()
		if v, _ := attrOf(attrs, "gen_ai.response.model"); v.AsString() != want {
			t.Errorf("span %d: gen_ai.response.model %q, want %q", i, v.AsString(), want)
		}
		if v, _ := attrOf(attrs, "gen_ai.request.model"); v.AsString() != us {
			t.Errorf("span %d: gen_ai.request.model %q, want the model asked for", i, v.AsString())
		}
	}
	if v, _ := attrOf(spans[1].Attributes(), "aws.bedrock.spillover.reason"); v.AsString() != "max_wait" {
		t.Errorf("spilled span: reason %q", v.AsString())
	}
	if _, ok := attrOf(spans[0].Attributes(), "aws.bedrock.spillover.reason"); ok {
		t.Error("the primary's span has a spillover reason")
	}
	m := tel.metrics(t)
	n := sumCounter(t, m["aws.bedrock.spillover"], func(s attribute.Set) bool {
		r, _ := s.Value("aws.bedrock.spillover.reason")
		served, _ := s.Value("gen_ai.response.model")
		asked, _ := s.Value("gen_ai.request.model")
		return r.AsString() == "max_wait" && served.AsString() == global && asked.AsString() == us
	})
	if n != 1 {
		t.Fatalf("aws.bedrock.spillover = %d, want 1", n)
	}
}
