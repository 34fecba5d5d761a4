package classify_test

import (
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bedrockguard/bedrockguard/classify"
)

// FuzzClassify checks that classification never panics, is deterministic,
// agrees between Classify and FromException, and keeps its invariants.
func FuzzClassify(f *testing.F) {
	for _, m := range []string{msgRequestsLong, msgRequests, msgTokens, msgTokensPerDay, msgAgentsRate, msgInputTooLong, "", "TOO MANY TOKENS PER DAY"} {
		for _, c := range []string{"ThrottlingException", "throttlingException", "ValidationException", "ModelNotReadyException", "", "x"} {
			f.Add(c, m, 429)
		}
	}
	f.Add("serviceUnavailableException", "", 503)
	f.Add("", "", 0)
	f.Fuzz(func(t *testing.T, code, msg string, status int) {
		api := &smithy.GenericAPIError{Code: code, Message: msg}
		var err error = api
		if status != 0 {
			err = &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: api}}
		}
		a, b := classify.Classify(err), classify.Classify(err)
		if a != b {
			t.Fatalf("not deterministic: %+v vs %+v", a, b)
		}
		if a.Kind == classify.Unknown || a.Kind == classify.None {
			t.Fatalf("non-nil error classified %v", a.Kind)
		}
		if a.Throttle != a.Kind.IsThrottle() || a.Retryable != a.Kind.Retryable() {
			t.Fatalf("inconsistent flags: %+v", a)
		}
		if a.MidStream != (status == 0) {
			t.Fatalf("mid-stream inference wrong for status %d: %+v", status, a)
		}
		raw := classify.FromException(code, msg, status, status == 0)
		if raw != a {
			t.Fatalf("FromException = %+v, Classify = %+v", raw, a)
		}
		if c := classify.Default().Classify(err); c != a {
			t.Fatalf("Default chain = %+v, Classify = %+v", c, a)
		}
	})
}
