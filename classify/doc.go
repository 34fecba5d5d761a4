// Package classify maps errors from Amazon Bedrock Runtime calls to a
// [Class]: what kind of failure it was, whether retrying can help, whether it
// was a throttle and of which quota, the service error code, and whether it
// arrived in the middle of an event stream.
//
// It understands every shape in which the Go SDK (aws-sdk-go-v2) delivers a
// Bedrock failure: an operation error returned by a client method, an
// attempt error seen by a retryer, a bare modeled error returned by
// stream.Err() after an exception frame, transport errors and context
// cancellation. An exception frame decoded by your own code (its
// ":exception-type" and message) is classified with [FromException].
//
// # Kinds and defaults
//
// [Classify] asks a fixed list of small rules (context, code, message, HTTP
// status, transport); the first that answers (anything but [Unknown]) wins,
// as in the SDK's aws/retry package. Error codes are matched
// case-insensitively, so "throttlingException" from an event stream is the
// same as "ThrottlingException".
//
//	kind                     retryable  from
//	none                     -          nil error
//	throttle_requests        yes        ThrottlingException (or 429) "Too many requests, please wait before trying again."
//	                                    (also the long form "... You have sent too many requests.  Wait before trying again.")
//	                                    and "Your request rate is too high. Reduce the frequency of requests."
//	throttle_tokens          yes        ThrottlingException (or 429) "Too many tokens, please wait before trying again."
//	throttle_tokens_per_day  no         ThrottlingException (or 429) "Too many tokens per day, please wait before trying again."
//	throttle_unknown         yes        ThrottlingException with another message, an unmodeled 429,
//	                                    the other throttle codes of the SDK (TooManyRequestsException, ...)
//	unavailable              yes        ServiceUnavailableException (503), InternalServerException (500),
//	                                    unmodeled 500, 502, 503, 504; connection reset, refused or aborted,
//	                                    broken pipe, closed connection, EOF before the response headers
//	model_not_ready          yes        ModelNotReadyException (429)
//	timeout                  yes        ModelTimeoutException (408), unmodeled 408, transport timeouts
//	                                    (http.Client.Timeout, dial and TLS timeouts)
//	canceled                 no         the caller's context was canceled or its deadline passed
//	not_retryable            no         ValidationException (including "input is too long"),
//	                                    AccessDeniedException, ResourceNotFoundException,
//	                                    ServiceQuotaExceededException, ModelErrorException,
//	                                    ModelStreamErrorException, other 4xx and 5xx, unknown host,
//	                                    and any error no rule recognises
//
// The message decides only the quota of a throttle, and makes an error with a
// missing or unknown code a throttle when it carries Bedrock's throttle
// wording ("please wait before trying again", "request rate is too high").
// "Too many tokens" is a token-rate throttle, never a context-length error:
// context-length failures arrive as ValidationException and are
// not_retryable by their code.
//
// # Mid-stream errors
//
// A throttle or 5xx that arrives as an exception frame after the 200
// response is returned by stream.Err() as a bare modeled error (for example
// *types.ThrottlingException) with no HTTP response in its chain, and the SDK
// never retries it. Classify sets Class.MidStream for such an error, and
// FromException for every frame. Class.Retryable then tells whether a new
// call may succeed; the SDK will not make it by itself.
//
// # Custom classifiers
//
// Put your own [Classifier] in front of the default rules with [With]:
//
//	c := classify.With(classify.ClassifierFunc(func(err error) classify.Class {
//		if errors.Is(err, errMyProxyBusy) {
//			return classify.Of(classify.Unavailable)
//		}
//		return classify.Class{} // no opinion: ask the defaults
//	}))
//	class := c.Classify(err)
//
// # Cost
//
// Classify walks the error tree once by hand (type assertions and Unwrap,
// no errors.As and no regular expressions) and does not allocate. All
// functions, and the classifiers [With] returns, are safe for concurrent
// use.
package classify
