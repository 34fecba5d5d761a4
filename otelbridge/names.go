package otelbridge

import "go.opentelemetry.io/otel/attribute"

// ScopeName is the instrumentation scope of the bridge's tracer and meter.
const ScopeName = "github.com/bedrockguard/bedrockguard/otelbridge"

// Metric names. They are stable: alert rules and dashboards are written
// against them (see the package documentation for their Prometheus forms).
const (
	// metricTokenUsage is the GenAI token usage histogram ({token}).
	metricTokenUsage = "gen_ai.client.token.usage"
	// metricOperationDuration is the GenAI operation duration histogram (s).
	metricOperationDuration = "gen_ai.client.operation.duration"
	// metricTimeToFirstChunk is the GenAI time-to-first-chunk histogram of
	// streaming operations (s).
	metricTimeToFirstChunk = "gen_ai.client.operation.time_to_first_chunk"
	// metricThrottles counts throttles ({throttle}).
	metricThrottles = "aws.bedrock.throttles"
	// metricRetries counts retries ({retry}).
	metricRetries = "aws.bedrock.retries"
	// metricRetryBudgetExhausted counts retries refused by an empty retry
	// budget ({retry}).
	metricRetryBudgetExhausted = "aws.bedrock.retry_budget.exhausted"
	// metricPacingWait is the pacing wait histogram (s).
	metricPacingWait = "aws.bedrock.pacing.wait"
	// metricPacingRejected counts attempts pacing refused ({request}).
	metricPacingRejected = "aws.bedrock.pacing.rejected"
	// metricPacingRate is the current adaptive rate per key and limit.
	metricPacingRate = "aws.bedrock.pacing.rate"
	// metricTokensReserved counts tokens reserved at admission ({token}).
	metricTokensReserved = "aws.bedrock.tokens.reserved"
	// metricTokensSettled counts tokens settled with the reported usage
	// ({token}).
	metricTokensSettled = "aws.bedrock.tokens.settled"
	// metricPacingStoreErrors counts the pacing Store calls that failed (a
	// shared Redis store down) and were served by local pacing instead.
	metricPacingStoreErrors = "aws.bedrock.pacing.store_errors"
	// metricEstimateRatio is the histogram of estimated over reported input
	// tokens (1).
	metricEstimateRatio = "aws.bedrock.tokens.estimate_ratio"
)

// eventThrottle is the name of the span event recorded for every throttle.
const eventThrottle = "aws.bedrock.throttle"

// GenAI and general semantic-convention keys. The otel semconv packages
// from v1.42 no longer carry the GenAI keys, so they are declared here.
const (
	// keyOperationName is gen_ai.operation.name: "chat" or
	// "text_completion".
	keyOperationName = attribute.Key("gen_ai.operation.name")
	// keyProviderName is gen_ai.provider.name, always "aws.bedrock".
	keyProviderName = attribute.Key("gen_ai.provider.name")
	// keyRequestModel is gen_ai.request.model: the model ID, inference
	// profile ID or ARN the request named.
	keyRequestModel = attribute.Key("gen_ai.request.model")
	// keyRequestMaxTokens is gen_ai.request.max_tokens, as reserved (the
	// request's value or the model's default).
	keyRequestMaxTokens = attribute.Key("gen_ai.request.max_tokens")
	// keyRequestStream is gen_ai.request.stream.
	keyRequestStream = attribute.Key("gen_ai.request.stream")
	// keyUsageInputTokens is gen_ai.usage.input_tokens (cached tokens
	// included).
	keyUsageInputTokens = attribute.Key("gen_ai.usage.input_tokens")
	// keyUsageOutputTokens is gen_ai.usage.output_tokens.
	keyUsageOutputTokens = attribute.Key("gen_ai.usage.output_tokens")
	// keyUsageCacheReadTokens is gen_ai.usage.cache_read.input_tokens.
	keyUsageCacheReadTokens = attribute.Key("gen_ai.usage.cache_read.input_tokens")
	// keyUsageCacheCreationTokens is gen_ai.usage.cache_creation.input_tokens.
	keyUsageCacheCreationTokens = attribute.Key("gen_ai.usage.cache_creation.input_tokens")
	// keyResponseFinishReasons is gen_ai.response.finish_reasons.
	keyResponseFinishReasons = attribute.Key("gen_ai.response.finish_reasons")
	// keyResponseTimeToFirstChunk is gen_ai.response.time_to_first_chunk,
	// in seconds, on stream spans.
	keyResponseTimeToFirstChunk = attribute.Key("gen_ai.response.time_to_first_chunk")
	// keyTokenType is gen_ai.token.type: "input" or "output".
	keyTokenType = attribute.Key("gen_ai.token.type")
	// keyCloudRegion is cloud.region.
	keyCloudRegion = attribute.Key("cloud.region")
	// keyAWSRequestID is aws.request_id (spans only, never metrics).
	keyAWSRequestID = attribute.Key("aws.request_id")
	// keyErrorType is error.type: the service error code (such as
	// "ThrottlingException"), or the guard's class name when the error
	// carried no code (such as "timeout").
	keyErrorType = attribute.Key("error.type")
	// keyResendCount is http.request.resend_count, on the spans of
	// attempts after the first.
	keyResendCount = attribute.Key("http.request.resend_count")
)

