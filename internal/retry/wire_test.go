package retry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// reply is one canned Bedrock response: status 200 is a Converse success,
// anything else an error with the exact wire shape Bedrock uses.
type reply struct {
	status  int
	code    string
	message string
}

var (
	ok            = reply{status: 200}
	tokens        = reply{429, "ThrottlingException", "Too many tokens, please wait before trying again."}
	requests      = reply{429, "ThrottlingException", "Too many requests, please wait before trying again."}
	tokensPerDay  = reply{429, "ThrottlingException", "Too many tokens per day, please wait before trying again."}
	notReady      = reply{429, "ModelNotReadyException", "Model is not ready for inference. Wait and try your request again."}
	unavailable   = reply{503, "ServiceUnavailableException", "The service isn't currently available. Try again later."}
	validationErr = reply{400, "ValidationException", "Input is too long for requested model."}
)

// scripted serves the replies in order, repeating the last one.
type scripted struct {
	mu      sync.Mutex
	replies []reply
	calls   int
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rep := s.replies[min(s.calls, len(s.replies)-1)]
	s.calls++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", "11111111-2222-3333-4444-555555555555")
	if rep.status == 200 {
		_, _ = w.Write([]byte(`{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},` +
			`"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4},"metrics":{"latencyMs":5}}`))
		return
	}
	w.Header().Set("X-Amzn-ErrorType", rep.code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.WriteHeader(rep.status)
	body, _ := json.Marshal(map[string]string{"message": rep.message})
	_, _ = w.Write(body)
}

func (s *scripted) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// newServer starts a scripted server; start it outside any synctest bubble.
func newServer(t *testing.T, replies ...reply) (*scripted, string) {
	t.Helper()
	s := &scripted{replies: replies}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// newClient returns a real Bedrock Runtime client aimed at url, with the
// SDK's default (standard) retryer and no keep-alive connections, so no idle
// connection goroutine outlives a synctest bubble.
func newClient(url string, optFns ...func(*bedrockruntime.Options)) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", Source: "test"}, nil
		}),
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}, optFns...)
}

func converse(ctx context.Context, c *bedrockruntime.Client) error {
	_, err := c.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId:         aws.String("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Messages:        hello(),
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(16)},
	})
	return err
}

func hello() []types.Message {
	return []types.Message{{
		Role:    types.ConversationRoleUser,
		Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}},
	}}
}
