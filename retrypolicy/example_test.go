package retrypolicy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/retrypolicy"
)

// Wiring the policy onto a plain Bedrock Runtime client.
func ExamplePolicy_ClientOption() {
	policy, err := retrypolicy.New(retrypolicy.WithMaxAttempts(4))
	if err != nil {
		panic(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		panic(err)
	}
	client := bedrockruntime.NewFromConfig(cfg, policy.ClientOption())
	_ = client // every call now retries per the policy

	// Invalid options fail at New with a typed error.
	_, err = retrypolicy.New(retrypolicy.WithMaxAttempts(0))
	var oe *bedrockguard.OptionError
	fmt.Println(errors.As(err, &oe), oe.Option)
	// Output: true retrypolicy.WithMaxAttempts
}

// Telling why a call failed after the policy gave up: here the account's
// tokens-per-day quota is spent, which no retry can fix.
func ExamplePolicy_ClientOption_giveUp() {
	sim, err := bedrocksim.New(bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerDay: 10}))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	policy, err := retrypolicy.New()
	if err != nil {
		panic(err)
	}
	client := bedrockruntime.NewFromConfig(bedrocksim.Config(srv.URL), policy.ClientOption())
	_, err = client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String("anthropic.claude-3-5-haiku-20241022-v1:0"),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello"}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(100)},
	})
	if g, ok := errors.AsType[*bedrockguard.GiveUpError](err); ok {
		fmt.Println(g.Reason, len(g.Attempts), g.Attempts[0].Class.Kind)
	}
	// Output: not_retryable 1 throttle_tokens_per_day
}
