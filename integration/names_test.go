package integration

// The telemetry names the tests look for, as otelbridge/doc.go documents
// them (otelbridge/names.go and observer.go declare them). They are
// repeated here rather than imported: this module does not require the
// root module, so that Jaeger, the Go tool of this module, builds with the
// dependency versions it was released with (Jaeger v1.76.0 does not
// compile against the root module's newer prometheus/client_golang).
const (
	spanPacingWait  = "pacing wait"
	spanAttempt     = "attempt"
	eventThrottle   = "aws.bedrock.throttle"
	providerBedrock = "aws.bedrock"

	keyOperationName   = "gen_ai.operation.name"
	keyProviderName    = "gen_ai.provider.name"
	keyRequestModel    = "gen_ai.request.model"
	keyRequestMaxToken = "gen_ai.request.max_tokens"
	keyCloudRegion     = "cloud.region"
	keyErrorType       = "error.type"
	keyAttempt         = "aws.bedrock.attempt"
	keyAttempts        = "aws.bedrock.attempts"
	keyThrottleKind    = "aws.bedrock.throttle.kind"
	keyThrottleStage   = "aws.bedrock.throttle.stage"
	keyRetried         = "aws.bedrock.retried"
	keyReservedTokens  = "aws.bedrock.tokens.reserved"
	keyRateLowered     = "aws.bedrock.pacing.rate_lowered"
	keyPriority        = "aws.bedrock.priority"
)
