package classify

import (
	"strings"

	"github.com/bedrockguard/bedrockguard/internal/wire"
)

// The default rules, in the order [Classify] asks them. Each answers
// [Unknown] (the zero Class) when it has no opinion.
//
//   - ruleContext answers Canceled when the caller's context was canceled or
//     its deadline passed (context.Canceled, context.DeadlineExceeded,
//     *smithy.CanceledError, *aws.RequestCanceledError).
//   - ruleCode answers from the service error code (smithy.APIError),
//     matched case-insensitively, so the lower-case event-stream names
//     ("throttlingException") match too. A throttle code is refined by its
//     message into requests, tokens, tokens per day or unknown.
//   - ruleMessage answers for an error whose code is missing or unknown but
//     whose message is one of Bedrock's throttle messages (it must contain
//     "please wait before trying again" or "request rate is too high").
//   - ruleStatus answers from the HTTP status: 429 is a throttle (refined by
//     message), 500, 502, 503 and 504 are Unavailable, 408 is Timeout, and
//     any other 4xx or 5xx is NotRetryable.
//   - ruleTransport answers for errors below HTTP: transport timeouts are
//     Timeout; connection reset, refused or aborted, broken pipe, closed
//     connection and EOF before headers are Unavailable; an unknown host is
//     NotRetryable.

func ruleContext(f *facts) Class {
	if f.canceled {
		return Of(Canceled)
	}
	return Class{}
}

type codeEntry struct {
	code string
	kind Kind // ThrottleUnknown means "throttle, refine by message"
}

// codes lists the error codes ruleCode knows, in canonical casing. The first
// group are Bedrock Runtime's modeled errors; the rest are the throttle codes
// the SDK's standard retryer knows and a few generic AWS codes.
var codes = [...]codeEntry{
	{wire.CodeThrottling, ThrottleUnknown},
	{wire.CodeModelNotReady, ModelNotReady},
	{wire.CodeServiceUnavailable, Unavailable},
	{"InternalServerException", Unavailable},
	{"ModelTimeoutException", Timeout},
	{wire.CodeValidation, NotRetryable},
	{"AccessDeniedException", NotRetryable},
	{"ResourceNotFoundException", NotRetryable},
	{"ServiceQuotaExceededException", NotRetryable},
	{"ModelErrorException", NotRetryable},
	{"ModelStreamErrorException", NotRetryable},
	{"ConflictException", NotRetryable},
	{"UnrecognizedClientException", NotRetryable},
	{"InvalidSignatureException", NotRetryable},
	{"ExpiredTokenException", NotRetryable},
	{"TooManyRequestsException", ThrottleUnknown},
	{"Throttling", ThrottleUnknown},
	{"ThrottledException", ThrottleUnknown},
	{"RequestThrottledException", ThrottleUnknown},
	{"RequestThrottled", ThrottleUnknown},
	{"RequestLimitExceeded", ThrottleUnknown},
	{"ProvisionedThroughputExceededException", ThrottleUnknown},
	{"BandwidthLimitExceeded", ThrottleUnknown},
	{"SlowDown", ThrottleUnknown},
	{"ServiceUnavailable", Unavailable},
	{"InternalFailure", Unavailable},
	{"InternalServerError", Unavailable},
	{"RequestTimeout", Timeout},
	{"RequestTimeoutException", Timeout},
}

// lookupCode finds code case-insensitively and returns its canonical
// spelling; ok is false for codes not in the table.
func lookupCode(code string) (canonical string, kind Kind, ok bool) {
	if code == "" {
		return "", Unknown, false
	}
	for i := range codes {
		e := &codes[i]
		if len(e.code) == len(code) && strings.EqualFold(e.code, code) {
			return e.code, e.kind, true
		}
	}
	return code, Unknown, false
}

func ruleCode(f *facts) Class {
	_, kind, ok := lookupCode(f.code)
	if !ok {
		return Class{}
	}
	if kind == ThrottleUnknown {
		if k := throttleKind(f.message); k != Unknown {
			kind = k
		}
	}
	return Of(kind)
}

func ruleMessage(f *facts) Class {
	if !isThrottleMessage(f.message) {
		return Class{}
	}
	if k := throttleKind(f.message); k != Unknown {
		return Of(k)
	}
	return Of(ThrottleUnknown)
}

func ruleStatus(f *facts) Class {
	switch s := f.status; {
	case s == 429:
		if k := throttleKind(f.message); k != Unknown {
			return Of(k)
		}
		return Of(ThrottleUnknown)
	case s == 500 || s == 502 || s == 503 || s == 504:
		return Of(Unavailable)
	case s == 408:
		return Of(Timeout)
	case s >= 400 && s <= 599:
		return Of(NotRetryable)
	}
	return Class{}
}

func ruleTransport(f *facts) Class {
	switch {
	case f.timeout:
		return Of(Timeout)
	case f.dnsNotFound:
		return Of(NotRetryable)
	case f.conn:
		return Of(Unavailable)
	}
	return Class{}
}

// throttleKind reads the quota out of a throttle message. It returns Unknown
// when the message names none.
//
//	"Too many tokens per day, please wait before trying again."  ThrottleTokensPerDay
//	"Too many tokens, please wait before trying again."          ThrottleTokens
//	"Too many requests, please wait before trying again. ..."    ThrottleRequests
//	"Your request rate is too high. Reduce the frequency ..."    ThrottleRequests
func throttleKind(msg string) Kind {
	switch {
	case msg == "":
		return Unknown
	case containsFold(msg, "tokens per day"):
		return ThrottleTokensPerDay
	case containsFold(msg, "too many tokens"):
		return ThrottleTokens
	case containsFold(msg, "too many requests"), containsFold(msg, "request rate is too high"):
		return ThrottleRequests
	}
	return Unknown
}

// isThrottleMessage reports whether msg reads like one of Bedrock's throttle
// messages. It is deliberately narrow: "too many tokens" alone also appears
// in other services' context-length errors, so the phrase that only throttles
// use is required.
func isThrottleMessage(msg string) bool {
	return containsFold(msg, "please wait before trying again") ||
		containsFold(msg, "request rate is too high")
}

// containsFold reports whether sub (ASCII, lower-case) occurs in s, ignoring
// ASCII case. It does not allocate.
func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	first := sub[0]
	for i := 0; i+n <= len(s); i++ {
		if lower(s[i]) != first {
			continue
		}
		j := 1
		for j < n && lower(s[i+j]) == sub[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
