package classify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/wire"
)

// The message variants Bedrock sends (docs/bedrock.md#throttling-messages).
const (
	msgRequestsLong = wire.MsgTooManyRequests
	msgRequests     = wire.MsgTooManyRequestsShort
	msgTokens       = wire.MsgTooManyTokens
	msgTokensPerDay = wire.MsgTooManyTokensPerDay
	msgAgentsRate   = "Your request rate is too high. Reduce the frequency of requests."
	msgInputTooLong = wire.MsgInputTooLong
)

// opErr builds the error a client method returns for a service error
// response: OperationError > awshttp.ResponseError > smithyhttp.ResponseError
// > the modeled error.
func opErr(status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "Bedrock Runtime",
		OperationName: "Converse",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      apiErr,
			},
			RequestID: "req-1",
		},
	}
}

// attemptErr is the error a retryer sees: the same chain without the
// OperationError.
func attemptErr(status int, apiErr error) error {
	return errors.Unwrap(opErr(status, apiErr))
}

func generic(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// sendErr is what smithy's ClientHandler returns when the HTTP client fails.
func sendErr(inner error) error {
	return &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "https://bedrock-runtime/model/m/converse", Err: inner}}
}

type fakeTimeout struct{}

func (fakeTimeout) Error() string   { return "net/http: timeout awaiting response headers" }
func (fakeTimeout) Timeout() bool   { return true }
func (fakeTimeout) Temporary() bool { return true }

