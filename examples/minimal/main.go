// Command minimal guards a Bedrock Runtime client with one call to
// bedrockguard.Install and makes one Converse call.
//
// By default it talks to an in-process bedrocksim; -endpoint (or
// BEDROCK_ENDPOINT) points it at a running "bedrockguard sim" instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

const model = "anthropic.claude-3-5-haiku-20241022-v1:0"

func main() {
	endpoint := flag.String("endpoint", os.Getenv("BEDROCK_ENDPOINT"), "Bedrock Runtime endpoint (default: an in-process bedrocksim)")
	flag.Parse()
	if *endpoint == "" {
		sim, err := bedrocksim.New()
		if err != nil {
			log.Fatal(err)
		}
		if *endpoint, err = sim.Start("127.0.0.1:0"); err != nil {
			log.Fatal(err)
		}
		defer sim.Close()
	}
	cfg := bedrocksim.Config(*endpoint) // with real Bedrock: config.LoadDefaultConfig(ctx)

	// One option: every Bedrock Runtime client made from cfg is guarded.
	_, err := bedrockguard.Install(&cfg,
		bedrockguard.WithQuota(model, bedrockguard.Quota{TokensPerWindow: 400_000, RequestsPerWindow: 200}))
	if err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)

	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String(model),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Name three rivers."}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(200)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("stop reason %s, %d input and %d output tokens\n",
		out.StopReason, aws.ToInt32(out.Usage.InputTokens), aws.ToInt32(out.Usage.OutputTokens))
}
