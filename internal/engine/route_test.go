package engine

import (
	"net/http"
	"net/url"
	"testing"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestSameModelAcrossProfilesAndARNs(t *testing.T) {
	const m = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{m, "us." + m, true},
		{"eu." + m, "global." + m, true},
		{"apac." + m, "arn:aws:bedrock:ap-southeast-1:123456789012:inference-profile/apac." + m, true},
		{m, "arn:aws:bedrock:us-east-1::foundation-model/" + m, true},
		{"us." + m, "us.anthropic.claude-3-5-haiku-20241022-v1:0", false},
		{"us." + m, "amazon.nova-lite-v1:0", false},
	} {
		if got := SameModel(c.a, c.b); got != c.same {
			t.Errorf("SameModel(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

func TestSetModelPathEscapesLikeTheSDK(t *testing.T) {
	arn := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-3-5-haiku-20241022-v1:0"
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	req.URL = &url.URL{Path: "/model/us.anthropic.claude-3-5-haiku-20241022-v1:0/converse-stream",
		RawPath: "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"}
	setModelPath(req, arn)
	if want := "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fglobal.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"; req.URL.EscapedPath() != want {
		t.Fatalf("escaped path %q, want %q", req.URL.EscapedPath(), want)
	}
	if r := (&http.Request{URL: req.URL}); r.URL.Path != "/model/"+arn+"/converse-stream" {
		t.Fatalf("path %q", r.URL.Path)
	}
}