func TestClassifyConstructed(t *testing.T) {
	t.Parallel()
	type want struct {
		kind      classify.Kind
		retryable bool
		code      string
		status    int
		midStream bool
	}
	tests := []struct {
		name string
		err  error
		want want
	}{
		{"nil", nil, want{classify.None, false, "", 0, false}},

		// Row throttle_requests of the package doc's table, every message
		// variant (docs/bedrock.md#throttling-messages).
		{"429 requests long form", opErr(429, &types.ThrottlingException{Message: aws.String(msgRequestsLong)}),
			want{classify.ThrottleRequests, true, "ThrottlingException", 429, false}},
		{"429 requests short form", opErr(429, &types.ThrottlingException{Message: aws.String(msgRequests)}),
			want{classify.ThrottleRequests, true, "ThrottlingException", 429, false}},
		{"agents request rate", opErr(429, generic("ThrottlingException", msgAgentsRate)),
			want{classify.ThrottleRequests, true, "ThrottlingException", 429, false}},
		// row "throttle: tokens"
		{"429 tokens", opErr(429, &types.ThrottlingException{Message: aws.String(msgTokens)}),
			want{classify.ThrottleTokens, true, "ThrottlingException", 429, false}},
		{"tokens attempt error", attemptErr(429, &types.ThrottlingException{Message: aws.String(msgTokens)}),
			want{classify.ThrottleTokens, true, "ThrottlingException", 429, false}},
		{"tokens after max attempts", &smithy.OperationError{Err: &retry.MaxAttemptsError{Attempt: 3,
			Err: attemptErr(429, &types.ThrottlingException{Message: aws.String(msgTokens)})}},
			want{classify.ThrottleTokens, true, "ThrottlingException", 429, false}},
		// row "throttle: tokens per day"
		{"429 tokens per day", opErr(429, &types.ThrottlingException{Message: aws.String(msgTokensPerDay)}),
			want{classify.ThrottleTokensPerDay, false, "ThrottlingException", 429, false}},
		// row "throttle: unknown"
		{"unmodeled 429", opErr(429, generic("", "")),
			want{classify.ThrottleUnknown, true, "", 429, false}},
		{"unmodeled 429 odd code", opErr(429, generic("SomethingNew", "slow down")),
			want{classify.ThrottleUnknown, true, "SomethingNew", 429, false}},
		{"unmodeled 429 tokens message", opErr(429, generic("", msgTokens)),
			want{classify.ThrottleTokens, true, "", 429, false}},
		{"throttling without message", opErr(429, &types.ThrottlingException{}),
			want{classify.ThrottleUnknown, true, "ThrottlingException", 429, false}},
		{"other SDK throttle code", opErr(400, generic("TooManyRequestsException", "")),
			want{classify.ThrottleUnknown, true, "TooManyRequestsException", 400, false}},
		// mid-stream throttles: bare modeled errors from stream.Err()
		{"mid-stream throttle requests", &types.ThrottlingException{Message: aws.String(msgRequestsLong)},
			want{classify.ThrottleRequests, true, "ThrottlingException", 0, true}},
		{"mid-stream throttle tokens", &types.ThrottlingException{Message: aws.String(msgTokens)},
			want{classify.ThrottleTokens, true, "ThrottlingException", 0, true}},
		{"mid-stream throttle unknown", &types.ThrottlingException{},
			want{classify.ThrottleUnknown, true, "ThrottlingException", 0, true}},
		{"mid-stream lower-case code", generic("throttlingException", msgTokensPerDay),
			want{classify.ThrottleTokensPerDay, false, "ThrottlingException", 0, true}},
		{"explicit mid-stream marker", classify.MarkMidStream(sendErr(io.EOF)),
			want{classify.Unavailable, true, "", 0, true}},
		// row "unavailable"
		{"503 ServiceUnavailable", opErr(503, &types.ServiceUnavailableException{Message: aws.String("The service isn't currently available.")}),
			want{classify.Unavailable, true, "ServiceUnavailableException", 503, false}},
		{"500 InternalServer", opErr(500, &types.InternalServerException{Message: aws.String("internal")}),
			want{classify.Unavailable, true, "InternalServerException", 500, false}},
		{"unmodeled 500", opErr(500, generic("", "")), want{classify.Unavailable, true, "", 500, false}},
		{"unmodeled 502", opErr(502, generic("", "")), want{classify.Unavailable, true, "", 502, false}},
		{"unmodeled 503", opErr(503, generic("", "")), want{classify.Unavailable, true, "", 503, false}},
		{"unmodeled 504", opErr(504, generic("", "")), want{classify.Unavailable, true, "", 504, false}},
		{"mid-stream serviceUnavailable", generic("serviceUnavailableException", "busy"),
			want{classify.Unavailable, true, "ServiceUnavailableException", 0, true}},
		{"mid-stream internal", &types.InternalServerException{Message: aws.String("x")},
			want{classify.Unavailable, true, "InternalServerException", 0, true}},
		// row "model not ready"
		{"429 ModelNotReady", opErr(429, &types.ModelNotReadyException{Message: aws.String("Model is not ready")}),
			want{classify.ModelNotReady, true, "ModelNotReadyException", 429, false}},
		// row "timeout"
		{"408 ModelTimeout", opErr(408, &types.ModelTimeoutException{Message: aws.String("timeout")}),
			want{classify.Timeout, true, "ModelTimeoutException", 408, false}},
		{"mid-stream modelTimeout generic", generic("modelTimeoutException", "too slow"),
			want{classify.Timeout, true, "ModelTimeoutException", 0, true}},
		{"unmodeled 408", opErr(408, generic("", "")), want{classify.Timeout, true, "", 408, false}},
		{"transport timeout", sendErr(fakeTimeout{}), want{classify.Timeout, true, "", 0, false}},
		{"transport deadline below send error", sendErr(context.DeadlineExceeded), want{classify.Timeout, true, "", 0, false}},
		{"dial timeout", sendErr(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}),
			want{classify.Timeout, true, "", 0, false}},
		// transport failures are unavailable
		{"connection reset", sendErr(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}),
			want{classify.Unavailable, true, "", 0, false}},
		{"connection refused", sendErr(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}),
			want{classify.Unavailable, true, "", 0, false}},
		{"EOF before headers", sendErr(io.EOF), want{classify.Unavailable, true, "", 0, false}},
		{"unexpected EOF", sendErr(io.ErrUnexpectedEOF), want{classify.Unavailable, true, "", 0, false}},
		{"closed connection", sendErr(net.ErrClosed), want{classify.Unavailable, true, "", 0, false}},
		{"generic send error", sendErr(errors.New("tls: handshake failure")), want{classify.Unavailable, true, "", 0, false}},
		{"mid-stream reset, no marker", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)},
			want{classify.Unavailable, true, "", 0, false}},
		{"unknown host", sendErr(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}),
			want{classify.NotRetryable, false, "", 0, false}},
		// canceled
		{"context canceled", context.Canceled, want{classify.Canceled, false, "", 0, false}},
		{"context deadline", context.DeadlineExceeded, want{classify.Canceled, false, "", 0, false}},
		{"smithy canceled", &smithy.OperationError{Err: &smithy.CanceledError{Err: context.DeadlineExceeded}},
			want{classify.Canceled, false, "", 0, false}},
		{"canceled during backoff", &aws.RequestCanceledError{Err: context.Canceled}, want{classify.Canceled, false, "", 0, false}},
		{"wrapped cancel", fmt.Errorf("call: %w", context.Canceled), want{classify.Canceled, false, "", 0, false}},
		// row "not retryable"
		{"validation input too long", opErr(400, &types.ValidationException{Message: aws.String(msgInputTooLong)}),
			want{classify.NotRetryable, false, "ValidationException", 400, false}},
		{"validation context length", opErr(400, &types.ValidationException{Message: aws.String("prompt is too long: 210000 tokens > 200000 maximum")}),
			want{classify.NotRetryable, false, "ValidationException", 400, false}},
		{"access denied", opErr(403, &types.AccessDeniedException{Message: aws.String("no")}),
			want{classify.NotRetryable, false, "AccessDeniedException", 403, false}},
		{"resource not found", opErr(404, &types.ResourceNotFoundException{Message: aws.String("no model")}),
			want{classify.NotRetryable, false, "ResourceNotFoundException", 404, false}},
		{"service quota exceeded", opErr(400, &types.ServiceQuotaExceededException{Message: aws.String("Your request exceeds the service quota for your account. You can resubmit your request later.")}),
			want{classify.NotRetryable, false, "ServiceQuotaExceededException", 400, false}},
		{"model error 424", opErr(424, &types.ModelErrorException{Message: aws.String("model failed")}),
			want{classify.NotRetryable, false, "ModelErrorException", 424, false}},
		{"mid-stream model stream error", &types.ModelStreamErrorException{Message: aws.String("x")},
			want{classify.NotRetryable, false, "ModelStreamErrorException", 0, true}},
		{"unmodeled 400", opErr(400, generic("", "bad")), want{classify.NotRetryable, false, "", 400, false}},
		{"unmodeled 501", opErr(501, generic("", "")), want{classify.NotRetryable, false, "", 501, false}},
		{"plain error", errors.New("boom"), want{classify.NotRetryable, false, "", 0, false}},
		{"serialization", &smithy.SerializationError{Err: errors.New("bad input")}, want{classify.NotRetryable, false, "", 0, false}},
		// an unknown code with Bedrock's throttle wording is still a throttle
		{"unknown code, throttle message", generic("Weird", msgTokens),
			want{classify.ThrottleTokens, true, "Weird", 0, true}},
		{"no code, tokens per day message", attemptErr(400, generic("", msgTokensPerDay)),
			want{classify.ThrottleTokensPerDay, false, "", 400, false}},
		// what the SDK returns when our retry budget stops a retry
		{"joined with budget error", errors.Join(attemptErr(429, &types.ThrottlingException{Message: aws.String(msgTokens)}),
			errors.New("retry budget exhausted")),
			want{classify.ThrottleTokens, true, "ThrottlingException", 429, false}},
		// a ResponseError without a response must not panic
		{"response error without response", &smithyhttp.ResponseError{Err: generic("ThrottlingException", msgTokens)},
			want{classify.ThrottleTokens, true, "ThrottlingException", 0, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify.Classify(tt.err)
			w := tt.want
			if got.Kind != w.kind || got.Retryable != w.retryable || got.Code != w.code ||
				got.Status != w.status || got.MidStream != w.midStream || got.Throttle != classify.Of(w.kind).Throttle {
				t.Errorf("Classify(%v)\n got %+v\nwant %+v", tt.err, got, w)
			}
			// With and no opinion in front must agree with Classify.
			if c := classify.With().Classify(tt.err); c != got {
				t.Errorf("With().Classify = %+v, Classify = %+v", c, got)
			}
			if c := classify.With(nil, noOpinion).Classify(tt.err); c != got {
				t.Errorf("With(nil, noOpinion).Classify = %+v, Classify = %+v", c, got)
			}
		})
	}
}

