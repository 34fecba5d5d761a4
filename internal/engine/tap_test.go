package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/tokens"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// tapObs records settlements and ends.
type tapObs struct {
	NopObserver
	mu      sync.Mutex
	settled []SettleEvent
	ends    []error
}

func (o *tapObs) Settled(_ context.Context, _ *Call, e SettleEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.settled = append(o.settled, e)
}

func (o *tapObs) End(_ context.Context, _ *Call, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ends = append(o.ends, err)
}

func testEngine(tb testing.TB, obs Observer) *Engine {
	tb.Helper()
	l, err := limiter.NewLimiter(limiter.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	est, err := tokens.New(tokens.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	e, err := New(Config{Limiter: l, Estimator: est, Limits: func(string, string) limiter.Limits { return limiter.Limits{} }, Observer: obs})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// testCall returns a ConverseStream call with an admitted attempt.
func testCall(tb testing.TB, e *Engine) (*Call, *attempt) {
	tb.Helper()
	c := &Call{Operation: "ConverseStream", key: "us-east-1/m", Stream: true,
		est: tokens.Estimate{InputTokens: 10, MaxTokens: 100, Burndown: 1}, Started: e.cfg.Clock.Now()}
	c.cfg = e.cfg.Limiter.KeyConfig(limiter.Limits{})
	t, err := e.cfg.Limiter.Acquire(context.Background(), c.key, c.cfg, pacing.Amount{Requests: 1, Tokens: 110}, limiter.Interactive)
	if err != nil {
		tb.Fatal(err)
	}
	return c, &attempt{ticket: t, number: 1}
}

func encodeFrame(tb testing.TB, msgType, typ, payload string) []byte {
	tb.Helper()
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue(msgType))
	if msgType == "exception" {
		msg.Headers.Set(":exception-type", eventstream.StringValue(typ))
	} else {
		msg.Headers.Set(":event-type", eventstream.StringValue(typ))
	}
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = []byte(payload)
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, msg); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// converseStream encodes a ConverseStream of n deltas, ending with usage.
func converseStream(tb testing.TB, n int) []byte {
	var b bytes.Buffer
	b.Write(encodeFrame(tb, "event", "messageStart", `{"role":"assistant","p":"abcdefghijkl"}`))
	for range n {
		b.Write(encodeFrame(tb, "event", "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"lorem ipsum "},"p":"abcdefghijklmnopq"}`))
	}
	b.Write(encodeFrame(tb, "event", "contentBlockStop", `{"contentBlockIndex":0}`))
	b.Write(encodeFrame(tb, "event", "messageStop", `{"stopReason":"end_turn"}`))
	b.Write(encodeFrame(tb, "event", "metadata", `{"usage":{"inputTokens":12,"outputTokens":34,"totalTokens":46},"metrics":{"latencyMs":5}}`))
	return b.Bytes()
}

// chunked reads at most n bytes at a time.
type chunked struct {
	r io.Reader
	n int
}

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// The tap decodes the same usage however the body is split into reads, and
// passes every byte through unchanged.
func TestTapSplitReads(t *testing.T) {
	stream := converseStream(t, 5)
	for n := 1; n <= 64; n++ {
		obs := &tapObs{}
		e := testEngine(t, obs)
		c, a := testCall(t, e)
		tp := newTap(context.Background(), e, c, a, io.NopCloser(chunked{bytes.NewReader(stream), n}))
		got, err := io.ReadAll(tp)
		if err != nil || !bytes.Equal(got, stream) {
			t.Fatalf("reads of %d: the application read %d bytes (err %v), want the stream unchanged", n, len(got), err)
		}
		tp.Close()
		if len(obs.settled) != 1 || obs.settled[0].Usage.OutputTokens != 34 || len(obs.ends) != 1 || obs.ends[0] != nil {
			t.Fatalf("reads of %d: settled %+v, ends %v", n, obs.settled, obs.ends)
		}
		if _, ok := c.FirstChunk(); !ok {
			t.Fatalf("reads of %d: no first chunk", n)
		}
		if e.cfg.Limiter.Outstanding() != 0 {
			t.Fatal("leak")
		}
	}
}

// Garbage after valid frames: the tap stops decoding, passes the bytes
// through, settles with what it saw and reports the malformed stream.
func TestTapGarbage(t *testing.T) {
	stream := encodeFrame(t, "event", "messageStart", `{}`)
	stream = append(stream, encodeFrame(t, "event", "contentBlockDelta", `{"delta":{"text":"abc"}}`)...)
	stream = append(stream, bytes.Repeat([]byte{0xff}, 100)...)
	obs := &tapObs{}
	e := testEngine(t, obs)
	c, a := testCall(t, e)
	tp := newTap(context.Background(), e, c, a, io.NopCloser(bytes.NewReader(stream)))
	got, _ := io.ReadAll(tp)
	if !bytes.Equal(got, stream) {
		t.Fatal("bytes changed")
	}
	if len(obs.ends) != 1 || !errors.Is(obs.ends[0], ErrStreamMalformed) || len(obs.settled) != 0 {
		t.Fatalf("ends %v settled %v", obs.ends, obs.settled)
	}
	if e.cfg.Limiter.Outstanding() != 0 {
		t.Fatal("leak")
	}
}

// A body cut in the middle of a frame: the SDK sees a clean end; the tap
// settles with what it saw and reports the truncation.
func TestTapTruncated(t *testing.T) {
	stream := converseStream(t, 3)
	obs := &tapObs{}
	e := testEngine(t, obs)
	c, a := testCall(t, e)
	tp := newTap(context.Background(), e, c, a, io.NopCloser(bytes.NewReader(stream[:len(stream)-20])))
	io.ReadAll(tp)
	if len(obs.ends) != 1 || !errors.Is(obs.ends[0], ErrStreamTruncated) {
		t.Fatalf("ends %v", obs.ends)
	}
}

func streamResponse(body []byte) *smithyhttp.Response {
	return &smithyhttp.Response{Response: &http.Response{StatusCode: 200, Header: http.Header{"X-Amzn-Requestid": {"req-1"}},
		Body: io.NopCloser(bytes.NewReader(body))}}
}

// The peek turns a first-frame exception into the SDK's modeled error, with
// the status Bedrock gives it outside a stream; a stream that reaches
// content is put back in front of the body unchanged.
func TestPeek(t *testing.T) {
	ctx := context.Background()
	c := &Call{Operation: "ConverseStream"}
	start := encodeFrame(t, "event", "messageStart", `{"role":"assistant"}`)
	exc := encodeFrame(t, "exception", "throttlingException", `{"message":"Too many tokens, please wait before trying again."}`)
	_, err := peek(ctx, c, streamResponse(exc))
	var te *types.ThrottlingException
	var ffe *FirstFrameError
	if !errors.As(err, &te) || !errors.As(err, &ffe) || ffe.HTTPStatusCode() != 429 || te.ErrorMessage() == "" {
		t.Fatalf("err = %v", err)
	}
	// After messageStart, an exception is the application's to see, as
	// without the peek.
	late := append(append([]byte{}, start...), exc...)
	r, err := peek(ctx, c, streamResponse(late))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, late) {
		t.Fatal("peek changed the body")
	}
	stream := converseStream(t, 3)
	for _, split := range []int{1, 7, 1 << 20} {
		r, err := peek(ctx, c, &smithyhttp.Response{Response: &http.Response{StatusCode: 200,
			Body: io.NopCloser(chunked{bytes.NewReader(stream), split})}})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(r); !bytes.Equal(got, stream) {
			t.Fatalf("peek changed the body read %d bytes at a time", split)
		}
	}
	c.Operation = "InvokeModelWithResponseStream"
	exc = encodeFrame(t, "exception", "modelTimeoutException", `{"message":"timeout"}`)
	_, err = peek(ctx, c, streamResponse(exc))
	var mt *types.ModelTimeoutException
	if !errors.As(err, &mt) || !errors.As(err, &ffe) || ffe.HTTPStatusCode() != 408 {
		t.Fatalf("err = %v", err)
	}
}

// failAfter returns its bytes, then err.
type failAfter struct {
	r   io.Reader
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// A stream whose connection fails, or whose body ends, before its first
// content event fails the attempt with a *StreamConnError (classified as
// a retryable connection failure); after content, the failure is the
// application's to see.
func TestPeekConnectionFailure(t *testing.T) {
	ctx := context.Background()
	c := &Call{Operation: "ConverseStream"}
	stream := converseStream(t, 3)
	start := encodeFrame(t, "event", "messageStart", `{"role":"assistant"}`)
	for _, tc := range []struct {
		name string
		body []byte
		err  error
		want error
	}{
		{"closed before any byte", nil, net.ErrClosed, net.ErrClosed},
		{"closed after messageStart", start, net.ErrClosed, net.ErrClosed},
		{"reset in the first frame", stream[:20], syscall.ECONNRESET, syscall.ECONNRESET},
		{"ended after messageStart", start, io.EOF, io.ErrUnexpectedEOF},
		{"ended in the first frame", stream[:5], io.EOF, io.ErrUnexpectedEOF},
		{"empty body", nil, io.EOF, io.ErrUnexpectedEOF},
	} {
		_, err := peek(ctx, c, &smithyhttp.Response{Response: &http.Response{StatusCode: 200,
			Body: io.NopCloser(&failAfter{bytes.NewReader(tc.body), tc.err})}})
		var sce *StreamConnError
		if !errors.As(err, &sce) || !errors.Is(err, tc.want) {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		if cls := classify.Classify(err); cls.Kind != classify.Unavailable || !cls.Retryable {
			t.Fatalf("%s: class %v", tc.name, cls)
		}
	}
	// After the first content event the stream is handed over, failure
	// and all.
	r, err := peek(ctx, c, &smithyhttp.Response{Response: &http.Response{StatusCode: 200,
		Body: io.NopCloser(&failAfter{bytes.NewReader(stream[:len(stream)-30]), net.ErrClosed})}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); !errors.Is(err, net.ErrClosed) || !bytes.Equal(got, stream[:len(stream)-30]) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	// The caller's own cancellation is not a connection failure.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = peek(cctx, c, &smithyhttp.Response{Response: &http.Response{StatusCode: 200,
		Body: io.NopCloser(&failAfter{bytes.NewReader(start), context.Canceled})}})
	if cls := classify.Classify(err); err == nil || cls.Kind != classify.Canceled {
		t.Fatalf("err = %v, class %v", err, cls)
	}
}

// Anthropic's message_start and content_block_start chunks are preamble: the
// peek reads on to the first content_block_delta.
func TestPeekAnthropicPreamble(t *testing.T) {
	ctx := context.Background()
	c := &Call{Operation: "InvokeModelWithResponseStream"}
	chunk := func(js string) []byte {
		return encodeFrame(t, "event", "chunk", `{"bytes":"`+base64.StdEncoding.EncodeToString([]byte(js))+`"}`)
	}
	var pre bytes.Buffer
	pre.Write(chunk(`{"message":{"type":"message","usage":{"input_tokens":3}},"type":"message_start"}`))
	pre.Write(chunk(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	_, err := peek(ctx, c, &smithyhttp.Response{Response: &http.Response{StatusCode: 200,
		Body: io.NopCloser(&failAfter{bytes.NewReader(pre.Bytes()), net.ErrClosed})}})
	if _, ok := errors.AsType[*StreamConnError](err); !ok {
		t.Fatalf("err = %v", err)
	}
	pre.Write(chunk(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`))
	r, err := peek(ctx, c, &smithyhttp.Response{Response: &http.Response{StatusCode: 200,
		Body: io.NopCloser(&failAfter{bytes.NewReader(pre.Bytes()), net.ErrClosed})}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, pre.Bytes()) {
		t.Fatal("peek changed the body")
	}
}

// BenchmarkTapPerEvent compares reading a 100-delta ConverseStream body
// straight and through the tap; ns/event is the cost per event frame.
func BenchmarkTapPerEvent(b *testing.B) {
	const deltas = 100
	stream := converseStream(b, deltas)
	const events = deltas + 4
	buf := make([]byte, 32<<10)
	for _, tapped := range []bool{false, true} {
		b.Run(fmt.Sprintf("tap=%v", tapped), func(b *testing.B) {
			e := testEngine(b, NopObserver{})
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				var r io.ReadCloser = io.NopCloser(bytes.NewReader(stream))
				if tapped {
					b.StopTimer()
					c, a := testCall(b, e)
					b.StartTimer()
					r = newTap(context.Background(), e, c, a, r)
				}
				// The SDK's reader reads frame by frame: prelude, then rest.
				for {
					if _, err := r.Read(buf[:12]); err != nil {
						break
					}
					n := int(uint32(buf[0])<<24 | uint32(buf[1])<<16 | uint32(buf[2])<<8 | uint32(buf[3]))
					if _, err := io.ReadFull(r, buf[12:n]); err != nil {
						break
					}
				}
				r.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
		})
	}
}

// BenchmarkPeek is the CPU cost of peeking at a stream's first frame and
// replaying it, per stream.
func BenchmarkPeek(b *testing.B) {
	stream := converseStream(b, 3)
	c := &Call{Operation: "ConverseStream"}
	buf := make([]byte, 4096)
	for _, peeked := range []bool{false, true} {
		b.Run(fmt.Sprintf("peek=%v", peeked), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp := streamResponse(stream)
				var r io.Reader = resp.Body
				if peeked {
					r, _ = peek(context.Background(), c, resp)
				}
				r.Read(buf)
			}
		})
	}
}

// parseFrame accepts exactly the frames the SDK's decoder accepts, and
// reads the same headers and payload.
func FuzzParseFrame(f *testing.F) {
	f.Add(encodeFrame(f, "event", "contentBlockDelta", `{"delta":{"text":"hi"}}`))
	f.Add(encodeFrame(f, "exception", "throttlingException", `{"message":"x"}`))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 5, 1, 2, 3, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fv, ok := parseFrame(b)
		r := bytes.NewReader(b)
		msg, err := eventstream.NewDecoder().Decode(r, nil)
		sdkOK := err == nil && r.Len() == 0
		if ok != sdkOK {
			t.Fatalf("parseFrame ok=%v, SDK decoder ok=%v (%v)", ok, sdkOK, err)
		}
		if !ok {
			return
		}
		get := func(name string) string {
			if v := msg.Headers.Get(name); v != nil {
				if s, isStr := v.(eventstream.StringValue); isStr {
					return string(s)
				}
			}
			return ""
		}
		if string(fv.messageType) != get(":message-type") || string(fv.eventType) != get(":event-type") ||
			string(fv.exceptionType) != get(":exception-type") || !bytes.Equal(fv.payload, msg.Payload) {
			t.Fatalf("parseFrame %+v, SDK %+v", fv, msg)
		}
		_ = textBytes(fv.payload)
		_, _ = stringValue(fv.payload, "bytes")
	})
}
