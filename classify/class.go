package classify

// Kind is what a failed Bedrock Runtime call means for the caller: whether it
// was a throttle (and of which quota), a capacity problem on the service side,
// a timeout, a cancellation, or a failure that retrying cannot fix.
//
// The zero value is [Unknown]: a [Classifier] returns it to say "no opinion",
// and the classifier built by [With] moves on to the next one.
type Kind uint8

// The kinds. Their String values are stable and meant for telemetry
// attributes and logs.
const (
	// Unknown means "no answer". It is the zero value, returned by a
	// classifier that does not recognise the error.
	Unknown Kind = iota
	// None means there was no error.
	None
	// ThrottleRequests is a request-rate throttle
	// ("Too many requests, please wait before trying again.").
	ThrottleRequests
	// ThrottleTokens is a token-rate (tokens per minute) throttle
	// ("Too many tokens, please wait before trying again."). It is never a
	// context-length error.
	ThrottleTokens
	// ThrottleTokensPerDay is a daily token quota throttle
	// ("Too many tokens per day, please wait before trying again."). Waiting
	// seconds does not help, so it is not retryable.
	ThrottleTokensPerDay
	// ThrottleUnknown is a throttle whose quota cannot be told from the
	// message, such as an unmodeled HTTP 429.
	ThrottleUnknown
	// Unavailable is a service-side capacity or transport failure:
	// ServiceUnavailableException (503), InternalServerException (500),
	// unmodeled 500/502/503/504, connection reset, EOF before headers.
	Unavailable
	// ModelNotReady is ModelNotReadyException (429): the model is being
	// loaded and the call should be retried after a longer wait.
	ModelNotReady
	// Timeout is ModelTimeoutException (408), an unmodeled 408, or a
	// transport timeout (for example http.Client.Timeout). It is not the
	// caller's own context deadline, which is [Canceled].
	Timeout
	// Canceled means the caller's context was canceled or its deadline
	// passed. Never retryable.
	Canceled
	// NotRetryable is every failure that retrying the same request cannot
	// fix: ValidationException (including input too long),
	// AccessDeniedException, ResourceNotFoundException,
	// ServiceQuotaExceededException, ModelErrorException, serialization
	// errors, and anything unrecognised.
	NotRetryable
)

var kindNames = [...]string{
	Unknown:              "unknown",
	None:                 "none",
	ThrottleRequests:     "throttle_requests",
	ThrottleTokens:       "throttle_tokens",
	ThrottleTokensPerDay: "throttle_tokens_per_day",
	ThrottleUnknown:      "throttle_unknown",
	Unavailable:          "unavailable",
	ModelNotReady:        "model_not_ready",
	Timeout:              "timeout",
	Canceled:             "canceled",
	NotRetryable:         "not_retryable",
}

// String returns the stable snake_case name of k, such as "throttle_tokens".
// Out-of-range values print as "unknown".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// isThrottle reports whether k is one of the four throttle kinds.
func (k Kind) isThrottle() bool {
	return k >= ThrottleRequests && k <= ThrottleUnknown
}

// retryable reports whether a new attempt can succeed by default for an
// error of kind k: true for request, token and unknown throttles,
// Unavailable, ModelNotReady and Timeout; false for everything else,
// including ThrottleTokensPerDay.
func (k Kind) retryable() bool {
	switch k {
	case ThrottleRequests, ThrottleTokens, ThrottleUnknown, Unavailable, ModelNotReady, Timeout:
		return true
	}
	return false
}

// Class is the result of classifying one error. Its zero value has Kind
// [Unknown] and means "no answer".
type Class struct {
	// Kind is what the error means; see [Kind].
	Kind Kind
	// Retryable reports whether a new attempt of the same request may
	// succeed. By default it is true for ThrottleRequests, ThrottleTokens,
	// ThrottleUnknown, Unavailable, ModelNotReady and Timeout, and false for
	// every other kind; a custom classifier may decide otherwise. For a
	// mid-stream error the SDK cannot retry by itself; the flag then says
	// whether the caller may start a new call.
	Retryable bool
	// Throttle reports whether Kind is one of the four throttle kinds
	// (ThrottleRequests, ThrottleTokens, ThrottleTokensPerDay,
	// ThrottleUnknown). [Classify] and [With] always set it from Kind.
	Throttle bool
	// Code is the service error code, such as "ThrottlingException", for the
	// error.type telemetry attribute. Known Bedrock codes are returned in
	// their canonical casing even when they arrived lower-case from an event
	// stream; unknown codes are returned as received. Empty when the error
	// carried no code (transport errors, cancellations).
	Code string
	// Status is the HTTP status code of the response, or 0 when none was
	// seen (transport errors and mid-stream errors).
	Status int
	// MidStream reports whether the error arrived inside an event stream
	// after a 200 response (from stream.Err(), or a frame given to
	// [FromException]); the SDK never retries those.
	MidStream bool
}

// Of returns the default Class for kind k, with Retryable and Throttle set
// as documented on [Class]. Custom classifiers use it to build their
// answers; see [With].
func Of(k Kind) Class {
	return Class{Kind: k, Retryable: k.retryable(), Throttle: k.isThrottle()}
}

// String returns the kind name, followed by the code when there is one, as
// in "throttle_tokens(ThrottlingException)".
func (c Class) String() string {
	if c.Code == "" {
		return c.Kind.String()
	}
	return c.Kind.String() + "(" + c.Code + ")"
}
