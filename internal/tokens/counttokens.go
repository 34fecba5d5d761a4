package tokens

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// CountTokensClient is the part of *bedrockruntime.Client that exact
// counting needs.
type CountTokensClient interface {
	CountTokens(ctx context.Context, in *bedrockruntime.CountTokensInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.CountTokensOutput, error)
}

type estimatorCallKey struct{}

// WithEstimatorCall marks ctx as carrying a call the Estimator makes itself
// (CountTokens). A guard's middleware must let such calls through unguarded,
// or estimating would recurse.
func WithEstimatorCall(ctx context.Context) context.Context {
	return context.WithValue(ctx, estimatorCallKey{}, true)
}

// IsEstimatorCall reports whether ctx was marked by [WithEstimatorCall].
func IsEstimatorCall(ctx context.Context) bool {
	v, _ := ctx.Value(estimatorCallKey{}).(bool)
	return v
}

// countTokensModels are the base model IDs the CountTokens documentation
// lists (https://docs.aws.amazon.com/bedrock/latest/userguide/count-tokens.html):
// Claude 3.5 Haiku, 3.5 Sonnet v1/v2, 3.7 Sonnet, Opus 4 and Sonnet 4.
// Inference-profile IDs are not accepted, so requests are counted under the
// base model ID.
var countTokensModels = []string{
	"anthropic.claude-3-5-haiku-",
	"anthropic.claude-3-5-sonnet-",
	"anthropic.claude-3-7-sonnet-",
	"anthropic.claude-opus-4-2",
	"anthropic.claude-sonnet-4-2",
}

// SupportsCountTokens reports whether the documentation lists a base model
// ID as supported by the CountTokens API.
func SupportsCountTokens(baseModelID string) bool {
	for _, p := range countTokensModels {
		if strings.HasPrefix(baseModelID, p) {
			return true
		}
	}
	return false
}

type exactCounter struct {
	client   CountTokensClient
	supports func(string) bool
	timeout  time.Duration
	cache    *countCache // keyed by request fingerprint; nil if caching is off
}

func newExactCounter(o Options, cache bool) *exactCounter {
	x := &exactCounter{
		client:   o.CountTokens,
		supports: o.CountTokensModels,
		timeout:  o.CountTokensTimeout,
	}
	if x.supports == nil {
		x.supports = SupportsCountTokens
	}
	if x.timeout == 0 {
		x.timeout = DefaultCountTokensTimeout
	}
	if cache {
		x.cache = newCountCache(cmpOr(o.CacheSize, DefaultCacheSize))
	}
	return x
}

// refine replaces est's input count with CountTokens' exact count.
func (x *exactCounter) refine(ctx context.Context, e *Estimator, input any, est Estimate, fp uint64) Estimate {
	base := BaseModelID(est.ModelID)
	if !x.supports(base) {
		return est
	}
	if x.cache != nil {
		if n, ok := x.cache.get(fp); ok {
			return exact(est, n)
		}
	}
	req := &bedrockruntime.CountTokensInput{ModelId: aws.String(base)}
	switch in := input.(type) {
	case *bedrockruntime.ConverseInput:
		req.Input = &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{
			Messages: in.Messages, System: in.System, ToolConfig: in.ToolConfig,
			AdditionalModelRequestFields: in.AdditionalModelRequestFields}}
	case *bedrockruntime.ConverseStreamInput:
		req.Input = &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{
			Messages: in.Messages, System: in.System, ToolConfig: in.ToolConfig,
			AdditionalModelRequestFields: in.AdditionalModelRequestFields}}
	case *bedrockruntime.InvokeModelInput:
		req.Input = &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: in.Body}}
	case *bedrockruntime.InvokeModelWithResponseStreamInput:
		req.Input = &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: in.Body}}
	default:
		return est
	}
	cctx, cancel := context.WithTimeout(WithEstimatorCall(ctx), x.timeout)
	defer cancel()
	e.ctCalls.Add(1)
	out, err := x.client.CountTokens(cctx, req)
	if err != nil || out == nil || out.InputTokens == nil || *out.InputTokens < 0 {
		e.ctErrors.Add(1)
		return est
	}
	n := int(*out.InputTokens)
	if x.cache != nil {
		x.cache.put(fp, n)
	}
	return exact(est, n)
}

func exact(est Estimate, n int) Estimate {
	est.RawInputTokens, est.InputTokens = n, n
	est.Exact, est.Fallback = true, false
	return est
}
