package bedrocksim_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

const (
	sonnet45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	haiku3   = "anthropic.claude-3-haiku-20240307-v1:0"
	novaLite = "amazon.nova-lite-v1:0"
)

// start serves a simulator for opts over HTTP and returns it with a real
// bedrockruntime client. The client's retry backoff is capped at 1ms so
// retried calls do not sleep.
func start(t testing.TB, opts bedrocksim.Options) (*bedrocksim.Server, *bedrockruntime.Client, string) {
	t.Helper()
	sim, err := bedrocksim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	client := bedrockruntime.NewFromConfig(bedrocksim.Config(ts.URL), func(o *bedrockruntime.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Millisecond)
	})
	return sim, client, ts.URL
}

// userMsg is a one-message Converse conversation.
func userMsg(text string) []types.Message {
	return []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}}}}
}

func converse(ctx context.Context, c *bedrockruntime.Client, model, text string, maxTokens int32, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error) {
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: userMsg(text)}
	if maxTokens > 0 {
		in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)}
	}
	return c.Converse(ctx, in, optFns...)
}

// fakeClock is an accounting clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// noRetry makes a client call exactly one attempt.
func noRetry(o *bedrockruntime.Options) { o.Retryer = aws.NopRetryer{} }

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
