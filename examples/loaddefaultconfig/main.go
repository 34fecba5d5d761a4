// Command loaddefaultconfig installs the guard while loading the AWS
// configuration, with bedrockguard.LoadOption for config.LoadDefaultConfig.
// Only Bedrock Runtime clients are guarded; STS, SSO and the rest are not.
//
// By default it talks to an in-process bedrocksim (with static credentials
// and a base endpoint); -endpoint (or BEDROCK_ENDPOINT) points it at a
// running "bedrockguard sim" instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
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
	ctx := context.Background()

	cfg, err := config.LoadDefaultConfig(ctx,
		bedrockguard.LoadOption(
			bedrockguard.WithQuota(model, bedrockguard.Quota{TokensPerWindow: 400_000}),
		),
		// For the simulator only; with real Bedrock drop these three.
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(*endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("sim", "sim", "")),
	)
	if err != nil {
		log.Fatal(err) // also reports invalid guard options
	}
	client := bedrockruntime.NewFromConfig(cfg)

	out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String(model),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Say hello."}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(50)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("guarded call done: %d output tokens\n", aws.ToInt32(out.Usage.OutputTokens))
}
