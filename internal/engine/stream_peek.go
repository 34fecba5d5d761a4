package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"
)

// peekBuf is the first read's buffer: most first frames (messageStart, a
// small chunk, an exception) fit, and a read that also returns the end of
// the stream leaves the connection reusable.
const peekBuf = 1 << 10

// maxPreamble bounds the bytes the peek holds back before the first content
// event: preamble frames are a few hundred bytes, so a stream that sends
// more without content is handed over as it is.
const maxPreamble = 64 << 10

// peek reads the stream up to its first content event before the stack
// returns: nothing has reached the application until then, so a failure
// there can be retried like an error response. Three outcomes:
//
//   - an exception as the first frame: the body is closed and the attempt
//     fails with a [*FirstFrameError];
//   - a read error, or the end of the body, before any content (the
//     connection closed or reset under the stream, as net/http does when it
//     loses the request-body race described in
//     docs/bedrock.md#use-of-closed-network-connection): the body is closed
//     and the attempt fails with a [*StreamConnError];
//   - otherwise (a content event, the usage, an exception after preamble
//     events, a malformed frame, or more than maxPreamble bytes of
//     preamble) it returns a body that replays the bytes read, then
//     continues with the rest: the application reads exactly what the
//     service sent.
//
// Preamble events are ConverseStream's messageStart and, on
// InvokeModelWithResponseStream, Anthropic's message_start,
// content_block_start and ping chunks; anything else ends the peek.
func peek(ctx context.Context, c *Call, resp *smithyhttp.Response) (io.ReadCloser, error) {
	body := resp.Body
	buf := make([]byte, 0, peekBuf)
	off := 0 // start of the first frame not yet decoded
	var rerr error
	for {
		need := preludeLen
		for len(buf)-off >= preludeLen {
			total, ok := prelude(buf[off:])
			if !ok {
				return &replay{buf: buf, err: rerr, body: body}, nil // malformed: let the SDK and the tap say so
			}
			if len(buf)-off < total {
				need = total
				break
			}
			frame := buf[off : off+total]
			f, ok := parseFrame(frame)
			if !ok {
				return &replay{buf: buf, err: rerr, body: body}, nil
			}
			if string(f.messageType) == "exception" {
				if off > 0 {
					// After preamble events: the application sees it
					// mid-stream, as without the peek.
					return &replay{buf: buf, err: rerr, body: body}, nil
				}
				body.Close()
				return nil, firstFrameException(c, resp, frame)
			}
			if !preamble(c, f) {
				return &replay{buf: buf, err: rerr, body: body}, nil
			}
			off += total
			need = preludeLen
		}
		if rerr != nil {
			break
		}
		if len(buf) >= maxPreamble {
			return &replay{buf: buf, body: body}, nil
		}
		if want := off + need; cap(buf) < want {
			buf = append(make([]byte, 0, max(want, 2*cap(buf))), buf...)
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		rerr = err
	}
	// The stream failed or ended before any content: nothing reached the
	// application, so the attempt can be retried.
	body.Close()
	if rerr == io.EOF {
		rerr = io.ErrUnexpectedEOF // Bedrock never ends a stream this way
	}
	if ctx.Err() != nil || errors.Is(rerr, context.Canceled) || errors.Is(rerr, context.DeadlineExceeded) {
		// The caller gave up: not a transport failure.
		return nil, fmt.Errorf("bedrockguard: reading the stream before its first content event: %w", rerr)
	}
	return nil, &StreamConnError{Err: rerr}
}

// preamble reports whether the event frame f comes before a stream's
// content: ConverseStream's messageStart; Anthropic's message_start,
// content_block_start and ping chunks on InvokeModelWithResponseStream.
func preamble(c *Call, f frameView) bool {
	if string(f.messageType) != "event" {
		return false
	}
	switch string(f.eventType) {
	case "messageStart":
		return c.Operation == "ConverseStream"
	case "chunk":
		if c.Operation != "InvokeModelWithResponseStream" {
			return false
		}
		var ch struct {
			Bytes []byte `json:"bytes"`
		}
		var ev struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(f.payload, &ch) != nil || json.Unmarshal(ch.Bytes, &ev) != nil {
			return false
		}
		switch ev.Type {
		case "message_start", "content_block_start", "ping":
			return true
		}
	}
	return false
}

// StreamConnError is the attempt error when a stream's connection fails
// (closed, reset, or ended) before its first content event, with the
// stream peek on: no content reached the application, so the retry loop
// retries the attempt. It classifies as Unavailable (a connection failure:
// ConnectionError reports true, for the SDK's retryer too), and it wraps the
// read error.
type StreamConnError struct {
	// Err is the read error: net.ErrClosed ("use of closed network
	// connection"), a reset, io.ErrUnexpectedEOF for a body that ended, ...
	Err error
}

func (e *StreamConnError) Error() string {
	return "bedrockguard: stream failed before its first content event: " + e.Err.Error()
}

// Unwrap returns the read error.
func (e *StreamConnError) Unwrap() error { return e.Err }

// ConnectionError reports true: the failure is the connection's.
func (e *StreamConnError) ConnectionError() bool { return true }

// firstFrameException returns a *FirstFrameError when frame is an
// exception, nil otherwise.
func firstFrameException(c *Call, resp *smithyhttp.Response, frame []byte) error {
	f, ok := parseFrame(frame)
	if !ok || string(f.messageType) != "exception" {
		return nil
	}
	code := string(f.exceptionType)
	sdkErr := sdkException(c.Operation, frame)
	reqID := resp.Header.Get("X-Amzn-RequestId")
	return &FirstFrameError{
		Code:   code,
		Status: exceptionStatus[code],
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{Response: resp, Err: sdkErr},
			RequestID:     reqID,
		},
	}
}

