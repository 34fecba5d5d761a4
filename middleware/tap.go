package middleware

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/tokens"
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
	a.tapped = true
	c.tapped.Store(true)
	resp.Body = newTap(ctx, m.e, c, a, resp.Body)
	return out, md, err
}

// maxFrame bounds the bytes the tap buffers for one frame; larger frames are
// skipped (the SDK rejects them too).
const maxFrame = 16 << 20

// tap passes a stream's bytes through unchanged and decodes its event
// frames on the side: usage from the metadata event or the last chunk's
// invocation metrics, and exception frames. It never blocks the reader and
// never changes what the application sees.
type tap struct {
	body io.ReadCloser
	ctx  context.Context
	e    *Engine
	c    *Call
	a    *attempt

	mu           sync.Mutex
	buf          []byte
	skip         int // bytes of an oversize frame still to skip
	usage        tokens.Usage
	haveUsage    bool
	contentBytes int
	exception    *classify.Class
	excErr       error
	decodeErrs   int
	done         bool
	idle         pacing.Timer
	lastRead     time.Time
}

func newTap(ctx context.Context, e *Engine, c *Call, a *attempt, body io.ReadCloser) *tap {
	t := &tap{body: body, ctx: context.WithoutCancel(ctx), e: e, c: c, a: a}
	t.lastRead = e.cfg.Clock.Now()
	t.armIdle(e.cfg.StreamIdleTimeout)
	return t
}

func (t *tap) armIdle(d time.Duration) {
	t.idle = t.e.cfg.Clock.AfterFunc(d, t.checkIdle)
}

// checkIdle releases an abandoned stream's reservation: one that was
// neither read nor closed for StreamIdleTimeout.
func (t *tap) checkIdle() {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	left := t.e.cfg.StreamIdleTimeout - t.e.cfg.Clock.Now().Sub(t.lastRead)
	if left > 0 {
		t.armIdle(left)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.finish(errStreamAbandoned)
}

type abandonedError struct{}

func (abandonedError) Error() string {
	return "bedrockguard: stream neither read nor closed; reservation released"
}

var errStreamAbandoned error = abandonedError{}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	if n > 0 {
		t.feed(p[:n])
	}
	if err != nil {
		t.finish(nil)
	}
	return n, err
}

func (t *tap) Close() error {
	err := t.body.Close()
	t.finish(nil)
	return err
}

// feed appends stream bytes and decodes every complete frame.
func (t *tap) feed(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	t.lastRead = t.e.cfg.Clock.Now()
	if t.skip > 0 {
		k := min(t.skip, len(p))
		t.skip -= k
		p = p[k:]
	}
	t.buf = append(t.buf, p...)
	for len(t.buf) >= 12 {
		total := int(binary.BigEndian.Uint32(t.buf))
		if total < 16 || total > maxFrame {
			t.decodeErrs++
			if total > maxFrame && total-len(t.buf) > 0 {
				t.skip = total - len(t.buf)
			}
			t.buf = t.buf[:0]
			return
		}
		if len(t.buf) < total {
			return
		}
		t.frame(t.buf[:total])
		t.buf = append(t.buf[:0], t.buf[total:]...)
	}
}

// frame handles one complete frame. Called with t.mu held.
func (t *tap) frame(b []byte) {
	msg, err := eventstream.NewDecoder().Decode(bytes.NewReader(b), nil)
	if err != nil {
		t.decodeErrs++
		return
	}
	header := func(name string) string {
		if v := msg.Headers.Get(name); v != nil {
			return v.String()
		}
		return ""
	}
	switch header(":message-type") {
	case "exception":
		var body struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(msg.Payload, &body)
		code := header(":exception-type")
		cls := classify.FromException(code, body.Message, 0, true)
		t.exception = &cls
	case "event":
		switch header(":event-type") {
		case "metadata":
			var ev struct {
				Usage *struct {
					InputTokens           int64 `json:"inputTokens"`
					OutputTokens          int64 `json:"outputTokens"`
					CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
					CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
				} `json:"usage"`
			}
			if json.Unmarshal(msg.Payload, &ev) == nil && ev.Usage != nil {
				t.usage = tokens.Usage{
					InputTokens:           ev.Usage.InputTokens,
					OutputTokens:          ev.Usage.OutputTokens,
					CacheReadInputTokens:  ev.Usage.CacheReadInputTokens,
					CacheWriteInputTokens: ev.Usage.CacheWriteInputTokens,
				}
				t.haveUsage = true
			} else {
				t.decodeErrs++
			}
		case "chunk":
			var ch struct {
				Bytes []byte `json:"bytes"`
			}
			if json.Unmarshal(msg.Payload, &ch) != nil {
				t.decodeErrs++
				return
			}
			t.contentBytes += len(ch.Bytes)
			if bytes.Contains(ch.Bytes, []byte("amazon-bedrock-invocationMetrics")) {
				if u, ok := tokens.UsageFromInvocationMetrics(ch.Bytes); ok {
					t.usage, t.haveUsage = u, true
				}
			}
		case "contentBlockDelta":
			t.contentBytes += len(msg.Payload)
		}
	}
}

// finish settles or releases the attempt's reservation once, and ends the
// operation.
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
	usage, haveUsage, exc, content := t.usage, t.haveUsage, t.exception, t.contentBytes
	t.mu.Unlock()

	e, c, a := t.e, t.c, t.a
	var endErr error
	switch {
	case exc != nil:
		endErr = &StreamError{Class: *exc}
		e.failed(t.ctx, c, a, endErr)
	case haveUsage:
		e.settle(t.ctx, c, a.ticket, usage)
	case cause != nil:
		a.ticket.Release()
		endErr = cause
	default:
		// The stream ended without usage (closed early, or cut): charge the
		// input estimate and the output seen so far, roughly 3 bytes a token.
		out := float64(content) / 3 * c.Estimate.Burndown
		spent := min(float64(c.Estimate.InputTokens)+out, a.ticket.Reserved().Tokens)
		a.ticket.Settle(spent)
	}
	e.end(t.ctx, c, endErr)
}

// StreamError reports a mid-stream exception seen by the stream tap. The
// application sees the SDK's own error from stream.Err(); this one is given
// to the Observer.
type StreamError struct {
	Class classify.Class
}

func (e *StreamError) Error() string {
	return "bedrockguard: mid-stream " + e.Class.Code + " (" + e.Class.Kind.String() + ")"
}
