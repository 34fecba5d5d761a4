// Command streaming is a streaming chat turn through a guarded client:
// ConverseStream's text deltas are printed as they arrive. The guard
// reserves tokens when the stream opens and settles them with the usage in
// the stream's metadata event; a throttle in the stream's first frame is
// retried before the stream reaches the application.
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
	"time"

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
		sim, err := bedrocksim.New(
			bedrocksim.WithLatency(100*time.Millisecond, 2*time.Millisecond),
			// The first stream is cut by a throttle before any content:
			// the guard retries it, the application never sees it.
			bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 1}}),
		)
		if err != nil {
			log.Fatal(err)
		}
		if *endpoint, err = sim.Start("127.0.0.1:0"); err != nil {
			log.Fatal(err)
		}
		defer sim.Close()
	}
	cfg := bedrocksim.Config(*endpoint)
	_, err := bedrockguard.Install(&cfg,
		bedrockguard.WithQuota(model, bedrockguard.Quota{TokensPerWindow: 400_000}))
	if err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)

	out, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(model),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Tell me about rivers."}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(120)},
	})
	if err != nil {
		log.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close() // always close: it ends the guard's accounting too
	for ev := range stream.Events() {
		switch e := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			if d, ok := e.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				fmt.Print(d.Value)
			}
		case *types.ConverseStreamOutputMemberMetadata:
			fmt.Printf("\n[%d output tokens]\n", aws.ToInt32(e.Value.Usage.OutputTokens))
		}
	}
	if err := stream.Err(); err != nil {
		log.Fatal(err) // a mid-stream failure, already classified by the guard
	}
}
