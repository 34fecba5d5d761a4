package retrypolicy

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/retry"
)

// Policy is a retry policy for Bedrock Runtime clients. Every client it
// wraps shares its retry budget. It is safe for concurrent use.
type Policy struct{ p *retry.Policy }

// Option configures a [Policy].
type Option func(*retry.Options) error

// New returns a Policy with the defaults of the package doc changed by
// opts, or a [*bedrockguard.OptionError] for an invalid option (its Option
// is prefixed "retrypolicy.").
func New(opts ...Option) (*Policy, error) {
	var o retry.Options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	p, err := retry.New(o)
	if err != nil {
		return nil, &bedrockguard.OptionError{Option: "retrypolicy.New", Err: err}
	}
	return &Policy{p: p}, nil
}

// WithMaxAttempts sets the most attempts per call, the first one included
// (default 5; 1 disables retries).
func WithMaxAttempts(n int) Option {
	return func(o *retry.Options) error {
		if n < 1 || n > 100 {
			return &bedrockguard.OptionError{Option: "retrypolicy.WithMaxAttempts", Err: fmt.Errorf("%d is outside [1, 100]", n)}
		}
		o.MaxAttempts = n
		return nil
	}
}

// WithClassifier decides the class of each attempt's error with c instead
// of classify.Classify; use classify.With to put your classifiers in front
// of the default chain.
func WithClassifier(c classify.Classifier) Option {
	return func(o *retry.Options) error {
		if c == nil {
			return &bedrockguard.OptionError{Option: "retrypolicy.WithClassifier", Err: fmt.Errorf("nil classifier")}
		}
		o.Classifier = c
		return nil
	}
}

// Wrap returns inner decorated with the policy: the SDK's retry loop asks
// the policy whether and when to retry, and the policy's budget replaces
// the SDK's per-client retry quota. A nil inner means the SDK's standard
// retryer.
func (p *Policy) Wrap(inner aws.Retryer) aws.RetryerV2 { return p.p.Wrap(inner) }

// ClientOption returns a bedrockruntime option that wires the policy into a
// client: it wraps the client's Retryer and adds the middleware that keeps
// each call's attempt history and returns a [*bedrockguard.GiveUpError] when the policy
// gives up. Applying it twice changes nothing more.
//
//	client := bedrockruntime.NewFromConfig(cfg, policy.ClientOption())
//
// A non-zero RetryMaxAttempts on the client (from AWS_MAX_ATTEMPTS, say)
// still overrides the policy's attempts, as the SDK re-wraps the retryer
// after client options run.
func (p *Policy) ClientOption() func(*bedrockruntime.Options) { return p.p.ClientOption() }

// Reason says why the policy stopped retrying a call.
type Reason = retry.Reason

// The reasons; their String values are in parentheses.
const (
	// ReasonNotRetryable ("not_retryable"): the last error cannot be fixed
	// by retrying.
	ReasonNotRetryable = retry.ReasonNotRetryable
	// ReasonMaxAttempts ("max_attempts"): the attempt limit was reached.
	ReasonMaxAttempts = retry.ReasonMaxAttempts
	// ReasonBudget ("budget_exhausted"): the shared retry budget was empty.
	ReasonBudget = retry.ReasonBudget
	// ReasonDeadline ("deadline"): the next delay would have outlived the
	// context deadline.
	ReasonDeadline = retry.ReasonDeadline
)