// exceptionStatus is the HTTP status Bedrock gives each stream exception
// when it answers with it before the stream (the Smithy httpError traits).
var exceptionStatus = map[string]int{
	"throttlingException":         429,
	"serviceUnavailableException": 503,
	"internalServerException":     500,
	"modelStreamErrorException":   424,
	"validationException":         400,
	"modelTimeoutException":       408,
}

// sdkException decodes an exception frame the way the SDK's stream reader
// does, so the error is the one stream.Err() would return: a modeled type
// such as *types.ThrottlingException, or *smithy.GenericAPIError for a type
// outside the operation's union. It uses a fresh codec: the SDK's codec is
// not safe for concurrent use (aws/smithy-go#714), and exceptions are rare.
func sdkException(op string, frame []byte) error {
	schema := schemas.ConverseStreamOutput
	if op == "InvokeModelWithResponseStream" {
		schema = schemas.ResponseStream
	}
	p := restjson1.New(schemas.AmazonBedrockFrontendService)
	_, err := p.DeserializeEventMessage(schema, bedrockruntime.TypeRegistry, bytes.NewReader(frame))
	if err == nil {
		err = errors.New("bedrockguard: undecodable stream exception")
	}
	return err
}

// FirstFrameError is the attempt error when a stream's first frame is an
// exception, with the stream peek on (the default; see
// Config.StreamPeek on): no content reached the application, so the
// SDK's retry loop retries the attempt like an error response, the guard
// counts a throttle and adapts its rate, and if the retries run out the
// operation's error wraps it.
//
// It unwraps to an *awshttp.ResponseError (the real 200 response and its
// request ID) that wraps the SDK's modeled error, so errors.As with
// *types.ThrottlingException and friends works as for an HTTP error.
type FirstFrameError struct {
	// Code is the frame's :exception-type, e.g. "throttlingException".
	Code string
	// Status is the HTTP status Bedrock gives the same exception outside
	// a stream (429 for throttlingException, 503, 500, 424, 400, 408), or 0
	// for an unknown type. Classifiers and retryers see it through
	// HTTPStatusCode, so the error classifies as an ordinary, not a
	// mid-stream, error.
	Status int
	// Err is the wrapped response error.
	Err error
}

func (e *FirstFrameError) Error() string {
	return "bedrockguard: stream's first frame is " + e.Code + ": " + e.Err.Error()
}

// Unwrap returns the response error.
func (e *FirstFrameError) Unwrap() error { return e.Err }

// HTTPStatusCode returns Status, or 400 for an unknown exception type: a
// type the guard does not know is not retried by status.
func (e *FirstFrameError) HTTPStatusCode() int {
	if e.Status == 0 {
		return 400
	}
	return e.Status
}

// replay returns buf, then err if set, then reads body.
type replay struct {
	buf  []byte
	err  error
	body io.ReadCloser
}

func (r *replay) Read(p []byte) (int, error) {
	if len(r.buf) > 0 {
		n := copy(p, r.buf)
		r.buf = r.buf[n:]
		if len(r.buf) == 0 && r.err != nil {
			return n, r.err
		}
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	return r.body.Read(p)
}

func (r *replay) Close() error { return r.body.Close() }
