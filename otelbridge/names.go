package otelbridge

import "go.opentelemetry.io/otel/attribute"

// ScopeName is the instrumentation scope of the bridge's tracer and meter.
const ScopeName = "github.com/bedrockguard/bedrockguard/otelbridge"

// Metric names. They are stable: alert rules and dashboards are written
// against them (see the package documentation for their Prometheus forms).
const (
	// MetricTokenUsage is the GenAI token usage histogram ({token}).
	MetricTokenUsage = "gen_ai.client.token.usage"
	// MetricOperationDuration is the GenAI operation duration histogram (s).
	MetricOperationDuration = "gen_ai.client.operation.duration"
	// MetricTimeToFirstChunk is the GenAI time-to-first-chunk histogram of
	// streaming operations (s).
	MetricTimeToFirstChunk = "gen_ai.client.operation.time_to_first_chunk"
	// MetricThrottles counts throttles ({throttle}).
	MetricThrottles = "aws.bedrock.throttles"
	// MetricRetries counts retries ({retry}).
	MetricRetries = "aws.bedrock.retries"
	// MetricRetryBudgetExhausted counts retries refused by an empty retry
	// budget ({retry}).
	MetricRetryBudgetExhausted = "aws.bedrock.retry_budget.exhausted"
	// MetricPacingWait is the pacing wait histogram (s).
	MetricPacingWait = "aws.bedrock.pacing.wait"
	// MetricPacingRejected counts attempts pacing refused ({request}).
	MetricPacingRejected = "aws.bedrock.pacing.rejected"
	// MetricPacingRate is the current adaptive rate per key and limit.
	MetricPacingRate = "aws.bedrock.pacing.rate"
	// MetricTokensReserved counts tokens reserved at admission ({token}).
	MetricTokensReserved = "aws.bedrock.tokens.reserved"
	// MetricTokensSettled counts tokens settled with the reported usage
	// ({token}).
	MetricTokensSettled = "aws.bedrock.tokens.settled"
	// MetricPacingStoreErrors counts the pacing Store calls that failed (a
	// shared Redis store down) and were served by local pacing instead.
	MetricPacingStoreErrors = "aws.bedrock.pacing.store_errors"
	// MetricEstimateRatio is the histogram of estimated over reported input
	// tokens (1).
	MetricEstimateRatio = "aws.bedrock.tokens.estimate_ratio"
)

// EventThrottle is the name of the span event recorded for every throttle.
const EventThrottle = "aws.bedrock.throttle"

// GenAI and general semantic-convention keys. The otel semconv packages
// from v1.42 no longer carry the GenAI keys, so they are declared here.
const (
	// KeyOperationName is gen_ai.operation.name: "chat" or
	// "text_completion".
	KeyOperationName = attribute.Key("gen_ai.operation.name")
	// KeyProviderName is gen_ai.provider.name, always "aws.bedrock".
	KeyProviderName = attribute.Key("gen_ai.provider.name")
	// KeyRequestModel is gen_ai.request.model: the model ID, inference
	// profile ID or ARN the request named.
	KeyRequestModel = attribute.Key("gen_ai.request.model")
	// KeyRequestMaxTokens is gen_ai.request.max_tokens, as reserved (the
	// request's value or the model's default).
	KeyRequestMaxTokens = attribute.Key("gen_ai.request.max_tokens")
	// KeyRequestStream is gen_ai.request.stream.
	KeyRequestStream = attribute.Key("gen_ai.request.stream")
	// KeyUsageInputTokens is gen_ai.usage.input_tokens (cached tokens
	// included).
	KeyUsageInputTokens = attribute.Key("gen_ai.usage.input_tokens")
	// KeyUsageOutputTokens is gen_ai.usage.output_tokens.
	KeyUsageOutputTokens = attribute.Key("gen_ai.usage.output_tokens")
	// KeyUsageCacheReadTokens is gen_ai.usage.cache_read.input_tokens.
	KeyUsageCacheReadTokens = attribute.Key("gen_ai.usage.cache_read.input_tokens")
	// KeyUsageCacheCreationTokens is gen_ai.usage.cache_creation.input_tokens.
	KeyUsageCacheCreationTokens = attribute.Key("gen_ai.usage.cache_creation.input_tokens")
	// KeyResponseFinishReasons is gen_ai.response.finish_reasons.
	KeyResponseFinishReasons = attribute.Key("gen_ai.response.finish_reasons")
	// KeyResponseTimeToFirstChunk is gen_ai.response.time_to_first_chunk,
	// in seconds, on stream spans.
	KeyResponseTimeToFirstChunk = attribute.Key("gen_ai.response.time_to_first_chunk")
	// KeyTokenType is gen_ai.token.type: "input" or "output".
	KeyTokenType = attribute.Key("gen_ai.token.type")
	// KeyCloudRegion is cloud.region.
	KeyCloudRegion = attribute.Key("cloud.region")
	// KeyAWSRequestID is aws.request_id (spans only, never metrics).
	KeyAWSRequestID = attribute.Key("aws.request_id")
	// KeyErrorType is error.type: the service error code (such as
	// "ThrottlingException"), or the guard's class name when the error
	// carried no code (such as "timeout").
	KeyErrorType = attribute.Key("error.type")
	// KeyResendCount is http.request.resend_count, on the spans of
	// attempts after the first.
	KeyResendCount = attribute.Key("http.request.resend_count")
)

