package bedrockguard

import (
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/retry"
)

// DeadlineError is returned, wrapped in the SDK's *smithy.OperationError,
// when pacing refuses an attempt because its admission would come after the
// context's deadline: the call fails at once instead of waiting in vain.
// Nothing was sent. Use errors.As with a *DeadlineError;
// errors.Is(err, context.DeadlineExceeded) is also true.
type DeadlineError = limiter.DeadlineError

// TooLargeError is returned, wrapped in the SDK's *smithy.OperationError,
// for a request whose token reservation (input + max_tokens x burndown)
// exceeds a whole window of the model's configured quota: Bedrock could
// never admit it either. Nothing was sent; lower max_tokens. Use errors.As
// with a *TooLargeError.
type TooLargeError = limiter.TooLargeError

// GiveUpError is returned, wrapped in the SDK's *smithy.OperationError,
// when the guard stops retrying a failing call: its attempts ran out, the
// retry budget or the context deadline stopped a retry, or the error cannot
// be fixed by retrying (a tokens-per-day throttle, say). It lists every
// attempt's class and wraps the last error, so errors.As with
// *types.ThrottlingException still works. Use errors.As with a
// *GiveUpError; package retrypolicy names its reasons.
type GiveUpError = retry.GiveUpError
