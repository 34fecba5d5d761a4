package engine

import (
	"bytes"
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

// peek reads the stream's first frame before the stack returns. When it is
// an exception, the body is closed and the attempt fails with a
// [*FirstFrameError] (or, for a read error before the first frame, that
// error), so that the SDK's retry loop retries it. Otherwise it returns a
// body that replays the bytes read, then continues with the rest: the
// application reads exactly what the service sent.
func peek(c *Call, resp *smithyhttp.Response) (io.ReadCloser, error) {
	body := resp.Body
	buf := make([]byte, 0, peekBuf)
	need := preludeLen
	var rerr error
	for len(buf) < need {
		if cap(buf) < need {
			buf = append(make([]byte, 0, need), buf...)
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if need == preludeLen && len(buf) >= preludeLen {
			total, ok := prelude(buf)
			if !ok {
				break // malformed: let the SDK and the tap say so
			}
			need = total
		}
		if err != nil {
			rerr = err
			break
		}
	}
	if len(buf) >= need && need > preludeLen {
		if err := firstFrameException(c, resp, buf[:need]); err != nil {
			body.Close()
			return nil, err
		}
	}
	if rerr != nil && rerr != io.EOF && len(buf) < need {
		// The connection failed before the first frame was complete:
		// nothing reached the application, so the attempt can be retried.
		body.Close()
		return nil, fmt.Errorf("bedrockguard: reading the stream's first frame: %w", rerr)
	}
	return &replay{buf: buf, err: rerr, body: body}, nil
}

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
