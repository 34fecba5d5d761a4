// Package retrypolicy decides how Amazon Bedrock Runtime calls are retried:
// which errors, after what backoff, how many times, and within what budget.
// It plugs into the AWS SDK's own retry loop as an aws.RetryerV2 decorator,
// so request cloning, body rewind, re-signing, clock-skew correction and the
// X-Amz-Retry-After clamp stay the SDK's job.
//
// # Wiring
//
// Package bedrockguard uses this policy already; use the package on its
// own to get Bedrock-aware retries without pacing. One [Policy] per
// process; every client it wraps shares its retry budget.
//
//	policy, err := retrypolicy.New(retrypolicy.WithMaxAttempts(4))
//	if err != nil { ... }
//	client := bedrockruntime.NewFromConfig(cfg, policy.ClientOption())
//
// ClientOption wraps the client's retryer ([Policy.Wrap]) and adds an
// Initialize middleware that keeps the per-call attempt history and turns
// a failure the policy gave up on into a [*bedrockguard.GiveUpError]. Wiring twice
// changes nothing.
//
// # What is retried
//
// Retryability comes from package classify, not from the SDK's code lists:
//
//	class                      retried  backoff base
//	throttle_requests          yes      1 s
//	throttle_tokens            yes      1 s
//	throttle_unknown           yes      1 s
//	throttle_tokens_per_day    no       fails at once with a *bedrockguard.GiveUpError
//	model_not_ready            yes      2 s  (the SDK does not retry it)
//	unavailable (500/502/503/504, reset, EOF)  yes  250 ms
//	timeout                    yes      250 ms
//	not_retryable, canceled    no
//
// Errors the SDK itself marks retryable (clock-skew correction) stay
// retryable. Mid-stream errors (from stream.Err()) are never retried by the
// SDK; their Class says whether a new call may succeed.
//
// # Backoff
//
// Full jitter: the delay after failed attempt n is
// rand[0,1) x min(max backoff, base x 2^(n-1)). With the defaults (5
// attempts, a 20 s cap) the ceilings are:
//
//	after attempt      1      2      3      4
//	throttle        1 s    2 s    4 s    8 s
//	model not ready 2 s    4 s    8 s   16 s
//	5xx, timeout  250 ms 500 ms   1 s    2 s
//
// The SDK may lengthen a delay to honour an X-Amz-Retry-After header (at most
// by 5 s); Bedrock does not send one today.
//
// # Retry budget
//
// A token bucket shared by all clients of the Policy, in the style of
// Brooker's retry budget: it holds 100 tokens and starts full; each retry
// takes 1; each successful attempt puts back 0.1, never above 100. So after a burst of at most
// 100 retries, retries can be no more than 10 % of successful attempts:
// during a throttling storm the guard adds at most 10 % load instead of
// multiplying it by MaxAttempts. A retry the budget cannot pay for is not
// made: the call fails with a [*bedrockguard.GiveUpError] whose Reason is
// [ReasonBudget].
//
// The budget replaces the SDK's per-client retry quota (500 tokens, 5 per
// throttle retry, 14 per other retry, refunded only by successes): the
// wrapper never calls the inner retryer's GetRetryToken. That quota is per
// client, so it neither bounds the load of many clients nor is it shared,
// and in a long throttling storm it runs dry and fails most calls on their
// first throttle with "retry quota exceeded" even while the guard's pacer
// is what should be shaping the load. Two budgets in series would also
// charge every retry twice. GetAttemptToken is still delegated, so the
// SDK's adaptive mode keeps pacing attempts.
//
// # Deadlines and giving up
//
// Before a retry, the drawn delay is compared with the context deadline: a
// delay that would outlive it stops the retries at once ([ReasonDeadline])
// instead of sleeping into a timeout.
//
// When the policy gives up (attempts exhausted, budget empty, deadline too
// close, or a throttle that cannot be retried), the operation returns a
// [*bedrockguard.GiveUpError] carrying the class and delay of every attempt, wrapped in
// the client's *smithy.OperationError. It wraps the SDK's error, so
// errors.As with *types.ThrottlingException or *retry.MaxAttemptsError keeps
// working. The policy then logs one Warn record through slog (classes,
// codes and delays, never message text), at most one per 10 s for each
// region, model, operation, reason and error type; the next one counts
// those left out ("suppressed"). A
// single failed attempt with a non-retryable, non-throttle error (a
// ValidationException, say) and a canceled call are returned unchanged.
package retrypolicy
