package bedrocksim_test

import (
	"errors"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard/internal/wire"
)

// The simulator accepts exactly the identifiers Bedrock accepts for the
// models it serves: the model ID, its cross-Region inference profile IDs and
// the ARNs of both (docs/bedrock.md#model-identifiers).
func TestModelIDsAccepted(t *testing.T) {
	_, client, _ := start(t)
	const haiku35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
	for _, id := range []string{
		haiku35,
		"us." + haiku35, "eu." + haiku35, "apac." + haiku35, "global." + haiku35,
		"amazon.titan-text-express-v1", // no version suffix: that is its ID
		"mistral.mistral-7b-instruct-v0:2",
		"arn:aws:bedrock:us-east-1::foundation-model/" + haiku35,
		"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us." + haiku35,
		"arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov." + haiku35,
		"arn:aws:bedrock:us-east-1::inference-profile/us." + haiku35,
	} {
		if _, err := converse(t.Context(), client, id, "hi", 10, noRetry); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

// Anything else gets Bedrock's answer for an unknown model: HTTP 400,
// ValidationException, "The provided model identifier is invalid.", through
// the real client.
func TestModelIDsRejected(t *testing.T) {
	sim, client, _ := start(t)
	const haiku35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
	for _, tc := range []struct{ shape, id string }{
		{"unknown model", "anthropic.claude-foo"},
		{"misspelt model", "anthropic.claude-3-5-haikuu-20241022-v1:0"},
		{"model ID without its version suffix", "anthropic.claude-3-5-haiku-20241022-v1"},
		{"profile ID without its version suffix", "us.anthropic.claude-3-5-haiku-20241022-v1"},
		{"version suffix on a model that has none", "amazon.titan-text-express-v1:0"},
		{"wrong version", "anthropic.claude-3-5-haiku-20241022-v2:0"},
		{"upper case", "Anthropic.claude-3-5-haiku-20241022-v1:0"},
		{"unknown geography", "xx." + haiku35},
		{"two geographies", "us.eu." + haiku35},
		{"family prefix only", "anthropic.claude"},
		{"inference-profile ARN of a model ID", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + haiku35},
		{"ARN of an unknown partition", "arn:aws-xx:bedrock:us-east-1::foundation-model/" + haiku35},
		{"ARN of an unknown model", "arn:aws:bedrock:us-east-1::foundation-model/acme.wizard-v1:0"},
	} {
		_, err := converse(t.Context(), client, tc.id, "hi", 10, noRetry)
		var ve *types.ValidationException
		var re *awshttp.ResponseError
		if !errors.As(err, &ve) || !errors.As(err, &re) || re.HTTPStatusCode() != 400 || ve.ErrorMessage() != wire.MsgInvalidModel {
			t.Errorf("%s (%s): %v", tc.shape, tc.id, err)
		}
	}
	// Identifiers outside the API's modelId pattern: Bedrock's message
	// then quotes the pattern ("1 validation error detected: Value '...' at
	// 'modelId' failed to satisfy constraint: ..."), which the simulator
	// does not copy; status and type are the same
	// (docs/bedrock.md#model-identifiers).
	for _, tc := range []struct{ shape, id string }{
		{"foundation-model ARN of a profile ID", "arn:aws:bedrock:us-east-1::foundation-model/us." + haiku35},
		{"foundation-model ARN with an account", "arn:aws:bedrock:us-east-1:123456789012:foundation-model/" + haiku35},
		{"ARN of another service", "arn:aws:sagemaker:us-east-1::foundation-model/" + haiku35},
		{"ARN without a region", "arn:aws:bedrock:::foundation-model/" + haiku35},
	} {
		_, err := converse(t.Context(), client, tc.id, "hi", 10, noRetry)
		var ve *types.ValidationException
		var re *awshttp.ResponseError
		if !errors.As(err, &ve) || !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
			t.Errorf("%s (%s): %v", tc.shape, tc.id, err)
		}
	}
	st := sim.Stats()
	for id, ks := range st.Keys {
		if ks.Accepted != 0 || ks.Errors[wire.CodeValidation] != 1 {
			t.Errorf("%s: %+v", id, ks)
		}
	}
}

// Output limits are the model's, whatever the identifier: Claude 3.5
// Sonnet of June 2024 takes at most 4096 on Bedrock.
func TestMaxTokensLimitPerModel(t *testing.T) {
	_, client, _ := start(t)
	const sonnet35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
	for _, id := range []string{sonnet35, "eu." + sonnet35, "arn:aws:bedrock:eu-west-1::foundation-model/" + sonnet35} {
		if _, err := converse(t.Context(), client, id, "hi", 4096, noRetry); err != nil {
			t.Errorf("%s at 4096: %v", id, err)
		}
		_, err := converse(t.Context(), client, id, "hi", 4097, noRetry)
		var ve *types.ValidationException
		const want = "The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum tokens value that is lower than 4096."
		if !errors.As(err, &ve) || ve.ErrorMessage() != want {
			t.Errorf("%s at 4097: %v", id, err)
		}
	}
}