// The guard's own keys.
const (
	// KeyThrottleKind is aws.bedrock.throttle.kind: "throttle_requests",
	// "throttle_tokens", "throttle_tokens_per_day" or "throttle_unknown".
	KeyThrottleKind = attribute.Key("aws.bedrock.throttle.kind")
	// KeyThrottleStage is aws.bedrock.throttle.stage: "response" (the
	// service refused the request) or "mid_stream" (an exception inside a
	// stream that had started).
	KeyThrottleStage = attribute.Key("aws.bedrock.throttle.stage")
	// KeyAttempt is aws.bedrock.attempt, the 1-based attempt number.
	KeyAttempt = attribute.Key("aws.bedrock.attempt")
	// KeyAttempts is aws.bedrock.attempts, the attempts an operation made.
	KeyAttempts = attribute.Key("aws.bedrock.attempts")
	// KeyRetryDelay is aws.bedrock.retry.delay, the backoff in seconds
	// chosen before the next attempt.
	KeyRetryDelay = attribute.Key("aws.bedrock.retry.delay")
	// KeyRetried is aws.bedrock.retried: whether a throttled attempt was
	// retried.
	KeyRetried = attribute.Key("aws.bedrock.retried")
	// KeyEstimatedTokens is aws.bedrock.tokens.estimated, the estimated
	// input tokens of the request.
	KeyEstimatedTokens = attribute.Key("aws.bedrock.tokens.estimated")
	// KeyReservedTokens is aws.bedrock.tokens.reserved, the tokens the
	// attempt had reserved (input estimate + max tokens x burndown).
	KeyReservedTokens = attribute.Key("aws.bedrock.tokens.reserved")
	// KeyRateLowered is aws.bedrock.pacing.rate_lowered: whether the
	// throttle lowered the adaptive rate.
	KeyRateLowered = attribute.Key("aws.bedrock.pacing.rate_lowered")
	// KeyPacingLimit is aws.bedrock.pacing.limit: "requests" or "tokens".
	KeyPacingLimit = attribute.Key("aws.bedrock.pacing.limit")
	// KeyPacingReason is aws.bedrock.pacing.reason: "deadline" (admission
	// would pass the context deadline), "too_large" (the reservation
	// exceeds a window's quota) or "canceled" (the context ended while
	// waiting).
	KeyPacingReason = attribute.Key("aws.bedrock.pacing.reason")
	// KeyPriority is aws.bedrock.priority: "interactive" or "batch".
	KeyPriority = attribute.Key("aws.bedrock.priority")
)

// ProviderBedrock is the gen_ai.provider.name value.
const ProviderBedrock = "aws.bedrock"
