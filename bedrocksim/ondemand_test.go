package bedrocksim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// onDemandOps calls each of the four inference operations with model id and
// returns the error of the call (for the streaming ones, of opening the
// stream, or of its first event).
var onDemandOps = []struct {
	op   string
	call func(ctx context.Context, c *bedrockruntime.Client, id string) error
}{
	{"Converse", func(ctx context.Context, c *bedrockruntime.Client, id string) error {
		_, err := converse(ctx, c, id, "hi", 10, noRetry)
		return err
	}},
	{"ConverseStream", func(ctx context.Context, c *bedrockruntime.Client, id string) error {
		out, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
			ModelId: aws.String(id), Messages: userMsg("hi"),
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(10)},
		}, noRetry)
		if err != nil {
			return err
		}
		return drain(out.GetStream().Events(), out.GetStream().Err, out.GetStream().Close)
	}},
	{"InvokeModel", func(ctx context.Context, c *bedrockruntime.Client, id string) error {
		_, err := c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(id), Body: []byte(claudeBody)}, noRetry)
		return err
	}},
	{"InvokeModelWithResponseStream", func(ctx context.Context, c *bedrockruntime.Client, id string) error {
		out, err := c.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(id), Body: []byte(claudeBody)}, noRetry)
		if err != nil {
			return err
		}
		return drain(out.GetStream().Events(), out.GetStream().Err, out.GetStream().Close)
	}},
}

const claudeBody = `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`

// drain reads a stream to its end and returns its error.
func drain[T any](events <-chan T, errf func() error, closef func() error) error {
	for range events {
	}
	err := errf()
	closef()
	return err
}

// A model served only through inference profiles is rejected by its bare
// model ID (and foundation-model ARN) the way Bedrock rejects it: HTTP 400,
// ValidationException and Bedrock's message, with its U+2019 apostrophe
// (docs/bedrock.md#model-identifiers). Its inference profile IDs and
// profile ARNs keep working.
func TestProfileOnlyModelRejectsOnDemand(t *testing.T) {
	const sonnet37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
	for _, o := range onDemandOps {
		t.Run(o.op, func(t *testing.T) {
			sim, client, _ := start(t)
			for _, id := range []string{
				sonnet37,
				"anthropic.claude-sonnet-4-5-20250929-v1:0",
				"anthropic.claude-haiku-4-5-20251001-v1:0",
				"anthropic.claude-opus-4-1-20250805-v1:0",
				"amazon.nova-premier-v1:0",        // checked before the body
				"meta.llama3-2-11b-instruct-v1:0", // (a Claude body here)
				"arn:aws:bedrock:us-east-1::foundation-model/" + sonnet37,
			} {
				err := o.call(t.Context(), client, id)
				want := "Invocation of model ID " + id + " with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
				var ve *types.ValidationException
				var re *awshttp.ResponseError
				if !errors.As(err, &ve) || !errors.As(err, &re) || re.HTTPStatusCode() != 400 || ve.ErrorMessage() != want {
					t.Errorf("%s: %v", id, err)
				}
			}
			for _, id := range []string{
				"us." + sonnet37, "eu." + sonnet37, "apac." + sonnet37,
				"global.anthropic.claude-sonnet-4-5-20250929-v1:0",
				"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + sonnet37,
				"arn:aws:bedrock:us-east-1::inference-profile/us." + sonnet37,
				// On-demand models keep their bare IDs.
				"anthropic.claude-3-5-haiku-20241022-v1:0",
			} {
				if err := o.call(t.Context(), client, id); err != nil {
					t.Errorf("%s: %v", id, err)
				}
			}
			if n := sim.Stats().Keys[sonnet37].Accepted; n != 0 {
				t.Errorf("%d calls accepted for the bare ID", n)
			}
		})
	}
}
