package bedrocksim_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// A simulator with a small token quota, called through the real client: the
// first call fits, the second gets Bedrock's token throttle.
func ExampleNew() {
	sim, err := bedrocksim.New(
		bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 1500}),
		bedrocksim.WithOutputFraction(0.5),
	)
	if err != nil {
		panic(err)
	}
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	client := bedrockruntime.NewFromConfig(bedrocksim.Config(url), func(o *bedrockruntime.Options) {
		o.Retryer = aws.NopRetryer{}
	})
	call := func() (*bedrockruntime.ConverseOutput, error) {
		return client.Converse(context.Background(), &bedrockruntime.ConverseInput{
			ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
			Messages: []types.Message{{Role: types.ConversationRoleUser,
				Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello, Bedrock"}}}},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(1000)},
		})
	}
	out, err := call()
	if err != nil {
		panic(err)
	}
	fmt.Println("input", *out.Usage.InputTokens, "output", *out.Usage.OutputTokens, out.StopReason)

	_, err = call()
	var te *types.ThrottlingException
	fmt.Println(errors.As(err, &te), te.ErrorMessage())
	fmt.Println("accepted", sim.Stats().Keys["anthropic.claude-3-haiku-20240307-v1:0"].Accepted)
	// Output:
	// input 7 output 500 end_turn
	// true Too many tokens, please wait before trying again.
	// accepted 1
}

// New checks its options and names the first invalid one.
func ExampleNew_invalidOption() {
	_, err := bedrocksim.New(bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: -1}))
	var oe *bedrockguard.OptionError
	if errors.As(err, &oe) {
		fmt.Println(oe.Option)
	}
	fmt.Println(err)
	// Output:
	// bedrocksim.WithDefaultQuota.TokensPerWindow
	// bedrockguard: invalid option bedrocksim.WithDefaultQuota.TokensPerWindow: -1 is negative
}
