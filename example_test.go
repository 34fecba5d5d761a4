package bedrockguard_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// Install guards every Bedrock Runtime client made from the config. Here
// the config points at an in-process simulator instead of AWS.
func ExampleInstall() {
	sim, _ := bedrocksim.New(bedrocksim.WithOutputFraction(1))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cfg := bedrocksim.Config(srv.URL) // with AWS: config.LoadDefaultConfig(ctx)

	guard, err := bedrockguard.Install(&cfg,
		bedrockguard.WithQuota("anthropic.claude-3-5-haiku-20241022-v1:0",
			bedrockguard.Quota{TokensPerWindow: 400_000, RequestsPerWindow: 400}),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 200_000}),
	)
	if err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String("anthropic.claude-3-5-haiku-20241022-v1:0"),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello"}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(16)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.StopReason, aws.ToInt32(out.Usage.OutputTokens))
	fmt.Println("reservations outstanding:", guard.Outstanding())
	// Output:
	// max_tokens 16
	// reservations outstanding: 0
}

// Invalid options fail at Install with a typed error, and leave the config
// untouched.
func ExampleInstall_invalidOption() {
	var cfg aws.Config
	_, err := bedrockguard.Install(&cfg, bedrockguard.WithQuota("", bedrockguard.Quota{TokensPerWindow: 1000}))
	fmt.Println(err)
	fmt.Println(len(cfg.ServiceOptions))
	// Output:
	// bedrockguard: invalid option WithQuota: empty model ID
	// 0
}

// LoadOption guards the clients of a config loaded with
// config.LoadDefaultConfig.
func ExampleLoadOption() {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		bedrockguard.LoadOption(bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 200_000})))
	if err != nil {
		log.Fatal(err)
	}
	_ = bedrockruntime.NewFromConfig(cfg)
}

// ClientOption guards a client made with bedrockruntime.New, or a single
// call.
func ExampleGuard_ClientOption() {
	guard, err := bedrockguard.New(bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 200_000}))
	if err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1"}, guard.ClientOption())
	_ = client
}

// WithPriority marks a context's calls as Batch: they wait behind
// Interactive calls of the same model.
func ExampleWithPriority() {
	var client *bedrockruntime.Client // made from a guarded config
	var in *bedrockruntime.ConverseInput
	// Calls made with this context wait behind Interactive ones of the same
	// model (by at most about one quota window).
	ctx := bedrockguard.WithPriority(context.Background(), bedrockguard.Batch)
	if client != nil {
		_, _ = client.Converse(ctx, in)
	}
}

// The README's quickstart: the guard goes on the config that every Bedrock
// Runtime client is made from; Batch work yields to interactive calls.
func Example_quickstart() {
	ctx := context.Background()
	in := &bedrockruntime.ConverseInput{
		ModelId: aws.String("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Summarise this ticket."}},
		}},
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	guard, err := bedrockguard.Install(&cfg,
		bedrockguard.WithQuota("us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			bedrockguard.Quota{TokensPerWindow: 400_000}),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 200_000}),
	)
	if err != nil {
		log.Fatal(err) // invalid options fail here, with a *bedrockguard.OptionError
	}
	client := bedrockruntime.NewFromConfig(cfg) // every Bedrock Runtime client made from cfg is guarded
	out, err := client.Converse(bedrockguard.WithPriority(ctx, bedrockguard.Batch), in)
	_, _, _ = guard, out, err
}
