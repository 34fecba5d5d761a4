package classify

import "strings"

// builtin is a built-in classifier. Chain.Classify recognises it and reuses
// the walk it already made, so the default chain walks the error tree once.
type builtin uint8

const (
	builtinContext builtin = iota
	builtinCode
	builtinMessage
	builtinStatus
	builtinTransport
)

// apply runs the rule on the facts of a walk. The calls are static so that
// the facts stay on the stack.
func (b builtin) apply(f *facts) Class {
	switch b {
	case builtinContext:
		return ruleContext(f)
	case builtinCode:
		return ruleCode(f)
	case builtinMessage:
		return ruleMessage(f)
	case builtinStatus:
		return ruleStatus(f)
	case builtinTransport:
		return ruleTransport(f)
	}
	return Class{}
}

// Classify implements [Classifier].
func (b builtin) Classify(err error) Class {
	if err == nil {
		return Class{}
	}
	f := inspect(err)
	return b.apply(&f)
}

// The built-in classifiers, in the order [Default] chains them. Each answers
// [Unknown] (the zero Class) when it has no opinion.
var (
	// ByContext answers Canceled when the caller's context was canceled or
	// its deadline passed (context.Canceled, context.DeadlineExceeded,
	// *smithy.CanceledError, *aws.RequestCanceledError).
	ByContext Classifier = builtinContext
	// ByCode answers from the service error code (smithy.APIError), matched
	// case-insensitively, so the lower-case event-stream names
	// ("throttlingException") match too. A throttle code is refined by its
	// message into requests, tokens, tokens per day or unknown.
	ByCode Classifier = builtinCode
	// ByMessage answers for an error whose code is missing or unknown but
	// whose message is one of Bedrock's throttle messages (it must contain
	// "please wait before trying again" or "request rate is too high").
	ByMessage Classifier = builtinMessage
	// ByStatus answers from the HTTP status: 429 is a throttle (refined by
	// message), 500, 502, 503 and 504 are Unavailable, 408 is Timeout, and
	// any other 4xx or 5xx is NotRetryable.
	ByStatus Classifier = builtinStatus
	// ByTransport answers for errors below HTTP: transport timeouts are
	// Timeout; connection reset, refused or aborted, broken pipe, closed
	// connection and EOF before headers are Unavailable; an unknown host is
	// NotRetryable.
	ByTransport Classifier = builtinTransport
)

func ruleContext(f *facts) Class {
	if f.canceled {
		return Of(Canceled)
	}
	return Class{}
}

// Canonical Bedrock Runtime error codes.
const (
	codeThrottling         = "ThrottlingException"
	codeModelNotReady      = "ModelNotReadyException"
	codeServiceUnavailable = "ServiceUnavailableException"
	codeInternalServer     = "InternalServerException"
	codeModelTimeout       = "ModelTimeoutException"
)

type codeEntry struct {
	code string
	kind Kind // ThrottleUnknown means "throttle, refine by message"
}

// codes lists the error codes ByCode knows, in canonical casing. The first
// group are Bedrock Runtime's modeled errors; the rest are the throttle codes
// the SDK's standard retryer knows and a few generic AWS codes.
var codes = [...]codeEntry{
	{codeThrottling, ThrottleUnknown},
	{codeModelNotReady, ModelNotReady},
	{codeServiceUnavailable, Unavailable},
	{codeInternalServer, Unavailable},
	{codeModelTimeout, Timeout},
	{"ValidationException", NotRetryable},
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
