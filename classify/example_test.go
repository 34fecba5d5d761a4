package classify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bedrockguard/bedrockguard/classify"
)

func ExampleClassify() {
	// What bedrockruntime's Converse returns for a 429 token throttle.
	err := &smithy.OperationError{
		ServiceID: "Bedrock Runtime", OperationName: "Converse",
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 429}},
			Err:      &types.ThrottlingException{Message: aws.String("Too many tokens, please wait before trying again.")},
		}},
	}
	c := classify.Classify(err)
	fmt.Println(c.Kind, c.Retryable, c.Throttle, c.Code, c.Status, c.MidStream)

	// The same throttle arriving mid-stream, from stream.Err().
	c = classify.Classify(&types.ThrottlingException{Message: aws.String("Too many tokens per day, please wait before trying again.")})
	fmt.Println(c.Kind, c.Retryable, c.MidStream)
	// Output:
	// throttle_tokens true true ThrottlingException 429 false
	// throttle_tokens_per_day false true
}

func ExampleFromException() {
	// Your own stream reader decoded an exception frame:
	// :message-type=exception, :exception-type=throttlingException.
	c := classify.FromException("throttlingException", "Too many requests, please wait before trying again.")
	fmt.Println(c, c.Retryable, c.MidStream)
	// Output:
	// throttle_requests(ThrottlingException) true true
}

var errProxyBusy = errors.New("corporate proxy busy")

func ExampleWith() {
	c := classify.With(classify.ClassifierFunc(func(err error) classify.Class {
		if errors.Is(err, errProxyBusy) {
			return classify.Of(classify.Unavailable)
		}
		return classify.Class{} // no opinion: ask the default rules
	}))

	fmt.Println(c.Classify(fmt.Errorf("send: %w", errProxyBusy)))
	fmt.Println(c.Classify(context.Canceled))
	// Output:
	// unavailable
	// canceled
}

func ExampleOf() {
	// The defaults a custom classifier gets when it answers with Of.
	for _, k := range []classify.Kind{classify.ThrottleTokens, classify.ThrottleTokensPerDay, classify.Unavailable} {
		c := classify.Of(k)
		fmt.Println(c.Kind, "retryable:", c.Retryable, "throttle:", c.Throttle)
	}
	// Output:
	// throttle_tokens retryable: true throttle: true
	// throttle_tokens_per_day retryable: false throttle: true
	// unavailable retryable: true throttle: false
}
