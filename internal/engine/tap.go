package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/midstream"
	"github.com/bedrockguard/bedrockguard/internal/tokens"
)

type tapMiddleware struct{ e *Engine }

func (tapMiddleware) ID() string { return StreamTapID }

func (m tapMiddleware) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	out middleware.DeserializeOutput, md middleware.Metadata, err error,
) {
	out, md, err = next.HandleDeserialize(ctx, in)
	c, ok := CallFrom(ctx)
	a := attemptFrom(ctx)
	if err != nil || !ok || a == nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || resp.StatusCode != 200 || resp.Body == nil {
		return out, md, err
	}
	body := resp.Body
	if m.e.cfg.StreamPeek {
		var perr error
		if body, perr = peek(ctx, c, resp); perr != nil {
			// The stream failed before any of it reached the
			// application: the attempt fails, and the Pace middleware
			// and the retry loop treat it like any other error.
			return out, md, perr
		}
	}
	a.tapped = true
	c.tapped.Store(true)
	resp.Body = newTap(ctx, m.e, c, a, body)
	return out, md, err
}

// tap passes a stream's bytes through unchanged and decodes its event
// frames on the side: usage from the metadata event or the last chunk's
// invocation metrics, content seen so far, and exception frames. It never
// blocks the reader and never changes what the application sees: it decodes
// only what the SDK's reader has already read, and when it cannot decode a
// frame it stops decoding and keeps passing bytes through.
type tap struct {
	body io.ReadCloser
	ctx  context.Context
	e    *Engine
	c    *Call
	a    *attempt

	mu         sync.Mutex
	buf        []byte
	chunk      []byte // decoded chunk bytes, reused
	lost       bool
	events     int
	usage      tokens.Usage
	haveUsage  bool
	stopReason string // ConverseStream's messageStop, for the finish reason
	partial    partialUsage
	exception  error // the SDK's error for an exception frame
	exceptCode string
	decodeErrs int
	reading    int // Reads in progress
	eof        bool
	closing    bool // the application called Close
	readErr    error
	done       bool
	idle       limiter.Timer
	lastRead   time.Time
}

// partialUsage is what the tap learns of a stream's usage before its final
// usage arrives: content bytes (text, tool input, chunk payloads), and for
// Anthropic's InvokeModelWithResponseStream the counts in message_start and
// message_delta.
type partialUsage struct {
	contentBytes int
	inputTokens  int64 // 0 when not seen
	outputTokens int64 // 0 when not seen
}

func newTap(ctx context.Context, e *Engine, c *Call, a *attempt, body io.ReadCloser) *tap {
	t := &tap{body: body, ctx: context.WithoutCancel(ctx), e: e, c: c, a: a}
	t.mu.Lock()
	t.lastRead = e.cfg.Clock.Now()
	t.armIdle(e.cfg.StreamIdleTimeout)
	t.mu.Unlock()
	return t
}

// armIdle starts the idle timer. Called with t.mu held.
func (t *tap) armIdle(d time.Duration) {
	t.idle = t.e.cfg.Clock.AfterFunc(d, t.checkIdle)
}

