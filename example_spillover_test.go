package bedrockguard_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// WithSpillover gives a model an alternate inference profile with a quota
// of its own: a call that would wait more than a second on the us. profile
// goes to the global. profile if that admits it sooner, and ServedBy says
// where each call was served. Here both profiles' quotas (1,000 tokens a
// minute) are so small that the first call empties the us. profile's.
func ExampleWithSpillover() {
	const us, global = "us.anthropic.claude-3-5-haiku-20241022-v1:0", "global.anthropic.claude-3-5-haiku-20241022-v1:0"
	sim, _ := bedrocksim.New(bedrocksim.WithOutputFraction(1),
		bedrocksim.WithQuota(us, bedrocksim.Quota{TokensPerWindow: 1000}),
		bedrocksim.WithQuota(global, bedrocksim.Quota{TokensPerWindow: 1000}))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cfg := bedrocksim.Config(srv.URL)

	_, err := bedrockguard.Install(&cfg,
		bedrockguard.WithLogger(slog.New(slog.DiscardHandler)),
		bedrockguard.WithQuota(us, bedrockguard.Quota{TokensPerWindow: 1000}),
		bedrockguard.WithQuota(global, bedrockguard.Quota{TokensPerWindow: 1000}),
		bedrockguard.WithSpillover(us, bedrockguard.Route{ModelID: global, MaxWait: time.Second}),
	)
	if err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	for range 2 {
		out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
			ModelId: aws.String(us),
			Messages: []types.Message{{
				Role:    types.ConversationRoleUser,
				Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello"}},
			}},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(800)},
		})
		if err != nil {
			log.Fatal(err)
		}
		s, _ := bedrockguard.ServedBy(out.ResultMetadata)
		fmt.Printf("%s in %s, reason %q\n", s.ModelID, s.Region, s.Reason)
	}
	// Output:
	// us.anthropic.claude-3-5-haiku-20241022-v1:0 in us-east-1, reason ""
	// global.anthropic.claude-3-5-haiku-20241022-v1:0 in us-east-1, reason "max_wait"
}

// A model with two alternates: its global. inference profile in the same
// Region, and its eu. profile through a client bound to eu-west-1 (the
// README's Spillover section). This example is compiled, not run: it needs
// AWS credentials.
func ExampleWithSpillover_regions() {
	ctx := context.Background()
	const (
		usSonnet     = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
		globalSonnet = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
		euSonnet     = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
	)
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		log.Fatal(err)
	}
	euCfg := cfg.Copy()
	euCfg.Region = "eu-west-1"
	in := &bedrockruntime.ConverseInput{
		ModelId: aws.String(usSonnet),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello"}},
		}},
	}

	euClient := bedrockruntime.NewFromConfig(euCfg) // a client is bound to its Region; guarded or not
	guard, err := bedrockguard.Install(&cfg,
		bedrockguard.WithQuota(usSonnet, bedrockguard.Quota{TokensPerWindow: 400_000}),
		bedrockguard.WithQuota(globalSonnet, bedrockguard.Quota{TokensPerWindow: 400_000}),
		bedrockguard.WithQuota(euSonnet, bedrockguard.Quota{TokensPerWindow: 200_000}),
		bedrockguard.WithSpillover(usSonnet,
			bedrockguard.Route{ModelID: globalSonnet, MaxWait: 2 * time.Second},
			bedrockguard.Route{ModelID: euSonnet, Client: euClient, MaxWait: 5 * time.Second}),
	)
	if err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	out, err := client.Converse(ctx, in)
	if err != nil {
		log.Fatal(err)
	}
	served, _ := bedrockguard.ServedBy(out.ResultMetadata) // {ModelID, Region, Reason}
	fmt.Println(served.ModelID, served.Region, served.Reason, guard.Outstanding())
}
