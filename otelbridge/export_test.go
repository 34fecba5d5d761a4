package otelbridge

// Unexported names the external tests use.
const (
	EventThrottle               = eventThrottle
	KeyAWSRequestID             = keyAWSRequestID
	KeyAttempt                  = keyAttempt
	KeyAttempts                 = keyAttempts
	KeyCloudRegion              = keyCloudRegion
	KeyErrorType                = keyErrorType
	KeyEstimatedTokens          = keyEstimatedTokens
	KeyOperationName            = keyOperationName
	KeyPacingLimit              = keyPacingLimit
	KeyPacingReason             = keyPacingReason
	KeyPriority                 = keyPriority
	KeyProviderName             = keyProviderName
	KeyQuotaSource              = keyQuotaSource
	KeyRateLowered              = keyRateLowered
	KeyRequestMaxTokens         = keyRequestMaxTokens
	KeyRequestModel             = keyRequestModel
	KeyRequestStream            = keyRequestStream
	KeyResendCount              = keyResendCount
	KeyReservedTokens           = keyReservedTokens
	KeyResponseFinishReasons    = keyResponseFinishReasons
	KeyResponseTimeToFirstChunk = keyResponseTimeToFirstChunk
	KeyRetried                  = keyRetried
	KeyRetryDelay               = keyRetryDelay
	KeyThrottleKind             = keyThrottleKind
	KeyThrottleStage            = keyThrottleStage
	KeyTokenType                = keyTokenType
	KeyUsageCacheCreationTokens = keyUsageCacheCreationTokens
	KeyUsageCacheReadTokens     = keyUsageCacheReadTokens
	KeyUsageInputTokens         = keyUsageInputTokens
	KeyUsageOutputTokens        = keyUsageOutputTokens
	MetricEstimateRatio         = metricEstimateRatio
	MetricPacingQuota           = metricPacingQuota
	MetricAttempts              = metricAttempts
	MetricRequestMaxTokens      = metricRequestMaxTokens
	MetricCost                  = metricCost
	KeyTenant                   = keyTenant
	MetricOperationDuration     = metricOperationDuration
	MetricPacingRate            = metricPacingRate
	MetricPacingRejected        = metricPacingRejected
	MetricPacingStoreErrors     = metricPacingStoreErrors
	MetricPacingWait            = metricPacingWait
	MetricRetries               = metricRetries
	MetricRetryBudgetExhausted  = metricRetryBudgetExhausted
	MetricThrottles             = metricThrottles
	MetricTimeToFirstChunk      = metricTimeToFirstChunk
	MetricTokenUsage            = metricTokenUsage
	MetricTokensReserved        = metricTokensReserved
	MetricTokensSettled         = metricTokensSettled
	ProviderBedrock             = providerBedrock
	SpanAttempt                 = spanAttempt
	SpanPacingWait              = spanPacingWait
)
