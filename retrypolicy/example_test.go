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
	var oe *retrypolicy.OptionError
	fmt.Println(errors.As(err, &oe), oe.Option)
	// Output: true WithMaxAttempts
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
		fmt.Println(g.Reason, len(g.Attempts), g.Attempts[len(g.Attempts)-1].Class.Kind)
	}
	// Output: max_attempts 2 throttle_tokens
}
