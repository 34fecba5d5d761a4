package retrypolicy_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/retrypolicy"
)

// Wiring the policy onto a plain Bedrock Runtime client.
func ExamplePolicy_ClientOption() {
	policy, err := retrypolicy.New(retrypolicy.Options{MaxAttempts: 4})
	if err != nil {
		panic(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		panic(err)
	}
	client := bedrockruntime.NewFromConfig(cfg, policy.ClientOption())
	_ = client // every call now retries per the policy

	// Or for every Bedrock Runtime client made from cfg:
	cfg.ServiceOptions = append(cfg.ServiceOptions, policy.ServiceOption())

	fmt.Println(policy.MaxAttempts())
	// Output: 4
}

// Telling why a call failed after the policy gave up.
func ExampleGiveUpError() {
	var err error = &retrypolicy.GiveUpError{
		Reason: retrypolicy.ReasonMaxAttempts,
		Attempts: []retrypolicy.Attempt{
			{Number: 1, Class: classify.Of(classify.ThrottleTokens), Delay: 700 * time.Millisecond},
			{Number: 2, Class: classify.Of(classify.ThrottleTokens)},
		},
	}
	if g, ok := errors.AsType[*retrypolicy.GiveUpError](err); ok {
		fmt.Println(g.Reason, len(g.Attempts), g.Last().Kind)
	}
	// Output: max_attempts 2 throttle_tokens
}

// The backoff ladder for throttles with a fixed random draw.
func ExampleFullJitter() {
	for retry := range 4 {
		fmt.Println(retrypolicy.FullJitter(retry, time.Second, 20*time.Second, 0.5))
	}
	// Output:
	// 500ms
	// 1s
	// 2s
	// 4s
}