func TestKindStrings(t *testing.T) {
	t.Parallel()
	want := map[classify.Kind]string{
		classify.Unknown:              "unknown",
		classify.None:                 "none",
		classify.ThrottleRequests:     "throttle_requests",
		classify.ThrottleTokens:       "throttle_tokens",
		classify.ThrottleTokensPerDay: "throttle_tokens_per_day",
		classify.ThrottleUnknown:      "throttle_unknown",
		classify.Unavailable:          "unavailable",
		classify.ModelNotReady:        "model_not_ready",
		classify.Timeout:              "timeout",
		classify.Canceled:             "canceled",
		classify.NotRetryable:         "not_retryable",
		classify.Kind(200):            "unknown",
	}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), s)
		}
	}
}

func TestFromException(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code, msg string
		kind      classify.Kind
		wantCode  string
	}{
		{"throttlingException", msgTokens, classify.ThrottleTokens, "ThrottlingException"},
		{"throttlingException", msgRequestsLong, classify.ThrottleRequests, "ThrottlingException"},
		{"throttlingException", msgTokensPerDay, classify.ThrottleTokensPerDay, "ThrottlingException"},
		{"throttlingException", "", classify.ThrottleUnknown, "ThrottlingException"},
		{"serviceUnavailableException", "", classify.Unavailable, "ServiceUnavailableException"},
		{"internalServerException", "", classify.Unavailable, "InternalServerException"},
		{"modelStreamErrorException", "", classify.NotRetryable, "ModelStreamErrorException"},
		{"validationException", msgInputTooLong, classify.NotRetryable, "ValidationException"},
		{"modelTimeoutException", "", classify.Timeout, "ModelTimeoutException"},
		{"somethingNewException", "", classify.NotRetryable, "somethingNewException"},
		{"", msgTokens, classify.ThrottleTokens, ""},
		{"", "", classify.NotRetryable, ""},
	}
	for _, tt := range tests {
		got := classify.FromException(tt.code, tt.msg)
		want := classify.Of(tt.kind)
		if got.Kind != tt.kind || got.Code != tt.wantCode || !got.MidStream || got.Status != 0 ||
			got.Retryable != want.Retryable || got.Throttle != want.Throttle {
			t.Errorf("FromException(%q, %q) = %+v, want kind %v code %q", tt.code, tt.msg, got, tt.kind, tt.wantCode)
		}
		// The SDK's error for the same frame, from stream.Err().
		if tt.code != "" || tt.msg != "" {
			if c := classify.Classify(generic(tt.code, tt.msg)); c != got {
				t.Errorf("Classify(frame %q) = %+v, FromException = %+v", tt.code, c, got)
			}
		}
	}
}

