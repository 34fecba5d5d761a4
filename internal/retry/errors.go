package retry

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bedrockguard/bedrockguard/classify"
)

// Reason says why the policy stopped retrying an operation.
type Reason uint8

// The reasons, with their String values.
const (
	// ReasonNotRetryable ("not_retryable"): the last error cannot be fixed
	// by retrying (for example a tokens-per-day throttle, or a validation
	// error after earlier throttles).
	ReasonNotRetryable Reason = iota
	// ReasonMaxAttempts ("max_attempts"): the attempt limit was reached.
	ReasonMaxAttempts
	// ReasonBudget ("budget_exhausted"): the shared retry budget was empty.
	ReasonBudget
	// ReasonDeadline ("deadline"): the next delay would have outlived the
	// context deadline.
	ReasonDeadline
)

// String returns the snake_case name of r.
func (r Reason) String() string {
	switch r {
	case ReasonMaxAttempts:
		return "max_attempts"
	case ReasonBudget:
		return "budget_exhausted"
	case ReasonDeadline:
		return "deadline"
	default:
		return "not_retryable"
	}
}

// Attempt is one attempt of an operation as the policy saw it.
type Attempt struct {
	// Number is the 1-based attempt number.
	Number int
	// Class is the classification of the attempt's error.
	Class classify.Class
	// Delay is the backoff chosen before the next attempt; 0 for the last.
	Delay time.Duration
}

// GiveUpError is returned (wrapped in the client's *smithy.OperationError)
// when the policy gives up on a failing operation: attempts ran out, the
// retry budget or the context deadline stopped a retry, or a throttle (a
// tokens-per-day throttle, say) cannot be retried. Use errors.As with a
// *GiveUpError target.
//
// It wraps the SDK's error, so errors.As with *types.ThrottlingException,
// *retry.MaxAttemptsError, *BackoffDeadlineError or *BudgetExhaustedError still
// works on the result.
type GiveUpError struct {
	// Reason says why retrying stopped.
	Reason Reason
	// Attempts has one entry per attempt made, in order.
	Attempts []Attempt
	// Err is the error the SDK's retry loop returned.
	Err error
}

// Error lists the reason and the class of every attempt, then the SDK error,
// on one line: the SDK joins a refused retry token (budget, deadline) to the
// attempt's error with errors.Join, whose text has a newline; it is written
// as "; " here, so a give-up is one log line.
func (e *GiveUpError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bedrockguard: gave up after %d attempt", len(e.Attempts))
	if len(e.Attempts) != 1 {
		b.WriteByte('s')
	}
	fmt.Fprintf(&b, " (%s;", e.Reason)
	for i, a := range e.Attempts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte(' ')
		b.WriteString(a.Class.Kind.String())
	}
	b.WriteString(")")
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.ReplaceAll(e.Err.Error(), "\n", "; "))
	}
	return b.String()
}

// Unwrap returns the SDK's error.
func (e *GiveUpError) Unwrap() error { return e.Err }

// BackoffDeadlineError is returned to the SDK's retry loop when the next backoff
// would outlive the context deadline; the SDK joins it with the attempt's
// error, so the call fails at once instead of sleeping into a timeout. Use
// errors.As with a *BackoffDeadlineError target.
type BackoffDeadlineError struct {
	// Attempt is the attempt that failed and would have been retried.
	Attempt int
	// Delay is the backoff that was drawn.
	Delay time.Duration
	// Remaining is the time left before the context deadline.
	Remaining time.Duration
}

// Error says that the retry would outlive the deadline.
func (e *BackoffDeadlineError) Error() string {
	return fmt.Sprintf("bedrockguard: not retrying attempt %d: backoff %v would outlive the context deadline (%v left)",
		e.Attempt, e.Delay, e.Remaining)
}

// BudgetExhaustedError is returned to the SDK's retry loop when the shared
// retry budget cannot pay for a retry; the SDK joins it with the attempt's
// error. Use errors.As with a *BudgetExhaustedError target.
type BudgetExhaustedError struct {
	// Available is what was left in the budget.
	Available float64
	// Cost is what the retry needed.
	Cost float64
}

// Error says that the budget is empty. What is available is rounded down and
// what is needed up (to 2 decimals), so the text never reads as if the
// budget could have paid ("1.0 available, 1.0 needed" for 0.96 and 1).
func (e *BudgetExhaustedError) Error() string {
	return "bedrockguard: retry budget exhausted (" + budgetAmount(math.Floor(e.Available*100)/100) +
		" available, " + budgetAmount(math.Ceil(e.Cost*100)/100) + " needed)"
}

// budgetAmount formats a budget amount with no trailing zeros: "0.96", "5".
func budgetAmount(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// last returns the class of e's last attempt.
func (e *GiveUpError) last() classify.Class {
	if len(e.Attempts) == 0 {
		return classify.Class{}
	}
	return e.Attempts[len(e.Attempts)-1].Class
}