// checkIdle ends an abandoned stream: one that was neither read nor closed
// for StreamIdleTimeout. A Read blocked on the network is not idleness (the
// model is slow, and Bedrock's own timeouts apply); a reader that stopped
// reading is.
func (t *tap) checkIdle() {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	left := t.e.cfg.StreamIdleTimeout - t.e.cfg.Clock.Now().Sub(t.lastRead)
	if t.reading > 0 {
		left = t.e.cfg.StreamIdleTimeout
	}
	if left > 0 {
		t.armIdle(left)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.finish(ErrStreamAbandoned)
}

// Errors given to [Observer.End] for streams that did not end normally.
// Mid-stream exceptions are reported as a [*StreamError].
var (
	// ErrStreamAbandoned: the application neither read nor closed the
	// stream for Config.StreamIdleTimeout. The reservation was settled with
	// what had been seen; the application's stream is left as it is.
	ErrStreamAbandoned = errors.New("bedrockguard: stream neither read nor closed; reservation settled with what was seen")
	// ErrStreamTruncated: the stream ended without its usage (no metadata
	// event, no invocation metrics) and without an exception: the
	// connection was cut, maybe in the middle of a frame, which the SDK
	// reports as a clean end
	// (docs/bedrock.md#a-cut-stream-looks-like-a-clean-end). A read error,
	// if any, is wrapped.
	ErrStreamTruncated = errors.New("bedrockguard: stream ended before its usage")
	// ErrStreamMalformed: the tap could not decode the stream's frames (the
	// SDK cannot either, and stream.Err() says why). The bytes were passed
	// through unchanged.
	ErrStreamMalformed = errors.New("bedrockguard: malformed event stream")
)

func (t *tap) Read(p []byte) (int, error) {
	t.mu.Lock()
	t.reading++
	t.mu.Unlock()
	n, err := t.body.Read(p)
	t.mu.Lock()
	t.reading--
	t.lastRead = t.e.cfg.Clock.Now()
	if n > 0 && !t.done {
		t.feed(p[:n])
	}
	if err != nil {
		switch {
		case err == io.EOF:
			t.eof = true
		case t.closing:
			// The application closed the stream while the SDK's reader
			// was reading: the error is the close, not a cut stream.
		case t.readErr == nil:
			t.readErr = err
		}
	}
	t.mu.Unlock()
	if err != nil {
		t.finish(nil)
	}
	return n, err
}

func (t *tap) Close() error {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
	err := t.body.Close()
	t.finish(nil)
	return err
}

// feed appends stream bytes and decodes every complete frame. Called with
// t.mu held.
func (t *tap) feed(p []byte) {
	if t.lost {
		return
	}
	if len(t.buf) == 0 {
		// Fast path: decode whole frames straight from p, copy only the
		// incomplete tail.
		p = t.frames(p)
		t.buf = append(t.buf, p...)
		return
	}
	t.buf = append(t.buf, p...)
	rest := t.frames(t.buf)
	t.buf = append(t.buf[:0], rest...)
}

// frames decodes the complete frames at the front of b and returns the
// rest. Called with t.mu held.
func (t *tap) frames(b []byte) []byte {
	for len(b) >= preludeLen && !t.lost {
		total, ok := prelude(b)
		switch {
		case !ok:
			// A bad prelude: the SDK stops here with an error. Pass the
			// rest through undecoded.
			t.decodeErrs++
			t.lost = true
			return nil
		case len(b) < total:
			return b
		}
		t.frame(b[:total])
		b = b[total:]
	}
	if t.lost {
		return nil
	}
	return b
}

// frame handles one complete frame. Called with t.mu held.
func (t *tap) frame(b []byte) {
	f, ok := parseFrame(b)
	if !ok {
		// A bad CRC: the SDK stops at this frame with an error, so
		// nothing after it reaches the application.
		t.decodeErrs++
		t.lost = true
		return
	}
	switch string(f.messageType) {
	case "exception":
		if t.exception == nil {
			t.exceptCode = string(f.exceptionType)
			t.exception = sdkException(t.c.Operation, b)
		}
	case "event":
		t.events++
		t.event(f.eventType, f.payload)
	}
}

// event reads one event's payload. Called with t.mu held.
func (t *tap) event(typ, payload []byte) {
	switch string(typ) {
	case "contentBlockDelta":
		t.firstChunk()
		t.partial.contentBytes += textBytes(payload)
	case "messageStop":
		if r, ok := stringValue(payload, "stopReason"); ok {
			t.stopReason = string(r)
		}
	case "metadata":
		var ev struct {
			Usage *struct {
				InputTokens           int64 `json:"inputTokens"`
				OutputTokens          int64 `json:"outputTokens"`
				CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
				CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
			} `json:"usage"`
		}
		if json.Unmarshal(payload, &ev) != nil || ev.Usage == nil {
			t.decodeErrs++
			return
		}
		t.usage = tokens.Usage{
			InputTokens:           ev.Usage.InputTokens,
			OutputTokens:          ev.Usage.OutputTokens,
			CacheReadInputTokens:  ev.Usage.CacheReadInputTokens,
			CacheWriteInputTokens: ev.Usage.CacheWriteInputTokens,
		}
		t.haveUsage = true
	case "chunk":
		chunk, ok := t.chunkBytes(payload)
		if !ok {
			t.decodeErrs++
			return
		}
		if u, ok := tokens.UsageFromInvocationMetrics(chunk); ok {
			t.usage, t.haveUsage = u, true
		}
		if t.c.est.Family == tokens.Anthropic {
			if t.partial.anthropic(chunk) {
				t.firstChunk()
			}
			return
		}
		t.firstChunk()
		t.partial.contentBytes += textBytes(chunk)
	}
}

// chunkBytes decodes a chunk event's {"bytes": base64} into t.chunk.
// Called with t.mu held.
func (t *tap) chunkBytes(payload []byte) ([]byte, bool) {
	b64, ok := stringValue(payload, "bytes")
	if ok {
		if n := base64.StdEncoding.DecodedLen(len(b64)); cap(t.chunk) < n {
			t.chunk = make([]byte, n)
		}
		n, err := base64.StdEncoding.Decode(t.chunk[:cap(t.chunk)], b64)
		if err == nil {
			return t.chunk[:n], true
		}
	}
	var ch struct { // escaped or unusual JSON: the slow way
		Bytes []byte `json:"bytes"`
	}
	if json.Unmarshal(payload, &ch) != nil {
		return nil, false
	}
	return ch.Bytes, true
}

// anthropic reads one of Anthropic's Messages-API stream events: the input
// count of message_start, the running output count of message_delta, the
// text of content_block_delta. It reports whether the event carried
// content.
func (p *partialUsage) anthropic(chunk []byte) bool {
	if !bytes.Contains(chunk, []byte(`"usage"`)) {
		if bytes.Contains(chunk, []byte(`"content_block_delta"`)) {
			p.contentBytes += textBytes(chunk)
			return true
		}
		return false
	}
	var ev struct {
		Type    string `json:"type"`
		Message struct {
			Usage struct {
				InputTokens int64 `json:"input_tokens"`
			} `json:"usage"`
		} `json:"message"`
		Usage struct {
			OutputTokens int64 `json:"output_tokens"`
		} `json:"usage"`
	}
	if json.Unmarshal(chunk, &ev) == nil {
		switch ev.Type {
		case "message_start":
			p.inputTokens = ev.Message.Usage.InputTokens
		case "message_delta":
			p.outputTokens = max(p.outputTokens, ev.Usage.OutputTokens)
		}
	}
	return false
}

// firstChunk records the time to the first content event. Called with t.mu
// held.
func (t *tap) firstChunk() {
	t.c.firstChunk.CompareAndSwap(0, int64(t.e.cfg.Clock.Now().Sub(t.c.Started))+1)
}

// partialTokens is the charge of a stream that ended without its usage:
// the input estimate (or Anthropic's reported input) and the output seen so
// far (reported, or about 3 bytes a token), times the burndown, capped at
// the reservation.
func (t *tap) partialTokens() float64 {
	p := t.partial
	in := float64(t.c.est.InputTokens)
	if p.inputTokens > 0 {
		in = float64(p.inputTokens)
	}
	out := float64(p.contentBytes+2) / 3
	if p.outputTokens > 0 {
		out = float64(p.outputTokens)
	}
	return min(in+out*t.c.est.Burndown, t.a.ticket.Reserved().Tokens)
}

// finish settles or releases the attempt's reservation once, and ends the
// operation. cause is set when the guard itself ends the stream's
// accounting (abandonment).
func (t *tap) finish(cause error) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	if t.idle != nil {
		t.idle.Stop()
	}
	content := t.partial.contentBytes > 0 || t.partial.outputTokens > 0
	spent := t.partialTokens()
	usage, haveUsage, exc, code, stopReason := t.usage, t.haveUsage, t.exception, t.exceptCode, t.stopReason
	malformed := t.decodeErrs > 0
	eof, readErr := t.eof, t.readErr
	t.mu.Unlock()

	e, c, a := t.e, t.c, t.a
	var endErr error
	switch {
	case exc != nil:
		// Bedrock charges what ran before the exception; a stream that
		// failed before any content charged nothing.
		if content {
			a.ticket.Settle(spent)
		}
		midErr := midstream.Mark(exc)
		se := &StreamError{Class: e.cfg.Classify(midErr), Err: exc}
		if se.Class.Code == "" {
			se.Class.Code = code
		}
		e.failed(t.ctx, c, a, midErr) // records the throttle and adapts; the ticket is already settled
		endErr = se
	case haveUsage:
		e.settleWith(t.ctx, c, a.ticket, usage, stopReason)
		if malformed {
			endErr = ErrStreamMalformed
		}
	default:
		// Closed early by the application, abandoned, cut, or
		// undecodable: charge what was seen.
		a.ticket.Settle(spent)
		switch {
		case cause != nil:
			endErr = cause
		case malformed:
			endErr = ErrStreamMalformed
		case readErr != nil:
			endErr = errors.Join(ErrStreamTruncated, readErr)
		case eof:
			endErr = ErrStreamTruncated
		}
	}
	e.end(t.ctx, c, endErr)
}

// StreamError reports a mid-stream exception seen by the stream tap. The
// application sees the SDK's own error from stream.Err(); this one is given
// to the Observer's End. It wraps the same SDK error (for example
// *types.ThrottlingException), so errors.As works on it.
type StreamError struct {
	// Class is the exception's classification, with MidStream set.
	Class classify.Class
	// Err is the SDK's error for the exception frame.
	Err error
}

func (e *StreamError) Error() string {
	return "bedrockguard: mid-stream " + e.Class.Code + " (" + e.Class.Kind.String() + ")"
}

// Unwrap returns the SDK's error.
func (e *StreamError) Unwrap() error { return e.Err }