// Raw parts with an HTTP status, the rules FromException shares with
// Classify for an error response.
func TestFromParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code, msg string
		status    int
		kind      classify.Kind
	}{
		{"", "", 429, classify.ThrottleUnknown},
		{"", msgTokens, 429, classify.ThrottleTokens},
		{"", "", 503, classify.Unavailable},
		{"", "", 408, classify.Timeout},
		{"", "", 418, classify.NotRetryable},
		{"ModelNotReadyException", "", 429, classify.ModelNotReady},
	}
	for _, tt := range tests {
		got := classify.FromParts(tt.code, tt.msg, tt.status)
		if got.Kind != tt.kind || got.MidStream || got.Status != tt.status {
			t.Errorf("FromParts(%q, %q, %d) = %+v, want %v", tt.code, tt.msg, tt.status, got, tt.kind)
		}
	}
}

var errGateway = errors.New("corporate gateway busy")

var noOpinion = classify.ClassifierFunc(func(error) classify.Class { return classify.Class{} })

func TestWithCustomClassifierFirst(t *testing.T) {
	t.Parallel()
	chain := classify.With(classify.ClassifierFunc(func(err error) classify.Class {
		if errors.Is(err, errGateway) {
			return classify.Of(classify.Unavailable)
		}
		return classify.Class{}
	}))
	if got := chain.Classify(fmt.Errorf("x: %w", errGateway)); got.Kind != classify.Unavailable || !got.Retryable {
		t.Errorf("custom classifier ignored: %+v", got)
	}
	// Falls through to the defaults, and the chain fills Code and Status.
	got := chain.Classify(opErr(429, &types.ThrottlingException{Message: aws.String(msgTokens)}))
	if got.Kind != classify.ThrottleTokens || got.Code != "ThrottlingException" || got.Status != 429 {
		t.Errorf("defaults after custom: %+v", got)
	}
	// A custom answer that overrides a default: ModelErrorException as retryable.
	override := classify.With(classify.ClassifierFunc(func(err error) classify.Class {
		if _, ok := errors.AsType[*types.ModelErrorException](err); ok {
			return classify.Of(classify.Unavailable)
		}
		return classify.Class{}
	}))
	got = override.Classify(opErr(424, &types.ModelErrorException{}))
	if got.Kind != classify.Unavailable || got.Code != "ModelErrorException" || got.Status != 424 {
		t.Errorf("override: %+v", got)
	}
	// A custom answer keeps its own Retryable; Throttle follows Kind.
	strict := classify.With(classify.ClassifierFunc(func(error) classify.Class {
		return classify.Class{Kind: classify.ThrottleTokens}
	}))
	got = strict.Classify(opErr(429, &types.ThrottlingException{Message: aws.String(msgTokens)}))
	if got.Kind != classify.ThrottleTokens || got.Retryable || !got.Throttle || got.Status != 429 {
		t.Errorf("custom Retryable: %+v", got)
	}
	// A nil error is None without asking anyone; nil classifiers are skipped.
	if got := classify.With(nil, strict).Classify(nil); got.Kind != classify.None {
		t.Errorf("nil error: %+v", got)
	}
	if got := classify.With(nil).Classify(errGateway); got.Kind != classify.NotRetryable {
		t.Errorf("With(nil): %+v", got)
	}
}

