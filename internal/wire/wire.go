// Package wire holds the strings Amazon Bedrock Runtime puts on the wire
// that more than one package of this module needs: the simulator sends
// them, the classifier and the tests recognise them. They are copied from
// real Bedrock answers (docs/bedrock.md#error-responses,
// docs/bedrock.md#throttling-messages); keep them byte for byte.
package wire

// The throttle messages of a 429 ThrottlingException (or of a
// throttlingException event-stream frame). The message is the only thing
// that tells the kinds apart.
const (
	// MsgTooManyRequests is the long request-rate form, with its two spaces.
	MsgTooManyRequests = "Too many requests, please wait before trying again. You have sent too many requests.  Wait before trying again."
	// MsgTooManyRequestsShort is the short request-rate form.
	MsgTooManyRequestsShort = "Too many requests, please wait before trying again."
	// MsgTooManyTokens is the tokens-per-minute throttle.
	MsgTooManyTokens = "Too many tokens, please wait before trying again."
	// MsgTooManyTokensPerDay is the tokens-per-day throttle.
	MsgTooManyTokensPerDay = "Too many tokens per day, please wait before trying again."
)

// Other error messages.
const (
	// MsgInvalidModel is the ValidationException for a model ID Bedrock
	// does not serve.
	MsgInvalidModel = "The provided model identifier is invalid."
	// MsgModelNotReady is the 429 ModelNotReadyException.
	MsgModelNotReady = "Model is not ready for inference. Wait and try your request again."
	// MsgServiceUnavailable is the 503 ServiceUnavailableException.
	MsgServiceUnavailable = "Bedrock is unable to process your request."
	// MsgInputTooLong is the ValidationException for an input over the
	// model's context.
	MsgInputTooLong = "Input is too long for requested model."
	// MsgCountTokensUnsupported is the ValidationException of CountTokens
	// for a model that cannot count tokens.
	MsgCountTokensUnsupported = "The provided model doesn't support counting tokens."
)

// Error codes, as sent in the X-Amzn-ErrorType header before
// [ErrorTypeSuffix].
const (
	CodeThrottling         = "ThrottlingException"
	CodeValidation         = "ValidationException"
	CodeServiceUnavailable = "ServiceUnavailableException"
	CodeModelNotReady      = "ModelNotReadyException"
	CodeUnknownOperation   = "UnknownOperationException"
)

// ExceptionThrottling is the :exception-type of the throttle frame that
// can end an event stream.
const ExceptionThrottling = "throttlingException"

// ErrorTypeSuffix follows the error code in the X-Amzn-ErrorType header.
const ErrorTypeSuffix = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

// Response headers.
const (
	// HeaderErrorType carries the error code and [ErrorTypeSuffix].
	HeaderErrorType = "X-Amzn-ErrorType"
	// HeaderRequestID carries the request ID of every answer.
	HeaderRequestID = "X-Amzn-RequestId"
)
