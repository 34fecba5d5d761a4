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
// agrees between Classify, With and raw parts (FromException), and keeps its
// invariants.
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
		if d := classify.Of(a.Kind); a.Throttle != d.Throttle || a.Retryable != d.Retryable {
			t.Fatalf("inconsistent flags: %+v", a)
		}
		if a.MidStream != (status == 0) {
			t.Fatalf("mid-stream inference wrong for status %d: %+v", status, a)
		}
		var raw classify.Class
		if status == 0 {
			raw = classify.FromException(code, msg)
		} else {
			raw = classify.FromParts(code, msg, status)
		}
		if raw != a {
			t.Fatalf("raw parts = %+v, Classify = %+v", raw, a)
		}
		if c := classify.With(noOpinion).Classify(err); c != a {
			t.Fatalf("With(noOpinion) = %+v, Classify = %+v", c, a)
		}
	})
}
