package bedrocksim_test

import (
	"context"
	"errors"
	"net"
	"net/http"
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
func start(t testing.TB, opts ...bedrocksim.Option) (*bedrocksim.Server, *bedrockruntime.Client, string) {
	t.Helper()
	sim, err := bedrocksim.New(opts...)
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

// startInBubble is start for a test inside a testing/synctest bubble, where
// the simulator's accounting clock is the bubble's fake clock: it serves
// the simulator over an in-memory network (goroutines blocked on a real
// socket would keep the clock from advancing) and returns the HTTP client
// that reaches it at bubbleURL.
func startInBubble(t *testing.T, opts ...bedrocksim.Option) (*bedrocksim.Server, *bedrockruntime.Client, *http.Client) {
	t.Helper()
	sim, err := bedrocksim.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	hs := &http.Server{Handler: sim}
	go hs.Serve(ln)
	tr := &http.Transport{DialContext: ln.dial}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		hs.Close()
	})
	hc := &http.Client{Transport: tr}
	client := bedrockruntime.NewFromConfig(bedrocksim.Config(bubbleURL), func(o *bedrockruntime.Options) {
		o.HTTPClient = hc
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Millisecond)
	})
	return sim, client, hc
}

// bubbleURL is the simulator's address on the in-memory network.
const bubbleURL = "http://bedrocksim.test"

// pipeListener is a net.Listener whose connections are net.Pipe ends:
// blocking on them is durable in the sense of testing/synctest.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial connects to the listener.
func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	srv, cli := net.Pipe()
	select {
	case l.conns <- srv:
		return cli, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "bedrocksim.test:80" }

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

// noRetry makes a client call exactly one attempt.
func noRetry(o *bedrockruntime.Options) { o.Retryer = aws.NopRetryer{} }

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