func TestRulesAnswerUnknownWhenNotTheirs(t *testing.T) {
	t.Parallel()
	throttle := opErr(429, &types.ThrottlingException{Message: aws.String(msgTokens)})
	cases := []struct {
		rule string
		err  error
		kind classify.Kind
	}{
		{"context", throttle, classify.Unknown},
		{"context", context.Canceled, classify.Canceled},
		{"code", sendErr(io.EOF), classify.Unknown},
		{"code", throttle, classify.ThrottleTokens},
		{"message", opErr(400, generic("", "bad")), classify.Unknown},
		{"message", generic("", msgRequests), classify.ThrottleRequests},
		{"status", sendErr(io.EOF), classify.Unknown},
		{"status", opErr(502, generic("", "")), classify.Unavailable},
		{"transport", throttle, classify.Unknown},
		{"transport", sendErr(io.EOF), classify.Unavailable},
		{"transport", nil, classify.Unknown},
	}
	for i, tt := range cases {
		if got := classify.Rules[tt.rule](tt.err); got.Kind != tt.kind {
			t.Errorf("%d: rule %s(%v) = %v, want %v", i, tt.rule, tt.err, got.Kind, tt.kind)
		}
	}
}

func TestMidStreamMarker(t *testing.T) {
	t.Parallel()
	inner := &types.ThrottlingException{Message: aws.String(msgTokens)}
	err := classify.MarkMidStream(inner)
	if got := classify.Classify(fmt.Errorf("read stream: %w", err)); !got.MidStream || got.Kind != classify.ThrottleTokens {
		t.Errorf("Classify(marked) = %+v", got)
	}
	// A frame the tap could not decode carries no other sign of its origin.
	undecodable := classify.MarkMidStream(errors.New("undecodable stream exception"))
	if got := classify.Classify(undecodable); !got.MidStream || got.Kind != classify.NotRetryable {
		t.Errorf("Classify(marked undecodable) = %+v", got)
	}
	if got := classify.With(noOpinion).Classify(undecodable); !got.MidStream {
		t.Errorf("With(...).Classify(marked undecodable) = %+v", got)
	}
}

func TestClassString(t *testing.T) {
	t.Parallel()
	c := classify.Classify(opErr(429, &types.ThrottlingException{Message: aws.String(msgTokens)}))
	if got := c.String(); got != "throttle_tokens(ThrottlingException)" {
		t.Errorf("String() = %q", got)
	}
	if got := classify.Classify(context.Canceled).String(); got != "canceled" {
		t.Errorf("String() = %q", got)
	}
}