// The guard's own keys.
const (
	// keyThrottleKind is aws.bedrock.throttle.kind: "throttle_requests",
	// "throttle_tokens", "throttle_tokens_per_day" or "throttle_unknown".
	keyThrottleKind = attribute.Key("aws.bedrock.throttle.kind")
	// keyThrottleStage is aws.bedrock.throttle.stage: "response" (the
	// service refused the request) or "mid_stream" (an exception inside a
	// stream that had started).
	keyThrottleStage = attribute.Key("aws.bedrock.throttle.stage")
	// keyAttempt is aws.bedrock.attempt, the 1-based attempt number.
	keyAttempt = attribute.Key("aws.bedrock.attempt")
	// keyAttempts is aws.bedrock.attempts, the attempts an operation made.
	keyAttempts = attribute.Key("aws.bedrock.attempts")
	// keyRetryDelay is aws.bedrock.retry.delay, the backoff in seconds
	// chosen before the next attempt.
	keyRetryDelay = attribute.Key("aws.bedrock.retry.delay")
	// keyRetried is aws.bedrock.retried: whether a throttled attempt was
	// retried.
	keyRetried = attribute.Key("aws.bedrock.retried")
	// keyEstimatedTokens is aws.bedrock.tokens.estimated, the estimated
	// input tokens of the request.
	keyEstimatedTokens = attribute.Key("aws.bedrock.tokens.estimated")
	// keyReservedTokens is aws.bedrock.tokens.reserved, the tokens the
	// attempt had reserved (input estimate + max tokens x burndown).
	keyReservedTokens = attribute.Key("aws.bedrock.tokens.reserved")
	// keyQuotaSource is aws.bedrock.quota.source: where the paced key's
	// quota comes from, "configured", "discovered" (quotas.Background) or
	// "learned" (none: from throttles).
	keyQuotaSource = attribute.Key("aws.bedrock.quota.source")
	// keyRateLowered is aws.bedrock.pacing.rate_lowered: whether the
	// throttle lowered the adaptive rate.
	keyRateLowered = attribute.Key("aws.bedrock.pacing.rate_lowered")
	// keyPacingLimit is aws.bedrock.pacing.limit: "requests" or "tokens".
	keyPacingLimit = attribute.Key("aws.bedrock.pacing.limit")
	// keyPacingReason is aws.bedrock.pacing.reason: "deadline" (admission
	// would pass the context deadline), "too_large" (the reservation
	// exceeds a window's quota), "budget" (a tokens-per-day quota or a
	// tenant budget cannot hold it) or "canceled" (the context ended while
	// waiting).
	keyPacingReason = attribute.Key("aws.bedrock.pacing.reason")
	// keyPriority is aws.bedrock.priority: "interactive" or "batch".
	keyPriority = attribute.Key("aws.bedrock.priority")
)

// providerBedrock is the gen_ai.provider.name value.
const providerBedrock = "aws.bedrock"
