package classify_test

import (
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
	// A stream tap decoded an exception frame:
	// :message-type=exception, :exception-type=throttlingException.
	c := classify.FromException("throttlingException", "Too many requests, please wait before trying again.", 0, true)
	fmt.Println(c)
	// Output:
	// throttle_requests(ThrottlingException)
}
